//! Request -> `xecure::oauth` -> response. Every client error is an `Ok` response with the
//! RFC error code (design rule 7).

use lambda_http::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use xecure::dpop::nonce::DPOP_NONCE_HEADER;
use xecure::dpop::{proof_algorithm_names, DPOP_HEADER};
use xecure::http::{
    authorization, called_request, dpop_proof, form, json, json_error, no_route, oauth_error,
    request_context, route_path,
};
use xecure::oauth::metadata::{
    metadata, INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, OPENID_CONFIGURATION_PATH, PAR_PATH,
    REGISTER_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};
use xecure::oauth::openid::discovery::openid_configuration;
use xecure::oauth::registration::Registrar;
use xecure::oauth::token::TokenService;
use xecure::oauth::token::UserInfoRefusal;
use xecure::oauth::{ErrorCode, OAuthError};

use crate::limits::EdgeLimits;

/// How long clients and verifiers may cache the JWKS. A rotated key is published at least
/// this long (plus the keyring reload interval) before it signs.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

pub struct TokenApp {
    service: TokenService,
    registrar: Registrar,
    metadata: Value,
    limits: Option<EdgeLimits>,
}

impl TokenApp {
    /// The endpoints over `service`; registration answers with the same dependencies.
    pub fn new(service: TokenService) -> Self {
        let metadata = metadata(service.config(), service.catalogue());
        let registrar = service.registrar();
        TokenApp {
            service,
            registrar,
            metadata,
            limits: None,
        }
    }

    /// The same app with rate limits at its edges (rule 19): the Lambda and `xecure serve`
    /// wiring set them; tests and benchmarks that measure the endpoints themselves do not.
    pub fn with_rate_limits(mut self, limits: EdgeLimits) -> Self {
        self.limits = Some(limits);
        self
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
        // Registration records go through the same trail as the endpoints' (the Lambda's
        // wiring sets the auditor before either exists).
        self.registrar = self.service.registrar();
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
    let path = route_path(&request).to_owned();
    // A preflight is answered before anything else: it carries no credential to limit.
    if let Some(preflight) = crate::cors::preflight(request.method(), &path) {
        return Ok(preflight);
    }
    let response = match &app.limits {
        None => route(app, request).await,
        Some(limits) => match limits.admit(&request) {
            Err(refused) => refused.response(),
            Ok(admitted) => {
                let response = route(app, request).await;
                limits.settle(admitted, &response);
                response
            }
        },
    };
    // Refusals too (a 429 included): a browser app must be able to read why.
    Ok(crate::cors::allow(&path, response))
}

async fn route(app: &TokenApp, request: Request) -> Response<Body> {
    let path = route_path(&request);
    let method = request.method().clone();
    match (method, path) {
        (Method::POST, TOKEN_PATH) => {
            let answer = token(app, &request)
                .await
                .unwrap_or_else(|error| crate::limits::marked_refusal(&error));
            if request.headers().contains_key(DPOP_HEADER) {
                with_dpop_nonce(app, answer).await
            } else {
                answer
            }
        }
        (Method::POST, PAR_PATH) => refused_or(push(app, &request).await),
        (Method::POST, REVOKE_PATH) => refused_or(revoke(app, &request).await),
        (Method::POST, INTROSPECT_PATH) => refused_or(introspect(app, &request).await),
        (Method::GET, METADATA_PATH) => cacheable(json(StatusCode::OK, &app.metadata, false), 3600),
        (Method::GET, OPENID_CONFIGURATION_PATH) => {
            let keyring = app.service.keyring().current().await;
            let doc = openid_configuration(
                app.service.config(),
                app.service.catalogue(),
                keyring.signing_algorithms(),
            );
            cacheable(json(StatusCode::OK, &doc, false), 3600)
        }
        (Method::GET | Method::POST, USERINFO_PATH) => userinfo(app, &request).await,
        (_, USERINFO_PATH) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "UserInfo accepts GET and POST",
        ),
        (Method::GET, JWKS_PATH) => {
            let keyring = app.service.keyring().current().await;
            cacheable(
                json(StatusCode::OK, keyring.jwks(), false),
                JWKS_MAX_AGE_SECS,
            )
        }
        (Method::POST, REGISTER_PATH) => refused_or(register(app, &request).await),
        (_, REGISTER_PATH) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "POST registers a client (RFC 7591)",
        ),
        (method, _) if registration_of(path).is_some() => {
            let client_id = registration_of(path).unwrap_or_default().to_owned();
            refused_or(manage(app, &request, method, &client_id).await)
        }
        (_, TOKEN_PATH | REVOKE_PATH | INTROSPECT_PATH | PAR_PATH) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "this endpoint accepts POST only",
        ),
        _ => no_route(&request),
    }
}

