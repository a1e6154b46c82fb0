//! The local gateway answers as the template's REST API does: gateway responses with
//! `WWW-Authenticate` and `Retry-After`, usage plans per app, a fail-closed authorizer as a
//! 503 that is not cached, and one access-log record per call with the app that made it.

use super::access_log::{access_log_path, AccessLog};
use super::api_gateway::{AuthorizerMode, LocalSystem};
use super::per_app_limits::{assignments_path, write_assignments, Assignments, PerAppLimits};
use super::test_store::world_signing_from;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::{Body, Request};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xecure::api_usage::access_log::AccessRecord;
use xecure::api_usage::plans::UsagePlans;
use xecure::domain::*;
use xecure::ports::{Clock, RevocationStore, Store, StoreError, StoreResult, SystemClock};
use xecure::testing::{ClientFixture, FixedClock, World};

const SECRET: &str = "reports-secret-0123456789abcdefghijklmnopq";

/// Revocation polls that fail while `down` is set.
struct Switchable {
    inner: Arc<dyn Store>,
    down: Arc<AtomicBool>,
}

#[async_trait]
impl RevocationStore for Switchable {
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        self.inner.list_revocations_since(since, now).await
    }
}

struct Harness {
    system: LocalSystem,
    clock: Arc<FixedClock>,
    down: Arc<AtomicBool>,
    /// The world's data directory: usage-plan assignments and the access log.
    dir: std::path::PathBuf,
    _world: World,
}

struct Answer {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    body: Value,
}

async fn harness(plan: &str) -> Harness {
    let clock = Arc::new(FixedClock::at(SystemClock.now()));
    let now = clock.now();
    let (world, data) = world_signing_from(now).await;
    let reports = ClientFixture::confidential("reports", SECRET)
        .named("Reports")
        .redirect("https://reports.example/cb")
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::ClientCredentials]);
    world.register(reports, now).await;
    let down = Arc::new(AtomicBool::new(false));
    let revocations = Arc::new(Switchable {
        inner: world.store.clone(),
        down: down.clone(),
    });
    let dir = world.data_dir().expect("an embedded world").to_owned();
    let plans = UsagePlans::parse(&format!(
        "[[plan]]\nname = \"tiny\"\ndescription = \"t\"\n{plan}\n"
    ))
    .unwrap();
    let system = LocalSystem::build_with(
        &data,
        "http://127.0.0.1:3000",
        AuthorizerMode::Token,
        clock.clone(),
        revocations,
    )
    .await
    .unwrap()
    .with_per_app_limits(PerAppLimits::new(plans, assignments_path(&dir)))
    .with_access_log(AccessLog::append_to(&access_log_path(&dir)).unwrap());
    Harness {
        system,
        clock,
        down,
        dir,
        _world: world,
    }
}

impl Harness {
    async fn send(&self, method: &str, path: &str, bearer: Option<&str>, form: &str) -> Answer {
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        self.send_as(method, path, authorization, form).await
    }

    async fn send_as(
        &self,
        method: &str,
        path: &str,
        authorization: Option<String>,
        form: &str,
    ) -> Answer {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(path);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        let body = if form.is_empty() {
            Body::Empty
        } else {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        };
        let request: Request = builder.body(body).unwrap();
        let response = self
            .system
            .handle(request, SocketAddr::from(([127, 0, 0, 1], 40001)))
            .await;
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
        }
    }

    /// A client_credentials token, the client authenticating as registered (Basic).
    async fn token(&self, scope: &str) -> String {
        let basic = format!("Basic {}", STANDARD.encode(format!("reports:{SECRET}")));
        let form = format!("grant_type=client_credentials&scope={scope}");
        let answer = self.send_as("POST", "/token", Some(basic), &form).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["access_token"].as_str().unwrap().to_owned()
    }

    fn assign(&self, plan: &str) {
        let assignments = Assignments::from([("reports".to_owned(), plan.to_owned())]);
        write_assignments(&assignments_path(&self.dir), &assignments).unwrap();
    }

    fn records(&self) -> Vec<AccessRecord> {
        std::fs::read_to_string(access_log_path(&self.dir))
            .unwrap()
            .lines()
            .map(|line| AccessRecord::parse(line).expect("an access-log record"))
            .collect()
    }
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

const ROOMY: &str =
    "rate_limit = 100.0\nburst_limit = 100\nquota_limit = 1000\nquota_period = \"DAY\"";

#[tokio::test]
async fn refusals_carry_the_gateway_responses_of_the_template() {
    let h = harness(ROOMY).await;
    h.assign("tiny");
    let missing = h.send("GET", "/orders", None, "").await;
    assert_eq!(missing.status, 401);
    // Both schemes are challenged; DPoP with its proof algorithms (RFC 9449 section 7.1).
    let challenge = Some("Bearer, DPoP algs=\"ES256 EdDSA RS256 PS256\"");
    assert_eq!(header(&missing, "www-authenticate"), challenge);
    let garbled = h.send("GET", "/orders", Some("not-a-jwt"), "").await;
    assert_eq!(garbled.status, 401);
    assert_eq!(header(&garbled, "www-authenticate"), challenge);
    let token = h.token("orders:read").await;
    let allowed = h.send("GET", "/orders", Some(&token), "").await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    let no_scope = h.send("POST", "/orders", Some(&token), "").await;
    assert_eq!(no_scope.status, 403);
    assert_eq!(
        header(&no_scope, "www-authenticate"),
        Some("Bearer error=\"insufficient_scope\"")
    );
}

