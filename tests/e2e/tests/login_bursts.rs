//! Security rules 13 and 17 under a race, through the authorize handler: a burst of parallel
//! wrong passwords checks at most the limit (5 per account and source), starts one lockout
//! (not one per failure), never answers 503, and the right password sent once the limit is
//! reached does not log in. Each property on the embedded store and on DynamoDB (moto),
//! repeated over several rounds.

use lambda_http::http::header::{CONTENT_TYPE, COOKIE};
use lambda_http::http::StatusCode;
use lambda_http::Body;
use std::sync::Arc;
use std::time::Duration;
use xecure::domain::*;
use xecure::ports::{OsRng, SystemClock};
use xecure::Clock;
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

const LIMIT: usize = 5;

async fn on_dynamodb() -> System {
    System::dynamodb().await
}

/// A user of its own for each round, so rounds do not share counters.
async fn new_user(system: &System, name: &str) -> User {
    let user = User::new(
        UserId::generate(&OsRng),
        Username::parse(name).unwrap(),
        PasswordHash::create(&Password::new(PASSWORD), &OsRng).unwrap(),
        SystemClock.now(),
    );
    system.store.create_user(&user).await.unwrap();
    user
}

/// The login form of a fresh authorization request: the browser's cookie and the form.
async fn login_form(system: &System) -> (String, Page) {
    let mut browser = Browser::default();
    let start = browser
        .get(
            system,
            &authorize_path("burst-verifier-0123456789-abcdefghijklmnop", &[]),
        )
        .await;
    let login = browser.get(system, &start.local_location()).await;
    (browser.cookie().unwrap().to_owned(), login)
}

/// Every password in `passwords` posted for `username` at once; the answers' statuses.
async fn burst(
    system: &Arc<System>,
    (cookie, login): &(String, Page),
    username: &str,
    passwords: &[&str],
) -> Vec<StatusCode> {
    let tasks: Vec<_> = passwords
        .iter()
        .map(|password| {
            let fields = [
                ("request", login.hidden("request")),
                ("csrf", login.hidden("csrf")),
                ("username", username.to_owned()),
                ("password", (*password).to_owned()),
            ];
            let request = lambda_http::http::Request::builder()
                .method("POST")
                .uri("/login")
                .header(COOKIE, format!("xecure_session={cookie}"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
                .unwrap();
            let system = Arc::clone(system);
            tokio::spawn(async move { system.serve(request).await.status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

/// How many checks failed, lockouts started and logins succeeded for `user` (audit trail).
async fn audited(system: &System, user: &User) -> (usize, usize, usize) {
    let now = SystemClock.now();
    let query = AuditQuery {
        subject: AuditSubject::User(user.id.clone()),
        from: now.minus(Duration::from_secs(3600)),
        to: now.plus(Duration::from_secs(3600)),
        limit: 1000,
        cursor: None,
    };
    let events = system.store.query_audit(&query, now).await.unwrap().events;
    let count = |kind: AuditEventKind, started: bool| {
        events
            .iter()
            .filter(|e| e.kind == kind && e.detail.contains_key("locked_until") == started)
            .count()
    };
    (
        count(AuditEventKind::LoginFailed, false),
        count(AuditEventKind::LoginLocked, true),
        count(AuditEventKind::LoginSucceeded, false),
    )
}

async fn parallel_failures_check_at_most_the_limit(system: System) {
    let system = Arc::new(system);
    for round in 0..3 {
        let user = new_user(&system, &format!("burst{round}")).await;
        let form = login_form(&system).await;
        let statuses = burst(&system, &form, user.username.as_str(), &["wrong"; 30]).await;
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(
            statuses
                .iter()
                .all(|s| [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(s)),
            "round {round}: only 'incorrect' and 'locked out', never a 503: {statuses:?}"
        );
        // Four failures answer "incorrect"; the fifth starts the lockout and says so.
        assert_eq!(refused, 30 - (LIMIT - 1), "round {round}: {statuses:?}");
        assert_eq!(
            audited(&system, &user).await,
            (LIMIT, 1, 0),
            "round {round}: five passwords checked, one lockout started"
        );
    }
}

async fn the_right_password_after_the_limit_does_not_log_in(system: System) {
    let system = Arc::new(system);
    for round in 0..3 {
        let user = new_user(&system, &format!("late{round}")).await;
        let form = login_form(&system).await;
        let first = burst(&system, &form, user.username.as_str(), &["wrong"; LIMIT]).await;
        let incorrect = first.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(
            incorrect,
            LIMIT - 1,
            "round {round}: all checked, the last locks: {first:?}"
        );
        let mut passwords = vec!["wrong"; 9];
        passwords.insert(round * 3, PASSWORD);
        let second = burst(&system, &form, user.username.as_str(), &passwords).await;
        assert!(
            second.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
            "round {round}: {second:?}"
        );
        assert_eq!(
            audited(&system, &user).await,
            (LIMIT, 1, 0),
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rule_17_parallel_failures_check_at_most_the_limit_on_the_embedded_store() {
    parallel_failures_check_at_most_the_limit(System::embedded().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rule_17_parallel_failures_check_at_most_the_limit_on_dynamodb() {
    parallel_failures_check_at_most_the_limit(on_dynamodb().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rule_13_the_right_password_after_the_limit_does_not_log_in_on_the_embedded_store() {
    the_right_password_after_the_limit_does_not_log_in(System::embedded().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rule_13_the_right_password_after_the_limit_does_not_log_in_on_dynamodb() {
    the_right_password_after_the_limit_does_not_log_in(on_dynamodb().await).await;
}
