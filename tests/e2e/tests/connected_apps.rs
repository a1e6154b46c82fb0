//! Issue #9: the user's connected-apps page and its JSON API. A login that is not tied to an
//! authorization request returns to the page; revoking an app stops its refresh token at
//! once, is audited, and the app must ask for consent again.

use lambda_http::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use lambda_http::http::StatusCode;
use serde_json::Value;
use xecure::domain::{AuditEventKind, AuditQuery, AuditSubject, Timestamp, Username};
use xecure::ports::Clock;
use xecure::ports::SystemClock;
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

#[tokio::test]
async fn the_apps_page_logs_in_and_comes_back() {
    let system = System::embedded().await;
    let mut anonymous = Browser::default();
    let login = anonymous.get(&system, "/login?return=apps").await;
    assert!(login.body.contains("apps connected to your account"));
    let mut browser = Browser::signed_in_at(&system, "apps").await;
    let page = browser.get(&system, "/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No app has access to your account."));
}

#[tokio::test]
async fn a_login_returns_only_to_a_page_the_server_names() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    for hostile in [
        "/login?return=https%3A%2F%2Fevil.example%2F",
        "/login?return=%2F%2Fevil.example",
        "/login?return=/apps",
        "/login",
        "/login?return=apps&request=x",
    ] {
        let page = browser.get(&system, hostile).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{hostile}");
        assert!(page.headers.get(LOCATION).is_none(), "{hostile}");
    }
}

