//! Event in, decision, response out, and one JSON decision line on stdout. Never panics:
//! every failure is a denial (design rule 7).

use crate::events::{parse_event, respond, Refusal};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use std::io::Write;
use std::time::Instant;
use xecure::authorizer::Authorizer;

/// API Gateway answers 401 when a REST authorizer fails with exactly this message.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The error of a fail-closed decision: anything but `Unauthorized` (see `Refusal`).
pub const UNAVAILABLE: &str = "Authorizer unavailable: failing closed";

pub struct AuthorizerApp {
    pub authorizer: Authorizer,
    /// `XECURE_HTTP_API_RESPONSE=simple`: answer payload 2.0 events with `isAuthorized`.
    pub http_simple: bool,
}

/// The decision and the response, without the Lambda runtime (benchmarks call this).
pub async fn decide(app: &AuthorizerApp, event: Value) -> (Result<Value, Refusal>, Value) {
    decide_in(app, event, None).await
}

/// As `decide`; `lambda_request_id` stands in for the request id events without one lack.
async fn decide_in(
    app: &AuthorizerApp,
    event: Value,
    lambda_request_id: Option<&str>,
) -> (Result<Value, Refusal>, Value) {
    let started = Instant::now();
    let mut input = parse_event(event, app.http_simple);
    if input.context.request_id.is_none() {
        input.context.request_id = lambda_request_id.map(str::to_owned);
    }
    let decision = app
        .authorizer
        .decide_call(&input.presented(), input.arn.as_deref())
        .await;
    let response = respond(input.kind, &decision, input.arn.as_deref());
    let line = decision.log_line(started.elapsed(), &input.context, app.authorizer.now());
    (response, line)
}

pub async fn handle(app: &AuthorizerApp, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (response, log_line) =
        decide_in(app, event.payload, Some(event.context.request_id.as_str())).await;
    // One line straight to stdout: CloudWatch Logs ingests it, no SDK call on the hot path.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{log_line}");
    response.map_err(|refusal| match refusal {
        Refusal::Unauthorized => Error::from(UNAUTHORIZED),
        Refusal::Unavailable => Error::from(UNAVAILABLE),
    })
}
