//! DPoP in the events API Gateway sends (RFC 9449 section 7): the REST REQUEST and HTTP API
//! events carry the proof, method and URL the authorizer checks it against (the URL as the
//! caller called it: `Host`, and the path with its stage); a TOKEN event carries no proof,
//! so a DPoP-bound token is refused there.

mod support;

use serde_json::{json, Value};
use support::*;
use xecure::domain::{Timestamp, TokenDigest};
use xecure::ports::{ProofReplayStore, StoreError, StoreResult};
use xecure::signing::SigningAlgorithm;
use xecure::testing::DpopKey;

/// A REST URL: the execute-api host and the path with its stage.
const REST_URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders/42";
/// An HTTP API `$default` stage: no stage in the path.
const HTTP_URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/orders/42";

fn bound_token(h: &Harness, key: &DpopKey) -> String {
    let mut claims = h.claims("orders:read");
    claims["cnf"] = json!({ "jkt": key.jkt() });
    h.sign_with(h.header(), &claims)
}

/// `fixture` with the token under `scheme` and, if given, a DPoP header.
fn event(fixture: &str, scheme: &str, token: &str, proof: Option<&str>) -> Value {
    let text = fixture.replace("Bearer TOKEN_PLACEHOLDER", &format!("{scheme} {token}"));
    let mut event: Value = serde_json::from_str(&text).unwrap();
    if let Some(proof) = proof {
        event["headers"]["DPoP"] = json!(proof);
        if let Some(multi) = event.get_mut("multiValueHeaders") {
            multi["DPoP"] = json!([proof]);
        }
    }
    event
}

fn now(h: &Harness) -> Timestamp {
    Timestamp::from_secs(h.now_secs())
}

