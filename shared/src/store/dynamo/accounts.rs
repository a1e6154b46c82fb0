//! Clients, users, grants and signing keys in DynamoDB.

use super::expr::Expr;
use super::items::{
    client_item, from_item, grant_item, revocation_item, signing_key_item, user_item, Item,
};
use super::{n, s, DynamoStore, Written};
use crate::domain::{
    Client, ClientId, Grant, RevocationStamp, RevocationTarget, SigningKey, User, UserId, Username,
};
use crate::ports::{ClientStore, GrantStore, KeyStore, StoreError, StoreResult, UserStore};
use crate::store::keys::{self, GRANT_PREFIX, GSI1, GSI1_PK, GSI2, GSI2_PK, PK, SK};
use async_trait::async_trait;

/// Attempts for read-then-conditional-write operations that lose a race.
const RACE_ATTEMPTS: usize = 4;

fn decode_all<T: serde::de::DeserializeOwned>(items: Vec<Item>) -> StoreResult<Vec<T>> {
    items.into_iter().map(from_item).collect()
}

fn item_exists() -> Expr {
    Expr::condition("attribute_exists(#pk)").name("#pk", PK)
}

pub(super) fn item_is_new() -> Expr {
    Expr::condition("attribute_not_exists(#pk)").name("#pk", PK)
}

impl DynamoStore {
    async fn get_decoded<T: serde::de::DeserializeOwned>(
        &self,
        key: &keys::ItemKey,
    ) -> StoreResult<Option<T>> {
        self.get(key).await?.map(from_item).transpose()
    }

    /// Items of one partition (optionally of one sort-key prefix) of the table.
    async fn partition<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
    ) -> StoreResult<Vec<T>> {
        let expr = match sk_prefix {
            Some(prefix) => Expr::key_condition("#pk = :pk AND begins_with(#sk, :prefix)")
                .name("#sk", SK)
                .value(":prefix", s(prefix)),
            None => Expr::key_condition("#pk = :pk"),
        };
        decode_all(
            self.query_all(None, expr.name("#pk", PK).value(":pk", s(pk)))
                .await?,
        )
    }
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put(client_item(client)?, None).await.map(|_| ())
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.get_decoded(&keys::client(id)).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let expr = Expr::key_condition("#pk = :pk")
            .name("#pk", GSI1_PK)
            .value(":pk", s(keys::CLIENT_LIST));
        decode_all(self.query_all(Some(GSI1), expr).await?)
    }

    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        self.delete(&keys::client(id)).await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        match self.put(user_item(user)?, Some(item_is_new())).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(format!("user {}", user.username))),
        }
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        match self.put(user_item(user)?, Some(item_exists())).await? {
            true => Ok(()),
            false => Err(StoreError::NotFound(format!("user {}", user.username))),
        }
    }

    async fn get_user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        self.get_decoded(&keys::user(username)).await
    }

    async fn delete_user(&self, username: &Username) -> StoreResult<bool> {
        self.delete(&keys::user(username)).await
    }
}

#[async_trait]
impl GrantStore for DynamoStore {
    async fn upsert_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.put(grant_item(grant)?, None).await.map(|_| ())
    }

    async fn get_grant(&self, user: &UserId, client: &ClientId) -> StoreResult<Option<Grant>> {
        self.get_decoded(&keys::grant(user, client)).await
    }

    async fn list_grants(&self, user: &UserId) -> StoreResult<Vec<Grant>> {
        self.partition(&keys::grants_of(user), Some(GRANT_PREFIX))
            .await
    }

    /// Query GSI2 on the client's partition.
    async fn list_client_grants(&self, client: &ClientId) -> StoreResult<Vec<Grant>> {
        let expr = Expr::key_condition("#pk = :pk")
            .name("#pk", GSI2_PK)
            .value(":pk", s(keys::grants_to(client)));
        decode_all(self.query_all(Some(GSI2), expr).await?)
    }

    /// GetItem, then one TransactWriteItems: mark revoked (only if it is still the same
    /// active grant) and put the revocation entry, together or not at all.
    async fn revoke_grant(
        &self,
        user: &UserId,
        client: &ClientId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool> {
        let key = keys::grant(user, client);
        for _ in 0..RACE_ATTEMPTS {
            let Some(grant) = self
                .get_decoded::<Grant>(&key)
                .await?
                .filter(Grant::is_active)
            else {
                return Ok(false);
            };
            let mark = Expr::update("SET #revoked = :at")
                .and_condition("#id = :id AND attribute_not_exists(#revoked)")
                .name("#revoked", "revoked_at")
                .name("#id", "id")
                .value(":at", n(stamp.at.as_millis()))
                .value(":id", s(grant.id.as_str()));
            let revocation = stamp.revoke(RevocationTarget::Grant(grant.id.clone()));
            let ops = vec![
                self.update_op(&key, mark)?,
                self.put_op(revocation_item(&revocation)?, Some(item_is_new()))?,
            ];
            if self
                .transact("TransactWriteItems(revoke grant)", ops)
                .await?
                == Written::Yes
            {
                return Ok(true);
            }
        }
        Err(StoreError::Unavailable(
            "grant kept changing while being revoked".into(),
        ))
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn put_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        self.put(signing_key_item(key)?, None).await.map(|_| ())
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.partition(keys::SIGNING_KEYS, None).await
    }
}
