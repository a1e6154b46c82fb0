//! Where a command's lines go: the terminal, or, when `xecure serve` runs a command for a CLI
//! beside it (`admin`), a buffer sent back to that CLI. Every operator command prints its results
//! through `say!`, never `println!` (its error is its result, printed by `main`).

use std::sync::{Arc, Mutex};

/// What a forwarded command printed, and what it reads as standard input.
#[derive(Default)]
pub struct Captured {
    pub stdout: String,
    /// The password the CLI read (prompted on its terminal, or its standard input).
    pub input: Option<String>,
}

tokio::task_local! {
    static CAPTURE: Arc<Mutex<Captured>>;
}

/// Runs `work` with its output kept in `captured` instead of printed.
pub async fn capturing<F: std::future::Future>(
    captured: Arc<Mutex<Captured>>,
    work: F,
) -> F::Output {
    CAPTURE.scope(captured, work).await
}

fn with_capture<T>(apply: impl FnOnce(&mut Captured) -> T) -> Option<T> {
    CAPTURE
        .try_with(|captured| captured.lock().map(|mut c| apply(&mut c)).ok())
        .ok()
        .flatten()
}

pub fn line(text: String) {
    if with_capture(|c| {
        c.stdout.push_str(&text);
        c.stdout.push('\n');
    })
    .is_none()
    {
        println!("{text}");
    }
}

/// The input a forwarded command was given, if this command was forwarded.
pub fn forwarded_input() -> Option<Option<String>> {
    with_capture(|c| c.input.take())
}

/// A line of a command's result.
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::line(format!($($arg)*)) };
}

pub(crate) use say;
