//! Security rule 10 for the diagnostic logs: every `tracing` event the functions emit during a
//! whole walk (login with a wrong then the right password, consent, code exchange, refresh,
//! revocation, introspection, a failed client authentication, a registration) is captured at
//! the most verbose level, and none holds a password, secret, code, PKCE verifier, CSRF token,
//! request handle, token or cookie.
//! (The audit records and lines are checked by tests/audit_trail.rs.)

use lambda_http::http::StatusCode;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xecure_e2e::registration::{call, initial_access_token};
use xecure_e2e::*;

/// Everything every subscriber-level event writes, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_10_no_secret_reaches_the_diagnostic_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    // Global, so events from every thread (blocking store calls included) are captured.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    tracing::info!("capturing");

    let system = System::embedded().await;
    let mut browser = Browser::default();
    let start = browser
        .get(
            &system,
            &xecure_e2e::browser::authorize_path("v".repeat(43).as_str(), &[]),
        )
        .await;
    let login = browser.get(&system, &start.local_location()).await;
    let wrong = browser
        .log_in(&system, &login, USERNAME, "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    let walk = connection(&system, &mut browser, "profile:read orders:read").await;
    let tokens = &walk.tokens;
    let (access, refresh) = (text(tokens, "access_token"), text(tokens, "refresh_token"));
    let (status, refreshed) = token_request(
        &system,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_refresh = text(&refreshed, "refresh_token");
    system.app_posts("/introspect", &[("token", &access)]).await;
    system
        .app_posts("/revoke", &[("token", &new_refresh)])
        .await;
    let bad_client = system
        .serve(
            lambda_http::http::Request::builder()
                .method("POST")
                .uri("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(lambda_http::Body::from(format!(
                    "grant_type=client_credentials&client_id={WEB}&client_secret=a-guessed-secret-0123456789"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(bad_client.status(), StatusCode::UNAUTHORIZED);
    let initial_access_token = initial_access_token(&system, Duration::from_secs(3600)).await;
    let machine = json!({
        "client_name": "Nightly Export",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "scope": "orders:read",
    });
    let (status, created, _) = call(
        &system,
        "POST",
        "/register",
        Some(&initial_access_token),
        Some(&machine),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("capturing"), "the capture works");
    let cookie = browser.cookie().unwrap().to_owned();
    for (what, secret) in [
        ("password", PASSWORD.to_owned()),
        ("wrong password", "not the password at all".to_owned()),
        ("client secret", WEB_SECRET.to_owned()),
        ("guessed secret", "a-guessed-secret-0123456789".to_owned()),
        ("access token", access.clone()),
        (
            "access token signature",
            access.rsplit('.').next().unwrap().to_owned(),
        ),
        ("refresh token", refresh),
        ("rotated refresh token", new_refresh),
        ("session cookie", cookie),
        ("consent request handle", walk.request),
        ("CSRF token", walk.csrf),
        ("authorization code", walk.code),
        ("PKCE verifier", walk.verifier),
        ("initial access token", initial_access_token),
        ("registered client secret", text(&created, "client_secret")),
        (
            "registration access token",
            text(&created, "registration_access_token"),
        ),
    ] {
        assert!(!logs.contains(&secret), "the {what} is in the logs");
    }
}
