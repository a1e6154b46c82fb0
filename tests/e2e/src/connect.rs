//! A user connecting the registered app: authorize, log in, approve every requested scope,
//! and the app's code exchange. For tests that start from a connected app.

use crate::browser::{authorize_path, Browser};
use crate::system::{System, PASSWORD, USERNAME, WEB_REDIRECT};
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

/// Logs `browser` in if needed, approves `scope` for the web app, exchanges the code: the
/// token response.
pub async fn connect_app(system: &System, browser: &mut Browser, scope: &str) -> Value {
    let verifier = "connect-app-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
    let start = browser
        .get(system, &authorize_path(verifier, &[("scope", scope)]))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let mut next = start.local_location();
    if next.starts_with("/login?") {
        let login = browser.get(system, &next).await;
        next = browser
            .log_in(system, &login, USERNAME, PASSWORD)
            .await
            .local_location();
    }
    assert!(next.starts_with("/consent?"), "consent is asked: {next}");
    let screen = browser.get(system, &next).await;
    let mut fields = vec![
        ("request".to_owned(), screen.hidden("request")),
        ("csrf".to_owned(), screen.hidden("csrf")),
        ("decision".to_owned(), "approve".to_owned()),
    ];
    fields.extend(scope.split(' ').map(|s| ("scope".to_owned(), s.to_owned())));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let decided = browser.post(system, "/consent", &fields).await;
    assert!(decided.location().starts_with(WEB_REDIRECT));
    let code = decided.code().expect("a code");
    let (status, tokens) = redeem(system, &code, verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}
