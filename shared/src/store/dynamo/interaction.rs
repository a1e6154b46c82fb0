//! Pending authorization requests in DynamoDB (login counters: `throttle.rs`).

use super::accounts::item_is_new;
use super::items::{from_item, pending_authorization_item, Item};
use super::DynamoStore;
use crate::domain::{PendingAuthorization, Timestamp, TokenDigest};
use crate::ports::{PendingAuthorizationStore, StoreError, StoreResult};
use crate::store::keys;
use async_trait::async_trait;

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
