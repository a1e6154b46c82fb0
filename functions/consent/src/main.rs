//! The `consent` Lambda: wiring only (design rule 1).

use consent::handler::handle;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let flow = xecure::web::lambda::flow_from_env("consent").await?;
    run(service_fn(|request| {
        flow.auditor().around("consent", handle(&flow, request))
    }))
    .await
}
