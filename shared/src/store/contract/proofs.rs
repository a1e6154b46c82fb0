//! Contract properties of used DPoP proofs (`ProofReplayStore`): each proof is used once,
//! also under a race (security rule 17), and its marker ends when the proof could no longer
//! be accepted.

use super::{at, T0};
use crate::domain::TokenDigest;
use crate::ports::Store;
use std::sync::Arc;

pub async fn a_dpop_proof_is_used_once_until_its_window_ends<S: Store>(store: Arc<S>) {
    let proof = TokenDigest::of("jkt.jti-1");
    assert!(store.use_proof_once(&proof, at(60), T0).await.unwrap());
    assert!(
        !store.use_proof_once(&proof, at(60), at(59)).await.unwrap(),
        "a replay within the window is refused"
    );
    let other = TokenDigest::of("jkt.jti-2");
    assert!(store.use_proof_once(&other, at(60), at(1)).await.unwrap());
    // Past its end the marker no longer counts (lazy TTL deletion may leave it stored).
    assert!(store.use_proof_once(&proof, at(120), at(60)).await.unwrap());
}

/// Security rule 17: of many requests racing with the same proof, exactly one may use it.
pub async fn rule_17_racing_requests_with_one_dpop_proof_use_it_once<S: Store + 'static>(
    store: Arc<S>,
) {
    for round in 0..3 {
        let proof = TokenDigest::of(&format!("jkt.race-{round}"));
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let store = store.clone();
            let proof = proof.clone();
            racers.spawn(async move { store.use_proof_once(&proof, at(60), T0).await.unwrap() });
        }
        let mut used = 0;
        while let Some(won) = racers.join_next().await {
            used += usize::from(won.unwrap());
        }
        assert_eq!(used, 1, "round {round}: one request uses the proof");
    }
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, proofs;
            a_dpop_proof_is_used_once_until_its_window_ends,
            rule_17_racing_requests_with_one_dpop_proof_use_it_once,
        );
    };
}
pub(crate) use properties;
