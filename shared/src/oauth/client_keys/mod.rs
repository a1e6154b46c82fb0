//! A `private_key_jwt` client's public keys (RFC 7591 section 2): registered by value
//! (`jwks`) or published at a `jwks_uri` the token function fetches. Fetched keys are kept
//! per process (one Lambda container) for `KEYS_FRESH_FOR`; an assertion whose `kid` they
//! lack (the client rotated its key) fetches again, at most once per `REFETCH_AT_MOST_EVERY`
//! per client and process, so nobody can make a container fetch more often than that by
//! naming a client and inventing kids (security rule 19); assertions failing the checks
//! that need no key fetch nothing (`client_assertion::check_assertion_header`). One fetch at a time
//! per client, `MAX_FETCHES_AT_ONCE` in all; at most `MAX_CACHED_CLIENTS` clients are kept,
//! and a client whose throttle still runs is never evicted (evicting it would reset it). A
//! fetch that fails leaves the client unauthenticated once its keys are stale: fail closed,
//! never an old key forever. A key the client removes from its set still works until the
//! keys are next fetched: at most `KEYS_FRESH_FOR` in each container.

pub mod address;
mod fetch;

pub use fetch::{JwksFetcher, FETCH_DEADLINE};

use crate::config::RemoteHosts;
use crate::domain::{Client, ClientId, Timestamp};
use crate::ports::Clock;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long fetched keys are used without asking again.
pub const KEYS_FRESH_FOR: Duration = Duration::from_secs(300);
/// The fewest seconds between two fetches for one client.
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// Clients whose fetched keys one process keeps.
pub const MAX_CACHED_CLIENTS: usize = 1024;
/// Fetches one process runs at once; a request that would start another fails at once.
pub const MAX_FETCHES_AT_ONCE: usize = 16;

/// What one client's entry remembers: its keys and when they were fetched.
#[derive(Default)]
struct Fetched {
    keys: Option<(JwkSet, Timestamp)>,
}

struct Entry {
    uri: String,
    /// When a fetch last started (ms since the epoch, 0 for never): read without the lock
    /// when choosing what to evict.
    last_attempt: AtomicI64,
    /// Held across the fetch: concurrent requests of one client wait for one fetch (at
    /// most `FETCH_DEADLINE`).
    fetched: tokio::sync::Mutex<Fetched>,
}

impl Entry {
    fn last_attempt(&self) -> Option<Timestamp> {
        match self.last_attempt.load(Ordering::SeqCst) {
            0 => None,
            millis => Some(Timestamp::from_millis(millis)),
        }
    }
}

/// The process's client keys.
pub struct ClientKeys {
    fetcher: JwksFetcher,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<ClientId, Arc<Entry>>>,
    fetches: tokio::sync::Semaphore,
}

impl ClientKeys {
    pub fn new(hosts: RemoteHosts, clock: Arc<dyn Clock>) -> Self {
        ClientKeys {
            fetcher: JwksFetcher::new(hosts),
            clock,
            entries: Mutex::new(HashMap::new()),
            fetches: tokio::sync::Semaphore::new(MAX_FETCHES_AT_ONCE),
        }
    }

    /// The keys to check `client`'s assertion with, whose header named `kid`. The error
    /// is the cause for the logs.
    pub async fn keys_for(&self, client: &Client, kid: Option<&str>) -> Result<JwkSet, String> {
        if let Some(jwks) = &client.jwks {
            return serde_json::from_value(jwks.clone())
                .map_err(|e| format!("registered jwks unusable: {e}"));
        }
        let uri = client
            .jwks_uri
            .as_deref()
            .ok_or("the client has no registered keys")?;
        let entry = self.entry(&client.id, uri, self.clock.now())?;
        let mut fetched = entry.fetched.lock().await;
        let now = self.clock.now();
        let fresh = fetched
            .keys
            .as_ref()
            .filter(|(_, at)| now < at.plus(KEYS_FRESH_FOR))
            .map(|(keys, _)| keys.clone());
        let knows_kid = |keys: &JwkSet| kid.is_none_or(|kid| keys.find(kid).is_some());
        if let Some(keys) = fresh.as_ref().filter(|keys| knows_kid(keys)) {
            return Ok(keys.clone());
        }
        let throttled = entry
            .last_attempt()
            .is_some_and(|last| now < last.plus(REFETCH_AT_MOST_EVERY));
        if throttled {
            return fresh.ok_or_else(|| "jwks_uri failed within the last 30 s".to_owned());
        }
        let Ok(_permit) = self.fetches.try_acquire() else {
            return fresh.ok_or_else(|| "too many key fetches at once".to_owned());
        };
        entry.last_attempt.store(now.as_millis(), Ordering::SeqCst);
        match self.fetcher.fetch(uri).await {
            Ok(keys) => {
                fetched.keys = Some((keys.clone(), now));
                Ok(keys)
            }
            // Keys fetched within KEYS_FRESH_FOR still stand; older ones do not.
            Err(why) => fresh.ok_or(why),
        }
    }

    /// The client's entry for `uri`; a changed `jwks_uri` starts afresh. When full, the
    /// entry fetched longest ago goes, if its throttle has run out and no request holds it;
    /// with none such, the new client waits (security rule 19: at most
    /// `MAX_CACHED_CLIENTS` fetches per `REFETCH_AT_MOST_EVERY` per process).
    fn entry(&self, client: &ClientId, uri: &str, now: Timestamp) -> Result<Arc<Entry>, String> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(client).filter(|entry| entry.uri == uri) {
            return Ok(entry.clone());
        }
        if entries.len() >= MAX_CACHED_CLIENTS && !entries.contains_key(client) {
            let evictable = entries
                .iter()
                .filter(|(_, entry)| Arc::strong_count(entry) == 1)
                .filter(|(_, entry)| {
                    entry
                        .last_attempt()
                        .is_none_or(|last| last.plus(REFETCH_AT_MOST_EVERY).has_passed(now))
                })
                .min_by_key(|(_, entry)| entry.last_attempt.load(Ordering::SeqCst))
                .map(|(id, _)| id.clone());
            let Some(evicted) = evictable else {
                return Err("too many clients' keys fetched within 30 s".into());
            };
            entries.remove(&evicted);
        }
        let entry = Arc::new(Entry {
            uri: uri.to_owned(),
            last_attempt: AtomicI64::new(0),
            fetched: tokio::sync::Mutex::new(Fetched::default()),
        });
        entries.insert(client.clone(), entry.clone());
        Ok(entry)
    }
}

#[cfg(test)]
mod tests;
