//! The scope catalogue: every scope the protected API defines and the plain-words description
//! the consent screen shows for it. Lives in `infra/scopes.toml`, compiled in.

use crate::config::ConfigError;
use crate::domain::Scope;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `infra/scopes.toml` as of this build.
pub const BUILT_IN: &str = include_str!("../../infra/scopes.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogue {
    descriptions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    scopes: BTreeMap<String, String>,
}

impl ScopeCatalogue {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            name: "XECURE_SCOPES_FILE",
            why,
        };
        let file: CatalogueFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (name, description) in &file.scopes {
            // Each entry must be a single RFC 6749 section 3.3 scope token.
            let parsed = Scope::parse(name).map_err(|e| invalid(format!("'{name}': {e}")))?;
            if parsed.len() != 1 {
                return Err(invalid(format!("'{name}' is not a single scope")));
            }
            if description.trim().is_empty() {
                return Err(invalid(format!("'{name}' has no description")));
            }
        }
        Ok(ScopeCatalogue {
            descriptions: file.scopes,
        })
    }

    pub fn built_in() -> Self {
        // Checked by a unit test, so a bad edit to the file fails the build's tests.
        Self::parse(BUILT_IN).unwrap_or_else(|_| ScopeCatalogue {
            descriptions: BTreeMap::new(),
        })
    }

    /// `XECURE_SCOPES_FILE` if set, else the built-in catalogue.
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("XECURE_SCOPES_FILE") {
            Err(_) => Self::parse(BUILT_IN),
            Ok(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                    name: "XECURE_SCOPES_FILE",
                    why: format!("cannot read {path}: {e}"),
                })?;
                Self::parse(&text)
            }
        }
    }

    pub fn knows(&self, scope: &str) -> bool {
        self.descriptions.contains_key(scope)
    }

    pub fn describe(&self, scope: &str) -> Option<&str> {
        self.descriptions.get(scope).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.descriptions.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_parses() {
        let catalogue = ScopeCatalogue::parse(BUILT_IN).unwrap();
        assert!(catalogue.knows("orders:read"));
        assert!(catalogue.describe("profile:read").is_some());
        assert!(!catalogue.knows("admin"));
    }

    #[test]
    fn bad_catalogues_are_refused() {
        for text in [
            "[scopes]\n\"two words\" = \"x\"",
            "[scopes]\n\"a\\\"b\" = \"x\"",
            "[scopes]\n\"ok\" = \"  \"",
            "[other]\n",
            "not toml at all [",
        ] {
            assert!(ScopeCatalogue::parse(text).is_err(), "{text}");
        }
    }
}
