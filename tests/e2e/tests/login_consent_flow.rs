//! Issue #3's walk: authorize -> login -> consent with partial approval -> redirect carrying
//! code, state and iss -> the code exchanged for a token limited to what was approved. Once
//! on the embedded store, once on DynamoDB and KMS (moto, started by `tests/run.sh`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::StatusCode;
use url::Url;
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-e2e-verifier";

fn authorize(scope: &str, state: &str) -> String {
    authorize_path(VERIFIER, &[("scope", scope), ("state", state)])
}

async fn walk(system: &System) {
    let mut browser = Browser::default();
    // 1. The app sends the browser to /authorize; not logged in: to the login page.
    let start = browser
        .get(
            system,
            &authorize("profile:read orders:read", "af0ifjsldkj"),
        )
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let login_path = start.local_location();
    assert!(login_path.starts_with("/login?request="), "{login_path}");

    // 2. The login page names the app (escaped) and sets a cookie for its CSRF token.
    let login = browser.get(system, &login_path).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("Photo Printing &#60;Co&#62;"));
    assert!(browser.cookie().is_some());
    let anonymous_cookie = browser.cookie().unwrap().to_owned();

    // 3. Credentials, then 303 to consent with a new session cookie.
    let logged_in = browser.log_in(system, &login, USERNAME, PASSWORD).await;
    assert_eq!(
        logged_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        logged_in.body
    );
    assert_ne!(
        browser.cookie().unwrap(),
        anonymous_cookie,
        "login rotates the cookie"
    );
    let consent_path = logged_in.local_location();
    assert!(consent_path.starts_with("/consent?request="));

    // 4. The consent screen lists both scopes in words.
    let screen = browser.get(system, &consent_path).await;
    assert_eq!(screen.status, StatusCode::OK, "{}", screen.body);
    assert!(screen.body.contains("See your name and email address"));
    assert!(screen
        .body
        .contains("See your orders and their delivery status"));

    // 5. Only orders:read approved: 303 to the app with code, state and iss.
    let decided = browser.approve(system, &screen, "orders:read").await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let back = Url::parse(decided.location()).unwrap();
    assert!(decided.location().starts_with(WEB_REDIRECT));
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("state").as_deref(), Some("af0ifjsldkj"));
    assert_eq!(get("iss").as_deref(), Some(ISSUER));
    let code = get("code").expect("a code");

    // 6. The app exchanges the code (with its PKCE verifier) for a token with orders:read only.
    let exchange = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
    ])
    .unwrap();
    let token = system
        .serve(
            lambda_http::http::Request::builder()
                .method("POST")
                .uri("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(lambda_http::Body::from(exchange))
                .unwrap(),
        )
        .await;
    assert_eq!(token.status(), StatusCode::OK);
    let lambda_http::Body::Text(text) = token.body() else {
        panic!("a JSON body")
    };
    let tokens: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(tokens["scope"], "orders:read");
    let payload = tokens["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["client_id"], WEB);

    // 7. Next time the same scope needs no screen: remembered consent, straight to the app.
    let again = browser
        .get(system, &authorize("orders:read", "second"))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.location().starts_with(WEB_REDIRECT));
    assert!(again.location().contains("code="));
    // ...but profile:read, which the user unticked, is asked for again.
    let wider = browser
        .get(system, &authorize("profile:read", "third"))
        .await;
    assert!(wider.local_location().starts_with("/consent?request="));
}

#[tokio::test]
async fn authorize_login_partial_consent_code_on_the_embedded_store() {
    walk(&System::embedded().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_login_partial_consent_code_on_dynamodb() {
    walk(&System::dynamodb().await).await;
}
