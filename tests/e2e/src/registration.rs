//! Dynamic client registration as a developer drives it: an initial access token from the
//! operator, then JSON calls to `/register` and `/register/{id}`.

use crate::system::System;
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};
use std::time::Duration;
use xecure::domain::{InitialAccessToken, OpaqueToken};
use xecure::ports::{Clock, OsRng, SystemClock};

/// A JSON call with an optional Bearer token: status, JSON answer and headers.
pub async fn call(
    system: &System,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value, HeaderMap) {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(value) => {
            builder = builder.header("content-type", "application/json");
            Body::from(value.to_string())
        }
        None => Body::Empty,
    };
    let response = system.serve(builder.body(body).expect("a request")).await;
    let json = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (response.status(), json, response.headers().clone())
}

/// An initial access token as `xecure client registration-token` issues it.
pub async fn initial_access_token(system: &System, lifetime: Duration) -> String {
    let token = OpaqueToken::generate(&OsRng);
    let now = SystemClock.now();
    system
        .store
        .put_initial_access_token(&InitialAccessToken {
            digest: token.digest(),
            created_at: now,
            expires_at: now.plus(lifetime),
        })
        .await
        .expect("store the initial access token");
    token.secret().to_owned()
}

/// Metadata of a code-flow client sending its secret in a Basic header.
pub fn metadata(redirect_uri: &str) -> Value {
    json!({
        "client_name": "Recipe Planner",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "profile:read orders:read",
        "logo_uri": "https://recipes.example/logo.png",
        "software_statement_version": "unknown to us"
    })
}

/// Registers `body` with a fresh initial access token: the client information response.
pub async fn register(system: &System, body: &Value) -> Value {
    let iat = initial_access_token(system, Duration::from_secs(3600)).await;
    let (status, created, _) = call(system, "POST", "/register", Some(&iat), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}
