//! Access tokens: JWTs per RFC 9068, signed with the keyring's active key, verified with
//! pre-parsed keys, `alg` fixed by the server (security rule 8).

use crate::domain::Timestamp;
use crate::signing::Keyring;
use jsonwebtoken::{decode, decode_header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use thiserror::Error;

/// RFC 9068 section 2.1: the JOSE header `typ` of an access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clock skew tolerated when checking token lifetimes (RFC 7519 section 4.1.4 "some small
/// leeway"): what outlives a token, e.g. its revocation entry, lives this much longer.
pub const LEEWAY: std::time::Duration = std::time::Duration::from_secs(30);

/// RFC 9068 section 2.2 claims, plus the grant id the authorizer checks against revocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user id, or `client:<client_id>` for client_credentials tokens: user ids never
    /// contain ':' so the two namespaces cannot collide.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    /// The grant (consent) the token derives from; absent for client_credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// The refresh family (one code redemption's tokens): revoking it on code replay or
    /// refresh reuse stops this token at the gateway too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
    /// The client's revision when the token was issued (`Client::revision`): a change that
    /// takes scopes from the client stops the tokens of earlier revisions that carry them,
    /// including those a warm container issues from its cached record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<u64>,
    /// RFC 9449 section 6.1: the DPoP key the token is bound to. A resource server refuses
    /// it without a proof signed by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 section 3.1 confirmation claim, with RFC 9449's `jkt` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the key, base64url.
    pub jkt: String,
}

/// Why a presented token is not a valid access token. Callers map every variant to the same
/// client-facing answer; the variant goes to the logs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenRejection {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("typ is not at+jwt")]
    WrongType,
    #[error("unknown kid")]
    UnknownKey,
    #[error("alg does not match the key's algorithm")]
    WrongAlgorithm,
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    NotYetValid,
}

/// What a verifier expects of every token.
#[derive(Debug, Clone)]
pub struct TokenExpectations {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `iat`, in seconds.
    pub leeway_secs: i64,
}

pub fn sign_access_token(
    keyring: &Keyring,
    claims: &AccessTokenClaims,
) -> Result<String, crate::signing::KeyringError> {
    keyring.sign(ACCESS_TOKEN_TYP, claims)
}

/// Verifies signature, type, issuer, audience and lifetime against `now`.
pub fn verify_access_token(
    keyring: &Keyring,
    token: &str,
    expect: &TokenExpectations,
    now: Timestamp,
) -> Result<AccessTokenClaims, TokenRejection> {
    let header = decode_header(token).map_err(|e| TokenRejection::Malformed(e.to_string()))?;
    // RFC 9068 section 4: reject tokens whose typ is not at+jwt (or application/at+jwt), so an
    // ID token or any other JWT we sign is never accepted as an access token.
    let typ = header.typ.as_deref().map(str::to_ascii_lowercase);
    if !matches!(typ.as_deref(), Some("at+jwt") | Some("application/at+jwt")) {
        return Err(TokenRejection::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(TokenRejection::UnknownKey)?;
    let verifier = keyring.verifier(kid).ok_or(TokenRejection::UnknownKey)?;
    // The algorithm comes from our key record, never from the token's header.
    let algorithm = verifier.algorithm.jsonwebtoken();
    if header.alg != algorithm {
        return Err(TokenRejection::WrongAlgorithm);
    }
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&expect.issuer]);
    validation.set_audience(&[&expect.audience]);
    validation.required_spec_claims =
        HashSet::from(["exp", "iat", "iss", "aud", "sub"].map(str::to_owned));
    // Lifetime is checked below against the injected clock, not the system time.
    validation.validate_exp = false;
    // RFC 7519 section 4.1.5: not before `nbf`, when present (our tokens carry none, but a
    // token that says "not yet" is not accepted early).
    validation.validate_nbf = true;
    validation.leeway = u64::try_from(expect.leeway_secs).unwrap_or(0);
    let claims = decode::<AccessTokenClaims>(token, &verifier.key, &validation)
        .map_err(|e| TokenRejection::Invalid(e.to_string()))?
        .claims;
    let now_secs = now.as_secs();
    if claims.exp + expect.leeway_secs <= now_secs {
        return Err(TokenRejection::Expired);
    }
    if claims.iat - expect.leeway_secs > now_secs {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(claims)
}
