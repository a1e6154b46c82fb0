//! Security rule 19 through the token handler, wired as the Lambda wires it: per client on
//! `/token`, `/revoke` and `/introspect`, per initial access token on `/register`, 429
//! `too_many_requests` with Retry-After; a wrong secret spends the sender's failure budget,
//! not the named client's; a refused request stores nothing.

mod support;

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use std::time::Duration;
use support::*;
use xecure::config::RateLimitConfig;
use xecure::domain::{InitialAccessToken, OpaqueToken};
use xecure::ports::{Clock, OsRng};
use xecure::ratelimit::Rate;
use xecure::testing::World;

fn limits() -> RateLimitConfig {
    RateLimitConfig {
        client: Rate {
            per_minute: 60,
            burst: 3,
        },
        registration: Rate {
            per_minute: 60,
            burst: 2,
        },
        auth_failures: Rate {
            per_minute: 60,
            burst: 5,
        },
    }
}

async fn limited() -> Harness {
    harness_with(World::embedded(), Some(limits())).await
}

/// A form POST from `source`, as API Gateway reports the caller's address.
async fn post_from(
    harness: &Harness,
    source: &str,
    path: &str,
    body: &str,
    authorization: Option<&str>,
) -> Reply {
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source.to_owned());
    let request = form_post(path, body, authorization)
        .with_request_context(RequestContext::ApiGatewayV2(context));
    harness.send(request).await
}

fn assert_too_many(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        reply.json
    );
    assert_eq!(reply.error(), "too_many_requests", "{what}");
    assert!(reply.json["error_description"].as_str().unwrap().len() > 10);
    assert_eq!(reply.headers["retry-after"], "1", "{what}");
    assert_eq!(reply.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn rule_19_a_client_over_its_rate_gets_429_on_all_three_endpoints() {
    let h = limited().await;
    let service = basic(SERVICE, SERVICE_SECRET);
    let credentials = form(&[("grant_type", "client_credentials")]);
    let token = post_from(&h, "198.51.100.1", "/token", &credentials, Some(&service)).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.json);
    let access = token.json["access_token"].as_str().unwrap().to_owned();
    let about = form(&[("token", &access)]);
    let introspected = post_from(&h, "198.51.100.1", "/introspect", &about, Some(&service)).await;
    assert_eq!(introspected.status, StatusCode::OK);
    let revoked = post_from(&h, "198.51.100.2", "/revoke", &about, Some(&service)).await;
    assert_eq!(revoked.status, StatusCode::OK);
    // Three in the burst, from any address: the fourth request of this client is refused.
    for path in ["/token", "/introspect", "/revoke"] {
        let body = if path == "/token" {
            &credentials
        } else {
            &about
        };
        let refused = post_from(&h, "198.51.100.3", path, body, Some(&service)).await;
        assert_too_many(&refused, path);
    }
    // Another client has its own budget; this one gets a token back a second later.
    let web = basic(WEB, WEB_SECRET);
    let unknown = form(&[("token", "not-a-token")]);
    let other = post_from(&h, "198.51.100.1", "/revoke", &unknown, Some(&web)).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.json);
    h.clock.advance(Duration::from_secs(1));
    let later = post_from(&h, "198.51.100.1", "/token", &credentials, Some(&service)).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.json);
}

#[tokio::test]
async fn a_public_client_is_limited_per_source_address() {
    let h = limited().await;
    let body = form(&[("token", "not-a-token"), ("client_id", MOBILE)]);
    for _ in 0..3 {
        let reply = post_from(&h, "203.0.113.1", "/revoke", &body, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    }
    assert_too_many(
        &post_from(&h, "203.0.113.1", "/revoke", &body, None).await,
        "same device",
    );
    let elsewhere = post_from(&h, "203.0.113.2", "/revoke", &body, None).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::OK,
        "another device is not held up"
    );
}

#[tokio::test]
async fn wrong_secrets_spend_the_senders_budget_not_the_clients() {
    let h = limited().await;
    let credentials = form(&[("grant_type", "client_credentials")]);
    let forged = basic(SERVICE, "not-the-secret");
    for _ in 0..5 {
        let reply = post_from(&h, "192.0.2.66", "/token", &credentials, Some(&forged)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error(), "invalid_client");
    }
    // The attacker's address is refused now, even with the right secret...
    let right = basic(SERVICE, SERVICE_SECRET);
    let attacker = post_from(&h, "192.0.2.66", "/token", &credentials, Some(&right)).await;
    assert_too_many(&attacker, "the failing address");
    // ...while the client, from its own address, still has its whole burst.
    for _ in 0..3 {
        let reply = post_from(&h, "198.51.100.9", "/token", &credentials, Some(&right)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    }
}

#[tokio::test]
async fn rule_19_registration_is_limited_per_initial_access_token() {
    let h = limited().await;
    let issue = || async {
        let token = OpaqueToken::generate(&OsRng);
        let now = h.clock.now();
        h.store
            .put_initial_access_token(&InitialAccessToken {
                digest: token.digest(),
                created_at: now,
                expires_at: now.plus(Duration::from_secs(3600)),
            })
            .await
            .unwrap();
        format!("Bearer {}", token.secret())
    };
    let register = |bearer: String| {
        let metadata = serde_json::json!({
            "client_name": "Recipe Planner",
            "redirect_uris": ["https://recipes.example/cb"],
            "scope": "profile:read",
        });
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/register")
            .header("content-type", "application/json")
            .header("authorization", bearer)
            .body(Body::from(metadata.to_string()))
            .unwrap();
        h.send(request)
    };
    let first = issue().await;
    for _ in 0..2 {
        assert_eq!(register(first.clone()).await.status, StatusCode::CREATED);
    }
    let clients = h.store.list_clients().await.unwrap().len();
    assert_too_many(&register(first.clone()).await, "third registration");
    assert_eq!(
        h.store.list_clients().await.unwrap().len(),
        clients,
        "a refused registration stores nothing"
    );
    assert_eq!(register(issue().await).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_dpop_proofs_naming_a_client_spend_the_senders_budget_not_the_clients() {
    let h = limited().await;
    let credentials = form(&[("grant_type", "client_credentials")]);
    let service = basic(SERVICE, SERVICE_SECRET);
    for _ in 0..5 {
        let mut context =
            lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some("192.0.2.77".to_owned());
        let mut request = form_post("/token", &credentials, Some(&service))
            .with_request_context(RequestContext::ApiGatewayV2(context));
        request.headers_mut().append("dpop", "a".parse().unwrap());
        request.headers_mut().append("dpop", "b".parse().unwrap());
        let reply = h.send(request).await;
        assert_eq!(reply.error(), "invalid_dpop_proof", "{}", reply.json);
    }
    // The sender's address is held up; the named client keeps its whole burst elsewhere.
    let attacker = post_from(&h, "192.0.2.77", "/token", &credentials, Some(&service)).await;
    assert_too_many(&attacker, "the failing address");
    for _ in 0..3 {
        let reply = post_from(&h, "198.51.100.9", "/token", &credentials, Some(&service)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    }
}

#[tokio::test]
async fn rule_19_pushed_authorization_requests_are_limited_per_client() {
    let h = limited().await;
    let push = form(&[
        ("response_type", "code"),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let web = basic(WEB, WEB_SECRET);
    for _ in 0..3 {
        let reply = post_from(&h, "198.51.100.1", "/par", &push, Some(&web)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    }
    assert_too_many(
        &post_from(&h, "198.51.100.2", "/par", &push, Some(&web)).await,
        "/par",
    );
}
