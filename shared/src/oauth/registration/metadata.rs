//! Client metadata as a developer sends it (RFC 7591 section 2), checked into what a
//! `Client` needs. Unknown fields are ignored, as section 2 requires.

use super::redirect::registrable_redirect_uri;
use crate::config::RemoteHosts;
pub use crate::domain::AuthMethod;
use crate::domain::{ClientLinks, GrantType, OpenIdSettings, RedirectUri, Scope};
use crate::oauth::{ErrorCode, OAuthError};
use crate::scopes::ScopeCatalogue;
use crate::signing::SigningAlgorithm;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Longest `client_name` accepted; it is shown on the consent screen.
const MAX_NAME_LEN: usize = 100;
/// At most this many redirect URIs per client.
const MAX_REDIRECT_URIS: usize = 20;

/// The fields we understand, as sent. Types are checked by serde; values below.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SentMetadata {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    // OpenID Connect Dynamic Client Registration 1.0 section 2.
    pub id_token_signed_response_alg: Option<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub subject_type: Option<String>,
    pub require_auth_time: Option<bool>,
    pub default_max_age: Option<u64>,
    // RFC 9449 section 5.2 and RFC 9126 section 6.
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    // RFC 7591 section 2: the keys of a private_key_jwt client.
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
}

/// Checked metadata, ready to become a `Client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<RedirectUri>,
    pub auth_method: AuthMethod,
    pub grant_types: BTreeSet<GrantType>,
    pub client_name: String,
    pub scope: Scope,
    pub links: ClientLinks,
    pub openid: OpenIdSettings,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
}

impl ClientMetadata {
    /// `client` with this metadata: name, redirect URIs, scopes (also its defaults), grant
    /// types and authentication method. An operator vouched for the app as it presented
    /// itself and for where it sent users (`xecure client verify`, security rule 20): if the
    /// app changes its name, links, logo or any redirect URI, it is unverified again.
    pub fn applied_to(&self, client: crate::domain::Client) -> crate::domain::Client {
        let presents_differently = self.client_name != client.display_name
            || self.redirect_uris != client.redirect_uris
            || self.openid.post_logout_redirect_uris != client.openid.post_logout_redirect_uris
            || self.links != client.links;
        crate::domain::Client {
            verified: client.verified && !presents_differently,
            display_name: self.client_name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            allowed_scopes: self.scope.clone(),
            default_scopes: self.scope.clone(),
            grant_types: self.grant_types.clone(),
            auth_method: Some(self.auth_method),
            links: self.links.clone(),
            openid: OpenIdSettings {
                // An operator's setting, not the developer's to change.
                require_nonce: client.openid.require_nonce,
                ..self.openid.clone()
            },
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            ..client
        }
    }
}

fn invalid(why: impl Into<String>) -> OAuthError {
    // RFC 7591 section 3.2.2: "invalid_client_metadata: The value of one of the client
    // metadata fields is invalid and the server has rejected this request."
    OAuthError::new(ErrorCode::InvalidClientMetadata, why)
}

impl ClientMetadata {
    /// `hosts`: where a `jwks_uri` may point (`OAuthConfig::jwks_uri_hosts`).
    pub(super) fn check(
        sent: SentMetadata,
        catalogue: &ScopeCatalogue,
        hosts: RemoteHosts,
    ) -> Result<Self, OAuthError> {
        let auth_method = match sent.token_endpoint_auth_method.as_deref() {
            // Section 2: "If unspecified or omitted, the default is client_secret_basic".
            None => AuthMethod::ClientSecretBasic,
            Some(raw) => AuthMethod::parse(raw).ok_or_else(|| {
                invalid(format!(
                    "token_endpoint_auth_method '{raw}' is not supported (none, client_secret_basic, client_secret_post, private_key_jwt)"
                ))
            })?,
        };
        let (jwks, jwks_uri) = client_keys(auth_method, sent.jwks, sent.jwks_uri, hosts)?;
        let grant_types = grant_types(sent.grant_types, auth_method)?;
        let uses_code = grant_types.contains(&GrantType::AuthorizationCode);
        check_response_types(sent.response_types, uses_code)?;
        let redirect_uris = sent.redirect_uris.unwrap_or_default();
        if uses_code && redirect_uris.is_empty() {
            // RFC 7591 section 2: redirect_uris is required for redirect-based flows.
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                "redirect_uris is required for the authorization_code grant",
            ));
        }
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::new(
                ErrorCode::InvalidRedirectUri,
                format!("at most {MAX_REDIRECT_URIS} redirect URIs"),
            ));
        }
        let redirect_uris = redirect_uris
            .iter()
            .map(|raw| registrable_redirect_uri(raw))
            .collect::<Result<Vec<_>, _>>()?;
        let scope = scope(sent.scope, catalogue)?;
        check_scopes_without_user(&grant_types, &scope, catalogue)?;
        subject_type(sent.subject_type.as_deref())?;
        Ok(ClientMetadata {
            redirect_uris,
            auth_method,
            grant_types,
            client_name: client_name(sent.client_name)?,
            scope,
            links: ClientLinks {
                logo_uri: https_link("logo_uri", sent.logo_uri)?,
                policy_uri: https_link("policy_uri", sent.policy_uri)?,
                tos_uri: https_link("tos_uri", sent.tos_uri)?,
            },
            openid: OpenIdSettings {
                id_token_signed_response_alg: id_token_alg(sent.id_token_signed_response_alg)?,
                post_logout_redirect_uris: post_logout_redirect_uris(
                    sent.post_logout_redirect_uris,
                )?,
                require_auth_time: sent.require_auth_time.unwrap_or(false),
                default_max_age: sent.default_max_age,
                require_nonce: false,
            },
            dpop_bound_access_tokens: sent.dpop_bound_access_tokens.unwrap_or(false),
            require_pushed_authorization_requests: sent
                .require_pushed_authorization_requests
                .unwrap_or(false),
            jwks,
            jwks_uri,
        })
    }
}

