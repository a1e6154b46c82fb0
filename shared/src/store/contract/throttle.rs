//! Contract properties of the login attempt counters (security rules 13 and 17): attempts are
//! reserved before a check, all keys or none, never past the limit under any race, and a
//! window's lockout starts once; the operator reads the counters and forgets them
//! (`xecure user unlock`).

use super::{at, MINUTE};
use crate::domain::*;
use crate::ports::{AttemptSettled, LoginAdmission, Store};
use std::sync::Arc;

fn policy() -> LoginPolicy {
    LoginPolicy {
        max_account_failures: 3,
        max_account_total_failures: 6,
        max_source_failures: 10,
        ..LoginPolicy::default()
    }
}

/// The three keys of one attempt on `user` from `source`.
fn keys(user: &str, source: &str) -> Vec<ThrottleKey> {
    let name = Username::parse(user).unwrap();
    vec![
        ThrottleKey::AccountFromSource(name.clone(), source.into()),
        ThrottleKey::Account(name),
        ThrottleKey::Source(source.into()),
    ]
}

async fn reserve<S: Store>(store: &S, keys: &[ThrottleKey], now: Timestamp) -> LoginAdmission {
    store
        .reserve_login_attempt(keys, &policy(), now)
        .await
        .unwrap()
}

fn granted(admission: LoginAdmission) -> Vec<Reservation> {
    match admission {
        LoginAdmission::Granted(reserved) => reserved,
        refused => panic!("expected a reservation, got {refused:?}"),
    }
}

/// Reserves and fails one attempt; the lockouts it started.
async fn fail_once<S: Store>(
    store: &S,
    keys: &[ThrottleKey],
    now: Timestamp,
) -> Vec<(ThrottleKey, Timestamp)> {
    let reserved = granted(reserve(store, keys, now).await);
    store
        .login_attempt_failed(&reserved, &policy(), now)
        .await
        .unwrap()
}

pub async fn login_attempts_lock_once_the_limit_is_reached<S: Store>(store: Arc<S>) {
    let keys = keys("carol", "192.0.2.7");
    let mut reserved = Vec::new();
    for n in 1..=3u32 {
        let taken = granted(reserve(store.as_ref(), &keys, at(1)).await);
        assert_eq!(taken[0].attempts, n);
        reserved.push(taken);
    }
    assert_eq!(
        reserve(store.as_ref(), &keys, at(2)).await,
        LoginAdmission::Refused {
            key: keys[0].clone(),
            until: at(1).plus(MINUTE * 15)
        },
        "three attempts in flight: a fourth is not checked"
    );
    let mut started = Vec::new();
    for taken in &reserved {
        started.extend(
            store
                .login_attempt_failed(taken, &policy(), at(3))
                .await
                .unwrap(),
        );
    }
    let until = at(3).plus(MINUTE * 15);
    assert_eq!(started, vec![(keys[0].clone(), until)], "one lockout");
    assert_eq!(
        reserve(store.as_ref(), &keys, at(4)).await,
        LoginAdmission::Refused {
            key: keys[0].clone(),
            until
        }
    );
    // After it ends, a new window; the next lockout is twice as long.
    for _ in 0..2 {
        assert_eq!(fail_once(store.as_ref(), &keys, until).await, vec![]);
    }
    let second = fail_once(store.as_ref(), &keys, until).await;
    assert_eq!(second, vec![(keys[0].clone(), until.plus(MINUTE * 30))]);
    // Forgotten after `memory`: the lockout is the first one's length again.
    let much_later = until.plus(MINUTE * 30).plus(policy().memory);
    for _ in 0..2 {
        fail_once(store.as_ref(), &keys, much_later).await;
    }
    assert_eq!(
        fail_once(store.as_ref(), &keys, much_later).await,
        vec![(keys[0].clone(), much_later.plus(MINUTE * 15))]
    );
}

