//! The keyring a warm container keeps: loaded at cold start, reloaded in the background of
//! requests every `reload_every`, so a rotation reaches running containers without a
//! redeploy. A failed reload keeps the previous keyring (and logs): verification and signing
//! go on with known keys instead of failing every request. A container that could sign but
//! has no signing key yet (started before the first `xecure keys rotate`, e.g. by a request
//! right after the first deploy) looks again every `NO_SIGNING_KEY_RETRY`, so the first key
//! signs within seconds instead of after a whole `reload_every`.

use super::generate::SigningAlgorithm;
use super::keyring::{Keyring, KeyringError};
use super::seal::KeySealer;
use crate::domain::Timestamp;
use crate::ports::{Clock, KeyStore};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Warm token functions (and `xecure serve`) re-read the signing keys this often, so a
/// rotation reaches them (`xecure keys rotate` publishes a key this long before it signs).
pub const KEYRING_RELOAD: Duration = Duration::from_secs(300);

/// How often a container with a key sealer and no signing key re-reads the keys.
pub const NO_SIGNING_KEY_RETRY: Duration = Duration::from_secs(5);

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

    /// The keyring to use now, reloading it first if it is older than `reload_every` (or
    /// `NO_SIGNING_KEY_RETRY` while it cannot sign but should).
    pub async fn current(&self) -> Arc<Keyring> {
        let (keyring, loaded_at) = self.snapshot();
        let awaits_first_key = self.sealer.is_some() && keyring.signing_kid().is_none();
        let max_age = if awaits_first_key {
            NO_SIGNING_KEY_RETRY.min(self.reload_every)
        } else {
            self.reload_every
        };
        if !loaded_at.plus(max_age).has_passed(self.clock.now()) {
            return keyring;
        }
        self.reload().await;
        self.snapshot().0
    }

    /// The keyring to sign with `algorithm`: when the current one has no key of it (an RS256
    /// key created after this container started), the keys are read again, at most every
    /// `NO_SIGNING_KEY_RETRY`, instead of failing until the next regular reload.
    pub async fn current_for(&self, algorithm: SigningAlgorithm) -> Arc<Keyring> {
        let keyring = self.current().await;
        if self.sealer.is_none() || keyring.signing_algorithms().any(|a| a == algorithm) {
            return keyring;
        }
        self.reload_unless_newer_than(NO_SIGNING_KEY_RETRY).await;
        self.snapshot().0
    }

    /// Reloads unless the keyring was loaded less than `age` ago: for a key this container
    /// does not know yet (a new kid, a new algorithm), bounded so a stream of unknown kids
    /// costs one read per `age`.
    pub async fn reload_unless_newer_than(&self, age: Duration) {
        let (_, loaded_at) = self.snapshot();
        if loaded_at.plus(age).has_passed(self.clock.now()) {
            self.reload().await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OsRng;
    use crate::signing::{rotate_signing_key, LocalKeySealer, SigningAlgorithm};
    use crate::store::embedded::EmbeddedStore;
    use crate::testing::FixedClock;

    #[tokio::test]
    async fn a_container_started_before_the_first_key_signs_within_seconds_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let sealer = Arc::new(LocalKeySealer::open(dir.path()).unwrap());
        let clock = Arc::new(FixedClock::at(Timestamp::from_secs(1_800_000_000)));
        let signer = LiveKeyring::load(
            store.clone(),
            Some(sealer.clone()),
            clock.clone(),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
        let verifier =
            LiveKeyring::load(store.clone(), None, clock.clone(), Duration::from_secs(300))
                .await
                .unwrap();
        assert!(signer.current().await.signing_kid().is_none());
        let key = rotate_signing_key(
            store.as_ref(),
            sealer.as_ref(),
            &OsRng,
            SigningAlgorithm::EdDsa,
            clock.now(),
            Duration::ZERO,
            Duration::from_secs(900),
        )
        .await
        .unwrap();
        clock.advance(NO_SIGNING_KEY_RETRY - Duration::from_secs(1));
        assert!(
            signer.current().await.signing_kid().is_none(),
            "not re-read yet"
        );
        clock.advance(Duration::from_secs(2));
        assert_eq!(signer.current().await.signing_kid(), Some(&key.kid));
        // A verify-only keyring keeps its interval (the authorizer re-reads on an unknown kid).
        assert!(verifier
            .current()
            .await
            .verifier(key.kid.as_str())
            .is_none());
    }

    /// The key store of a container whose DynamoDB endpoint can go away.
    struct KeysThatFail {
        inner: Arc<EmbeddedStore>,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl KeyStore for KeysThatFail {
        async fn list_signing_keys(
            &self,
        ) -> crate::ports::StoreResult<Vec<crate::domain::SigningKey>> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::ports::StoreError::Unavailable(
                    "endpoint gone".into(),
                ));
            }
            self.inner.list_signing_keys().await
        }
    }

    #[tokio::test]
    async fn a_warm_container_takes_up_a_rotation_after_its_interval_and_keeps_its_keys_when_a_reload_fails(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let store = Arc::new(KeysThatFail {
            inner: embedded.clone(),
            down: false.into(),
        });
        let sealer = Arc::new(LocalKeySealer::open(dir.path()).unwrap());
        let clock = Arc::new(FixedClock::at(Timestamp::from_secs(1_800_000_000)));
        let reload_every = Duration::from_secs(300);
        let rotate = |now| {
            rotate_signing_key(
                embedded.as_ref(),
                sealer.as_ref(),
                &OsRng,
                SigningAlgorithm::EdDsa,
                now,
                Duration::ZERO,
                Duration::from_secs(900),
            )
        };
        let first = rotate(clock.now()).await.unwrap();
        let signer = LiveKeyring::load(
            store.clone(),
            Some(sealer.clone()),
            clock.clone(),
            reload_every,
        )
        .await
        .unwrap();
        assert_eq!(signer.current().await.signing_kid(), Some(&first.kid));

        clock.advance(Duration::from_secs(1));
        let second = rotate(clock.now()).await.unwrap();
        clock.advance(reload_every - Duration::from_secs(2));
        assert_eq!(
            signer.current().await.signing_kid(),
            Some(&first.kid),
            "within the interval the container keeps what it read"
        );
        clock.advance(Duration::from_secs(2));
        let keyring = signer.current().await;
        assert_eq!(keyring.signing_kid(), Some(&second.kid), "then it re-reads");
        assert!(
            keyring.verifier(first.kid.as_str()).is_some(),
            "the old key still verifies its live tokens"
        );

        // The store goes away: the reload fails and the container goes on with the keys it
        // has, instead of failing every request.
        store.down.store(true, std::sync::atomic::Ordering::SeqCst);
        rotate(clock.now()).await.unwrap();
        clock.advance(reload_every + Duration::from_secs(1));
        let kept = signer.current().await;
        assert_eq!(kept.signing_kid(), Some(&second.kid));
        assert!(kept.verifier(first.kid.as_str()).is_some());
    }
}