/// A client's keys as registered: the RFC 7591 section 2 `jwks` (by value) or
/// `jwks_uri` (by reference, fetched by the token function: `oauth::client_keys`), one of
/// them required for and only kept with `private_key_jwt`. Section 2: "The jwks_uri and
/// jwks parameters MUST NOT both be present in the same request or response."
type RegisteredKeys = (Option<serde_json::Value>, Option<String>);

fn client_keys(
    method: AuthMethod,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    hosts: RemoteHosts,
) -> Result<RegisteredKeys, OAuthError> {
    match (method, jwks, jwks_uri) {
        (_, Some(_), Some(_)) => Err(invalid("send jwks or jwks_uri, not both")),
        (AuthMethod::PrivateKeyJwt, Some(jwks), None) => {
            crate::oauth::client_assertion::check_client_jwks(&jwks)
                .map_err(|why| invalid(format!("jwks: {why}")))?;
            Ok((Some(jwks), None))
        }
        (AuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            let url =
                crate::oauth::client_keys::address::check_jwks_uri(&uri, hosts).map_err(invalid)?;
            Ok((None, Some(url.to_string())))
        }
        (AuthMethod::PrivateKeyJwt, None, None) => Err(invalid(
            "private_key_jwt needs the client's public keys in jwks or at jwks_uri",
        )),
        (_, Some(_), None) | (_, None, Some(_)) => {
            Err(invalid("jwks and jwks_uri are only for private_key_jwt"))
        }
        (_, None, None) => Ok((None, None)),
    }
}

/// OIDC Registration section 2 `id_token_signed_response_alg`: one this provider signs ID
/// tokens with; never `none` (OIDC Core section 3.1.3.7 expects a signature in this flow).
fn id_token_alg(sent: Option<String>) -> Result<Option<String>, OAuthError> {
    let Some(raw) = sent else {
        return Ok(None);
    };
    let algorithm = SigningAlgorithm::parse(&raw).map_err(|_| {
        invalid(format!(
            "id_token_signed_response_alg '{raw}' is not supported (RS256, EdDSA, ES256)"
        ))
    })?;
    Ok(Some(algorithm.jws_name().to_owned()))
}

/// RP-Initiated Logout 1.0 section 3.1: the same rules as redirect URIs (security rule 1).
fn post_logout_redirect_uris(sent: Option<Vec<String>>) -> Result<Vec<RedirectUri>, OAuthError> {
    let sent = sent.unwrap_or_default();
    if sent.len() > MAX_REDIRECT_URIS {
        return Err(invalid(format!(
            "at most {MAX_REDIRECT_URIS} post_logout_redirect_uris"
        )));
    }
    sent.iter()
        .map(|raw| {
            registrable_redirect_uri(raw)
                .map_err(|e| invalid(format!("post_logout_redirect_uris: {}", e.description)))
        })
        .collect()
}

/// OIDC Core section 8: only `public` subjects are served (discovery says so).
fn subject_type(sent: Option<&str>) -> Result<(), OAuthError> {
    match sent {
        None | Some("public") => Ok(()),
        Some(other) => Err(invalid(format!(
            "subject_type '{other}' is not supported (public)"
        ))),
    }
}

