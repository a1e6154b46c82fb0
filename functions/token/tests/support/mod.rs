//! A token endpoint over a real store, driven as API Gateway would drive it.
#![allow(dead_code)] // each test binary uses a different part of this

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Request};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use token::handler::{handle, TokenApp};
use xecure::config::OAuthConfig;
use xecure::domain::*;
use xecure::oauth::authorization_code::{issue_authorization_code, CodeBinding};
use xecure::oauth::pkce::CodeChallenge;
use xecure::oauth::Dependencies;
use xecure::ports::{Clock, OsRng, Store, SystemClock};
use xecure::testing::{ClientFixture, FixedClock, World};
use xecure::wiring::token_service_over;

pub const ISSUER: &str = "https://auth.example";
pub const WEB: &str = "web-app";
pub const WEB_SECRET: &str = "web-app-secret-0123456789abcdefghijklmnop";
pub const WEB_REDIRECT: &str = "https://app.example/callback";
pub const MOBILE: &str = "mobile-app";
pub const MOBILE_REDIRECT: &str = "http://127.0.0.1/callback";
pub const SERVICE: &str = "reporting-service";
pub const SERVICE_SECRET: &str = "reporting-secret-0123456789abcdefghijklmno";
pub const USER: &str = "usr_alice";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The OpenID Connect `nonce` every test code carries (echoed only for an `openid` scope).
pub const NONCE: &str = "n-0S6_WzA2Mj";

pub struct Harness {
    pub app: Arc<TokenApp>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<FixedClock>,
    pub config: OAuthConfig,
    _world: World,
}

/// Registers the three test clients and creates the first signing key.
pub async fn harness_in(world: World) -> Harness {
    harness_with(world, None).await
}

/// As `harness_in`, the app rate-limited as the Lambda wiring limits it.
pub async fn harness_with(
    world: World,
    limits: Option<xecure::config::RateLimitConfig>,
) -> Harness {
    build(world, limits, false, |config| config).await
}

/// The harness; with `id_token_key`, the RS256 key ID tokens are signed with beside the
/// access-token key (what the first `xecure keys rotate` creates).
async fn build(
    world: World,
    limits: Option<xecure::config::RateLimitConfig>,
    id_token_key: bool,
    configure: impl FnOnce(OAuthConfig) -> OAuthConfig,
) -> Harness {
    use GrantType::*;
    let clock = Arc::new(FixedClock::at(SystemClock.now()));
    let now = clock.now();
    let code_and_refresh = [AuthorizationCode, RefreshToken];
    let web = ClientFixture::confidential(WEB, WEB_SECRET)
        .redirect(WEB_REDIRECT)
        .scopes(
            "openid profile email profile:read orders:read orders:write",
            "profile:read",
        )
        .grants(&code_and_refresh);
    let mobile = ClientFixture::public(MOBILE)
        .redirect(MOBILE_REDIRECT)
        .scopes("profile:read orders:read", "profile:read")
        .grants(&code_and_refresh);
    let service = ClientFixture::confidential(SERVICE, SERVICE_SECRET)
        .redirect("https://svc.example/unused")
        .scopes("orders:read", "orders:read")
        .grants(&[ClientCredentials]);
    for client in [web, mobile, service] {
        world.register(client, Timestamp::from_secs(0)).await;
    }
    // The user whose consents the tests record: codes and refresh tokens stand only while
    // the account accepts the sign-in behind them.
    let no_password = PasswordHash::from_phc(String::new());
    world
        .create_user_with(UserId::parse(USER).unwrap(), "alice", no_password, now)
        .await;
    world
        .rotate_signing_key(now, Duration::from_secs(600), Duration::from_secs(900))
        .await;
    if id_token_key {
        world.add_id_token_key(now).await;
    }
    let config = configure(OAuthConfig::for_issuer(ISSUER));
    let deps = Dependencies::over(world.store.clone(), config.clone())
        .clock(clock.clone())
        .build();
    let service = token_service_over(deps, world.store.clone(), Some(world.sealer.clone()))
        .await
        .unwrap();
    let app = TokenApp::new(service);
    let app = match limits {
        Some(limits) => {
            app.with_rate_limits(token::limits::EdgeLimits::new(&limits, clock.clone()))
        }
        None => app,
    };
    Harness {
        app: Arc::new(app),
        store: world.store.clone(),
        clock,
        config,
        _world: world,
    }
}

