//! The scope catalogue: every scope the protected API defines, the plain-words description
//! the consent screen shows for it, and whether a client may hold it with no user behind it
//! (`client_credentials`). Lives in `infra/scopes.toml`, compiled in.

use crate::config::ConfigError;
use crate::domain::Scope;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `infra/scopes.toml` as of this build.
pub const BUILT_IN: &str = include_str!("../../infra/scopes.toml");

/// OpenID Connect Core section 3.1.2.1: a request for `openid` is an OpenID Connect request.
pub const OPENID: &str = "openid";

/// The OpenID Connect scopes (Core section 5.4) this provider serves, with what the consent
/// screen says of each. Always in the catalogue; a catalogue file may reword them.
pub const OPENID_SCOPES: [(&str, &str); 3] = [
    (
        OPENID,
        "Sign you in with your account (the app learns an identifier for you, never your password)",
    ),
    ("profile", "See your name and username"),
    ("email", "See your email address and whether it is verified"),
];

/// Every claim this provider can release: the ID token's own and those the OpenID scopes
/// release (`oauth::openid::claims`); Discovery's `claims_supported`.
pub const CLAIMS_SUPPORTED: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "amr",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogue {
    descriptions: BTreeMap<String, String>,
    /// Scopes a client may get for itself (`client_credentials`). Every other scope acts on a
    /// user's data and only a user's consent grants it.
    without_user: Scope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    scopes: BTreeMap<String, ScopeEntry>,
}

/// `"name" = "description"`, or a table that also says whether a client may hold the scope
/// with no user behind it.
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum ScopeEntry {
    Described(String),
    Detailed {
        description: String,
        #[serde(default)]
        client_credentials: bool,
    },
}

impl ScopeEntry {
    fn description(&self) -> &str {
        match self {
            ScopeEntry::Described(description) | ScopeEntry::Detailed { description, .. } => {
                description
            }
        }
    }

    fn without_user(&self) -> bool {
        matches!(
            self,
            ScopeEntry::Detailed {
                client_credentials: true,
                ..
            }
        )
    }
}

impl ScopeCatalogue {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            name: "XECURE_SCOPES_FILE",
            why,
        };
        let file: CatalogueFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (name, entry) in &file.scopes {
            // Each entry must be a single RFC 6749 section 3.3 scope token.
            let parsed = Scope::parse(name).map_err(|e| invalid(format!("'{name}': {e}")))?;
            if parsed.len() != 1 {
                return Err(invalid(format!("'{name}' is not a single scope")));
            }
            if entry.description().trim().is_empty() {
                return Err(invalid(format!("'{name}' has no description")));
            }
        }
        let without_user = file
            .scopes
            .iter()
            .filter(|(_, entry)| entry.without_user())
            .map(|(name, _)| name.as_str());
        let without_user = Scope::from_tokens(without_user).map_err(|e| invalid(e.to_string()))?;
        let mut descriptions: BTreeMap<String, String> = file
            .scopes
            .iter()
            .map(|(name, entry)| (name.clone(), entry.description().to_owned()))
            .collect();
        for (name, description) in OPENID_SCOPES {
            descriptions
                .entry(name.to_owned())
                .or_insert_with(|| description.to_owned());
        }
        Ok(ScopeCatalogue {
            descriptions,
            without_user,
        })
    }

    pub fn built_in() -> Self {
        // Checked by a unit test, so a bad edit to the file fails the build's tests.
        Self::parse(BUILT_IN).unwrap_or_else(|_| ScopeCatalogue {
            descriptions: BTreeMap::new(),
            without_user: Scope::default(),
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

    /// The scopes a client may hold with no user behind it (`client_credentials`).
    pub fn without_user(&self) -> &Scope {
        &self.without_user
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
        assert_eq!(catalogue.without_user().to_string(), "orders:read");
        for (name, _) in OPENID_SCOPES {
            assert!(catalogue.knows(name), "{name} is always served");
        }
    }

    #[test]
    fn entries_say_whether_a_client_may_hold_them_without_a_user() {
        let catalogue = ScopeCatalogue::parse(
            "[scopes]\n\"a\" = \"A\"\n\"b\" = { description = \"B\", client_credentials = true }\n\"c\" = { description = \"C\" }",
        )
        .unwrap();
        assert_eq!(catalogue.describe("b"), Some("B"));
        assert_eq!(catalogue.without_user().to_string(), "b");
        assert!(
            ScopeCatalogue::parse("[scopes]\n\"d\" = { description = \"D\", other = 1 }").is_err()
        );
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
