//! Contract properties of the revocation list (`RevocationStore`): listed oldest first from
//! a time, expired entries hidden, an access token revoked once (security rule 19).

use super::{at, client_id, event_id, user_id, MINUTE, T0};
use crate::domain::*;
use crate::ports::Store;
use std::sync::Arc;

pub async fn revocations_are_listed_since_a_time<S: Store>(store: Arc<S>) {
    for (i, (when, target)) in [
        (at(10), RevocationTarget::AccessToken("jti-1".into())),
        (at(20), RevocationTarget::User(user_id("usr_alice"))),
        (at(30), RevocationTarget::Client(client_id("a"))),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = Revocation {
            id: event_id(&format!("evt_{i}")),
            at: when,
            target,
            expires_at: when.plus(MINUTE),
        };
        store.put_revocation(&entry).await.unwrap();
    }
    let since_20: Vec<Timestamp> = store
        .list_revocations_since(at(20), at(21))
        .await
        .unwrap()
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(
        since_20,
        vec![at(20), at(30)],
        "oldest first, `since` inclusive"
    );
    let live: Vec<Timestamp> = store
        .list_revocations_since(T0, at(80))
        .await
        .unwrap()
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(live, vec![at(30)], "expired entries are hidden");
}

/// Security rule 19: revoking an access token that is already revoked writes nothing; entries
/// spread over the shards come back in time order.
pub async fn rule_19_revoking_an_access_token_twice_writes_nothing_new<S: Store>(store: Arc<S>) {
    let revoke = |n: usize| Revocation {
        id: event_id(&format!("evt_jti_{n}")),
        at: at(n as u64),
        target: RevocationTarget::AccessToken("jti-twice".into()),
        expires_at: at(600),
    };
    assert!(store.put_revocation(&revoke(1)).await.unwrap());
    for n in 2..6 {
        assert!(
            !store.put_revocation(&revoke(n)).await.unwrap(),
            "repeat {n}"
        );
    }
    // Many entries of other kinds, across the shards, listed oldest first.
    for n in 0..40u64 {
        let entry = Revocation {
            id: event_id(&format!("evt_many_{n}")),
            at: at(100 + n),
            target: RevocationTarget::Family(FamilyId::parse(&format!("fam_{n}")).unwrap()),
            expires_at: at(600),
        };
        assert!(store.put_revocation(&entry).await.unwrap());
    }
    let listed = store.list_revocations_since(T0, at(200)).await.unwrap();
    assert_eq!(listed.len(), 41, "one entry for the token, forty families");
    assert!(listed.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert_eq!(listed[0].id, event_id("evt_jti_1"));
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, revocations;
            revocations_are_listed_since_a_time,
            rule_19_revoking_an_access_token_twice_writes_nothing_new,
        );
    };
}
pub(crate) use properties;
