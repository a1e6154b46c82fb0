//! Security rule 18 through the handlers: with the DynamoDB endpoint accepting connections and
//! never answering, and the functions' production bounds on every call
//! (`DependencyBudget::FUNCTIONS`), `/token`, `/revoke`, `/authorize` and `POST /login`
//! answer 503 `temporarily_unavailable` instead of hanging, and KMS and CloudWatch Logs
//! calls fail. The time each took is printed (run with `--nocapture`), not asserted; a
//! guard of a minute only turns a hang into a failure.

use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xecure::budget::DependencyBudget;
use xecure::config::{InteractionConfig, OAuthConfig};
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::oauth::token::TokenService;
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, Store, SystemClock};
use xecure::store::dynamo::DynamoStore;
use xecure::testing::moto::sdk_config_for;
use xecure::testing::World;

/// A loopback endpoint that accepts every connection, reads what is sent, and never answers.
fn silent_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // Kept open, never written to.
            held.lock().unwrap().push(stream);
        }
    });
    format!("http://{address}")
}

/// The store the functions would build, bounded as they bound it, on the silent endpoint.
fn hanging_store() -> Arc<dyn Store> {
    let config = DependencyBudget::FUNCTIONS.apply(sdk_config_for(&silent_endpoint()));
    Arc::new(DynamoStore::from_config(&config, "xecure-hanging"))
}

/// Runs one handler call; its answer and how long it took. A minute means a hang.
async fn timed<F: Future<Output = Response<Body>>>(what: &str, call: F) -> Response<Body> {
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for a minute"));
    eprintln!(
        "{what}: {} after {} ms",
        answer.status(),
        started.elapsed().as_millis()
    );
    answer
}

fn form(path: &str) -> lambda_http::http::request::Builder {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
}

