//! Event in, decision, response out, and one JSON decision line on stdout. Never panics:
//! every failure is a denial (design rule 7).

use crate::events::{parse_event, respond, Unauthorized};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use std::io::Write;
use std::time::Instant;
use xecure::gateway::Gateway;

/// API Gateway answers 401 when a REST authorizer fails with exactly this message.
pub const UNAUTHORIZED: &str = "Unauthorized";

pub struct AuthorizerApp {
    pub gateway: Gateway,
    /// `XECURE_HTTP_API_RESPONSE=simple`: answer payload 2.0 events with `isAuthorized`.
    pub http_simple: bool,
}

/// The decision and the response, without the Lambda runtime (benchmarks call this).
pub async fn decide(app: &AuthorizerApp, event: Value) -> (Result<Value, Unauthorized>, Value) {
    let started = Instant::now();
    let input = parse_event(event, app.http_simple);
    let authorization = input.authorization.as_deref().map_err(|e| *e);
    let decision = app
        .gateway
        .decide(authorization, input.arn.as_deref())
        .await;
    let response = respond(input.kind, &decision, input.arn.as_deref());
    (response, decision.log_line(started.elapsed()))
}

pub async fn handle(app: &AuthorizerApp, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (response, log_line) = decide(app, event.payload).await;
    // One line straight to stdout: CloudWatch Logs ingests it, no SDK call on the hot path.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{log_line}");
    response.map_err(|Unauthorized| Error::from(UNAUTHORIZED))
}
