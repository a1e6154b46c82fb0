//! `POST /introspect` (RFC 7662) for authenticated confidential clients, about their own
//! tokens. RFC 7662 section 2.1: "the endpoint MUST also require some form of authorization
//! to access this endpoint"; a public client proves nothing (anyone can send its id), so it
//! may not introspect (security rule 21). A resource server that wants to introspect is
//! registered as a confidential client.

use super::TokenService;
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{AuditEventKind, AuditOutcome, Client, Scope, Timestamp, TokenDigest};
use crate::oauth::params::Params;
use crate::oauth::revocation_check::revoked_by;
use crate::oauth::{ErrorCode, OAuthError};
use serde::Serialize;

/// RFC 7662 section 2.2. An inactive token reveals nothing but `active: false`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// RFC 9449 section 6.2: the key a DPoP-bound token is bound to, so a resource server
    /// that introspects checks the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::jwt::Confirmation>,
}

impl TokenService {
    /// Expired, revoked, rotated, malformed and other clients' tokens are all `active: false`.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<Introspection, OAuthError> {
        let client = self.authenticate(authorization, params, context).await?;
        if client.is_public() {
            let draft = AuditDraft::new(AuditEventKind::ClientAuthFailed, AuditOutcome::Failure)
                .client(&client.id)
                .reason("public_client_may_not_introspect");
            self.audit(draft, context).await;
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "introspection needs an authenticated confidential client",
            ));
        }
        let token = params.require("token")?;
        let now = self.now();
        if let Some(found) = self.introspect_refresh(&client, token, now).await? {
            return Ok(found);
        }
        Ok(self
            .introspect_access(&client, token, now)
            .await?
            .unwrap_or_default())
    }

    async fn introspect_refresh(
        &self,
        client: &Client,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<Introspection>, OAuthError> {
        let Some(refresh) = self.store.get_refresh(&TokenDigest::of(token), now).await? else {
            return Ok(None);
        };
        let family = self
            .store
            .get_refresh_family(&refresh.family_id, now)
            .await?;
        let grant = self
            .store
            .get_grant(&refresh.user_id, &refresh.client_id)
            .await?
            .filter(|g| g.is_active() && g.id == refresh.grant_id);
        let account = self.store.get_user(&refresh.user_id).await?;
        // What a rotation would still give: the grant and the client bound it (rule 16).
        let scope = grant.map_or_else(Scope::default, |grant| {
            refresh
                .scope
                .intersection(&grant.scope)
                .intersection(&client.allowed_scopes)
        });
        let live = refresh.client_id == client.id
            && refresh.rotated_at.is_none()
            && family.is_some_and(|family| family.revoked_at.is_none())
            && account.is_some_and(|user| user.accepts_sign_in_from(refresh.auth_time))
            && !scope.is_empty();
        if !live {
            return Ok(Some(Introspection::default()));
        }
        Ok(Some(Introspection {
            active: true,
            scope: Some(scope.to_string()),
            client_id: Some(refresh.client_id.to_string()),
            sub: Some(refresh.user_id.to_string()),
            exp: Some(refresh.expires_at.as_secs()),
            iat: Some(refresh.issued_at.as_secs()),
            iss: Some(self.deps.config.issuer.clone()),
            token_type: Some("refresh_token".into()),
            ..Introspection::default()
        }))
    }

    async fn introspect_access(
        &self,
        client: &Client,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<Introspection>, OAuthError> {
        let Some(claims) = self.verified_access_token(token, now).await else {
            return Ok(None);
        };
        if claims.client_id != client.id.as_str() {
            return Ok(None);
        }
        // Only entries made after the token was issued can stop it.
        let since = Timestamp::from_secs(claims.iat - 1);
        let revocations = self.store.list_revocations_since(since, now).await?;
        if revoked_by(&claims, &revocations).is_some() {
            return Ok(None);
        }
        Ok(Some(Introspection {
            active: true,
            scope: Some(claims.scope),
            client_id: Some(claims.client_id),
            sub: Some(claims.sub),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            iss: Some(claims.iss),
            aud: Some(claims.aud),
            jti: Some(claims.jti),
            token_type: Some(
                if claims.cnf.is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                }
                .into(),
            ),
            cnf: claims.cnf,
        }))
    }
}