/// Longest logo, policy or terms URL accepted.
const MAX_LINK_LEN: usize = 2048;

/// RFC 7591 section 2: `logo_uri`, `policy_uri`, `tos_uri` are URLs the consent screen
/// shows (section 5: the server should check them). Only https with a host, no user
/// information: the page loads the logo and links to the others, so nothing else may reach
/// the user's browser from there (no `javascript:`, `data:` or plain-http image).
fn https_link(field: &str, sent: Option<String>) -> Result<Option<String>, OAuthError> {
    let Some(raw) = sent else {
        return Ok(None);
    };
    let url = url::Url::parse(&raw)
        .ok()
        .filter(|url| raw.len() <= MAX_LINK_LEN && url.scheme() == "https")
        .filter(|url| url.host().is_some() && url.username().is_empty() && url.password().is_none())
        .ok_or_else(|| invalid(format!("{field} must be an https URL with a host")))?;
    Ok(Some(url.to_string()))
}

/// Section 2: default `authorization_code`. No implicit or password grant (rule 6), and no
/// `client_credentials` for a client without a secret (RFC 6749 section 4.4).
fn grant_types(
    sent: Option<Vec<String>>,
    auth_method: AuthMethod,
) -> Result<BTreeSet<GrantType>, OAuthError> {
    let sent = sent.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    let mut grants = BTreeSet::new();
    for raw in &sent {
        let grant = GrantType::parse(raw).ok_or_else(|| {
            invalid(format!(
                "grant type '{raw}' is not supported (authorization_code, refresh_token, client_credentials)"
            ))
        })?;
        grants.insert(grant);
    }
    if grants.is_empty() {
        return Err(invalid("grant_types must not be empty"));
    }
    if auth_method.is_public() && grants.contains(&GrantType::ClientCredentials) {
        return Err(invalid(
            "client_credentials needs a client secret: use client_secret_basic or client_secret_post",
        ));
    }
    if grants.contains(&GrantType::RefreshToken) && !grants.contains(&GrantType::AuthorizationCode)
    {
        return Err(invalid(
            "refresh_token is only issued with authorization_code",
        ));
    }
    Ok(grants)
}

/// A client that gets tokens only for itself (`client_credentials`, no user ever consents)
/// may ask only for scopes the catalogue allows without a user: a user-delegated scope such
/// as orders:write must come from a user's consent (security rule 16).
pub fn check_scopes_without_user(
    grant_types: &BTreeSet<GrantType>,
    scope: &Scope,
    catalogue: &ScopeCatalogue,
) -> Result<(), OAuthError> {
    if !grant_types.contains(&GrantType::ClientCredentials)
        || grant_types.contains(&GrantType::AuthorizationCode)
    {
        return Ok(());
    }
    let needs_user = scope.not_in(catalogue.without_user());
    if needs_user.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "scope {} acts on a user's data and needs a user's consent: a client_credentials client may not have it",
        needs_user.join(" ")
    )))
}

/// Section 2.1: response types must match the grant types; only `code` exists here.
fn check_response_types(sent: Option<Vec<String>>, uses_code: bool) -> Result<(), OAuthError> {
    let Some(sent) = sent else {
        return Ok(());
    };
    if let Some(other) = sent.iter().find(|t| t.as_str() != "code") {
        return Err(invalid(format!(
            "response type '{other}' is not supported (only code)"
        )));
    }
    if sent.is_empty() == uses_code {
        return Err(invalid(
            "response_types must be [\"code\"] exactly when grant_types has authorization_code",
        ));
    }
    Ok(())
}

/// Users see the name on the consent screen and the connected-apps page: required, short,
/// printable.
fn client_name(sent: Option<String>) -> Result<String, OAuthError> {
    let name = sent.unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(invalid(
            "client_name is required: users see it when they are asked for consent",
        ));
    }
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "client_name must be at most {MAX_NAME_LEN} printable characters"
        )));
    }
    Ok(name)
}

/// Every scope must be in the catalogue (infra/scopes.toml).
fn scope(sent: Option<String>, catalogue: &ScopeCatalogue) -> Result<Scope, OAuthError> {
    let Some(raw) = sent else {
        return Err(invalid(
            "scope is required: the scopes the client may ask users for, space-separated",
        ));
    };
    let scope = Scope::parse(&raw).map_err(|e| invalid(format!("scope: {e}")))?;
    if let Some(unknown) = scope.iter().find(|s| !catalogue.knows(s)) {
        return Err(invalid(format!(
            "scope '{unknown}' is not offered by this server"
        )));
    }
    Ok(scope)
}
