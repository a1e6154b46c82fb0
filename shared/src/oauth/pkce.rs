//! PKCE (RFC 7636), S256 only (security rule 3: `plain` is refused).

use super::{ErrorCode, OAuthError};
use crate::domain::secret::constant_time_eq;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// RFC 7636 section 4.1: `code-verifier = 43*128unreserved`.
fn is_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// A checked S256 `code_challenge`: base64url (no padding) of a 32-byte SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates `code_challenge` and `code_challenge_method` of an authorization request.
    /// RFC 7636 section 4.3 defaults a missing method to `plain`, which we refuse.
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Self, OAuthError> {
        let challenge = challenge.filter(|c| !c.is_empty()).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "code_challenge is required (PKCE with S256)",
            )
        })?;
        if method != Some("S256") {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
        let decoded = URL_SAFE_NO_PAD
            .decode(challenge)
            .ok()
            .filter(|bytes| bytes.len() == 32);
        if challenge.len() != 43 || decoded.is_none() {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "code_challenge must be the base64url SHA-256 of the verifier",
            ));
        }
        Ok(CodeChallenge(challenge.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 section 4.6: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge`,
/// compared in constant time (security rule 9). `stored_challenge` is the challenge saved with
/// the code.
pub fn verify_s256(verifier: Option<&str>, stored_challenge: &str) -> Result<(), OAuthError> {
    let verifier = verifier
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "code_verifier is required"))?;
    if !is_verifier(verifier) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if constant_time_eq(computed.as_bytes(), stored_challenge.as_bytes()) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier does not match the code_challenge",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_s256_required() {
        assert!(CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).is_ok());
        let plain = CodeChallenge::from_request(Some(CHALLENGE), Some("plain")).unwrap_err();
        assert_eq!(plain.code, ErrorCode::InvalidRequest);
        let defaulted_to_plain = CodeChallenge::from_request(Some(CHALLENGE), None).unwrap_err();
        assert_eq!(defaulted_to_plain.code, ErrorCode::InvalidRequest);
        let missing = CodeChallenge::from_request(None, Some("S256")).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
        assert!(CodeChallenge::from_request(Some("short"), Some("S256")).is_err());
    }

    #[test]
    fn verifier_matches_rfc_7636_appendix_b() {
        assert!(verify_s256(Some(VERIFIER), CHALLENGE).is_ok());
        let wrong = verify_s256(Some(&VERIFIER.replace('d', "e")), CHALLENGE).unwrap_err();
        assert_eq!(wrong.code, ErrorCode::InvalidGrant);
        assert_eq!(
            verify_s256(None, CHALLENGE).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            verify_s256(Some("too-short"), CHALLENGE).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }
}
