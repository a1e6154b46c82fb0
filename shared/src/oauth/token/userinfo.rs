//! The UserInfo endpoint (OpenID Connect Core section 5.3): the claims the access token's
//! scopes release about its user. Errors follow RFC 6750 section 3.1: `invalid_token` (401)
//! for a token that is not one of ours, expired, of another audience or revoked;
//! `insufficient_scope` (403) for a token without `openid`.

use super::TokenService;
use crate::domain::{Scope, Timestamp, UserId};
use crate::dpop::binding::{check_token_binding, BindingRefusal, CalledRequest};
use crate::oauth::bearer::presented_token;
use crate::oauth::openid::claims::released_claims;
use crate::oauth::revocation_check::revoked_by;
use crate::oauth::{ErrorCode, OAuthError};
use crate::scopes::OPENID;
use serde_json::{Map, Value};

fn invalid_token(cause: &str) -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidToken,
        "the access token is invalid, expired or revoked",
    )
    .with_cause(cause)
}

/// Why a UserInfo request gets no claims.
#[derive(Debug)]
pub enum UserInfoRefusal {
    /// No credentials at all: RFC 6750 section 3.1, the challenge carries no error code.
    NoToken,
    /// A DPoP-bound token without a good proof of its key, or an unbound one under the DPoP
    /// scheme (RFC 9449 section 7.1: 401 `invalid_dpop_proof` with a DPoP challenge); the
    /// reason goes to the logs.
    Dpop(&'static str),
    Refused(OAuthError),
}

impl From<OAuthError> for UserInfoRefusal {
    fn from(error: OAuthError) -> Self {
        UserInfoRefusal::Refused(error)
    }
}

impl From<crate::ports::StoreError> for UserInfoRefusal {
    fn from(error: crate::ports::StoreError) -> Self {
        UserInfoRefusal::Refused(error.into())
    }
}

impl TokenService {
    /// `GET` or `POST /userinfo` with `Authorization: Bearer` (RFC 6750 section 2.1; the
    /// form-body method of section 2.2 is not served, as it invites tokens in logs), or with
    /// `Authorization: DPoP` and a proof for `call` (RFC 9449 section 7).
    pub async fn userinfo(
        &self,
        authorization: Option<&str>,
        call: &CalledRequest,
    ) -> Result<Map<String, Value>, UserInfoRefusal> {
        let (scheme, token) = match presented_token(authorization) {
            Ok(presented) => presented,
            Err(crate::oauth::bearer::BearerError::Missing) => {
                return Err(UserInfoRefusal::NoToken)
            }
            Err(error) => return Err(invalid_token(error.reason()).into()),
        };
        let now = self.now();
        // Signature, `typ: at+jwt` (an ID token is refused here, rule 8), issuer, audience
        // and lifetime.
        let claims = self
            .verified_access_token(token, now)
            .await
            .ok_or_else(|| invalid_token("not a valid access token"))?;
        // A DPoP-bound token only with a fresh proof of its key, as at the gateway; checked
        // first, so a holder of a stolen bound token learns nothing more (not its scope)
        // and makes no store read.
        match check_token_binding(&claims, scheme, token, Some(call), self.store(), now).await {
            Ok(()) => {}
            Err(BindingRefusal::Unauthorized(reason)) => return Err(UserInfoRefusal::Dpop(reason)),
            Err(BindingRefusal::Unavailable) => {
                return Err(super::unavailable("cannot record the DPoP proof").into())
            }
        }
        let scope = Scope::parse(&claims.scope).unwrap_or_default();
        if !scope.contains(OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token was not issued for OpenID Connect (no openid scope)",
            )
            .into());
        }
        // Revocations made after the token was issued stop it here as at the gateway.
        let since = Timestamp::from_secs(claims.iat - 1);
        let revocations = self.store().list_revocations_since(since, now).await?;
        if let Some(reason) = revoked_by(&claims, &revocations) {
            return Err(invalid_token(reason).into());
        }
        let user_id =
            UserId::parse(&claims.sub).map_err(|_| invalid_token("subject is not a user"))?;
        let user = self
            .store()
            .get_user(&user_id)
            .await?
            .filter(|user| !user.disabled)
            .ok_or_else(|| invalid_token("the account is gone or disabled"))?;
        let mut answer = Map::new();
        answer.insert("sub".into(), Value::from(user.id.to_string()));
        answer.extend(released_claims(&user, &scope));
        Ok(answer)
    }
}
