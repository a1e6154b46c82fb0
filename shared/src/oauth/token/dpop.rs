//! DPoP at the token endpoint (RFC 9449 section 5): the proof of a token request, checked
//! and used once, gives the key its tokens are bound to.

use super::TokenService;
use crate::domain::Client;
use crate::dpop::nonce::{make_nonce, nonce_is_current};
use crate::dpop::{used_proof_id, verify_proof, ProofContext, ProofRejection, VerifiedProof};
use crate::oauth::metadata::TOKEN_PATH;
use crate::oauth::{ErrorCode, OAuthError};

/// RFC 9449 section 5.0: "invalid_dpop_proof" for a missing or bad proof; the cause goes to
/// the logs only.
pub(crate) fn invalid_dpop_proof(description: &str, cause: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description).with_cause(cause.into())
}

impl TokenService {
    /// The token request's proof checked against `POST {issuer}/token` (and its nonce, when
    /// required), writing nothing: run before the client authenticates, so a refused proof
    /// spends neither a client assertion nor anything else (rule 15).
    pub(super) async fn checked_proof(
        &self,
        proof: Option<&str>,
    ) -> Result<Option<VerifiedProof>, OAuthError> {
        let Some(proof) = proof else {
            return Ok(None);
        };
        let now = self.now();
        let url = self.deps.config.endpoint(TOKEN_PATH);
        let request = ProofContext {
            method: "POST",
            url: &url,
            access_token: None,
        };
        let verified = verify_proof(proof, &request, now).map_err(|rejection| {
            invalid_dpop_proof("the DPoP proof is invalid", rejection.to_string())
        })?;
        // Section 8: before the proof is used up, so the retry with the nonce is a new proof.
        if self.deps.config.dpop_nonce_required {
            let keyring = self.keyring().current().await;
            let current = verified
                .nonce
                .as_deref()
                .is_some_and(|nonce| nonce_is_current(&keyring, nonce, now));
            if !current {
                return Err(OAuthError::new(
                    ErrorCode::UseDpopNonce,
                    "the DPoP proof must carry the nonce in the DPoP-Nonce header",
                ));
            }
        }
        Ok(Some(verified))
    }

    /// After the client authenticated: the proof it must send (`dpop_bound_access_tokens`,
    /// section 5.2), marked used (section 11.1) before anything is issued; a store that
    /// cannot record it gives a 503 (rule 18), never an unchecked proof.
    pub(super) async fn spend_proof(
        &self,
        client: &Client,
        proof: Option<VerifiedProof>,
    ) -> Result<Option<VerifiedProof>, OAuthError> {
        let Some(verified) = proof else {
            if client.dpop_bound_access_tokens {
                return Err(invalid_dpop_proof(
                    "this client must send a DPoP proof with every token request",
                    "dpop_bound_access_tokens client without a proof",
                ));
            }
            return Ok(None);
        };
        let now = self.now();
        let first_use = self
            .store()
            .use_proof_once(&used_proof_id(&verified), verified.replay_window_ends, now)
            .await?;
        if !first_use {
            return Err(invalid_dpop_proof(
                "the DPoP proof was already used",
                ProofRejection::Replayed.to_string(),
            ));
        }
        Ok(Some(verified))
    }

    /// A fresh nonce for the `DPoP-Nonce` header of a token response, when nonces are
    /// required (section 8.1: "the authorization server ... MAY supply a new nonce ... in
    /// any response").
    pub async fn fresh_dpop_nonce(&self) -> Option<String> {
        if !self.deps.config.dpop_nonce_required {
            return None;
        }
        make_nonce(&*self.keyring().current().await, self.now())
    }
}
