//! The local API Gateway: OAuth endpoints to their handlers; protected routes through the
//! authorizer exactly as API Gateway runs a REST TOKEN authorizer: the `Authorization`
//! header is the identity source, the returned policy is cached per header value for the TTL
//! and evaluated against each call's method ARN, the app's usage plan is applied to the key
//! the authorizer named, and the context goes to the backend as identity headers with the
//! origin secret. What API Gateway answers by itself uses the template's gateway responses;
//! every call leaves an access-log record in the stage's format.

use super::access_log::AccessLog;
use super::demo_api::DemoApi;
use super::demo_app::{Backend, DemoApp};
pub use super::message::gateway_message;
use super::per_app_limits::{PerAppLimits, LOCAL_API_ID, LOCAL_STAGE};
use authorizer::events::Refusal;
use authorizer::handler::{
    decide_value, AuthorizerApp, UNAUTHORIZED as UNAUTHORIZED_ERROR, UNAVAILABLE,
};
use lambda_http::http::header::{AUTHORIZATION, USER_AGENT};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use token::handler::TokenApp;
use token::limits::EdgeLimits;
use xecure::api_usage::access_log::AccessRecord;
use xecure::audit::lines::StdoutLines;
use xecure::audit::Auditor;
use xecure::authorizer::backend::{IDENTITY_HEADERS, ORIGIN_VERIFY_HEADER};
use xecure::authorizer::policy::policy_allows;
use xecure::authorizer::responses::{
    GatewayResponse, ACCESS_DENIED, AUTHORIZER_FAILURE, INVALID_API_KEY, UNAUTHORIZED,
};
use xecure::authorizer::routes::{Route, RouteTable};
use xecure::authorizer::{Authorizer, AuthorizerConfig};
use xecure::config::{InteractionConfig, OAuthConfig, RateLimitConfig};
use xecure::domain::OpaqueToken;
use xecure::expiring_map::ExpiringMap;
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::oauth::Dependencies;
use xecure::ports::Store;
use xecure::ports::{Clock, OsRng, RevocationStore, Rng, SystemClock};
use xecure::scopes::ScopeCatalogue;
use xecure::signing::KeySealer;
use xecure::store::client_cache::CachedClients;
use xecure::wiring::token_service_over;

use super::health::{HEALTH_PATH, READY_PATH};

/// Stands in for `arn:aws:execute-api:{region}:{account}:{api}/{stage}`.
fn arn_prefix() -> String {
    format!("arn:aws:execute-api:local:000000000000:{LOCAL_API_ID}/{LOCAL_STAGE}")
}

/// At most this many cached policies: at the default 300 s TTL, about 166 new tokens a
/// second stay cached for the whole TTL; more distinct tokens push out the oldest (a miss
/// costs one authorizer decision, never correctness).
const POLICY_CACHE_ENTRIES: usize = 50_000;

/// How API Gateway calls the authorizer (`xecure serve --authorizer-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthorizerMode {
    /// REST TOKEN authorizer: the Authorization header value and the method ARN.
    Token,
    /// REST REQUEST authorizer: the request's method, path and headers.
    Request,
}

pub struct LocalSystem {
    /// The client cache the flow and the token endpoint read through.
    clients: Arc<CachedClients>,
    flow: AuthorizationFlow,
    token: TokenApp,
    authorizer: AuthorizerApp,
    mode: AuthorizerMode,
    routes: Arc<RouteTable>,
    /// API Gateway's authorizer cache: by identity source, for the TTL, bounded.
    cache: Mutex<ExpiringMap<str, Value>>,
    cache_ttl: Duration,
    demo: DemoApi,
    demo_app: DemoApp,
    issuer: String,
    /// The issuer's scheme and authority: what API Gateway would put in `X-Forwarded-Proto`
    /// and `Host` (a DPoP proof's `htu` names them).
    origin: (String, String),
    clock: Arc<dyn Clock>,
    /// The integration's `X-Xecure-Origin-Verify` value (random per run).
    origin_secret: String,
    /// Usage plans, when enforced (as the template's REST API does).
    per_app_limits: Option<PerAppLimits>,
    access_log: AccessLog,
    /// What `/readyz` asks whether it is reachable.
    store: Arc<dyn xecure::ports::Store>,
    readiness: super::health::Readiness,
}

/// Where the local system keeps its data: the table (embedded or DynamoDB) and, to unseal
/// the signing keys, the key sealer (local file or KMS; None if the keys are public only).
#[derive(Clone)]
pub struct LocalData {
    pub store: Arc<dyn Store>,
    pub sealer: Option<Arc<dyn KeySealer>>,
}

