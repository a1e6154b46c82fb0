use super::{ClientId, ClientSecret, RedirectUri, Scope, SecretHash, Timestamp, TokenDigest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How a client authenticates at the token, revocation and introspection endpoints
/// (RFC 7591 section 2 `token_endpoint_auth_method`). A client must use exactly the method it
/// is registered with (security rule 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client (native or browser app): PKCE only, no secret.
    None,
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 section 2.2 / OpenID Connect Core section 9: a JWT signed with a key of the
    /// client's registered `jwks`. The client has no usable secret.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn is_public(self) -> bool {
        self == AuthMethod::None
    }
}

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
    /// As registered; None means the default for the client's kind (`token_endpoint_auth_method`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// Counts the changes that move or widen where its tokens go (redirect URIs, scopes,
    /// grant types). A user's consent is remembered only under the revision it was given for
    /// (security rule 16): after such a change users see the consent screen again.
    #[serde(default)]
    pub revision: u64,
    /// An operator vouched for this dynamically registered client (`xecure client verify`):
    /// `/authorize` may redirect errors to it before the user signs in (security rule 20).
    /// Operator-added clients are trusted by construction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    /// What the consent screen shows of the app besides its name (RFC 7591 section 2
    /// `logo_uri`, `policy_uri`, `tos_uri`): https URLs only, checked when registered.
    #[serde(default, skip_serializing_if = "ClientLinks::is_empty")]
    pub links: ClientLinks,
    /// Bumped by every write: an update applies only over the version it read (security
    /// rule 17), so a disable, an update and a delete cannot undo one another.
    #[serde(default)]
    pub version: u64,
    /// How the client wants OpenID Connect sign-ins (OIDC Dynamic Client Registration 1.0
    /// section 2).
    #[serde(default, skip_serializing_if = "OpenIdSettings::is_default")]
    pub openid: OpenIdSettings,
    /// RFC 9449 section 5.2 `dpop_bound_access_tokens`: the token endpoint refuses this
    /// client's requests without a DPoP proof, so every token it gets is bound to its key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 section 6 `require_pushed_authorization_requests`: `/authorize` takes this
    /// client's requests only through a `request_uri` from `/par`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// RFC 7591 section 2 `jwks`: the public keys a `private_key_jwt` client signs its
    /// assertions with (a JWK Set, public keys only, checked when registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// RFC 7591 section 2 `jwks_uri`: where a `private_key_jwt` client publishes those keys
    /// instead (never both). Fetched by the token function, kept per process with a bound
    /// (`oauth::client_keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// A client's OpenID Connect registration metadata (OIDC Registration section 2), as far as
/// this provider serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIdSettings {
    /// `id_token_signed_response_alg`: RS256 when absent ("The default, if omitted, is
    /// RS256"); EdDSA and ES256 on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// `post_logout_redirect_uris` (RP-Initiated Logout 1.0 section 3.1): where the end
    /// session endpoint may send the browser back, matched exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// `require_auth_time`: the ID token always carries `auth_time` here, so this only
    /// records what the client asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_auth_time: bool,
    /// `default_max_age` in seconds: applies when a request has no `max_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_age: Option<u64>,
    /// Refuse an `openid` request without a `nonce` (an operator setting; OIDC Core section
    /// 3.1.2.1 leaves `nonce` optional in the code flow).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_nonce: bool,
}

impl OpenIdSettings {
    pub fn is_default(&self) -> bool {
        *self == OpenIdSettings::default()
    }
}

/// The app's logo and its privacy policy and terms, as its developer registered them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
}

impl ClientLinks {
    pub fn is_empty(&self) -> bool {
        self.logo_uri.is_none() && self.policy_uri.is_none() && self.tos_uri.is_none()
    }
}

/// What dynamic registration adds to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// SHA-256 of the registration access token (RFC 7592 section 1): the only credential
    /// that reads, changes or deletes the registration.
    pub access_token: TokenDigest,
    /// When the registration access token stops working; every update rotates the token and
    /// moves this (RFC 7592 section 2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<Timestamp>,
}

impl Client {
    /// A client with no redirect URI, scope or grant type yet, enabled, at revision 0: the
    /// base every other client is written from (`Client { .., ..Client::new(..) }`).
    pub fn new(
        id: ClientId,
        display_name: impl Into<String>,
        kind: ClientKind,
        created_at: Timestamp,
    ) -> Client {
        Client {
            id,
            display_name: display_name.into(),
            kind,
            redirect_uris: Vec::new(),
            allowed_scopes: Scope::default(),
            default_scopes: Scope::default(),
            grant_types: BTreeSet::new(),
            created_at,
            disabled: false,
            registration: None,
            auth_method: None,
            revision: 0,
            verified: false,
            links: ClientLinks::default(),
            version: 1,
            openid: OpenIdSettings::default(),
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            jwks: None,
            jwks_uri: None,
        }
    }

    /// The method this client must authenticate with: as registered, else
    /// `client_secret_basic` for confidential clients (RFC 7591 section 2: "If unspecified or
    /// omitted, the default is client_secret_basic") and `none` for public ones.
    pub fn token_endpoint_auth_method(&self) -> AuthMethod {
        match (&self.kind, self.auth_method) {
            (ClientKind::Public, _) => AuthMethod::None,
            (ClientKind::Confidential { .. }, Some(method)) if !method.is_public() => method,
            (ClientKind::Confidential { .. }, _) => AuthMethod::ClientSecretBasic,
        }
    }

    /// Operator-added clients, and registered ones an operator verified: `/authorize` may
    /// send error responses to their redirect URIs before anyone signed in (RFC 9700 section
    /// 4.11.2, security rule 20).
    pub fn is_trusted(&self) -> bool {
        self.registration.is_none() || self.verified
    }

    /// What changed from `before` to `self` that moves or widens where tokens go, or changes
    /// what they may carry: a redirect URI added, the scopes or the grant types changed.
    /// Removing a redirect URI or renaming the client is not such a change.
    pub fn materially_changed_from(&self, before: &Client) -> bool {
        let added_redirect = self
            .redirect_uris
            .iter()
            .any(|uri| !before.redirect_uris.contains(uri));
        added_redirect
            || self.allowed_scopes != before.allowed_scopes
            || self.grant_types != before.grant_types
    }

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
