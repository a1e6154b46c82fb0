//! The token endpoint (RFC 6749 section 3.2) and its neighbours, revocation (RFC 7009) and
//! introspection (RFC 7662). One service holds what they share.

mod client_credentials;
mod code_grant;
mod dpop;
mod id_token;
mod introspect;
mod par;
mod refresh_grant;
mod revoke;
mod userinfo;

pub use introspect::Introspection;
pub use par::{PushedAuthorizationResponse, PUSHED_REQUEST_TTL};
pub use userinfo::UserInfoRefusal;

use super::client_auth::{
    authenticate_client, claimed_client_id, presented_client, AssertionContext,
};
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::config::OAuthConfig;
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, EventId, FamilyId, GrantId, GrantType, RevocationStamp,
    Scope, Timestamp, TokenDigest,
};
use crate::dpop::VerifiedProof;
use crate::jwt::LEEWAY;
use crate::jwt::{
    sign_access_token, verify_access_token, AccessTokenClaims, Confirmation, TokenExpectations,
};
use crate::oauth::Dependencies;
use crate::ports::{StoreError, TokenFunctionStore};
use crate::signing::LiveKeyring;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::sync::Arc;

/// RFC 6749 section 5.1 successful response. No `Debug`: it holds the tokens themselves.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OpenID Connect Core section 3.1.3.3: for a grant with the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

pub(crate) use super::error::unavailable;

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        unavailable(error)
    }
}

/// What an issued access token carries besides the service's own claims.
/// Longest caller-supplied value copied into an audit record.
const MAX_LOGGED_PARAM_CHARS: usize = 64;

pub(crate) struct AccessGrant<'a> {
    pub subject: String,
    pub client: &'a Client,
    pub scope: &'a Scope,
    pub grant_id: Option<&'a GrantId>,
    pub family_id: Option<&'a FamilyId>,
    /// The DPoP key the token is bound to (RFC 9449 section 6.1), when the request had a proof.
    pub jkt: Option<&'a str>,
}

/// An access token and how audit records name it: the digest prefix of its jti, as the
/// authorizer's decision lines do, never the token itself.
pub(crate) struct SignedAccessToken {
    pub value: String,
    pub jti_digest: String,
    /// Bound to a DPoP key: `token_type` is `DPoP` (RFC 9449 section 5).
    pub dpop_bound: bool,
}

pub struct TokenService {
    deps: Dependencies,
    /// The only store handle the endpoints use: the token function's capability.
    store: Arc<dyn TokenFunctionStore>,
    keyring: Arc<LiveKeyring>,
}

impl TokenService {
    /// The token, revocation and introspection endpoints over `store`, with the rest of
    /// `deps`, signing with `keyring`.
    pub fn new(
        deps: Dependencies,
        store: Arc<dyn TokenFunctionStore>,
        keyring: Arc<LiveKeyring>,
    ) -> Self {
        TokenService {
            deps,
            store,
            keyring,
        }
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.deps.config
    }

    pub fn catalogue(&self) -> &crate::scopes::ScopeCatalogue {
        &self.deps.catalogue
    }

    pub fn keyring(&self) -> &LiveKeyring {
        &self.keyring
    }

    /// Dynamic client registration over the same store, catalogue, clock, randomness and
    /// audit trail.
    pub fn registrar(&self) -> crate::oauth::registration::Registrar {
        crate::oauth::registration::Registrar::new(self.deps.clone(), self.store.clone())
    }

    /// The claims of `token` if it is one of our access tokens, valid now.
    pub(crate) async fn verified_access_token(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Option<AccessTokenClaims> {
        verify_access_token(
            &*self.keyring.current().await,
            token,
            &self.expectations(),
            now,
        )
        .ok()
    }

    pub(crate) fn expectations(&self) -> TokenExpectations {
        TokenExpectations {
            issuer: self.deps.config.issuer.clone(),
            audience: self.deps.config.audience.clone(),
            leeway_secs: i64::try_from(LEEWAY.as_secs()).unwrap_or(30),
        }
    }

    /// `POST /token` without a DPoP proof.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        self.token_with_proof(authorization, params, Ok(None), context)
            .await
    }

    /// `POST /token` with the request's `DPoP` header, if it had one (RFC 9449 section 5),
    /// or why it is unreadable (two headers).
    pub async fn token_with_proof(
        &self,
        authorization: Option<&str>,
        params: &Params,
        proof: Result<Option<&str>, OAuthError>,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        // The proof's own checks first: they write nothing, and a refusal here spends no
        // client assertion (the retry after use_dpop_nonce may reuse it).
        let checked = self.checked_proof(proof?).await?;
        let client = self.authenticate(authorization, params, context).await?;
        let issued = match self.spend_proof(&client, checked).await {
            Ok(proof) => self.grant(&client, params, proof.as_ref(), context).await,
            Err(error) => Err(error),
        };
        if let Err(error) = &issued {
            self.audit_refusal(&client, params, error, context).await;
        }
        issued
    }

    /// A refused token request, after the client authenticated (failed authentication has
    /// its own record): the RFC error code is the reason, the requested grant type a detail.
    async fn audit_refusal(
        &self,
        client: &Client,
        params: &Params,
        error: &OAuthError,
        context: &RequestContext,
    ) {
        let grant_type = params.get("grant_type").unwrap_or("");
        let kind = if grant_type == GrantType::RefreshToken.as_str() {
            AuditEventKind::TokenRefreshed
        } else {
            AuditEventKind::TokenIssued
        };
        // The value is the caller's: kept short, it cannot flood the record.
        let grant_type: String = grant_type.chars().take(MAX_LOGGED_PARAM_CHARS).collect();
        let draft = AuditDraft::new(kind, AuditOutcome::Failure)
            .client(&client.id)
            .reason(error.code.as_str())
            .detail("grant_type", grant_type);
        self.deps.auditor.record(draft, context).await;
    }