pub async fn embedded() -> Harness {
    harness_in(World::embedded()).await
}

/// As `embedded`, with the RS256 key ID tokens are signed with (`xecure keys rotate` creates
/// it beside the first access-token key).
pub async fn embedded_with_id_token_key() -> Harness {
    build(World::embedded(), None, true, |config| config).await
}

/// As `embedded`, with server-provided DPoP nonces required (`XECURE_DPOP_NONCE=required`).
pub async fn embedded_requiring_dpop_nonces() -> Harness {
    build(World::embedded(), None, false, |config| OAuthConfig {
        dpop_nonce_required: true,
        ..config
    })
    .await
}

/// On a fresh DynamoDB table and KMS key (moto, started by `tests/run.sh`).
pub async fn on_moto() -> Harness {
    harness_in(World::dynamodb().await).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A form-encoded POST, with the Authorization header if given.
pub fn form_post(path: &str, body: &str, authorization: Option<&str>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// An authorization_code token request body.
pub fn exchange_form(code: &str, verifier: &str, redirect: &str) -> String {
    form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ])
}

impl Harness {
    pub async fn send(&self, request: Request) -> Reply {
        let response = handle(&self.app, request)
            .await
            .expect("handlers answer client errors with Ok");
        let status = response.status();
        let headers = response.headers().clone();
        let json = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    pub async fn post(&self, path: &str, body: &str, authorization: Option<&str>) -> Reply {
        self.send(form_post(path, body, authorization)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(
            lambda_http::http::Request::builder()
                .method("GET")
                .uri(path)
                .body(Body::Empty)
                .unwrap(),
        )
        .await
    }

    /// What the consent step does on approval: record the grant, issue a code.
    pub async fn consent_and_issue_code(
        &self,
        client_id: &str,
        redirect: &str,
        scope: &str,
    ) -> String {
        let now = self.clock.now();
        let (user, client) = (
            UserId::parse(USER).unwrap(),
            ClientId::parse(client_id).unwrap(),
        );
        let stored = self.store.get_grant(&user, &client).await.unwrap();
        let grant = Grant {
            id: GrantId::parse(&format!("grt_{client_id}")).unwrap(),
            user_id: user,
            client_id: client,
            scope: Scope::parse(scope).unwrap(),
            created_at: now,
            last_used_at: now,
            revoked_at: None,
            client_revision: 0,
            version: stored.as_ref().map_or(0, |grant| grant.version) + 1,
            family_epoch: stored.map_or(0, |grant| grant.family_epoch),
        };
        assert!(self.store.save_grant(&grant, None).await.unwrap());
        let binding = CodeBinding {
            client_id: grant.client_id.clone(),
            user_id: grant.user_id.clone(),
            grant_id: grant.id.clone(),
            grant_epoch: grant.family_epoch,
            client_revision: 0,
            redirect_uri: RedirectUri::parse(redirect).unwrap(),
            scope: grant.scope.clone(),
            code_challenge: CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap(),
            auth_time: now,
            nonce: Some(NONCE.to_owned()),
        };
        let code = issue_authorization_code(
            self.store.as_ref(),
            &OsRng,
            now,
            self.config.code_ttl,
            binding,
        )
        .await
        .unwrap();
        code.secret().to_owned()
    }

    /// A full code exchange for the confidential web app.
    pub async fn web_tokens(&self, scope: &str) -> Value {
        let code = self.consent_and_issue_code(WEB, WEB_REDIRECT, scope).await;
        let reply = self.exchange_as_web(&code).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        reply.json
    }

    /// The web app redeems `code` the right way: its secret, redirect URI and verifier.
    pub async fn exchange_as_web(&self, code: &str) -> Reply {
        let body = exchange_form(code, VERIFIER, WEB_REDIRECT);
        self.post("/token", &body, Some(&basic(WEB, WEB_SECRET)))
            .await
    }

    pub async fn app_keyring(&self) -> Arc<xecure::signing::Keyring> {
        self.app.keyring().current().await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// The claims of a JWT, without verifying it (tests only).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}
