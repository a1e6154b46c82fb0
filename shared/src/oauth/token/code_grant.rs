//! `grant_type=authorization_code` (RFC 6749 section 4.1.3, RFC 7636 section 4.6).

use super::id_token::SignIn;
use super::{AccessGrant, TokenResponse, TokenService};
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, AuthorizationCode, Client, FamilyId, GrantType, OpaqueToken,
    RefreshFamily,
};
use crate::dpop::VerifiedProof;
use crate::oauth::params::Params;
use crate::oauth::pkce::verify_s256;
use crate::oauth::{ErrorCode, OAuthError};
use crate::ports::{CodeRedemption, NewRefreshFamily};

fn invalid_code(cause: &str) -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidGrant,
        "the authorization code is invalid, expired or already used",
    )
    .with_cause(cause)
}

impl TokenService {
    pub(super) async fn exchange_code(
        &self,
        client: &Client,
        params: &Params,
        proof: Option<&VerifiedProof>,
        context: &RequestContext,
    ) -> Result<TokenResponse, OAuthError> {
        let now = self.now();
        let presented = OpaqueToken::new(params.require("code")?);
        let Some(code) = self.store.get_code(&presented.digest(), now).await? else {
            return Err(invalid_code("unknown or expired code"));
        };
        // RFC 6749 section 4.1.3: "ensure that the authorization code was issued to the
        // authenticated confidential client, or if the client is public, ensure that the code
        // was issued to "client_id" in the request".
        if code.client_id != client.id {
            return Err(invalid_code("code issued to another client"));
        }
        // Security rule 3 / RFC 7636 section 4.6: every code carries an S256 challenge, and the
        // verifier must hash to it. RFC 6749 section 4.1.3: the redirect_uri must be identical
        // to the authorization request's (we always require it there). Both come before the
        // replay check: only a request that proves it is the code's own client (its
        // authentication above and the PKCE verifier) may make a replay revoke anything
        // (security rule 21); anyone else who saw a spent code changes nothing.
        let possession =
            verify_s256(params.get("code_verifier"), &code.code_challenge).and_then(|()| {
                if params.get("redirect_uri") == Some(code.redirect_uri.as_str()) {
                    Ok(())
                } else {
                    Err(invalid_code(
                        "redirect_uri differs from the authorization request",
                    ))
                }
            });
        if let Err(error) = possession {
            if code.redeemed_at.is_some() {
                self.unproven_replay(&code, context).await;
            }
            return Err(error);
        }
        if code.redeemed_at.is_some() {
            self.code_replayed(&code, context).await?;
            return Err(invalid_code("code replayed"));
        }
        // The client's record bounds what any of its tokens may carry: a scope the operator
        // or the client's own registration update took away is not issued (rule 16).
        let code = AuthorizationCode {
            scope: code.scope.intersection(&client.allowed_scopes),
            ..code
        };
        if code.scope.is_empty() {
            return Err(invalid_code(
                "the client may no longer have any of the code's scopes",
            ));
        }
        if client.registered_redirect(&code.redirect_uri).is_none() {
            return Err(invalid_code("the redirect URI is no longer registered"));
        }
        // Before the code is spent: a failure here leaves it unspent (rule 15).
        let id_token_signer = self
            .prepare_id_token(&code.user_id, client, &code.scope)
            .await?;
        let refresh_value = client
            .allows_grant(GrantType::RefreshToken)
            .then(|| OpaqueToken::generate(self.deps.rng.as_ref()));
        let new_family = refresh_value
            .as_ref()
            .map(|value| self.new_family(&code, value, client, proof));
        match self
            .store
            .redeem_code(&code, now, new_family.as_ref())
            .await?
        {
            CodeRedemption::Redeemed(code) => {
                let family_id = new_family.as_ref().map(|new| &new.family.id);
                let grant = AccessGrant {
                    subject: code.user_id.to_string(),
                    client,
                    scope: &code.scope,
                    grant_id: Some(&code.grant_id),
                    family_id,
                    jkt: proof.map(|proof| proof.jkt.as_str()),
                };
                let access_token = self.issue_access_token(&grant, now).await?;
                let sign_in = SignIn {
                    client,
                    scope: &code.scope,
                    auth_time: code.auth_time,
                    nonce: code.nonce.as_deref(),
                };
                let id_token =
                    self.sign_id_token(id_token_signer, &sign_in, &access_token.value, now)?;
                let draft = AuditDraft::new(AuditEventKind::CodeRedeemed, AuditOutcome::Success)
                    .user(&code.user_id)
                    .client(&client.id)
                    .detail("scope", code.scope.to_string())
                    .detail("code", code.digest.log_prefix())
                    .detail("refresh_token_issued", refresh_value.is_some().to_string());
                let issued = AuditDraft::new(AuditEventKind::TokenIssued, AuditOutcome::Success)
                    .user(&code.user_id)
                    .client(&client.id)
                    .detail("grant_type", "authorization_code")
                    .detail("scope", code.scope.to_string())
                    .detail("jti_digest", access_token.jti_digest.clone())
                    .detail("dpop_bound", access_token.dpop_bound.to_string())
                    .detail("id_token_issued", id_token.is_some().to_string());
                self.auditor()
                    .record_all(vec![draft, issued], context)
                    .await;
                Ok(TokenResponse {
                    id_token,
                    ..self.response(
                        access_token,
                        refresh_value.map(|v| v.secret().to_owned()),
                        &code.scope,
                    )
                })
            }
            CodeRedemption::Replayed(code) => {
                self.code_replayed(&code, context).await?;
                Err(invalid_code("code replayed concurrently"))
            }
            CodeRedemption::Revoked => Err(invalid_code(
                "the grant was revoked or the user's sign-in no longer stands",
            )),
            CodeRedemption::NotFound => Err(invalid_code("code expired while being redeemed")),
        }
    }