fn error_of(response: &Response<Body>) -> String {
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    serde_json::from_str::<serde_json::Value>(text).unwrap()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_18_the_token_endpoints_answer_503_when_the_store_never_answers() {
    // Keys come from a working store (loaded once per cold start); every request's store
    // calls go to the silent endpoint.
    let world = World::embedded();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (ahead, live) = (Duration::from_secs(600), Duration::from_secs(900));
    world.rotate_signing_key(clock.now(), ahead, live).await;
    let keyring = world.keyring(clock.clone()).await;
    let store = hanging_store();
    let deps = Dependencies::over(
        store.clone(),
        OAuthConfig::for_issuer("https://auth.example"),
    )
    .clock(clock)
    .build();
    let app = token::handler::TokenApp::new(TokenService::new(deps, store, Arc::new(keyring)));
    let basic = "Basic c2VydmljZTpzM2NyZXQ="; // service:s3cret
    for (path, body) in [
        ("/token", "grant_type=client_credentials"),
        ("/revoke", "token=abc"),
        ("/introspect", "token=abc"),
    ] {
        let request: Request = form(path)
            .header(AUTHORIZATION, basic)
            .body(Body::from(body))
            .unwrap();
        let answer = timed(path, async {
            token::handler::handle(&app, request).await.unwrap()
        })
        .await;
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(error_of(&answer), "temporarily_unavailable", "{path}");
        assert_eq!(answer.headers()["cache-control"], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_18_authorize_and_login_answer_503_when_the_store_never_answers() {
    let store = hanging_store();
    let deps = Dependencies::over(
        store.clone(),
        OAuthConfig::for_issuer("https://auth.example"),
    )
    .build();
    let flow = AuthorizationFlow::new(deps, store, InteractionConfig::default());
    let authorize: Request = lambda_http::http::Request::builder()
        .uri("/authorize?response_type=code&client_id=photo-app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
        .body(Body::Empty)
        .unwrap();
    let answer = timed("GET /authorize", async {
        authorize::handler::handle(&flow, authorize).await.unwrap()
    })
    .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The login form needs no store; its POST reserves the attempt first.
    let page: Request = lambda_http::http::Request::builder()
        .uri("/login?return=apps")
        .body(Body::Empty)
        .unwrap();
    let page = authorize::handler::handle(&flow, page).await.unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let Body::Text(html) = page.body() else {
        panic!("the login page")
    };
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let body = format!("return=apps&csrf={csrf}&username=alice&password=guess");
    let login: Request = form("/login")
        .header(COOKIE, cookie.clone())
        .body(Body::from(body.clone()))
        .unwrap();
    let answer = timed("POST /login", async {
        authorize::handler::handle(&flow, login).await.unwrap()
    })
    .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let Body::Text(html) = answer.body() else {
        panic!("an error page")
    };
    assert!(html.contains("temporarily_unavailable"), "{html}");

    // The account page reads the session and the account before it shows anything.
    let account: Request = lambda_http::http::Request::builder()
        .uri("/account")
        .header(COOKIE, cookie)
        .body(Body::Empty)
        .unwrap();
    let answer = timed("GET /account", async {
        consent::handler::handle(&flow, account).await.unwrap()
    })
    .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Runs one dependency call; whether it failed, and how long it took. A minute means a hang.
async fn timed_failure<T, E, F: Future<Output = Result<T, E>>>(what: &str, call: F) -> bool {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for a minute"));
    eprintln!("{what}: failed after {} ms", started.elapsed().as_millis());
    outcome.is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_18_kms_and_the_audit_log_group_fail_instead_of_hanging() {
    use xecure::audit::cloudwatch::CloudWatchAuditLog;
    use xecure::audit::log_group::{AuditLogWriter, LogEvent};
    use xecure::domain::KeyId;
    use xecure::signing::{KeySealer, KmsKeySealer};

    let silent = sdk_config_for(&silent_endpoint());
    let kms = KmsKeySealer::from_config(&DependencyBudget::FUNCTIONS.apply(silent.clone()), "k");
    let kid = KeyId::parse("key_1").unwrap();
    assert!(timed_failure("KMS GenerateDataKey", kms.seal(&kid, b"private")).await);
    let log =
        CloudWatchAuditLog::within(&silent, DependencyBudget::AUDIT_LOG, "/xecure/t", "token");
    let event = LogEvent {
        at: SystemClock.now(),
        event_id: "evt_1".into(),
        message: "{}".into(),
    };
    assert!(timed_failure("CloudWatch Logs PutLogEvents", log.put_events(&[event])).await);
}

/// Revocations from a working store until `hanging` is set, then from the silent endpoint.
struct Switchable {
    working: Arc<dyn Store>,
    hanging: Arc<dyn Store>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl xecure::ports::RevocationStore for Switchable {
    async fn list_revocations_since(
        &self,
        since: xecure::domain::Timestamp,
        now: xecure::domain::Timestamp,
    ) -> xecure::ports::StoreResult<Vec<xecure::domain::Revocation>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.hanging.list_revocations_since(since, now).await
        } else {
            self.working.list_revocations_since(since, now).await
        }
    }
}

/// The authorizer with the store hanging: calls answer from the container's view while it
/// keeps the bound (no call waits on the hanging poll), then are denied within the wait
/// bound. Times printed, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_18_the_authorizer_answers_from_its_view_then_fails_closed_when_the_store_hangs() {
    use xecure::authorizer::{Authorizer, AuthorizerConfig, Verdict};
    let world = World::embedded();
    let working = world.store.clone();
    let clock = Arc::new(xecure::testing::FixedClock::at(SystemClock.now()));
    let now = clock.now();
    let key = world
        .rotate_signing_key(now, Duration::ZERO, Duration::from_secs(660))
        .await;
    let revocations = Arc::new(Switchable {
        working: working.clone(),
        hanging: hanging_store(),
        down: Default::default(),
    });
    let config = AuthorizerConfig::new(&OAuthConfig::for_issuer("https://auth.example"));
    let gateway = Authorizer::load(
        working.clone(),
        revocations.clone(),
        working.clone(),
        Arc::new(xecure::authorizer::routes::RouteTable::built_in().unwrap()),
        config.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    let keyring = xecure::signing::Keyring::load(vec![key], Some(world.sealer.as_ref()), now)
        .await
        .unwrap();
    let claims = xecure::jwt::AccessTokenClaims {
        iss: config.issuer.clone(),
        sub: "usr_1".into(),
        aud: config.audience.clone(),
        exp: now.as_secs() + 600,
        iat: now.as_secs(),
        jti: "jti-1".into(),
        client_id: "app".into(),
        scope: "orders:read".into(),
        gid: None,
        fid: None,
        crv: Some(0),
        nbf: None,
        cnf: None,
    };
    let token = xecure::jwt::sign_access_token(&keyring, &claims).unwrap();
    let arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders";
    let decide = |what: &'static str| {
        let (gateway, token) = (&gateway, token.clone());
        async move {
            let started = Instant::now();
            let decision = tokio::time::timeout(
                Duration::from_secs(60),
                gateway.decide(Ok(&token), Some(arn)),
            )
            .await
            .unwrap_or_else(|_| panic!("{what}: the decision hung for a minute"));
            eprintln!(
                "{what}: {:?} after {} µs",
                decision.verdict,
                started.elapsed().as_micros()
            );
            decision.verdict
        }
    };
    assert!(matches!(
        decide("store answering").await,
        Verdict::Allow { .. }
    ));
    revocations
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    clock.advance(config.poll_every() + Duration::from_secs(5));
    for _ in 0..3 {
        let verdict = decide("store hanging, view 20 s old").await;
        assert!(matches!(verdict, Verdict::Allow { .. }), "{verdict:?}");
    }
    clock.advance(config.max_stale());
    let verdict = decide("store hanging, view too old").await;
    assert!(
        matches!(&verdict, Verdict::FailClosed { reason } if reason == "revocations_unavailable"),
        "{verdict:?}"
    );
}
