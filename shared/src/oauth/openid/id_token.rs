//! The ID token (OpenID Connect Core section 2): who signed in, when, and to which client,
//! signed with the algorithm the client registered (RS256 unless it asked otherwise). The
//! token function issues it (`oauth::token::id_token`).

use crate::signing::SigningAlgorithm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

/// The JOSE `typ` of an ID token: plain `JWT`, never `at+jwt`, so neither kind of token can
/// pass for the other (security rule 8).
pub const ID_TOKEN_TYP: &str = "JWT";

/// OpenID Connect Core section 2, plus the scope's claims (section 5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client the token is for: its only audience.
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// Always present: `max_age` and `require_auth_time` need it, and it costs nothing.
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Section 2: the party the token was issued to.
    pub azp: String,
    /// Section 3.1.3.6: binds the ID token to the access token issued with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// RFC 8176 section 2: "pwd", a password sign-in.
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub released: Map<String, Value>,
}

/// OpenID Connect Core section 3.1.3.6: base64url of the left half of the access token's
/// hash, with the hash of the ID token's `alg` (SHA-256 for RS256 and ES256; SHA-512 for
/// EdDSA over Ed25519, as the OpenID Foundation's errata and certified providers do).
pub fn at_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match algorithm {
        SigningAlgorithm::Rs256 | SigningAlgorithm::Es256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
        SigningAlgorithm::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_openid_connect_example() {
        // OpenID Connect Core Appendix A.3 (RS256: SHA-256): "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        // is the access token; its at_hash is given as "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            at_hash(
                SigningAlgorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            at_hash(SigningAlgorithm::EdDsa, "x").len(),
            43,
            "half of SHA-512"
        );
    }
}
