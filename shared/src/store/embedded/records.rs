//! Revocations and audit records in the embedded store.

use super::{
    backend, decode, encode, insert_revocation, EmbeddedStore, Expiring, AUDIT_ALL,
    AUDIT_BY_CLIENT, AUDIT_BY_USER, REVOCATIONS, REVOKED_TOKENS,
};
use crate::domain::{
    AuditEvent, AuditPage, AuditQuery, AuditSubject, Revocation, RevocationTarget, Timestamp,
    TokenDigest,
};
use crate::ports::RevocationWriter;
use crate::ports::{AuditStore, RevocationStore, StoreResult};
use crate::store::audit_page::{page_bounds, PageCollector};
use async_trait::async_trait;
use redb::ReadableTable;

#[async_trait]
impl RevocationStore for EmbeddedStore {
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>> {
        self.read(move |txn| {
            let table = txn.open_table(REVOCATIONS).map_err(backend)?;
            let mut found = Vec::new();
            for entry in table.range((since.as_millis(), "")..).map_err(backend)? {
                let revocation: Revocation = decode(entry.map_err(backend)?.1.value())?;
                if !revocation.expires_at.has_passed(now) {
                    found.push(revocation);
                }
            }
            Ok(found)
        })
        .await
    }
}

#[async_trait]
impl RevocationWriter for EmbeddedStore {
    async fn put_revocation(&self, revocation: &Revocation) -> StoreResult<bool> {
        let revocation = revocation.clone();
        self.write(move |txn| {
            if let RevocationTarget::AccessToken(jti) = &revocation.target {
                let mut markers = txn.open_table(REVOKED_TOKENS).map_err(backend)?;
                let key = TokenDigest::of(jti);
                if markers.get(key.as_str()).map_err(backend)?.is_some() {
                    return Ok(false);
                }
                let marker = encode(&Expiring {
                    expires_at: revocation.expires_at,
                })?;
                markers
                    .insert(key.as_str(), marker.as_slice())
                    .map_err(backend)?;
            }
            insert_revocation(txn, &revocation)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    /// Committed together with whatever else is queued (`audit_writer.rs`): same
    /// durability as before, one transaction per batch instead of per record.
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.audits.append(std::slice::from_ref(event)).await
    }

    async fn append_audits(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.audits.append(events).await
    }

    async fn query_audit(&self, query: &AuditQuery, now: Timestamp) -> StoreResult<AuditPage> {
        let query = query.clone();
        self.read(move |txn| {
            let (index, subject) = match &query.subject {
                AuditSubject::User(user) => (AUDIT_BY_USER, user.to_string()),
                AuditSubject::Client(client) => (AUDIT_BY_CLIENT, client.to_string()),
                AuditSubject::All => (AUDIT_ALL, String::new()),
            };
            let bounds = page_bounds(&query)?;
            let table = txn.open_table(index).map_err(backend)?;
            let low = (subject.as_str(), bounds.from.as_millis(), "");
            let high = (
                subject.as_str(),
                bounds.below.0.as_millis(),
                bounds.below.1.as_str(),
            );
            let mut page = PageCollector::new(query.limit, now);
            for entry in table.range(low..high).map_err(backend)?.rev() {
                if page.push(decode(entry.map_err(backend)?.1.value())?) {
                    break;
                }
            }
            Ok(page.finish())
        })
        .await
    }
}
