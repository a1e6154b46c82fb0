//! Revocations and audit records in DynamoDB.

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{audit_item, from_item, revocation_item, revoked_token_item, Item};
use super::{s, DynamoStore, QueryRequest, Written};
use crate::domain::{
    AuditEvent, AuditPage, AuditQuery, AuditSubject, Revocation, RevocationTarget, Timestamp,
};
use crate::ports::{AuditStore, RevocationStore, StoreError, StoreResult};
use crate::store::audit_page::{page_bounds, PageCollector};
use crate::store::keys::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use async_trait::async_trait;

/// TransactWriteItems takes at most 100 actions.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait]
impl RevocationStore for DynamoStore {
    /// A PutItem; for an access token, one TransactWriteItems with its marker (both new).
    async fn put_revocation(&self, revocation: &Revocation) -> StoreResult<bool> {
        let entry = self.put_op(revocation_item(revocation)?, Some(item_is_new()))?;
        let ops = match &revocation.target {
            RevocationTarget::AccessToken(jti) => {
                let marker = revoked_token_item(jti, revocation.expires_at);
                vec![self.put_op(marker, Some(item_is_new()))?, entry]
            }
            _ => vec![entry],
        };
        Ok(self.transact("TransactWriteItems(revocation)", ops).await? == Written::Yes)
    }

    /// One Query (paged) per revocation partition, all at once; sort key from `since`.
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>> {
        let mut shards = tokio::task::JoinSet::new();
        for shard in 0..keys::REVOCATION_SHARDS {
            let store = self.clone();
            let expr = Expr::key_condition("#pk = :pk AND #sk >= :since")
                .name("#pk", PK)
                .name("#sk", SK)
                .value(":pk", s(keys::revocations_in(shard)))
                .value(":since", s(since.sort_key()));
            shards.spawn(async move { store.query_all(None, expr).await });
        }
        let mut live = Vec::new();
        while let Some(items) = shards.join_next().await {
            let items = items.map_err(|e| {
                StoreError::Unavailable(format!("revocation query task failed: {e}"))
            })??;
            for item in items {
                let revocation: Revocation = from_item(item)?;
                if !revocation.expires_at.has_passed(now) {
                    live.push(revocation);
                }
            }
        }
        live.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(live)
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        match self.put(audit_item(event)?, Some(item_is_new())).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(format!(
                "audit event {}",
                event.id
            ))),
        }
    }

    /// One TransactWriteItems call (up to its 100-item limit) instead of a PutItem each.
    async fn append_audits(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if let [event] = events {
            return self.append_audit(event).await;
        }
        for chunk in events.chunks(MAX_TRANSACTION_ITEMS) {
            let puts = chunk
                .iter()
                .map(|event| self.put_op(audit_item(event)?, Some(item_is_new())))
                .collect::<StoreResult<Vec<_>>>()?;
            if let Written::ConditionFailed =
                self.transact("TransactWriteItems audit", puts).await?
            {
                return Err(StoreError::AlreadyExists("an audit event id".into()));
            }
        }
        Ok(())
    }

    /// Query on GSI1 (by user) or GSI2 (by client), newest first, BETWEEN the time bounds.
    async fn query_audit(&self, query: &AuditQuery, now: Timestamp) -> StoreResult<AuditPage> {
        let ((index, pk_name, sk_name), subject) = match &query.subject {
            AuditSubject::User(user) => ((GSI1, GSI1_PK, GSI1_SK), keys::audit_by_user(user)),
            AuditSubject::Client(client) => {
                ((GSI2, GSI2_PK, GSI2_SK), keys::audit_by_client(client))
            }
        };
        let bounds = page_bounds(query)?;
        // Sort keys are `<millis>#<id>`: "<from>" sorts before every key at `from`, and
        // "<below time>#<below id>" is excluded by asking for keys strictly below it.
        let below = format!("{}#{}", bounds.below.0.sort_key(), bounds.below.1);
        let expr = Expr::key_condition("#pk = :pk AND #sk BETWEEN :low AND :high")
            .name("#pk", pk_name)
            .name("#sk", sk_name)
            .value(":pk", s(subject))
            .value(":low", s(bounds.from.sort_key()))
            .value(":high", s(below.clone()))
            .checked()?;
        let limit = i32::try_from(query.limit + 1).unwrap_or(i32::MAX);
        let request = QueryRequest {
            index: Some(index),
            expr,
            backwards: true,
            limit: Some(limit),
        };
        let mut page = PageCollector::new(query.limit, now);
        let mut start: Option<Item> = None;
        loop {
            let (items, next) = self.query_page(&request, start.take()).await?;
            for item in items {
                if item.get(sk_name).and_then(|v| v.as_s().ok()) == Some(&below) {
                    continue; // BETWEEN is inclusive; the cursor's own record was on the last page
                }
                if page.push(from_item(item)?) {
                    return Ok(page.finish());
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(page.finish()),
            }
        }
    }
}
