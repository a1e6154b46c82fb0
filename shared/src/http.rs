//! HTTP at the edge, shared by the functions: one place that parses forms and credentials and
//! shapes JSON and OAuth error responses (design rule 6). Handlers return `Ok(response)` for
//! every client error (design rule 7).

use crate::audit::RequestContext;
use crate::oauth::{ErrorCode, OAuthError, Params};
use lambda_http::http::header::{
    HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, USER_AGENT, WWW_AUTHENTICATE,
};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext as LambdaContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// A JSON response. `no_store` for anything carrying or describing a token (security
/// rule 10, RFC 6749 section 5.1).
pub fn json<T: Serialize>(status: StatusCode, value: &T, no_store: bool) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if no_store {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

/// A JSON error body in the RFC 6749 section 5.2 shape, never cached.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "error": error, "error_description": description }),
        true,
    )
}

/// The token function's answer past its request deadline: 503 `temporarily_unavailable`.
pub fn deadline_json() -> Response<Body> {
    oauth_error(&OAuthError::deadline_passed())
}

/// The response for an OAuth error from the token, revocation or introspection endpoint.
/// The client gets the code and description; the log gets the cause.
pub fn oauth_error(error: &OAuthError) -> Response<Body> {
    tracing::info!(error = error.code.as_str(), description = %error.description, cause = error.cause.as_deref(), "request refused");
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json_error(status, error.code.as_str(), &error.description);
    // RFC 6749 section 5.2: a failed client authentication answers 401 with the scheme the
    // client may use; RFC 6750 section 3: a bad bearer token (the registration endpoints'
    // initial or registration access token) answers with the Bearer scheme.
    let challenge = match error.code {
        crate::oauth::ErrorCode::InvalidClient => {
            Some("Basic realm=\"xecure\", error=\"invalid_client\"")
        }
        crate::oauth::ErrorCode::InvalidToken => {
            Some("Bearer realm=\"xecure\", error=\"invalid_token\"")
        }
        crate::oauth::ErrorCode::InsufficientScope => {
            Some("Bearer realm=\"xecure\", error=\"insufficient_scope\", scope=\"openid\"")
        }
        _ => None,
    };
    if let Some(challenge) = challenge {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// The path to route on. A REST API (v1) event's URI includes the stage (`/prod/token`);
/// lambda_http keeps the path without it as the raw HTTP path. Requests built in process (the
/// local gateway, tests) have no raw path and use the URI's.
pub fn route_path(request: &Request) -> &str {
    match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    }
}

/// The answer for a path the function does not serve: a JSON 404, never a 500.
pub fn no_route(request: &Request) -> Response<Body> {
    let path = route_path(request);
    tracing::info!(method = %request.method(), path, "no route");
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no route for {} {path}", request.method()),
    )
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The form body of a POST (RFC 6749 section 3.2: `application/x-www-form-urlencoded`),
/// one parameter per name.
pub fn form(request: &Request) -> Result<Params, OAuthError> {
    Params::from_pairs(form_pairs(request)?)
}

/// The form body as name-value pairs, repeats kept (a group of check boxes).
pub fn form_pairs(request: &Request) -> Result<Vec<(String, String)>, OAuthError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::new(
            crate::oauth::ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    serde_urlencoded::from_bytes(body_bytes(request)).map_err(|_| {
        OAuthError::new(
            crate::oauth::ErrorCode::InvalidRequest,
            "the parameters are not valid form encoding",
        )
    })
}

pub fn authorization(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The request's DPoP proof (RFC 9449 section 4.1), if it has one. Section 4.3 point 1:
/// "there is not more than one DPoP HTTP request header field".
pub fn dpop_proof(request: &Request) -> Result<Option<&str>, OAuthError> {
    crate::dpop::proof_header(request.headers()).map_err(|rejection| {
        OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is invalid")
            .with_cause(rejection.to_string())
    })
}

/// The request as a DPoP proof must match it (RFC 9449 section 4.3): its proof, its method,
/// and `url`, where the function is served.
pub fn called_request(request: &Request, url: String) -> crate::dpop::binding::CalledRequest {
    crate::dpop::binding::CalledRequest {
        proof: crate::dpop::proof_header(request.headers()).map(|proof| proof.map(str::to_owned)),
        method: request.method().as_str().to_owned(),
        url,
    }
}

/// Source IP, user agent and request id for audit records.
pub fn request_context(request: &Request) -> RequestContext {
    let (source_ip, request_id) = match request.request_context_ref() {
        Some(LambdaContext::ApiGatewayV1(ctx)) => {
            (ctx.identity.source_ip.clone(), ctx.request_id.clone())
        }
        Some(LambdaContext::ApiGatewayV2(ctx)) => {
            (ctx.http.source_ip.clone(), ctx.request_id.clone())
        }
        _ => (None, None),
    };
    let user_agent = request
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect());
    RequestContext {
        source_ip,
        user_agent,
        request_id,
        operator: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_get_a_json_404() {
        let request = lambda_http::http::Request::builder()
            .uri("/nowhere")
            .body(Body::Empty)
            .unwrap();
        let response = no_route(&request);
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let Body::Text(text) = response.body() else {
            panic!("text body expected")
        };
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(json["error"], "not_found");
        assert_eq!(json["error_description"], "no route for GET /nowhere");
    }

    #[test]
    fn invalid_client_answers_401_with_www_authenticate() {
        let error = OAuthError::new(
            crate::oauth::ErrorCode::InvalidClient,
            "client authentication failed",
        );
        let response = oauth_error(&error);
        assert_eq!(response.status(), 401);
        assert!(response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }

    #[test]
    fn forms_need_the_form_content_type() {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        assert!(form(&request).is_err());
    }
}
