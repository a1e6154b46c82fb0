//! Which redirect URIs a client may have (RFC 7591 section 2, RFC 6749 section 3.1.2,
//! RFC 8252, RFC 9700 section 2.1): the one check for dynamic registration and for the
//! operator's `xecure client add|update`. Only https, or http on a loopback IP literal for a
//! native app (RFC 8252 section 7.3); an operator may allow http on any host for development,
//! but only by asking for it (`--allow-http-redirect`): a registered client never can.

use crate::domain::RedirectUri;
use crate::oauth::{ErrorCode, OAuthError};
use url::{Host, Url};

/// Longest redirect URI accepted.
const MAX_LEN: usize = 2048;

fn refused(raw: &str, why: &str) -> OAuthError {
    let shown: String = raw.chars().take(100).collect();
    // RFC 7591 section 3.2.2: "invalid_redirect_uri: The value of one or more redirection
    // URIs is invalid."
    OAuthError::new(
        ErrorCode::InvalidRedirectUri,
        format!("redirect URI '{shown}' {why}"),
    )
}

/// Which hosts a plain-http redirect URI may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpRedirects {
    /// A loopback IP literal only (RFC 8252 section 7.3): every registered client.
    LoopbackOnly,
    /// Any host: an operator's development client, asked for explicitly.
    AnyHost,
}

/// The check of dynamic registration (RFC 7591).
pub fn registrable_redirect_uri(raw: &str) -> Result<RedirectUri, OAuthError> {
    checked_redirect_uri(raw, HttpRedirects::LoopbackOnly)
}

pub fn checked_redirect_uri(raw: &str, http: HttpRedirects) -> Result<RedirectUri, OAuthError> {
    if raw.len() > MAX_LEN {
        return Err(refused(
            raw,
            &format!("is longer than {MAX_LEN} characters"),
        ));
    }
    // RFC 9700 section 2.1: exact matching only; a pattern would let an attacker's URI match.
    if raw.contains('*') {
        return Err(refused(
            raw,
            "contains a wildcard; register each URI exactly",
        ));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused(raw, "contains whitespace or control characters"));
    }
    // RFC 6749 section 3.1.2: absolute, no fragment; no script or data scheme.
    let uri = RedirectUri::parse(raw).map_err(|e| refused(raw, &e.to_string()))?;
    let url = Url::parse(raw).map_err(|e| refused(raw, &e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(raw, "must not contain user information"));
    }
    match (url.scheme(), url.host()) {
        ("https", Some(Host::Domain(_) | Host::Ipv4(_) | Host::Ipv6(_))) => Ok(uri),
        // RFC 8252 section 7.3: loopback IP literal, any port; `localhost` is NOT
        // RECOMMENDED (section 8.3) and not accepted.
        ("http", Some(Host::Ipv4(ip))) if ip.is_loopback() => Ok(uri),
        ("http", Some(Host::Ipv6(ip))) if ip.is_loopback() => Ok(uri),
        ("http", Some(_)) if http == HttpRedirects::AnyHost => Ok(uri),
        ("http", _) => Err(refused(
            raw,
            "uses http on a host that is not a loopback IP (127.0.0.1 or [::1]); use https",
        )),
        _ => Err(refused(raw, "must use https (or http on a loopback IP)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_may_allow_http_on_any_host_and_nothing_else() {
        let dev = "http://dev.example:8080/cb";
        assert!(registrable_redirect_uri(dev).is_err());
        assert!(checked_redirect_uri(dev, HttpRedirects::AnyHost).is_ok());
        for still_bad in [
            "https://*.example/cb",
            "https://user@x.example/cb",
            "http://x.example/cb#frag",
            "javascript:alert(1)",
        ] {
            assert!(
                checked_redirect_uri(still_bad, HttpRedirects::AnyHost).is_err(),
                "{still_bad}"
            );
        }
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for good in [
            "https://app.example/callback",
            "https://app.example:8443/cb?from=x",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51004/callback",
            "http://[::1]:8080/cb",
        ] {
            assert!(registrable_redirect_uri(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn hostile_redirect_uris_are_invalid_redirect_uri() {
        for bad in [
            "javascript:alert(document.cookie)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "http://app.example/callback",
            "http://localhost/callback",
            "http://10.0.0.1/cb",
            "https://app.example/cb#fragment",
            "https://app.example/cb#",
            "https://*.example/cb",
            "https://app.example/*",
            "/callback",
            "callback",
            "//app.example/cb",
            "",
            "https://good.example@evil.example/cb",
            "com.example.app:/oauth2redirect",
            "https://app.example/c b",
        ] {
            let error = registrable_redirect_uri(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRedirectUri, "{bad}");
        }
    }
}
