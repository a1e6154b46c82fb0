//! RFC 6749 section 3.3: `scope = scope-token *( SP scope-token )`,
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`; the order does not matter.

use super::error::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(BTreeSet<String>);

fn is_scope_token_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

impl Scope {
    /// Parses the space-delimited form. Leading, trailing or doubled spaces are rejected:
    /// the grammar allows exactly one SP between tokens.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() {
            return Ok(Scope::default());
        }
        let mut tokens = BTreeSet::new();
        for token in raw.split(' ') {
            if token.is_empty() {
                return Err(DomainError::invalid(
                    "scope",
                    "scope tokens are separated by single spaces",
                ));
            }
            if !token.chars().all(is_scope_token_char) {
                return Err(DomainError::invalid(
                    "scope",
                    format!("'{}' is not a valid scope token", token.escape_default()),
                ));
            }
            tokens.insert(token.to_owned());
        }
        Ok(Scope(tokens))
    }

    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = tokens.into_iter().map(|t| t.as_ref().to_owned()).collect();
        Scope::parse(&joined.join(" "))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    /// Tokens of `self` that `allowed` does not contain, for error messages.
    pub fn not_in<'a>(&'a self, allowed: &'a Scope) -> Vec<&'a str> {
        self.0.difference(&allowed.0).map(String::as_str).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens: Vec<&str> = self.iter().collect();
        f.pad(&tokens.join(" "))
    }
}

impl TryFrom<String> for Scope {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        Scope::parse(&raw)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        scope.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_order() {
        let scope = Scope::parse("orders:write profile:read orders:read").unwrap();
        assert_eq!(scope.to_string(), "orders:read orders:write profile:read");
        assert_eq!(scope.len(), 3);
    }

    #[test]
    fn rejects_characters_outside_the_grammar() {
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("caf\u{e9}").is_err());
        assert!(Scope::parse("a  b").is_err());
        assert!(Scope::parse(" a").is_err());
        assert!(Scope::parse("a\tb").is_err());
    }

    #[test]
    fn subset_and_intersection() {
        let wide = Scope::parse("a b c").unwrap();
        let narrow = Scope::parse("b").unwrap();
        assert!(narrow.is_subset_of(&wide));
        assert!(!wide.is_subset_of(&narrow));
        assert_eq!(
            wide.intersection(&Scope::parse("c d").unwrap()).to_string(),
            "c"
        );
        assert_eq!(Scope::parse("c d").unwrap().not_in(&wide), vec!["d"]);
        assert!(Scope::default().is_subset_of(&narrow));
    }

    #[test]
    fn serialises_as_the_rfc_string() {
        let scope = Scope::parse("b a").unwrap();
        assert_eq!(serde_json::to_string(&scope).unwrap(), "\"a b\"");
        let back: Scope = serde_json::from_str("\"a b\"").unwrap();
        assert_eq!(back, scope);
    }
}
