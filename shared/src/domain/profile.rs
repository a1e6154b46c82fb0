//! What a user's account says about them beyond the login name: the OpenID Connect standard
//! claims (Core section 5.1) that the `profile` and `email` scopes release.

use super::error::DomainError;
use super::Timestamp;
use serde::{Deserialize, Serialize};

const MAX_NAME_CHARS: usize = 200;
/// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// `name`: the full name, as the user would like to be shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`: an operator confirmed the address belongs to the user.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub email_verified: bool,
    /// `updated_at`: when the profile last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl UserProfile {
    pub fn is_empty(&self) -> bool {
        *self == UserProfile::default()
    }
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// An email address in its plain `local@domain` form: one '@', a dot-separated domain, no
/// spaces or angle brackets (display names and comments are not addresses). The domain is
/// lower-cased; the local part is kept as typed (RFC 5321 section 2.4: it may be case
/// sensitive).
pub fn parse_email(raw: &str) -> Result<String, DomainError> {
    let address = raw.trim();
    let invalid = || DomainError::invalid("email", format!("'{address}' is not an address"));
    if address.chars().count() > MAX_EMAIL_CHARS
        || address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')'))
    {
        return Err(invalid());
    }
    let (local, domain) = address.split_once('@').ok_or_else(invalid)?;
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && !domain.contains('@');
    if local.is_empty() || !labels_ok {
        return Err(invalid());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(parse_name(" ").is_err());
        assert!(parse_name("a\u{7}b").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn emails_take_the_plain_form_only() {
        assert_eq!(
            parse_email("Ada.L@Example.ORG").unwrap(),
            "Ada.L@example.org"
        );
        for bad in [
            "ada",
            "@example.org",
            "ada@",
            "ada@localhost",
            "ada@@example.org",
            "Ada <ada@example.org>",
            "ada @example.org",
            "ada@example..org",
            "ada@-x.org",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
