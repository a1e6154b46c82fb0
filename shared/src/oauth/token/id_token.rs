//! Issuing the ID token beside an access token (OpenID Connect Core sections 3.1.3.3 and
//! 12.2): the claims are `oauth::openid`'s, the signature the keyring's key of the algorithm
//! the client registered.

use super::{unavailable, TokenService};
use crate::domain::{Client, Scope, Timestamp, User, UserId};
use crate::oauth::openid::claims::released_claims;
use crate::oauth::openid::{at_hash, IdTokenClaims, ID_TOKEN_TYP};
use crate::oauth::{ErrorCode, OAuthError};
use crate::scopes::OPENID;
use crate::signing::{Keyring, SigningAlgorithm};
use std::sync::Arc;

/// Everything an ID token needs that could fail, gathered before the code or refresh token
/// is spent (rule 15: a refusal leaves stored state as it was, so a retry is not a replay): the
/// account, for the claims, and a key of the client's algorithm. Signing it afterwards is CPU
/// only.
pub(crate) struct IdTokenSigner {
    user: User,
    keyring: Arc<Keyring>,
    algorithm: SigningAlgorithm,
}

/// A grant's sign-in, for the ID token that goes with its access token.
pub(crate) struct SignIn<'a> {
    pub client: &'a Client,
    /// The scope of the access token issued with it: the claims it releases.
    pub scope: &'a Scope,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
}

impl TokenService {
    /// For a grant of `user_id` to `client` that may carry `scope`: None without `openid`;
    /// else the account and the signing key, or why there can be no ID token (the account
    /// is gone: `invalid_grant`; no key of the client's algorithm: 503, the operator's to fix
    /// with `xecure keys rotate --algorithm ...`).
    pub(crate) async fn prepare_id_token(
        &self,
        user_id: &UserId,
        client: &Client,
        scope: &Scope,
    ) -> Result<Option<IdTokenSigner>, OAuthError> {
        if !scope.contains(OPENID) {
            return Ok(None);
        }
        let algorithm = SigningAlgorithm::for_id_tokens_of(client);
        let keyring = self.keyring().current_for(algorithm).await;
        if !keyring.signing_algorithms().any(|held| held == algorithm) {
            return Err(unavailable(format!(
                "no {algorithm} key signs ID tokens: run `xecure keys rotate --algorithm {algorithm}`"
            )));
        }
        let user = self.store().get_user(user_id).await?.ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidGrant, "the account no longer exists")
        })?;
        Ok(Some(IdTokenSigner {
            user,
            keyring,
            algorithm,
        }))
    }

    /// The ID token of `sign_in` (OIDC Core section 3.1.3.3 on a code, section 12.2 on a
    /// refresh, which carries no nonce), valid as long as the access token it goes with; None
    /// if that access token's scope has no `openid` (a refresh narrowed it away).
    pub(crate) fn sign_id_token(
        &self,
        signer: Option<IdTokenSigner>,
        sign_in: &SignIn<'_>,
        access_token: &str,
        now: Timestamp,
    ) -> Result<Option<String>, OAuthError> {
        let Some(signer) = signer.filter(|_| sign_in.scope.contains(OPENID)) else {
            return Ok(None);
        };
        let config = self.config();
        let claims = IdTokenClaims {
            iss: config.issuer.clone(),
            sub: signer.user.id.to_string(),
            aud: sign_in.client.id.to_string(),
            exp: now.plus(config.access_token_ttl).as_secs(),
            iat: now.as_secs(),
            auth_time: sign_in.auth_time.as_secs(),
            nonce: sign_in.nonce.map(str::to_owned),
            azp: sign_in.client.id.to_string(),
            at_hash: Some(at_hash(signer.algorithm, access_token)),
            amr: vec!["pwd".to_owned()],
            released: released_claims(&signer.user, sign_in.scope),
        };
        signer
            .keyring
            .sign_with(signer.algorithm, ID_TOKEN_TYP, &claims)
            .map(Some)
            .map_err(|e| unavailable(format!("ID token signing failed: {e}")))
    }
}
