//! The local gateway's access log: one record per API call, in the shape API Gateway writes
//! to the stage's access-log group (`xecure::api_usage::access_log`), appended to
//! `<data dir>/access-log.jsonl` (or printed, with no data directory). `xecure usage` on the
//! data directory reads it back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use xecure::api_usage::access_log::AccessRecord;

pub const ACCESS_LOG_FILE: &str = "access-log.jsonl";

pub fn access_log_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ACCESS_LOG_FILE)
}

pub enum AccessLog {
    File(Mutex<std::fs::File>),
    Stdout,
}

impl AccessLog {
    pub fn append_to(path: &Path) -> Result<Self, String> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|file| AccessLog::File(Mutex::new(file)))
            .map_err(|e| format!("cannot open the access log {}: {e}", path.display()))
    }

    pub fn write(&self, record: &AccessRecord) {
        let line = format!("{}\n", record.to_json());
        match self {
            AccessLog::File(file) => {
                let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(error) = file.write_all(line.as_bytes()) {
                    eprintln!("xecure serve: access log not written: {error}");
                }
            }
            AccessLog::Stdout => print!("{line}"),
        }
    }
}
