//! Redirect URIs. RFC 6749 section 3.1.2: absolute, no fragment. Security rule 1: a request
//! must match a registered URI exactly; only the port of a loopback IP redirect may vary
//! (RFC 8252 section 7.3).

use super::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// Schemes that would run code or read local files in the browser instead of navigating.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri {
    /// Kept exactly as registered or requested: matching compares these strings.
    raw: String,
}

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let url = Url::parse(raw).map_err(|e| {
            DomainError::invalid("redirect_uri", format!("not an absolute URI ({e})"))
        })?;
        // RFC 6749 section 3.1.2: "The endpoint URI MUST NOT include a fragment component."
        if url.fragment().is_some() || raw.contains('#') {
            return Err(DomainError::invalid(
                "redirect_uri",
                "must not contain a fragment",
            ));
        }
        if FORBIDDEN_SCHEMES.contains(&url.scheme()) {
            return Err(DomainError::invalid(
                "redirect_uri",
                format!("the '{}' scheme is not allowed", url.scheme()),
            ));
        }
        if url.cannot_be_a_base() && !url.scheme().contains('.') {
            // RFC 8252 section 7.1: private-use schemes are reverse domain names.
            return Err(DomainError::invalid(
                "redirect_uri",
                "must be hierarchical or use a reverse-domain private scheme",
            ));
        }
        Ok(RedirectUri {
            raw: raw.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Does a requested URI match this registered one? Exact string comparison, except that
    /// for `http` on a loopback IP literal the port may differ (RFC 8252 section 7.3:
    /// "The authorization server MUST allow any port to be specified at the time of the
    /// request for loopback IP redirect URIs"). Nothing is normalised (OAuth 2.1 section
    /// 2.3.1: "using exact string matching" apart from the port): `127.1`, `0x7f.0.0.1`,
    /// `HTTP:` or `/x/../cb` do not match `http://127.0.0.1/cb`.
    pub fn matches_request(&self, requested: &RedirectUri) -> bool {
        if self.raw == requested.raw {
            return true;
        }
        match (
            loopback_without_port(&self.raw),
            loopback_without_port(&requested.raw),
        ) {
            (Some(registered), Some(requested)) => registered == requested,
            _ => false,
        }
    }
}

/// For a URI written exactly `http://127.0.0.1[:port]...` or `http://[::1][:port]...`, the
/// text without the `:port`; otherwise None. A textual match on the two literal forms RFC
/// 8252 section 7.3 names: nothing is parsed or normalised. `localhost` is deliberately not
/// included (section 8.3: NOT RECOMMENDED).
fn loopback_without_port(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix("http://")?;
    let host = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find(|host| rest.starts_with(host))?;
    let after_host = &rest[host.len()..];
    let after_port = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    // The authority ends here: what follows is the path, query or nothing.
    if !(after_port.is_empty() || after_port.starts_with(['/', '?'])) {
        return None;
    }
    Some(format!("http://{host}{after_port}"))
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        RedirectUri::parse(&raw)
    }
}

impl From<RedirectUri> for String {
    fn from(uri: RedirectUri) -> String {
        uri.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(raw: &str) -> RedirectUri {
        RedirectUri::parse(raw).unwrap()
    }

    #[test]
    fn rejects_relative_fragment_and_script_uris() {
        assert!(RedirectUri::parse("/callback").is_err());
        assert!(RedirectUri::parse("https://app.example/cb#frag").is_err());
        assert!(RedirectUri::parse("https://app.example/cb#").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse("data:text/html,hi").is_err());
        assert!(RedirectUri::parse("com.example.app:/oauth2redirect").is_ok());
    }

    #[test]
    fn rule_1_redirect_uri_exact_match() {
        let registered = uri("https://app.example/cb");
        assert!(registered.matches_request(&uri("https://app.example/cb")));
        assert!(!registered.matches_request(&uri("https://app.example/cb/")));
        assert!(!registered.matches_request(&uri("https://app.example/cb?x=1")));
        assert!(!registered.matches_request(&uri("https://APP.example/cb")));
        assert!(!registered.matches_request(&uri("https://app.example:8443/cb")));
        assert!(!registered.matches_request(&uri("https://app.example.evil/cb")));
    }

    #[test]
    fn redirect_uri_loopback_port_may_vary() {
        let registered = uri("http://127.0.0.1/callback");
        assert!(registered.matches_request(&uri("http://127.0.0.1:51004/callback")));
        assert!(!registered.matches_request(&uri("http://127.0.0.1:51004/other")));
        assert!(uri("http://[::1]:80/cb").matches_request(&uri("http://[::1]:9999/cb")));
        assert!(!uri("http://localhost/cb").matches_request(&uri("http://localhost:9999/cb")));
        assert!(!uri("https://127.0.0.1/cb").matches_request(&uri("https://127.0.0.1:9999/cb")));
    }

    #[test]
    fn rule_20_loopback_redirect_uris_match_exactly_except_the_port() {
        let registered = uri("http://127.0.0.1/cb");
        for other in [
            "http://127.1/cb",
            "http://0x7f.0.0.1/cb",
            "http://2130706433/cb",
            "http://127.0.0.1/x/../cb",
            "HTTP://127.0.0.1/cb",
            "http://127.0.0.1:80/cb/",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1:8080@evil.example/cb",
            "http://127.0.0.1/CB",
            "http://127.0.0.1/cb?x=1",
        ] {
            assert!(!registered.matches_request(&uri(other)), "{other}");
        }
        assert!(registered.matches_request(&uri("http://127.0.0.1:80/cb")));
        assert!(registered.matches_request(&uri("http://127.0.0.1:65535/cb")));
        assert!(uri("http://127.0.0.1:3000/cb").matches_request(&uri("http://127.0.0.1/cb")));
    }
}
