//! Pending authorization requests and failed-login counters in the embedded store.

use super::{
    backend, decode, encode, get_decoded, EmbeddedStore, LOGIN_THROTTLES, PENDING_AUTHORIZATIONS,
};
use crate::domain::{
    LoginPolicy, LoginThrottle, PendingAuthorization, ThrottleKey, Timestamp, TokenDigest,
};
use crate::ports::{LoginThrottleStore, PendingAuthorizationStore, StoreResult};
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

#[async_trait]
impl LoginThrottleStore for EmbeddedStore {
    async fn get_login_throttles(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
    ) -> StoreResult<Vec<Option<LoginThrottle>>> {
        let keys: Vec<String> = keys.iter().map(ThrottleKey::as_key).collect();
        self.read(move |txn| {
            let table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
            keys.iter()
                .map(|key| {
                    let found: Option<LoginThrottle> = get_decoded(&table, key)?;
                    Ok(found.filter(|t| !t.expires_at.has_passed(now)))
                })
                .collect()
        })
        .await
    }

    async fn record_login_failure(
        &self,
        key: &ThrottleKey,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<LoginThrottle> {
        let key = key.clone();
        let policy = policy.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
            let text = key.as_key();
            let previous: Option<LoginThrottle> = get_decoded(&table, &text)?;
            let next = LoginThrottle::after_failure(previous.as_ref(), &key, &policy, now);
            table
                .insert(text.as_str(), encode(&next)?.as_slice())
                .map_err(backend)?;
            Ok(next)
        })
        .await
    }

    async fn clear_login_throttle(&self, key: &ThrottleKey) -> StoreResult<()> {
        self.remove(LOGIN_THROTTLES, key.as_key()).await.map(|_| ())
    }
}
