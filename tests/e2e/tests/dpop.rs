//! DPoP (RFC 9449) through the handlers and the local API Gateway, on both stores: a proof
//! at the token endpoint binds the access token (and a public client's refresh token) to the
//! key; at the gateway every call of a bound token needs a fresh proof of that key for that
//! method, URL and token, used once; the token as a bearer token, a proof for another method
//! or URL, a replayed proof and another key's proof are refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::StatusCode;
use serde_json::Value;
use xecure::domain::{AuthMethod, GrantType};
use xecure::ports::{Clock, SystemClock};
use xecure::signing::SigningAlgorithm;
use xecure::testing::{ClientFixture, DpopKey};
use xecure_e2e::WEB_SECRET;
use xecure_e2e::{approved, on_both_stores, text, Browser, System, ISSUER, WEB, WEB_REDIRECT};

const VERIFIER: &str = "dpop-verifier-0123456789abcdefghijklmnopqrstuvwxyz0123456";
const SPA: &str = "spa";
const SPA_REDIRECT: &str = "https://spa.example/cb";
const BATCH: &str = "batch";
const BATCH_SECRET: &str = "batch-secret-0123456789abcdefghijklmnopqrst";

/// A POST to the token endpoint with `fields` (credentials included) and `proof` as its
/// `DPoP` header: the status and the JSON answer.
async fn token_post(
    system: &System,
    fields: &[(&str, &str)],
    proof: Option<&str>,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = proof.map(|proof| ("DPoP", proof)).into_iter().collect();
    system.form_post_with("/token", fields, &headers).await
}

fn token_url() -> String {
    format!("{ISSUER}/token")
}

