//! The dedicated audit log group: records of one invocation are collected and sent as one
//! batch before the handler returns (Lambda freezes the process afterwards, so nothing may
//! wait for "later"). A batch that cannot be delivered is retried; if it still fails, a line
//! naming every undelivered record goes to stdout with the `AuditLogFallback` metric, so a
//! failure is counted and alarmed on, never silent. The records themselves are on stdout
//! already (the Lambda log group), so nothing is lost.

use super::lines::LineSink;
use super::metrics::{names, Metric, MetricLine, Unit};
use crate::domain::Timestamp;
use crate::ports::Clock;
use async_trait::async_trait;
use serde_json::{json, Map};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One audit record as a log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub at: Timestamp,
    pub event_id: String,
    pub message: String,
}

/// Sends events to the audit log group (CloudWatch Logs `PutLogEvents` in AWS).
#[async_trait]
pub trait AuditLogWriter: Send + Sync {
    /// Events are in time order; the call either stores all of them or fails.
    async fn put_events(&self, events: &[LogEvent]) -> Result<(), String>;
    /// The log group, for messages.
    fn destination(&self) -> String;
}

/// PutLogEvents accepts at most 10,000 events and 1,048,576 bytes (each event's size plus
/// 26 bytes) per call; we stay well inside both.
const MAX_EVENTS_PER_CALL: usize = 1000;
const MAX_BYTES_PER_CALL: usize = 800 * 1024;
const EVENT_OVERHEAD_BYTES: usize = 26;

/// Waits before the second and third attempt.
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

pub struct AuditLogBatch {
    writer: Arc<dyn AuditLogWriter>,
    lines: Arc<dyn LineSink>,
    clock: Arc<dyn Clock>,
    function: &'static str,
    pending: Mutex<Vec<LogEvent>>,
    undelivered: AtomicU64,
}

impl AuditLogBatch {
    pub fn new(
        writer: Arc<dyn AuditLogWriter>,
        lines: Arc<dyn LineSink>,
        clock: Arc<dyn Clock>,
        function: &'static str,
    ) -> Self {
        AuditLogBatch {
            writer,
            lines,
            clock,
            function,
            pending: Mutex::new(Vec::new()),
            undelivered: AtomicU64::new(0),
        }
    }