    async fn grant(
        &self,
        client: &Client,
        params: &Params,
        proof: Option<&VerifiedProof>,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let grant_type = params.require("grant_type")?;
        let Some(grant_type) = GrantType::parse(grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type '{grant_type}' is not supported"),
            ));
        };
        if !client.allows_grant(grant_type) {
            let error = OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use {}", grant_type.as_str()),
            );
            return Err(error);
        }
        match grant_type {
            GrantType::AuthorizationCode => {
                self.exchange_code(client, params, proof, context).await
            }
            GrantType::RefreshToken => self.refresh(client, params, proof, context).await,
            GrantType::ClientCredentials => {
                self.client_credentials(client, params, proof, context)
                    .await
            }
        }
    }

    /// Authenticates the caller (RFC 6749 section 2.3), auditing a failure.
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<Client, OAuthError> {
        let outcome = match presented_client(authorization, params) {
            Ok(presented) => {
                // The issuer identifier only (draft-ietf-oauth-rfc7523bis): an assertion a
                // client made for another server that names one of our endpoint URLs as its
                // own cannot be replayed here.
                let assertions = AssertionContext {
                    audiences: vec![self.deps.config.issuer.clone()],
                    now: self.now(),
                    replay: self.store(),
                    keys: &self.deps.client_keys,
                };
                authenticate_client(self.deps.clients.as_ref(), presented, &assertions).await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(client) => Ok(client),
            Err(failure) => {
                if failure.code == ErrorCode::InvalidClient {
                    let mut draft =
                        AuditDraft::new(AuditEventKind::ClientAuthFailed, AuditOutcome::Failure)
                            .reason(failure.cause.clone().unwrap_or_default());
                    // The id the request claimed, from the Basic header or the body.
                    if let Some(id) = claimed_client_id(authorization, params) {
                        draft = draft.client(&id);
                    }
                    self.deps.auditor.record(draft, context).await;
                }
                Err(failure)
            }
        }
    }

    /// The token function's capability of the table.
    pub(crate) fn store(&self) -> &dyn TokenFunctionStore {
        self.store.as_ref()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.deps.clock.now()
    }

    /// A revocation entry lives as long as the longest access token it may have to stop.
    pub(crate) fn revocation_stamp(&self, now: Timestamp) -> RevocationStamp {
        RevocationStamp {
            id: EventId::generate(self.deps.rng.as_ref()),
            at: now,
            expires_at: now.plus(self.deps.config.access_token_ttl + LEEWAY),
        }
    }

    /// Signs an RFC 9068 access token.
    pub(crate) async fn issue_access_token(
        &self,
        grant: &AccessGrant<'_>,
        now: Timestamp,
    ) -> Result<SignedAccessToken, OAuthError> {
        let mut jti = [0u8; 16];
        self.deps.rng.fill(&mut jti);
        let claims = AccessTokenClaims {
            iss: self.deps.config.issuer.clone(),
            sub: grant.subject.clone(),
            aud: self.deps.config.audience.clone(),
            exp: now.plus(self.deps.config.access_token_ttl).as_secs(),
            iat: now.as_secs(),
            jti: URL_SAFE_NO_PAD.encode(jti),
            client_id: grant.client.id.to_string(),
            scope: grant.scope.to_string(),
            gid: grant.grant_id.map(ToString::to_string),
            fid: grant.family_id.map(ToString::to_string),
            crv: Some(grant.client.revision),
            nbf: None,
            cnf: grant.jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
        };
        let value = sign_access_token(&*self.keyring.current().await, &claims)
            .map_err(|e| unavailable(format!("signing failed: {e}")))?;
        Ok(SignedAccessToken {
            value,
            jti_digest: TokenDigest::of(&claims.jti).log_prefix().to_owned(),
            dpop_bound: claims.cnf.is_some(),
        })
    }

    pub(crate) fn response(
        &self,
        access_token: SignedAccessToken,
        refresh_token: Option<String>,
        scope: &Scope,
    ) -> TokenResponse {
        TokenResponse {
            token_type: if access_token.dpop_bound {
                "DPoP"
            } else {
                "Bearer"
            },
            access_token: access_token.value,
            expires_in: self.deps.config.access_token_ttl.as_secs(),
            refresh_token,
            scope: scope.to_string(),
            id_token: None,
        }
    }

    pub(crate) async fn audit(&self, draft: AuditDraft, context: &RequestContext) {
        self.deps.auditor.record(draft, context).await;
    }

    pub fn auditor(&self) -> &Auditor {
        &self.deps.auditor
    }

    /// Audit lines and batches go through `auditor` (log group, line sink) from now on.
    pub fn with_auditor(mut self, configure: impl FnOnce(Auditor) -> Auditor) -> Self {
        self.deps = self.deps.with_auditor(configure);
        self
    }
}

/// Parses an optional `scope` parameter that may only narrow `allowed` (RFC 6749 sections
/// 3.3 and 6). Absent means `default`.
pub(crate) fn requested_scope(
    params: &Params,
    allowed: &Scope,
    default: &Scope,
) -> Result<Scope, OAuthError> {
    let Some(raw) = params.get("scope") else {
        return Ok(default.clone());
    };
    let requested =
        Scope::parse(raw).map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    let refused = requested.not_in(allowed);
    if !refused.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope not allowed here: {}", refused.join(" ")),
        ));
    }
    Ok(requested)
}
