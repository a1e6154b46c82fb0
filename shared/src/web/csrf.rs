//! CSRF tokens bound to the browser's session cookie (security rule 12). The token is a
//! SHA-256 of a fixed label and the cookie value: only a page that could read the HttpOnly
//! cookie, i.e. ours, can know it, it changes when the session changes (login rotates the
//! cookie), and nothing needs storing. The label keeps it apart from the session's store
//! digest, which is SHA-256 of the value alone.

use crate::domain::secret::constant_time_eq;
use crate::domain::OpaqueToken;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const LABEL: &[u8] = b"xecure csrf v1\0";

/// The token every form of this browser carries.
pub fn csrf_token(cookie: &OpaqueToken) -> String {
    let mut hasher = Sha256::new();
    hasher.update(LABEL);
    hasher.update(cookie.secret().as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// True only if both are present and match (compared in constant time).
pub fn csrf_matches(cookie: Option<&OpaqueToken>, presented: Option<&str>) -> bool {
    match (cookie, presented) {
        (Some(cookie), Some(presented)) => {
            constant_time_eq(csrf_token(cookie).as_bytes(), presented.as_bytes())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_cookie() {
        let cookie = OpaqueToken::new("cookie-a");
        let token = csrf_token(&cookie);
        assert!(csrf_matches(Some(&cookie), Some(&token)));
        assert!(!csrf_matches(
            Some(&OpaqueToken::new("cookie-b")),
            Some(&token)
        ));
        assert!(!csrf_matches(None, Some(&token)));
        assert!(!csrf_matches(Some(&cookie), None));
        assert!(!csrf_matches(Some(&cookie), Some("")));
        assert_ne!(token, cookie.digest().as_str());
    }
}
