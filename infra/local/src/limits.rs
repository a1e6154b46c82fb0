//! What one connection may cost the local server (security rule 19: connection time), and
//! how it behaves when accepting fails: back off, and say so in a bounded number of lines.

use clap::Args;
use std::time::{Duration, Instant};

/// `xecure serve`'s connection limits.
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Seconds a client has to send a request's headers; also how long a kept-alive
    /// connection may wait idle for its next request (one timer in hyper for both).
    #[arg(long = "header-timeout-secs", default_value = "10", value_parser = secs)]
    pub header_read: Duration,
    /// Seconds for the rest of a request: reading its body (else 408) and answering it
    /// (else 503).
    #[arg(long = "request-timeout-secs", default_value = "30", value_parser = secs)]
    pub request: Duration,
    /// Seconds a response may sit unwritten because the client does not read it; then the
    /// connection is closed.
    #[arg(long = "write-timeout-secs", default_value = "30", value_parser = secs)]
    pub write_stall: Duration,
    /// Connections served at once; more wait in the listen backlog until one ends.
    #[arg(long = "max-connections", default_value = "256")]
    pub max_connections: usize,
}

fn secs(raw: &str) -> Result<Duration, String> {
    match raw.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("'{raw}' is not a positive number of seconds")),
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            write_stall: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

/// Doubling waits between failed accepts: out of file descriptors (EMFILE), accept fails at
/// once every time, and retrying at once spins a core (90 % CPU, millions of log lines).
#[derive(Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// At most one line per `interval` for a repeated error: the first at once, then one per
/// interval saying how many were not printed.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    last_printed: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    pub fn new(interval: Duration) -> Self {
        LogLimiter {
            interval,
            last_printed: None,
            suppressed: 0,
        }
    }

    /// One more occurrence at `now`: `Some(n)` if a line should be printed now, `n` being
    /// how many occurrences since the last line were not printed.
    pub fn note(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last_printed
            .is_none_or(|last| now.duration_since(last) >= self.interval);
        if due {
            self.last_printed = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

/// The line for an error that `limiter` lets through, if any.
pub fn limited_line(limiter: &mut LogLimiter, now: Instant, line: &str) -> Option<String> {
    limiter.note(now).map(|suppressed| match suppressed {
        0 => format!("xecure serve: {line}"),
        n => format!("xecure serve: {line} ({n} more like it not shown)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
        let waits: Vec<u128> = (0..10).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::from_millis(5));
    }

    #[test]
    fn repeated_errors_print_one_line_per_interval_with_a_count() {
        let mut limiter = LogLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(
            limited_line(&mut limiter, at(0), "accept failed"),
            Some("xecure serve: accept failed".into())
        );
        let printed = (1..=100_000u64)
            .filter_map(|n| limited_line(&mut limiter, at(n / 10), "accept failed"))
            .collect::<Vec<_>>();
        assert_eq!(
            printed,
            vec!["xecure serve: accept failed (99999 more like it not shown)".to_owned()],
            "100,000 errors in 10 s: two lines"
        );
    }
}
