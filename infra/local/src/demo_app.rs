//! The demo third-party app served by `xecure serve` under `/demo`: "Connect with Xecure"
//! runs the authorization code flow with PKCE and `state` as a real client must (RFC 9700
//! section 2.1), exchanges the code at the token endpoint, and calls the protected demo API
//! with the token, showing each answer.

use askama::Template;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use xecure::domain::OpaqueToken;
use xecure::oauth::Params;
use xecure::ports::OsRng;

pub const CLIENT_ID: &str = "demo-app";
const SCOPE: &str = "profile:read orders:read orders:write";
/// Flows started and not yet finished, at most this many (oldest dropped first when full).
const MAX_PENDING: usize = 1000;

pub struct ApiCall {
    pub request: String,
    pub status: u16,
    pub body: String,
}

/// The demo app's own look: it is a third-party app, not an Xecure page.
const DEMO_CSS: &str = "\
:root{color-scheme:light;font-family:system-ui,sans-serif;line-height:1.5;color:#1f2933;background:#f4f1ec}\
body{margin:0}\
header{display:flex;align-items:center;gap:.6rem;padding:.8rem 1.5rem;background:#264653;color:#fff}\
.mark{display:inline-flex;align-items:center;justify-content:center;width:2rem;height:2rem;border-radius:.5rem;background:#e9c46a;color:#264653;font-weight:700}\
.name{font-weight:700;font-size:1.1rem}\
.tag{margin-left:auto;font-size:.8rem;opacity:.8}\
main{max-width:40rem;margin:0 auto;padding:1.5rem 1rem}\
.card{background:#fff;border-radius:.75rem;padding:1.25rem 1.5rem;margin-bottom:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.4rem;margin:0 0 .5rem}h2{margin-top:0}h3{font-size:1rem;margin:.75rem 0 .25rem}\
.button{display:inline-block;padding:.6rem 1.1rem;border-radius:.5rem;background:#2a9d8f;color:#fff;text-decoration:none;font-weight:600}\
.button.secondary{background:#fff;color:#264653;border:1px solid #264653}\
.error{padding:.6rem .9rem;border-left:4px solid #e76f51;background:#fdf0ec}\
.status{display:inline-block;margin-left:.4rem;padding:0 .5rem;border-radius:1rem;background:#e9ecef;font-size:.85rem}\
pre{background:#f6f8fa;padding:.6rem;border-radius:.4rem;overflow-x:auto;white-space:pre-wrap}";

/// The page's policy: nothing but its own stylesheet, allowed by its hash.
static DEMO_CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(DEMO_CSS));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
});

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage<'a> {
    css: &'static str,
    start: &'a str,
    error: Option<&'a str>,
    granted: Option<&'a str>,
    calls: Vec<ApiCall>,
}

#[derive(Default)]
pub struct DemoApp {
    /// `state` -> PKCE verifier, for flows in progress.
    pending: Mutex<HashMap<String, String>>,
}

fn page(
    status: StatusCode,
    issuer: &str,
    error: Option<&str>,
    granted: Option<&str>,
    calls: Vec<ApiCall>,
) -> Response<Body> {
    let start = format!("{issuer}/demo/start");
    let html = DemoPage {
        css: DEMO_CSS,
        start: &start,
        error,
        granted,
        calls,
    }
    .render()
    .unwrap_or_else(|e| format!("demo page failed: {e}"));
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    if let Ok(value) = "text/html; charset=utf-8".parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    if let Ok(value) = DEMO_CSP.parse() {
        response
            .headers_mut()
            .insert(lambda_http::http::header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// What the app asks the system to do: its token request and its API calls.
pub trait Backend {
    fn call(&self, request: Request) -> impl std::future::Future<Output = Response<Body>> + Send;
}

fn text_of(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

impl DemoApp {
    pub async fn handle(
        &self,
        request: &Request,
        issuer: &str,
        backend: &impl Backend,
    ) -> Response<Body> {
        let query = Params::from_urlencoded(request.uri().query().unwrap_or_default().as_bytes());
        match (request.uri().path(), query) {
            ("/demo", _) => page(StatusCode::OK, issuer, None, None, Vec::new()),
            ("/demo/start", _) => self.start(issuer),
            ("/demo/callback", Ok(params)) => self.callback(&params, issuer, backend).await,
            _ => page(
                StatusCode::BAD_REQUEST,
                issuer,
                Some("That request was not understood."),
                None,
                Vec::new(),
            ),
        }
    }

    fn start(&self, issuer: &str) -> Response<Body> {
        let verifier = OpaqueToken::generate(&OsRng).secret().to_owned();
        let state = OpaqueToken::generate(&OsRng).secret().to_owned();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() >= MAX_PENDING {
                pending.clear();
            }
            pending.insert(state.clone(), verifier);
        }
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &format!("{issuer}/demo/callback")),
            ("scope", SCOPE),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap_or_default();
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(value) = format!("{issuer}/authorize?{query}").parse() {
            response.headers_mut().insert(LOCATION, value);
        }
        response
    }

    async fn callback(
        &self,
        params: &Params,
        issuer: &str,
        backend: &impl Backend,
    ) -> Response<Body> {
        let fail = |message: &str| {
            page(
                StatusCode::BAD_REQUEST,
                issuer,
                Some(message),
                None,
                Vec::new(),
            )
        };
        // RFC 9207: the response must come from the issuer the app started with.
        if params.get("iss") != Some(issuer) {
            return fail("The answer did not come from the expected authorization server.");
        }
        let verifier = params.get("state").and_then(|state| {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(state)
        });
        let Some(verifier) = verifier else {
            return fail("Unknown or reused state: start again.");
        };
        if let Some(error) = params.get("error") {
            return fail(&format!("Access was not granted ({error})."));
        }
        let Some(code) = params.get("code") else {
            return fail("No authorization code came back.");
        };
        let form = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &format!("{issuer}/demo/callback")),
            ("client_id", CLIENT_ID),
            ("code_verifier", &verifier),
        ])
        .unwrap_or_default();
        let token_request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/token")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form));
        let Ok(token_request) = token_request else {
            return fail("Could not build the token request.");
        };
        let answer = backend.call(token_request).await;
        let tokens: serde_json::Value = serde_json::from_str(&text_of(&answer)).unwrap_or_default();
        let (Some(access_token), Some(scope)) =
            (tokens["access_token"].as_str(), tokens["scope"].as_str())
        else {
            return fail(&format!("The token request failed: {}", text_of(&answer)));
        };
        let mut calls = Vec::new();
        for (method, path) in [("GET", "/profile"), ("GET", "/orders"), ("POST", "/orders")] {
            let request = lambda_http::http::Request::builder()
                .method(method)
                .uri(path)
                .header(AUTHORIZATION, format!("Bearer {access_token}"))
                .body(Body::from(r#"{"item":"photo book"}"#));
            let Ok(request) = request else { continue };
            let response = backend.call(request).await;
            calls.push(ApiCall {
                request: format!("{method} {path}"),
                status: response.status().as_u16(),
                body: text_of(&response),
            });
        }
        page(StatusCode::OK, issuer, None, Some(scope), calls)
    }
}
