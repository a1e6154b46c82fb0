//! The token endpoint on real DynamoDB and KMS APIs (moto, started by `tests/run.sh`):
//! concurrency, revocation, and how many DynamoDB calls each grant costs.

mod support;

use lambda_http::http::StatusCode;
use std::collections::BTreeMap;
use std::sync::Arc;
use support::*;
use xecure::testing::moto::CallCounter;
use xecure::testing::World;

async fn on_moto() -> (Harness, CallCounter) {
    let counter = CallCounter::default();
    let world = World::dynamodb_counted(counter.clone()).await;
    (harness_in(world).await, counter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_exchanges_give_one_token_and_replays_revoke_it() {
    let (h, _) = on_moto().await;
    let h = Arc::new(h);
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    let attempts: Vec<_> = (0..32)
        .map(|_| {
            let (h, code) = (Arc::clone(&h), code.clone());
            tokio::spawn(async move { h.exchange_as_web(&code).await })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            StatusCode::OK => winners.push(reply.json),
            _ => assert_eq!(reply.error(), "invalid_grant", "{}", reply.json),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 32 concurrent exchanges gets tokens"
    );
    // The 31 replays revoked what the winner got (RFC 6749 section 4.1.2).
    let refresh = winners[0]["refresh_token"].as_str().unwrap();
    let access = winners[0]["access_token"].as_str().unwrap();
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(
        h.post("/token", &body, Some(&basic(WEB, WEB_SECRET)))
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(
        h.post(
            "/introspect",
            &form(&[("token", access)]),
            Some(&basic(WEB, WEB_SECRET))
        )
        .await
        .json["active"],
        false
    );
}

#[tokio::test]
async fn refresh_reuse_revokes_the_family_on_dynamodb() {
    let (h, _) = on_moto().await;
    let auth = basic(WEB, WEB_SECRET);
    let tokens = h.web_tokens("profile:read").await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let refresh = |token: &str| form(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    let rotated = h.post("/token", &refresh(first), Some(&auth)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    let second = rotated.json["refresh_token"].as_str().unwrap();
    assert_eq!(
        h.post("/token", &refresh(first), Some(&auth)).await.error(),
        "invalid_grant"
    );
    assert_eq!(
        h.post("/token", &refresh(second), Some(&auth))
            .await
            .error(),
        "invalid_grant",
        "the whole family is revoked"
    );
}

fn calls(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(name, n)| (name.to_string(), *n))
        .collect()
}

/// Issue goals: code exchange <= 2, refresh <= 2, client_credentials <= 1 with a warm client
/// cache. Each also writes its one audit record (PutItem), counted here apart.
#[tokio::test]
async fn dynamodb_calls_per_grant() {
    let (h, counter) = on_moto().await;
    // Warm the client cache and keyring as a warm Lambda container would have them.
    h.post(
        "/token",
        &form(&[("grant_type", "client_credentials")]),
        Some(&basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    h.post(
        "/token",
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "warm-up"),
        ]),
        Some(&basic(WEB, WEB_SECRET)),
    )
    .await;

    counter.reset();
    let exchanged = h.exchange_as_web(&code).await;
    assert_eq!(exchanged.status, StatusCode::OK);
    let code_calls = counter.snapshot();
    assert_eq!(
        code_calls,
        // Redemption, then both audit records (code_redeemed, token_issued) in one write.
        calls(&[("GetItem", 1), ("TransactWriteItems", 2)]),
        "code exchange"
    );

    counter.reset();
    let body = form(&[
        ("grant_type", "refresh_token"),
        (
            "refresh_token",
            exchanged.json["refresh_token"].as_str().unwrap(),
        ),
    ]);
    assert_eq!(
        h.post("/token", &body, Some(&basic(WEB, WEB_SECRET)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        counter.snapshot(),
        calls(&[("GetItem", 1), ("TransactWriteItems", 1), ("PutItem", 1)]),
        "refresh"
    );

    counter.reset();
    let machine = h
        .post(
            "/token",
            &form(&[("grant_type", "client_credentials")]),
            Some(&basic(SERVICE, SERVICE_SECRET)),
        )
        .await;
    assert_eq!(machine.status, StatusCode::OK);
    assert_eq!(
        counter.snapshot(),
        calls(&[("PutItem", 1)]),
        "client_credentials: only its audit record"
    );
    println!("DynamoDB calls per grant (protocol + audit): code exchange {code_calls:?}, refresh and client_credentials as asserted");
}