impl LocalSystem {
    pub async fn build(
        data: &LocalData,
        issuer: &str,
        mode: AuthorizerMode,
    ) -> Result<Self, String> {
        Self::build_with_clock(data, issuer, mode, Arc::new(SystemClock)).await
    }

    /// As `build`, on a given clock (tests move a fake one past the revocation bound).
    pub async fn build_with_clock(
        data: &LocalData,
        issuer: &str,
        mode: AuthorizerMode,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Self::build_with(data, issuer, mode, clock, data.store.clone()).await
    }

    /// As `build_with_clock`, the authorizer polling `revocations` (tests make it fail).
    pub async fn build_with(
        data: &LocalData,
        issuer: &str,
        mode: AuthorizerMode,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn RevocationStore>,
    ) -> Result<Self, String> {
        let store = data.store.clone();
        let probe = store.clone();
        let config = OAuthConfig {
            dpop_nonce_required: xecure::config::dpop_nonce_required()
                .map_err(|e| e.to_string())?,
            jwks_uri_hosts: url::Url::parse(issuer)
                .map_err(|e| e.to_string())
                .and_then(|url| xecure::config::jwks_uri_hosts(&url).map_err(|e| e.to_string()))?,
            ..OAuthConfig::for_issuer(issuer)
        };
        // Audit records and metrics on stdout, as each Lambda function writes them.
        let stdout = |auditor: Auditor| auditor.with_lines(Arc::new(StdoutLines));
        let catalogue = Arc::new(ScopeCatalogue::from_env().map_err(|e| e.to_string())?);
        let limits = RateLimitConfig::from_env().map_err(|e| e.to_string())?;
        // One set of dependencies for the three protocol functions: one client cache, so a
        // registration change reaches the pages at once too.
        let deps = Dependencies::over(store.clone(), config.clone())
            .clock(clock.clone())
            .catalogue(catalogue)
            .build()
            .with_auditor(stdout);
        let clients_cache = deps.clients.clone();
        let token = TokenApp::new(
            token_service_over(deps.clone(), store.clone(), data.sealer.clone())
                .await
                .map_err(|e| e.to_string())?,
        )
        .with_rate_limits(EdgeLimits::new(&limits, clock.clone()));
        let interaction = InteractionConfig::from_env().map_err(|e| e.to_string())?;
        // The account page's password change and sign-out everywhere write the account:
        // here only, never in a Lambda (security rule 22).
        let flow = AuthorizationFlow::new(deps, store.clone(), interaction)
            .with_account_admin(store.clone());
        let routes = Arc::new(RouteTable::from_env().map_err(|e| e.to_string())?);
        let gateway_config = AuthorizerConfig::new(&config);
        let cache_ttl = gateway_config.gateway_cache_ttl;
        let authorizer = Authorizer::load(
            store.clone(),
            revocations,
            store,
            routes.clone(),
            gateway_config,
            clock.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let origin_secret = OpaqueToken::generate(&OsRng).secret().to_owned();
        Ok(LocalSystem {
            clients: clients_cache,
            flow,
            token,
            authorizer: AuthorizerApp {
                authorizer,
                http_simple: false,
            },
            mode,
            routes,
            cache: Mutex::new(ExpiringMap::new(POLICY_CACHE_ENTRIES)),
            cache_ttl,
            demo: DemoApi::new(origin_secret.clone()),
            demo_app: DemoApp::default(),
            issuer: issuer.to_owned(),
            origin: origin_of(issuer)?,
            clock,
            origin_secret,
            per_app_limits: None,
            access_log: AccessLog::Stdout,
            store: probe,
            readiness: Default::default(),
        })
    }

    /// The client cache of the protocol functions: whoever changes clients under the running
    /// system (the CLI beside it) clears it, so the change applies at once.
    pub fn client_cache(&self) -> Arc<CachedClients> {
        self.clients.clone()
    }

    /// Enforces usage plans on the protected routes, as the REST API does.
    pub fn with_per_app_limits(mut self, limits: PerAppLimits) -> Self {
        self.per_app_limits = Some(limits);
        self
    }

    pub fn with_access_log(mut self, log: AccessLog) -> Self {
        self.access_log = log;
        self
    }

    pub async fn handle(&self, request: Request, peer: SocketAddr) -> Response<Body> {
        let path = request.uri().path();
        match path {
            HEALTH_PATH => return super::health::live(),
            READY_PATH => return self.readiness.answer(self.store.as_ref()).await,
            _ => {}
        }
        if path == "/demo" || path.starts_with("/demo/") {
            return self.demo_app.handle(&request, &self.issuer, self).await;
        }
        self.dispatch(request, peer).await
    }

    /// Everything but the demo app: OAuth endpoints and the protected API, each call leaving
    /// an access-log record.
    async fn dispatch(&self, request: Request, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let mut id = [0u8; 10];
        OsRng.fill(&mut id);
        let request_id = hex::encode(id);
        let request = with_request_context(request, peer, &request_id);
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let mut record = AccessRecord {
            request_id: Some(request_id),
            request_time_ms: self.clock.now().as_millis(),
            method: Some(method.clone()),
            path: Some(path.clone()),
            source_ip: Some(peer.ip().to_string()),
            user_agent: request
                .headers()
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ..AccessRecord::default()
        };
        let response = match self.routes.find(&method, &path) {
            Some(route) => {
                let route = route.clone();
                record.route = Some(route.name());
                self.protected(request, &path, &route, &mut record).await
            }
            None => {
                record.route = Some(format!("{method} {}", oauth_resource(&path)));
                let integration = Instant::now();
                let answer = self.oauth_endpoint(request, &path).await;
                record.integration_latency_ms = Some(elapsed_ms(integration));
                answer
            }
        };
        record.status = response.status().as_u16();
        record.latency_ms = Some(elapsed_ms(started));
        self.access_log.write(&record);
        response
    }

    async fn oauth_endpoint(&self, request: Request, path: &str) -> Response<Body> {
        let answer = match path {
            "/authorize" | "/login" | "/logout" => {
                authorize::handler::handle(&self.flow, request).await
            }
            path if consent::handler::serves(path) => {
                consent::handler::handle(&self.flow, request).await
            }
            _ => token::handler::handle(&self.token, request).await,
        };
        answer.unwrap_or_else(|error| gateway_message(500, &error.to_string()))
    }

    async fn protected(
        &self,
        request: Request,
        path: &str,
        route: &Route,
        record: &mut AccessRecord,
    ) -> Response<Body> {
        let method = request.method().as_str().to_owned();
        let arn = format!("{}/{method}{path}", arn_prefix());
        let Some(header) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            // API Gateway answers a missing identity source itself, without the authorizer.
            return refuse(UNAUTHORIZED, record);
        };
        // A route that takes DPoP is behind the uncached REQUEST authorizer (the template's
        // XecureDpopAuthorizer, TTL 0): every call's proof is checked, none is replayed from
        // a cached policy.
        let answer = if route.dpop.takes_proofs() {
            self.authorize_uncached(self.request_event(&request, &arn))
                .await
        } else {
            let event = self.event(&request, &header, &arn);
            self.authorize(&header, event).await
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(Refusal::Unauthorized) => {
                record.authorizer_error = Some(UNAUTHORIZED_ERROR.into());
                return refuse(UNAUTHORIZED, record);
            }
            Err(Refusal::Unavailable) => {
                record.authorizer_error = Some(UNAVAILABLE.into());
                return refuse(AUTHORIZER_FAILURE, record);
            }
        };
        let context = &answer["context"];
        let text = |key: &str| context[key].as_str().map(str::to_owned);
        record.client_id = text("client_id");
        record.user_id = text("sub");
        record.scope = text("scope");
        if !policy_allows(&answer["policyDocument"], &arn) {
            return refuse(ACCESS_DENIED, record);
        }
        if let Some(limits) = &self.per_app_limits {
            let client_id = record.client_id.clone().unwrap_or_default();
            let key = answer["usageIdentifierKey"].as_str();
            let admitted = limits.admit(&client_id, key, self.clock.now());
            // API Gateway logs the key it found, throttled or not; none when it found none.
            if admitted != Err(INVALID_API_KEY) {
                record.api_key_id = Some(format!("local-{client_id}"));
            }
            if let Err(refusal) = admitted {
                return refuse(refusal, record);
            }
        }
        let body = match request.body() {
            Body::Text(text) => text.clone(),
            _ => String::new(),
        };
        let integration = Instant::now();
        let response = self
            .demo
            .handle(route, path, &self.backend_headers(context), &body);
        record.integration_latency_ms = Some(elapsed_ms(integration));
        response
    }

