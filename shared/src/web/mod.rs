//! The browser-facing side shared by the authorize and consent functions: HTML pages with the
//! headers security rule 12 asks for, the session cookie, CSRF tokens, and one mapping from a
//! flow `Step` to a response.

pub mod branding;
pub mod cookie;
pub mod csrf;
pub mod pages;
pub mod stylesheet;

use crate::config::OAuthConfig;
use crate::oauth::interaction::Step;
use crate::oauth::metadata::{CONSENT_PATH, LOGIN_PATH, LOGOUT_PATH};
use crate::oauth::{ErrorCode, OAuthError, Params};
use askama::Template;
use branding::brand;
use lambda_http::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use pages::ErrorPage;

/// The CSP source a form may post to (and be redirected to) for a client's redirect URI:
/// its origin for http(s), its scheme for a native app's private-use scheme.
pub fn form_target(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

/// The host a URI names (the consent screen says where the answer goes).
pub fn host_of(uri: &str) -> Option<String> {
    url::Url::parse(uri).ok()?.host_str().map(str::to_owned)
}

/// Headers every page sends: no framing (clickjacking), no sniffing, no referrer (the URL
/// holds the request handle), never cached, and a CSP that allows only our stylesheet (by
/// its hash, branding included), images from the brand logo's origin and the page's own
/// (an app's logo), and forms posting to us and on to the client's redirect URI (browsers
/// check redirects after a form post against `form-action`).
fn protect(response: &mut Response<Body>, form_targets: &[String], image_sources: &[String]) {
    let mut form_action = String::from("'self'");
    for target in form_targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    let brand = brand();
    let images: Vec<&str> = brand
        .logo_origin
        .iter()
        .chain(image_sources)
        .map(String::as_str)
        .collect();
    let img_src = match images.is_empty() {
        true => String::new(),
        false => format!("; img-src {}", images.join(" ")),
    };
    let csp = format!(
        "default-src 'none'; style-src {}{img_src}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        brand.style_source
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An HTML page with the protective headers.
pub fn html(status: StatusCode, page: &impl Template, form_targets: &[String]) -> Response<Body> {
    html_with_images(status, page, form_targets, &[])
}

/// As `html`, also allowing images from `image_sources` (origins).
pub fn html_with_images(
    status: StatusCode,
    page: &impl Template,
    form_targets: &[String],
    image_sources: &[String],
) -> Response<Body> {
    let (status, body) = match page.render() {
        Ok(body) => (status, body),
        Err(error) => {
            // Templates are checked at compile time; a failure here is a bug, logged.
            tracing::error!(%error, "page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned(),
            )
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    protect(&mut response, form_targets, image_sources);
    response
}

/// 303 See Other: after a POST the browser follows with a GET (security rule 11).
pub fn see_other(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    protect(&mut response, &[], &[]);
    response
}

/// Where every sign-out ends: 303 to the signed-out page, the session cookie expired.
pub fn to_signed_out(config: &OAuthConfig) -> Response<Body> {
    signed_out_to(config, &config.endpoint(LOGOUT_PATH))
}

/// 303 to `location` (the signed-out page, or an app's registered post-logout URI), the
/// session cookie expired.
pub fn signed_out_to(config: &OAuthConfig, location: &str) -> Response<Body> {
    let expired = cookie::set_session_cookie(
        &crate::domain::OpaqueToken::new(""),
        &cookie::cookie_path(&config.issuer),
        std::time::Duration::ZERO,
    );
    with_cookie(see_other(location), &expired)
}

/// Adds a `Set-Cookie`.
pub fn with_cookie(mut response: Response<Body>, set_cookie: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

pub fn with_header(mut response: Response<Body>, name: HeaderName, value: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The page functions' answer past their request deadline: the 503 error page.
pub fn deadline_page() -> Response<Body> {
    error_page(&OAuthError::deadline_passed())
}

/// The error page: what went wrong in plain words and the RFC code, never a redirect.
pub fn error_page(error: &OAuthError) -> Response<Body> {
    tracing::info!(error = error.code.as_str(), description = %error.description, cause = error.cause.as_deref(), "error page");
    let title = match error.code {
        ErrorCode::TemporarilyUnavailable => "Temporarily unavailable",
        ErrorCode::AccessDenied => "Not allowed",
        _ => "This request cannot continue",
    };
    let page = ErrorPage {
        brand: brand(),
        title,
        message: &error.description,
        code: error.code.as_str(),
    };
    html(status_of(error.code), &page, &[])
}

/// Where each step sends the browser: the login and consent pages are absolute URLs under
/// the issuer (they carry its path, e.g. a REST API stage).
pub fn step_response(step: Step, config: &OAuthConfig) -> Response<Body> {
    match step {
        Step::ShowError(error) => error_page(&error),
        Step::ToClient(location) => see_other(&location),
        Step::ToLogin(handle) => {
            see_other(&with_handle(&config.endpoint(LOGIN_PATH), handle.secret()))
        }
        Step::ToConsent(handle) => see_other(&with_handle(
            &config.endpoint(CONSENT_PATH),
            handle.secret(),
        )),
        // The consent handler renders the screen with the CSRF token of the browser's
        // cookie; without a cookie there is nothing to bind the form to.
        Step::ShowConsent(_) => error_page(&OAuthError::new(
            ErrorCode::InvalidRequest,
            "Cookies are needed to sign in. Enable them and start again from the app.",
        )),
    }
}

/// The query string's parameters (RFC 6749 section 3.1: duplicates refused).
pub fn query_params(request: &Request) -> Result<Params, OAuthError> {
    Params::from_urlencoded(request.uri().query().unwrap_or_default().as_bytes())
}

/// A form whose CSRF token is missing or does not match this browser's cookie.
/// The fields of a form posted from one of our pages, once its CSRF token matches the
/// session cookie (security rule 12); otherwise the page to answer with.
pub fn csrf_checked_form(request: &Request) -> Result<Params, Box<Response<Body>>> {
    let params = crate::http::form(request).map_err(|error| Box::new(error_page(&error)))?;
    let cookie = cookie::session_cookie(request.headers());
    if !csrf::csrf_matches(cookie.as_ref(), params.get("csrf")) {
        return Err(Box::new(csrf_refused()));
    }
    Ok(params)
}

pub fn csrf_refused() -> Response<Body> {
    let error = OAuthError::new(
        ErrorCode::AccessDenied,
        "This form has expired or was not sent from this site. Go back to the app and start again.",
    );
    error_page(&error)
}

/// The interactive endpoints serve GET (and POST for forms) only.
pub fn method_not_allowed() -> Response<Body> {
    let mut response = error_page(&OAuthError::new(
        ErrorCode::InvalidRequest,
        "This address does not accept that method.",
    ));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// `url?request=<handle>`, the handle form-encoded.
pub fn with_handle(url: &str, handle: &str) -> String {
    let query = serde_urlencoded::to_string([("request", handle)]).unwrap_or_default();
    format!("{url}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_12_pages_forbid_framing_and_allow_only_our_style() {
        let response = error_page(&OAuthError::new(ErrorCode::InvalidRequest, "bad"));
        let headers = response.headers();
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("default-src 'none'"));
        assert!(csp.contains("style-src 'sha256-"));
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert_eq!(response.status(), 400);
    }

    #[test]
    fn form_targets_are_origins_or_schemes() {
        assert_eq!(
            form_target("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            form_target("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_target("not a url"), None);
    }
}