    /// RFC 9449 section 5.0: "Refresh tokens issued to public clients [with a proof] MUST be
    /// bound to the DPoP public key"; a confidential client's are bound by its credentials.
    fn new_family(
        &self,
        code: &AuthorizationCode,
        value: &OpaqueToken,
        client: &Client,
        proof: Option<&VerifiedProof>,
    ) -> NewRefreshFamily {
        let now = self.now();
        let family = RefreshFamily {
            id: FamilyId::generate(self.deps.rng.as_ref()),
            grant_id: code.grant_id.clone(),
            client_id: code.client_id.clone(),
            user_id: code.user_id.clone(),
            auth_time: code.auth_time,
            client_revision: code.client_revision,
            grant_epoch: code.grant_epoch,
            created_at: now,
            expires_at: now.plus(self.deps.config.refresh_family_ttl),
            revoked_at: None,
            jkt: proof
                .filter(|_| client.is_public())
                .map(|proof| proof.jkt.clone()),
        };
        let token = family.first_token(
            value.digest(),
            code.scope.clone(),
            now,
            self.deps.config.refresh_token_ttl,
        );
        NewRefreshFamily { family, token }
    }

    /// A spent code presented again without the verifier or redirect URI of its own client:
    /// refused and audited, nothing revoked (an onlooker cannot log a user's app out).
    async fn unproven_replay(&self, code: &AuthorizationCode, context: &RequestContext) {
        let draft = AuditDraft::new(AuditEventKind::CodeReplayed, AuditOutcome::Failure)
            .user(&code.user_id)
            .client(&code.client_id)
            .reason("unproven_replay")
            .detail("code", code.digest.log_prefix())
            .detail("revoked", "nothing");
        self.audit(draft, context).await;
    }

    /// RFC 6749 section 4.1.2: "If an authorization code is used more than once, the
    /// authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
    /// previously issued based on that authorization code." The family goes (its access
    /// tokens carry its id, so the gateway stops them too); without a family, the grant goes.
    async fn code_replayed(
        &self,
        code: &AuthorizationCode,
        context: &RequestContext,
    ) -> Result<(), OAuthError> {
        let stamp = self.revocation_stamp(self.now());
        let revoked = match &code.family_id {
            Some(family) => self.store.revoke_family(family, &stamp).await?,
            None => {
                self.store
                    .revoke_grant(&code.user_id, &code.client_id, &stamp)
                    .await?
            }
        };
        let draft = AuditDraft::new(AuditEventKind::CodeReplayed, AuditOutcome::Failure)
            .user(&code.user_id)
            .client(&code.client_id)
            .reason("code_reuse")
            .detail("code", code.digest.log_prefix())
            .detail(
                "revoked",
                if code.family_id.is_some() {
                    "refresh_family"
                } else {
                    "grant"
                },
            )
            .detail("was_active", revoked.to_string());
        self.audit(draft, context).await;
        Ok(())
    }
}
