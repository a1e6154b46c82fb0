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
//! Durability is unchanged: a commit is durable (fsync) when the last durable one is over
//! `AUDIT_FLUSH_INTERVAL_MS` old by the records' clock; the ones between become durable with
//! the next durable commit of any kind. A crash of a local server can lose at most that
//! interval of audit records from the file; each was already written as a JSON line to
//! stdout. (The DynamoDB store writes every record durably.)

use super::{
    backend, encode, in_transaction, AuditIndex, AUDIT_ALL, AUDIT_BY_CLIENT, AUDIT_BY_USER,
};
use crate::domain::AuditEvent;
use crate::ports::{StoreError, StoreResult};
use redb::{Database, Durability, WriteTransaction};
use std::sync::{Arc, Weak};
use tokio::sync::{mpsc, oneshot};

/// Longest time an audit record may stay only in memory and on stdout.
const AUDIT_FLUSH_INTERVAL_MS: i64 = 1000;

/// Operations committed together at most: bounds one transaction's size and time.
const MAX_BATCH: usize = 1024;

/// Operations waiting for the writer at most; past it appends wait to be queued, so a
/// burst costs waiting callers, not unbounded memory.
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

/// The queue to the writer thread. The thread ends when the last store clone is dropped;
/// it holds the database only while committing, so a dropped store closes its file.
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
/// one transaction and tells each caller the outcome.
fn write_batches(db: Weak<Database>, mut queue: mpsc::Receiver<Pending>) {
    let mut last_durable = 0_i64;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let newest = batch
            .iter()
            .flat_map(|pending| pending.rows.iter().map(|row| row.at))
            .max()
            .unwrap_or(0);
        // A clock that went back (newest < last) commits durably too: never wait on it.
        let durable =
            newest.saturating_sub(last_durable) >= AUDIT_FLUSH_INTERVAL_MS || newest < last_durable;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        // The strong reference ends before anyone is told, so a caller that drops the store
        // after its append returned finds the file closed.
        let outcome = match db.upgrade() {
            Some(db) => commit(&db, durability, &batch),
            None => Err("embedded store: closed".to_owned()),
        };
        if durable && outcome.is_ok() {
            last_durable = newest;
        }
        for pending in batch.drain(..) {
            // A caller that stopped waiting (its request was cancelled) needs no answer.
            let _ = pending.committed.send(outcome.clone());
        }
    }
}

fn commit(db: &Database, durability: Durability, batch: &[Pending]) -> Result<(), String> {
    in_transaction(db, durability, |txn| {
        let mut tables = AuditTables::open(txn)?;
        for row in batch.iter().flat_map(|pending| &pending.rows) {
            row.insert(&mut tables)?;
        }
        Ok(())
    })
    .map_err(|error| match error {
        StoreError::Unavailable(message) => message,
        other => other.to_string(),
    })
}
