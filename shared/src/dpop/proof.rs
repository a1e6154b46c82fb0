//! Checking one DPoP proof JWT (RFC 9449 section 4.3), free of I/O: what the token endpoint
//! and the authorizer share. The replay check (the `jti` seen once) needs the store and is
//! the caller's (`ProofReplayStore`).

use crate::domain::Timestamp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use thiserror::Error;

/// RFC 9449 section 4.2: the JOSE header `typ` of a proof.
pub const DPOP_TYP: &str = "dpop+jwt";

/// The proof algorithms accepted (section 4.3 point 5: asymmetric only, never `none` or a
/// MAC), as advertised in `dpop_signing_alg_values_supported` and the `algs` of a challenge.
pub const PROOF_ALGORITHMS: [(&str, Algorithm); 4] = [
    ("ES256", Algorithm::ES256),
    ("EdDSA", Algorithm::EdDSA),
    ("RS256", Algorithm::RS256),
    ("PS256", Algorithm::PS256),
];

/// Longest proof read (security rule 19): a P-256 or Ed25519 proof is ~600 bytes, an RSA
/// 4096 one under 1.5 KiB.
pub const MAX_PROOF_LEN: usize = 4096;

/// How far a proof's `iat` may be from the verifier's clock (section 4.3 point 9: "within an
/// acceptable window"). A `jti` is remembered for as long as its proof could be accepted.
pub const PROOF_WINDOW: Duration = Duration::from_secs(60);

/// Longest `jti` accepted: a 128-bit random value is 22 characters.
const MAX_JTI_LEN: usize = 128;

/// RSA keys above this are refused: verifying with one costs an anonymous caller nothing
/// and us a lot (rule 19).
const MAX_RSA_MODULUS_BYTES: usize = 512;
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// Public exponents are 65537 in practice; a long one is a cost, never a need.
const MAX_RSA_EXPONENT_BYTES: usize = 4;

/// JWK members that only a private (or symmetric) key has (RFC 7518 section 6): a proof
/// carrying one is refused (section 4.3 point 7, "the jwk JOSE Header Parameter does not
/// contain a private key").
pub(crate) const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof must match: the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The HTTP method of the request, as sent (`POST`).
    pub method: &'a str,
    /// The request's URL; query and fragment are ignored (section 4.3 point 9).
    pub url: &'a str,
    /// At a protected resource, the access token presented with the proof: `ath` must be
    /// its hash (section 4.3 point 12). None at the token endpoint.
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check but the replay check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The JWK SHA-256 thumbprint of the proof's key (RFC 7638): what `cnf.jkt` binds to.
    pub jkt: String,
    pub jti: String,
    /// Until when the proof could still be accepted: how long its `jti` is remembered.
    pub replay_window_ends: Timestamp,
    /// The server nonce the proof carried, if any.
    pub nonce: Option<String>,
}

/// Why a proof is refused. Every variant is `invalid_dpop_proof` to the client (section 7.1);
/// the variant names the cause in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofRejection {
    #[error("more than one DPoP header")]
    Repeated,
    #[error("longer than {MAX_PROOF_LEN} bytes")]
    Oversize,
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("typ is not dpop+jwt")]
    WrongType,
    #[error("alg is not one of the accepted asymmetric algorithms")]
    UnsupportedAlgorithm,
    #[error("jwk: {0}")]
    BadKey(&'static str),
    #[error("signature or claims invalid: {0}")]
    Invalid(String),
    #[error("htm does not match the request's method")]
    MethodMismatch,
    #[error("htu does not match the request's URL")]
    UrlMismatch,
    #[error("iat is outside the accepted window")]
    OutsideWindow,
    #[error("ath does not match the access token")]
    AccessTokenMismatch,
    #[error("jti missing or too long")]
    BadJti,
    #[error("proof already used")]
    Replayed,
}

