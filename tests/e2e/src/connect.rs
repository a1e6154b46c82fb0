//! A user connecting the registered app: authorize, log in, approve every requested scope,
//! and the app's code exchange. For tests that start from a connected app.

use crate::browser::{authorize_path, Browser};
use crate::system::{System, WEB_REDIRECT};
use lambda_http::http::StatusCode;
use serde_json::Value;

/// A POST to the token endpoint as the web app; the status and the JSON answer.
pub async fn token_request(system: &System, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    system.app_posts("/token", fields).await
}

/// The string `field` of a JSON answer; panics, naming it, if there is none.
pub fn text(json: &Value, field: &str) -> String {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {json}"))
        .to_owned()
}

/// The web app exchanges `code` (issued for `verifier`'s challenge) at the token endpoint.
pub async fn redeem(system: &System, code: &str, verifier: &str) -> (StatusCode, Value) {
    token_request(
        system,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// What a connection went through: each credential of the walk, for tests that check where
/// they end up.
pub struct Connection {
    /// The consent screen's request handle and CSRF token.
    pub request: String,
    pub csrf: String,
    /// The authorization code and the PKCE verifier it was redeemed with.
    pub code: String,
    pub verifier: String,
    /// The token response.
    pub tokens: Value,
}

/// Logs `browser` in if needed, approves `scope` for the web app, exchanges the code: the
/// token response.
pub async fn connect_app(system: &System, browser: &mut Browser, scope: &str) -> Value {
    connection(system, browser, scope).await.tokens
}

/// As `connect_app`, with every credential the walk used.
pub async fn connection(system: &System, browser: &mut Browser, scope: &str) -> Connection {
    let verifier = "connect-app-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
    let mut connection =
        approved(system, browser, verifier, &[("scope", scope)], WEB_REDIRECT).await;
    let (status, tokens) = redeem(system, &connection.code, verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    connection.tokens = tokens;
    connection
}

/// Logs `browser` in if needed and approves every scope of the authorization request
/// (`authorize_path(verifier, overrides)`, which redirects to `redirect`): the walk up to
/// the code, not yet redeemed (`tokens` is null).
pub async fn approved(
    system: &System,
    browser: &mut Browser,
    verifier: &str,
    overrides: &[(&str, &str)],
    redirect: &str,
) -> Connection {
    let scope = overrides
        .iter()
        .find(|(name, _)| *name == "scope")
        .map_or("profile:read orders:read", |(_, scope)| *scope);
    let start = authorize_path(verifier, overrides);
    approved_from(system, browser, &start, scope, redirect, verifier).await
}

/// As `approved`, from any `/authorize` URL (a pushed request's `request_uri`, RFC 9126)
/// that asks for `scope` and redirects to `redirect`.
pub async fn approved_from(
    system: &System,
    browser: &mut Browser,
    start: &str,
    scope: &str,
    redirect: &str,
    verifier: &str,
) -> Connection {
    let start = browser.get(system, start).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let next = browser.past_login(system, start.local_location()).await;
    assert!(next.starts_with("/consent?"), "consent is asked: {next}");
    let screen = browser.get(system, &next).await;
    let (request, csrf) = (screen.hidden("request"), screen.hidden("csrf"));
    let mut fields = vec![
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("decision", "approve"),
    ];
    fields.extend(scope.split(' ').map(|s| ("scope", s)));
    let decided = browser.post(system, "/consent", &fields).await;
    assert!(decided.location().starts_with(redirect));
    let code = decided.code().expect("a code");
    Connection {
        request,
        csrf,
        code,
        verifier: verifier.to_owned(),
        tokens: Value::Null,
    }
}