    /// What the integration sends the backend: the identity from the authorizer context
    /// (replacing anything the caller sent) and the origin secret.
    fn backend_headers(&self, context: &Value) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut set = |name: &str, value: &str| {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        };
        for (header, key) in IDENTITY_HEADERS {
            set(header, context[key].as_str().unwrap_or_default());
        }
        set(ORIGIN_VERIFY_HEADER, &self.origin_secret);
        headers
    }

    /// The event API Gateway would send the authorizer in this mode.
    fn event(&self, request: &Request, header: &str, arn: &str) -> Value {
        match self.mode {
            AuthorizerMode::Token => json!({
                "type": "TOKEN",
                "authorizationToken": header,
                "methodArn": arn,
            }),
            AuthorizerMode::Request => self.request_event(request, arn),
        }
    }

    /// A REST REQUEST authorizer's event: the call's method, path and headers, with `Host`
    /// and `X-Forwarded-Proto` set by the gateway as API Gateway sets them (the URL a DPoP
    /// proof's `htu` must name), whatever the caller sent.
    fn request_event(&self, request: &Request, arn: &str) -> Value {
        let (scheme, authority) = &self.origin;
        let gateway_set = [("host", authority), ("x-forwarded-proto", scheme)];
        let authority = authority.as_str();
        let from_caller = request
            .headers()
            .iter()
            .filter(|(name, _)| !gateway_set.iter().any(|(set, _)| name.as_str() == *set))
            .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or_default()));
        let headers = from_caller.chain(
            gateway_set
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        );
        let mut single = serde_json::Map::new();
        let mut multi = serde_json::Map::new();
        for (name, value) in headers {
            single.insert(name.to_owned(), Value::from(value));
            let entry = multi
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::from(value));
            }
        }
        let path = request.uri().path();
        let method = request.method().as_str();
        json!({
            "type": "REQUEST",
            "methodArn": arn,
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": {},
            "multiValueQueryStringParameters": {},
            "pathParameters": {},
            "stageVariables": {},
            "requestContext": {
                "path": path,
                "stage": "local",
                "httpMethod": method,
                "domainName": authority,
                "identity": {},
            },
        })
    }

    /// The authorizer's answer, never cached (an authorizer with TTL 0).
    async fn authorize_uncached(&self, event: Value) -> Result<Value, Refusal> {
        let (response, log_line) = decide_value(&self.authorizer, &event).await;
        println!("{log_line}");
        response
    }

    /// The authorizer's answer for this identity source (the Authorization header): cached
    /// for the TTL as API Gateway does; only policies are cached, never an error.
    async fn authorize(&self, identity: &str, event: Value) -> Result<Value, Refusal> {
        let now = self.clock.now().as_millis();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cached) = cache.get(identity, now) {
                return Ok(cached);
            }
        }
        let (response, log_line) = decide_value(&self.authorizer, &event).await;
        println!("{log_line}");
        let response = response?;
        let until = self.clock.now().plus(self.cache_ttl).as_millis();
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            Arc::from(identity),
            response.clone(),
            until,
            now,
        );
        Ok(response)
    }
}

