//! `private_key_jwt` clients whose keys live at a `jwks_uri` (RFC 7591 section 2), through
//! the handlers on both stores, against real loopback key hosts: the token function fetches
//! the keys, keeps them, follows a key rotation, and fails closed (`invalid_client`, nothing
//! issued) when the host hangs, redirects, errs or answers too much. In the production
//! setting it fetches nothing from loopback or private addresses, whatever the name says.

use lambda_http::http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xecure::config::{OAuthConfig, RemoteHosts};
use xecure::domain::GrantType;
use xecure::oauth::client_keys::{FETCH_DEADLINE, REFETCH_AT_MOST_EVERY};
use xecure::ports::{Clock, SystemClock};
use xecure::signing::SigningAlgorithm;
use xecure::testing::{Answer, ClientFixture, DpopKey, FixedClock, KeyHost};
use xecure_e2e::client_assertion::{assertion, key_set, token_with};
use xecure_e2e::registration::{call, initial_access_token};
use xecure_e2e::{on_both_stores, System};

/// A client_credentials client authenticating with keys at `jwks_uri`.
async fn register_signer(system: &System, id: &str, jwks_uri: &str) {
    let signer = ClientFixture::confidential(id, "never-shown-secret-0123456789abcdefghij")
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials])
        .private_key_jwt_at(jwks_uri);
    system.world.register(signer, SystemClock.now()).await;
}

/// The token function of a local run: loopback key hosts allowed; its clock moves when
/// told.
async fn allowing_loopback(system: &mut System) -> Arc<FixedClock> {
    let clock = Arc::new(FixedClock::at(SystemClock.now()));
    system
        .restart_functions_configured(
            |config| OAuthConfig {
                jwks_uri_hosts: RemoteHosts::LoopbackToo,
                ..config
            },
            clock.clone(),
        )
        .await;
    clock
}

async fn keys_follow_the_clients_host(mut system: System) {
    let old_key = DpopKey::generate(SigningAlgorithm::Es256);
    let host = KeyHost::start(Answer::Json(key_set(&old_key, "k1"))).await;
    register_signer(&system, "url-signer", &host.jwks_uri()).await;
    let clock = allowing_loopback(&mut system).await;

    for _ in 0..3 {
        let (status, answer) =
            token_with(&system, &assertion("url-signer", &old_key, "k1", &[])).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(
        host.requests(),
        1,
        "the keys are kept, not fetched per request"
    );

    // The client rotates its key at its host: once 30 s have passed since the last fetch,
    // the new kid is fetched, and the old key stops.
    let new_key = DpopKey::generate(SigningAlgorithm::EdDsa);
    host.answer_with(Answer::Json(key_set(&new_key, "k2")));
    let (status, _) = token_with(&system, &assertion("url-signer", &new_key, "k2", &[])).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "within 30 s of the last fetch"
    );
    assert_eq!(host.requests(), 1);
    clock.advance(REFETCH_AT_MOST_EVERY);
    let (status, answer) = token_with(&system, &assertion("url-signer", &new_key, "k2", &[])).await;
    assert_eq!(status, StatusCode::OK, "the rotated key: {answer}");
    assert_eq!(host.requests(), 2);
    let (status, answer) = token_with(&system, &assertion("url-signer", &old_key, "k1", &[])).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "the key the host no longer publishes"
    );
    // A key the host never published, under an invented kid: refused, and no fetch within
    // 30 s of the last one however many such assertions come.
    let thief = DpopKey::generate(SigningAlgorithm::Es256);
    for n in 0..5 {
        let kid = format!("invented-{n}");
        let (status, _) = token_with(&system, &assertion("url-signer", &thief, &kid, &[])).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(host.requests(), 2, "no fetch for invented kids within 30 s");
}
on_both_stores!(
    a_private_key_jwt_client_rotates_the_keys_at_its_jwks_uri,
    keys_follow_the_clients_host
);

async fn hosts_that_fail_authenticate_nobody(mut system: System) {
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let good_host = KeyHost::start(Answer::Json(key_set(&key, "k1"))).await;
    let failing = [
        ("hang", Answer::Hang),
        ("drip", Answer::Drip),
        ("redirect", Answer::Redirect(good_host.jwks_uri())),
        ("error", Answer::Status(500)),
        ("not-json", Answer::Json(json!("not a key set"))),
        ("endless", Answer::Endless(64 * 1024)),
        (
            "private",
            Answer::Json(json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k1",
                "x": key.jwk["x"], "y": key.jwk["y"], "d": "AAAA" }] })),
        ),
    ];
    let mut hosts = Vec::new();
    for (name, answer) in failing {
        let host = KeyHost::start(answer).await;
        register_signer(&system, &format!("signer-{name}"), &host.jwks_uri()).await;
        hosts.push((name, host));
    }
    allowing_loopback(&mut system).await;
    for (name, host) in &hosts {
        let started = Instant::now();
        let (status, answer) = token_with(
            &system,
            &assertion(&format!("signer-{name}"), &key, "k1", &[]),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{name}: {answer}"
        );
        assert_eq!(host.requests(), 1, "{name}");
        // Rule 18: a host that never answers, or drips, costs the deadline, not the
        // function's timeout.
        assert!(
            started.elapsed() < FETCH_DEADLINE + Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(good_host.requests(), 0, "a redirect is never followed");
}
on_both_stores!(
    rule_18_a_jwks_uri_that_hangs_or_misbehaves_authenticates_nobody,
    hosts_that_fail_authenticate_nobody
);

async fn production_fetches_only_from_public_addresses(mut system: System) {
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let host = KeyHost::start(Answer::Json(key_set(&key, "k1"))).await;
    let port = host.origin.rsplit(':').next().unwrap().to_owned();
    // Registered before the rule existed, or by an operator: the fetch refuses them anyway.
    let inside = [
        host.jwks_uri(),
        format!("http://localhost:{port}/jwks.json"),
        format!("https://localhost:{port}/jwks.json"),
        format!("https://127.0.0.1:{port}/jwks.json"),
        format!("https://[::ffff:127.0.0.1]:{port}/jwks.json"),
    ];
    for (n, uri) in inside.iter().enumerate() {
        register_signer(&system, &format!("inside-{n}"), uri).await;
    }
    // The production setting (`OAuthConfig::for_issuer`, as in AWS): public addresses only.
    system.restart_functions().await;
    for (n, uri) in inside.iter().enumerate() {
        let (status, answer) =
            token_with(&system, &assertion(&format!("inside-{n}"), &key, "k1", &[])).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {answer}");
    }
    assert_eq!(host.connections(), 0, "not even a connection to loopback");
}
on_both_stores!(
    rule_19_a_jwks_uri_never_reaches_loopback_or_private_addresses,
    production_fetches_only_from_public_addresses
);

async fn registration_takes_a_jwks_uri(system: System) {
    let body = json!({
        "client_name": "Signer",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": "orders:read",
        "jwks_uri": "https://signer.example/jwks.json",
    });
    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let (status, created, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["jwks_uri"], "https://signer.example/jwks.json");
    assert!(created.get("jwks").is_none() && created.get("client_secret").is_none());
    for uri in [
        "http://signer.example/jwks.json",
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/jwks.json",
        "https://user:pw@signer.example/jwks.json",
    ] {
        let mut body = body.clone();
        body["jwks_uri"] = json!(uri);
        let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
        let (status, answer, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")),
            "{uri}: {answer}"
        );
    }
}
on_both_stores!(
    registration_takes_an_https_jwks_uri_on_a_public_host,
    registration_takes_a_jwks_uri
);
