//! Revocations and audit records in the embedded store.

use super::{
    backend, decode, encode, insert_revocation, AuditIndex, EmbeddedStore, Expiring, AUDIT_ALL,
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
use redb::{Durability, ReadableTable};
use std::sync::atomic::Ordering;

/// Longest time an audit record may stay only in memory and on stdout.
const AUDIT_FLUSH_INTERVAL_MS: i64 = 1000;

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
    /// Group durability: an fsync per audit record would cap a local server near 1,000
    /// tokens/s, so an append commits durably only if the last durable one is over
    /// `AUDIT_FLUSH_INTERVAL` old; the ones between become durable with the next durable commit
    /// of any kind. A crash of a local server can lose at most that interval of audit records
    /// from the file; each was already written as a JSON line to stdout. (The DynamoDB store
    /// writes every record durably.)
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let event = event.clone();
        let bytes = encode(&event)?;
        let last = self.last_durable_audit.load(Ordering::Relaxed);
        let durable = event.at.as_millis().saturating_sub(last) >= AUDIT_FLUSH_INTERVAL_MS
            || event.at.as_millis() < last;
        if durable {
            self.last_durable_audit
                .store(event.at.as_millis(), Ordering::Relaxed);
        }
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        self.write_with(durability, move |txn| {
            let key = |subject: &str| {
                (
                    subject.to_owned(),
                    event.at.as_millis(),
                    event.id.to_string(),
                )
            };
            let mut indexes: Vec<(AuditIndex, (String, i64, String))> = vec![(AUDIT_ALL, key(""))];
            if let Some(user) = &event.user_id {
                indexes.push((AUDIT_BY_USER, key(user.as_str())));
            }
            if let Some(client) = &event.client_id {
                indexes.push((AUDIT_BY_CLIENT, key(client.as_str())));
            }
            for (index, (subject, at, id)) in indexes {
                txn.open_table(index)
                    .map_err(backend)?
                    .insert((subject.as_str(), at, id.as_str()), bytes.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
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
