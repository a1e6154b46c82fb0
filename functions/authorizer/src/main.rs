//! The API Gateway Lambda authorizer: wiring only (design rule 1). `authorizer_from_env`
//! loads the route table and the published keys once per cold start.

use authorizer::handler::{handle, AuthorizerApp};
use lambda_runtime::{run, service_fn, Error};

// One thread: a Lambda container serves one request at a time, so worker threads only add
// wake-ups and context switches (warm CPU per invocation measured with
// infra/measure/footprint.py, README "Sizing"). Background work (the authorizer's revocation
// poll, the SDK's connection tasks) runs while the handler awaits; the hashing pool has its
// own threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    xecure::telemetry::init_json_logs();
    let gateway = xecure::wiring::authorizer_from_env().await?;
    let http_simple = std::env::var("XECURE_HTTP_API_RESPONSE").is_ok_and(|v| v == "simple");
    let app = AuthorizerApp {
        authorizer: gateway,
        http_simple,
    };
    run(service_fn(|event| handle(&app, event))).await
}
