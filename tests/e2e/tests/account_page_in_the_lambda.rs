//! Issue #17 on AWS: the consent function serves `/account` without the account-writing port
//! (security rule 22: no function role writes ACCOUNT#). The page lists the user's sessions
//! and ends any of them; it shows no password form and no "Sign out everywhere", and both
//! forms, posted anyway, are refused and change nothing. Through the handlers, both stores.

use lambda_http::http::StatusCode;
use xecure_e2e::*;

/// The `session` reference of the browser's own session on its account `page`.
fn own_session(page: &Page) -> String {
    page.body
        .split("<li class=\"app session\">")
        .skip(1)
        .find(|line| line.contains("(this browser)"))
        .and_then(|line| line.split("name=\"session\" value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("this browser's session on the page: {}", page.body))
        .to_owned()
}

async fn sessions_yes_account_writes_no(system: System) {
    let mut first = Browser::signed_in_at(&system, "account").await;
    let mut second = Browser::signed_in_at(&system, "account").await;
    let page = second.get(&system, "/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"administered\""), "{}", page.body);
    assert!(!page.body.contains("/account/password"), "no password form");
    assert!(!page.body.contains("/account/sign-out-everywhere"));
    let csrf = page.hidden("csrf");

    // Refused before the current password is checked: wrong ones, more than a lockout
    // takes, count for nothing (rule 13's counters stay as they were).
    for _ in 0..8 {
        let fields = [
            ("csrf", csrf.as_str()),
            ("current", "a wrong guess of the password"),
            ("new", "a different long passphrase"),
        ];
        let answer = second.post(&system, "/account/password", &fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    }
    for refused in ["/account/password", "/account/sign-out-everywhere"] {
        let fields = [
            ("csrf", csrf.as_str()),
            ("current", PASSWORD),
            ("new", "a different long passphrase"),
        ];
        let answer = second.post(&system, refused, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{refused}: {}",
            answer.body
        );
        assert!(answer.body.contains("administrator"), "{}", answer.body);
    }
    // Nothing changed: both sessions stand, the password still signs in (no lockout).
    for browser in [&mut first, &mut second] {
        let still = browser.get(&system, "/account").await;
        assert_eq!(still.status, StatusCode::OK, "{}", still.body);
    }
    Browser::signed_in_at(&system, "account").await;

    // Ending the first browser's session from the second one.
    let first_session = own_session(&first.get(&system, "/account").await);
    let page = second.get(&system, "/account").await;
    let fields = [("csrf", page.hidden("csrf")), ("session", first_session)];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let ended = second.post(&system, "/account/sessions/end", &fields).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let gone = first.get(&system, "/account").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.local_location(), "/login?return=account");
}
xecure_e2e::on_both_stores!(
    the_lambda_account_page_ends_sessions_and_leaves_account_writes_to_the_operator,
    sessions_yes_account_writes_no
);