fn claims_of(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

fn assert_refused_proof(answer: &(StatusCode, Value), why: &str) {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{why}: {}", answer.1);
    assert_eq!(
        answer.1["error"], "invalid_dpop_proof",
        "{why}: {}",
        answer.1
    );
}

/// The web app (confidential) signs in a user, redeems the code with a proof: its tokens.
async fn web_app_tokens(system: &System, key: &DpopKey) -> Value {
    let connection = approved(
        system,
        &mut Browser::default(),
        VERIFIER,
        &[("scope", "orders:read")],
        WEB_REDIRECT,
    )
    .await;
    let proof = key.proof("POST", &token_url(), None, SystemClock.now());
    let (status, tokens) = token_post(
        system,
        &[
            ("grant_type", "authorization_code"),
            ("code", &connection.code),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
        ],
        Some(&proof),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn the_gateway_checks_a_fresh_proof_on_every_call(system: System) {
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let tokens = web_app_tokens(&system, &key).await;
    // RFC 9449 section 5: token_type DPoP, the access token confirms the key (section 6.1).
    assert_eq!(tokens["token_type"], "DPoP");
    let access_token = text(&tokens, "access_token");
    assert_eq!(claims_of(&access_token)["cnf"]["jkt"], key.jkt().as_str());

    let gateway = system.api_gateway().await;
    let orders = format!("{ISSUER}/orders");
    let authorization = format!("DPoP {access_token}");
    let now = SystemClock.now();
    let call = |proof: String| {
        let authorization = authorization.clone();
        let gateway = &gateway;
        async move {
            gateway
                .send(
                    "GET",
                    "/orders",
                    &[("authorization", &authorization), ("dpop", &proof)],
                )
                .await
        }
    };
    let good = key.proof("GET", &orders, Some(&access_token), now);
    assert_eq!(call(good.clone()).await, StatusCode::OK);
    assert_eq!(
        call(good).await,
        StatusCode::UNAUTHORIZED,
        "a replayed proof"
    );
    // Section 7.2: the bound token as a bearer token, with or without a proof.
    let fresh = key.proof("GET", &orders, Some(&access_token), now);
    let as_bearer = format!("Bearer {access_token}");
    assert_eq!(
        gateway
            .send(
                "GET",
                "/orders",
                &[("authorization", &as_bearer), ("dpop", &fresh)]
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "a bound token as a bearer token"
    );
    assert_eq!(
        gateway.call("GET", "/orders", Some(&access_token)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        gateway
            .send("GET", "/orders", &[("authorization", &authorization)])
            .await,
        StatusCode::UNAUTHORIZED,
        "no proof"
    );
    let for_post = key.proof("POST", &orders, Some(&access_token), now);
    assert_eq!(
        call(for_post).await,
        StatusCode::UNAUTHORIZED,
        "another method"
    );
    let for_other_url = key.proof("GET", &format!("{orders}/7"), Some(&access_token), now);
    assert_eq!(
        call(for_other_url).await,
        StatusCode::UNAUTHORIZED,
        "another URL"
    );
    let thief = DpopKey::generate(SigningAlgorithm::EdDsa);
    let stolen = thief.proof("GET", &orders, Some(&access_token), now);
    assert_eq!(call(stolen).await, StatusCode::UNAUTHORIZED, "another key");
    let for_other_token = key.proof("GET", &orders, Some("another-token"), now);
    assert_eq!(
        call(for_other_token).await,
        StatusCode::UNAUTHORIZED,
        "ath of another token"
    );
    // No answer was cached: the next good proof passes, the next missing one does not.
    let again = key.proof("GET", &orders, Some(&access_token), now);
    assert_eq!(call(again).await, StatusCode::OK);
    // A route without `dpop` in the route table takes bearer tokens only.
    let profile = key.proof(
        "GET",
        &format!("{ISSUER}/profile"),
        Some(&access_token),
        now,
    );
    assert_eq!(
        gateway
            .send(
                "GET",
                "/profile",
                &[("authorization", &authorization), ("dpop", &profile)]
            )
            .await,
        StatusCode::UNAUTHORIZED
    );

    // A confidential client's refresh token is bound by its credentials, not the key; each
    // refresh's access token is bound to the proof it comes with.
    let refresh_token = text(&tokens, "refresh_token");
    let refresh = |token: String| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token),
            ("client_id", WEB.to_owned()),
            ("client_secret", WEB_SECRET.to_owned()),
        ]
    };
    let proof = key.proof("POST", &token_url(), None, now);
    let fields = refresh(refresh_token);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, refreshed) = token_post(&system, &fields, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["token_type"], "DPoP");
    // Section 11.1: the token endpoint's proof is used once too.
    let fields = refresh(text(&refreshed, "refresh_token"));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_refused_proof(
        &token_post(&system, &fields, Some(&proof)).await,
        "replayed",
    );
    let (status, unbound) = token_post(&system, &fields, None).await;
    assert_eq!(status, StatusCode::OK, "{unbound}");
    assert_eq!(unbound["token_type"], "Bearer");
    assert!(claims_of(&text(&unbound, "access_token"))
        .get("cnf")
        .is_none());
}
on_both_stores!(
    dpop_at_the_gateway_needs_a_fresh_proof_of_the_key_on_every_call,
    the_gateway_checks_a_fresh_proof_on_every_call
);

/// Security rule 17: requests racing with one proof, at the gateway, pass once.
async fn one_proof_raced_at_the_gateway(system: System) {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let access_token = text(&web_app_tokens(&system, &key).await, "access_token");
    let gateway = std::sync::Arc::new(system.api_gateway().await);
    let proof = key.proof(
        "GET",
        &format!("{ISSUER}/orders"),
        Some(&access_token),
        SystemClock.now(),
    );
    let authorization = format!("DPoP {access_token}");
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (gateway, proof, authorization) =
            (gateway.clone(), proof.clone(), authorization.clone());
        racers.spawn(async move {
            gateway
                .send(
                    "GET",
                    "/orders",
                    &[("authorization", &authorization), ("dpop", &proof)],
                )
                .await
        });
    }
    let mut passed = 0;
    while let Some(status) = racers.join_next().await {
        let status = status.expect("a call");
        assert!(
            status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
            "{status}"
        );
        passed += usize::from(status == StatusCode::OK);
    }
    assert_eq!(passed, 1, "one of the racing calls uses the proof");
}
on_both_stores!(
    rule_17_one_dpop_proof_raced_at_the_gateway_passes_once,
    one_proof_raced_at_the_gateway
);

