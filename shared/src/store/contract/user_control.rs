//! Contract properties behind user control and client registration: grants by client, "last
//! used" recorded by the writes that use a grant, and initial access tokens.

use super::{
    at, client_id, code, consented, grant, new_family, refresh_token, stamp, user_id, MINUTE, T0,
};
use crate::domain::*;
use crate::ports::{CodeRedemption, Rotation, Store, StoreError};
use std::sync::Arc;

pub async fn grants_are_listed_by_client<S: Store>(store: Arc<S>) {
    for (user, client, id) in [
        ("usr_alice", "a", "grt_1"),
        ("usr_bob", "a", "grt_2"),
        ("usr_alice", "b", "grt_3"),
        ("usr_carol", "ab", "grt_4"),
    ] {
        consented(&store, &grant(user, client, id)).await;
    }
    store
        .revoke_grant(
            &user_id("usr_bob"),
            &client_id("a"),
            &stamp("evt_r1", at(1)),
        )
        .await
        .unwrap();
    let mut listed = store.list_client_grants(&client_id("a")).await.unwrap();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    let ids: Vec<&str> = listed.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["grt_1", "grt_2"], "revoked grants are listed too");
    assert_eq!(listed[1].revoked_at, Some(at(1)));
    assert!(store
        .list_client_grants(&client_id("nobody"))
        .await
        .unwrap()
        .is_empty());
}

pub async fn using_a_grant_records_when<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let last_used = |store: Arc<S>| async move {
        store
            .get_grant(&user_id("usr_alice"), &client_id("a"))
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    let family = new_family("fam_1", &grant, "refresh-1");
    let redeemed = store
        .redeem_code(&code, at(5), Some(&family))
        .await
        .unwrap();
    assert!(
        matches!(redeemed, CodeRedemption::Redeemed(_)),
        "{redeemed:?}"
    );
    assert_eq!(last_used(store.clone()).await, at(5));

    let next = refresh_token("refresh-2", &family.family, at(30));
    let rotated = store
        .rotate_refresh(&family.token.digest, &next, &stamp("evt_1", at(30)))
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated), "{rotated:?}");
    assert_eq!(last_used(store.clone()).await, at(30));

    // A refused use changes nothing.
    let replayed = store.redeem_code(&code, at(40), None).await.unwrap();
    assert!(
        matches!(replayed, CodeRedemption::Replayed(_)),
        "{replayed:?}"
    );
    assert_eq!(last_used(store.clone()).await, at(30));
    let stored = store
        .get_grant(&user_id("usr_alice"), &client_id("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        Grant {
            last_used_at: at(30),
            ..grant
        },
        "only last_used_at moved"
    );
}

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