impl super::http::Handler for LocalSystem {
    fn handle(
        &self,
        request: Request,
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = Response<Body>> + Send {
        LocalSystem::handle(self, request, peer)
    }
}

/// The demo app's own calls: to the token endpoint and through the gateway to the API.
impl Backend for LocalSystem {
    async fn call(&self, request: Request) -> Response<Body> {
        self.dispatch(request, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
    }
}

/// The caller's address and the request id, where the Lambda handlers read them (audit,
/// login throttling): the audit records of a call carry the id of its access-log record.
fn with_request_context(request: Request, peer: SocketAddr, request_id: &str) -> Request {
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(peer.ip().to_string());
    context.request_id = Some(request_id.to_owned());
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}

/// `http://127.0.0.1:3000` -> ("http", "127.0.0.1:3000").
fn origin_of(issuer: &str) -> Result<(String, String), String> {
    let url = url::Url::parse(issuer).map_err(|e| format!("issuer '{issuer}': {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("issuer '{issuer}' has no host"))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok((url.scheme().to_owned(), authority))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The resource path API Gateway logs for an OAuth endpoint: the `{proxy+}` resources of
/// the template for the paths routed whole to a function.
fn oauth_resource(path: &str) -> String {
    for prefix in ["/register", "/api/apps", "/apps"] {
        if path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
        {
            return format!("{prefix}/{{proxy+}}");
        }
    }
    path.to_owned()
}

/// API Gateway's own answer of type `response`, recorded as its error type.
fn refuse(response: GatewayResponse, record: &mut AccessRecord) -> Response<Body> {
    record.error_type = Some(response.response_type.to_owned());
    gateway_response(&response)
}

/// A gateway response as the template configures it: status, headers, `{"message"}` body.
pub fn gateway_response(response: &GatewayResponse) -> Response<Body> {
    let mut answer = gateway_message(response.status, response.message);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            answer.headers_mut().insert(name, value);
        }
    }
    answer
}
