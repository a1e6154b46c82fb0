//! Group commit of audit records in the embedded store (issue #21 goal 2).
//!
//! Every issued token writes an audit record. One write transaction per record cost a third
//! of `xecure serve`'s CPU under token load (a profile: redb's commit 17 %, b-tree inserts
//! 6.5 %) and made the runtime's workers queue on redb's single-writer lock. Instead, each
//! append is queued to one writer thread, which takes everything queued at that moment (up
//! to `MAX_BATCH` operations) into a single transaction and commits it; every caller waits
//! for the commit that holds its records, so an append that returned is stored exactly as
//! before (and a later `query_audit` sees it). One operation's records travel together and
//! land in the same transaction (all or none).
//!
//! Durability: a batch commits durably (fsync) when the last durable commit is over
//! `FLUSH_INTERVAL` old; the ones between become durable with the next durable commit, and
//! when no batch comes within `FLUSH_INTERVAL` of a non-durable one the writer commits an
//! empty durable transaction. So a crash of a local server loses at most the last
//! `FLUSH_INTERVAL` of audit records from the file, each already written as a JSON line to
//! stdout. (The DynamoDB store writes every record durably.)

use super::{
    backend, encode, in_transaction, AuditIndex, AUDIT_ALL, AUDIT_BY_CLIENT, AUDIT_BY_USER,
};
use crate::domain::AuditEvent;
use crate::ports::{StoreError, StoreResult};
use redb::{Database, Durability, WriteTransaction};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Longest time an audit record may stay only in memory and on stdout.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Operations committed together at most: bounds one transaction's size and time.
const MAX_BATCH: usize = 1024;

/// Operations waiting for the writer at most; past it appends wait to be queued. (What
/// bounds in-flight appends in `xecure serve` is its connection limit, far below this.)
const QUEUE_CAPACITY: usize = 4096;

/// An audit record ready to insert: its time and id, subjects and encoded bytes.
struct Row {
    at: i64,
    id: String,
    user: Option<String>,
    client: Option<String>,
    bytes: Vec<u8>,
}

impl Row {
    fn of(event: &AuditEvent) -> StoreResult<Self> {
        Ok(Row {
            at: event.at.as_millis(),
            id: event.id.to_string(),
            user: event.user_id.as_ref().map(|user| user.as_str().to_owned()),
            client: event
                .client_id
                .as_ref()
                .map(|client| client.as_str().to_owned()),
            bytes: encode(event)?,
        })
    }

    /// Inserts the row under each of its subjects: all records, its user's, its client's.
    fn insert(&self, tables: &mut AuditTables<'_>) -> StoreResult<()> {
        let subjects = [
            (&mut tables.all, Some("")),
            (&mut tables.by_user, self.user.as_deref()),
            (&mut tables.by_client, self.client.as_deref()),
        ];
        for (table, subject) in subjects {
            if let Some(subject) = subject {
                table
                    .insert((subject, self.at, self.id.as_str()), self.bytes.as_slice())
                    .map_err(backend)?;
            }
        }
        Ok(())
    }
}

type AuditTable<'txn> = redb::Table<'txn, (&'static str, i64, &'static str), &'static [u8]>;

/// The three audit indexes, opened once per batch.
struct AuditTables<'txn> {
    all: AuditTable<'txn>,
    by_user: AuditTable<'txn>,
    by_client: AuditTable<'txn>,
}

impl<'txn> AuditTables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> StoreResult<Self> {
        let open = |index: AuditIndex| txn.open_table(index).map_err(backend);
        Ok(AuditTables {
            all: open(AUDIT_ALL)?,
            by_user: open(AUDIT_BY_USER)?,
            by_client: open(AUDIT_BY_CLIENT)?,
        })
    }
}

/// One operation's records and who waits for their commit.
struct Pending {
    rows: Vec<Row>,
    committed: oneshot::Sender<Result<(), String>>,
}

/// The queue to the writer thread. The thread ends once the last store clone is dropped
/// and the queue is empty; it holds the database only while committing, so a dropped store
/// closes its file.
#[derive(Clone)]
pub(super) struct AuditWriter {
    queue: mpsc::Sender<Pending>,
}

impl AuditWriter {
    pub(super) fn start(db: &Arc<Database>) -> StoreResult<Self> {
        let (queue, pending) = mpsc::channel(QUEUE_CAPACITY);
        let db = Arc::downgrade(db);
        std::thread::Builder::new()
            .name("xecure-audit-writer".to_owned())
            .spawn(move || write_batches(db, pending))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the audit writer: {e}")))?;
        Ok(AuditWriter { queue })
    }

    /// Stores `events` together; returns once the transaction holding them committed.
    pub(super) async fn append(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events
            .iter()
            .map(Row::of)
            .collect::<StoreResult<Vec<_>>>()?;
        let (committed, outcome) = oneshot::channel();
        let stopped = || StoreError::Unavailable("embedded store: audit writer stopped".into());
        self.queue
            .send(Pending { rows, committed })
            .await
            .map_err(|_| stopped())?;
        outcome
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Unavailable)
    }
}

