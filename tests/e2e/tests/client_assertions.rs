//! `private_key_jwt` client authentication (RFC 7523, OpenID Connect Core section 9) through
//! the handlers, on both stores: a client registered with its public keys authenticates
//! with an assertion signed by one of them, each assertion once; an assertion for another
//! audience, expired, living too long, about another client, signed by another key or with
//! a symmetric algorithm is refused, and so is a secret. Registration takes keys by value
//! (keys at a `jwks_uri`: `client_key_urls.rs`).

use lambda_http::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use xecure::domain::GrantType;
use xecure::ports::{Clock, SystemClock};
use xecure::signing::SigningAlgorithm;
use xecure::testing::{ClientFixture, DpopKey};
use xecure_e2e::client_assertion::{self, key_set, token_with};
use xecure_e2e::registration::{call, initial_access_token};
use xecure_e2e::{on_both_stores, System, ISSUER};

const BATCH: &str = "batch-signer";

/// The client's key: its public half registered as a JWK Set with kid `k1`.
fn registered_keys(key: &DpopKey) -> Value {
    key_set(key, "k1")
}

/// An assertion about `BATCH` under `k1`, with `claims` changed from a good one.
fn assertion(key: &DpopKey, changes: &[(&str, Value)]) -> String {
    client_assertion::assertion(BATCH, key, "k1", changes)
}

/// Registers `BATCH`, a client_credentials client authenticating with `key`.
async fn register_batch(system: &mut System, key: &DpopKey) {
    let batch = ClientFixture::confidential(BATCH, "never-shown-secret-0123456789abcdefghij")
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials])
        .private_key_jwt(registered_keys(key));
    system.world.register(batch, SystemClock.now()).await;
    system.restart_functions().await;
}

async fn a_client_signs_its_assertions(mut system: System) {
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    register_batch(&mut system, &key).await;

    let good = assertion(&key, &[]);
    let (status, answer) = token_with(&system, &good).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // OIDC Core section 9: the jti prevents reuse.
    let (status, answer) = token_with(&system, &good).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "a replayed assertion"
    );
    let now = SystemClock.now().as_secs();
    let thief = DpopKey::generate(SigningAlgorithm::Es256);
    let refused = [
        (
            "another audience",
            assertion(&key, &[("aud", json!("https://elsewhere.example"))]),
        ),
        // Audience injection: only the issuer identifier names us.
        (
            "our token endpoint as aud",
            assertion(&key, &[("aud", json!(format!("{ISSUER}/token")))]),
        ),
        ("expired", assertion(&key, &[("exp", json!(now - 120))])),
        (
            "an hour ahead",
            assertion(&key, &[("exp", json!(now + 3600))]),
        ),
        (
            "about another client",
            assertion(&key, &[("sub", json!("someone-else"))]),
        ),
        ("no jti", assertion(&key, &[("jti", Value::Null)])),
        ("another key", assertion(&thief, &[])),
    ];
    for (what, assertion) in refused {
        let (status, answer) = token_with(&system, &assertion).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
    }
    // A symmetric alg is never tried, whatever the signature.
    let good = assertion(&key, &[]);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[0] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#,
    );
    let (status, _) = token_with(&system, &parts.join(".")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "HS256");
    // Rule 21: only the registered method; a secret is refused.
    let (status, _) = system
        .form_post(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", BATCH),
                ("client_secret", "never-shown-secret-0123456789abcdefghij"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a secret");
}
on_both_stores!(
    a_private_key_jwt_client_authenticates_with_a_one_time_assertion,
    a_client_signs_its_assertions
);

/// Rule 17: racing token requests with one assertion get one token; the rest are
/// `invalid_client` (its `jti` marker is one conditional write).
async fn one_assertion_raced(mut system: System) {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    register_batch(&mut system, &key).await;
    let system = std::sync::Arc::new(system);
    let assertion = assertion(&key, &[]);
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (system, assertion) = (system.clone(), assertion.clone());
        racers.spawn(async move { token_with(&system, &assertion).await });
    }
    let mut issued = 0;
    while let Some(answer) = racers.join_next().await {
        let (status, answer) = answer.expect("a request");
        if status == StatusCode::OK {
            issued += 1;
        } else {
            assert_eq!(answer["error"], "invalid_client", "{answer}");
        }
    }
    assert_eq!(issued, 1, "one of the racing requests uses the assertion");
}
on_both_stores!(
    rule_17_one_client_assertion_raced_gets_one_token,
    one_assertion_raced
);

async fn registration_takes_keys_by_value(system: System) {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let body = json!({
        "client_name": "Signer",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": "orders:read",
        "jwks": registered_keys(&key),
    });
    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let (status, created, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created.get("client_secret").is_none(),
        "no secret: {created}"
    );
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(created["jwks"], registered_keys(&key));
    let mut private = registered_keys(&key);
    private["keys"][0]["d"] = json!("AAAA");
    for (what, changed) in [
        (
            "jwks and jwks_uri both",
            json!({ "jwks_uri": "https://signer.example/jwks.json" }),
        ),
        ("no keys", json!({ "jwks": null })),
        ("a private key", json!({ "jwks": private })),
    ] {
        let mut body = body.clone();
        for (name, value) in changed.as_object().unwrap() {
            body[name] = value.clone();
        }
        let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
        let (status, answer, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"], "invalid_client_metadata", "{what}");
    }
}
on_both_stores!(
    registration_takes_a_private_key_jwt_clients_keys_by_value,
    registration_takes_keys_by_value
);
