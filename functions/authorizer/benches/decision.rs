//! Issue #5 and #21 goals, measured in one run so they compare:
//! - the crypto floor: the raw Ed25519 signature check with a pre-parsed key over the
//!   token's signing input (split and decoded outside the loop), what issue #21 goal 1
//!   measures the full decision against (<= 1.15x); `verify_only_preparsed_key` adds the
//!   token's parsing and the claims' validation (`verify_access_token`);
//! - the full decision (event JSON in, response JSON out, new token each call);
//! - a token seen before, served from the verified-claims cache: goal <= 10 µs;
//! - DPoP (RFC 9449) beside them: the proof check alone, and a whole decision for a
//!   DPoP-bound token (claims cached) with a fresh proof, its one-time use recorded in the
//!   harness's store (the embedded store: a durable local write, where the Lambda makes one
//!   conditional PutItem).
//!
//!     cargo bench -p authorizer --bench decision
//!
//! `python3 infra/measure/authorizer_peers.py` runs the floor and both decisions beside the
//! same decision on the Node verifiers aws-jwt-verify and jose.

#[path = "../tests/support/mod.rs"]
mod support;

use authorizer::handler::decide;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, ParsedPublicKey, ED25519};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::BatchSize;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::sync::Arc;
use support::*;
use xecure::dpop::{verify_proof, ProofContext};
use xecure::jwt::{verify_access_token, TokenExpectations};
use xecure::ports::Clock;
use xecure::signing::{Keyring, SigningAlgorithm};
use xecure::testing::DpopKey;

/// Distinct tokens, so the uncached benchmark never hits the cache (more than its capacity).
const TOKENS: usize = 6000;

/// What the Lambda does per call, less its runtime: the decision from the event's JSON text,
/// the answer as JSON text, and the log line written (to a reused buffer, not stdout).
fn decide_and_log(
    runtime: &tokio::runtime::Runtime,
    h: &Harness,
    event: &str,
    line: &mut Vec<u8>,
) -> Box<serde_json::value::RawValue> {
    let answer = runtime.block_on(decide(&h.app, event));
    line.clear();
    serde_json::to_writer(&mut *line, &answer.log_line()).unwrap();
    answer.response.unwrap()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = runtime.block_on(harness());
    let tokens: Vec<String> = (0..TOKENS)
        .map(|n| {
            let mut claims = h.claims("orders:read");
            claims["jti"] = serde_json::json!(format!("jti-{n}"));
            h.sign_with(h.header(), &claims)
        })
        .collect();
    let keyring: Arc<Keyring> = runtime.block_on(async {
        let keys = h.store.list_signing_keys().await.unwrap();
        Arc::new(Keyring::load(keys, None, h.clock.now()).await.unwrap())
    });
    let expect = TokenExpectations {
        issuer: ISSUER.into(),
        audience: format!("{ISSUER}/api"),
        leeway_secs: 30,
    };
    let now = h.clock.now();
    let mut group = c.benchmark_group("authorizer");
    let public_key = Ed25519KeyPair::from_pkcs8(&h.pkcs8).unwrap();
    let public_key = ParsedPublicKey::new(&ED25519, public_key.public_key().as_ref()).unwrap();
    let signed: Vec<(&[u8], Vec<u8>)> = tokens
        .iter()
        .map(|token| {
            let (input, signature) = token.rsplit_once('.').unwrap();
            (input.as_bytes(), URL_SAFE_NO_PAD.decode(signature).unwrap())
        })
        .collect();
    let mut n = 0usize;
    group.bench_function("crypto_floor_ed25519_verify", |b| {
        b.iter(|| {
            n = (n + 1) % TOKENS;
            let (input, signature) = &signed[n];
            black_box(public_key.verify_sig(input, signature)).unwrap();
        })
    });
    group.bench_function("verify_only_preparsed_key", |b| {
        b.iter(|| {
            n = (n + 1) % TOKENS;
            black_box(verify_access_token(&keyring, &tokens[n], &expect, now).unwrap());
        })
    });
    let events: Vec<String> = tokens
        .iter()
        .map(|t| {
            h.token_event(&format!("Bearer {t}"), "GET", "/orders/42")
                .to_string()
        })
        .collect();
    let mut line = Vec::new();
    group.bench_function("full_decision_new_token", |b| {
        b.iter(|| {
            n = (n + 1) % TOKENS;
            black_box(decide_and_log(&runtime, &h, &events[n], &mut line));
        })
    });
    let repeated = &events[0];
    group.bench_function("full_decision_cached_token", |b| {
        b.iter(|| black_box(decide_and_log(&runtime, &h, repeated, &mut line)))
    });
    // DPoP: a REST REQUEST event for a token bound to `key`, with a fresh proof each call
    // (made outside the measurement; a proof is used once).
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let mut claims = h.claims("orders:read");
    claims["cnf"] = serde_json::json!({ "jkt": key.jkt() });
    let bound = h.sign_with(h.header(), &claims);
    let url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders/42";
    let request_event = |proof: &str| {
        let text = include_str!("../tests/fixtures/rest_request_event.json")
            .replace("Bearer TOKEN_PLACEHOLDER", &format!("DPoP {bound}"));
        let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
        event["headers"]["DPoP"] = serde_json::json!(proof);
        event["multiValueHeaders"]["DPoP"] = serde_json::json!([proof]);
        event.to_string()
    };
    let proof = key.proof("GET", url, Some(&bound), now);
    let context = ProofContext {
        method: "GET",
        url,
        access_token: Some(&bound),
    };
    group.bench_function("dpop_proof_check_only", |b| {
        b.iter(|| black_box(verify_proof(&proof, &context, now).unwrap()))
    });
    group.bench_function("full_decision_cached_token_dpop", |b| {
        b.iter_batched(
            || request_event(&key.proof("GET", url, Some(&bound), now)),
            |event| black_box(decide_and_log(&runtime, &h, &event, &mut line)),
            BatchSize::SmallInput,
        )
    });
    let bearer_request = {
        let unbound = &tokens[0];
        include_str!("../tests/fixtures/rest_request_event.json")
            .replace("TOKEN_PLACEHOLDER", unbound)
    };
    group.bench_function("full_decision_cached_token_request_event", |b| {
        b.iter(|| black_box(decide_and_log(&runtime, &h, &bearer_request, &mut line)))
    });
    group.finish();
}

criterion_group!(authorizer, benches);
criterion_main!(authorizer);
