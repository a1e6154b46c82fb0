//! The DynamoDB store: one table, key formats from `store::keys`, conditional and
//! transactional writes wherever a rule needs atomicity. Round trips per operation are listed
//! in the README's schema table.

mod accounts;
mod expr;
mod interaction;
mod items;
mod proofs;
mod records;
mod registration;
mod table;
mod throttle;
mod tokens;

use crate::ports::{StoreError, StoreResult};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use expr::Expr;
use items::{key_attributes, Item};
use std::time::Duration;

use super::keys::ItemKey;

/// A busy item makes DynamoDB cancel a transaction with `TransactionConflict`; such a
/// transaction had no effect and is safe to retry.
const CONFLICT_RETRIES: u32 = 6;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// How a transactional write ended, when it reached DynamoDB.
#[derive(Debug, PartialEq, Eq)]
enum Written {
    Yes,
    /// A condition did not hold: nothing was written; read and decide why.
    ConditionFailed,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// A client from the shared AWS configuration (region, credentials, and
    /// `AWS_ENDPOINT_URL` for a local DynamoDB-compatible server).
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoStore::new(Client::new(config), table)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    async fn get(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(output.item)
    }

    /// Writes `item`, only if `condition` holds. Ok(false) if it did not.
    async fn put(&self, item: Item, condition: Option<Expr>) -> StoreResult<bool> {
        let condition = condition.map(Expr::checked).transpose()?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.as_ref().and_then(|c| c.condition.clone()))
            .set_expression_attribute_names(condition.as_ref().and_then(Expr::names_or_none))
            .set_expression_attribute_values(condition.as_ref().and_then(Expr::values_or_none));
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// Deletes the item; true if it existed.
    async fn delete(&self, key: &ItemKey) -> StoreResult<bool> {
        Ok(self.take(key).await?.is_some())
    }

    /// Deletes the item and returns what it held: of concurrent takers, one gets it.
    async fn take(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
        self.take_if(key, None).await
    }

    /// As `take`, only if `condition` holds; None (nothing deleted) if it does not.
    async fn take_if(&self, key: &ItemKey, condition: Option<Expr>) -> StoreResult<Option<Item>> {
        let condition = condition.map(Expr::checked).transpose()?;
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition.as_ref().and_then(|c| c.condition.clone()))
            .set_expression_attribute_names(condition.as_ref().and_then(Expr::names_or_none))
            .set_expression_attribute_values(condition.as_ref().and_then(Expr::values_or_none))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        match request.send().await {
            Ok(output) => Ok(output.attributes.filter(|item| !item.is_empty())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("DeleteItem", e)),
        }
    }

    /// One all-or-nothing TransactWriteItems call, retried only on transaction conflicts.
    async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Written> {
        for attempt in 0..CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Written::Yes),
                Err(error) => error,
            };
            let reasons: Vec<String> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .filter_map(|r| r.code().map(str::to_owned))
                    .collect(),
                _ => return Err(unavailable(operation, error)),
            };
            if reasons.iter().any(|code| code == "ConditionalCheckFailed") {
                return Ok(Written::ConditionFailed);
            }
            if !reasons.iter().any(|code| code == "TransactionConflict") {
                return Err(unavailable(operation, error));
            }
            tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB {operation}: transaction conflicted {CONFLICT_RETRIES} times"
        )))
    }

    fn put_op(&self, item: Item, condition: Option<Expr>) -> StoreResult<TransactWriteItem> {
        let condition = condition.map(Expr::checked).transpose()?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.as_ref().and_then(|c| c.condition.clone()))
            .set_expression_attribute_names(condition.as_ref().and_then(Expr::names_or_none))
            .set_expression_attribute_values(condition.as_ref().and_then(Expr::values_or_none))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn update_op(&self, key: &ItemKey, expr: Expr) -> StoreResult<TransactWriteItem> {
        let expr = expr.checked()?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names_or_none())
            .set_expression_attribute_values(expr.values_or_none())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn delete_op(&self, key: &ItemKey, condition: Expr) -> StoreResult<TransactWriteItem> {
        let condition = condition.checked()?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition.condition.clone())
            .set_expression_attribute_names(condition.names_or_none())
            .set_expression_attribute_values(condition.values_or_none())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    fn check_op(&self, key: &ItemKey, expr: Expr) -> StoreResult<TransactWriteItem> {
        let expr = expr.checked()?;
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names_or_none())
            .set_expression_attribute_values(expr.values_or_none())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// One page of a Query. `backwards` reads the sort key in descending order; `limit`
    /// bounds the items evaluated.
    async fn query_page(
        &self,
        request: &QueryRequest<'_>,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let expr = &request.expr;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(request.index.map(str::to_owned))
            .scan_index_forward(!request.backwards)
            .set_limit(request.limit)
            .set_key_condition_expression(expr.key_condition.clone())
            .set_expression_attribute_names(expr.names_or_none())
            .set_expression_attribute_values(expr.values_or_none())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        let next = output.last_evaluated_key.filter(|key| !key.is_empty());
        Ok((output.items.unwrap_or_default(), next))
    }

    /// A query read newest first (descending sort key), page by page, `page` items a page.
    fn query_backwards<'a>(
        &self,
        index: Option<&'a str>,
        expr: Expr,
        page: usize,
    ) -> StoreResult<Pages<'a>> {
        Ok(Pages {
            request: QueryRequest {
                index,
                expr: expr.checked()?,
                backwards: true,
                limit: Some(i32::try_from(page.max(1)).unwrap_or(i32::MAX)),
            },
            start: None,
            done: false,
        })
    }

    /// Runs a query to the end, following LastEvaluatedKey.
    async fn query_all(&self, index: Option<&str>, expr: Expr) -> StoreResult<Vec<Item>> {
        let request = QueryRequest {
            index,
            expr: expr.checked()?,
            backwards: false,
            limit: None,
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_page(&request, start).await?;
            items.extend(page);
            match next {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }
}

/// A query read page by page (`query_backwards`).
struct Pages<'a> {
    request: QueryRequest<'a>,
    start: Option<Item>,
    done: bool,
}

