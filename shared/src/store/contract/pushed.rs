//! Contract properties of pushed authorization requests (`PushedRequestStore`, RFC 9126):
//! taken once, also under a race, and never after they expire.

use super::{at, client_id, T0};
use crate::domain::{PushedRequest, TokenDigest};
use crate::ports::Store;
use std::sync::Arc;

fn pushed(uri: &str) -> PushedRequest {
    PushedRequest {
        digest: TokenDigest::of(uri),
        client_id: client_id("web"),
        params: vec![
            ("client_id".into(), "web".into()),
            ("scope".into(), "profile:read".into()),
        ],
        expires_at: at(60),
    }
}

pub async fn a_pushed_request_is_taken_once_and_never_after_it_expires<S: Store>(store: Arc<S>) {
    let web = client_id("web");
    let request = pushed("uri-1");
    store.put_pushed_request(&request).await.unwrap();
    assert_eq!(
        store
            .take_pushed_request(&request.digest, &client_id("other"), T0)
            .await
            .unwrap(),
        None,
        "another client gets nothing and spends nothing"
    );
    assert!(
        store.put_pushed_request(&request).await.is_err(),
        "a digest is never overwritten"
    );
    let taken = store
        .take_pushed_request(&request.digest, &web, T0)
        .await
        .unwrap();
    assert_eq!(taken, Some(request.clone()), "parameters kept as pushed");
    assert_eq!(
        store
            .take_pushed_request(&request.digest, &web, T0)
            .await
            .unwrap(),
        None,
        "used once"
    );
    let late = pushed("uri-2");
    store.put_pushed_request(&late).await.unwrap();
    assert_eq!(
        store
            .take_pushed_request(&late.digest, &web, at(60))
            .await
            .unwrap(),
        None,
        "expired"
    );
}

/// Security rule 17: of many `/authorize` requests racing with one `request_uri`, one gets it.
pub async fn rule_17_racing_authorize_requests_take_a_pushed_request_once<S: Store + 'static>(
    store: Arc<S>,
) {
    let request = pushed("uri-race");
    store.put_pushed_request(&request).await.unwrap();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (store, digest) = (store.clone(), request.digest.clone());
        racers.spawn(async move {
            let web = client_id("web");
            store.take_pushed_request(&digest, &web, T0).await.unwrap()
        });
    }
    let mut taken = 0;
    while let Some(found) = racers.join_next().await {
        taken += usize::from(found.unwrap().is_some());
    }
    assert_eq!(taken, 1);
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, pushed;
            a_pushed_request_is_taken_once_and_never_after_it_expires,
            rule_17_racing_authorize_requests_take_a_pushed_request_once,
        );
    };
}
pub(crate) use properties;
