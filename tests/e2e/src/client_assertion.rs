//! `private_key_jwt` assertions (RFC 7523 section 3) as a client signs them, and the
//! client_credentials request that carries one.

use crate::{System, ISSUER};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use xecure::ports::{Clock, SystemClock};
use xecure::testing::DpopKey;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `key`'s public half as a JWK Set, with `kid`.
pub fn key_set(key: &DpopKey, kid: &str) -> Value {
    let mut jwk = key.jwk.clone();
    jwk["kid"] = json!(kid);
    json!({ "keys": [jwk] })
}

/// A good assertion about `client`, signed by `key` under `kid`, with `claims` changed.
pub fn assertion(client: &str, key: &DpopKey, kid: &str, changes: &[(&str, Value)]) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let now = SystemClock.now().as_secs();
    let mut claims = json!({
        "iss": client, "sub": client, "aud": ISSUER,
        "exp": now + 60, "iat": now,
        "jti": format!("a-{}", NEXT.fetch_add(1, Ordering::SeqCst)),
    });
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    let (mut header, _) = key.parts("POST", ISSUER, None, SystemClock.now());
    header["typ"] = json!("JWT");
    header["kid"] = json!(kid);
    header.as_object_mut().unwrap().remove("jwk");
    key.sign(&header, &claims)
}

/// `POST /token` for client_credentials, authenticated by `assertion` alone.
pub async fn token_with(system: &System, assertion: &str) -> (StatusCode, Value) {
    system
        .form_post(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ],
            None,
        )
        .await
}
