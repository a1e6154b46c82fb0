//! The account page on `xecure serve`, over HTTP as a browser would use it: sessions listed
//! with their browser, one signed out, the password changed (current one required, the
//! policy applied, every other session ended), sign out everywhere, and `GET /logout`
//! asking before it signs out.

mod support;

use support::{exchange, first_cookie, header, hidden, sign_in_at, start, Server, SignIn, FORM};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

fn demo_password(printed: &[String]) -> String {
    printed
        .iter()
        .find_map(|line| line.split("password (shown once): ").nth(1))
        .unwrap()
        .to_owned()
}

/// Signs in on the login page that returns to the account page; the session cookie, or
/// the status of a refused sign-in.
fn sign_in(server: &Server, password: &str, agent: &str) -> Result<String, u16> {
    let address = &server.address;
    let SignIn { status, head, .. } = sign_in_at(
        address,
        "/login?return=account",
        "demo",
        password,
        &[("User-Agent", agent)],
    );
    if status != 303 {
        return Err(status);
    }
    assert_eq!(
        header(&head, "location"),
        Some(format!("http://{address}/account").as_str())
    );
    Ok(first_cookie(&head))
}

fn account(server: &Server, session: &str) -> (u16, String, String) {
    exchange(
        &server.address,
        "GET",
        "/account",
        &[("Cookie", session)],
        "",
    )
}

fn post(
    server: &Server,
    path: &str,
    session: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let body = serde_urlencoded::to_string(fields).unwrap();
    exchange(
        &server.address,
        "POST",
        path,
        &[("Cookie", session), FORM],
        &body,
    )
}

#[test]
fn the_account_page_lists_sessions_ends_one_and_changes_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    let password = demo_password(&printed);
    let laptop = sign_in(&server, &password, FIREFOX).unwrap();
    let phone = sign_in(&server, &password, CHROME).unwrap();

    let (status, _, page) = account(&server, &laptop);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Firefox on Linux</strong> (this browser)"),
        "{page}"
    );
    assert!(page.contains("Chrome on Windows</strong>"), "{page}");
    let csrf = hidden(&page, "csrf");

    // Sign the phone out from the laptop: the second session form is the phone's (newest
    // first).
    let phone_reference = page
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let (status, head, _) = post(
        &server,
        "/account/sessions/end",
        &laptop,
        &[("csrf", &csrf), ("session", &phone_reference)],
    );
    assert_eq!(status, 303);
    assert!(header(&head, "location")
        .unwrap()
        .ends_with("/account?done=session"));
    assert_eq!(
        account(&server, &phone).0,
        303,
        "the phone is signed out: to the login page"
    );
    let (_, _, page) = account(&server, &laptop);
    assert!(!page.contains("Chrome on Windows"), "{page}");

    // A forged form (no CSRF token) changes nothing.
    let (status, _, _) = post(
        &server,
        "/account/password",
        &laptop,
        &[("current", &password), ("new", "x")],
    );
    assert_eq!(status, 403);
    let tablet = sign_in(&server, &password, CHROME).unwrap();
    let wrong = post(
        &server,
        "/account/password",
        &laptop,
        &[
            ("csrf", &csrf),
            ("current", "not the password"),
            ("new", "violet staple orbit kettle"),
        ],
    );
    assert_eq!(wrong.0, 400);
    assert!(
        wrong.2.contains("The current password is not right."),
        "{}",
        wrong.2
    );
    let common = post(
        &server,
        "/account/password",
        &laptop,
        &[("csrf", &csrf), ("current", &password), ("new", "iloveyou")],
    );
    assert_eq!(common.0, 400);
    assert!(common.2.contains("most commonly used"), "{}", common.2);

    let (status, head, _) = post(
        &server,
        "/account/password",
        &laptop,
        &[
            ("csrf", &csrf),
            ("current", &password),
            ("new", "violet staple orbit kettle"),
        ],
    );
    assert_eq!(status, 303);
    assert!(header(&head, "location")
        .unwrap()
        .ends_with("/account?done=password"));
    let renewed = first_cookie(&head);
    assert_ne!(renewed, laptop);
    assert_eq!(
        account(&server, &laptop).0,
        303,
        "the old session of this browser ended"
    );
    assert_eq!(
        account(&server, &tablet).0,
        303,
        "every other session ended"
    );
    let (status, _, page) = exchange(
        &server.address,
        "GET",
        "/account?done=password",
        &[("Cookie", &renewed)],
        "",
    );
    assert_eq!(status, 200);
    assert!(page.contains("Your password is changed."), "{page}");
    assert_eq!(
        sign_in(&server, &password, FIREFOX),
        Err(200),
        "the old password is refused"
    );
    assert!(sign_in(&server, "violet staple orbit kettle", FIREFOX).is_ok());
}

#[test]
fn sign_out_everywhere_ends_every_session_and_get_logout_only_asks() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    let password = demo_password(&printed);
    let one = sign_in(&server, &password, FIREFOX).unwrap();
    let two = sign_in(&server, &password, CHROME).unwrap();

    // GET /logout signs nobody out: it shows the form that would.
    let (status, _, page) = exchange(&server.address, "GET", "/logout", &[("Cookie", &one)], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("<h1>Sign out?</h1>") && page.contains("method=\"post\""),
        "{page}"
    );
    assert_eq!(account(&server, &one).0, 200, "still signed in");

    let (_, _, page) = account(&server, &one);
    let csrf = hidden(&page, "csrf");
    let (status, head, _) = post(
        &server,
        "/account/sign-out-everywhere",
        &one,
        &[("csrf", &csrf)],
    );
    assert_eq!(status, 303);
    assert!(header(&head, "location").unwrap().ends_with("/logout"));
    assert_eq!(account(&server, &one).0, 303);
    assert_eq!(account(&server, &two).0, 303);
    let (_, _, page) = exchange(&server.address, "GET", "/logout", &[("Cookie", &one)], "");
    assert!(page.contains("You are signed out"), "{page}");
}