#[tokio::test]
async fn each_app_is_held_to_its_usage_plan() {
    let h =
        harness("rate_limit = 1.0\nburst_limit = 2\nquota_limit = 3\nquota_period = \"DAY\"").await;
    let token = h.token("orders:read").await;
    let unassigned = h.send("GET", "/orders", Some(&token), "").await;
    assert_eq!(unassigned.status, 403);
    assert!(
        unassigned.body["message"]
            .as_str()
            .unwrap()
            .contains("xecure usage-plan assign"),
        "{}",
        unassigned.body
    );
    h.assign("tiny");
    assert_eq!(h.send("GET", "/orders", Some(&token), "").await.status, 200);
    assert_eq!(h.send("GET", "/orders", Some(&token), "").await.status, 200);
    let throttled = h.send("GET", "/orders", Some(&token), "").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(header(&throttled, "retry-after"), Some("1"));
    h.clock.advance(Duration::from_secs(5));
    assert_eq!(h.send("GET", "/orders", Some(&token), "").await.status, 200);
    let over_quota = h.send("GET", "/orders", Some(&token), "").await;
    assert_eq!(over_quota.status, 429);
    assert!(over_quota.body["message"]
        .as_str()
        .unwrap()
        .contains("quota"));
    let kinds: Vec<(u16, Option<String>, bool)> = h
        .records()
        .into_iter()
        .filter(|record| record.route.as_deref() == Some("GET /orders"))
        .map(|record| {
            (
                record.status,
                record.error_type,
                record.api_key_id.is_some(),
            )
        })
        .collect();
    let error = |kind: &str| Some(kind.to_owned());
    // The key is logged whenever API Gateway found it: not for an app on no plan.
    assert_eq!(
        kinds,
        [
            (403, error("INVALID_API_KEY"), false),
            (200, None, true),
            (200, None, true),
            (429, error("THROTTLED"), true),
            (200, None, true),
            (429, error("QUOTA_EXCEEDED"), true),
        ]
    );
}

#[tokio::test]
async fn a_fail_closed_authorizer_is_a_503_that_is_not_cached() {
    let h = harness(ROOMY).await;
    h.assign("tiny");
    let token = h.token("orders:read").await;
    h.down.store(true, Ordering::SeqCst);
    // The last good list is older than the bound allows: the authorizer fails closed.
    h.clock.advance(Duration::from_secs(61));
    let unavailable = h.send("GET", "/orders", Some(&token), "").await;
    assert_eq!(unavailable.status, 503, "{}", unavailable.body);
    assert_eq!(header(&unavailable, "retry-after"), Some("5"));
    assert!(
        header(&unavailable, "www-authenticate").is_none(),
        "no refresh"
    );
    h.down.store(false, Ordering::SeqCst);
    h.clock.advance(Duration::from_secs(1));
    // Nothing was cached: the very next call is decided afresh.
    assert_eq!(h.send("GET", "/orders", Some(&token), "").await.status, 200);
    let failure = h
        .records()
        .into_iter()
        .find(|record| record.status == 503)
        .unwrap();
    assert_eq!(failure.error_type.as_deref(), Some("AUTHORIZER_FAILURE"));
    assert!(failure.authorizer_error.is_some());
}

#[tokio::test]
async fn every_call_leaves_an_access_record_naming_the_app() {
    let h = harness(ROOMY).await;
    h.assign("tiny");
    let token = h.token("orders:read").await;
    assert_eq!(
        h.send("GET", "/orders/ord_1", Some(&token), "")
            .await
            .status,
        404
    );
    let records = h.records();
    let token_call = &records[0];
    assert_eq!(token_call.route.as_deref(), Some("POST /token"));
    assert_eq!(token_call.status, 200);
    assert_eq!(
        token_call.client_id, None,
        "no authorizer on OAuth endpoints"
    );
    let api_call = &records[1];
    assert_eq!(api_call.route.as_deref(), Some("GET /orders/{id}"));
    assert_eq!(api_call.path.as_deref(), Some("/orders/ord_1"));
    assert_eq!(api_call.status, 404);
    assert_eq!(api_call.client_id.as_deref(), Some("reports"));
    assert_eq!(api_call.user_id.as_deref(), Some("client:reports"));
    assert_eq!(api_call.scope.as_deref(), Some("orders:read"));
    assert_eq!(api_call.api_key_id.as_deref(), Some("local-reports"));
    assert_eq!(api_call.source_ip.as_deref(), Some("127.0.0.1"));
    assert!(api_call.latency_ms.is_some() && api_call.integration_latency_ms.is_some());
    assert!(api_call
        .request_id
        .as_deref()
        .is_some_and(|id| id.len() == 20));
    let line = std::fs::read_to_string(access_log_path(&h.dir)).unwrap();
    assert!(!line.contains(&token), "no token in the access log");
}

#[tokio::test]
async fn browser_apps_may_call_the_token_endpoints_and_nothing_else_cross_origin() {
    let h = harness(ROOMY).await;
    let preflight = h.send("OPTIONS", "/token", None, "").await;
    assert_eq!(preflight.status, 204);
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&preflight, "access-control-allow-headers"),
        Some("Authorization, Content-Type, DPoP")
    );
    let refused = h.send("POST", "/token", None, "grant_type=password").await;
    assert_eq!(refused.status, 401, "invalid_client");
    assert_eq!(
        header(&refused, "access-control-allow-origin"),
        Some("*"),
        "errors are readable"
    );
    let jwks = h.send("GET", "/jwks.json", None, "").await;
    assert_eq!(header(&jwks, "access-control-allow-origin"), Some("*"));
    for (method, path) in [("GET", "/apps"), ("GET", "/login"), ("POST", "/introspect")] {
        let answer = h.send(method, path, None, "").await;
        assert!(
            header(&answer, "access-control-allow-origin").is_none(),
            "{method} {path} must not be readable cross-origin"
        );
    }
}
