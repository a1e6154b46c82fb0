//! Creating the table, for local runs and tests. In AWS the SAM template creates it with the
//! same keys, indexes and TTL attribute.

use super::{unavailable, DynamoStore};
use crate::ports::StoreResult;
use crate::store::keys::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

fn key_schema(partition: &str, sort: &str) -> StoreResult<Vec<KeySchemaElement>> {
    let element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(super::build_error)
    };
    Ok(vec![
        element(partition, KeyType::Hash)?,
        element(sort, KeyType::Range)?,
    ])
}

fn index(name: &str, partition: &str, sort: &str) -> StoreResult<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(key_schema(partition, sort)?))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(super::build_error)
}

impl DynamoStore {
    /// Creates the table (on-demand, two overloaded GSIs, TTL on `ttl`) if it does not exist.
    pub async fn create_table_if_missing(&self) -> StoreResult<()> {
        let exists = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        match exists {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) => {}
            Err(e) => return Err(unavailable("DescribeTable", e)),
        }
        let attributes = [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK]
            .into_iter()
            .map(|name| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(super::build_error)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(key_schema(PK, SK)?))
            .global_secondary_indexes(index(GSI1, GSI1_PK, GSI1_SK)?)
            .global_secondary_indexes(index(GSI2, GSI2_PK, GSI2_SK)?)
            .send()
            .await
            .map_err(|e| unavailable("CreateTable", e))?;
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(TTL)
            .enabled(true)
            .build()
            .map_err(super::build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| unavailable("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// Deletes the table: test clean-up only.
    pub async fn delete_table(&self) -> StoreResult<()> {
        self.client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| unavailable("DeleteTable", e))?;
        Ok(())
    }
}
