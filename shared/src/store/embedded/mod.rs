//! The embedded store: one redb file under the data directory, so `xecure serve` keeps its
//! clients, users, grants and keys across restarts with no AWS account. redb transactions are
//! serialisable (one writer at a time), which gives the same all-or-nothing and exactly-once
//! guarantees the DynamoDB store gets from conditional and transactional writes.

mod accounts;
mod audit_writer;
mod interaction;
mod proofs;
mod records;
mod registration;
mod sweep;
mod throttle;
mod tokens;

use crate::domain::{ClientId, Grant, Revocation, UserId};
use crate::ports::{StoreError, StoreResult};
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;

const CLIENTS: JsonTable = TableDefinition::new("clients");
/// Accounts by user id.
const ACCOUNTS: JsonTable = TableDefinition::new("accounts");
/// Normalised username -> user id (JSON string).
const USERNAMES: JsonTable = TableDefinition::new("usernames");
/// Before accounts were keyed by id: full records by username. Moved into `ACCOUNTS` and
/// `USERNAMES` when a data directory written by an older version is opened.
const LEGACY_USERS: JsonTable = TableDefinition::new("users");
const SESSIONS: JsonTable = TableDefinition::new("sessions");
/// (user id, created millis, digest) -> the session, written and removed with it: a user's
/// sessions for the account page.
const SESSIONS_BY_USER: AuditIndex = TableDefinition::new("sessions_by_user");
const CODES: JsonTable = TableDefinition::new("codes");
const PENDING_AUTHORIZATIONS: JsonTable = TableDefinition::new("pending_authorizations");
/// Digest of a `request_uri` -> pushed authorization request (RFC 9126).
const PUSHED_REQUESTS: JsonTable = TableDefinition::new("pushed_requests");
/// Keyed by `ThrottleKey::as_key`.
const LOGIN_THROTTLES: JsonTable = TableDefinition::new("login_throttles");
const REFRESH_TOKENS: JsonTable = TableDefinition::new("refresh_tokens");
const REFRESH_FAMILIES: JsonTable = TableDefinition::new("refresh_families");
const SIGNING_KEYS: JsonTable = TableDefinition::new("signing_keys");
/// Keyed by token digest.
const INITIAL_ACCESS_TOKENS: JsonTable = TableDefinition::new("initial_access_tokens");
/// (user id, client id) -> grant.
const GRANTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("grants");
/// (millis, event id) -> revocation.
const REVOCATIONS: TableDefinition<(i64, &str), &[u8]> = TableDefinition::new("revocations");
/// Digest of a revoked access token's jti -> `Expiring`: a second revocation writes nothing.
const REVOKED_TOKENS: JsonTable = TableDefinition::new("revoked_tokens");
/// Digest of a used DPoP proof -> `Expiring` (RFC 9449 section 11.1).
const USED_PROOFS: JsonTable = TableDefinition::new("used_dpop_proofs");
/// (user or client id, millis, event id) -> audit event: one index per subject kind.
type AuditIndex = TableDefinition<'static, (&'static str, i64, &'static str), &'static [u8]>;
const AUDIT_BY_USER: AuditIndex = TableDefinition::new("audit_by_user");
const AUDIT_BY_CLIENT: AuditIndex = TableDefinition::new("audit_by_client");
/// Every record, under the subject "" (`AuditSubject::All`).
const AUDIT_ALL: AuditIndex = TableDefinition::new("audit_all");

/// What every expiring record has: what the expiry sweep reads.
#[derive(serde::Serialize, serde::Deserialize)]
struct Expiring {
    expires_at: crate::domain::Timestamp,
}

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "xecure.redb";

/// `XECURE_STORE_CACHE_MB` (default 32): memory the store caches pages in. redb's own
/// default is 1 GiB, which `xecure serve` grew into under token load, one audit record per
/// token (issue #21: 122 -> 281 MB over three 10 s rounds); reads of recent records are served
/// from the OS page cache beyond it.
pub const DEFAULT_CACHE_MB: usize = 32;

