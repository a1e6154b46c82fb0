//! Clients, users, grants and signing keys in the embedded store.

use super::{
    account_in, backend, decode, encode, get_decoded, grant_in, insert_new, insert_revocation,
    EmbeddedStore, ACCOUNTS, CLIENTS, GRANTS, SIGNING_KEYS, USERNAMES,
};
use crate::domain::{
    Client, ClientId, Grant, Revocation, RevocationStamp, RevocationTarget, SigningKey, User,
    UserId, Username,
};
use crate::ports::AccountAdmin;
use crate::ports::ClientRegistry;
use crate::ports::KeyPublisher;
use crate::ports::{ClientStore, GrantStore, KeyStore, StoreError, StoreResult, UserStore};
use crate::store::rules::previous_version;
use async_trait::async_trait;
use redb::ReadableTable;

#[async_trait]
impl ClientStore for EmbeddedStore {
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        self.get_json(CLIENTS, id.to_string()).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.all_json(CLIENTS).await
    }
}

#[async_trait]
impl ClientRegistry for EmbeddedStore {
    async fn put_client(&self, client: &Client) -> StoreResult<()> {
        self.insert_new_json(CLIENTS, client.id.to_string(), client)
            .await
    }
    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let client = client.clone();
        self.write(move |txn| {
            let mut clients = txn.open_table(CLIENTS).map_err(backend)?;
            let stored: Option<Client> = get_decoded(&clients, client.id.as_str())?;
            if stored.map(|stored| stored.version + 1) != Some(client.version) {
                return Ok(false);
            }
            clients
                .insert(client.id.as_str(), encode(&client)?.as_slice())
                .map_err(backend)?;
            Ok(true)
        })
        .await
    }
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        self.remove(CLIENTS, id.to_string()).await
    }
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn get_user_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        let name = username.to_string();
        self.read(move |txn| {
            let id: Option<UserId> =
                get_decoded(&txn.open_table(USERNAMES).map_err(backend)?, &name)?;
            match id {
                Some(id) => get_decoded(&txn.open_table(ACCOUNTS).map_err(backend)?, id.as_str()),
                None => Ok(None),
            }
        })
        .await
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.get_json(ACCOUNTS, id.to_string()).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let mut users: Vec<User> = self.all_json(ACCOUNTS).await?;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }
}

#[async_trait]
impl AccountAdmin for EmbeddedStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let (name, id) = (user.username.to_string(), user.id.to_string());
        let (record, pointer) = (encode(user)?, encode(&user.id)?);
        self.write(move |txn| {
            insert_new(
                &mut txn.open_table(USERNAMES).map_err(backend)?,
                &name,
                &pointer,
            )
            .map_err(|_| StoreError::AlreadyExists(format!("user {name}")))?;
            insert_new(
                &mut txn.open_table(ACCOUNTS).map_err(backend)?,
                &id,
                &record,
            )
        })
        .await
    }
    async fn update_user(&self, user: &User, revocation: Option<&Revocation>) -> StoreResult<()> {
        let user = user.clone();
        let revocation = revocation.cloned();
        self.write(move |txn| {
            let stored = account_in(txn, &user.id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {}", user.username)))?;
            if stored.version + 1 != user.version {
                return Err(StoreError::Conflict(format!("user {}", user.username)));
            }
            txn.open_table(ACCOUNTS)
                .map_err(backend)?
                .insert(user.id.as_str(), encode(&user)?.as_slice())
                .map_err(backend)?;
            if let Some(revocation) = &revocation {
                insert_revocation(txn, revocation)?;
            }
            Ok(())
        })
        .await
    }
    async fn delete_user(&self, user: &User, revocation: &Revocation) -> StoreResult<bool> {
        let (user, revocation) = (user.clone(), revocation.clone());
        self.write(move |txn| {
            let Some(stored) = account_in(txn, &user.id)? else {
                return Ok(false);
            };
            if stored.version != user.version {
                return Err(StoreError::Conflict(format!("user {}", user.username)));
            }
            txn.open_table(ACCOUNTS)
                .map_err(backend)?
                .remove(user.id.as_str())
                .map_err(backend)?;
            let mut usernames = txn.open_table(USERNAMES).map_err(backend)?;
            let points_here = get_decoded::<UserId>(&usernames, stored.username.as_str())?
                .is_some_and(|id| id == user.id);
            if points_here {
                usernames
                    .remove(stored.username.as_str())
                    .map_err(backend)?;
            }
            drop(usernames);
            insert_revocation(txn, &revocation)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl GrantStore for EmbeddedStore {
    async fn save_grant(&self, grant: &Grant, narrowing: Option<&Revocation>) -> StoreResult<bool> {
        let previous = previous_version(grant)?;
        let (grant, narrowing) = (grant.clone(), narrowing.cloned());
        self.write(move |txn| {
            let stored = grant_in(txn, &grant.user_id, &grant.client_id)?;
            if stored.map_or(0, |stored| stored.version) != previous {
                return Ok(false);
            }
            txn.open_table(GRANTS)
                .map_err(backend)?
                .insert(
                    (grant.user_id.as_str(), grant.client_id.as_str()),
                    encode(&grant)?.as_slice(),
                )
                .map_err(backend)?;
            if let Some(narrowing) = &narrowing {
                insert_revocation(txn, narrowing)?;
            }
            Ok(true)
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
            grant.version += 1;
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
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.all_json(SIGNING_KEYS).await
    }
}

#[async_trait]
impl KeyPublisher for EmbeddedStore {
    async fn put_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        self.put_json(SIGNING_KEYS, key.kid.to_string(), key).await
    }
}
