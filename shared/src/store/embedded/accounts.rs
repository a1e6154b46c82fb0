//! Clients, users, grants and signing keys in the embedded store.

use super::{
    backend, decode, encode, insert_revocation, EmbeddedStore, CLIENTS, GRANTS, SIGNING_KEYS, USERS,
};
use crate::domain::{
    Client, ClientId, Grant, RevocationStamp, RevocationTarget, SigningKey, User, UserId, Username,
};
use crate::ports::{ClientStore, GrantStore, KeyStore, StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use redb::ReadableTable;

#[async_trait]
impl ClientStore for EmbeddedStore {
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.put_json(CLIENTS, client.id.to_string(), client).await
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.get_json(CLIENTS, id.to_string()).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.all_json(CLIENTS).await
    }

    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        self.remove(CLIENTS, id.to_string()).await
    }
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.insert_new_json(USERS, user.username.to_string(), user)
            .await
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let key = user.username.to_string();
        let bytes = encode(user)?;
        self.write(move |txn| {
            let mut users = txn.open_table(USERS).map_err(backend)?;
            if users.get(key.as_str()).map_err(backend)?.is_none() {
                return Err(StoreError::NotFound(format!("user {key}")));
            }
            users
                .insert(key.as_str(), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        self.get_json(USERS, username.to_string()).await
    }

    async fn delete_user(&self, username: &Username) -> StoreResult<bool> {
        self.remove(USERS, username.to_string()).await
    }
}

#[async_trait]
impl GrantStore for EmbeddedStore {
    async fn upsert_grant(&self, grant: &Grant) -> StoreResult<()> {
        let (user, client) = (grant.user_id.to_string(), grant.client_id.to_string());
        let bytes = encode(grant)?;
        self.write(move |txn| {
            txn.open_table(GRANTS)
                .map_err(backend)?
                .insert((user.as_str(), client.as_str()), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_grant(&self, user: &UserId, client: &ClientId) -> StoreResult<Option<Grant>> {
        let (user, client) = (user.to_string(), client.to_string());
        self.read(move |txn| {
            let grants = txn.open_table(GRANTS).map_err(backend)?;
            let found = grants
                .get((user.as_str(), client.as_str()))
                .map_err(backend)?;
            found.map(|guard| decode(guard.value())).transpose()
        })
        .await
    }

    async fn list_grants(&self, user: &UserId) -> StoreResult<Vec<Grant>> {
        let user = user.to_string();
        self.read(move |txn| {
            let grants = txn.open_table(GRANTS).map_err(backend)?;
            let mut found = Vec::new();
            // Every client id sorts after "" and before the user's successor prefix: scan
            // exactly this user's rows.
            for entry in grants.range((user.as_str(), "")..).map_err(backend)? {
                let (key, value) = entry.map_err(backend)?;
                if key.value().0 != user {
                    break;
                }
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
        .await
    }

    /// The grants table is keyed by user; a local store's grants fit one scan.
    async fn list_client_grants(&self, client: &ClientId) -> StoreResult<Vec<Grant>> {
        let client = client.clone();
        self.read(move |txn| {
            let grants = txn.open_table(GRANTS).map_err(backend)?;
            let mut found = Vec::new();
            for entry in grants.iter().map_err(backend)? {
                let (key, value) = entry.map_err(backend)?;
                if key.value().1 == client.as_str() {
                    found.push(decode(value.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn revoke_grant(
        &self,
        user: &UserId,
        client: &ClientId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool> {
        let (user, client, stamp) = (user.to_string(), client.to_string(), stamp.clone());
        self.write(move |txn| {
            let mut grants = txn.open_table(GRANTS).map_err(backend)?;
            let stored: Option<Grant> = grants
                .get((user.as_str(), client.as_str()))
                .map_err(backend)?
                .map(|guard| decode(guard.value()))
                .transpose()?;
            let Some(mut grant) = stored.filter(Grant::is_active) else {
                return Ok(false);
            };
            grant.revoked_at = Some(stamp.at);
            grants
                .insert((user.as_str(), client.as_str()), encode(&grant)?.as_slice())
                .map_err(backend)?;
            insert_revocation(txn, &stamp.revoke(RevocationTarget::Grant(grant.id)))?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn put_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        self.put_json(SIGNING_KEYS, key.kid.to_string(), key).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.all_json(SIGNING_KEYS).await
    }
}
