//! Contract properties of pending authorization requests and failed-login counters.

use super::{at, client_id, MINUTE, T0};
use crate::domain::*;
use crate::ports::{Store, StoreError};
use std::sync::Arc;

fn pending(handle: &str) -> PendingAuthorization {
    PendingAuthorization {
        client_revision: 0,
        digest: TokenDigest::of(handle),
        client_id: client_id("app"),
        redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
        scope: Scope::parse("orders:read").unwrap(),
        state: Some("xyz".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        prompt: Prompt::Default,
        created_at: T0,
        expires_at: at(600),
    }
}

pub async fn pending_authorizations_are_taken_once<S: Store>(store: Arc<S>) {
    let request = pending("handle-1");
    store.put_pending_authorization(&request).await.unwrap();
    assert!(matches!(
        store.put_pending_authorization(&request).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let digest = &request.digest;
    assert_eq!(
        store
            .get_pending_authorization(digest, at(599))
            .await
            .unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store
            .get_pending_authorization(digest, at(600))
            .await
            .unwrap(),
        None,
        "expired requests are hidden"
    );
    assert_eq!(
        store
            .take_pending_authorization(digest, at(1))
            .await
            .unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store
            .take_pending_authorization(digest, at(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_pending_authorization(digest, at(1))
            .await
            .unwrap(),
        None
    );

    let expired = pending("handle-2");
    store.put_pending_authorization(&expired).await.unwrap();
    assert_eq!(
        store
            .take_pending_authorization(&expired.digest, at(601))
            .await
            .unwrap(),
        None,
        "an expired request cannot be taken"
    );
}

pub async fn concurrent_takes_have_one_winner<S: Store + 'static>(store: Arc<S>) {
    let request = pending("handle-race");
    store.put_pending_authorization(&request).await.unwrap();
    let takers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let digest = request.digest.clone();
            tokio::spawn(async move { store.take_pending_authorization(&digest, at(5)).await })
        })
        .collect();
    let mut winners = 0;
    for taker in takers {
        if taker.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

fn policy() -> LoginPolicy {
    LoginPolicy {
        max_account_failures: 3,
        max_source_failures: 5,
        ..LoginPolicy::default()
    }
}

pub async fn login_failures_lock_out_per_key<S: Store>(store: Arc<S>) {
    let account = ThrottleKey::Account(Username::parse("carol").unwrap());
    let source = ThrottleKey::Source("192.0.2.7".into());
    let keys = [account.clone(), source.clone()];
    assert_eq!(
        store.get_login_throttles(&keys, T0).await.unwrap(),
        vec![None, None]
    );
    for n in 1..=2 {
        let state = store
            .record_login_failure(&account, &policy(), at(n))
            .await
            .unwrap();
        assert_eq!((state.failures, state.locked_until), (n as u32, None));
    }
    store
        .record_login_failure(&source, &policy(), at(2))
        .await
        .unwrap();
    let locked = store
        .record_login_failure(&account, &policy(), at(3))
        .await
        .unwrap();
    assert_eq!(locked.locked_at(at(3)), Some(at(3).plus(MINUTE * 15)));
    let read = store.get_login_throttles(&keys, at(4)).await.unwrap();
    assert_eq!(read[0].as_ref(), Some(&locked));
    assert_eq!(read[1].as_ref().map(|s| s.failures), Some(1));

    store.clear_login_throttle(&account).await.unwrap();
    let read = store.get_login_throttles(&keys, at(5)).await.unwrap();
    assert!(read[0].is_none(), "a successful login clears the account");
    assert!(read[1].is_some(), "the source count stays");
    let forgotten = at(2).plus(policy().memory);
    assert!(store.get_login_throttles(&keys, forgotten).await.unwrap()[1].is_none());
}

pub async fn concurrent_login_failures_are_all_counted<S: Store + 'static>(store: Arc<S>) {
    let source = ThrottleKey::Source("198.51.100.9".into());
    let policy = LoginPolicy {
        max_source_failures: 100,
        ..policy()
    };
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let source = source.clone();
            let policy = policy.clone();
            tokio::spawn(async move { store.record_login_failure(&source, &policy, at(1)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let read = store.get_login_throttles(&[source], at(2)).await.unwrap();
    assert_eq!(read[0].as_ref().map(|s| s.failures), Some(4));
}
