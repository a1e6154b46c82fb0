//! Clients, users, grants and signing keys in DynamoDB.

use super::expr::Expr;
use super::items::{
    account_item, client_item, from_item, grant_item, revocation_item, signing_key_item,
    username_item, Item, UsernamePointer,
};
use super::{n, s, DynamoStore, Written};
use crate::domain::{
    Client, ClientId, Grant, Revocation, RevocationStamp, RevocationTarget, SigningKey, User,
    UserId, Username,
};
use crate::ports::AccountAdmin;
use crate::ports::ClientRegistry;
use crate::ports::KeyPublisher;
use crate::ports::{ClientStore, GrantStore, KeyStore, StoreError, StoreResult, UserStore};
use crate::store::keys::{self, GRANT_PREFIX, GSI1, GSI1_PK, GSI2, GSI2_PK, PK, SK};
use crate::store::rules::previous_version;
use async_trait::async_trait;

/// Attempts for read-then-conditional-write operations that lose a race.
const RACE_ATTEMPTS: usize = 4;

fn decode_all<T: serde::de::DeserializeOwned>(items: Vec<Item>) -> StoreResult<Vec<T>> {
    items.into_iter().map(from_item).collect()
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
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.get_decoded(&keys::client(id)).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let expr = Expr::key_condition("#pk = :pk")
            .name("#pk", GSI1_PK)
            .value(":pk", s(keys::CLIENT_LIST));
        decode_all(self.query_all(Some(GSI1), expr).await?)
    }
}

#[async_trait]
impl ClientRegistry for DynamoStore {
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        match self.put(client_item(client)?, Some(item_is_new())).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(format!("client {}", client.id))),
        }
    }
    /// A PutItem conditional on the version read.
    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let previous = client.version.checked_sub(1).ok_or_else(|| {
            StoreError::InvalidRequest("a client is updated at version 1 or more".into())
        })?;
        self.put(client_item(client)?, Some(at_version(previous)))
            .await
    }
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        self.delete(&keys::client(id)).await
    }
}

/// The stored version must be `previous` (0 also matches a record from before versions).
fn at_version(previous: u64) -> Expr {
    let expr = if previous == 0 {
        Expr::condition(
            "attribute_exists(#pk) AND (attribute_not_exists(#version) OR #version = :v)",
        )
    } else {
        Expr::condition("attribute_exists(#pk) AND #version = :v")
    };
    expr.name("#pk", PK)
        .name("#version", "version")
        .value(":v", n(i64::try_from(previous).unwrap_or(i64::MAX)))
}

#[async_trait]
impl UserStore for DynamoStore {
    /// Two GetItems: the username's pointer, then the account.
    async fn get_user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        let pointer: Option<UsernamePointer> = self.get_decoded(&keys::user(username)).await?;
        match pointer {
            Some(pointer) => self.get_user(&pointer.user_id).await,
            None => Ok(None),
        }
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.get_decoded(&keys::account(id)).await
    }

    /// Query GSI1 `USERS`, page by page.
    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let expr = Expr::key_condition("#pk = :pk")
            .name("#pk", GSI1_PK)
            .value(":pk", s(keys::USER_LIST));
        decode_all(self.query_all(Some(GSI1), expr).await?)
    }
}

#[async_trait]
impl AccountAdmin for DynamoStore {
    /// One TransactWriteItems: the username and the account, both new.
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let ops = vec![
            self.put_op(username_item(user)?, Some(item_is_new()))?,
            self.put_op(account_item(user)?, Some(item_is_new()))?,
        ];
        match self
            .transact("TransactWriteItems(create user)", ops)
            .await?
        {
            Written::Yes => Ok(()),
            Written::ConditionFailed => {
                Err(StoreError::AlreadyExists(format!("user {}", user.username)))
            }
        }
    }
    /// A PutItem conditional on the version read, or with `revocation` one TransactWriteItems.
    async fn update_user(&self, user: &User, revocation: Option<&Revocation>) -> StoreResult<()> {
        let previous = user.version.checked_sub(1).ok_or_else(|| {
            StoreError::InvalidRequest("a user is updated at version 1 or more".into())
        })?;
        let written = match revocation {
            None => {
                self.put(account_item(user)?, Some(at_version(previous)))
                    .await?
            }
            Some(revocation) => {
                let ops = vec![
                    self.put_op(account_item(user)?, Some(at_version(previous)))?,
                    self.put_op(revocation_item(revocation)?, Some(item_is_new()))?,
                ];
                self.transact("TransactWriteItems(update user)", ops)
                    .await?
                    == Written::Yes
            }
        };
        if written {
            return Ok(());
        }
        match self.get_user(&user.id).await? {
            None => Err(StoreError::NotFound(format!("user {}", user.username))),
            Some(_) => Err(StoreError::Conflict(format!("user {}", user.username))),
        }
    }
    /// One TransactWriteItems: delete the account (at the version read) and its username
    /// (if it still names this account), put the revocation.
    async fn delete_user(&self, user: &User, revocation: &Revocation) -> StoreResult<bool> {
        let names_this_user = Expr::condition("attribute_not_exists(#pk) OR #user = :user")
            .name("#pk", PK)
            .name("#user", "user_id")
            .value(":user", s(user.id.as_str()));
        let ops = vec![
            self.delete_op(&keys::account(&user.id), at_version(user.version))?,
            self.delete_op(&keys::user(&user.username), names_this_user)?,
            self.put_op(revocation_item(revocation)?, Some(item_is_new()))?,
        ];
        match self
            .transact("TransactWriteItems(delete user)", ops)
            .await?
        {
            Written::Yes => Ok(true),
            Written::ConditionFailed => match self.get_user(&user.id).await? {
                None => Ok(false),
                Some(_) => Err(StoreError::Conflict(format!("user {}", user.username))),
            },
        }
    }
}

#[async_trait]
impl GrantStore for DynamoStore {
    /// A PutItem conditional on the version read; with a narrowing entry, one
    /// TransactWriteItems.
    async fn save_grant(&self, grant: &Grant, narrowing: Option<&Revocation>) -> StoreResult<bool> {
        let previous = previous_version(grant)?;
        let unchanged = if previous == 0 {
            Expr::condition("attribute_not_exists(#version)").name("#version", "version")
        } else {
            Expr::condition("#version = :v")
                .name("#version", "version")
                .value(":v", n(i64::try_from(previous).unwrap_or(i64::MAX)))
        };
        match narrowing {
            None => self.put(grant_item(grant)?, Some(unchanged)).await,
            Some(narrowing) => {
                let ops = vec![
                    self.put_op(grant_item(grant)?, Some(unchanged))?,
                    self.put_op(revocation_item(narrowing)?, Some(item_is_new()))?,
                ];
                Ok(self.transact("TransactWriteItems(save grant)", ops).await? == Written::Yes)
            }
        }
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
            let mark = Expr::update("SET #revoked = :at ADD #version :one")
                .and_condition("#id = :id AND attribute_not_exists(#revoked)")
                .name("#revoked", "revoked_at")
                .name("#id", "id")
                .name("#version", "version")
                .value(":at", n(stamp.at.as_millis()))
                .value(":one", n(1))
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
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.partition(keys::SIGNING_KEYS, None).await
    }
}

#[async_trait]
impl KeyPublisher for DynamoStore {
    async fn put_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        self.put(signing_key_item(key)?, None).await.map(|_| ())
    }
}
