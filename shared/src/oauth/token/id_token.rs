//! Issuing the ID token beside an access token (OpenID Connect Core sections 3.1.3.3 and
//! 12.2): the claims are `oauth::openid`'s, the signature the keyring's key of the algorithm
//! the client registered.

use super::{unavailable, TokenService};
use crate::domain::{Client, Scope, Timestamp, User, UserId};
use crate::oauth::openid::claims::released_claims;
use crate::oauth::openid::{at_hash, IdTokenClaims, ID_TOKEN_TYP};
use crate::oauth::{ErrorCode, OAuthError};
use crate::scopes::OPENID;
use crate::signing::SigningAlgorithm;

/// What one ID token is issued for.
struct IdTokenFor<'a> {
    pub user: &'a User,
    pub client: &'a Client,
    pub scope: &'a Scope,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
}

/// A grant's sign-in, for the ID token that goes with its access token.
pub(crate) struct SignIn<'a> {
    pub user_id: &'a UserId,
    pub client: &'a Client,
    pub scope: &'a Scope,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
}

impl TokenService {
    /// The ID token for `sign_in` if its scope has `openid` (OIDC Core section 3.1.3.3 on
    /// the code, section 12.2 on a refresh, which carries no nonce), else None. The account
    /// is read for the claims the scope releases; one gone since is `invalid_grant`.
    pub(crate) async fn id_token_if_openid(
        &self,
        sign_in: &SignIn<'_>,
        access_token: &str,
        now: Timestamp,
    ) -> Result<Option<String>, OAuthError> {
        if !sign_in.scope.contains(OPENID) {
            return Ok(None);
        }
        let user = self
            .store()
            .get_user(sign_in.user_id)
            .await?
            .ok_or_else(|| {
                OAuthError::new(ErrorCode::InvalidGrant, "the account no longer exists")
            })?;
        let request = IdTokenFor {
            user: &user,
            client: sign_in.client,
            scope: sign_in.scope,
            auth_time: sign_in.auth_time,
            nonce: sign_in.nonce,
            access_token,
        };
        Ok(Some(self.issue_id_token(&request, now).await?))
    }

    /// Signs the ID token of `request`, valid as long as an access token.
    async fn issue_id_token(
        &self,
        request: &IdTokenFor<'_>,
        now: Timestamp,
    ) -> Result<String, OAuthError> {
        let algorithm = SigningAlgorithm::for_id_tokens_of(request.client);
        let config = self.config();
        let claims = IdTokenClaims {
            iss: config.issuer.clone(),
            sub: request.user.id.to_string(),
            aud: request.client.id.to_string(),
            exp: now.plus(config.access_token_ttl).as_secs(),
            iat: now.as_secs(),
            auth_time: request.auth_time.as_secs(),
            nonce: request.nonce.map(str::to_owned),
            azp: request.client.id.to_string(),
            at_hash: Some(at_hash(algorithm, request.access_token)),
            amr: vec!["pwd".to_owned()],
            released: released_claims(request.user, request.scope),
        };
        self.keyring()
            .current_for(algorithm)
            .await
            .sign_with(algorithm, ID_TOKEN_TYP, &claims)
            .map_err(|e| unavailable(format!("ID token signing failed: {e}")))
    }
}
