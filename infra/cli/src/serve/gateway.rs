//! The local API Gateway: OAuth endpoints to their handlers; protected routes through the
//! authorizer exactly as API Gateway runs a REST TOKEN authorizer: the `Authorization`
//! header is the identity source, the returned policy is cached per header value for the TTL
//! and evaluated against each call's method ARN, and the context goes to the backend.

use super::demo_api::DemoApi;
use super::demo_app::{Backend, DemoApp};
use crate::target::Target;
use authorizer::handler::{decide, AuthorizerApp};
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use token::handler::TokenApp;
use token::limits::EdgeLimits;
use xecure::audit::lines::StdoutLines;
use xecure::audit::Auditor;
use xecure::config::{InteractionConfig, OAuthConfig, RateLimitConfig};
use xecure::domain::Timestamp;
use xecure::gateway::policy::policy_allows;
use xecure::gateway::routes::RouteTable;
use xecure::gateway::{Gateway, GatewayConfig};
use xecure::oauth::interaction::AuthorizationFlow;
use xecure::ports::{Clock, OsRng, SystemClock};
use xecure::scopes::ScopeCatalogue;
use xecure::signing::LiveKeyring;

/// Stands in for `arn:aws:execute-api:{region}:{account}:{api}/{stage}`.
const ARN_PREFIX: &str = "arn:aws:execute-api:local:000000000000:xecure-local/local";

struct CachedPolicy {
    response: Value,
    until: Timestamp,
}

/// How API Gateway calls the authorizer (`xecure serve --authorizer-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthorizerMode {
    /// REST TOKEN authorizer: the Authorization header value and the method ARN.
    Token,
    /// REST REQUEST authorizer: the request's method, path and headers.
    Request,
}

pub struct LocalSystem {
    flow: AuthorizationFlow,
    token: TokenApp,
    authorizer: AuthorizerApp,
    mode: AuthorizerMode,
    routes: Arc<RouteTable>,
    cache: Mutex<HashMap<String, CachedPolicy>>,
    cache_ttl: Duration,
    demo: DemoApi,
    demo_app: DemoApp,
    issuer: String,
    clock: Arc<dyn Clock>,
}

impl LocalSystem {
    pub async fn build(
        target: &Target,
        issuer: &str,
        mode: AuthorizerMode,
    ) -> Result<Self, String> {
        Self::build_with_clock(target, issuer, mode, Arc::new(SystemClock)).await
    }

