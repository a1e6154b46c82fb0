//! The keyring a warm container keeps: loaded at cold start, reloaded in the background of
//! requests every `reload_every`, so a rotation reaches running containers without a
//! redeploy. A failed reload keeps the previous keyring (and logs): verification and signing
//! go on with known keys instead of failing every request.

use super::keyring::{Keyring, KeyringError};
use super::seal::KeySealer;
use crate::domain::Timestamp;
use crate::ports::{Clock, KeyStore};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct LiveKeyring {
    store: Arc<dyn KeyStore>,
    sealer: Option<Arc<dyn KeySealer>>,
    clock: Arc<dyn Clock>,
    reload_every: Duration,
    current: RwLock<(Arc<Keyring>, Timestamp)>,
    reloading: tokio::sync::Mutex<()>,
}

impl LiveKeyring {
    /// `sealer` None builds a verify-only keyring (the authorizer never signs).
    pub async fn load(
        store: Arc<dyn KeyStore>,
        sealer: Option<Arc<dyn KeySealer>>,
        clock: Arc<dyn Clock>,
        reload_every: Duration,
    ) -> Result<Self, KeyringError> {
        let now = clock.now();
        let keyring = Self::build(store.as_ref(), sealer.as_deref(), now).await?;
        Ok(LiveKeyring {
            store,
            sealer,
            clock,
            reload_every,
            current: RwLock::new((Arc::new(keyring), now)),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    async fn build(
        store: &dyn KeyStore,
        sealer: Option<&dyn KeySealer>,
        now: Timestamp,
    ) -> Result<Keyring, KeyringError> {
        let keys = store
            .list_signing_keys()
            .await
            .map_err(|e| KeyringError::Sign(format!("cannot list signing keys: {e}")))?;
        Keyring::load(keys, sealer, now).await
    }

    fn snapshot(&self) -> (Arc<Keyring>, Timestamp) {
        let guard = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (Arc::clone(&guard.0), guard.1)
    }

    /// The keyring to use now, reloading it first if it is older than `reload_every`.
    pub async fn current(&self) -> Arc<Keyring> {
        let (keyring, loaded_at) = self.snapshot();
        if !loaded_at
            .plus(self.reload_every)
            .has_passed(self.clock.now())
        {
            return keyring;
        }
        self.reload().await;
        self.snapshot().0
    }

    /// Reloads now (one reload at a time; callers that waited reuse its result).
    pub async fn reload(&self) {
        let started = self.clock.now();
        let _one_at_a_time = self.reloading.lock().await;
        if self.snapshot().1 >= started {
            return;
        }
        match Self::build(self.store.as_ref(), self.sealer.as_deref(), started).await {
            Ok(keyring) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = (Arc::new(keyring), started)
            }
            Err(error) => {
                tracing::error!(%error, "signing keys not reloaded; keeping the previous keyring")
            }
        }
    }
}
