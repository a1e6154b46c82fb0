//! Request -> `xecure::oauth` -> response. Every client error is an `Ok` response with the
//! RFC error code (design rule 7).

use lambda_http::http::header::{HeaderValue, CACHE_CONTROL};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use xecure::http::{
    authorization, form, json, json_error, no_route, oauth_error, request_context, route_path,
};
use xecure::oauth::metadata::{
    metadata, INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, REVOKE_PATH, TOKEN_PATH,
};
use xecure::oauth::token::TokenService;
use xecure::oauth::OAuthError;

/// How long clients and verifiers may cache the JWKS. A rotated key is published at least
/// this long (plus the keyring reload interval) before it signs.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

pub struct TokenApp {
    service: TokenService,
    metadata: Value,
}

impl TokenApp {
    pub fn new(service: TokenService) -> Self {
        let metadata = metadata(service.config());
        TokenApp { service, metadata }
    }

    /// The app over `store`, signing with `keyring`, with the operating system's randomness.
    pub fn over(
        store: std::sync::Arc<dyn xecure::ports::Store>,
        keyring: xecure::signing::LiveKeyring,
        config: xecure::config::OAuthConfig,
        clock: std::sync::Arc<dyn xecure::ports::Clock>,
    ) -> Self {
        let rng = std::sync::Arc::new(xecure::ports::OsRng);
        let keyring = std::sync::Arc::new(keyring);
        TokenApp::new(TokenService::with_store(store, keyring, config, clock, rng))
    }

    pub fn auditor(&self) -> &xecure::audit::Auditor {
        self.service.auditor()
    }

    /// The same app, its audit trail reconfigured (log group, line sink).
    pub fn with_auditor(
        mut self,
        configure: impl FnOnce(xecure::audit::Auditor) -> xecure::audit::Auditor,
    ) -> Self {
        self.service = self.service.with_auditor(configure);
        self
    }

    pub fn keyring(&self) -> &xecure::signing::LiveKeyring {
        self.service.keyring()
    }
}

fn cacheable(mut response: Response<Body>, max_age_secs: u64) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age_secs}")) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

fn refused_or(result: Result<Response<Body>, OAuthError>) -> Response<Body> {
    result.unwrap_or_else(|error| oauth_error(&error))
}

pub async fn handle(app: &TokenApp, request: Request) -> Result<Response<Body>, Error> {
    let path = route_path(&request);
    let method = request.method().clone();
    let response = match (method, path) {
        (Method::POST, TOKEN_PATH) => refused_or(token(app, &request).await),
        (Method::POST, REVOKE_PATH) => refused_or(revoke(app, &request).await),
        (Method::POST, INTROSPECT_PATH) => refused_or(introspect(app, &request).await),
        (Method::GET, METADATA_PATH) => cacheable(json(StatusCode::OK, &app.metadata, false), 3600),
        (Method::GET, JWKS_PATH) => {
            let keyring = app.service.keyring().current().await;
            cacheable(
                json(StatusCode::OK, keyring.jwks(), false),
                JWKS_MAX_AGE_SECS,
            )
        }
        (_, TOKEN_PATH | REVOKE_PATH | INTROSPECT_PATH) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "this endpoint accepts POST only",
        ),
        _ => no_route(&request),
    };
    Ok(response)
}

async fn token(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let params = form(request)?;
    let issued = app
        .service
        .token(authorization(request), &params, &request_context(request))
        .await?;
    Ok(json(StatusCode::OK, &issued, true))
}

async fn revoke(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let params = form(request)?;
    app.service
        .revoke(authorization(request), &params, &request_context(request))
        .await?;
    Ok(json(StatusCode::OK, &serde_json::json!({}), true))
}

async fn introspect(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let params = form(request)?;
    let answer = app
        .service
        .introspect(authorization(request), &params, &request_context(request))
        .await?;
    Ok(json(StatusCode::OK, &answer, true))
}
