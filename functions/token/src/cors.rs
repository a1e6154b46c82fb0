//! CORS for the endpoints a browser app calls itself: a single-page app (a public client with
//! PKCE, RFC 9700 section 2.1.1 / OAuth 2.1) exchanges and refreshes its code at `/token`,
//! revokes at `/revoke`, and reads the metadata and the JWKS. Any origin may: these endpoints
//! take no cookie or other ambient credential (a client authenticates in the request itself),
//! so a page can do nothing through them that its own HTTP client could not, and
//! `Access-Control-Allow-Credentials` is never sent, so a browser never attaches cookies
//! (Fetch standard, "CORS protocol and credentials"). The cookie-based endpoints (login,
//! consent, connected apps) get no CORS headers at all.

use lambda_http::http::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};
use xecure::oauth::metadata::{
    JWKS_PATH, METADATA_PATH, OPENID_CONFIGURATION_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};

/// The paths and the methods a browser calls each with. UserInfo takes its access token in
/// the `Authorization` header, never a cookie (OpenID Connect Core section 5.3.1).
pub const CORS_ENDPOINTS: [(&str, &str); 6] = [
    (TOKEN_PATH, "POST"),
    (REVOKE_PATH, "POST"),
    (JWKS_PATH, "GET"),
    (METADATA_PATH, "GET"),
    (OPENID_CONFIGURATION_PATH, "GET"),
    (USERINFO_PATH, "GET, POST"),
];

fn method_for(path: &str) -> Option<&'static str> {
    CORS_ENDPOINTS
        .iter()
        .find(|(endpoint, _)| *endpoint == path)
        .map(|(_, method)| *method)
}

/// The answer to a preflight (`OPTIONS` on a CORS endpoint): 204 allowing the endpoint's
/// method with `Authorization` (client_secret_basic) and `Content-Type` (the form body);
/// browsers may keep it for 10 minutes.
pub fn preflight(method: &Method, path: &str) -> Option<Response<Body>> {
    if method != Method::OPTIONS {
        return None;
    }
    let allowed = method_for(path)?;
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(allowed),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        // RFC 9449: a browser client sends its proof in the DPoP header.
        HeaderValue::from_static("Authorization, Content-Type, DPoP"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Some(response)
}

/// `response` readable by any origin when `path` is a CORS endpoint (errors included, so
/// the app sees `invalid_grant` and the `WWW-Authenticate` of a 401).
pub fn allow(path: &str, mut response: Response<Body>) -> Response<Body> {
    if method_for(path).is_some() {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflights_allow_each_endpoints_own_method_only() {
        let token = preflight(&Method::OPTIONS, TOKEN_PATH).unwrap();
        assert_eq!(token.status(), 204);
        assert_eq!(token.headers()[ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(token.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(token
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
        let jwks = preflight(&Method::OPTIONS, JWKS_PATH).unwrap();
        assert_eq!(jwks.headers()[ACCESS_CONTROL_ALLOW_METHODS], "GET");
        assert!(preflight(&Method::OPTIONS, "/introspect").is_none());
        assert!(preflight(&Method::OPTIONS, "/login").is_none());
        assert!(preflight(&Method::POST, TOKEN_PATH).is_none());
    }

    #[test]
    fn only_cors_endpoints_are_readable_cross_origin() {
        let ok = || Response::new(Body::Empty);
        assert_eq!(
            allow(TOKEN_PATH, ok()).headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "*"
        );
        assert!(allow("/introspect", ok())
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        assert!(allow("/register", ok())
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }
}
