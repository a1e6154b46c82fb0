//! `GET /healthz` (the process answers) and `GET /readyz` (it can serve: the store answers a
//! read), for whatever supervises `xecure serve`. Neither goes through the gateway, the
//! authorizer or a rate limit, and neither says more than ready or not.

use super::message::gateway_message;
use lambda_http::http::header::{CACHE_CONTROL, RETRY_AFTER};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Response};
use xecure::ports::Store;

pub const HEALTH_PATH: &str = "/healthz";
pub const READY_PATH: &str = "/readyz";

fn no_store(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Liveness: the server is running and answering.
pub fn live() -> Response<Body> {
    no_store(gateway_message(200, "alive"))
}

/// Readiness: one read of the store (the signing keys, which every token needs), bounded by
/// the store's own timeouts (rule 18). 503 with Retry-After when it fails; the cause goes to
/// the log, not to the caller.
pub async fn ready(store: &dyn Store) -> Response<Body> {
    match store.list_signing_keys().await {
        Ok(_) => no_store(gateway_message(200, "ready")),
        Err(error) => {
            eprintln!("xecure serve: not ready: {error}");
            let mut response = no_store(gateway_message(503, "not ready"));
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xecure::store::dynamo::DynamoStore;

    #[tokio::test]
    async fn readiness_is_503_with_retry_after_when_the_store_does_not_answer() {
        // Nothing listens on port 1: every call is refused.
        let config = xecure::testing::moto::sdk_config_for("http://127.0.0.1:1");
        let store = DynamoStore::from_config(&config, "absent".to_owned());
        let response = ready(&store).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
        assert_eq!(live().status(), 200);
    }
}
