//! The demo third-party app served by `xecure serve` under `/demo`: "Connect with Xecure"
//! runs the authorization code flow with PKCE and `state` as a real client must (RFC 9700
//! section 2.1), as an OpenID Connect sign-in (scope `openid profile`, a `nonce`), exchanges
//! the code at the token endpoint, validates the ID token as a relying party must (OIDC Core
//! section 3.1.3.7: signature from the JWKS, issuer, audience, nonce, `at_hash`), greets the
//! user by the name in it, and calls the protected demo API with the access token, showing
//! each answer. "Sign out" uses the end session endpoint (RP-Initiated Logout 1.0).

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
const SCOPE: &str = "openid profile profile:read orders:read orders:write";
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
    /// Who signed in, from the validated ID token.
    signed_in_as: Option<&'a str>,
    sign_out: &'a str,
    calls: Vec<ApiCall>,
}

/// A flow in progress: what the callback must check.
struct Started {
    verifier: String,
    nonce: String,
}

#[derive(Default)]
pub struct DemoApp {
    /// `state` -> the flow it started, for flows in progress.
    pending: Mutex<HashMap<String, Started>>,
}

/// What a connected page shows.
#[derive(Default)]
struct Connected<'a> {
    granted: Option<&'a str>,
    signed_in_as: Option<&'a str>,
    calls: Vec<ApiCall>,
}

fn page(
    status: StatusCode,
    issuer: &str,
    error: Option<&str>,
    connected: Connected<'_>,
) -> Response<Body> {
    let start = format!("{issuer}/demo/start");
    // RP-Initiated Logout 1.0 section 2: back to the app's start page, which it registered.
    let sign_out = format!(
        "{issuer}/logout?{}",
        serde_urlencoded::to_string([
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", &format!("{issuer}/demo")),
        ])
        .unwrap_or_default()
    );
    let html = DemoPage {
        css: DEMO_CSS,
        start: &start,
        error,
        granted: connected.granted,
        signed_in_as: connected.signed_in_as,
        sign_out: &sign_out,
        calls: connected.calls,
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
            ("/demo", _) => page(StatusCode::OK, issuer, None, Connected::default()),
            ("/demo/start", _) => self.start(issuer),
            ("/demo/callback", Ok(params)) => self.callback(&params, issuer, backend).await,
            _ => page(
                StatusCode::BAD_REQUEST,
                issuer,
                Some("That request was not understood."),
                Connected::default(),
            ),
        }
    }

    fn start(&self, issuer: &str) -> Response<Body> {
        let verifier = OpaqueToken::generate(&OsRng).secret().to_owned();
        let state = OpaqueToken::generate(&OsRng).secret().to_owned();
        let nonce = OpaqueToken::generate(&OsRng).secret().to_owned();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() >= MAX_PENDING {
                pending.clear();
            }
            pending.insert(
                state.clone(),
                Started {
                    verifier,
                    nonce: nonce.clone(),
                },
            );
        }
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &format!("{issuer}/demo/callback")),
            ("scope", SCOPE),
            ("state", &state),
            ("nonce", &nonce),
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
                Connected::default(),
            )
        };
        // RFC 9207: the response must come from the issuer the app started with.
        if params.get("iss") != Some(issuer) {
            return fail("The answer did not come from the expected authorization server.");
        }
        let started = params.get("state").and_then(|state| {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(state)
        });
        let Some(Started { verifier, nonce }) = started else {
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
        // The user may untick `openid` on the consent screen: then the app holds API access
        // but knows nobody's name. An ID token that came must be valid.
        let name = match tokens["id_token"].as_str() {
            None => None,
            Some(id_token) => {
                let jwks = backend.call(get("/jwks.json")).await;
                match validated_name(id_token, &text_of(&jwks), issuer, &nonce, access_token) {
                    Ok(name) => Some(name),
                    Err(why) => return fail(&format!("The ID token is not valid: {why}.")),
                }
            }
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
        page(
            StatusCode::OK,
            issuer,
            None,
            Connected {
                granted: Some(scope),
                signed_in_as: name.as_deref(),
                calls,
            },
        )
    }
}

fn get(path: &str) -> Request {
    let mut request = Request::new(Body::Empty);
    if let Ok(uri) = path.parse() {
        *request.uri_mut() = uri;
    }
    request
}

/// OIDC Core section 3.1.3.7, as a relying party checks the ID token: signed by a key of the
/// issuer's JWKS with the algorithm that key names, issued by `issuer` to this app, the
/// `nonce` this flow sent, unexpired, and `at_hash` matching the access token (3.1.3.8).
/// Returns the name to greet (`name`, else `preferred_username`, else `sub`).
fn validated_name(
    id_token: &str,
    jwks: &str,
    issuer: &str,
    nonce: &str,
    access_token: &str,
) -> Result<String, String> {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
    let header = decode_header(id_token).map_err(|e| e.to_string())?;
    let keys: JwkSet = serde_json::from_str(jwks).map_err(|e| format!("JWKS: {e}"))?;
    let jwk = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid))
        .ok_or("signed by an unknown key")?;
    let algorithm = jwk
        .common
        .key_algorithm
        .and_then(|alg| alg.to_string().parse::<jsonwebtoken::Algorithm>().ok())
        .ok_or("the key names no algorithm")?;
    if header.alg != algorithm {
        return Err("alg differs from the key's".into());
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[CLIENT_ID]);
    let claims: serde_json::Value = decode(id_token, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims["nonce"].as_str() != Some(nonce) {
        return Err("nonce mismatch".into());
    }
    // 3.1.3.8 with RS256/ES256 (SHA-256): the left half of the access token's hash.
    if algorithm != jsonwebtoken::Algorithm::EdDSA {
        let digest = Sha256::digest(access_token.as_bytes());
        if claims["at_hash"].as_str() != Some(&URL_SAFE_NO_PAD.encode(&digest[..16])) {
            return Err("at_hash does not match the access token".into());
        }
    }
    ["name", "preferred_username", "sub"]
        .iter()
        .find_map(|claim| claims[*claim].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "no subject".into())
}
