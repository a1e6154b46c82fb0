//! The cached policy is exact for every route, and revocations stop tokens within the bound;
//! store failures fail closed.

mod support;

use async_trait::async_trait;
use authorizer::events::Refusal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use xecure::domain::{Revocation, RevocationTarget, Timestamp, UserId};
use xecure::ports::{RevocationStore, Store, StoreError, StoreResult};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn the_policy_for_scope_a_covers_exactly_the_routes_of_a() {
    let h = harness().await;
    let (response, _) = h
        .run(h.token_event(&bearer(&h.token("orders:read")), "GET", "/orders/1"))
        .await;
    let statements = response.unwrap()["policyDocument"]["Statement"].clone();
    assert_eq!(statements.as_array().unwrap().len(), 1, "{statements}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(
        statements[0]["Resource"],
        serde_json::json!([
            format!("{ARN_PREFIX}/GET/orders"),
            format!("{ARN_PREFIX}/GET/orders/*")
        ])
    );
    // The same cached policy, evaluated for each route of the table, allows exactly these.
    for (method, path, allowed) in [
        ("GET", "/orders", true),
        ("GET", "/orders/9", true),
        ("POST", "/orders", false),
        ("DELETE", "/orders/9", false),
        ("GET", "/profile", false),
    ] {
        let (response, _) = h
            .run(h.token_event(&bearer(&h.token("orders:read")), method, path))
            .await;
        let is_allow = response.unwrap()["policyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["Effect"] == "Allow");
        assert_eq!(is_allow, allowed, "{method} {path}");
    }
}

#[tokio::test]
async fn a_route_missing_from_the_table_is_denied() {
    let h = harness().await;
    let (_, log) = h
        .run(h.token_event(
            &bearer(&h.token("orders:read orders:write profile:read")),
            "GET",
            "/admin",
        ))
        .await;
    assert_eq!(log["Decision"], "deny");
    assert_eq!(log["detail"]["route"], "GET /admin");
}

#[tokio::test]
async fn a_revoked_user_is_stopped_within_the_bound() {
    let h = harness().await;
    let config = h.app.authorizer.config().clone();
    let token = h.token("orders:read");
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route"
    );
    let revoked_at = xecure::ports::Clock::now(h.clock.as_ref());
    h.store
        .put_revocation(&revocation(
            RevocationTarget::User(UserId::parse("usr_alice").unwrap()),
            revoked_at,
        ))
        .await
        .unwrap();
    // Polls happen every poll_every, in the background: once the one due then has run (the
    // clock stands still meanwhile), the container denies. API Gateway's cache adds at most
    // its TTL, and the sum stays within the configured bound.
    h.advance(config.poll_every());
    tokio::time::timeout(Duration::from_secs(5), async {
        while h.reason(&bearer(&token), "GET", "/orders").await != "revoked" {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("denied once the due poll ran, with no more time passing");
    assert!(config.poll_every() + config.gateway_cache_ttl <= config.revocation_bound);
}

#[tokio::test]
async fn grant_family_and_jti_revocations_all_stop_the_token() {
    let targets = [
        RevocationTarget::Grant(xecure::domain::GrantId::parse("grt_1").unwrap()),
        RevocationTarget::Family(xecure::domain::FamilyId::parse("fam_1").unwrap()),
        RevocationTarget::AccessToken("jti-1".into()),
        RevocationTarget::Client(xecure::domain::ClientId::parse("photo-app").unwrap()),
    ];
    for (n, target) in targets.into_iter().enumerate() {
        let h2 = harness().await;
        // This harness's own clock: a client revocation stops only tokens issued up to it,
        // and the token below is issued at this clock's now.
        let now = xecure::ports::Clock::now(h2.clock.as_ref());
        let mut entry = revocation(target, now);
        entry.id = xecure::domain::EventId::parse(&format!("evt_{n}")).unwrap();
        h2.store.put_revocation(&entry).await.unwrap();
        assert_eq!(
            h2.reason(&bearer(&h2.token("orders:read")), "GET", "/orders")
                .await,
            "revoked"
        );
    }
}

/// Revocation polls that can be made to fail.
struct Flaky {
    inner: Arc<dyn Store>,
    down: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
}

#[async_trait]
impl RevocationStore for Flaky {
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        self.inner.list_revocations_since(since, now).await
    }
}

#[tokio::test]
async fn a_store_outage_fails_closed_once_the_list_is_too_old_to_keep_the_bound() {
    let down = Arc::new(AtomicBool::new(false));
    let flag = down.clone();
    let mut h = harness_with(move |store| {
        Arc::new(Flaky {
            inner: store,
            down: flag,
            polls: Arc::default(),
        })
    })
    .await;
    let config = h.app.authorizer.config().clone();
    let token = h.token("orders:read");
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route"
    );
    down.store(true, Ordering::SeqCst);
    // Within max_stale the last good list still keeps the bound.
    h.advance(config.poll_every() + Duration::from_secs(1));
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route"
    );
    h.advance(config.max_stale());
    let (response, log) = h
        .run(h.token_event(&bearer(&token), "GET", "/orders"))
        .await;
    // Not `Unauthorized` (a 401 would make the client refresh a good token for nothing):
    // an error API Gateway answers with AUTHORIZER_FAILURE and does not cache.
    assert_eq!(response.unwrap_err(), Refusal::Unavailable);
    assert_eq!(log["reason"], "revocations_unavailable");
    assert_eq!(log["AuthorizerFailClosed"], 1.0);
    let metric_names: Vec<&str> = log["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|directive| directive["Metrics"][0]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        metric_names,
        ["AuthorizerDecisions", "Latency", "AuthorizerFailClosed"]
    );
    // HTTP API events (policy or simple answers) fail the same way: an error, never a
    // Deny or `isAuthorized: false` that API Gateway would cache for the TTL.
    let http = serde_json::json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/GET/orders",
        "identitySource": [bearer(&token)],
        "routeKey": "GET /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {"authorization": bearer(&token)},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "x", "domainPrefix": "x",
            "http": {"method": "GET", "path": "/orders", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "GET /orders", "stage": "$default", "time": "t", "timeEpoch": 0
        }
    });
    let (response, _) = h.run(http.clone()).await;
    assert_eq!(response.unwrap_err(), Refusal::Unavailable, "HTTP policy");
    h.app.http_simple = true;
    let (response, _) = h.run(http).await;
    assert_eq!(response.unwrap_err(), Refusal::Unavailable, "HTTP simple");
    h.app.http_simple = false;
    down.store(false, Ordering::SeqCst);
    h.advance(Duration::from_secs(2));
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route",
        "recovers"
    );
}

