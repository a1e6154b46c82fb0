//! Issue #14: a user's consent is the authority for every token of an app, also under races
//! (security rules 16 and 17). Taking scopes back takes them from the refresh token and the
//! access tokens; a revocation always wins over an approval that was on screen; concurrent
//! approvals converge on one grant. Through the handlers, on both stores.

use lambda_http::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use xecure::domain::{ClientId, UserId, Username};
use xecure_e2e::authorizer_container::{allowed, api_verdict, revoked};
use xecure_e2e::browser::{authorize_path, Page};
use xecure_e2e::*;

const VERIFIER: &str = "consent-controls-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
const ALL: &str = "profile:read orders:read orders:write";

/// The consent screen for `scope`, asked for again even if remembered (`prompt=consent`).
async fn screen(system: &System, browser: &mut Browser, scope: &str) -> Page {
    let start = browser
        .get(
            system,
            &authorize_path(VERIFIER, &[("scope", scope), ("prompt", "consent")]),
        )
        .await;
    assert!(
        start.local_location().starts_with("/consent?"),
        "{}",
        start.location()
    );
    let page = browser.get(system, &start.local_location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

async fn user_id(system: &System) -> UserId {
    let name = Username::parse(USERNAME).unwrap();
    system
        .store
        .get_user_by_username(&name)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn refresh(system: &System, token: &str) -> (StatusCode, Value) {
    token_request(
        system,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn narrowing_consent(system: System) {
    let mut browser = Browser::default();
    let before = connect_app(&system, &mut browser, ALL).await;
    let old_access = text(&before, "access_token");
    let old_refresh = text(&before, "refresh_token");
    // The user asks to see the screen again and unticks orders:write.
    let page = screen(&system, &mut browser, ALL).await;
    let back = browser
        .approve(&system, &page, "profile:read orders:read")
        .await;
    let (status, after) = redeem(&system, &back.code().expect("a code"), VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["scope"], "orders:read profile:read");

    // The app's old refresh token is ended: its family began under the wider consent, and
    // must not mint orders:write again, even if the user grants it again later.
    let (status, refused) = refresh(&system, &old_refresh).await;
    assert_eq!(
        (status, text(&refused, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // The new consent's tokens carry what it allows and refresh as usual...
    let (status, refreshed) = refresh(&system, &text(&after, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "orders:read profile:read");
    let fresh = text(&refreshed, "access_token");
    let store = system.store.clone();
    assert!(allowed(
        &api_verdict(store.clone(), &fresh, "GET", "/orders").await
    ));
    assert!(!allowed(
        &api_verdict(store.clone(), &fresh, "POST", "/orders").await
    ));
    // ...and the access token that carries the scope taken back is stopped at the gateway.
    let old = api_verdict(store.clone(), &old_access, "GET", "/orders").await;
    assert!(revoked(&old), "{old:?}");

    // Granting orders:write again later: new credentials carry it; the old ones stay ended.
    let page = screen(&system, &mut browser, ALL).await;
    let back = browser.approve(&system, &page, ALL).await;
    let (status, wide_again) = redeem(&system, &back.code().expect("a code"), VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{wide_again}");
    assert_eq!(wide_again["scope"], "orders:read orders:write profile:read");
    let (status, _) = refresh(&system, &old_refresh).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old family stays ended"
    );
    assert!(revoked(
        &api_verdict(store, &old_access, "GET", "/orders").await
    ));
}
on_both_stores!(
    rule_16_narrowing_consent_takes_the_scope_from_refresh_and_access_tokens,
    narrowing_consent
);

/// The same browser session, sent by a second tab.
fn second_tab(browser: &Browser) -> Browser {
    let mut tab = Browser::default();
    tab.set_cookie(browser.cookie().expect("a signed-in browser"));
    tab
}

async fn revocation_racing_approval(system: System) {
    let system = Arc::new(system);
    let mut browser = Browser::default();
    connect_app(&system, &mut browser, ALL).await;
    let user = user_id(&system).await;
    let client = ClientId::parse(WEB).unwrap();
    let (mut refused, mut dead_codes) = (0, 0);
    for round in 0..20 {
        let page = screen(&system, &mut browser, ALL).await;
        let (approve_system, revoke_system) = (Arc::clone(&system), Arc::clone(&system));
        let mut tab = second_tab(&browser);
        let mut approving = second_tab(&browser);
        let approval =
            tokio::spawn(async move { approving.approve(&approve_system, &page, ALL).await });
        let revocation = tokio::spawn(async move {
            tab.call(&revoke_system, "DELETE", &format!("/api/apps/{WEB}"))
                .await
        });
        let (approval, revocation) = (approval.await.unwrap(), revocation.await.unwrap());
        assert_eq!(revocation.status, StatusCode::NO_CONTENT, "round {round}");
        let grant = system
            .store
            .get_grant(&user, &client)
            .await
            .unwrap()
            .unwrap();
        assert!(
            grant.revoked_at.is_some(),
            "round {round}: the revocation won"
        );
        if let Some(code) = approval.code() {
            let (status, answer) = redeem(&system, &code, VERIFIER).await;
            assert_eq!(
                (status, text(&answer, "error")),
                (StatusCode::BAD_REQUEST, "invalid_grant".into()),
                "round {round}"
            );
            dead_codes += 1;
        } else {
            refused += 1;
            assert_eq!(approval.status, StatusCode::FORBIDDEN, "round {round}");
            assert!(
                approval.body.contains("withdrawn while you were deciding"),
                "round {round}: {}",
                approval.body
            );
        }
        // The next round starts from an active grant again.
        tokio::time::sleep(Duration::from_millis(5)).await;
        connect_app(&system, &mut browser, ALL).await;
    }
    // Which side landed first varies from run to run; both end revoked.
    eprintln!("approval refused in {refused} rounds, its code dead in {dead_codes}");
}
on_both_stores!(
    rule_17_a_revocation_always_wins_over_an_approval_on_screen,
    revocation_racing_approval
);

async fn concurrent_first_approvals(system: System) {
    let system = Arc::new(system);
    let mut browser = Browser::default();
    connect_app(&system, &mut browser, ALL).await;
    for round in 0..10 {
        let revoked_first = browser
            .call(&system, "DELETE", &format!("/api/apps/{WEB}"))
            .await;
        assert_eq!(revoked_first.status, StatusCode::NO_CONTENT);
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Two tabs, two requests for different scopes, approved at once.
        let first = screen(&system, &mut browser, "profile:read").await;
        let second = screen(&system, &mut browser, "orders:read").await;
        let approvals: Vec<_> = [(first, "profile:read"), (second, "orders:read")]
            .into_iter()
            .map(|(page, scope)| {
                let (system, mut tab) = (Arc::clone(&system), second_tab(&browser));
                tokio::spawn(async move { tab.approve(&system, &page, scope).await })
            })
            .collect();
        let mut grant_ids = Vec::new();
        for approval in approvals {
            let page = approval.await.unwrap();
            let code = page
                .code()
                .unwrap_or_else(|| panic!("round {round}: {}", page.body));
            let (status, tokens) = redeem(&system, &code, VERIFIER).await;
            assert_eq!(status, StatusCode::OK, "round {round}: {tokens}");
            let claims = jwt_claims(&text(&tokens, "access_token"));
            grant_ids.push(claims["gid"].clone());
        }
        assert_eq!(grant_ids[0], grant_ids[1], "round {round}: one grant");
        let grant = system
            .store
            .get_grant(&user_id(&system).await, &ClientId::parse(WEB).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            grant.scope.to_string(),
            "orders:read profile:read",
            "round {round}"
        );
    }
}
on_both_stores!(
    rule_17_concurrent_first_approvals_converge_on_one_grant,
    concurrent_first_approvals
);

fn jwt_claims(jwt: &str) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}