/// The `{client_id}` of `/register/{client_id}`.
fn registration_of(path: &str) -> Option<&str> {
    path.strip_prefix(REGISTER_PATH)?
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// RFC 7591 section 3: the body is `application/json`.
fn json_body(request: &Request) -> Result<&[u8], OAuthError> {
    let media_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the body must be application/json",
        ));
    }
    Ok(body_bytes(request))
}

/// `POST /register`: 201 Created with the client information (RFC 7591 section 3.2.1).
async fn register(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let answer = app
        .registrar
        .register(
            authorization(request),
            json_body(request)?,
            &request_context(request),
        )
        .await?;
    Ok(json(StatusCode::CREATED, &answer, true))
}

/// `GET`, `PUT`, `DELETE /register/{client_id}` (RFC 7592 section 2).
async fn manage(
    app: &TokenApp,
    request: &Request,
    method: Method,
    client_id: &str,
) -> Result<Response<Body>, OAuthError> {
    let bearer = authorization(request);
    let context = request_context(request);
    match method {
        Method::GET => {
            let answer = app.registrar.read(client_id, bearer).await?;
            Ok(json(StatusCode::OK, &answer, true))
        }
        Method::PUT => {
            let answer = app
                .registrar
                .update(client_id, bearer, json_body(request)?, &context)
                .await?;
            Ok(json(StatusCode::OK, &answer, true))
        }
        Method::DELETE => {
            app.registrar.delete(client_id, bearer, &context).await?;
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        _ => Ok(json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "GET reads, PUT updates, DELETE removes a registration (RFC 7592)",
        )),
    }
}

/// RFC 9449 section 8.1: with nonces required, every answer to a token request with a proof
/// carries a fresh one, the `use_dpop_nonce` error above all (only to those: a nonce costs a
/// signature, which a request without a proof has no use for).
async fn with_dpop_nonce(app: &TokenApp, mut response: Response<Body>) -> Response<Body> {
    let fresh = app.service.fresh_dpop_nonce().await;
    if let Some(value) = fresh.and_then(|nonce| HeaderValue::from_str(&nonce).ok()) {
        response.headers_mut().insert(DPOP_NONCE_HEADER, value);
    }
    response
}

async fn token(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let params = form(request)?;
    let issued = app
        .service
        .token_with_proof(
            authorization(request),
            &params,
            dpop_proof(request),
            &request_context(request),
        )
        .await?;
    Ok(json(StatusCode::OK, &issued, true))
}

/// `POST /par` (RFC 9126 section 2): 201 with the `request_uri`, never cached.
async fn push(app: &TokenApp, request: &Request) -> Result<Response<Body>, OAuthError> {
    let params = form(request)?;
    let pushed = app
        .service
        .push_authorization_request(authorization(request), &params, &request_context(request))
        .await?;
    Ok(json(StatusCode::CREATED, &pushed, true))
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

/// `GET` or `POST /userinfo` (OpenID Connect Core section 5.3): the claims as JSON, never
/// cached; refusals per RFC 6750 section 3.
async fn userinfo(app: &TokenApp, request: &Request) -> Response<Body> {
    let call = called_request(request, app.service.config().endpoint(USERINFO_PATH));
    match app.service.userinfo(authorization(request), &call).await {
        Ok(claims) => json(StatusCode::OK, &claims, true),
        // Section 3.1: with no credentials, the challenge names no error.
        Err(UserInfoRefusal::NoToken) => {
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "an access token is required (Authorization: Bearer)",
            );
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"xecure\""),
            );
            response
        }
        Err(UserInfoRefusal::Dpop(reason)) => {
            tracing::info!(reason, "userinfo: DPoP refused");
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_dpop_proof",
                "a DPoP proof of the token's key for this request is required",
            );
            let challenge = format!(
                "DPoP error=\"invalid_dpop_proof\", algs=\"{}\"",
                proof_algorithm_names()
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
            response
        }
        Err(UserInfoRefusal::Refused(error)) => oauth_error(&error),
    }
}
