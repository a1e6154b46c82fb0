//! Issue #9, through the local gateway on a fake clock: a user revokes an app on the
//! connected-apps page; its refresh token fails at once, and once the 60 s bound has passed
//! the authorizer denies its access token, so the protected API answers 401.

use super::api_gateway::{AuthorizerMode, LocalSystem};
use super::test_store::world_signing_from;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use xecure::domain::*;
use xecure::ports::{Clock, SystemClock};
use xecure::testing::{ClientFixture, FixedClock, World};

const ISSUER: &str = "http://127.0.0.1:3000";
const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "gateway-revocation-verifier-0123456789abcdefghijklmnop";

/// A user agent over the local gateway: one cookie, our own absolute Locations.
struct Agent<'a> {
    system: &'a LocalSystem,
    cookie: Option<String>,
}

struct Answer {
    status: u16,
    location: String,
    body: String,
}

impl Answer {
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect("the field") + marker.len();
        let end = self.body[start..].find('"').expect("a closing quote") + start;
        self.body[start..end].to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Agent<'_> {
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        bearer: Option<&str>,
    ) -> Answer {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(path);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(COOKIE, format!("xecure_session={cookie}"));
        }
        if let Some(token) = bearer {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match form {
            Some(fields) => {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(fields).expect("a form"))
            }
            None => Body::Empty,
        };
        let request: Request = builder.body(body).expect("a request");
        let response: Response<Body> = self
            .system
            .handle(request, SocketAddr::from(([127, 0, 0, 1], 40000)))
            .await;
        for value in response.headers().get_all(SET_COOKIE) {
            if let Some(v) = value
                .to_str()
                .ok()
                .and_then(|t| t.split(';').next())
                .and_then(|pair| pair.strip_prefix("xecure_session="))
            {
                self.cookie = Some(v.to_owned());
            }
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Answer {
            status: response.status().as_u16(),
            location: location.strip_prefix(ISSUER).unwrap_or(location).to_owned(),
            body: match response.body() {
                Body::Text(text) => text.clone(),
                Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => String::new(),
            },
        }
    }
}

/// The world first: dropped after the system that has its store open.
async fn system_on(clock: Arc<FixedClock>) -> (World, LocalSystem) {
    let now = clock.now();
    let (world, data) = world_signing_from(now).await;
    let recipes = ClientFixture::public("recipes")
        .named("Recipes")
        .redirect(REDIRECT)
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::AuthorizationCode, GrantType::RefreshToken]);
    world.register(recipes, now).await;
    world.create_user("alice", "a long passphrase", now).await;
    let system = LocalSystem::build_with_clock(&data, ISSUER, AuthorizerMode::Token, clock)
        .await
        .unwrap();
    (world, system)
}

#[tokio::test]
async fn revoking_an_app_stops_its_refresh_token_at_once_and_its_api_calls_within_the_bound() {
    let clock = Arc::new(FixedClock::at(SystemClock.now()));
    let (_world, system) = system_on(clock.clone()).await;
    let mut agent = Agent {
        system: &system,
        cookie: None,
    };

    // The user connects the app: authorize, log in, consent; the app exchanges the code.
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", "recipes"),
        ("redirect_uri", REDIRECT),
        ("scope", "orders:read"),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let to_login = agent
        .send("GET", &format!("/authorize?{query}"), None, None)
        .await;
    let login = agent.send("GET", &to_login.location, None, None).await;
    let to_consent = agent
        .send(
            "POST",
            "/login",
            Some(&[
                ("request", &login.hidden("request")),
                ("csrf", &login.hidden("csrf")),
                ("username", "alice"),
                ("password", "a long passphrase"),
            ]),
            None,
        )
        .await;
    assert_eq!(to_consent.status, 303, "{}", to_consent.body);
    let screen = agent.send("GET", &to_consent.location, None, None).await;
    let to_app = agent
        .send(
            "POST",
            "/consent",
            Some(&[
                ("request", &screen.hidden("request")),
                ("csrf", &screen.hidden("csrf")),
                ("scope", "orders:read"),
                ("decision", "approve"),
            ]),
            None,
        )
        .await;
    let (_, query) = to_app.location.split_once('?').expect("a query");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let code = pairs
        .into_iter()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v)
        .expect("a code");
    let tokens = agent
        .send(
            "POST",
            "/token",
            Some(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "recipes"),
            ]),
            None,
        )
        .await
        .json();
    let access = tokens["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let api = agent.send("GET", "/orders", None, Some(&access)).await;
    assert_eq!(api.status, 200, "{}", api.body);

    // The user revokes it on the connected-apps page.
    let apps = agent.send("GET", "/apps", None, None).await;
    assert!(apps.body.contains("Recipes"));
    let revoked = agent
        .send(
            "POST",
            "/apps/revoke",
            Some(&[("csrf", &apps.hidden("csrf")), ("client_id", "recipes")]),
            None,
        )
        .await;
    assert_eq!(revoked.status, 303);

    // The refresh token fails at once.
    let refreshed = agent
        .send(
            "POST",
            "/token",
            Some(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "recipes"),
            ]),
            None,
        )
        .await;
    assert_eq!(refreshed.status, 400);
    assert_eq!(refreshed.json()["error"], "invalid_grant");

    // Once the 60 s bound has passed, the authorizer denies the access token: 401.
    clock.advance(Duration::from_secs(61));
    let api = agent.send("GET", "/orders", None, Some(&access)).await;
    assert_eq!(api.status, 401, "{}", api.body);
    let api = agent.send("GET", "/profile", None, Some(&access)).await;
    assert!(api.status == 401 || api.status == 403, "{}", api.body);
}
