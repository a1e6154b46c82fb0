//! The `authorize` Lambda: wiring only (design rule 1).

use authorize::handler::handle;
use lambda_http::{run, service_fn, Error};
use xecure::budget::{within_deadline, REQUEST_DEADLINE};
use xecure::web::deadline_page;
use xecure::wiring::LambdaWiring;

// One thread: a Lambda container serves one request at a time, so worker threads only add
// wake-ups and context switches (warm CPU per invocation measured with
// infra/measure/footprint.py, README "Sizing"). Background work (the authorizer's revocation
// poll, the SDK's connection tasks) runs while the handler awaits; the hashing pool has its
// own threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let flow = LambdaWiring::from_env("authorize")
        .await?
        .authorization_flow()?;
    run(service_fn(|request| {
        // Rule 18: a slow store gives a 503 page before Lambda's timeout (see `budget`).
        let work = within_deadline(REQUEST_DEADLINE, handle(&flow, request), || {
            Ok(deadline_page())
        });
        flow.auditor().around("authorize", work)
    }))
    .await
}
