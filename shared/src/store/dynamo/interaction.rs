//! Pending authorization requests in DynamoDB (login counters: `throttle.rs`).

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{from_item, pending_authorization_item, pushed_request_item, Item};
use super::s;
use super::DynamoStore;
use crate::domain::{ClientId, PendingAuthorization, PushedRequest, Timestamp, TokenDigest};
use crate::ports::{PendingAuthorizationStore, PushedRequestStore, StoreError, StoreResult};
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

#[async_trait]
impl PushedRequestStore for DynamoStore {
    /// One conditional PutItem.
    async fn put_pushed_request(&self, request: &PushedRequest) -> StoreResult<()> {
        match self
            .put(pushed_request_item(request)?, Some(item_is_new()))
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists("pushed request".into())),
        }
    }

    /// One DeleteItem returning the old item, as `take_pending_authorization`, on the
    /// condition that the request is `client`'s.
    async fn take_pushed_request(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: Timestamp,
    ) -> StoreResult<Option<PushedRequest>> {
        let owned = Expr::condition("#client = :client")
            .name("#client", "client_id")
            .value(":client", s(client.as_str()));
        let item = self
            .take_if(&keys::pushed_request(digest), Some(owned))
            .await?;
        live(item, |r: &PushedRequest| r.expires_at, now)
    }
}
