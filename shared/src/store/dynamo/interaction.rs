//! Pending authorization requests and failed-login counters in DynamoDB.

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{from_item, login_throttle_item, pending_authorization_item, Item};
use super::{n, DynamoStore};
use crate::domain::{
    LoginPolicy, LoginThrottle, PendingAuthorization, ThrottleKey, Timestamp, TokenDigest,
};
use crate::ports::{LoginThrottleStore, PendingAuthorizationStore, StoreError, StoreResult};
use crate::store::keys;
use async_trait::async_trait;

/// Concurrent failures on one key race on its version; the loser re-reads and tries again.
const RACE_ATTEMPTS: usize = 6;

fn live<T, F>(item: Option<Item>, expires_at: F, now: Timestamp) -> StoreResult<Option<T>>
where
    T: serde::de::DeserializeOwned,
    F: Fn(&T) -> Timestamp,
{
    let value: Option<T> = item.map(from_item).transpose()?;
    Ok(value.filter(|v| !expires_at(v).has_passed(now)))
}

#[async_trait]
impl PendingAuthorizationStore for DynamoStore {
    /// One conditional PutItem.
    async fn put_pending_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()> {
        match self
            .put(pending_authorization_item(pending)?, Some(item_is_new()))
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists("pending authorization".into())),
        }
    }

    /// One GetItem.
    async fn get_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let item = self.get(&keys::pending_authorization(digest)).await?;
        live(item, |p: &PendingAuthorization| p.expires_at, now)
    }

    /// One DeleteItem returning the old item: DynamoDB serialises deletes of one item, so
    /// only one caller sees it.
    async fn take_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let item = self.take(&keys::pending_authorization(digest)).await?;
        live(item, |p: &PendingAuthorization| p.expires_at, now)
    }
}

#[async_trait]
impl LoginThrottleStore for DynamoStore {
    /// One TransactGetItems for all keys.
    async fn get_login_throttles(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
    ) -> StoreResult<Vec<Option<LoginThrottle>>> {
        let item_keys: Vec<_> = keys
            .iter()
            .map(|key| keys::login_throttle(&key.as_key()))
            .collect();
        self.get_many(&item_keys)
            .await?
            .into_iter()
            .map(|item| live(item, |t: &LoginThrottle| t.expires_at, now))
            .collect()
    }

    /// GetItem, then a PutItem conditional on the version read (optimistic concurrency).
    async fn record_login_failure(
        &self,
        key: &ThrottleKey,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<LoginThrottle> {
        let item_key = keys::login_throttle(&key.as_key());
        for _ in 0..RACE_ATTEMPTS {
            let previous: Option<LoginThrottle> =
                self.get(&item_key).await?.map(from_item).transpose()?;
            let next = LoginThrottle::after_failure(previous.as_ref(), key, policy, now);
            let condition = match &previous {
                Some(previous) => Expr::condition("#version = :version")
                    .name("#version", "version")
                    .value(":version", n(previous.version as i64)),
                None => item_is_new(),
            };
            if self
                .put(login_throttle_item(&next)?, Some(condition))
                .await?
            {
                return Ok(next);
            }
        }
        Err(StoreError::Unavailable(
            "failed-login counter kept changing while being updated".into(),
        ))
    }

    /// One DeleteItem.
    async fn clear_login_throttle(&self, key: &ThrottleKey) -> StoreResult<()> {
        self.delete(&keys::login_throttle(&key.as_key()))
            .await
            .map(|_| ())
    }
}
