//! The authorizer decision. Token validation and route policies arrive with issue 5; until
//! then it fails closed: every request gets the exact `Unauthorized` error API Gateway turns
//! into a 401 (design rule 7), and it never panics on any input.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

/// API Gateway answers 401 when a REST authorizer fails with exactly this message.
pub const UNAUTHORIZED: &str = "Unauthorized";

pub async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let route = event
        .payload
        .get("methodArn")
        .or_else(|| event.payload.get("routeArn"))
        .and_then(Value::as_str);
    tracing::info!(
        decision = "deny",
        reason = "authorizer_not_configured",
        route,
        "authorizer decision"
    );
    Err(Error::from(UNAUTHORIZED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fails_closed_with_unauthorized() {
        let event = LambdaEvent::new(
            serde_json::json!({"type": "TOKEN", "authorizationToken": "Bearer x", "methodArn": "arn:aws:execute-api:us-east-1:1:a/prod/GET/me"}),
            lambda_runtime::Context::default(),
        );
        let error = handle(event).await.unwrap_err();
        assert_eq!(error.to_string(), UNAUTHORIZED);
    }
}
