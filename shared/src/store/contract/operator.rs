//! Contract properties behind the operator's and the account page's views: every account
//! listed by username, a user's live sessions newest first (gone with their deletion), every
//! audit record of a time range across days whoever it concerns, and login counters read and
//! forgotten (`xecure user unlock`).

use super::{at, audit_event, user, user_id, T0};
use crate::domain::*;
use crate::ports::{LoginAdmission, Store};
use std::sync::Arc;
use std::time::Duration;

pub async fn users_are_listed_by_username<S: Store>(store: Arc<S>) {
    for name in ["carol", "alice", "bob"] {
        store.create_user(&user(name)).await.unwrap();
    }
    let names = |users: Vec<User>| -> Vec<String> {
        users.iter().map(|u| u.username.to_string()).collect()
    };
    assert_eq!(
        names(store.list_users().await.unwrap()),
        ["alice", "bob", "carol"]
    );
    let bob = store
        .get_user_by_username(&Username::parse("bob").unwrap())
        .await
        .unwrap()
        .unwrap();
    let cut =
        crate::store::contract::stamp("evt_rm", T0).revoke(RevocationTarget::User(bob.id.clone()));
    assert!(store.delete_user(&bob, &cut).await.unwrap());
    assert_eq!(names(store.list_users().await.unwrap()), ["alice", "carol"]);
}

fn session(cookie: &str, user: &str, created: Timestamp, lives: Duration) -> LoginSession {
    LoginSession {
        digest: TokenDigest::of(cookie),
        user_id: user_id(user),
        username: Username::parse(user.trim_start_matches("usr_")).unwrap(),
        authenticated_at: created,
        created_at: created,
        expires_at: created.plus(lives),
        source_ip: Some("198.51.100.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into()),
    }
}

pub async fn a_users_sessions_are_listed_newest_first_until_deleted<S: Store>(store: Arc<S>) {
    let hour = Duration::from_secs(3600);
    let older = session("cookie-1", "usr_alice", at(10), hour);
    let newer = session("cookie-2", "usr_alice", at(20), hour);
    let newest = session("cookie-3", "usr_alice", at(30), hour);
    let expired = session("cookie-4", "usr_alice", at(40), Duration::from_secs(5));
    let bobs = session("cookie-5", "usr_bob", at(50), hour);
    for s in [&older, &newer, &newest, &expired, &bobs] {
        store.put_session(s).await.unwrap();
    }
    let now = at(60);
    let listed = store
        .list_user_sessions(&user_id("usr_alice"), now, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![newest.clone(), newer.clone(), older.clone()]);
    let first_two = store
        .list_user_sessions(&user_id("usr_alice"), now, 2)
        .await
        .unwrap();
    assert_eq!(first_two, vec![newest.clone(), newer.clone()]);
    store.delete_session(&newer.digest).await.unwrap();
    assert_eq!(
        store
            .list_user_sessions(&user_id("usr_alice"), now, 10)
            .await
            .unwrap(),
        vec![newest, older]
    );
    assert_eq!(
        store
            .list_user_sessions(&user_id("usr_bob"), now, 10)
            .await
            .unwrap(),
        vec![bobs]
    );
}

pub async fn every_audit_record_of_a_range_is_found_across_days<S: Store>(store: Arc<S>) {
    let day = 86_400;
    let retained = at(10 * day);
    // Three days, subjects or none (a failed login of a username that does not exist).
    let records = [
        (1, Some("usr_alice"), Some("a"), at(100)),
        (2, None, None, at(200)),
        (3, None, Some("b"), at(day + 100)),
        (4, Some("usr_bob"), None, at(day + 200)),
        (5, None, None, at(2 * day + 100)),
        (6, Some("usr_alice"), None, at(2 * day + 100)),
        (7, None, None, at(3 * day + 100)),
    ];
    for (n, user, client, when) in records {
        store
            .append_audit(&audit_event(n, user, client, when, retained))
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let query = AuditQuery {
            subject: AuditSubject::All,
            from: at(150),
            to: at(3 * day),
            limit: 2,
            cursor,
        };
        let page = store.query_audit(&query, at(3 * day)).await.unwrap();
        pages.push(
            page.events
                .iter()
                .map(|e| e.id.to_string())
                .collect::<Vec<_>>(),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "pagination must end");
    }
    assert_eq!(
        pages.concat(),
        ["evt_0006", "evt_0005", "evt_0004", "evt_0003", "evt_0002"],
        "newest first across days and shards, ties by id, within [from, to)"
    );
    assert_eq!(pages[0].len(), 2);
}

pub async fn login_counters_are_read_and_forgotten<S: Store>(store: Arc<S>) {
    let policy = LoginPolicy {
        max_account_failures: 2,
        ..LoginPolicy::default()
    };
    let name = Username::parse("dora").unwrap();
    let keys = vec![
        ThrottleKey::AccountFromSource(name.clone(), "192.0.2.9".into()),
        ThrottleKey::Account(name),
    ];
    for _ in 0..2 {
        let LoginAdmission::Granted(reserved) = store
            .reserve_login_attempt(&keys, &policy, at(1))
            .await
            .unwrap()
        else {
            panic!("the first two attempts are granted");
        };
        store
            .login_attempt_failed(&reserved, &policy, at(1))
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .reserve_login_attempt(&keys, &policy, at(2))
            .await
            .unwrap(),
        LoginAdmission::Refused { .. }
    ));
    let counters = store.login_throttles(&keys, at(2)).await.unwrap();
    assert_eq!(counters.len(), 2);
    assert!(counters.iter().any(|c| c.locked_until.is_some()));
    assert_eq!(store.forget_login_attempts(&keys).await.unwrap(), 2);
    assert_eq!(store.forget_login_attempts(&keys).await.unwrap(), 0);
    assert!(store
        .login_throttles(&keys, at(2))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store
            .reserve_login_attempt(&keys, &policy, at(3))
            .await
            .unwrap(),
        LoginAdmission::Granted(_)
    ));
}
