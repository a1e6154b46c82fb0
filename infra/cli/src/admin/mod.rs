//! The CLI beside a running `xecure serve`. The embedded store (redb) is one file that one
//! process holds with an exclusive lock, so while the server runs, no other process can
//! open it. Rather than a second store that shares the file, the server runs the operator's
//! command itself: at start it listens on a second, loopback-only port (never the `--listen`
//! one, so `--listen 0.0.0.0:3000` does not expose it) and writes that port and a fresh
//! random token to `<data dir>/admin-endpoint`, readable only by its owner (0600). A CLI that
//! finds the store held reads the file and sends its command line there; the server runs the
//! very same command code on its open store and sends back what it printed and its exit
//! status. Whoever can read the file can already read the database next to it, so the token
//! grants nothing new; the token stops other local users and web pages (which cannot set an
//! Authorization header on a cross-origin request without a preflight the endpoint never
//! answers). On DynamoDB there is no lock: the CLI works on the table directly.

pub mod endpoint;
pub mod forward;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a CLI sends: its whole command line, the password it read (for `user add|passwd`),
/// and who the operator is (the OS user of the CLI process).
#[derive(Serialize, Deserialize)]
pub struct ForwardedCommand {
    pub args: Vec<String>,
    pub input: Option<String>,
    pub operator: String,
}

/// What the server answers: what the command printed, and its exit status.
#[derive(Serialize, Deserialize)]
pub struct CommandOutcome {
    pub status: u8,
    pub stdout: String,
    pub stderr: String,
}

/// The file the server writes and the CLI reads: where to connect and the token.
#[derive(Serialize, Deserialize)]
pub struct EndpointFile {
    pub port: u16,
    pub token: String,
}

pub const RUN_PATH: &str = "/run";

pub fn endpoint_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-endpoint")
}