/// The writer thread: waits for an operation, takes whatever else is queued, commits them in
/// one transaction and tells each caller the outcome; flushes after `FLUSH_INTERVAL` idle.
fn write_batches(db: Weak<Database>, mut queue: mpsc::Receiver<Pending>) {
    // Only to wait on the queue with a deadline; the commits run on this thread itself.
    let waiter = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(waiter) => waiter,
        Err(error) => {
            // The queue closes with this thread: every append then fails as "stopped".
            tracing::error!(%error, "audit writer cannot start");
            return;
        }
    };
    // Opening the store ended with a durable commit (its tables).
    let mut flushes = FlushClock::new(Instant::now());
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let next = waiter.block_on(async {
            match flushes.due() {
                Some(due) => tokio::time::timeout_at(due.into(), queue.recv()).await,
                None => Ok(queue.recv().await),
            }
        });
        match next {
            Ok(Some(first)) => batch.push(first),
            Ok(None) => return,
            Err(_flush_due) => {}
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let durable = flushes.durable_at(Instant::now());
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        // The strong reference ends before anyone is told, so a caller that drops the store
        // after its append returned finds the file closed (closing it syncs it too).
        let outcome = match db.upgrade() {
            Some(db) => commit(&db, durability, &batch),
            None => Err("embedded store: closed".to_owned()),
        };
        match &outcome {
            Ok(()) => flushes.committed(durable, Instant::now()),
            Err(_) if db.strong_count() == 0 => flushes.closed(),
            Err(_) => flushes.failed(Instant::now()),
        }
        for pending in batch.drain(..) {
            // A caller that stopped waiting (its request was cancelled) needs no answer.
            let _ = pending.committed.send(outcome.clone());
        }
    }
}

/// When the writer last committed durably and when it must next: a deadline exists only
/// while a non-durable commit waits to be synced.
struct FlushClock {
    last_durable: Instant,
    due: Option<Instant>,
}

impl FlushClock {
    fn new(synced_at: Instant) -> Self {
        FlushClock {
            last_durable: synced_at,
            due: None,
        }
    }

    fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether a commit at `now` is to be durable.
    fn durable_at(&self, now: Instant) -> bool {
        now >= self.last_durable + FLUSH_INTERVAL
    }

    fn committed(&mut self, durable: bool, now: Instant) {
        if durable {
            self.last_durable = now;
            self.due = None;
        } else {
            self.due = Some(self.last_durable + FLUSH_INTERVAL);
        }
    }

    /// A failed commit changed nothing; a flush that is due is tried again an interval
    /// later, not at once (a disk that refuses every commit must not spin the writer).
    fn failed(&mut self, now: Instant) {
        if self.due.is_some_and(|due| due <= now) {
            self.due = Some(now + FLUSH_INTERVAL);
        }
    }

    /// Closing the database synced it.
    fn closed(&mut self) {
        self.due = None;
    }
}

/// One transaction holding every row of `batch` (none: a flush). A panic inside redb fails
/// this batch's callers and leaves the writer running for the next (with `panic = "abort"`,
/// the release profile, it ends the process as anywhere else).
fn commit(db: &Database, durability: Durability, batch: &[Pending]) -> Result<(), String> {
    let insert_all = || {
        in_transaction(db, durability, |txn| {
            let mut tables = AuditTables::open(txn)?;
            for row in batch.iter().flat_map(|pending| &pending.rows) {
                row.insert(&mut tables)?;
            }
            Ok(())
        })
    };
    match catch_unwind(AssertUnwindSafe(insert_all)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(StoreError::Unavailable(message))) => Err(message),
        Ok(Err(other)) => Err(other.to_string()),
        Err(_panic) => Err("embedded store: the audit commit panicked".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_durable_commit_is_synced_within_the_interval_and_a_failing_flush_waits_to_retry() {
        let opened = Instant::now();
        let mut flushes = FlushClock::new(opened);
        assert_eq!(flushes.due(), None, "nothing to sync after opening");
        assert!(!flushes.durable_at(opened + Duration::from_millis(10)));
        flushes.committed(false, opened + Duration::from_millis(10));
        assert_eq!(flushes.due(), Some(opened + FLUSH_INTERVAL));

        // The flush at the deadline fails: the next try is an interval later, not at once.
        let deadline = opened + FLUSH_INTERVAL;
        assert!(flushes.durable_at(deadline));
        flushes.failed(deadline);
        assert_eq!(flushes.due(), Some(deadline + FLUSH_INTERVAL));

        // A failed non-durable commit before the deadline leaves it where it was.
        let mut early = FlushClock::new(opened);
        early.committed(false, opened);
        early.failed(opened + Duration::from_millis(20));
        assert_eq!(early.due(), Some(opened + FLUSH_INTERVAL));

        // A durable commit syncs everything before it; so does closing.
        flushes.committed(true, deadline + FLUSH_INTERVAL);
        assert_eq!(flushes.due(), None);
        assert!(!flushes.durable_at(deadline + FLUSH_INTERVAL + Duration::from_millis(1)));
        early.closed();
        assert_eq!(early.due(), None);
    }
}
