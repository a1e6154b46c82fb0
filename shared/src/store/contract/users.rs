//! Contract properties of the accounts (`UserStore`): unique by username whatever its case,
//! updated only over the version read, listed by username, deleted with a revocation.

use super::{stamp, user, T0};
use crate::domain::*;
use crate::ports::{Store, StoreError};
use std::sync::Arc;

pub async fn users_are_unique_by_username<S: Store>(store: Arc<S>) {
    store.create_user(&user("alice")).await.unwrap();
    let duplicate = store.create_user(&user("alice")).await;
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists(_))),
        "{duplicate:?}"
    );
    let found = store
        .get_user_by_username(&Username::parse("ALICE").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(user("alice")));
    assert_eq!(
        store.get_user(&user("alice").id).await.unwrap(),
        Some(user("alice"))
    );
    let mut disabled = user("alice");
    disabled.disabled = true;
    disabled.version = 2;
    store.update_user(&disabled, None).await.unwrap();
    assert!(
        store
            .get_user_by_username(&disabled.username)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let stale = store.update_user(&disabled, None).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(_))),
        "an update over a version that moved: {stale:?}"
    );
    let missing = store
        .update_user(
            &User {
                version: 2,
                ..user("bob")
            },
            None,
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        store
            .get_user_by_username(&Username::parse("bob").unwrap())
            .await
            .unwrap(),
        None
    );
    let removal = stamp("evt_rm", T0).revoke(RevocationTarget::User(disabled.id.clone()));
    assert!(store.delete_user(&disabled, &removal).await.unwrap());
    assert!(!store.delete_user(&disabled, &removal).await.unwrap());
    assert_eq!(
        store
            .get_user_by_username(&disabled.username)
            .await
            .unwrap(),
        None
    );
}

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

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, users;
            users_are_unique_by_username,
            users_are_listed_by_username,
        );
    };
}
pub(crate) use properties;
