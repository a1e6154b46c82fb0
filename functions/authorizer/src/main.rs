//! The API Gateway Lambda authorizer: wiring only (design rule 1).

mod handler;

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    run(service_fn(handler::handle)).await
}
