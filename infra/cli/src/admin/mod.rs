//! The CLI beside a running `xecure serve`. The embedded store (redb) is one file that one
//! process holds with an exclusive lock, so while the server runs, no other process can
//! open it. Rather than a second store that shares the file, the server runs the operator's
//! command itself: at start it listens on a Unix socket inside the data directory,
//! `<data dir>/admin.sock` (0600, in a directory only its owner may write to), and writes
//! a fresh random token to `<data dir>/admin-endpoint` (0600). A CLI that finds the store held
//! reads the token and sends its command line, and any password it read, to the socket; the
//! server runs the very same command code on its open store and sends back what it printed
//! and its exit status. Nothing listens on a network port, so neither web pages nor other
//! local users can reach it, and no other user can bind the socket's path: a CLI never hands
//! a password to a listener that a stopped server left its port to. Whoever can read the
//! token can already read the database next to it, so the token grants nothing new. On
//! DynamoDB there is no lock: the CLI works on the table directly.

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

/// The file the server writes and the CLI reads: the token the socket requires.
#[derive(Serialize, Deserialize)]
pub struct EndpointFile {
    pub token: String,
}

pub const RUN_PATH: &str = "/run";

pub fn endpoint_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-endpoint")
}

/// The server's socket for forwarded commands.
pub fn endpoint_socket(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}
