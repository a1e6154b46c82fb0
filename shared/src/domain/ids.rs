//! Typed identifiers. Each is limited to RFC 3986 unreserved characters so it can never break
//! a store key (which uses `#` as separator), a URL or a log line.

use super::error::DomainError;
use super::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_ID_LEN: usize = 128;

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn check_id(what: &'static str, raw: &str) -> Result<(), DomainError> {
    if raw.is_empty() || raw.len() > MAX_ID_LEN {
        return Err(DomainError::invalid(
            what,
            format!("must be 1 to {MAX_ID_LEN} characters"),
        ));
    }
    if !raw.chars().all(is_unreserved) {
        return Err(DomainError::invalid(
            what,
            "may contain only letters, digits, '-', '.', '_' and '~'",
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                check_id($what, raw)?;
                Ok($name(raw.to_owned()))
            }

            /// A fresh random id (128 bits) with a readable prefix.
            pub fn generate(rng: &dyn Rng) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill(&mut bytes);
                $name($crate::lower_hex::prefixed_lower_hex($prefix, &bytes))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(raw: String) -> Result<Self, DomainError> {
                check_id($what, &raw)?;
                Ok($name(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
    };
}

string_id!(/// A registered OAuth client (RFC 6749 section 2.2).
    ClientId, "client_id", "cli_");
string_id!(/// A stable, non-identifying user id: the `sub` of the user's tokens.
    UserId, "user id", "usr_");
string_id!(/// One user's consent to one client.
    GrantId, "grant id", "grt_");
string_id!(/// The chain of refresh tokens that rotated from one authorization code.
    FamilyId, "refresh family id", "fam_");
string_id!(/// One audit record or revocation entry.
    EventId, "event id", "evt_");
string_id!(/// A signing key's `kid` (RFC 7517 section 4.5).
    KeyId, "key id", "key_");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn ids_reject_key_separators_and_empties() {
        assert!(ClientId::parse("demo-app").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a#b").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn generated_ids_are_prefixed_and_distinct() {
        let rng = SeqRng::new(1);
        let a = UserId::generate(&rng);
        let b = UserId::generate(&rng);
        assert!(a.as_str().starts_with("usr_"));
        assert_ne!(a, b);
        assert!(UserId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn deserialising_validates() {
        let bad: Result<ClientId, _> = serde_json::from_str("\"a#b\"");
        assert!(bad.is_err());
    }
}
