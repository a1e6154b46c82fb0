//! The token endpoint (RFC 6749 section 3.2) and its neighbours, revocation (RFC 7009) and
//! introspection (RFC 7662). One service holds what they share.

mod client_credentials;
mod code_grant;
mod introspect;
mod refresh_grant;
mod revoke;

pub use introspect::Introspection;

use super::client_auth::{authenticate_client, claimed_client_id, presented_client};
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::config::OAuthConfig;
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, EventId, FamilyId, GrantId, GrantType, RevocationStamp,
    Scope, Timestamp, TokenDigest,
};
use crate::jwt::{sign_access_token, verify_access_token, AccessTokenClaims, TokenExpectations};
use crate::ports::{Clock, Rng, Store, StoreError};
use crate::scopes::ScopeCatalogue;
use crate::signing::LiveKeyring;
use crate::store::client_cache::CachedClients;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a container trusts its cached copy of a client record.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Clock skew tolerated when checking token lifetimes.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// RFC 6749 section 5.1 successful response. No `Debug`: it holds the tokens themselves.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

pub(crate) fn unavailable(error: impl std::fmt::Display) -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the service is temporarily unavailable, try again",
    )
    .with_cause(error.to_string())
}

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
}

/// An access token and how audit records name it: the digest prefix of its jti, as the
/// authorizer's decision lines do, never the token itself.
pub(crate) struct SignedAccessToken {
    pub value: String,
    pub jti_digest: String,
}

pub struct TokenService {
    store: Arc<dyn Store>,
    clients: Arc<CachedClients>,
    keyring: Arc<LiveKeyring>,
    config: OAuthConfig,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    auditor: Auditor,
    catalogue: Arc<ScopeCatalogue>,
}

impl TokenService {
    /// Clients are read through a per-container cache (`CLIENT_CACHE_TTL`) in front of
    /// `store`; audit records go into `store`.
    pub fn with_store(
        store: Arc<dyn Store>,
        keyring: Arc<LiveKeyring>,
        config: OAuthConfig,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Self {
        let clients = Arc::new(CachedClients::new(
            store.clone(),
            clock.clone(),
            CLIENT_CACHE_TTL,
        ));
        let auditor = Auditor::new(
            store.clone(),
            clock.clone(),
            rng.clone(),
            config.audit_retention,
        );
        TokenService {
            store,
            clients,
            keyring,
            config,
            clock,
            rng,
            auditor,
            catalogue: Arc::new(ScopeCatalogue::built_in()),
        }
    }

    /// The scope catalogue in force (which scopes a client may hold with no user), instead of
    /// the built-in one.
    pub fn with_catalogue(mut self, catalogue: Arc<ScopeCatalogue>) -> Self {
        self.catalogue = catalogue;
        self
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    pub fn keyring(&self) -> &LiveKeyring {
        &self.keyring
    }

    /// Dynamic client registration over the same store, catalogue, clock, randomness and
    /// audit trail.
    pub fn registrar(&self) -> crate::oauth::registration::Registrar {
        crate::oauth::registration::Registrar::new(
            self.store.clone(),
            self.clients.clone(),
            self.catalogue.clone(),
            self.config.clone(),
            self.clock.clone(),
            self.rng.clone(),
            self.auditor.clone(),
        )
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
            issuer: self.config.issuer.clone(),
            audience: self.config.audience.clone(),
            leeway_secs: i64::try_from(LEEWAY.as_secs()).unwrap_or(30),
        }
    }

    /// `POST /token`.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate(authorization, params, context).await?;
        let issued = self.grant(&client, params, context).await;
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
        self.auditor.record(draft, context).await;
    }

    async fn grant(
        &self,
        client: &Client,
        params: &Params,
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
            GrantType::AuthorizationCode => self.exchange_code(client, params, context).await,
            GrantType::RefreshToken => self.refresh(client, params, context).await,
            GrantType::ClientCredentials => self.client_credentials(client, params, context).await,
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
            Ok(presented) => authenticate_client(self.clients.as_ref(), presented).await,
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
                    self.auditor.record(draft, context).await;
                }
                Err(failure)
            }
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A revocation entry lives as long as the longest access token it may have to stop.
    pub(crate) fn revocation_stamp(&self, now: Timestamp) -> RevocationStamp {
        RevocationStamp {
            id: EventId::generate(self.rng.as_ref()),
            at: now,
            expires_at: now.plus(self.config.access_token_ttl + LEEWAY),
        }
    }

    /// Signs an RFC 9068 access token.
    pub(crate) async fn issue_access_token(
        &self,
        grant: &AccessGrant<'_>,
        now: Timestamp,
    ) -> Result<SignedAccessToken, OAuthError> {
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti);
        let claims = AccessTokenClaims {
            iss: self.config.issuer.clone(),
            sub: grant.subject.clone(),
            aud: self.config.audience.clone(),
            exp: now.plus(self.config.access_token_ttl).as_secs(),
            iat: now.as_secs(),
            jti: URL_SAFE_NO_PAD.encode(jti),
            client_id: grant.client.id.to_string(),
            scope: grant.scope.to_string(),
            gid: grant.grant_id.map(ToString::to_string),
            fid: grant.family_id.map(ToString::to_string),
            crv: Some(grant.client.revision),
        };
        let value = sign_access_token(&*self.keyring.current().await, &claims)
            .map_err(|e| unavailable(format!("signing failed: {e}")))?;
        Ok(SignedAccessToken {
            value,
            jti_digest: TokenDigest::of(&claims.jti).log_prefix().to_owned(),
        })
    }

    pub(crate) fn response(
        &self,
        access_token: SignedAccessToken,
        refresh_token: Option<String>,
        scope: &Scope,
    ) -> TokenResponse {
        TokenResponse {
            access_token: access_token.value,
            token_type: "Bearer",
            expires_in: self.config.access_token_ttl.as_secs(),
            refresh_token,
            scope: scope.to_string(),
        }
    }

    pub(crate) async fn audit(&self, draft: AuditDraft, context: &RequestContext) {
        self.auditor.record(draft, context).await;
    }

    pub fn auditor(&self) -> &Auditor {
        &self.auditor
    }

    /// Audit lines and batches go through `auditor` (log group, line sink) from now on.
    pub fn with_auditor(mut self, configure: impl FnOnce(Auditor) -> Auditor) -> Self {
        self.auditor = configure(self.auditor);
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
