//! A per-container cache in front of client lookups: the token endpoint reads the client on
//! every call, and client records change rarely. Removing or changing a client takes effect
//! within the TTL; revoking its tokens goes through the revocation list, not this cache.

use crate::domain::{Client, ClientId, Timestamp};
use crate::ports::{ClientStore, Clock, StoreResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a container trusts its cached copy of a client record.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Entries kept at most; beyond it the cache starts over (client sets are small).
const MAX_ENTRIES: usize = 10_000;

pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    entries: Mutex<HashMap<ClientId, (Option<Client>, Timestamp)>>,
}

impl CachedClients {
    pub fn new(inner: Arc<dyn ClientStore>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        CachedClients {
            inner,
            clock,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &ClientId, now: Timestamp) -> Option<Option<Client>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(id)
            .filter(|(_, fetched)| !fetched.plus(self.ttl).has_passed(now))
            .map(|(client, _)| client.clone())
    }

    /// Drops the cached copy of `id`: the next read goes to the store. For writers that
    /// change a client through another path than this cache.
    pub fn forget(&self, id: &ClientId) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(id);
    }

    /// Drops every entry: the next read of each client goes to the store (`xecure serve`
    /// after an operator's command changed clients under it).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

/// Reads only: writes go to the store, and the writer calls `forget` (registration changes
/// in the token function; the other functions never write clients).
#[async_trait]
impl ClientStore for CachedClients {
    /// Unknown clients are cached too, so a flood of bad client ids does not reach the store.
    /// A disabled client is unknown to every OAuth endpoint (they all read through here).
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        let now = self.clock.now();
        if let Some(hit) = self.cached(id, now) {
            return Ok(hit);
        }
        let fetched = self
            .inner
            .get_client(id)
            .await?
            .filter(|client| !client.disabled);
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id.clone(), (fetched.clone(), now));
        Ok(fetched)
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.inner.list_clients().await
    }
}
