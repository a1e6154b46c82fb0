//! The `consent` Lambda: wiring only (design rule 1).

use consent::handler::handle;
use lambda_http::{run, service_fn, Error};
use xecure::budget::{within_deadline, REQUEST_DEADLINE};
use xecure::web::deadline_page;
use xecure::wiring::LambdaWiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let flow = LambdaWiring::from_env("consent")
        .await?
        .authorization_flow()?;
    run(service_fn(|request| {
        // Rule 18: a slow store gives a 503 page before Lambda's timeout (see `budget`).
        let work = within_deadline(REQUEST_DEADLINE, handle(&flow, request), || {
            Ok(deadline_page())
        });
        flow.auditor().around("consent", work)
    }))
    .await
}
