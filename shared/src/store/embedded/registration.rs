//! Initial access tokens for dynamic client registration in the embedded store.

use super::{EmbeddedStore, INITIAL_ACCESS_TOKENS};
use crate::domain::{InitialAccessToken, Timestamp, TokenDigest};
use crate::ports::{InitialAccessTokenStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl InitialAccessTokenStore for EmbeddedStore {
    async fn put_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()> {
        self.insert_new_json(
            INITIAL_ACCESS_TOKENS,
            token.digest.as_str().to_owned(),
            token,
        )
        .await
    }

    async fn get_initial_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let token: Option<InitialAccessToken> = self
            .get_json(INITIAL_ACCESS_TOKENS, digest.as_str().to_owned())
            .await?;
        Ok(token.filter(|token| !token.expires_at.has_passed(now)))
    }
}