impl Pages<'_> {
    /// The next page, or None after the last.
    async fn next_page(&mut self, store: &DynamoStore) -> StoreResult<Option<Vec<Item>>> {
        if self.done {
            return Ok(None);
        }
        let (items, next) = store.query_page(&self.request, self.start.take()).await?;
        self.done = next.is_none();
        self.start = next;
        Ok(Some(items))
    }
}

/// A Query's fixed parts; the start key changes from page to page.
struct QueryRequest<'a> {
    index: Option<&'a str>,
    expr: Expr,
    backwards: bool,
    limit: Option<i32>,
}

fn unavailable<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(format!(
        "DynamoDB {operation}: {}",
        DisplayErrorContext(&error)
    ))
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::InvalidRequest(format!("cannot build DynamoDB request: {error}"))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientId;
    use crate::ports::ClientStore;
    use crate::store::contract::contract_suite;
    use crate::testing::moto;

    contract_suite!(moto::fresh_store());

    fn store_at(endpoint: &str, table: &str) -> DynamoStore {
        DynamoStore::from_config(&moto::sdk_config_for(endpoint), table)
    }

    #[tokio::test]
    async fn missing_table_is_a_typed_error() {
        let store = store_at(&moto::endpoint(), &moto::unique_name("missing"));
        let read = store.get_client(&ClientId::parse("a").unwrap()).await;
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_a_typed_error() {
        // Bind then drop a listener: nothing listens on that port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = store_at(&format!("http://127.0.0.1:{port}"), "t");
        let read = store.get_client(&ClientId::parse("a").unwrap()).await;
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    }

    #[tokio::test]
    async fn created_table_has_the_documented_schema() {
        let store = moto::fresh_store().await;
        let table = store
            .client
            .describe_table()
            .table_name(store.table_name())
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let mut indexes: Vec<String> = table
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_owned))
            .collect();
        indexes.sort();
        assert_eq!(indexes, ["GSI1", "GSI2"]);
        let ttl = store
            .client
            .describe_time_to_live()
            .table_name(store.table_name())
            .send()
            .await
            .unwrap();
        assert_eq!(
            ttl.time_to_live_description()
                .and_then(|d| d.attribute_name()),
            Some("ttl")
        );
        store.delete_table().await.unwrap();
    }
}
