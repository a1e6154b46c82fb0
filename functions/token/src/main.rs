//! The `token` Lambda: wiring only (design rule 1). `LambdaWiring` reads the configuration,
//! builds the DynamoDB store and the KMS key sealer, and loads the keyring once per cold start.

use lambda_http::{run, service_fn, Error};
use token::handler::{handle, TokenApp};
use token::limits::EdgeLimits;
use xecure::budget::{within_deadline, REQUEST_DEADLINE};
use xecure::config::RateLimitConfig;
use xecure::http::deadline_json;
use xecure::wiring::LambdaWiring;

// One thread: a Lambda container serves one request at a time, so worker threads only add
// wake-ups and context switches (warm CPU per invocation measured with
// infra/measure/footprint.py, README "Sizing"). Background work (the authorizer's revocation
// poll, the SDK's connection tasks) runs while the handler awaits; the hashing pool has its
// own threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let wiring = LambdaWiring::from_env("token").await?;
    // Per container (rule 19); API Gateway's throttling is the limit all containers share.
    let limits = EdgeLimits::new(&RateLimitConfig::from_env()?, wiring.deps.clock.clone());
    let app = TokenApp::new(wiring.token_service().await?).with_rate_limits(limits);
    run(service_fn(|request| {
        // Rule 18: a slow store gives a 503 before Lambda's timeout (see `budget`).
        let work = within_deadline(REQUEST_DEADLINE, handle(&app, request), || {
            Ok(deadline_json())
        });
        app.auditor().around("token", work)
    }))
    .await
}