pub async fn a_refused_attempt_counts_on_no_key<S: Store>(store: Arc<S>) {
    // Lock the pair (dave, 192.0.2.8) out.
    let locked = keys("dave", "192.0.2.8");
    for _ in 0..3 {
        fail_once(store.as_ref(), &locked, at(1)).await;
    }
    for _ in 0..20 {
        assert!(matches!(
            reserve(store.as_ref(), &locked, at(2)).await,
            LoginAdmission::Refused { .. }
        ));
    }
    // The refusals counted nothing on the account or the source: dave still has 3 of his 6
    // from another address, and the source its 7 of 10.
    let elsewhere = keys("dave", "198.51.100.1");
    for _ in 0..3 {
        granted(reserve(store.as_ref(), &elsewhere, at(3)).await);
    }
    let other_user = keys("erin", "192.0.2.8");
    for _ in 0..3 {
        fail_once(store.as_ref(), &other_user, at(3)).await;
    }
    let spray = |n: u32| keys(&format!("user{n}"), "192.0.2.8");
    for n in 0..4 {
        fail_once(store.as_ref(), &spray(n), at(4)).await;
    }
    assert!(
        matches!(
            reserve(store.as_ref(), &spray(9), at(5)).await,
            LoginAdmission::Refused { ref key, .. } if key == &ThrottleKey::Source("192.0.2.8".into())
        ),
        "the source's tenth failure was its last"
    );
}

pub async fn settled_attempts_are_given_back<S: Store>(store: Arc<S>) {
    let keys = keys("frank", "203.0.113.9");
    for _ in 0..2 {
        fail_once(store.as_ref(), &keys, at(1)).await;
    }
    // A login forgets the pair's failures and gives the attempt back on the others.
    let login = granted(reserve(store.as_ref(), &keys, at(2)).await);
    assert_eq!(login[0].attempts, 3);
    store
        .settle_login_attempt(&login, AttemptSettled::LoggedIn)
        .await
        .unwrap();
    let after = granted(reserve(store.as_ref(), &keys, at(3)).await);
    assert_eq!(
        after.iter().map(|r| r.attempts).collect::<Vec<_>>(),
        vec![1, 3, 3],
        "pair forgotten; account and source hold the two failures and this attempt"
    );
    // An attempt never checked is given back on every key.
    store
        .settle_login_attempt(&after, AttemptSettled::NotChecked)
        .await
        .unwrap();
    let again = granted(reserve(store.as_ref(), &keys, at(4)).await);
    assert_eq!(
        again.iter().map(|r| r.attempts).collect::<Vec<_>>(),
        vec![1, 3, 3]
    );
}

/// Rule 17 under a race: many parallel attempts on one account, repeated over several
/// rounds (fresh keys each): exactly the limit is granted, and their failures start exactly
/// one lockout.
pub async fn parallel_attempts_never_pass_the_limit<S: Store + 'static>(store: Arc<S>) {
    for round in 0..4 {
        let keys = keys(&format!("grace{round}"), &format!("198.51.100.{round}"));
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (store, keys) = (Arc::clone(&store), keys.clone());
                tokio::spawn(async move { reserve(store.as_ref(), &keys, at(1)).await })
            })
            .collect();
        let mut reserved = Vec::new();
        for task in tasks {
            if let LoginAdmission::Granted(taken) = task.await.unwrap() {
                reserved.push(taken);
            }
        }
        assert_eq!(reserved.len(), 3, "round {round}: the limit, not more");
        let failures: Vec<_> = reserved
            .into_iter()
            .map(|taken| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .login_attempt_failed(&taken, &policy(), at(2))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut started = Vec::new();
        for failure in failures {
            started.extend(failure.await.unwrap());
        }
        assert_eq!(
            started,
            vec![(keys[0].clone(), at(2).plus(MINUTE * 15))],
            "round {round}: one lockout, not doubled by the burst"
        );
    }
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

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, throttle;
            login_attempts_lock_once_the_limit_is_reached,
            a_refused_attempt_counts_on_no_key,
            settled_attempts_are_given_back,
            parallel_attempts_never_pass_the_limit,
            login_counters_are_read_and_forgotten,
        );
    };
}
pub(crate) use properties;