    pub fn push(&self, event: LogEvent) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push(event);
        }
    }

    /// Records that could not reach the audit log group since this process started.
    pub fn undelivered(&self) -> u64 {
        self.undelivered.load(Ordering::Relaxed)
    }

    /// Sends what this invocation recorded. Never fails the caller: the request it serves
    /// has happened, and its records are on stdout whatever the log group does.
    pub async fn flush(&self) {
        let mut events = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return,
        };
        // PutLogEvents: "The log events in the batch must be in chronological order".
        events.sort_by_key(|event| event.at);
        for chunk in chunks(&events) {
            if let Err(error) = self.send_with_retries(chunk).await {
                self.report_undelivered(chunk, &error);
            }
        }
    }

    async fn send_with_retries(&self, chunk: &[LogEvent]) -> Result<(), String> {
        let mut last_error = match self.writer.put_events(chunk).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        for delay in RETRY_DELAYS {
            tokio::time::sleep(delay).await;
            match self.writer.put_events(chunk).await {
                Ok(()) => return Ok(()),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn report_undelivered(&self, chunk: &[LogEvent], error: &str) {
        let count = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.undelivered.fetch_add(count, Ordering::Relaxed);
        let mut fields = Map::new();
        fields.insert(
            "message".into(),
            json!("audit records not delivered to the audit log group; each is in this log group under its id"),
        );
        fields.insert("log_group".into(), json!(self.writer.destination()));
        fields.insert("error".into(), json!(error));
        fields.insert(
            "event_ids".into(),
            json!(chunk
                .iter()
                .map(|e| e.event_id.as_str())
                .collect::<Vec<_>>()),
        );
        let line = MetricLine::new(fields)
            .property("Function", self.function)
            .metric(Metric {
                name: names::AUDIT_LOG_FALLBACK,
                unit: Unit::Count,
                value: count as f64,
                dimension_sets: vec![vec!["Function"]],
            })
            .render(self.clock.now());
        self.lines.write_line(&line.to_string());
    }
}

/// Splits time-ordered events into PutLogEvents-sized calls.
fn chunks(events: &[LogEvent]) -> Vec<&[LogEvent]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, event) in events.iter().enumerate() {
        let size = event.message.len() + EVENT_OVERHEAD_BYTES;
        if index > start
            && (index - start == MAX_EVENTS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
        {
            chunks.push(&events[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        chunks.push(&events[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::lines::MemoryLines;
    use crate::testing::FixedClock;

    /// Fails the first `failures` calls, then stores.
    #[derive(Default)]
    struct FlakyWriter {
        failures: Mutex<u32>,
        calls: Mutex<u32>,
        stored: Mutex<Vec<LogEvent>>,
    }

    #[async_trait]
    impl AuditLogWriter for FlakyWriter {
        async fn put_events(&self, events: &[LogEvent]) -> Result<(), String> {
            *self.calls.lock().unwrap() += 1;
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err("ServiceUnavailableException".into());
            }
            self.stored.lock().unwrap().extend_from_slice(events);
            Ok(())
        }

        fn destination(&self) -> String {
            "/xecure/test/audit".into()
        }
    }

    fn event(at: i64, id: &str) -> LogEvent {
        LogEvent {
            at: Timestamp::from_millis(at),
            event_id: id.into(),
            message: format!("{{\"id\":\"{id}\"}}"),
        }
    }

    fn batch(writer: Arc<FlakyWriter>, lines: Arc<MemoryLines>) -> AuditLogBatch {
        AuditLogBatch::new(
            writer,
            lines,
            Arc::new(FixedClock::at(Timestamp::from_secs(1_800_000_000))),
            "token",
        )
    }

    #[tokio::test]
    async fn one_invocation_is_one_call_in_time_order() {
        let writer = Arc::new(FlakyWriter::default());
        let lines = Arc::new(MemoryLines::default());
        let batch = batch(writer.clone(), lines.clone());
        batch.push(event(20, "evt_b"));
        batch.push(event(10, "evt_a"));
        batch.flush().await;
        assert_eq!(*writer.calls.lock().unwrap(), 1);
        let stored = writer.stored.lock().unwrap().clone();
        assert_eq!(stored, vec![event(10, "evt_a"), event(20, "evt_b")]);
        batch.flush().await;
        assert_eq!(*writer.calls.lock().unwrap(), 1, "nothing left to send");
        assert!(lines.lines().is_empty());
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried() {
        let writer = Arc::new(FlakyWriter {
            failures: Mutex::new(2),
            ..FlakyWriter::default()
        });
        let lines = Arc::new(MemoryLines::default());
        let batch = batch(writer.clone(), lines.clone());
        batch.push(event(10, "evt_a"));
        batch.flush().await;
        assert_eq!(*writer.calls.lock().unwrap(), 3);
        assert_eq!(writer.stored.lock().unwrap().len(), 1);
        assert_eq!(batch.undelivered(), 0);
    }

    #[tokio::test]
    async fn a_lasting_failure_is_counted_and_names_every_record() {
        let writer = Arc::new(FlakyWriter {
            failures: Mutex::new(u32::MAX),
            ..FlakyWriter::default()
        });
        let lines = Arc::new(MemoryLines::default());
        let batch = batch(writer.clone(), lines.clone());
        batch.push(event(10, "evt_a"));
        batch.push(event(11, "evt_b"));
        batch.flush().await;
        assert_eq!(*writer.calls.lock().unwrap(), 3, "one try and two retries");
        assert_eq!(batch.undelivered(), 2);
        let reported = lines.json();
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0]["event_ids"], json!(["evt_a", "evt_b"]));
        assert_eq!(reported[0]["AuditLogFallback"], json!(2.0));
        assert_eq!(reported[0]["Function"], "token");
        assert_eq!(reported[0]["log_group"], "/xecure/test/audit");
    }

    #[test]
    fn large_batches_are_split_within_the_put_log_events_limits() {
        let many: Vec<LogEvent> = (0..2500).map(|i| event(i, "evt")).collect();
        let sizes: Vec<usize> = chunks(&many).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let big = LogEvent {
            message: "x".repeat(300 * 1024),
            ..event(1, "evt_big")
        };
        let heavy = vec![big.clone(), big.clone(), big.clone()];
        let sizes: Vec<usize> = chunks(&heavy).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![2, 1]);
        assert!(chunks(&[]).is_empty());
    }
}
