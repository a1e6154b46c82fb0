//! Removing what has expired from the embedded store (security rule 19: stored bytes are
//! bounded). DynamoDB deletes expired items by its TTL; a redb file keeps them until something
//! removes them, so `xecure serve` runs this sweep in the background. Every read already
//! ignores expired records: the sweep only gives the space back (redb reuses freed pages, so
//! the file stops growing under a steady load).

use super::{
    backend, decode, EmbeddedStore, Expiring, AUDIT_ALL, AUDIT_BY_CLIENT, AUDIT_BY_USER, CODES,
    INITIAL_ACCESS_TOKENS, LOGIN_THROTTLES, PENDING_AUTHORIZATIONS, PUSHED_REQUESTS,
    REFRESH_FAMILIES, REFRESH_TOKENS, REVOCATIONS, REVOKED_TOKENS, SESSIONS, SESSIONS_BY_USER,
    USED_PROOFS,
};
use crate::domain::Timestamp;
use crate::ports::StoreResult;
use redb::{Durability, Key, TableDefinition, WriteTransaction};

/// Deletes the records of `table` whose `expires_at` has passed at `now`; how many. A
/// record that does not decode is kept (and reported corrupt by the read that meets it).
fn sweep_table<K: Key + 'static>(
    txn: &WriteTransaction,
    table: TableDefinition<'static, K, &'static [u8]>,
    now: Timestamp,
) -> StoreResult<usize> {
    let mut removed = 0;
    txn.open_table(table)
        .map_err(backend)?
        .retain(|_, value| {
            let expired = decode::<Expiring>(value).is_ok_and(|e| e.expires_at.has_passed(now));
            removed += usize::from(expired);
            !expired
        })
        .map_err(backend)?;
    Ok(removed)
}

impl EmbeddedStore {
    /// Removes every expired session, pending request, failed-login counter, code, refresh
    /// token and family, initial access token, revocation entry and marker, and audit record
    /// past its retention. One write transaction per table, so writers wait at most one
    /// table's scan; the commit is not fsynced (a crash leaves expired records behind for
    /// the next sweep, nothing else). Returns how many records it removed.
    pub async fn sweep_expired(&self, now: Timestamp) -> StoreResult<usize> {
        let mut removed = 0;
        for table in [
            SESSIONS,
            PENDING_AUTHORIZATIONS,
            PUSHED_REQUESTS,
            LOGIN_THROTTLES,
            CODES,
            REFRESH_TOKENS,
            REFRESH_FAMILIES,
            INITIAL_ACCESS_TOKENS,
            REVOKED_TOKENS,
            USED_PROOFS,
        ] {
            removed += self
                .write_with(Durability::None, move |txn| sweep_table(txn, table, now))
                .await?;
        }
        removed += self
            .write_with(Durability::None, move |txn| {
                sweep_table(txn, REVOCATIONS, now)
            })
            .await?;
        for index in [AUDIT_BY_USER, AUDIT_BY_CLIENT, AUDIT_ALL, SESSIONS_BY_USER] {
            removed += self
                .write_with(Durability::None, move |txn| sweep_table(txn, index, now))
                .await?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::*;
    use crate::ports::*;
    use crate::store::contract::{at, code, consented, grant, new_family, stamp, T0};
    use crate::store::embedded::EmbeddedStore;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn rule_19_the_sweep_removes_what_expired_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let grant = grant("usr_alice", "a", "grt_1");
        consented(&store, &grant).await;
        store.put_code(&code("short-lived", &grant)).await.unwrap();
        store
            .put_refresh_family(&new_family("fam_1", &grant, "refresh-1"))
            .await
            .unwrap();
        let entry = stamp("evt_1", T0).revoke(RevocationTarget::AccessToken("jti-1".into()));
        assert!(store.put_revocation(&entry).await.unwrap());
        // Nothing has expired yet.
        assert_eq!(store.sweep_expired(T0).await.unwrap(), 0);
        // The code (1 min), the revocation and its marker (15 min) have; the refresh token
        // (1 h) and family (1 day), the grant, account and client have not.
        let removed = store.sweep_expired(at(16 * 60)).await.unwrap();
        assert_eq!(removed, 3);
        assert!(store
            .get_refresh(&TokenDigest::of("refresh-1"), at(16 * 60))
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            store.sweep_expired(at(16 * 60)).await.unwrap(),
            0,
            "nothing twice"
        );
        let later = T0.plus(Duration::from_secs(2 * 24 * 3600));
        assert_eq!(
            store.sweep_expired(later).await.unwrap(),
            2,
            "token and family"
        );
        assert!(store
            .get_grant(&grant.user_id, &grant.client_id)
            .await
            .unwrap()
            .is_some());
        assert!(store.get_user(&grant.user_id).await.unwrap().is_some());
    }
}
