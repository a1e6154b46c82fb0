//! Malformed and hostile requests against the login and consent pages, each with the answer
//! it must get: an RFC error code and a clear message, never a 500, never an open redirect,
//! and no change to what is stored (security rules 1, 2, 3, 6, 11, 12, 13 and 15).

use lambda_http::http::StatusCode;
use xecure::domain::{ClientId, Username};
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

const VERIFIER: &str = "hostile-requests-verifier-0123456789abcdefghijklmnop";

fn query(overrides: &[(&str, &str)]) -> String {
    authorize_path(VERIFIER, overrides)
}

/// The `error` a redirect to the client carries, after checking it is one and keeps state/iss.
fn redirected_error(page: &Page) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let url = url::Url::parse(page.location()).unwrap();
    assert!(
        page.location().starts_with(WEB_REDIRECT),
        "{}",
        page.location()
    );
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("s1"));
    assert_eq!(get("iss").as_deref(), Some(ISSUER));
    assert!(get("error_description").is_some());
    get("error").unwrap()
}

/// An error page: the given status, the RFC code shown, and no Location header at all.
fn error_page(page: &Page, status: StatusCode, code: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.headers.get("location").is_none(), "never a redirect");
    assert!(
        page.body.contains(&format!("<code>{code}</code>")),
        "{}",
        page.body
    );
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
}

/// Logs in and returns the consent page of a fresh request.
async fn to_consent(system: &System, browser: &mut Browser) -> Page {
    let start = browser.get(system, &query(&[])).await;
    let login = browser.get(system, &start.local_location()).await;
    let done = browser.log_in(system, &login, USERNAME, PASSWORD).await;
    browser.get(system, &done.local_location()).await
}

