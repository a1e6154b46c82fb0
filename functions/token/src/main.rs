//! The `token` Lambda: wiring only (design rule 1). Reads configuration, builds the DynamoDB
//! store and the KMS key sealer, loads the keyring once per cold start, and serves.

use lambda_http::{run, service_fn, Error};
use std::sync::Arc;
use std::time::Duration;
use token::handler::{handle, TokenApp};
use token::limits::EdgeLimits;
use xecure::budget::{within_deadline, REQUEST_DEADLINE};
use xecure::config::{
    aws_sdk_config, kms_key_id_from_env, OAuthConfig, RateLimitConfig, StoreConfig,
};
use xecure::http::deadline_json;
use xecure::ports::SystemClock;
use xecure::signing::{KmsKeySealer, LiveKeyring};
use xecure::store::dynamo::DynamoStore;

/// Warm containers re-read the signing keys this often, so rotations reach them.
const KEYRING_RELOAD: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let config = OAuthConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(
        &aws,
        StoreConfig::from_env()?.table_name,
    ));
    let sealer = Arc::new(KmsKeySealer::from_config(&aws, kms_key_id_from_env()?));
    let clock = Arc::new(SystemClock);
    let keyring =
        LiveKeyring::load(store.clone(), Some(sealer), clock.clone(), KEYRING_RELOAD).await?;
    let catalogue = Arc::new(xecure::scopes::ScopeCatalogue::from_env()?);
    // Per container (rule 19); API Gateway's throttling is the limit all containers share.
    let limits = EdgeLimits::new(&RateLimitConfig::from_env()?, clock.clone());
    let app = TokenApp::over(store, keyring, config, clock, catalogue)
        .with_auditor(|auditor| xecure::audit::cloudwatch::for_lambda(auditor, &aws, "token"))
        .with_rate_limits(limits);
    run(service_fn(|request| {
        // Rule 18: a slow store gives a 503 before Lambda's timeout (see `budget`).
        let work = within_deadline(REQUEST_DEADLINE, handle(&app, request), || {
            Ok(deadline_json())
        });
        app.auditor().around("token", work)
    }))
    .await
}