#[tokio::test]
async fn the_page_lists_the_app_and_revoking_it_stops_its_tokens() {
    let system = System::embedded().await;
    let mut browser = Browser::signed_in_at(&system, "apps").await;
    let before = SystemClock.now();
    let tokens = connect_app(&system, &mut browser, "profile:read orders:read").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The app by name (escaped), its scopes in words, when granted and last used.
    let page = browser.get(&system, "/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Photo Printing &#60;Co&#62;"));
    assert!(page.body.contains("See your name and email address"));
    assert!(page
        .body
        .contains("See your orders and their delivery status"));
    // The day it was granted: the day the test began, or the next if it ran over midnight UTC.
    let after = SystemClock.now();
    let granted_on = |at: Timestamp| format!("Access granted {}", &at.human_utc()[..10]);
    assert!(
        page.body.contains(&granted_on(before)) || page.body.contains(&granted_on(after)),
        "{}",
        page.body
    );
    assert!(page.body.contains("last used "));
    assert_eq!(page.hidden("client_id"), WEB);

    // Revoke: 303 back to the page, which no longer lists it.
    let revoked = browser
        .post(
            &system,
            "/apps/revoke",
            &[("csrf", &page.hidden("csrf")), ("client_id", WEB)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.local_location(), "/apps?revoked=1");
    let after = browser.get(&system, "/apps?revoked=1").await;
    assert!(after.body.contains("Access revoked."));
    assert!(after.body.contains("No app has access to your account."));

    // Its refresh token fails at once.
    let (status, answer) = token_request(
        &system,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");

    // Audited.
    let user = system
        .store
        .get_user_by_username(&Username::parse(USERNAME).unwrap())
        .await
        .unwrap()
        .unwrap();
    let page = system
        .store
        .query_audit(
            &AuditQuery {
                subject: AuditSubject::User(user.id.clone()),
                from: Timestamp::from_secs(0),
                to: SystemClock.now().plus(std::time::Duration::from_secs(60)),
                limit: 50,
                cursor: None,
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    let event = page
        .events
        .iter()
        .find(|e| e.kind == AuditEventKind::ConsentRevoked)
        .expect("a consent_revoked record");
    assert_eq!(event.client_id.as_ref().map(|c| c.as_str()), Some(WEB));
    assert_eq!(event.detail.get("by").map(String::as_str), Some("user"));

    // Authorizing the app again shows the consent screen again.
    let again = browser
        .get(&system, &authorize_path("v", &[("scope", "profile:read")]))
        .await;
    assert!(
        again.local_location().starts_with("/consent?request="),
        "{}",
        again.location()
    );
}

#[tokio::test]
async fn rule_11_the_revoke_form_answers_303() {
    let system = System::embedded().await;
    let mut browser = Browser::signed_in_at(&system, "apps").await;
    connect_app(&system, &mut browser, "profile:read").await;
    let page = browser.get(&system, "/apps").await;
    let revoked = browser
        .post(
            &system,
            "/apps/revoke",
            &[("csrf", &page.hidden("csrf")), ("client_id", WEB)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn rule_12_the_revoke_form_needs_the_csrf_token_of_the_session() {
    let system = System::embedded().await;
    let mut browser = Browser::signed_in_at(&system, "apps").await;
    connect_app(&system, &mut browser, "profile:read").await;
    let page = browser.get(&system, "/apps").await;
    let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    for csrf in ["", "forged", &page.hidden("csrf")[1..]] {
        let refused = browser
            .post(
                &system,
                "/apps/revoke",
                &[("csrf", csrf), ("client_id", WEB)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    // Another browser's (valid) token does not work with this session either.
    let other = Browser::signed_in_at(&system, "apps").await;
    let mut other = other;
    let other_page = other.get(&system, "/apps").await;
    let refused = browser
        .post(
            &system,
            "/apps/revoke",
            &[("csrf", &other_page.hidden("csrf")), ("client_id", WEB)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let still = browser.get(&system, "/apps").await;
    assert_eq!(still.hidden("client_id"), WEB, "nothing was revoked");
}

#[tokio::test]
async fn the_json_api_lists_and_revokes_with_the_session() {
    let system = System::embedded().await;
    let mut anonymous = Browser::default();
    let refused = anonymous.get(&system, "/api/apps").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("login_required"));
    let refused = anonymous
        .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let mut browser = Browser::signed_in_at(&system, "apps").await;
    connect_app(&system, &mut browser, "orders:read").await;
    let listed = browser.get(&system, "/api/apps").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.headers["cache-control"], "no-store");
    let json: Value = serde_json::from_str(&listed.body).unwrap();
    let app = &json["apps"][0];
    assert_eq!(app["client_id"], WEB);
    assert_eq!(app["client_name"], "Photo Printing <Co>");
    assert_eq!(app["scopes"][0]["name"], "orders:read");
    assert_eq!(
        app["scopes"][0]["description"],
        "See your orders and their delivery status"
    );
    assert!(app["granted_at"].as_str().unwrap().ends_with('Z'));
    assert!(app["last_used_at"].as_str().unwrap().ends_with('Z'));

    let bad = browser.call(&system, "DELETE", "/api/apps/a%23b").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let deleted = browser
        .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let again = browser
        .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let listed = browser.get(&system, "/api/apps").await;
    let json: Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(json["apps"], serde_json::json!([]));
}

#[tokio::test]
async fn rule_11_and_12_signing_out_needs_the_csrf_token_ends_the_session_and_answers_303() {
    let system = System::embedded().await;
    let mut browser = Browser::signed_in_at(&system, "apps").await;
    let page = browser.get(&system, "/apps").await;
    assert!(page.body.contains("Sign out"));
    let csrf = page.hidden("csrf");
    let session = browser.cookie().unwrap().to_owned();

    // Rule 12: without the token of this session, the form is refused and nothing ends.
    let forged = browser
        .post(&system, "/logout", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(browser.get(&system, "/apps").await.status, StatusCode::OK);

    // Rule 11: 303 to the signed-out page, the cookie cleared.
    let out = browser.post(&system, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.local_location(), "/logout");
    let cleared = out.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let said = browser.get(&system, "/logout").await;
    assert_eq!(said.status, StatusCode::OK);
    assert!(said.body.contains("You are signed out"));

    // A copy of the old cookie opens nothing: the session itself is gone.
    let mut thief = Browser::default();
    thief.set_cookie(&session);
    assert_eq!(
        thief.get(&system, "/apps").await.local_location(),
        "/login?return=apps"
    );
    let user = system
        .store
        .get_user_by_username(&Username::parse(USERNAME).unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = SystemClock.now().plus(std::time::Duration::from_secs(1));
    let records = system
        .store
        .query_audit(
            &AuditQuery {
                subject: AuditSubject::User(user.id),
                from: Timestamp::from_secs(0),
                to: now,
                limit: 10,
                cursor: None,
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(records.events[0].kind, AuditEventKind::Logout);
    assert!(!serde_json::to_string(&records.events[0])
        .unwrap()
        .contains(&session));
}