async fn no_grant(system: &System) -> bool {
    let user = system
        .store
        .get_user_by_username(&Username::parse(USERNAME).unwrap())
        .await
        .unwrap()
        .unwrap();
    system
        .store
        .get_grant(&user.id, &ClientId::parse(WEB).unwrap())
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn rule_1_and_2_a_redirect_uri_that_is_not_exactly_registered_gets_an_error_page() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    for redirect in [
        "https://photos.example/callback/",
        "https://photos.example/callback?next=evil",
        "https://photos.example/Callback",
        "https://photos.example.evil.test/callback",
        "http://photos.example/callback",
        "https://evil.test/callback",
        "javascript:alert(1)",
    ] {
        let page = browser
            .get(&system, &query(&[("redirect_uri", redirect)]))
            .await;
        error_page(&page, StatusCode::BAD_REQUEST, "invalid_request");
    }
    for client in ["unknown-app", "bad id!"] {
        let page = browser.get(&system, &query(&[("client_id", client)])).await;
        error_page(&page, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let page = browser.get(&system, &query(&[("redirect_uri", "")])).await;
    error_page(&page, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn rule_3_and_6_bad_requests_from_a_known_client_go_back_to_it_with_the_rfc_code() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge_method", "")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "admin:everything")], "invalid_scope"),
        (&[("scope", "orders:read \"quoted\"")], "invalid_scope"),
        (&[("prompt", "none")], "login_required"),
    ];
    for (overrides, expected) in cases {
        let page = browser.get(&system, &query(overrides)).await;
        assert_eq!(redirected_error(&page), expected, "{overrides:?}");
    }
}

#[tokio::test]
async fn rule_15_garbled_input_gets_an_error_page_not_a_500() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let repeated = format!("{}&client_id={WEB}", query(&[]));
    error_page(
        &browser.get(&system, &repeated).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let forged = browser.get(&system, "/login?request=forged-handle").await;
    error_page(&forged, StatusCode::BAD_REQUEST, "invalid_request");
    let empty = browser.get(&system, "/consent").await;
    error_page(&empty, StatusCode::BAD_REQUEST, "invalid_request");
    let long = format!("/login?request={}", "A".repeat(4000));
    error_page(
        &browser.get(&system, &long).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let put = lambda_http::http::Request::builder()
        .method("PUT")
        .uri("/authorize")
        .body(lambda_http::Body::Empty)
        .unwrap();
    assert_eq!(
        system.serve(put).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let json = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/consent")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from("{}"))
        .unwrap();
    assert_eq!(system.serve(json).await.status(), StatusCode::BAD_REQUEST);
    assert!(no_grant(&system).await);
}

#[tokio::test]
async fn rule_11_credentials_post_redirects_with_303() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let start = browser.get(&system, &query(&[])).await;
    let login = browser.get(&system, &start.local_location()).await;
    let logged_in = browser.log_in(&system, &login, USERNAME, PASSWORD).await;
    assert_eq!(
        logged_in.status,
        StatusCode::SEE_OTHER,
        "the login POST answers 303, so a reload never posts the password again"
    );
    let consent = browser.get(&system, &logged_in.local_location()).await;
    assert_eq!(consent.status, StatusCode::OK);
    let decided = browser
        .post(
            &system,
            "/consent",
            &[
                ("request", &consent.hidden("request")),
                ("csrf", &consent.hidden("csrf")),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(redirected_error(&decided), "access_denied");
}

#[tokio::test]
async fn rule_12_login_and_consent_forms_need_the_csrf_token_of_this_session() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let start = browser.get(&system, &query(&[])).await;
    let login = browser.get(&system, &start.local_location()).await;
    let handle = login.hidden("request");
    for csrf in ["", "forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let page = browser
            .post(
                &system,
                "/login",
                &[
                    ("request", &handle),
                    ("csrf", csrf),
                    ("username", USERNAME),
                    ("password", PASSWORD),
                ],
            )
            .await;
        error_page(&page, StatusCode::FORBIDDEN, "access_denied");
    }
    // A token taken from another browser's page does not fit this browser's cookie.
    let mut other = Browser::default();
    let other_login = other.get(&system, &start.local_location()).await;
    let page = browser
        .post(
            &system,
            "/login",
            &[
                ("request", &handle),
                ("csrf", &other_login.hidden("csrf")),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
        )
        .await;
    error_page(&page, StatusCode::FORBIDDEN, "access_denied");

    let consent = to_consent(&system, &mut browser).await;
    let request = consent.hidden("request");
    let page = browser
        .post(
            &system,
            "/consent",
            &[
                ("request", &request),
                ("scope", "orders:read"),
                ("decision", "approve"),
            ],
        )
        .await;
    error_page(&page, StatusCode::FORBIDDEN, "access_denied");
    // The pre-login CSRF token no longer works once the session cookie has rotated.
    let page = browser
        .post(
            &system,
            "/consent",
            &[
                ("request", &request),
                ("csrf", &login.hidden("csrf")),
                ("decision", "approve"),
                ("scope", "orders:read"),
            ],
        )
        .await;
    error_page(&page, StatusCode::FORBIDDEN, "access_denied");
    assert!(no_grant(&system).await, "nothing was granted");
    let headers = &consent.headers;
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("form-action 'self' https://photos.example"));
}

#[tokio::test]
async fn rule_13_wrong_password_and_unknown_user_look_the_same_and_lock_alike() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let start = browser.get(&system, &query(&[])).await;
    let login = browser.get(&system, &start.local_location()).await;
    let mut bodies = Vec::new();
    for username in [USERNAME, "nobody"] {
        let page = browser
            .log_in(&system, &login, username, "wrong password")
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("The username or password is incorrect."));
        bodies.push(page.body.replace(username, "NAME"));
    }
    assert_eq!(
        bodies[0], bodies[1],
        "no difference between the two failures"
    );
    let huge = "p".repeat(1_000_000);
    let page = browser.log_in(&system, &login, USERNAME, &huge).await;
    assert_eq!(page.status, StatusCode::OK, "refused like a wrong password");
    // The default limit is 5 failures per account: alice has 2, nobody 1 so far.
    for username in [
        USERNAME, USERNAME, USERNAME, "nobody", "nobody", "nobody", "nobody",
    ] {
        browser
            .log_in(&system, &login, username, "wrong password")
            .await;
    }
    for username in [USERNAME, "nobody"] {
        let page = browser.log_in(&system, &login, username, PASSWORD).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{username}");
        assert!(page.body.contains("Too many failed sign-in attempts"));
        assert!(page.headers.get("retry-after").is_some());
    }
}

#[tokio::test]
async fn a_decision_cannot_widen_the_request_or_be_replayed() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let consent = to_consent(&system, &mut browser).await;
    let fields = |scope: &'static str| {
        [
            ("request", consent.hidden("request")),
            ("csrf", consent.hidden("csrf")),
            ("scope", scope.to_owned()),
            ("decision", "approve".to_owned()),
        ]
    };
    let widened = fields("orders:write");
    let refs: Vec<(&str, &str)> = widened.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let page = browser.post(&system, "/consent", &refs).await;
    error_page(&page, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(no_grant(&system).await);
    let fine = fields("orders:read");
    let refs: Vec<(&str, &str)> = fine.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let first = browser.post(&system, "/consent", &refs).await;
    assert!(
        first.location().contains("code="),
        "still usable after the refusal"
    );
    let replay = browser.post(&system, "/consent", &refs).await;
    error_page(&replay, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn the_consent_page_without_a_session_goes_to_login() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let consent = to_consent(&system, &mut browser).await;
    let path = format!(
        "/consent?{}",
        serde_urlencoded::to_string([("request", consent.hidden("request"))]).unwrap()
    );
    browser.forget_cookie();
    let page = browser.get(&system, &path).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.local_location().starts_with("/login?request="));
}
