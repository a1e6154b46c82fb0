//! Authorization server metadata (RFC 8414 section 2), listing only what is implemented.

use crate::config::OAuthConfig;
use crate::scopes::{ScopeCatalogue, CLAIMS_SUPPORTED};
use serde_json::{json, Value};

pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const AUTHORIZE_PATH: &str = "/authorize";
pub const LOGIN_PATH: &str = "/login";
pub const CONSENT_PATH: &str = "/consent";
pub const TOKEN_PATH: &str = "/token";
pub const REVOKE_PATH: &str = "/revoke";
pub const INTROSPECT_PATH: &str = "/introspect";
pub const JWKS_PATH: &str = "/jwks.json";
/// The connected-apps page, its revoke form, and the same as JSON for account UIs.
pub const APPS_PATH: &str = "/apps";
pub const APPS_REVOKE_PATH: &str = "/apps/revoke";
pub const APPS_API_PATH: &str = "/api/apps";
/// The user's account page: sessions, password, connected apps.
pub const ACCOUNT_PATH: &str = "/account";
pub const ACCOUNT_PASSWORD_PATH: &str = "/account/password";
pub const ACCOUNT_END_SESSION_PATH: &str = "/account/sessions/end";
pub const ACCOUNT_SIGN_OUT_EVERYWHERE_PATH: &str = "/account/sign-out-everywhere";
/// Signing out: POST ends the session, GET says so; with an RP's parameters it is the end
/// session endpoint (OpenID Connect RP-Initiated Logout 1.0).
pub const LOGOUT_PATH: &str = "/logout";
/// OpenID Connect Discovery 1.0 section 4.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// OpenID Connect Core section 5.3.
pub const USERINFO_PATH: &str = "/userinfo";
/// Dynamic client registration (RFC 7591); `/register/{client_id}` is each client's
/// configuration endpoint (RFC 7592).
pub const REGISTER_PATH: &str = "/register";
/// RFC 9126: the pushed authorization request endpoint.
pub const PAR_PATH: &str = "/par";

/// How confidential clients authenticate; public clients add `none`.
const CONFIDENTIAL_AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];
const CLIENT_AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

pub fn metadata(config: &OAuthConfig, catalogue: &ScopeCatalogue) -> Value {
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.endpoint(AUTHORIZE_PATH),
        "token_endpoint": config.endpoint(TOKEN_PATH),
        "jwks_uri": config.endpoint(JWKS_PATH),
        "revocation_endpoint": config.endpoint(REVOKE_PATH),
        "introspection_endpoint": config.endpoint(INTROSPECT_PATH),
        // RFC 9126 section 5: clients may push their requests; a client registered with
        // require_pushed_authorization_requests must.
        "pushed_authorization_request_endpoint": config.endpoint(PAR_PATH),
        "require_pushed_authorization_requests": false,
        // RFC 7591 section 3 (protected by an initial access token).
        "registration_endpoint": config.endpoint(REGISTER_PATH),
        // Security rule 6: no implicit grant (no "token" response type), no password grant.
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        // Security rule 3: S256 only.
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        // Public clients may not introspect (rule 21).
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        // RFC 7523 / OIDC Core section 9: what a private_key_jwt assertion may be signed with.
        "token_endpoint_auth_signing_alg_values_supported": crate::dpop::algorithm_names(),
        // RFC 9207: the authorization response carries `iss` (security rule 5).
        "authorization_response_iss_parameter_supported": true,
        // The same lists as the OpenID Connect discovery document (openid::discovery).
        "scopes_supported": catalogue.names().collect::<Vec<_>>(),
        "claims_supported": CLAIMS_SUPPORTED,
        // RFC 9449 section 5.1: the proof algorithms the token endpoint and the gateway accept.
        "dpop_signing_alg_values_supported": crate::dpop::algorithm_names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_endpoints_under_the_issuer() {
        let doc = metadata(
            &OAuthConfig::for_issuer("https://auth.example"),
            &ScopeCatalogue::built_in(),
        );
        assert_eq!(doc["issuer"], "https://auth.example");
        assert_eq!(doc["token_endpoint"], "https://auth.example/token");
        assert_eq!(doc["jwks_uri"], "https://auth.example/jwks.json");
        assert_eq!(
            doc["registration_endpoint"],
            "https://auth.example/register"
        );
    }

    #[test]
    fn no_implicit_or_password_grant() {
        let doc = metadata(
            &OAuthConfig::for_issuer("https://auth.example"),
            &ScopeCatalogue::built_in(),
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        let grants = doc["grant_types_supported"].as_array().unwrap();
        assert!(!grants.contains(&json!("password")) && !grants.contains(&json!("implicit")));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    }
}