/// Counts how often the published keys are read.
struct CountedKeys {
    inner: Arc<dyn Store>,
    reads: Arc<AtomicUsize>,
}

#[async_trait]
impl xecure::ports::KeyStore for CountedKeys {
    async fn list_signing_keys(&self) -> StoreResult<Vec<xecure::domain::SigningKey>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.list_signing_keys().await
    }
}

#[tokio::test]
async fn a_warm_container_polls_revocations_once_per_interval_and_nothing_else() {
    let polls = Arc::new(AtomicUsize::new(0));
    let key_reads = Arc::new(AtomicUsize::new(0));
    let (counter, reads) = (polls.clone(), key_reads.clone());
    let h = harness_with_stores(
        move |store| {
            Arc::new(Flaky {
                inner: store,
                down: Arc::default(),
                polls: counter,
            })
        },
        move |store| {
            Arc::new(CountedKeys {
                inner: store,
                reads,
            })
        },
    )
    .await;
    assert_eq!(
        key_reads.load(Ordering::SeqCst),
        1,
        "keys read once, at the cold start"
    );
    let config = h.app.authorizer.config().clone();
    for n in 0..200 {
        let token = h.token(if n % 2 == 0 {
            "orders:read"
        } else {
            "profile:read"
        });
        let (_, log) = h
            .run(h.token_event(&bearer(&token), "GET", "/orders"))
            .await;
        assert_eq!(log["Decision"] == "allow", n % 2 == 0);
    }
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "one poll for 200 calls within the interval"
    );
    assert_eq!(
        key_reads.load(Ordering::SeqCst),
        1,
        "no key read on a warm call: the keys parsed at the cold start serve them all"
    );
    h.advance(config.poll_every());
    let _ = h
        .run(h.token_event(&bearer(&h.token("orders:read")), "GET", "/orders"))
        .await;
    // The due poll runs in the background; the call did not wait for it.
    tokio::time::timeout(Duration::from_secs(5), async {
        while polls.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the background poll ran");
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

/// The policy memo (`policy_memo.rs`) keeps one document per scope, stage and route: one
/// token alternating between a route its scope allows and one it does not gets Allow,
/// Deny with that route denied, then Allow again, every time, from the memo or not.
#[tokio::test]
async fn remembered_policies_keep_allow_and_deny_per_route() {
    let h = harness().await;
    let token = bearer(&h.token("orders:read"));
    for _ in 0..3 {
        let (allowed, log) = h.run(h.token_event(&token, "GET", "/orders/1")).await;
        assert_eq!(log["Decision"], "allow");
        let allowed = allowed.unwrap();
        assert!(allowed["policyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["Effect"] == "Allow"));
        let (refused, log) = h.run(h.token_event(&token, "POST", "/orders")).await;
        assert_eq!(log["Decision"], "deny");
        let statements = refused.unwrap()["policyDocument"]["Statement"].clone();
        let deny = statements
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Effect"] == "Deny")
            .expect("an explicit Deny")
            .clone();
        assert_eq!(
            deny["Resource"],
            serde_json::json!([format!("{ARN_PREFIX}/POST/orders")])
        );
    }
}
