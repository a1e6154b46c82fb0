//! Contract properties of the refresh token families (`RefreshStore`): rotation detects
//! reuse (even two rotations at once), stops with the grant, and expired tokens are hidden.

use super::{at, consented, grant, new_family, refresh_token, stamp, T0};
use crate::domain::*;
use crate::ports::{Rotation, Store};
use std::sync::Arc;
use std::time::Duration;

pub async fn refresh_rotation_detects_reuse<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let token = store
        .get_refresh(&first.token.digest, at(1))
        .await
        .unwrap()
        .unwrap();
    let family = store
        .get_refresh_family(&first.family.id, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((token, family), (first.token.clone(), first.family.clone()));

    let second = refresh_token("refresh-2", &first.family, at(10));
    let rotated = store
        .rotate_refresh(&first.token.digest, &second, &stamp("evt_r1", at(10)))
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated), "{rotated:?}");
    let old = store
        .get_refresh(&first.token.digest, at(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.rotated_at, Some(at(10)));

    // Presenting the rotated token again is reuse: the family is revoked and recorded.
    let third = refresh_token("refresh-3", &first.family, at(20));
    let reused = store
        .rotate_refresh(&first.token.digest, &third, &stamp("evt_r2", at(20)))
        .await
        .unwrap();
    assert_eq!(
        reused,
        Rotation::ReuseDetected {
            family_id: first.family.id.clone()
        }
    );
    let family = store
        .get_refresh_family(&first.family.id, at(21))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(family.revoked_at, Some(at(20)));
    let fourth = refresh_token("refresh-4", &first.family, at(30));
    assert_eq!(
        store
            .rotate_refresh(&second.digest, &fourth, &stamp("evt_r3", at(30)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let revocations = store.list_revocations_since(T0, at(30)).await.unwrap();
    let targets: Vec<RevocationTarget> = revocations.into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![RevocationTarget::Family(first.family.id.clone())]
    );
    assert_eq!(
        store.get_refresh(&third.digest, at(30)).await.unwrap(),
        None,
        "no token issued on reuse"
    );
}

pub async fn concurrent_rotation_reports_reuse<S: Store + 'static>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let rotations: Vec<_> = ["next-a", "next-b"]
        .into_iter()
        .enumerate()
        .map(|(i, next)| {
            let (store, first) = (Arc::clone(&store), first.clone());
            let next = refresh_token(next, &first.family, at(5));
            tokio::spawn(async move {
                store
                    .rotate_refresh(
                        &first.token.digest,
                        &next,
                        &stamp(&format!("evt_r{i}"), at(5)),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for rotation in rotations {
        outcomes.push(rotation.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&Rotation::ReuseDetected {
            family_id: first.family.id.clone()
        }),
        "{outcomes:?}"
    );
    let family = store
        .get_refresh_family(&first.family.id, at(6))
        .await
        .unwrap()
        .unwrap();
    assert!(family.revoked_at.is_some(), "the family is revoked");
}

pub async fn revoked_grant_stops_rotation<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    store
        .revoke_grant(&grant.user_id, &grant.client_id, &stamp("evt_r1", at(1)))
        .await
        .unwrap();
    let next = refresh_token("refresh-2", &first.family, at(2));
    assert_eq!(
        store
            .rotate_refresh(&first.token.digest, &next, &stamp("evt_r2", at(2)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let token = store
        .get_refresh(&first.token.digest, at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.rotated_at, None, "a refused rotation changes nothing");
    assert!(store
        .revoke_family(&first.family.id, &stamp("evt_r3", at(3)))
        .await
        .unwrap());
    assert!(
        !store
            .revoke_family(&first.family.id, &stamp("evt_r4", at(4)))
            .await
            .unwrap(),
        "already revoked"
    );
}

pub async fn expired_refresh_tokens_are_hidden<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let expiry = first.token.expires_at;
    assert!(store
        .get_refresh(&first.token.digest, expiry.minus(Duration::from_millis(1)))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .get_refresh(&first.token.digest, expiry)
            .await
            .unwrap(),
        None
    );
    let next = refresh_token("refresh-2", &first.family, expiry);
    assert_eq!(
        store
            .rotate_refresh(&first.token.digest, &next, &stamp("evt_r1", expiry))
            .await
            .unwrap(),
        Rotation::NotFound
    );
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, refresh;
            refresh_rotation_detects_reuse,
            concurrent_rotation_reports_reuse,
            revoked_grant_stops_rotation,
            expired_refresh_tokens_are_hidden,
        );
    };
}
pub(crate) use properties;
