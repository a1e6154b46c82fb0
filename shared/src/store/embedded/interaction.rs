//! Pending authorization requests in the embedded store (login counters: `throttle.rs`).

use super::{backend, decode, EmbeddedStore, PENDING_AUTHORIZATIONS};
use crate::domain::{PendingAuthorization, Timestamp, TokenDigest};
use crate::ports::{PendingAuthorizationStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl PendingAuthorizationStore for EmbeddedStore {
    async fn put_pending_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()> {
        self.insert_new_json(
            PENDING_AUTHORIZATIONS,
            pending.digest.as_str().to_owned(),
            pending,
        )
        .await
    }

    async fn get_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let pending: Option<PendingAuthorization> = self
            .get_json(PENDING_AUTHORIZATIONS, digest.as_str().to_owned())
            .await?;
        Ok(pending.filter(|p| !p.expires_at.has_passed(now)))
    }

    async fn take_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let key = digest.as_str().to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(PENDING_AUTHORIZATIONS).map_err(backend)?;
            let removed = table.remove(key.as_str()).map_err(backend)?;
            let pending: Option<PendingAuthorization> =
                removed.map(|guard| decode(guard.value())).transpose()?;
            Ok(pending.filter(|p| !p.expires_at.has_passed(now)))
        })
        .await
    }
}
