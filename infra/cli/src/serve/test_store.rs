//! The local gateway tests' data directory: the embedded store and the local key sealer, with
//! a signing key that signs from `now`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use xecure::domain::Timestamp;
use xecure::ports::OsRng;
use xecure::signing::{rotate_signing_key, LocalKeySealer, SigningAlgorithm};
use xecure::store::embedded::EmbeddedStore;

pub async fn store_with_signing_key(
    dir: &Path,
    now: Timestamp,
) -> (Arc<EmbeddedStore>, Arc<LocalKeySealer>) {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    let sealer = Arc::new(LocalKeySealer::open(dir).unwrap());
    rotate_signing_key(
        store.as_ref(),
        sealer.as_ref(),
        &OsRng,
        SigningAlgorithm::EdDsa,
        now,
        Duration::ZERO,
        Duration::from_secs(900),
    )
    .await
    .unwrap();
    (store, sealer)
}
