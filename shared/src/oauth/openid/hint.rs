//! `id_token_hint` at the end session endpoint (RP-Initiated Logout 1.0 section 2): "the OP
//! MUST validate that it was the issuer of the ID Token". Its signature, `typ` and issuer are
//! checked; its lifetime is not (section 2: an expired ID token is still a fine hint) and its
//! audience is read, not checked: it names the client asking.

use super::id_token::ID_TOKEN_TYP;
use crate::signing::Keyring;
use jsonwebtoken::{decode, decode_header, Validation};
use std::collections::HashSet;

/// The claims a hint is read for.
#[derive(serde::Deserialize)]
struct HintClaims {
    sub: String,
    aud: String,
    #[serde(default)]
    auth_time: Option<i64>,
}

/// Whose sign-in the hint names, and for which client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintedSignIn {
    pub sub: String,
    pub client_id: String,
    /// When the sign-in the token was issued for happened.
    pub auth_time: Option<i64>,
}

/// Why a hint is refused (for the logs; the user sees one message).
pub fn verify_id_token_hint(
    keyring: &Keyring,
    token: &str,
    issuer: &str,
) -> Result<HintedSignIn, &'static str> {
    let header = decode_header(token).map_err(|_| "not a JWT")?;
    // An access token (at+jwt) is no ID token (security rule 8).
    if header.typ.as_deref() != Some(ID_TOKEN_TYP) {
        return Err("typ is not JWT");
    }
    let kid = header.kid.as_deref().ok_or("no kid")?;
    let verifier = keyring.verifier(kid).ok_or("unknown kid")?;
    // The algorithm of our key record, never the token's header's.
    let algorithm = verifier.algorithm.jsonwebtoken();
    if header.alg != algorithm {
        return Err("alg does not match the key");
    }
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::from(["iss", "sub", "aud"].map(str::to_owned));
    let claims = decode::<HintClaims>(token, &verifier.key, &validation)
        .map_err(|_| "signature or claims invalid")?
        .claims;
    Ok(HintedSignIn {
        sub: claims.sub,
        client_id: claims.aud,
        auth_time: claims.auth_time,
    })
}
