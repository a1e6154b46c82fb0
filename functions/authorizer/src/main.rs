//! The API Gateway Lambda authorizer: wiring only (design rule 1). Loads the route table and
//! the published keys once per cold start.

use authorizer::handler::{handle, AuthorizerApp};
use lambda_runtime::{run, service_fn, Error};
use std::sync::Arc;
use xecure::config::{aws_sdk_config, StoreConfig};
use xecure::gateway::routes::RouteTable;
use xecure::gateway::{Gateway, GatewayConfig};
use xecure::ports::SystemClock;
use xecure::store::dynamo::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let config = GatewayConfig::from_env()?;
    let routes = Arc::new(RouteTable::from_env()?);
    let aws = aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(
        &aws,
        StoreConfig::from_env()?.table_name,
    ));
    let gateway =
        Gateway::load(store.clone(), store, routes, config, Arc::new(SystemClock)).await?;
    let http_simple = std::env::var("XECURE_HTTP_API_RESPONSE").is_ok_and(|v| v == "simple");
    let app = AuthorizerApp {
        gateway,
        http_simple,
    };
    run(service_fn(|event| handle(&app, event))).await
}
