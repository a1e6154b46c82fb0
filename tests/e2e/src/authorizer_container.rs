//! The authorizer's view of an access token, as API Gateway would ask for it.

use std::sync::Arc;
use xecure::authorizer::routes::RouteTable;
use xecure::authorizer::{Authorizer, AuthorizerConfig, Verdict};
use xecure::config::OAuthConfig;
use xecure::ports::{Clock, Store, SystemClock};

/// The verdict on `method path` of the demo API with `token`, from an authorizer container
/// that starts now: its first call reads the revocation list, as every container does within
/// the revocation bound.
pub async fn api_verdict(store: Arc<dyn Store>, token: &str, method: &str, path: &str) -> Verdict {
    verdict_of(
        &authorizer_container(store, Arc::new(SystemClock)).await,
        token,
        method,
        path,
    )
    .await
}

/// An authorizer container started at `clock`'s now: it has read the published keys and
/// keeps them.
pub async fn authorizer_container(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Authorizer {
    Authorizer::load(
        store.clone(),
        store.clone(),
        store,
        Arc::new(RouteTable::built_in().expect("the route table")),
        AuthorizerConfig::new(&OAuthConfig::for_issuer(crate::ISSUER)),
        clock,
    )
    .await
    .expect("the gateway loads the published keys")
}

/// The verdict of an already running authorizer container on `method path` with `token`.
pub async fn verdict_of(gateway: &Authorizer, token: &str, method: &str, path: &str) -> Verdict {
    let arn = format!("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/{method}{path}");
    gateway.decide(Ok(token), Some(&arn)).await.verdict
}

/// Did the gateway let the call through?
pub fn allowed(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Allow { .. })
}

/// Was the token refused as revoked (401, not a scope problem)?
pub fn revoked(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Unauthorized { reason } if reason == "revoked")
}
