//! `private_key_jwt` client authentication (RFC 7523 sections 2.2 and 3, OpenID Connect Core
//! section 9): the client signs a short-lived JWT about itself with a key of its registered
//! JWK Set; the server checks the signature with that key, the claims, and that the
//! assertion's `jti` is used once.

use crate::domain::{Client, Timestamp};
use crate::dpop::proof::{key_fits_algorithm, PRIVATE_JWK_MEMBERS};
use crate::jwt::LEEWAY;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::Duration;

/// RFC 7523 section 2.2: `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The assertion algorithms accepted: the asymmetric ones DPoP proofs take (a MAC would
/// need a shared secret).
pub use crate::dpop::PROOF_ALGORITHMS as ASSERTION_ALGORITHMS;

/// An assertion may live at most this long from now: its `jti` is remembered that long.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// Longest assertion read (security rule 19).
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// At most this many keys in a client's JWK Set, of this size in all.
pub const MAX_CLIENT_KEYS: usize = 5;
pub const MAX_JWKS_BYTES: usize = 16 * 1024;

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

/// An assertion that passed every check but the one-time use of its `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    /// Until when it could be accepted: how long its `jti` is remembered.
    pub usable_until: Timestamp,
}

/// The `sub` an assertion claims, unverified: which client to look up when the request
/// names none (RFC 7523 section 3: `client_id` is optional beside an assertion).
pub fn claimed_client(assertion: &str) -> Option<String> {
    unverified_claim(assertion, "sub")
}

/// A string claim of `assertion`'s payload, its signature unchecked.
fn unverified_claim(assertion: &str, name: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}

/// What an assertion's header says, checked: an accepted algorithm, and the `kid` naming
/// the key to look for (`client_keys::ClientKeys::keys_for`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionHeader {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
}

/// The checks that need no key, first, so garbage never makes the server fetch a
/// `jwks_uri` (security rule 19): the length, an accepted `alg`, and `iss` and `sub` naming
/// `client` (unverified yet; `verify_client_assertion` checks them again under the
/// signature).
pub fn check_assertion_header(client: &Client, assertion: &str) -> Result<AssertionHeader, String> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err("assertion too long".into());
    }
    let header = decode_header(assertion).map_err(|e| format!("not a JWT: {e}"))?;
    let algorithm = ASSERTION_ALGORITHMS
        .iter()
        .map(|(_, algorithm)| *algorithm)
        .find(|algorithm| *algorithm == header.alg)
        .ok_or("alg is not an accepted asymmetric algorithm")?;
    let claimed = |name: &str| unverified_claim(assertion, name);
    let id = client.id.as_str();
    if claimed("iss").as_deref() != Some(id) || claimed("sub").as_deref() != Some(id) {
        return Err("iss and sub must both be the client_id".into());
    }
    Ok(AssertionHeader {
        algorithm,
        kid: header.kid,
    })
}

/// Checks `assertion` for `client` (RFC 7523 section 3), its `header` checked by
/// `check_assertion_header`: signed with one of its `keys` under that algorithm (the key's
/// type must fit it), `iss` and `sub` the client, `aud`
/// one of `audiences`, `exp` in the future but within `MAX_ASSERTION_LIFETIME`, a `jti`.
/// The error is the cause for the logs.
pub fn verify_client_assertion(
    client: &Client,
    keys: &JwkSet,
    header: &AssertionHeader,
    assertion: &str,
    audiences: &[String],
    now: Timestamp,
) -> Result<VerifiedAssertion, String> {
    let algorithm = header.algorithm;
    let fitting: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|jwk| key_fits_algorithm(jwk, algorithm))
        .filter(|jwk| match (&header.kid, &jwk.common.key_id) {
            (Some(kid), Some(key_id)) => kid == key_id,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    // Without a `kid`, only an unambiguous key is tried (one verification per request).
    let [jwk] = fitting.as_slice() else {
        return Err("no single registered key fits the assertion's kid and alg".into());
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?;
    let mut validation = Validation::new(algorithm);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Lifetime against our clock below, not the system's.
    validation.validate_exp = false;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY.as_secs();
    let claims = decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| format!("invalid assertion: {e}"))?
        .claims;
    let client_id = client.id.as_str();
    // Section 3 points 1 and 2: "iss ... MUST contain the client_id", "sub ... MUST be the
    // client_id".
    if claims.iss != client_id || claims.sub != client_id {
        return Err("iss and sub must both be the client_id".into());
    }
    let leeway = i64::try_from(LEEWAY.as_secs()).unwrap_or(30);
    let longest = i64::try_from(MAX_ASSERTION_LIFETIME.as_secs()).unwrap_or(600);
    let now_secs = now.as_secs();
    if claims.exp.saturating_add(leeway) <= now_secs {
        return Err("assertion expired".into());
    }
    if claims.exp > now_secs.saturating_add(longest) {
        return Err("assertion lives too long (exp too far ahead)".into());
    }
    // OIDC Core section 9: jti is required, "to prevent reuse".
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= 128)
        .ok_or("jti missing or too long")?;
    Ok(VerifiedAssertion {
        jti,
        usable_until: now.plus(MAX_ASSERTION_LIFETIME + LEEWAY),
    })
}

/// Checks a JWK Set a client registers: 1 to `MAX_CLIENT_KEYS` public keys of accepted
/// types, `MAX_JWKS_BYTES` at most. The error says what is wrong.
pub fn check_client_jwks(jwks: &serde_json::Value) -> Result<(), String> {
    if jwks.to_string().len() > MAX_JWKS_BYTES {
        return Err(format!("jwks is larger than {MAX_JWKS_BYTES} bytes"));
    }
    let raw_keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("jwks must be a JWK Set: {\"keys\": [...]}")?;
    if raw_keys.is_empty() || raw_keys.len() > MAX_CLIENT_KEYS {
        return Err(format!("jwks must hold 1 to {MAX_CLIENT_KEYS} keys"));
    }
    let kids: Vec<&str> = raw_keys
        .iter()
        .filter_map(|key| key.get("kid").and_then(serde_json::Value::as_str))
        .collect();
    if (1..kids.len()).any(|i| kids[..i].contains(&kids[i])) {
        return Err("two keys share a kid".into());
    }
    for raw in raw_keys {
        let members = raw.as_object().ok_or("each key must be a JSON object")?;
        if PRIVATE_JWK_MEMBERS
            .iter()
            .any(|private| members.contains_key(*private))
        {
            return Err("jwks may hold public keys only".into());
        }
        if members.get("use").is_some_and(|key_use| key_use != "sig") {
            return Err("a key's use must be sig".into());
        }
        let jwk: Jwk = serde_json::from_value(raw.clone()).map_err(|e| format!("a key: {e}"))?;
        let usable = ASSERTION_ALGORITHMS
            .iter()
            .any(|(_, algorithm)| key_fits_algorithm(&jwk, *algorithm));
        if !usable {
            return Err("each key must be P-256, Ed25519 or RSA 2048-4096 bits".into());
        }
    }
    Ok(())
}
