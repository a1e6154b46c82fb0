//! A `private_key_jwt` client's public keys (RFC 7591 section 2): registered by value
//! (`jwks`) or published at a `jwks_uri` the token function fetches. Fetched keys are kept
//! per process for `KEYS_FRESH_FOR`; an assertion whose `kid` they lack (the client rotated
//! its key) fetches again, at most once per `REFETCH_AT_MOST_EVERY` per client, so nobody
//! can make the server fetch more often than that by naming a client and inventing kids
//! (security rule 19). One fetch at a time per client; at most `MAX_CACHED_CLIENTS` clients
//! are kept. A fetch that fails leaves the client unauthenticated once its keys are stale:
//! fail closed, never an old key forever.

pub mod address;
mod fetch;

pub use fetch::{JwksFetcher, FETCH_DEADLINE};

use crate::config::RemoteHosts;
use crate::domain::{Client, ClientId, Timestamp};
use crate::ports::Clock;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long fetched keys are used without asking again.
pub const KEYS_FRESH_FOR: Duration = Duration::from_secs(300);
/// The fewest seconds between two fetches for one client.
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// Clients whose fetched keys one process keeps.
pub const MAX_CACHED_CLIENTS: usize = 1024;

/// What one client's entry remembers.
#[derive(Default)]
struct Fetched {
    keys: Option<(JwkSet, Timestamp)>,
    last_attempt: Option<Timestamp>,
}

struct Entry {
    uri: String,
    /// Held across the fetch: concurrent requests of one client wait for one fetch.
    fetched: tokio::sync::Mutex<Fetched>,
}

/// The process's client keys.
pub struct ClientKeys {
    fetcher: JwksFetcher,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<ClientId, Arc<Entry>>>,
}

impl ClientKeys {
    pub fn new(hosts: RemoteHosts, clock: Arc<dyn Clock>) -> Self {
        ClientKeys {
            fetcher: JwksFetcher::new(hosts),
            clock,
            entries: Mutex::new(HashMap::new()),
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
        let entry = self.entry(&client.id, uri);
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
        let throttled = fetched
            .last_attempt
            .is_some_and(|last| now < last.plus(REFETCH_AT_MOST_EVERY));
        if throttled {
            return fresh.ok_or_else(|| "jwks_uri failed within the last 30 s".to_owned());
        }
        fetched.last_attempt = Some(now);
        match self.fetcher.fetch(uri).await {
            Ok(keys) => {
                fetched.keys = Some((keys.clone(), now));
                Ok(keys)
            }
            // Keys fetched within KEYS_FRESH_FOR still stand; older ones do not.
            Err(why) => fresh.ok_or(why),
        }
    }

    /// The client's entry for `uri`; a changed `jwks_uri` starts afresh.
    fn entry(&self, client: &ClientId, uri: &str) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(client).filter(|entry| entry.uri == uri) {
            return entry.clone();
        }
        if entries.len() >= MAX_CACHED_CLIENTS && !entries.contains_key(client) {
            // Any one goes: an evicted client's next assertion fetches its keys again.
            if let Some(evicted) = entries.keys().next().cloned() {
                entries.remove(&evicted);
            }
        }
        let entry = Arc::new(Entry {
            uri: uri.to_owned(),
            fetched: tokio::sync::Mutex::new(Fetched::default()),
        });
        entries.insert(client.clone(), entry.clone());
        entry
    }
}

#[cfg(test)]
mod tests;
