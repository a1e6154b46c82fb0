//! What the backend behind API Gateway receives with an allowed call, and how it tells that
//! the call came through the gateway (security rule 22).
//!
//! The integration sets the caller's identity from the authorizer context, replacing any
//! header of the same name the caller sent, and adds the origin secret: a value only the
//! gateway's integration and the backend know (template parameter `OriginVerifySecret`). A
//! request that reaches the backend directly, around the gateway, lacks it, so its identity
//! headers are not to be believed. The backend compares in constant time and accepts a
//! second value while a new secret is rolled out (README, "Prove the gateway to the backend").

use subtle::ConstantTimeEq;

/// Header and authorizer-context key of each identity value the backend receives.
pub const IDENTITY_HEADERS: [(&str, &str); 3] = [
    ("X-Xecure-Sub", "sub"),
    ("X-Xecure-Client-Id", "client_id"),
    ("X-Xecure-Scope", "scope"),
];

/// The header carrying the origin secret.
pub const ORIGIN_VERIFY_HEADER: &str = "X-Xecure-Origin-Verify";

/// Whether `presented` (the request's `X-Xecure-Origin-Verify`, if any) is one of the
/// `accepted` secrets. Every candidate is compared, in constant time, so the answer's timing
/// says nothing about which one matched or how much of it.
pub fn origin_verified(presented: Option<&[u8]>, accepted: &[&[u8]]) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let mut matched = subtle::Choice::from(0);
    for secret in accepted.iter().filter(|secret| !secret.is_empty()) {
        matched |= presented.ct_eq(secret);
    }
    matched.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_22_only_an_accepted_secret_proves_the_gateway() {
        let current: &[u8] = b"current-secret-0123456789abcdefghijkl";
        let previous: &[u8] = b"previous-secret-0123456789abcdefghijk";
        assert!(origin_verified(Some(current), &[current]));
        assert!(
            origin_verified(Some(previous), &[current, previous]),
            "rollover"
        );
        assert!(!origin_verified(Some(previous), &[current]));
        assert!(!origin_verified(None, &[current]));
        assert!(!origin_verified(Some(b""), &[current]));
        assert!(
            !origin_verified(Some(&current[..10]), &[current]),
            "a prefix"
        );
        // An empty accepted value (an unset variable) never matches an empty header.
        assert!(!origin_verified(Some(b""), &[b""]));
    }
}
