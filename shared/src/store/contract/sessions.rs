//! Contract properties of the login sessions (`SessionStore`): hidden once expired, a user's
//! live sessions listed newest first, gone with their deletion.

use super::{at, user_id, T0};
use crate::domain::*;
use crate::ports::Store;
use std::sync::Arc;
use std::time::Duration;

pub async fn sessions_expire<S: Store>(store: Arc<S>) {
    let session = LoginSession {
        digest: TokenDigest::of("cookie"),
        user_id: user_id("usr_alice"),
        username: Username::parse("alice").unwrap(),
        authenticated_at: T0,
        created_at: T0,
        expires_at: at(3600),
        source_ip: None,
        user_agent: None,
    };
    store.put_session(&session).await.unwrap();
    assert_eq!(
        store.get_session(&session.digest, at(3599)).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.get_session(&session.digest, at(3600)).await.unwrap(),
        None,
        "expired sessions are hidden"
    );
    store.delete_session(&session.digest).await.unwrap();
    assert_eq!(store.get_session(&session.digest, T0).await.unwrap(), None);
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

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, sessions;
            sessions_expire,
            a_users_sessions_are_listed_newest_first_until_deleted,
        );
    };
}
pub(crate) use properties;
