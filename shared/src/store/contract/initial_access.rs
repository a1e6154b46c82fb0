//! Contract properties of the initial access tokens of client registration
//! (`InitialAccessTokenStore`): created once, hidden from their expiry.

use super::{at, MINUTE, T0};
use crate::domain::*;
use crate::ports::{Store, StoreError};
use std::sync::Arc;

pub async fn initial_access_tokens_expire<S: Store>(store: Arc<S>) {
    let token = InitialAccessToken {
        digest: TokenDigest::of("iat-1"),
        created_at: T0,
        expires_at: T0.plus(MINUTE * 60),
    };
    store.put_initial_access_token(&token).await.unwrap();
    assert!(matches!(
        store.put_initial_access_token(&token).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let read = |when| {
        let store = Arc::clone(&store);
        async move {
            store
                .get_initial_access_token(&TokenDigest::of("iat-1"), when)
                .await
                .unwrap()
        }
    };
    assert_eq!(read(at(3599)).await, Some(token));
    assert_eq!(read(at(3600)).await, None, "expired at expires_at");
    assert_eq!(
        store
            .get_initial_access_token(&TokenDigest::of("iat-2"), T0)
            .await
            .unwrap(),
        None
    );
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, initial_access;
            initial_access_tokens_expire,
        );
    };
}
pub(crate) use properties;
