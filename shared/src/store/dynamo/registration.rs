//! Initial access tokens for dynamic client registration in DynamoDB.

use super::accounts::item_is_new;
use super::items::{from_item, initial_access_token_item};
use super::DynamoStore;
use crate::domain::{InitialAccessToken, Timestamp, TokenDigest};
use crate::ports::{InitialAccessTokenStore, StoreError, StoreResult};
use crate::store::keys;
use async_trait::async_trait;

#[async_trait]
impl InitialAccessTokenStore for DynamoStore {
    async fn put_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()> {
        match self
            .put(initial_access_token_item(token)?, Some(item_is_new()))
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists("initial access token".into())),
        }
    }

    async fn get_initial_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let token: Option<InitialAccessToken> = self
            .get(&keys::initial_access_token(digest))
            .await?
            .map(from_item)
            .transpose()?;
        Ok(token.filter(|token| !token.expires_at.has_passed(now)))
    }
}