impl ProofRejection {
    /// A short reason for decision lines and audit records.
    pub fn reason(&self) -> &'static str {
        match self {
            ProofRejection::Repeated => "dpop_proof_repeated",
            ProofRejection::Oversize => "dpop_proof_oversize",
            ProofRejection::Malformed(_) => "dpop_proof_malformed",
            ProofRejection::WrongType => "dpop_proof_wrong_typ",
            ProofRejection::UnsupportedAlgorithm => "dpop_proof_alg",
            ProofRejection::BadKey(_) => "dpop_proof_key",
            ProofRejection::Invalid(_) => "dpop_proof_invalid",
            ProofRejection::MethodMismatch => "dpop_proof_htm",
            ProofRejection::UrlMismatch => "dpop_proof_htu",
            ProofRejection::OutsideWindow => "dpop_proof_iat",
            ProofRejection::AccessTokenMismatch => "dpop_proof_ath",
            ProofRejection::BadJti => "dpop_proof_jti",
            ProofRejection::Replayed => "dpop_proof_replayed",
        }
    }
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The `ath` of an access token (section 4.2): base64url of its SHA-256, no padding.
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Checks `proof` against the request and `now` (section 4.3, points 1-12 but the replay
/// check of point 11 and the nonce of point 10, which need state).
pub fn verify_proof(
    proof: &str,
    request: &ProofContext<'_>,
    now: Timestamp,
) -> Result<VerifiedProof, ProofRejection> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofRejection::Oversize);
    }
    let header = raw_header(proof)?;
    // Point 4: typ is dpop+jwt (media types compare case-insensitively, RFC 2045 5.1).
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case(DPOP_TYP)) {
        return Err(ProofRejection::WrongType);
    }
    // Point 5: an asymmetric algorithm the server supports.
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (_, algorithm) = PROOF_ALGORITHMS
        .iter()
        .find(|(name, _)| *name == alg)
        .ok_or(ProofRejection::UnsupportedAlgorithm)?;
    let jwk = public_jwk(&header, *algorithm)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| ProofRejection::BadKey("unusable"))?;
    // Point 6: the signature verifies with the key of the header.
    let mut validation = Validation::new(*algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| ProofRejection::Invalid(e.to_string()))?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return Err(ProofRejection::BadJti);
    }
    // Point 8: htm matches the method (RFC 9110 section 9.1: methods are case-sensitive).
    if claims.htm != request.method {
        return Err(ProofRejection::MethodMismatch);
    }
    // Point 9: htu matches the URL, without query and fragment.
    if !same_target(&claims.htu, request.url) {
        return Err(ProofRejection::UrlMismatch);
    }
    // Point 10 (the iat part): created within the window, either side of our clock
    // (`abs_diff`: no extreme `iat` can overflow its way in).
    if claims.iat.abs_diff(now.as_secs()) > PROOF_WINDOW.as_secs() {
        return Err(ProofRejection::OutsideWindow);
    }
    // Point 12: at a protected resource, ath is the hash of the token presented with it.
    if let Some(access_token) = request.access_token {
        if claims.ath.as_deref() != Some(access_token_hash(access_token).as_str()) {
            return Err(ProofRejection::AccessTokenMismatch);
        }
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| ProofRejection::BadKey("no thumbprint"))?;
    Ok(VerifiedProof {
        jkt,
        jti: claims.jti,
        // Accepted until `iat + PROOF_WINDOW` at the latest, which is at most two windows
        // from now: remembered that long, from our clock, not the caller's `iat`.
        replay_window_ends: now.plus(2 * PROOF_WINDOW + Duration::from_secs(1)),
        nonce: claims.nonce,
    })
}

/// The JOSE header as JSON, to see every member (a typed header drops the unknown ones, and
/// the private members of a key are exactly what must be seen).
fn raw_header(proof: &str) -> Result<Map<String, Value>, ProofRejection> {
    let encoded = proof
        .split('.')
        .next()
        .filter(|_| proof.split('.').count() == 3)
        .ok_or_else(|| ProofRejection::Malformed("not three parts".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| ProofRejection::Malformed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ProofRejection::Malformed(e.to_string()))
}

/// Point 7: the header's `jwk` is a public key of the algorithm's family and curve.
fn public_jwk(header: &Map<String, Value>, algorithm: Algorithm) -> Result<Jwk, ProofRejection> {
    let raw = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(ProofRejection::BadKey("missing"))?;
    if PRIVATE_JWK_MEMBERS.iter().any(|m| raw.contains_key(*m)) {
        return Err(ProofRejection::BadKey("contains a private key"));
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(raw.clone()))
        .map_err(|_| ProofRejection::BadKey("not a JWK"))?;
    if key_fits_algorithm(&jwk, algorithm) {
        Ok(jwk)
    } else {
        Err(ProofRejection::BadKey("not a key of the proof's alg"))
    }
}

/// Whether `jwk` is a key of `algorithm`'s type and curve (RSA: 2048 to 4096 bits, a short
/// exponent): what a proof's or a client assertion's key must be.
pub(crate) fn key_fits_algorithm(jwk: &Jwk, algorithm: Algorithm) -> bool {
    match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        (AlgorithmParameters::RSA(rsa), Algorithm::RS256 | Algorithm::PS256) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).unwrap_or_default();
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            let exponent = URL_SAFE_NO_PAD.decode(&rsa.e).unwrap_or_default();
            (MIN_RSA_MODULUS_BYTES..=MAX_RSA_MODULUS_BYTES).contains(&significant)
                && (1..=MAX_RSA_EXPONENT_BYTES).contains(&exponent.len())
        }
        _ => false,
    }
}

/// RFC 9449 section 4.3 point 9: compared after syntax-based normalisation (RFC 3986
/// sections 6.2.2 and 6.2.3: case of scheme and host, default port, percent-encoding),
/// ignoring query and fragment.
fn same_target(htu: &str, url: &str) -> bool {
    let normalised = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url
        })
    };
    match (normalised(htu), normalised(url)) {
        (Some(htu), Some(url)) => htu == url,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
