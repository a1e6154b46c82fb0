//! Contract properties of the authorization codes (`CodeStore`): redeemed exactly once even
//! under a race, never over a revoked grant, hidden once expired.

use super::{at, code, consented, grant, new_family, stamp, T0};
use crate::domain::*;
use crate::ports::{CodeRedemption, Store, StoreError};
use std::sync::Arc;

pub async fn code_is_redeemed_exactly_once<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert!(matches!(
        store.put_code(&code).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.get_code(&code.digest, at(1)).await.unwrap(),
        Some(code.clone())
    );
    let first = store.redeem_code(&code, at(1), None).await.unwrap();
    let CodeRedemption::Redeemed(redeemed) = first else {
        panic!("first redemption: {first:?}")
    };
    assert_eq!(redeemed.redeemed_at, Some(at(1)));
    let second = store.redeem_code(&code, at(2), None).await.unwrap();
    let CodeRedemption::Replayed(replayed) = second else {
        panic!("second redemption: {second:?}")
    };
    assert_eq!(
        replayed.redeemed_at,
        Some(at(1)),
        "a replay reports the first redemption"
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(2))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        Some(at(1))
    );
    let unknown = crate::store::contract::code("never-issued", &grant);
    assert_eq!(
        store.redeem_code(&unknown, at(1), None).await.unwrap(),
        CodeRedemption::NotFound
    );
}

pub async fn concurrent_code_redemption_has_one_winner<S: Store + 'static>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("contested", &grant);
    store.put_code(&code).await.unwrap();
    let takers: Vec<_> = (0..32)
        .map(|i| {
            let (store, code, grant) = (Arc::clone(&store), code.clone(), grant.clone());
            tokio::spawn(async move {
                let refresh = new_family(&format!("fam_{i}"), &grant, &format!("refresh-{i}"));
                store
                    .redeem_code(&code, at(1), Some(&refresh))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut replays = 0;
    for taker in takers {
        match taker.await.unwrap() {
            CodeRedemption::Redeemed(code) => winners.push(code),
            CodeRedemption::Replayed(_) => replays += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 32 concurrent takers wins");
    assert_eq!(replays, 31);
    let stored = store.get_code(&code.digest, at(1)).await.unwrap().unwrap();
    assert_eq!(
        stored.family_id, winners[0].family_id,
        "the stored code names the winner's family"
    );
    let winner_family = stored.family_id.unwrap();
    let winner_index = winner_family.as_str().trim_start_matches("fam_").to_owned();
    let issued = store
        .get_refresh(&TokenDigest::of(&format!("refresh-{winner_index}")), at(1))
        .await
        .unwrap();
    assert!(
        issued.is_some(),
        "the winner's refresh token was stored with the redemption"
    );
    let losers_stored = (0..32)
        .filter(|i| i.to_string() != winner_index)
        .map(|i| TokenDigest::of(&format!("refresh-{i}")))
        .collect::<Vec<_>>();
    for digest in losers_stored {
        assert_eq!(
            store.get_refresh(&digest, at(1)).await.unwrap(),
            None,
            "a losing redemption stored nothing"
        );
    }
}

pub async fn revoked_grant_blocks_redemption_and_leaves_the_code_unspent<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert!(store
        .revoke_grant(&grant.user_id, &grant.client_id, &stamp("evt_r1", T0))
        .await
        .unwrap());
    let refresh = new_family("fam_1", &grant, "refresh-1");
    assert_eq!(
        store
            .redeem_code(&code, at(1), Some(&refresh))
            .await
            .unwrap(),
        CodeRedemption::Revoked
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(1))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        None
    );
    assert_eq!(
        store
            .get_refresh(&refresh.token.digest, at(1))
            .await
            .unwrap(),
        None,
        "nothing half-written"
    );
    // Consent given again creates a new grant: the old code still names the old one.
    consented(
        &store,
        &crate::store::contract::grant("usr_alice", "a", "grt_2"),
    )
    .await;
    assert_eq!(
        store
            .redeem_code(&code, at(1), Some(&refresh))
            .await
            .unwrap(),
        CodeRedemption::Revoked
    );
}

pub async fn expired_codes_are_hidden<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert_eq!(store.get_code(&code.digest, at(60)).await.unwrap(), None);
    assert_eq!(
        store.redeem_code(&code, at(60), None).await.unwrap(),
        CodeRedemption::NotFound
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(59))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        None
    );
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, codes;
            code_is_redeemed_exactly_once,
            concurrent_code_redemption_has_one_winner,
            revoked_grant_blocks_redemption_and_leaves_the_code_unspent,
            expired_codes_are_hidden,
        );
    };
}
pub(crate) use properties;
