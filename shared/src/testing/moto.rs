//! Test support for talking to the real DynamoDB and KMS APIs that `tests/run.sh` serves with
//! moto. These helpers never skip: without the endpoint they panic with what to run.

use crate::store::dynamo::DynamoStore;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
    SharedCredentialsProvider,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Set by `tests/run.sh`, which starts moto in server mode on a free loopback port.
pub const ENDPOINT_VARIABLE: &str = "XECURE_TEST_DYNAMODB_ENDPOINT";

pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VARIABLE)
        .unwrap_or_else(|_| panic!("{ENDPOINT_VARIABLE} is not set: run these tests through `bash tests/run.sh`, which starts moto"))
}

/// SDK configuration pointing at `endpoint` with dummy credentials.
pub fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "xecure-tests",
        )))
        .build()
}

pub fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_for(&endpoint())
}

pub fn unique_name(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("OS randomness");
    crate::lower_hex::prefixed_lower_hex(&format!("{prefix}-"), &bytes)
}

/// A new table on moto, with the schema the store expects.
pub async fn fresh_store() -> DynamoStore {
    fresh_store_with(None).await
}

/// As `fresh_store`, counting every DynamoDB call the store makes.
pub async fn fresh_store_with(counter: Option<CallCounter>) -> DynamoStore {
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config());
    if let Some(counter) = counter {
        config = config.interceptor(counter);
    }
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config.build()),
        unique_name("xecure-test"),
    );
    store
        .create_table_if_missing()
        .await
        .expect("create the test table: is moto running?");
    store
}

/// A fresh symmetric KMS key on moto, for the KMS key sealer.
pub async fn fresh_kms_key() -> (aws_config::SdkConfig, String) {
    let config = sdk_config();
    let key = aws_sdk_kms::Client::new(&config)
        .create_key()
        .description("xecure test signing-key envelope")
        .send()
        .await
        .expect("create a KMS key on moto");
    let key_id = key
        .key_metadata
        .map(|meta| meta.key_id)
        .expect("KMS returned key metadata");
    (config, key_id)
}

/// Counts DynamoDB calls by operation (`GetItem`, `TransactWriteItems`, ...).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, usize>>>);

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn total(&self) -> usize {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "xecure-call-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // `X-Amz-Target: DynamoDB_20120810.GetItem` names the operation.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}
