//! A call with an access token at a protected resource (RFC 9449 section 7): a DPoP-bound
//! token comes under the `DPoP` scheme with a fresh proof of its key for this very call,
//! used once; an unbound token never comes under the `DPoP` scheme. The gateway authorizer
//! and the UserInfo endpoint both check calls this way.

use super::TokenScheme;
use super::{used_proof_id, verify_proof, ProofContext, ProofRejection};
use crate::domain::Timestamp;
use crate::jwt::AccessTokenClaims;
use crate::ports::ProofReplayStore;

/// The request a proof must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalledRequest {
    /// The `DPoP` header: none, one, or refused (two headers, not ASCII).
    pub proof: Result<Option<String>, ProofRejection>,
    pub method: String,
    /// The URL the caller called.
    pub url: String,
}

/// Why a call's DPoP evidence is not accepted; the reason goes to the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingRefusal {
    /// The call does not prove possession: 401.
    Unauthorized(&'static str),
    /// The proof cannot be recorded as used (the store failed): fail closed (rule 18).
    Unavailable,
}

use BindingRefusal::Unauthorized;

fn refusal(rejection: &ProofRejection) -> BindingRefusal {
    Unauthorized(rejection.reason())
}

/// Checks a call of `token` (with `claims`) under `scheme`; `request` is None where the
/// call's request is not known (a REST TOKEN authorizer event): no proof can be checked.
pub async fn check_token_binding(
    claims: &AccessTokenClaims,
    scheme: TokenScheme,
    token: &str,
    request: Option<&CalledRequest>,
    replay: &dyn ProofReplayStore,
    now: Timestamp,
) -> Result<(), BindingRefusal> {
    let Some(bound) = &claims.cnf else {
        // Section 7.1: the DPoP scheme carries DPoP-bound tokens only.
        return match scheme {
            TokenScheme::Dpop => Err(Unauthorized("unbound_token_as_dpop")),
            TokenScheme::Bearer => Ok(()),
        };
    };
    // Section 7.2: a DPoP-bound token sent as a bearer token is refused.
    if scheme != TokenScheme::Dpop {
        return Err(Unauthorized("dpop_bound_token_as_bearer"));
    }
    let Some(request) = request else {
        return Err(Unauthorized("dpop_proof_not_in_event"));
    };
    let proof = match &request.proof {
        Ok(Some(proof)) => proof,
        Ok(None) => return Err(Unauthorized("dpop_proof_missing")),
        Err(rejection) => return Err(refusal(rejection)),
    };
    let context = ProofContext {
        method: &request.method,
        url: &request.url,
        access_token: Some(token),
    };
    let verified = verify_proof(proof, &context, now).map_err(|r| refusal(&r))?;
    // Sections 6.1 and 7.1: the proof's key is the one the token is bound to.
    if verified.jkt != bound.jkt {
        return Err(Unauthorized("dpop_key_mismatch"));
    }
    // Section 11.1: used once, across every container (one conditional write).
    match replay
        .use_proof_once(&used_proof_id(&verified), verified.replay_window_ends, now)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(refusal(&ProofRejection::Replayed)),
        Err(error) => {
            tracing::error!(cause = %error, "cannot record a DPoP proof: failing closed");
            Err(BindingRefusal::Unavailable)
        }
    }
}
