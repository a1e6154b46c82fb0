use super::error::DomainError;
use super::Rng;
use super::{Password, Timestamp, UserId, UserProfile};
use argon2::password_hash::phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A login name, normalised (trimmed, lower-case) so that "Alice" and "alice" are one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

const MAX_USERNAME_LEN: usize = 64;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() || normalised.chars().count() > MAX_USERNAME_LEN {
            return Err(DomainError::invalid(
                "username",
                format!("must be 1 to {MAX_USERNAME_LEN} characters"),
            ));
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
        {
            return Err(DomainError::invalid(
                "username",
                "must not contain spaces, control characters or '#'",
            ));
        }
        Ok(Username(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        Username::parse(&raw)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> String {
        name.0
    }
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

const SALT_BYTES: usize = 16;

impl PasswordHash {
    /// argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes, 1 lane).
    pub fn create(password: &Password, rng: &dyn Rng) -> Result<Self, DomainError> {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill(&mut salt);
        let hash = Argon2::default()
            .hash_password_with_salt(password.secret().as_bytes(), &salt)
            .map_err(|e| DomainError::invalid("password", e.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Verification takes the parameters from the stored hash, so raising them later keeps
    /// old hashes valid. A malformed stored hash verifies nothing.
    pub fn verify(&self, password: &Password) -> bool {
        match phc::PasswordHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.secret().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    pub fn from_phc(phc: String) -> Self {
        PasswordHash(phc)
    }

    /// The PHC string, for the login's hashing threads (`crate::hashing::verify_phc`).
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub password_hash: PasswordHash,
    pub created_at: Timestamp,
    /// A disabled user cannot log in, and no session, code, refresh token or access token of
    /// theirs works (security rule 16). Their grants (consents) stay.
    #[serde(default)]
    pub disabled: bool,
    /// Every credential that rests on a sign-in at or before this instant is void: sessions,
    /// codes, refresh families and (at the gateway) access tokens. Disabling, a new password
    /// and "sign out everywhere" move it to now; nothing moves it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_valid_after: Option<Timestamp>,
    /// Optimistic-concurrency version: an update applies only over the version it read
    /// (security rule 17), so two operators' changes cannot silently undo each other.
    #[serde(default)]
    pub version: u64,
    /// Name and email, released to apps only for the scopes the user granted (OpenID Connect
    /// Core section 5.4).
    #[serde(default, skip_serializing_if = "UserProfile::is_empty")]
    pub profile: UserProfile,
}

impl User {
    /// A new, enabled account at version 1.
    pub fn new(
        id: UserId,
        username: Username,
        password_hash: PasswordHash,
        now: Timestamp,
    ) -> User {
        User {
            id,
            username,
            password_hash,
            created_at: now,
            disabled: false,
            credentials_valid_after: None,
            version: 1,
            profile: UserProfile::default(),
        }
    }

    /// Does a credential resting on a sign-in at `authenticated_at` still stand?
    pub fn accepts_sign_in_from(&self, authenticated_at: Timestamp) -> bool {
        !self.disabled
            && self
                .credentials_valid_after
                .is_none_or(|cut| authenticated_at > cut)
    }

    /// The account after a control that voids every credential issued up to `now`, at the
    /// next version.
    pub fn cut_at(&self, now: Timestamp) -> User {
        User {
            credentials_valid_after: Some(self.credentials_valid_after.map_or(now, |c| c.max(now))),
            version: self.version + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn usernames_are_normalised() {
        assert_eq!(Username::parse("  Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a#b").is_err());
    }

    #[test]
    fn argon2id_hash_verifies_only_the_password() {
        let hash = PasswordHash::create(&Password::new("correct horse"), &SeqRng::new(1)).unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(hash.verify(&Password::new("correct horse")));
        assert!(!hash.verify(&Password::new("correct horsE")));
        assert!(!PasswordHash::from_phc("garbage".into()).verify(&Password::new("x")));
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }
}
