//! Used DPoP proofs in DynamoDB: one conditional PutItem each.

use super::expr::Expr;
use super::items::used_proof_item;
use super::{n, DynamoStore};
use crate::domain::{Timestamp, TokenDigest};
use crate::ports::{ProofReplayStore, StoreResult};
use crate::store::keys::{PK, TTL};
use async_trait::async_trait;

#[async_trait]
impl ProofReplayStore for DynamoStore {
    /// A PutItem that succeeds only if no unexpired marker exists: TTL deletion is lazy, so
    /// an expired marker still in the table is overwritten, not taken for a replay.
    async fn use_proof_once(
        &self,
        id: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let unused = Expr::condition("attribute_not_exists(#pk) OR #ttl <= :now")
            .name("#pk", PK)
            .name("#ttl", TTL)
            .value(":now", n(now.as_secs()));
        self.put(used_proof_item(id, expires_at), Some(unused))
            .await
    }
}
