//! Where JSON lines go: stdout in Lambda (its own log group picks every line up) and in the
//! local gateway; memory in tests, which read back exactly what would have been printed.

use std::io::Write;
use std::sync::Mutex;

pub trait LineSink: Send + Sync {
    /// Writes one line; `line` holds no newline (serde_json never emits one).
    fn write_line(&self, line: &str);
}

/// Standard output, one whole line per call (the lock keeps concurrent lines apart).
pub struct StdoutLines;

impl LineSink for StdoutLines {
    fn write_line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // Nothing sensible is left to do if stdout itself is gone.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Drops every line: the default of a bare `Auditor`, so library users and tests print
/// nothing unless they ask; the Lambda and `xecure serve` wiring choose stdout.
pub struct NoLines;

impl LineSink for NoLines {
    fn write_line(&self, _line: &str) {}
}

/// Keeps the lines, for tests that check what was logged.
#[derive(Default)]
pub struct MemoryLines {
    lines: Mutex<Vec<String>>,
}

impl MemoryLines {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The lines that are JSON objects, parsed.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

impl LineSink for MemoryLines {
    fn write_line(&self, line: &str) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line.to_owned());
        }
    }
}
