//! `grant_type=refresh_token` (RFC 6749 section 6) with rotation and reuse detection
//! (RFC 9700 section 4.14.2; security rule 7).

use super::dpop::invalid_dpop_proof;
use super::id_token::SignIn;
use super::{requested_scope, AccessGrant, TokenResponse, TokenService};
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{AuditEventKind, AuditOutcome, Client, OpaqueToken};
use crate::dpop::VerifiedProof;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::ports::Rotation;

fn invalid_refresh(cause: &str) -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidGrant,
        "the refresh token is invalid, expired or revoked",
    )
    .with_cause(cause)
}

impl TokenService {
    /// Two store calls: one GetItem for the token, one transactional write that rotates it.
    pub(super) async fn refresh(
        &self,
        client: &Client,
        params: &Params,
        proof: Option<&VerifiedProof>,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let presented = OpaqueToken::new(params.require("refresh_token")?);
        let digest = presented.digest();
        let Some(token) = self.store.get_refresh(&digest, now).await? else {
            return Err(invalid_refresh("unknown or expired refresh token"));
        };
        // RFC 6749 section 6: "validate the refresh token and ensure that it was issued to the
        // authenticated client".
        if token.client_id != client.id {
            return Err(invalid_refresh("refresh token issued to another client"));
        }
        // RFC 9449 section 5.0: a refresh token bound to a key (a public client's) is used
        // only with a proof of that key. Checked before the rotation, so a thief without the
        // key spends nothing.
        if let Some(bound) = &token.jkt {
            if proof.map(|proof| &proof.jkt) != Some(bound) {
                return Err(invalid_dpop_proof(
                    "this refresh token needs a DPoP proof of the key it is bound to",
                    "refresh token bound to another DPoP key, or no proof",
                ));
            }
        }
        // A requested scope may only narrow the original grant (RFC 6749 section 6); the new
        // refresh token keeps the original scope ("MUST be identical") - unless the user took
        // scopes back from the grant, or the client may no longer have them (rule 16): the
        // client's record bounds it here, the grant inside the rotation's atomic write.
        let requested = requested_scope(params, &token.scope, &token.scope)?;
        let next_value = OpaqueToken::generate(self.deps.rng.as_ref());
        let mut next =
            token.successor(next_value.digest(), now, self.deps.config.refresh_token_ttl);
        next.scope = token.scope.intersection(&client.allowed_scopes);
        if next.scope.is_empty() {
            return Err(invalid_refresh(
                "the client may no longer have any of the token's scopes",
            ));
        }
        // What was asked for, as far as the client still allows it: refused before the token
        // is spent (rule 15).
        let scope = requested.intersection(&next.scope);
        if scope.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "the requested scope is no longer granted",
            ));
        }
        // Before the token is spent too, unless it is a rotated one presented again: the
        // rotation below must see that reuse and revoke the family, whatever else fails.
        let id_token_signer = match token.rotated_at {
            None => {
                self.prepare_id_token(&token.user_id, client, &scope)
                    .await?
            }
            Some(_) => None,
        };
        let draft = |kind, outcome| {
            AuditDraft::new(kind, outcome)
                .user(&token.user_id)
                .client(&client.id)
                .detail("refresh_token", digest.log_prefix())
        };
        match self
            .store
            .rotate_refresh(&digest, &next, &self.revocation_stamp(now))
            .await?
        {
            Rotation::Rotated => {
                let grant = AccessGrant {
                    subject: token.user_id.to_string(),
                    client,
                    scope: &scope,
                    grant_id: Some(&token.grant_id),
                    family_id: Some(&token.family_id),
                    jkt: proof.map(|proof| proof.jkt.as_str()),
                };
                let access_token = self.issue_access_token(&grant, now).await?;
                // OIDC Core section 12.2: a refresh of an `openid` grant may return a new ID
                // token: same sub and auth_time, no nonce.
                let sign_in = SignIn {
                    client,
                    scope: &scope,
                    auth_time: token.auth_time,
                    nonce: None,
                };
                let id_token =
                    self.sign_id_token(id_token_signer, &sign_in, &access_token.value, now)?;
                self.audit(
                    draft(AuditEventKind::TokenRefreshed, AuditOutcome::Success)
                        .detail("scope", scope.to_string())
                        .detail("jti_digest", access_token.jti_digest.clone())
                        .detail("dpop_bound", access_token.dpop_bound.to_string())
                        .detail("id_token_issued", id_token.is_some().to_string()),
                    context,
                )
                .await;
                Ok(TokenResponse {
                    id_token,
                    ..self.response(access_token, Some(next_value.secret().to_owned()), &scope)
                })
            }
            Rotation::ReuseDetected { family_id } => {
                let event = draft(AuditEventKind::RefreshReuseDetected, AuditOutcome::Failure)
                    .reason("rotated_refresh_token_reused")
                    .detail("family", family_id.to_string());
                self.audit(event, context).await;
                Err(invalid_refresh(
                    "rotated refresh token presented again; family revoked",
                ))
            }
            Rotation::Revoked => Err(invalid_refresh("family or grant revoked")),
            Rotation::NotFound => Err(invalid_refresh("expired during rotation")),
        }
    }
}
