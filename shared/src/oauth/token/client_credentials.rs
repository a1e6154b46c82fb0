//! `grant_type=client_credentials` (RFC 6749 section 4.4): confidential clients only.

use super::{requested_scope, AccessGrant, TokenResponse, TokenService};
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{AuditEventKind, AuditOutcome, Client};
use crate::dpop::VerifiedProof;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};

/// Subjects of client tokens are `client:<client_id>`. User ids are unreserved characters
/// only (no ':'), so no user can ever share a `sub` with a client.
pub const CLIENT_SUBJECT_PREFIX: &str = "client:";

impl TokenService {
    /// No store call with a warm client cache; one audit record.
    pub(super) async fn client_credentials(
        &self,
        client: &Client,
        params: &Params,
        proof: Option<&VerifiedProof>,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        // RFC 6749 section 4.4: "The client credentials grant type MUST only be used by
        // confidential clients."
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients cannot use client_credentials",
            ));
        }
        let now = self.now();
        // Only scopes the catalogue marks `client_credentials` may be held with no user behind
        // them: a user-delegated scope (orders:write) needs a user's consent (rule 16).
        let machine = self.deps.catalogue.without_user();
        let allowed = client.allowed_scopes.intersection(machine);
        let scope = requested_scope(
            params,
            &allowed,
            &client.default_scopes.intersection(machine),
        )?;
        if scope.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "none of this client's scopes may be used without a user",
            ));
        }
        let grant = AccessGrant {
            subject: format!("{CLIENT_SUBJECT_PREFIX}{}", client.id),
            client,
            scope: &scope,
            grant_id: None,
            family_id: None,
            jkt: proof.map(|proof| proof.jkt.as_str()),
        };
        let access_token = self.issue_access_token(&grant, now).await?;
        let draft = AuditDraft::new(AuditEventKind::TokenIssued, AuditOutcome::Success)
            .client(&client.id)
            .detail("grant_type", "client_credentials")
            .detail("scope", scope.to_string())
            .detail("jti_digest", access_token.jti_digest.clone())
            .detail("dpop_bound", access_token.dpop_bound.to_string());
        self.audit(draft, context).await;
        Ok(self.response(access_token, None, &scope))
    }
}
