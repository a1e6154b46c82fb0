//! Issue #14, security rule 16: every control over a user's account cuts every credential
//! resting on an earlier sign-in - the browser session, codes not yet redeemed, refresh
//! tokens, and (at the gateway) access tokens - through the same handlers, on both stores.

use lambda_http::http::StatusCode;
use std::time::Duration;
use xecure::domain::{Password, PasswordHash};
use xecure::oauth::account_control::AccountControl;
use xecure::ports::{Clock, OsRng, SystemClock};
use xecure_e2e::authorizer_container::{allowed, api_verdict, revoked};
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

const VERIFIER: &str = "user-controls-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
const SCOPE: &str = "profile:read orders:read";

/// What a user holds before the control: a signed-in browser, the app's tokens, and a code
/// the app has not redeemed yet.
struct Holdings {
    browser: Browser,
    access_token: String,
    refresh_token: String,
    unredeemed_code: String,
}

async fn holdings(system: &System) -> Holdings {
    let mut browser = Browser::default();
    let tokens = connect_app(system, &mut browser, SCOPE).await;
    // Consent is remembered: the signed-in browser gets a code without a page.
    let again = browser
        .get(system, &authorize_path(VERIFIER, &[("scope", SCOPE)]))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let code = again.code().expect("a code for the remembered consent");
    let access_token = text(&tokens, "access_token");
    assert!(allowed(
        &api_verdict(system.store.clone(), &access_token, "GET", "/orders").await
    ));
    Holdings {
        browser,
        access_token,
        refresh_token: text(&tokens, "refresh_token"),
        unredeemed_code: code,
    }
}

