//! A minimal user agent: one cookie jar entry (the session cookie), forms read from HTML.

use crate::system::{System, ISSUER, PASSWORD, USERNAME};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::Body;
use sha2::{Digest, Sha256};

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `value` of the hidden input `name` (askama escapes `&`, `<`, `>` and quotes; our
    /// values are base64url and never contain them).
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    /// The `code` of the authorization response this page redirects to, if it carries one.
    pub fn code(&self) -> Option<String> {
        url::Url::parse(self.location())
            .ok()?
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.into_owned())
    }

    /// The path and query of our own URL in `Location` (absolute under the issuer).
    pub fn local_location(&self) -> String {
        self.location()
            .strip_prefix(ISSUER)
            .unwrap_or_else(|| panic!("not one of ours: {}", self.location()))
            .to_owned()
    }
}

#[derive(Default)]
pub struct Browser {
    cookie: Option<String>,
}

/// PKCE (RFC 7636 section 4.2): S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `/authorize?…` for the registered app with a PKCE challenge of `verifier`; `overrides`
/// replace parameters (an empty value drops one).
pub fn authorize_path(verifier: &str, overrides: &[(&str, &str)]) -> String {
    let challenge = challenge_of(verifier);
    let base = [
        ("response_type", "code"),
        ("client_id", crate::WEB),
        ("redirect_uri", crate::WEB_REDIRECT),
        ("scope", "profile:read orders:read"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut pairs: Vec<(&str, &str)> = base
        .iter()
        .filter(|(name, _)| !overrides.iter().any(|(n, _)| n == name))
        .copied()
        .collect();
    pairs.extend(overrides.iter().filter(|(_, v)| !v.is_empty()).copied());
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string(pairs).expect("form encoding")
    )
}

impl Browser {
    /// A new browser signed in through the login that `page` (`apps` or `account`) sends an
    /// anonymous visitor to, and brought back to the page.
    pub async fn signed_in_at(system: &System, page: &str) -> Browser {
        let mut browser = Browser::default();
        let path = format!("/{page}");
        let login_path = format!("/login?return={page}");
        let first = browser.get(system, &path).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        assert_eq!(first.local_location(), login_path);
        let login = browser.get(system, &login_path).await;
        assert_eq!(login.status, StatusCode::OK);
        let fields = [
            ("return", login.hidden("return")),
            ("csrf", login.hidden("csrf")),
            ("username", USERNAME.to_owned()),
            ("password", PASSWORD.to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let done = browser.post(system, "/login", &fields).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.local_location(), path);
        browser
    }

    /// Where `next` (one of our paths) leads once the login it may ask for is done as the test
    /// user: `next` itself when it is not the login page.
    pub async fn past_login(&mut self, system: &System, next: String) -> String {
        if !next.starts_with("/login?") {
            return next;
        }
        let login = self.get(system, &next).await;
        self.log_in(system, &login, USERNAME, PASSWORD)
            .await
            .local_location()
    }

    /// Submits the form of `login` (its request handle and CSRF token) with these credentials.
    pub async fn log_in(
        &mut self,
        system: &System,
        login: &Page,
        username: &str,
        password: &str,
    ) -> Page {
        let (request, csrf) = (login.hidden("request"), login.hidden("csrf"));
        let fields = [
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        self.post(system, "/login", &fields).await
    }

    /// Submits the consent form of `screen`, ticking `scope` (space-separated names).
    pub async fn approve(&mut self, system: &System, screen: &Page, scope: &str) -> Page {
        let (request, csrf) = (screen.hidden("request"), screen.hidden("csrf"));
        let mut fields = vec![("request", request.as_str()), ("csrf", csrf.as_str())];
        fields.extend(scope.split(' ').map(|name| ("scope", name)));
        fields.push(("decision", "approve"));
        self.post(system, "/consent", &fields).await
    }

    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Presents `value` as the session cookie (a copied or stolen cookie).
    pub fn set_cookie(&mut self, value: &str) {
        self.cookie = Some(value.to_owned());
    }

    pub fn forget_cookie(&mut self) {
        self.cookie = None;
    }

    pub async fn get(&mut self, system: &System, path_and_query: &str) -> Page {
        let request = self.request("GET", path_and_query, None);
        self.send(system, request).await
    }

    pub async fn post(&mut self, system: &System, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("form encoding");
        let request = self.request("POST", path, Some(body));
        self.send(system, request).await
    }

    /// Any method, with the session cookie (the JSON API of the connected apps).
    pub async fn call(&mut self, system: &System, method: &str, path: &str) -> Page {
        let request = self.request(method, path, None);
        self.send(system, request).await
    }

    fn request(&self, method: &str, uri: &str, body: Option<String>) -> lambda_http::Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(uri);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(COOKIE, format!("xecure_session={cookie}"));
        }
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = body.map_or(Body::Empty, Body::from);
        builder.body(body).expect("a request")
    }

    async fn send(&mut self, system: &System, request: lambda_http::Request) -> Page {
        let response = system.serve(request).await;
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let text = set.to_str().expect("ascii cookie");
            if let Some(value) = text
                .split(';')
                .next()
                .and_then(|pair| pair.strip_prefix("xecure_session="))
            {
                self.cookie = Some(value.to_owned());
            }
        }
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        Page {
            status: response.status(),
            headers,
            body,
        }
    }
}
