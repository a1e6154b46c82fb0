//! The session cookie (security rule 12 and issue #3): an opaque value, HttpOnly, Secure,
//! SameSite=Lax, scoped to the issuer's path, with an expiry. Before login the same cookie
//! holds a random value that no session is stored under: it exists so the login form's CSRF
//! token has something to be bound to.

use crate::domain::OpaqueToken;
use cookie::time::Duration as CookieDuration;
use cookie::{Cookie, SameSite};
use lambda_http::http::header::COOKIE;
use lambda_http::http::HeaderMap;
use std::time::Duration;

pub const SESSION_COOKIE: &str = "xecure_session";

/// Longest cookie value accepted (ours are 43 characters).
const MAX_VALUE_LEN: usize = 128;

/// The session cookie's value, if the browser sent one. Of duplicates (a cookie set by a
/// sibling domain), the first is taken; a forged one matches no session.
pub fn session_cookie(headers: &HeaderMap) -> Option<OpaqueToken> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= MAX_VALUE_LEN)
        .map(OpaqueToken::new)
}

/// `Set-Cookie` for `value`, valid under `path` for `max_age`.
pub fn set_session_cookie(value: &OpaqueToken, path: &str, max_age: Duration) -> String {
    let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    Cookie::build((SESSION_COOKIE, value.secret().to_owned()))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path(path.to_owned())
        .max_age(CookieDuration::seconds(seconds))
        .build()
        .to_string()
}

/// The cookie path for an issuer: its URL path (`/prod` behind a REST API stage), or `/`.
pub fn cookie_path(issuer: &str) -> String {
    let path = url::Url::parse(issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    if path.is_empty() {
        "/".to_owned()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    #[test]
    fn the_cookie_has_every_protective_attribute() {
        let header = set_session_cookie(&OpaqueToken::new("abc"), "/", Duration::from_secs(60));
        for part in [
            "xecure_session=abc",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(header.contains(part), "{header} lacks {part}");
        }
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; xecure_session=v1"),
        );
        assert_eq!(session_cookie(&headers).unwrap().secret(), "v1");
        assert!(session_cookie(&HeaderMap::new()).is_none());
        let mut long = HeaderMap::new();
        let value = format!("xecure_session={}", "a".repeat(500));
        long.append(COOKIE, HeaderValue::from_str(&value).unwrap());
        assert!(session_cookie(&long).is_none());
    }

    #[test]
    fn the_path_follows_the_issuer() {
        assert_eq!(cookie_path("https://auth.example"), "/");
        assert_eq!(cookie_path("https://x.execute-api.aws/prod"), "/prod");
    }
}
