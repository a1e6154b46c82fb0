//! Used DPoP proofs in the embedded store.

use super::{backend, decode, encode, EmbeddedStore, Expiring, USED_PROOFS};
use crate::domain::{Timestamp, TokenDigest};
use crate::ports::{ProofReplayStore, StoreResult};
use async_trait::async_trait;
use redb::ReadableTable;

#[async_trait]
impl ProofReplayStore for EmbeddedStore {
    /// Read and write in one write transaction: the store's writer lock makes it atomic.
    async fn use_proof_once(
        &self,
        id: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let key = id.as_str().to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(USED_PROOFS).map_err(backend)?;
            if let Some(found) = table.get(key.as_str()).map_err(backend)? {
                let marker: Expiring = decode(found.value())?;
                if !marker.expires_at.has_passed(now) {
                    return Ok(false);
                }
            }
            let marker = encode(&Expiring { expires_at })?;
            table
                .insert(key.as_str(), marker.as_slice())
                .map_err(backend)?;
            Ok(true)
        })
        .await
    }
}
