//! Pending and pushed (RFC 9126) authorization requests in the embedded store (login
//! counters: `throttle.rs`).

use super::{backend, decode, EmbeddedStore, PENDING_AUTHORIZATIONS, PUSHED_REQUESTS};
use crate::domain::{ClientId, PendingAuthorization, PushedRequest, Timestamp, TokenDigest};
use crate::ports::{PendingAuthorizationStore, PushedRequestStore, StoreResult};
use async_trait::async_trait;
use redb::ReadableTable;

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
        self.take_live_if(
            PENDING_AUTHORIZATIONS,
            digest,
            now,
            |p: &PendingAuthorization| Some(p.expires_at),
        )
        .await
    }
}

#[async_trait]
impl PushedRequestStore for EmbeddedStore {
    async fn put_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        self.insert_new_json(PUSHED_REQUESTS, request.digest.as_str().to_owned(), request)
            .await
    }

    async fn take_pushed_request(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: Timestamp,
    ) -> StoreResult<Option<PushedRequest>> {
        let client = client.clone();
        self.take_live_if(PUSHED_REQUESTS, digest, now, move |r: &PushedRequest| {
            (r.client_id == client).then_some(r.expires_at)
        })
        .await
    }
}

impl EmbeddedStore {
    /// In one write transaction (of two callers, one gets it): the record under `digest`
    /// if `takeable` gives its expiry (None: leave it where it is), removed, and returned if
    /// it was unexpired at `now`.
    async fn take_live_if<T, F>(
        &self,
        table: super::JsonTable,
        digest: &TokenDigest,
        now: Timestamp,
        takeable: F,
    ) -> StoreResult<Option<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
        F: Fn(&T) -> Option<Timestamp> + Send + 'static,
    {
        let key = digest.as_str().to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(table).map_err(backend)?;
            let found: Option<T> = match table.get(key.as_str()).map_err(backend)? {
                Some(guard) => Some(decode(guard.value())?),
                None => None,
            };
            let Some((record, expires_at)) =
                found.and_then(|record| takeable(&record).map(|expires_at| (record, expires_at)))
            else {
                return Ok(None);
            };
            table.remove(key.as_str()).map_err(backend)?;
            Ok((!expires_at.has_passed(now)).then_some(record))
        })
        .await
    }
}
