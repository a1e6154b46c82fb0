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
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    clients: HashMap<ClientId, (Option<Client>, Timestamp)>,
    /// Moved by every `forget` and `clear`: a read that started before one does not store
    /// what it fetched, which may be the record as it was before the write that caused it
    /// (security rule 17: a disable is not undone by a read in flight).
    generation: u64,
}

impl CachedClients {
    pub fn new(inner: Arc<dyn ClientStore>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        CachedClients {
            inner,
            clock,
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live cached copy of `id`, or the generation a fetch of it starts under.
    fn cached(&self, id: &ClientId, now: Timestamp) -> Result<Option<Client>, u64> {
        let entries = self.entries();
        entries
            .clients
            .get(id)
            .filter(|(_, fetched)| !fetched.plus(self.ttl).has_passed(now))
            .map(|(client, _)| client.clone())
            .ok_or(entries.generation)
    }

    /// Drops the cached copy of `id`: the next read goes to the store. For writers that
    /// change a client through another path than this cache.
    pub fn forget(&self, id: &ClientId) {
        let mut entries = self.entries();
        entries.clients.remove(id);
        entries.generation += 1;
    }

    /// Drops every entry: the next read of each client goes to the store (`xecure serve`
    /// after an operator's command changed clients under it).
    pub fn clear(&self) {
        let mut entries = self.entries();
        entries.clients.clear();
        entries.generation += 1;
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
        let started_under = match self.cached(id, now) {
            Ok(hit) => return Ok(hit),
            Err(generation) => generation,
        };
        let fetched = self
            .inner
            .get_client(id)
            .await?
            .filter(|client| !client.disabled);
        let mut entries = self.entries();
        if entries.generation == started_under {
            if entries.clients.len() >= MAX_ENTRIES {
                entries.clients.clear();
            }
            entries.clients.insert(id.clone(), (fetched.clone(), now));
        }
        Ok(fetched)
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.inner.list_clients().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientKind;
    use crate::testing::FixedClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    /// Answers the client as enabled, holding each read until released; counts reads.
    struct SlowStore {
        reads: AtomicUsize,
        release: Notify,
    }

    #[async_trait]
    impl ClientStore for SlowStore {
        async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.release.notified().await;
            Ok(Some(Client::new(
                id.clone(),
                "app",
                ClientKind::Public,
                Timestamp::from_secs(0),
            )))
        }

        async fn list_clients(&self) -> StoreResult<Vec<Client>> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn a_read_in_flight_when_a_client_is_forgotten_is_not_cached() {
        for drop_it in [
            CachedClients::forget as fn(&CachedClients, &ClientId),
            |c, _| c.clear(),
        ] {
            let store = Arc::new(SlowStore {
                reads: AtomicUsize::new(0),
                release: Notify::new(),
            });
            let clock = Arc::new(FixedClock::at(Timestamp::from_secs(1_900_000_000)));
            let cache = Arc::new(CachedClients::new(store.clone(), clock, CLIENT_CACHE_TTL));
            let id = ClientId::parse("app").unwrap();
            let in_flight = tokio::spawn({
                let (cache, id) = (cache.clone(), id.clone());
                async move { cache.get_client(&id).await }
            });
            while store.reads.load(Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
            // The write (a disable) and its forget land while the read is in flight.
            drop_it(&cache, &id);
            store.release.notify_one();
            assert!(in_flight.await.unwrap().unwrap().is_some());
            // What the old read fetched was not kept: the next read goes to the store.
            let next = tokio::spawn({
                let (cache, id) = (cache.clone(), id.clone());
                async move { cache.get_client(&id).await }
            });
            let went_to_the_store = tokio::time::timeout(Duration::from_secs(5), async {
                while store.reads.load(Ordering::SeqCst) < 2 {
                    tokio::task::yield_now().await;
                }
            })
            .await;
            assert!(went_to_the_store.is_ok(), "the stale read was cached");
            store.release.notify_one();
            next.await.unwrap().unwrap();
            assert_eq!(store.reads.load(Ordering::SeqCst), 2);
        }
    }
}
