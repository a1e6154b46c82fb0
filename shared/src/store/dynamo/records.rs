//! Revocations and audit records in DynamoDB.

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{audit_item, from_item, revocation_item, revoked_token_item, Item};
use super::{s, DynamoStore, QueryRequest, Written};
use crate::domain::{
    AuditEvent, AuditPage, AuditQuery, AuditSubject, Revocation, RevocationTarget, Timestamp,
};
use crate::ports::RevocationWriter;
use crate::ports::{AuditStore, RevocationStore, StoreError, StoreResult};
use crate::store::audit_page::{page_bounds, PageCollector};
use crate::store::keys::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK};
use async_trait::async_trait;

/// TransactWriteItems takes at most 100 actions.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait]
impl RevocationStore for DynamoStore {
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
impl RevocationWriter for DynamoStore {
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

    /// Query on GSI1 (by user) or GSI2 (by client), newest first, BETWEEN the time bounds;
    /// for every record, one Query per day and shard of the range's time partitions (newest
    /// day first, the shards of a day merged), until the page is full.
    async fn query_audit(&self, query: &AuditQuery, now: Timestamp) -> StoreResult<AuditPage> {
        let bounds = page_bounds(query)?;
        let mut page = PageCollector::new(query.limit, now);
        let subject = match &query.subject {
            AuditSubject::User(user) => Partition::index(GSI1, keys::audit_by_user(user)),
            AuditSubject::Client(client) => Partition::index(GSI2, keys::audit_by_client(client)),
            AuditSubject::All => {
                let mut day = bounds.below.0;
                for _ in 0..MAX_AUDIT_DAYS {
                    let mut merged = Vec::new();
                    for shard in 0..keys::AUDIT_SHARDS {
                        let partition =
                            Partition::table(keys::audit_partition(&day.utc_day(), shard));
                        merged.extend(
                            self.audit_partition(&partition, &bounds, query.limit, now)
                                .await?,
                        );
                    }
                    merged.sort_by(|a, b| b.0.cmp(&a.0));
                    for (_, event) in merged {
                        if page.push(event) {
                            return Ok(page.finish());
                        }
                    }
                    day = day.start_of_previous_utc_day();
                    if day.utc_day() < bounds.from.utc_day() {
                        break;
                    }
                }
                return Ok(page.finish());
            }
        };
        for (_, event) in self
            .audit_partition(&subject, &bounds, query.limit, now)
            .await?
        {
            if page.push(event) {
                break;
            }
        }
        Ok(page.finish())
    }
}

/// Days of partitions one query walks at most: more than any retention (400 days by
/// default), so a range reaching back further costs no more.
const MAX_AUDIT_DAYS: usize = 800;

/// One partition of audit records: an index's (a subject) or the table's (a day's shard).
struct Partition {
    index: Option<&'static str>,
    pk_name: &'static str,
    sk_name: &'static str,
    pk: String,
}

impl Partition {
    fn index(index: &'static str, pk: String) -> Self {
        let (pk_name, sk_name) = if index == GSI1 {
            (GSI1_PK, GSI1_SK)
        } else {
            (GSI2_PK, GSI2_SK)
        };
        Partition {
            index: Some(index),
            pk_name,
            sk_name,
            pk,
        }
    }

    fn table(pk: String) -> Self {
        Partition {
            index: None,
            pk_name: PK,
            sk_name: SK,
            pk,
        }
    }
}

impl DynamoStore {
    /// Up to `limit + 1` unexpired records of one partition within the bounds, newest first,
    /// each with its sort key (`<millis>#<id>`): enough to fill a page and know whether
    /// another follows. Sort keys below "<below time>#<below id>" are asked for; BETWEEN is
    /// inclusive, so the cursor's own record (on the last page) is skipped.
    async fn audit_partition(
        &self,
        partition: &Partition,
        bounds: &crate::store::audit_page::PageBounds,
        limit: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<(String, AuditEvent)>> {
        let below = format!("{}#{}", bounds.below.0.sort_key(), bounds.below.1);
        let expr = Expr::key_condition("#pk = :pk AND #sk BETWEEN :low AND :high")
            .name("#pk", partition.pk_name)
            .name("#sk", partition.sk_name)
            .value(":pk", s(partition.pk.clone()))
            .value(":low", s(bounds.from.sort_key()))
            .value(":high", s(below.clone()))
            .checked()?;
        let request = QueryRequest {
            index: partition.index,
            expr,
            backwards: true,
            limit: Some(i32::try_from(limit + 1).unwrap_or(i32::MAX)),
        };
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (items, next) = self.query_page(&request, start.take()).await?;
            for item in items {
                let sort = item
                    .get(partition.sk_name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if sort == below {
                    continue;
                }
                let event: AuditEvent = from_item(item)?;
                if !event.expires_at.has_passed(now) {
                    found.push((sort, event));
                }
                if found.len() > limit {
                    return Ok(found);
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }
}
