//! Which of a user's claims each scope releases (OpenID Connect Core section 5.4): `profile`
//! gives the name, username and when they changed; `email` the address and whether it is
//! verified. Nothing is released for a scope the user did not grant.

use crate::domain::{Scope, User};
pub use crate::scopes::CLAIMS_SUPPORTED;
use serde_json::{Map, Value};

/// The claims of `user` that `scope` releases, beside `sub` (which the caller adds).
pub fn released_claims(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut claims = Map::new();
    if scope.contains("profile") {
        if let Some(name) = &user.profile.name {
            claims.insert("name".into(), Value::from(name.as_str()));
        }
        claims.insert(
            "preferred_username".into(),
            Value::from(user.username.as_str()),
        );
        // Section 5.1: "seconds from 1970-01-01T00:00:00Z"; the account's creation when
        // the profile never changed.
        let updated = user.profile.updated_at.unwrap_or(user.created_at);
        claims.insert("updated_at".into(), Value::from(updated.as_secs()));
    }
    if scope.contains("email") {
        if let Some(email) = &user.profile.email {
            claims.insert("email".into(), Value::from(email.as_str()));
            claims.insert(
                "email_verified".into(),
                Value::from(user.profile.email_verified),
            );
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PasswordHash, Timestamp, UserId, UserProfile, Username};

    fn user() -> User {
        User {
            profile: UserProfile {
                name: Some("Ada Lovelace".into()),
                email: Some("ada@example.org".into()),
                email_verified: true,
                updated_at: Some(Timestamp::from_secs(1_800_000_000)),
            },
            ..User::new(
                UserId::parse("usr_1").unwrap(),
                Username::parse("ada").unwrap(),
                PasswordHash::from_phc("x".into()),
                Timestamp::from_secs(1_700_000_000),
            )
        }
    }

    #[test]
    fn each_scope_releases_only_its_own_claims() {
        let only_openid = released_claims(&user(), &Scope::parse("openid").unwrap());
        assert!(only_openid.is_empty());
        let profile = released_claims(&user(), &Scope::parse("openid profile").unwrap());
        assert_eq!(profile["name"], "Ada Lovelace");
        assert_eq!(profile["preferred_username"], "ada");
        assert_eq!(profile["updated_at"], 1_800_000_000);
        assert!(profile.get("email").is_none());
        let email = released_claims(&user(), &Scope::parse("openid email").unwrap());
        assert_eq!(email["email"], "ada@example.org");
        assert_eq!(email["email_verified"], true);
        assert!(email.get("name").is_none());
    }
}
