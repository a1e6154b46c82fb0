//! `POST /revoke` (RFC 7009).

use super::TokenService;
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, Client, Revocation, RevocationTarget, Timestamp, TokenDigest,
};
use crate::jwt::LEEWAY;
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};

fn not_yours() -> OAuthError {
    // RFC 7009 section 2.1: the server "verifies whether the token was issued to the client
    // making the revocation request. If this validation fails, the request is refused".
    OAuthError::new(
        ErrorCode::InvalidGrant,
        "the token was not issued to this client",
    )
}

impl TokenService {
    /// Refresh tokens revoke their whole family; access tokens are revoked by `jti`, which
    /// the gateway's revocation poll picks up. Unknown or expired tokens get 200 too
    /// (RFC 7009 section 2.2: "invalid tokens do not cause an error response").
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate(authorization, params, context).await?;
        let token = params.require("token")?;
        let now = self.now();
        // The hint only orders the look-ups (RFC 7009 section 2.1: the server may ignore it).
        if params.get("token_type_hint") == Some("access_token") {
            if self
                .revoke_access_token(&client, token, now, context)
                .await?
            {
                return Ok(());
            }
            self.revoke_refresh_token(&client, token, now, context)
                .await?;
        } else if !self
            .revoke_refresh_token(&client, token, now, context)
            .await?
        {
            self.revoke_access_token(&client, token, now, context)
                .await?;
        }
        Ok(())
    }

    /// True if `token` was one of our refresh tokens.
    async fn revoke_refresh_token(
        &self,
        client: &Client,
        token: &str,
        now: Timestamp,
        context: &RequestContext,
    ) -> Result<bool, OAuthError> {
        let digest = TokenDigest::of(token);
        let Some(refresh) = self.store.get_refresh(&digest, now).await? else {
            return Ok(false);
        };
        if refresh.client_id != client.id {
            return Err(not_yours());
        }
        self.store
            .revoke_family(&refresh.family_id, &self.revocation_stamp(now))
            .await?;
        let draft = AuditDraft::new(AuditEventKind::TokenRevoked, AuditOutcome::Success)
            .user(&refresh.user_id)
            .client(&client.id)
            .detail("token_type", "refresh_token")
            .detail("family", refresh.family_id.to_string());
        self.audit(draft, context).await;
        Ok(true)
    }

    /// True if `token` was one of our live access tokens.
    async fn revoke_access_token(
        &self,
        client: &Client,
        token: &str,
        now: Timestamp,
        context: &RequestContext,
    ) -> Result<bool, OAuthError> {
        let Some(claims) = self.verified_access_token(token, now).await else {
            return Ok(false);
        };
        if claims.client_id != client.id.as_str() {
            return Err(not_yours());
        }
        let stamp = self.revocation_stamp(now);
        let revocation = Revocation {
            id: stamp.id,
            at: now,
            target: RevocationTarget::AccessToken(claims.jti.clone()),
            expires_at: Timestamp::from_secs(claims.exp).plus(LEEWAY),
        };
        if !self.store.put_revocation(&revocation).await? {
            // Already revoked: nothing new is written, not even an audit record (rule 19).
            return Ok(true);
        }
        let mut draft = AuditDraft::new(AuditEventKind::TokenRevoked, AuditOutcome::Success)
            .client(&client.id)
            .detail("token_type", "access_token")
            .detail("jti_digest", TokenDigest::of(&claims.jti).log_prefix());
        if let Some(user) = claims
            .gid
            .as_ref()
            .and_then(|_| crate::domain::UserId::parse(&claims.sub).ok())
        {
            draft = draft.user(&user);
        }
        self.audit(draft, context).await;
        Ok(true)
    }
}
