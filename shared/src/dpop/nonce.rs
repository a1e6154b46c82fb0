//! Server-provided DPoP nonces (RFC 9449 section 8): a nonce is a small JWT the server signs
//! with its current key (`typ: dpop-nonce+jwt`, its only claim the time it was made), so
//! every container of the token function makes and checks them without shared state, and
//! none is taken for an access token (that needs `typ: at+jwt`). A nonce is good for
//! `NONCE_LIFETIME`; an older one, or one signed by a key no longer published, answers
//! `use_dpop_nonce` with a fresh one, which the client retries with.

use crate::domain::Timestamp;
use crate::jwt::LEEWAY;
use crate::signing::Keyring;
use jsonwebtoken::{decode, decode_header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The JOSE `typ` of a nonce.
pub const NONCE_TYP: &str = "dpop-nonce+jwt";

/// How long a nonce is accepted after it was made.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// The response header that carries a fresh nonce (section 8.1).
pub const DPOP_NONCE_HEADER: &str = "DPoP-Nonce";

#[derive(Serialize, Deserialize)]
struct NonceClaims {
    /// When the nonce was made, seconds.
    made: i64,
}

/// A fresh nonce, made at `now`.
pub fn make_nonce(keyring: &Keyring, now: Timestamp) -> Option<String> {
    keyring
        .sign(
            NONCE_TYP,
            &NonceClaims {
                made: now.as_secs(),
            },
        )
        .ok()
}

/// Whether `nonce` is one of ours, made within `NONCE_LIFETIME` before `now`.
pub fn nonce_is_current(keyring: &Keyring, nonce: &str, now: Timestamp) -> bool {
    let Ok(header) = decode_header(nonce) else {
        return false;
    };
    if header.typ.as_deref() != Some(NONCE_TYP) {
        return false;
    }
    let Some(verifier) = header.kid.as_deref().and_then(|kid| keyring.verifier(kid)) else {
        return false;
    };
    // The algorithm is the key's, never the header's (rule 8).
    let algorithm = verifier.algorithm.jsonwebtoken();
    if header.alg != algorithm {
        return false;
    }
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let Ok(claims) = decode::<NonceClaims>(nonce, &verifier.key, &validation) else {
        return false;
    };
    let lifetime = i64::try_from(NONCE_LIFETIME.as_secs()).unwrap_or(300);
    let skew = i64::try_from(LEEWAY.as_secs()).unwrap_or(30);
    let age = now.as_secs() - claims.claims.made;
    (-skew..=lifetime).contains(&age)
}