/// Every credential of `held` is refused: the session sends the browser to sign in, the
/// code and the refresh token are `invalid_grant`, the gateway answers 401 revoked.
async fn all_cut(system: &System, held: &mut Holdings) {
    let page = held
        .browser
        .get(system, &authorize_path(VERIFIER, &[("scope", SCOPE)]))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.local_location().starts_with("/login?"),
        "the old session must sign in again: {}",
        page.location()
    );
    let (status, answer) = redeem(system, &held.unredeemed_code, VERIFIER).await;
    assert_eq!(
        (status, text(&answer, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let (status, answer) = token_request(
        system,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &held.refresh_token),
        ],
    )
    .await;
    assert_eq!(
        (status, text(&answer, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let verdict = api_verdict(system.store.clone(), &held.access_token, "GET", "/orders").await;
    assert!(revoked(&verdict), "{verdict:?}");
}

/// A user revocation stops tokens issued up to its second (JWT `iat` has whole seconds):
/// a sign-in right after a control waits for the next second, as a person always does.
async fn next_second() {
    let millis = u64::try_from(SystemClock.now().as_millis() % 1000).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(1001 - millis)).await;
}

/// Signs in afresh (new browser) with `password` and connects the app: the new tokens work.
async fn fresh_sign_in_works(system: &System, password: &str) {
    next_second().await;
    let mut browser = Browser::default();
    let start = browser
        .get(system, &authorize_path(VERIFIER, &[("scope", SCOPE)]))
        .await;
    let login = browser.get(system, &start.local_location()).await;
    let done = browser.log_in(system, &login, USERNAME, password).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // Consents outlive user controls: the screen is skipped for the app the user approved.
    let next = browser.get(system, &done.local_location()).await;
    let back = if next.status == StatusCode::OK {
        browser.approve(system, &next, SCOPE).await
    } else {
        next
    };
    let code = back.code().expect("a code after a fresh sign-in");
    let (status, tokens) = redeem(system, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let verdict = api_verdict(
        system.store.clone(),
        &text(&tokens, "access_token"),
        "GET",
        "/orders",
    )
    .await;
    assert!(allowed(&verdict), "{verdict:?}");
}

/// The password is refused on the login page (the same answer as a wrong one).
async fn sign_in_refused(system: &System, password: &str) {
    let mut browser = Browser::default();
    let start = browser
        .get(system, &authorize_path(VERIFIER, &[("scope", SCOPE)]))
        .await;
    let login = browser.get(system, &start.local_location()).await;
    let done = browser.log_in(system, &login, USERNAME, password).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(
        done.body.contains("The username or password is incorrect."),
        "{}",
        done.body
    );
}

async fn disabling_a_user(system: System) {
    let mut held = holdings(&system).await;
    let user = system
        .control_user(USERNAME, &AccountControl::Disable)
        .await;
    assert!(user.disabled);
    all_cut(&system, &mut held).await;
    sign_in_refused(&system, PASSWORD).await;
    // Enabled again: they may sign in, but nothing the disable ended comes back.
    system.control_user(USERNAME, &AccountControl::Enable).await;
    all_cut(&system, &mut held).await;
    fresh_sign_in_works(&system, PASSWORD).await;
}
on_both_stores!(
    rule_16_disabling_a_user_ends_session_code_refresh_and_access_tokens,
    disabling_a_user
);

async fn changing_a_password(system: System) {
    let mut held = holdings(&system).await;
    let hash = PasswordHash::create(&Password::new("a brand new passphrase"), &OsRng).unwrap();
    system
        .control_user(USERNAME, &AccountControl::SetPassword(hash))
        .await;
    all_cut(&system, &mut held).await;
    sign_in_refused(&system, PASSWORD).await;
    fresh_sign_in_works(&system, "a brand new passphrase").await;
}
on_both_stores!(
    rule_16_a_new_password_ends_every_credential_of_earlier_sign_ins,
    changing_a_password
);

async fn signing_out_everywhere(system: System) {
    let mut held = holdings(&system).await;
    system
        .control_user(USERNAME, &AccountControl::SignOutEverywhere)
        .await;
    all_cut(&system, &mut held).await;
    fresh_sign_in_works(&system, PASSWORD).await;
}
on_both_stores!(
    rule_16_signing_out_everywhere_ends_every_session_and_token,
    signing_out_everywhere
);

async fn removing_a_user(system: System) {
    let mut held = holdings(&system).await;
    let context = xecure::audit::RequestContext::default();
    let username = xecure::domain::Username::parse(USERNAME).unwrap();
    assert!(system
        .operator(&context)
        .remove_user(&username)
        .await
        .unwrap());
    all_cut(&system, &mut held).await;
    sign_in_refused(&system, PASSWORD).await;
    assert!(
        !system
            .operator(&context)
            .remove_user(&username)
            .await
            .unwrap(),
        "removing twice finds nothing"
    );
}
on_both_stores!(
    rule_16_removing_a_user_ends_everything_and_signs_in_no_more,
    removing_a_user
);

async fn controls_are_audited(system: System) {
    let user = system
        .control_user(USERNAME, &AccountControl::Disable)
        .await;
    system
        .control_user(USERNAME, &AccountControl::Disable)
        .await;
    system.control_user(USERNAME, &AccountControl::Enable).await;
    let page = system
        .store
        .query_audit(
            &xecure::domain::AuditQuery {
                subject: xecure::domain::AuditSubject::User(user.id.clone()),
                from: xecure::domain::Timestamp::from_secs(0),
                to: SystemClock.now().plus(Duration::from_secs(60)),
                limit: 10,
                cursor: None,
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    let kinds: Vec<_> = page.events.iter().map(|e| e.kind).collect();
    use xecure::domain::AuditEventKind::{UserDisabled, UserEnabled};
    assert_eq!(
        kinds,
        [UserEnabled, UserDisabled],
        "disabling twice writes once"
    );
    let entries = system
        .store
        .list_revocations_since(xecure::domain::Timestamp::from_secs(0), SystemClock.now())
        .await
        .unwrap();
    assert_eq!(
        entries.len(),
        1,
        "one user entry: the second disable changed nothing"
    );
}
on_both_stores!(
    user_controls_are_audited_and_a_repeat_writes_nothing,
    controls_are_audited
);

/// A change decided on an earlier read of the account (the account page's password change,
/// checked against the current password) and an operator's reset landing between the check
/// and the write: the reset stands, the stale change writes nothing (rule 17).
async fn a_stale_change_loses_to_a_reset(system: System) {
    let name = xecure::domain::Username::parse(USERNAME).unwrap();
    let checked = system
        .store
        .get_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    let reset = "operator reset 7Hq-vLx2-99pR";
    let hash = |password: &str| PasswordHash::create(&Password::new(password), &OsRng).unwrap();
    system
        .control_user(USERNAME, &AccountControl::SetPassword(hash(reset)))
        .await;
    let context = xecure::audit::RequestContext::default();
    let stale = system
        .operator(&context)
        .control_user_as_read(
            &checked,
            &AccountControl::SetPassword(hash("the attacker's choice 4kW")),
        )
        .await
        .unwrap();
    assert!(stale.is_none(), "the change over a stale read is refused");
    let stored = system
        .store
        .get_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.verify(&Password::new(reset)));

    // Raced, repeated: four changes decided on the same read and the operator's reset, all
    // at once. At most one change over that read lands, and whatever the order the reset is
    // what stands (it re-reads and writes after any change; a change never writes after it).
    let reset_control = AccountControl::SetPassword(hash(reset));
    let attacker_control = AccountControl::SetPassword(hash("the attacker's choice 4kW"));
    for round in 0..20 {
        let checked = system
            .store
            .get_user_by_username(&name)
            .await
            .unwrap()
            .unwrap();
        let revoker = system.operator(&context);
        let change = || revoker.control_user_as_read(&checked, &attacker_control);
        let (_, a, b, c, d) = tokio::join!(
            system.control_user(USERNAME, &reset_control),
            change(),
            change(),
            change(),
            change(),
        );
        let landed = [a, b, c, d]
            .into_iter()
            .filter(|outcome| outcome.as_ref().unwrap().is_some())
            .count();
        assert!(landed <= 1, "round {round}: {landed} changes over one read");
        let stored = system
            .store
            .get_user_by_username(&name)
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored.password_hash.verify(&Password::new(reset)),
            "round {round}: the reset stands"
        );
    }
}
on_both_stores!(
    rule_17_a_password_change_checked_before_a_reset_does_not_overwrite_it,
    a_stale_change_loses_to_a_reset
);