    /// As `build`, on a given clock (tests move a fake one past the revocation bound).
    pub async fn build_with_clock(
        target: &Target,
        issuer: &str,
        mode: AuthorizerMode,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let store = target.store.clone();
        let config = OAuthConfig::for_issuer(issuer);
        let keyring = LiveKeyring::load(
            store.clone(),
            target.sealer.clone(),
            clock.clone(),
            Duration::from_secs(300),
        )
        .await
        .map_err(|e| e.to_string())?;
        // Audit records and metrics on stdout, as each Lambda function writes them.
        let stdout = |auditor: Auditor| auditor.with_lines(Arc::new(StdoutLines));
        let catalogue = Arc::new(ScopeCatalogue::from_env().map_err(|e| e.to_string())?);
        let limits = RateLimitConfig::from_env().map_err(|e| e.to_string())?;
        let token = TokenApp::over(
            store.clone(),
            keyring,
            config.clone(),
            clock.clone(),
            catalogue.clone(),
        )
        .with_auditor(stdout)
        .with_rate_limits(EdgeLimits::new(&limits, clock.clone()));
        let flow = AuthorizationFlow::new(
            store.clone(),
            catalogue,
            config.clone(),
            InteractionConfig::from_env().map_err(|e| e.to_string())?,
            clock.clone(),
            Arc::new(OsRng),
        )
        .with_auditor(stdout);
        let routes = Arc::new(RouteTable::from_env().map_err(|e| e.to_string())?);
        let gateway_config = GatewayConfig::new(&config);
        let cache_ttl = gateway_config.gateway_cache_ttl;
        let authorizer = Gateway::load(
            store.clone(),
            store,
            routes.clone(),
            gateway_config,
            clock.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(LocalSystem {
            flow,
            token,
            authorizer: AuthorizerApp {
                gateway: authorizer,
                http_simple: false,
            },
            mode,
            routes,
            cache: Mutex::new(HashMap::new()),
            cache_ttl,
            demo: DemoApi::default(),
            demo_app: DemoApp::default(),
            issuer: issuer.to_owned(),
            clock,
        })
    }

    pub async fn handle(&self, request: Request, peer: SocketAddr) -> Response<Body> {
        let path = request.uri().path();
        if path == "/demo" || path.starts_with("/demo/") {
            return self.demo_app.handle(&request, &self.issuer, self).await;
        }
        self.dispatch(request, peer).await
    }

    /// Everything but the demo app: OAuth endpoints and the protected API.
    async fn dispatch(&self, request: Request, peer: SocketAddr) -> Response<Body> {
        let request = with_source_ip(request, peer);
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        if let Some(route) = self.routes.find(&method, &path) {
            let route = route.clone();
            return self.protected(request, &method, &path, &route).await;
        }
        let answer = match path.as_str() {
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
        method: &str,
        path: &str,
        route: &xecure::gateway::routes::Route,
    ) -> Response<Body> {
        let arn = format!("{ARN_PREFIX}/{method}{path}");
        let Some(header) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            // API Gateway answers a missing identity source itself, without the authorizer.
            return gateway_message(401, "Unauthorized");
        };
        let event = self.event(&request, &header, &arn);
        let Some(answer) = self.authorize(&header, event).await else {
            return gateway_message(401, "Unauthorized");
        };
        if !policy_allows(&answer["policyDocument"], &arn) {
            return gateway_message(403, "User is not authorized to access this resource");
        }
        let body = match request.body() {
            Body::Text(text) => text.clone(),
            _ => String::new(),
        };
        self.demo.handle(route, path, &answer["context"], &body)
    }

    /// The event API Gateway would send the authorizer in this mode.
    fn event(&self, request: &Request, header: &str, arn: &str) -> Value {
        match self.mode {
            AuthorizerMode::Token => json!({
                "type": "TOKEN",
                "authorizationToken": header,
                "methodArn": arn,
            }),
            AuthorizerMode::Request => {
                let mut single = serde_json::Map::new();
                let mut multi = serde_json::Map::new();
                for (name, value) in request.headers() {
                    let value = value.to_str().unwrap_or_default().to_owned();
                    single.insert(name.as_str().to_owned(), Value::from(value.clone()));
                    let entry = multi
                        .entry(name.as_str().to_owned())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(values) = entry {
                        values.push(Value::from(value));
                    }
                }
                json!({
                    "type": "REQUEST",
                    "methodArn": arn,
                    "resource": request.uri().path(),
                    "path": request.uri().path(),
                    "httpMethod": request.method().as_str(),
                    "headers": single,
                    "multiValueHeaders": multi,
                    "queryStringParameters": {},
                    "multiValueQueryStringParameters": {},
                    "pathParameters": {},
                    "stageVariables": {},
                    "requestContext": {
                        "path": request.uri().path(),
                        "stage": "local",
                        "httpMethod": request.method().as_str(),
                        "identity": {},
                    },
                })
            }
        }
    }

    /// The authorizer's answer for this identity source (the Authorization header): cached
    /// for the TTL as API Gateway does; only policies are cached, never an Unauthorized.
    async fn authorize(&self, identity: &str, event: Value) -> Option<Value> {
        let now = self.clock.now();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cached) = cache.get(identity).filter(|c| !c.until.has_passed(now)) {
                return Some(cached.response.clone());
            }
        }
        let (response, log_line) = decide(&self.authorizer, event).await;
        println!("{log_line}");
        let response = response.ok()?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.retain(|_, cached| !cached.until.has_passed(now));
        }
        cache.insert(
            identity.to_owned(),
            CachedPolicy {
                response: response.clone(),
                until: now.plus(self.cache_ttl),
            },
        );
        Some(response)
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

/// The caller's address, where the Lambda handlers read it (audit, login throttling).
fn with_source_ip(request: Request, peer: SocketAddr) -> Request {
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(peer.ip().to_string());
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}

/// API Gateway's own error shape: `{"message": ...}`.
pub fn gateway_message(status: u16, message: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(json!({ "message": message }).to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    if let Ok(value) = "application/json".parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}
