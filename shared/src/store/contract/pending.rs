//! Contract properties of pending authorization requests (`PendingAuthorizationStore`): taken
//! once, even under a race, and hidden once expired.

use super::{at, client_id, T0};
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
        nonce: Some("n-0S6_WzA2Mj".into()),
        max_age: None,
        login_hint: None,
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

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, pending;
            pending_authorizations_are_taken_once,
            concurrent_takes_have_one_winner,
        );
    };
}
pub(crate) use properties;