fn cache_bytes() -> StoreResult<usize> {
    match std::env::var("XECURE_STORE_CACHE_MB") {
        Err(_) => Ok(DEFAULT_CACHE_MB << 20),
        Ok(raw) => match raw.parse::<usize>().map(|mb| (mb, mb.checked_mul(1 << 20))) {
            Ok((1..=65_536, Some(bytes))) => Ok(bytes),
            _ => Err(StoreError::Unavailable(format!(
                "XECURE_STORE_CACHE_MB '{raw}' is not a whole number of megabytes from 1 to 65536"
            ))),
        },
    }
}

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Audit records are committed in batches by one thread (`audit_writer.rs`).
    audits: audit_writer::AuditWriter,
}

impl EmbeddedStore {
    /// Opens (or creates) `<data_dir>/xecure.redb`.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        Self::open_unless_held(data_dir)?.ok_or_else(|| {
            StoreError::Unavailable(format!(
                "{} is open in another process (a running `xecure serve`?)",
                data_dir.join(DATABASE_FILE).display()
            ))
        })
    }

    /// The store, or None when another process holds the database (redb takes an exclusive
    /// file lock): the CLI then asks that process, `xecure serve`, to run the command.
    pub fn open_unless_held(data_dir: &Path) -> StoreResult<Option<Self>> {
        crate::private_dir::create_private_dir(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let db = match Database::builder()
            .set_cache_size(cache_bytes()?)
            .create(&path)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Ok(None),
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot open {}: {e}",
                    path.display()
                )))
            }
        };
        let db = Arc::new(db);
        let store = EmbeddedStore {
            audits: audit_writer::AuditWriter::start(&db)?,
            db,
        };
        store.create_tables()?;
        Ok(Some(store))
    }

    /// Read transactions fail on a table that was never written, so create them all up front.
    fn create_tables(&self) -> StoreResult<()> {
        let txn = self.db.begin_write().map_err(backend)?;
        for table in [
            CLIENTS,
            ACCOUNTS,
            USERNAMES,
            LEGACY_USERS,
            SESSIONS,
            PENDING_AUTHORIZATIONS,
            PUSHED_REQUESTS,
            LOGIN_THROTTLES,
            CODES,
            REFRESH_TOKENS,
            REFRESH_FAMILIES,
            SIGNING_KEYS,
            INITIAL_ACCESS_TOKENS,
            REVOKED_TOKENS,
            USED_PROOFS,
        ] {
            txn.open_table(table).map_err(backend)?;
        }
        txn.open_table(GRANTS).map_err(backend)?;
        txn.open_table(REVOCATIONS).map_err(backend)?;
        txn.open_table(AUDIT_BY_USER).map_err(backend)?;
        txn.open_table(AUDIT_BY_CLIENT).map_err(backend)?;
        txn.open_table(AUDIT_ALL).map_err(backend)?;
        txn.open_table(SESSIONS_BY_USER).map_err(backend)?;
        move_legacy_users(&txn)?;
        txn.commit().map_err(backend)
    }

    /// Runs `work` in one write transaction on a blocking thread: committed durably if it
    /// returns Ok, rolled back (nothing written) if it returns Err.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        self.write_with(Durability::Immediate, work).await
    }

    /// As `write`, with a chosen durability. A `Durability::None` commit becomes durable with
    /// the next `Immediate` one; having no fsync to wait for, it runs on the calling task
    /// (a hop to the blocking pool would cost more than the commit).
    async fn write_with<T, F>(&self, durability: Durability, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        match durability {
            Durability::None => in_transaction(&db, durability, work),
            _ => run_blocking(move || in_transaction(&db, durability, work)).await,
        }
    }

    /// Runs `work` against a consistent snapshot on a blocking thread.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        run_blocking(move || work(&db.begin_read().map_err(backend)?)).await
    }

    async fn get_json<T>(&self, table: JsonTable, key: String) -> StoreResult<Option<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.read(move |txn| get_decoded(&txn.open_table(table).map_err(backend)?, key.as_str()))
            .await
    }

    async fn put_json<T: Serialize>(
        &self,
        table: JsonTable,
        key: String,
        value: &T,
    ) -> StoreResult<()> {
        let bytes = encode(value)?;
        self.write(move |txn| {
            txn.open_table(table)
                .map_err(backend)?
                .insert(key.as_str(), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    /// Inserts only if the key is new; `AlreadyExists` otherwise.
    async fn insert_new_json<T: Serialize>(
        &self,
        table: JsonTable,
        key: String,
        value: &T,
    ) -> StoreResult<()> {
        let bytes = encode(value)?;
        self.write(move |txn| {
            insert_new(&mut txn.open_table(table).map_err(backend)?, &key, &bytes)
        })
        .await
    }

    async fn remove(&self, table: JsonTable, key: String) -> StoreResult<bool> {
        self.write(move |txn| {
            Ok(txn
                .open_table(table)
                .map_err(backend)?
                .remove(key.as_str())
                .map_err(backend)?
                .is_some())
        })
        .await
    }

    async fn all_json<T>(&self, table: JsonTable) -> StoreResult<Vec<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.read(move |txn| {
            let table = txn.open_table(table).map_err(backend)?;
            let mut values = Vec::new();
            for entry in table.iter().map_err(backend)? {
                values.push(decode(entry.map_err(backend)?.1.value())?);
            }
            Ok(values)
        })
        .await
    }
}

/// Users of a data directory from before accounts were keyed by id: each record moves to
/// `ACCOUNTS` with a `USERNAMES` pointer, in the transaction that opens the store.
fn move_legacy_users(txn: &WriteTransaction) -> StoreResult<()> {
    let mut legacy = txn.open_table(LEGACY_USERS).map_err(backend)?;
    let mut accounts = txn.open_table(ACCOUNTS).map_err(backend)?;
    let mut usernames = txn.open_table(USERNAMES).map_err(backend)?;
    while let Some((name, record)) = legacy.pop_first().map_err(backend)? {
        let user: crate::domain::User = decode(record.value())?;
        accounts
            .insert(user.id.as_str(), record.value())
            .map_err(backend)?;
        usernames
            .insert(name.value(), encode(&user.id)?.as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

/// Runs `work` in one write transaction: committed if it returns Ok, rolled back otherwise.
fn in_transaction<T>(
    db: &Database,
    durability: Durability,
    work: impl FnOnce(&WriteTransaction) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(durability)
        .map_err(|e| StoreError::Unavailable(format!("embedded store: {e}")))?;
    match work(&txn) {
        Ok(value) => {
            txn.commit().map_err(backend)?;
            Ok(value)
        }
        Err(error) => {
            txn.abort().map_err(backend)?;
            Err(error)
        }
    }
}

async fn run_blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("embedded store task failed: {e}")))?
}

fn backend(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {}", error.into()))
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(format!("cannot encode item: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("cannot decode item: {e}")))
}

fn get_decoded<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> StoreResult<Option<T>> {
    match table.get(key).map_err(backend)? {
        Some(guard) => decode(guard.value()).map(Some),
        None => Ok(None),
    }
}

fn insert_new(
    table: &mut redb::Table<&'static str, &'static [u8]>,
    key: &str,
    bytes: &[u8],
) -> StoreResult<()> {
    if table.get(key).map_err(backend)?.is_some() {
        return Err(StoreError::AlreadyExists(key.to_owned()));
    }
    table.insert(key, bytes).map_err(backend)?;
    Ok(())
}

fn insert_revocation(txn: &WriteTransaction, revocation: &Revocation) -> StoreResult<()> {
    txn.open_table(REVOCATIONS)
        .map_err(backend)?
        .insert(
            (revocation.at.as_millis(), revocation.id.as_str()),
            encode(revocation)?.as_slice(),
        )
        .map_err(backend)?;
    Ok(())
}

/// Marks the grant used at `now` (the connected-apps page's "last used"), inside the write
/// transaction that just checked it is active.
fn touch_grant(
    txn: &WriteTransaction,
    mut grant: Grant,
    now: crate::domain::Timestamp,
) -> StoreResult<()> {
    grant.last_used_at = now;
    txn.open_table(GRANTS)
        .map_err(backend)?
        .insert(
            (grant.user_id.as_str(), grant.client_id.as_str()),
            encode(&grant)?.as_slice(),
        )
        .map_err(backend)?;
    Ok(())
}

/// Grant, account and client behind a credential of (user, client), read inside a write
/// transaction.
fn backing_in(
    txn: &WriteTransaction,
    user: &UserId,
    client: &ClientId,
) -> StoreResult<crate::store::rules::BackingRecords> {
    Ok(crate::store::rules::BackingRecords {
        grant: grant_in(txn, user, client)?,
        account: account_in(txn, user)?,
        client: client_in(txn, client)?,
    })
}

/// The client `id`, read inside a write transaction.
fn client_in(txn: &WriteTransaction, id: &ClientId) -> StoreResult<Option<crate::domain::Client>> {
    get_decoded(&txn.open_table(CLIENTS).map_err(backend)?, id.as_str())
}

/// The account of `user`, read inside a write transaction.
fn account_in(txn: &WriteTransaction, user: &UserId) -> StoreResult<Option<crate::domain::User>> {
    get_decoded(&txn.open_table(ACCOUNTS).map_err(backend)?, user.as_str())
}

/// The grant of (user, client), read inside a write transaction.
fn grant_in(
    txn: &WriteTransaction,
    user: &UserId,
    client: &ClientId,
) -> StoreResult<Option<Grant>> {
    let grants = txn.open_table(GRANTS).map_err(backend)?;
    let found = grants
        .get((user.as_str(), client.as_str()))
        .map_err(backend)?;
    found.map(|guard| decode(guard.value())).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientId;
    use crate::ports::{ClientRegistry, ClientStore};
    use crate::store::contract::contract_suite;

    /// A fresh database file per test. The directory outlives the test (the store may still
    /// be open on a blocking thread when the test ends); it is tiny and under the OS temp dir.
    async fn file_store() -> EmbeddedStore {
        let dir = tempfile::Builder::new()
            .prefix("xecure-contract-")
            .tempdir()
            .unwrap()
            .keep();
        EmbeddedStore::open(&dir).unwrap()
    }

    contract_suite!(file_store());

    #[tokio::test]
    async fn data_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let client = crate::store::contract::tests_support::client("persisted");
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.put_client(&client).await.unwrap();
        }
        let reopened = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get_client(&client.id).await.unwrap(), Some(client));
    }

    /// The audit writer thread holds the database only while it commits: a store dropped
    /// right after an append returned can be opened again at once, the record in it.
    #[tokio::test]
    async fn a_store_dropped_after_an_audit_append_reopens_with_the_record() {
        use crate::ports::AuditStore;
        use crate::store::contract::{at, audit_event};
        let dir = tempfile::tempdir().unwrap();
        for n in 0..20 {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            let event = audit_event(n, None, Some("c"), at(n as u64), at(86_400));
            store.append_audit(&event).await.unwrap();
        }
        let reopened = EmbeddedStore::open(dir.path()).unwrap();
        let query = crate::store::contract::first_page(crate::domain::AuditSubject::All, 100);
        let page = reopened.query_audit(&query, at(50)).await.unwrap();
        assert_eq!(page.events.len(), 20);
    }

    #[tokio::test]
    async fn corrupt_items_and_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .write(|txn| {
                txn.open_table(CLIENTS)
                    .map_err(backend)?
                    .insert("broken", b"{not json".as_slice())
                    .map_err(backend)?;
                Ok(())
            })
            .await
            .unwrap();
        let read = store.get_client(&ClientId::parse("broken").unwrap()).await;
        assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");

        let garbage = tempfile::tempdir().unwrap();
        std::fs::write(
            garbage.path().join(DATABASE_FILE),
            b"this is not a redb file at all",
        )
        .unwrap();
        assert!(matches!(
            EmbeddedStore::open(garbage.path()),
            Err(StoreError::Unavailable(_))
        ));
    }
}
