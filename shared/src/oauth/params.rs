//! Request parameters (RFC 6749 section 3.1): parsed once, duplicates refused, empty values
//! treated as absent.

use super::{ErrorCode, OAuthError};
use std::collections::HashMap;

/// `Debug` shows parameter names only: values include secrets, codes and tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        write!(f, "Params {names:?}")
    }
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn from_urlencoded(bytes: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|_| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "the parameters are not valid form encoding",
            )
        })?;
        Self::from_pairs(pairs)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in pairs {
            // RFC 6749 section 3.1: "Parameters sent without a value MUST be treated as if
            // they were omitted from the request."
            if value.is_empty() {
                continue;
            }
            // "Request and response parameters MUST NOT be included more than once."
            if params.insert(name.clone(), value).is_some() {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    format!("the parameter '{name}' is repeated"),
                ));
            }
        }
        Ok(Params(params))
    }

    /// Every parameter, sorted by name: what a pushed request keeps (RFC 9126).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        pairs.sort_unstable();
        pairs
    }

    /// The same parameters with `name` set to `value`.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                format!("the parameter '{name}' is required"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_empties_ignored() {
        let params =
            Params::from_urlencoded(b"grant_type=authorization_code&scope=&code=a%2Bb").unwrap();
        assert_eq!(params.get("code"), Some("a+b"));
        assert_eq!(params.get("scope"), None);
        assert_eq!(
            params.require("scope").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            format!("{params:?}"),
            "Params [\"code\", \"grant_type\"]",
            "values never reach a log"
        );
        let repeated = Params::from_urlencoded(b"code=a&code=b").unwrap_err();
        assert_eq!(repeated.code, ErrorCode::InvalidRequest);
    }
}
