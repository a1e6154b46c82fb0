use super::{ClientId, ClientSecret, RedirectUri, Scope, SecretHash, Timestamp, TokenDigest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// RFC 6749 section 2.1 client types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientKind {
    /// Can keep a secret (a server-side app); authenticates at the token endpoint.
    Confidential { secret_hash: SecretHash },
    /// A native or browser app; authenticates with PKCE only.
    Public,
}

/// Grant types Xecure supports. Implicit and password grants do not exist here (rule 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    /// Shown to users on the consent screen and the connected-apps page.
    pub display_name: String,
    pub kind: ClientKind,
    pub redirect_uris: Vec<RedirectUri>,
    pub allowed_scopes: Scope,
    /// Used when an authorization request has no `scope` (RFC 6749 section 3.3).
    pub default_scopes: Scope,
    pub grant_types: BTreeSet<GrantType>,
    pub created_at: Timestamp,
    /// Switched off by an operator (`xecure client disable`): every OAuth endpoint treats it
    /// as unknown, and its grants and tokens were revoked when it was disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Set for a client registered through RFC 7591 (`POST /register`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<ClientRegistration>,
}

/// What dynamic registration adds to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// SHA-256 of the registration access token (RFC 7592 section 1): the only credential
    /// that reads, changes or deletes the registration.
    pub access_token: TokenDigest,
    /// As registered (RFC 7591 section 2), echoed in every registration response.
    pub token_endpoint_auth_method: String,
}

impl Client {
    pub fn is_public(&self) -> bool {
        matches!(self.kind, ClientKind::Public)
    }

    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// The registered URI the request matches (security rule 1), if any.
    pub fn registered_redirect(&self, requested: &RedirectUri) -> Option<&RedirectUri> {
        self.redirect_uris
            .iter()
            .find(|registered| registered.matches_request(requested))
    }

    /// False for public clients: they have no secret to present.
    pub fn verify_secret(&self, presented: &ClientSecret) -> bool {
        match &self.kind {
            ClientKind::Confidential { secret_hash } => secret_hash.verify(presented),
            ClientKind::Public => false,
        }
    }
}
