//! The `consent` Lambda: wiring only (design rule 1).

mod handler;

use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    run(service_fn(handler::handle)).await
}
