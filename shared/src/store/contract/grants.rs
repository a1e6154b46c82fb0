//! Contract properties of the grants (`GrantStore`): listed by user and by client, revoked
//! once, and "last used" recorded by the writes that use a grant.

use super::{at, client_id, code, consented, grant, new_family, refresh_token, stamp, user_id, T0};
use crate::domain::*;
use crate::ports::{CodeRedemption, Rotation, Store};
use std::sync::Arc;

pub async fn grants_are_listed_and_revoked<S: Store>(store: Arc<S>) {
    consented(&store, &grant("usr_alice", "a", "grt_1")).await;
    consented(&store, &grant("usr_alice", "b", "grt_2")).await;
    consented(&store, &grant("usr_alicex", "a", "grt_3")).await;
    let mut wider = grant("usr_alice", "b", "grt_2");
    wider.scope = Scope::parse("orders:read profile:read").unwrap();
    wider.last_used_at = at(5);
    consented(&store, &wider).await;
    let mut listed: Vec<Grant> = store.list_grants(&user_id("usr_alice")).await.unwrap();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    let wider = Grant {
        version: 2,
        ..wider
    };
    assert_eq!(listed, vec![grant("usr_alice", "a", "grt_1"), wider]);
    let revoke = |user: &str, id: &str, when| {
        let store = Arc::clone(&store);
        let (user, stamp) = (user_id(user), stamp(id, when));
        async move {
            store
                .revoke_grant(&user, &client_id("a"), &stamp)
                .await
                .unwrap()
        }
    };
    assert!(revoke("usr_alice", "evt_r1", at(7)).await);
    assert!(
        !revoke("usr_alice", "evt_r2", at(8)).await,
        "already revoked"
    );
    assert!(
        !revoke("usr_nobody", "evt_r3", at(8)).await,
        "no such grant"
    );
    let revoked = store
        .get_grant(&user_id("usr_alice"), &client_id("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(7)));
    let revocations = store.list_revocations_since(T0, at(8)).await.unwrap();
    assert_eq!(revocations.len(), 1);
    assert_eq!(
        revocations[0].target,
        RevocationTarget::Grant(GrantId::parse("grt_1").unwrap())
    );
    assert_eq!(revocations[0].at, at(7));
}

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

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, grants;
            grants_are_listed_and_revoked,
            grants_are_listed_by_client,
            using_a_grant_records_when,
        );
    };
}
pub(crate) use properties;
