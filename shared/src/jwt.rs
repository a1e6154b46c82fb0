//! Access tokens: JWTs per RFC 9068, signed with the keyring's active key, verified with
//! pre-parsed keys, `alg` fixed by the server (security rule 8).

use crate::domain::Timestamp;
use crate::signing::Keyring;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::decode_header;
use serde::{Deserialize, Serialize};
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
    /// RFC 7519 section 4.1.5: not before. Our tokens carry none; read so that a token that
    /// says "not yet" is not accepted early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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
///
/// The steps of RFC 7519 section 7.2 with jsonwebtoken's header parsing and signature check
/// (`crypto::verify`: the key's algorithm, aws-lc), each part decoded once: its `decode`
/// parsed the header twice more and the claims twice (into its validation record and into
/// ours), about a fifth of the authorizer's work above the signature check (issue #21
/// goal 1).
pub fn verify_access_token(
    keyring: &Keyring,
    token: &str,
    expect: &TokenExpectations,
    now: Timestamp,
) -> Result<AccessTokenClaims, TokenRejection> {
    let malformed = |why: &str| TokenRejection::Malformed(why.to_owned());
    // RFC 7515 section 7.1: the compact serialization is exactly three parts.
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| malformed("not three parts"))?;
    let (_, encoded_claims) = signing_input
        .split_once('.')
        .filter(|(_, claims)| !claims.contains('.'))
        .ok_or_else(|| malformed("not three parts"))?;
    let header = decode_header(token).map_err(|e| TokenRejection::Malformed(e.to_string()))?;
    // RFC 7515 section 4.1.11: a recipient that does not understand every extension `crit`
    // lists must reject the JWS; we understand none (and never send it).
    if header.crit.is_some() {
        return Err(malformed("crit extensions are not supported"));
    }
    // RFC 9068 section 4: reject tokens whose typ is not at+jwt (or application/at+jwt), so an
    // ID token or any other JWT we sign is never accepted as an access token.
    let is_access_token = |typ: &str| {
        typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || typ.eq_ignore_ascii_case("application/at+jwt")
    };
    if !header.typ.as_deref().is_some_and(is_access_token) {
        return Err(TokenRejection::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(TokenRejection::UnknownKey)?;
    let verifier = keyring.verifier(kid).ok_or(TokenRejection::UnknownKey)?;
    // The algorithm comes from our key record, never from the token's header (rule 8).
    let algorithm = verifier.algorithm.jsonwebtoken();
    if header.alg != algorithm {
        return Err(TokenRejection::WrongAlgorithm);
    }
    // Nothing in the claims is read before the signature over them is good.
    let signed = jsonwebtoken::crypto::verify(
        signature,
        signing_input.as_bytes(),
        &verifier.key,
        algorithm,
    )
    .map_err(|e| TokenRejection::Invalid(e.to_string()))?;
    if !signed {
        return Err(TokenRejection::Invalid("signature does not verify".into()));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(encoded_claims)
        .map_err(|e| TokenRejection::Malformed(e.to_string()))?;
    // exp, iat, iss, aud and sub are required members of the record (RFC 9068 section 2.2).
    let claims: AccessTokenClaims =
        serde_json::from_slice(&payload).map_err(|e| TokenRejection::Invalid(e.to_string()))?;
    if claims.iss != expect.issuer {
        return Err(TokenRejection::Invalid("wrong issuer".into()));
    }
    // RFC 9068 section 4: the audience must be this resource server.
    if claims.aud != expect.audience {
        return Err(TokenRejection::Invalid("wrong audience".into()));
    }
    let now_secs = now.as_secs();
    // Saturating: a signed exp or iat at the ends of i64 is refused, never wrapped.
    if claims.exp.saturating_add(expect.leeway_secs) <= now_secs {
        return Err(TokenRejection::Expired);
    }
    let starts = claims.nbf.map_or(claims.iat, |nbf| nbf.max(claims.iat));
    if starts.saturating_sub(expect.leeway_secs) > now_secs {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(claims)
}
