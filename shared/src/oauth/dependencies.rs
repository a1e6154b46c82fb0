//! What every protocol service of one process shares: the store, the client cache in front
//! of it, the scope catalogue, the configuration, time, randomness and the audit trail.
//! Built once per process (`crate::wiring` for a Lambda, the local gateway for `xecure
//! serve`, the tests' fixtures) and handed to each service by name, so no service builds its
//! own cache or auditor and two services of one process never disagree about either.

use crate::audit::Auditor;
use crate::config::OAuthConfig;
use crate::oauth::client_keys::ClientKeys;
use crate::ports::{Clock, OsRng, Rng, Store, SystemClock};
use crate::scopes::ScopeCatalogue;
use crate::store::client_cache::{CachedClients, CLIENT_CACHE_TTL};
use std::sync::Arc;

/// The store itself is not in the bundle: each service is given its function's capability
/// (`ports::capabilities`) by name beside it, never the whole table.
#[derive(Clone)]
pub struct Dependencies {
    /// Clients read through the process's cache (`CLIENT_CACHE_TTL`); a registration change
    /// drops its entry at once.
    pub clients: Arc<CachedClients>,
    pub catalogue: Arc<ScopeCatalogue>,
    pub config: OAuthConfig,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub auditor: Auditor,
    /// `private_key_jwt` clients' keys, those fetched from a `jwks_uri` kept per process.
    pub client_keys: Arc<ClientKeys>,
}

impl Dependencies {
    /// Dependencies over `store` (the client cache reads it, the auditor writes to it) and
    /// `config`: the system clock, the operating system's
    /// randomness and the built-in scope catalogue unless the builder is told otherwise.
    pub fn over(store: Arc<dyn Store>, config: OAuthConfig) -> DependenciesBuilder {
        DependenciesBuilder {
            store,
            config,
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRng),
            catalogue: Arc::new(ScopeCatalogue::built_in()),
        }
    }

    /// The same dependencies, the audit trail reconfigured (log group, line sink).
    pub fn with_auditor(mut self, configure: impl FnOnce(Auditor) -> Auditor) -> Self {
        self.auditor = configure(self.auditor);
        self
    }
}

#[must_use = "call build() to get the dependencies"]
pub struct DependenciesBuilder {
    store: Arc<dyn Store>,
    config: OAuthConfig,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    catalogue: Arc<ScopeCatalogue>,
}

impl DependenciesBuilder {
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn rng(mut self, rng: Arc<dyn Rng>) -> Self {
        self.rng = rng;
        self
    }

    pub fn catalogue(mut self, catalogue: Arc<ScopeCatalogue>) -> Self {
        self.catalogue = catalogue;
        self
    }

    /// The client cache and the auditor over the same store and clock.
    pub fn build(self) -> Dependencies {
        let clients = Arc::new(CachedClients::new(
            self.store.clone(),
            self.clock.clone(),
            CLIENT_CACHE_TTL,
        ));
        let auditor = Auditor::new(
            self.store.clone(),
            self.clock.clone(),
            self.rng.clone(),
            self.config.audit_retention,
        );
        let client_keys = Arc::new(ClientKeys::new(
            self.config.jwks_uri_hosts,
            self.clock.clone(),
        ));
        Dependencies {
            client_keys,
            clients,
            catalogue: self.catalogue,
            config: self.config,
            clock: self.clock,
            rng: self.rng,
            auditor,
        }
    }
}