async fn decision(h: &Harness, event: Value) -> String {
    let (_, log) = h.run(event).await;
    log["reason"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rest_request_and_http_api_events_check_the_proof_against_the_called_url() {
    let h = harness().await;
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let token = bound_token(&h, &key);
    let rest = include_str!("fixtures/rest_request_event.json");
    let http = include_str!("fixtures/http_v2_event.json");
    for (fixture, url) in [(rest, REST_URL), (http, HTTP_URL)] {
        let proof = key.proof("GET", url, Some(&token), now(&h));
        let (response, log) = h.run(event(fixture, "DPoP", &token, Some(&proof))).await;
        assert_eq!(log["Decision"], "allow", "{log}");
        assert_eq!(
            response.unwrap()["policyDocument"]["Statement"][0]["Effect"],
            "Allow"
        );
        // The same proof again: used once.
        let replay = event(fixture, "DPoP", &token, Some(&proof));
        assert_eq!(decision(&h, replay).await, "dpop_proof_replayed");
        // A proof for the path without the REST stage, or for another host.
        let other = if url == REST_URL { HTTP_URL } else { REST_URL };
        let wrong = key.proof("GET", other, Some(&token), now(&h));
        let wrong = event(fixture, "DPoP", &token, Some(&wrong));
        assert_eq!(decision(&h, wrong).await, "dpop_proof_htu");
        let bearer = key.proof("GET", url, Some(&token), now(&h));
        let as_bearer = event(fixture, "Bearer", &token, Some(&bearer));
        assert_eq!(decision(&h, as_bearer).await, "dpop_bound_token_as_bearer");
        let missing = event(fixture, "DPoP", &token, None);
        assert_eq!(decision(&h, missing).await, "dpop_proof_missing");
    }
}

#[tokio::test]
async fn a_token_event_cannot_carry_a_proof_so_a_bound_token_is_refused() {
    let h = harness().await;
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let token = bound_token(&h, &key);
    assert_eq!(
        h.reason(&format!("DPoP {token}"), "GET", "/orders/42")
            .await,
        "dpop_proof_not_in_event"
    );
    // An unbound token under the DPoP scheme is refused too (RFC 9449 section 7.1).
    let unbound = h.token("orders:read");
    assert_eq!(
        h.reason(&format!("DPoP {unbound}"), "GET", "/orders/42")
            .await,
        "unbound_token_as_dpop"
    );
    assert_eq!(
        h.reason(&format!("Bearer {unbound}"), "GET", "/orders/42")
            .await,
        "scope_allows_route"
    );
}

#[tokio::test]
async fn a_bound_token_is_refused_on_a_route_that_takes_bearer_tokens_only() {
    let h = harness().await;
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let mut claims = h.claims("profile:read");
    claims["cnf"] = json!({ "jkt": key.jkt() });
    let token = h.sign_with(h.header(), &claims);
    let fixture = include_str!("fixtures/rest_request_event.json")
        .replace("/GET/orders/42", "/GET/profile")
        .replace("/prod/orders/42", "/prod/profile");
    let url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/profile";
    let proof = key.proof("GET", url, Some(&token), now(&h));
    let refused = event(&fixture, "DPoP", &token, Some(&proof));
    assert_eq!(decision(&h, refused).await, "dpop_not_accepted_on_route");
}

#[tokio::test]
async fn the_url_a_proof_must_name_comes_from_the_gateway_not_the_callers_headers() {
    let h = harness().await;
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let token = bound_token(&h, &key);
    let rest = include_str!("fixtures/rest_request_event.json");
    let evil = "https://evil.example/orders/1";
    let with_caller_headers = |proof: &str| {
        let mut event = event(rest, "DPoP", &token, Some(proof));
        for headers in ["headers", "multiValueHeaders"] {
            let many = headers == "multiValueHeaders";
            let value = |v: &str| if many { json!([v]) } else { json!(v) };
            event[headers]["Host"] = value("evil.example");
            event[headers]["X-Forwarded-Proto"] = value("https://evil.example/orders/1?");
        }
        event
    };
    let for_evil = key.proof("GET", evil, Some(&token), now(&h));
    assert_eq!(
        decision(&h, with_caller_headers(&for_evil)).await,
        "dpop_proof_htu"
    );
    let for_api = key.proof("GET", REST_URL, Some(&token), now(&h));
    assert_eq!(
        decision(&h, with_caller_headers(&for_api)).await,
        "scope_allows_route",
        "the domain API Gateway set decides"
    );
    // A `?` in the path stays in the path: no proof for a shorter path matches it.
    let odd = key.proof("GET", REST_URL, Some(&token), now(&h));
    let mut odd_event = event(rest, "DPoP", &token, Some(&odd));
    odd_event["requestContext"]["path"] = json!("/prod/orders/42?x");
    assert_eq!(decision(&h, odd_event).await, "dpop_proof_htu");
}

/// Rule 18: the store DPoP proofs are marked used in is gone: a bound token's call fails
/// closed (the error API Gateway answers with 503, never cached), and a bearer call, which
/// writes nothing, is decided as before.
struct GoneProofStore;

#[async_trait::async_trait]
impl ProofReplayStore for GoneProofStore {
    async fn use_proof_once(
        &self,
        _id: &TokenDigest,
        _expires_at: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<bool> {
        Err(StoreError::Unavailable("injected outage".into()))
    }
}

#[tokio::test]
async fn rule_18_a_dpop_call_fails_closed_when_its_proof_cannot_be_recorded() {
    let h = harness_with_proofs(|_| std::sync::Arc::new(GoneProofStore)).await;
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let token = bound_token(&h, &key);
    let rest = include_str!("fixtures/rest_request_event.json");
    let proof = key.proof("GET", REST_URL, Some(&token), now(&h));
    let (response, log) = h.run(event(rest, "DPoP", &token, Some(&proof))).await;
    assert_eq!(
        response.unwrap_err(),
        authorizer::events::Refusal::Unavailable,
        "{log}"
    );
    assert_eq!(log["reason"], "dpop_replay_store_unavailable");
    let bearer = h.token("orders:read");
    let (response, _) = h.run(event(rest, "Bearer", &bearer, None)).await;
    assert!(response.is_ok(), "bearer calls need no write");
}