/// RFC 9449 section 5.0: a public client's refresh token is bound to the key of its code
/// exchange; a refresh without that key's proof is refused and spends nothing.
async fn a_public_clients_refresh_token_needs_its_key(mut system: System) {
    let spa = ClientFixture::public(SPA)
        .named("Single Page App")
        .redirect(SPA_REDIRECT)
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::AuthorizationCode, GrantType::RefreshToken]);
    system.world.register(spa, SystemClock.now()).await;
    system.restart_functions().await;
    let connection = approved(
        &system,
        &mut Browser::default(),
        VERIFIER,
        &[
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("scope", "orders:read"),
        ],
        SPA_REDIRECT,
    )
    .await;
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let now = SystemClock.now();
    let (status, tokens) = token_post(
        &system,
        &[
            ("grant_type", "authorization_code"),
            ("code", &connection.code),
            ("redirect_uri", SPA_REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", SPA),
        ],
        Some(&key.proof("POST", &token_url(), None, now)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh_token = text(&tokens, "refresh_token");
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", SPA),
    ];
    assert_refused_proof(&token_post(&system, &fields, None).await, "no proof");
    let thief = DpopKey::generate(SigningAlgorithm::EdDsa);
    let stolen = thief.proof("POST", &token_url(), None, now);
    assert_refused_proof(
        &token_post(&system, &fields, Some(&stolen)).await,
        "another key",
    );
    // Neither attempt spent the token: its holder refreshes with the key.
    let proof = key.proof("POST", &token_url(), None, now);
    let (status, refreshed) = token_post(&system, &fields, Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(
        claims_of(&text(&refreshed, "access_token"))["cnf"]["jkt"],
        key.jkt().as_str()
    );
}
on_both_stores!(
    a_public_clients_refresh_token_is_bound_to_its_dpop_key,
    a_public_clients_refresh_token_needs_its_key
);

/// RFC 9449 section 5.2: a client registered with `dpop_bound_access_tokens` gets no token
/// without a proof; with one, its token works through the gateway.
async fn a_dpop_bound_client_needs_a_proof(mut system: System) {
    let batch = ClientFixture::confidential(BATCH, BATCH_SECRET)
        .named("Batch")
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials])
        .auth_method(AuthMethod::ClientSecretPost)
        .dpop_bound();
    system.world.register(batch, SystemClock.now()).await;
    system.restart_functions().await;
    let fields = [
        ("grant_type", "client_credentials"),
        ("client_id", BATCH),
        ("client_secret", BATCH_SECRET),
    ];
    assert_refused_proof(&token_post(&system, &fields, None).await, "no proof");
    let key = DpopKey::generate(SigningAlgorithm::Rs256);
    let now = SystemClock.now();
    let wrong_url = key.proof("POST", &format!("{ISSUER}/revoke"), None, now);
    assert_refused_proof(&token_post(&system, &fields, Some(&wrong_url)).await, "htu");
    let (status, tokens) = token_post(
        &system,
        &fields,
        Some(&key.proof("POST", &token_url(), None, now)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access_token = text(&tokens, "access_token");
    let proof = key.proof("GET", &format!("{ISSUER}/orders"), Some(&access_token), now);
    let gateway = system.api_gateway().await;
    assert_eq!(
        gateway
            .send(
                "GET",
                "/orders",
                &[
                    ("authorization", &format!("DPoP {access_token}")),
                    ("dpop", &proof)
                ]
            )
            .await,
        StatusCode::OK
    );
}
on_both_stores!(
    a_client_registered_for_dpop_gets_no_token_without_a_proof,
    a_dpop_bound_client_needs_a_proof
);

/// Rule 17 at the token endpoint: racing token requests that carry one proof get one token;
/// the rest are `invalid_dpop_proof` (the proof's marker is one conditional write).
async fn one_proof_raced_at_the_token_endpoint(mut system: System) {
    let batch = ClientFixture::confidential(BATCH, BATCH_SECRET)
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials])
        .auth_method(AuthMethod::ClientSecretPost);
    system.world.register(batch, SystemClock.now()).await;
    system.restart_functions().await;
    let system = std::sync::Arc::new(system);
    let proof = DpopKey::generate(SigningAlgorithm::Es256).proof(
        "POST",
        &token_url(),
        None,
        SystemClock.now(),
    );
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (system, proof) = (system.clone(), proof.clone());
        racers.spawn(async move {
            let fields = [
                ("grant_type", "client_credentials"),
                ("client_id", BATCH),
                ("client_secret", BATCH_SECRET),
            ];
            token_post(&system, &fields, Some(&proof)).await
        });
    }
    let mut issued = 0;
    while let Some(answer) = racers.join_next().await {
        let answer = answer.expect("a request");
        if answer.0 == StatusCode::OK {
            issued += 1;
        } else {
            assert_refused_proof(&answer, "a racer that lost");
        }
    }
    assert_eq!(issued, 1, "one of the racing requests uses the proof");
}
on_both_stores!(
    rule_17_one_dpop_proof_raced_at_the_token_endpoint_gets_one_token,
    one_proof_raced_at_the_token_endpoint
);
