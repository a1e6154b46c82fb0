//! Revocations and audit records in DynamoDB.

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{audit_item, from_item, revocation_item, Item};
use super::{s, unavailable, DynamoStore};
use crate::domain::{AuditEvent, AuditPage, AuditQuery, AuditSubject, Revocation, Timestamp};
use crate::ports::{AuditStore, RevocationStore, StoreError, StoreResult};
use crate::store::audit_page::{page_bounds, PageCollector};
use crate::store::keys::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use async_trait::async_trait;

#[async_trait]
impl RevocationStore for DynamoStore {
    async fn put_revocation(&self, revocation: &Revocation) -> StoreResult<()> {
        match self
            .put(revocation_item(revocation)?, Some(item_is_new()))
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(format!(
                "revocation {}",
                revocation.id
            ))),
        }
    }

    /// One Query (paged) on the revocations partition, sort key from `since`.
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>> {
        let expr = Expr::key_condition("#pk = :pk AND #sk >= :since")
            .name("#pk", PK)
            .name("#sk", SK)
            .value(":pk", s(keys::REVOCATIONS))
            .value(":since", s(since.sort_key()));
        let mut live = Vec::new();
        for item in self.query_all(None, expr).await? {
            let revocation: Revocation = from_item(item)?;
            if !revocation.expires_at.has_passed(now) {
                live.push(revocation);
            }
        }
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
        let mut page = PageCollector::new(query.limit, now);
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(false)
                .limit(i32::try_from(query.limit + 1).unwrap_or(i32::MAX))
                .set_key_condition_expression(expr.key_condition.clone())
                .set_expression_attribute_names(expr.names_or_none())
                .set_expression_attribute_values(expr.values_or_none())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for item in output.items.unwrap_or_default() {
                if item.get(sk_name).and_then(|v| v.as_s().ok()) == Some(&below) {
                    continue; // BETWEEN is inclusive; the cursor's own record was on the last page
                }
                if page.push(from_item(item)?) {
                    return Ok(page.finish());
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(page.finish()),
            }
        }
    }
}
