//! Event in, decision, response out, and one JSON decision line on stdout. Never panics:
//! every failure is a denial (design rule 7).

use crate::events::{parse_event, respond, Refusal};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::value::RawValue;
use serde_json::Value;
use std::io::Write;
use std::time::{Duration, Instant};
use xecure::audit::RequestContext;
use xecure::authorizer::decision_line::DecisionLine;
use xecure::authorizer::{Authorizer, Decision};
use xecure::domain::Timestamp;

/// API Gateway answers 401 when a REST authorizer fails with exactly this message.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The error of a fail-closed decision: anything but `Unauthorized` (see `Refusal`).
pub const UNAVAILABLE: &str = "Authorizer unavailable: failing closed";

pub struct AuthorizerApp {
    pub authorizer: Authorizer,
    /// `XECURE_HTTP_API_RESPONSE=simple`: answer payload 2.0 events with `isAuthorized`.
    pub http_simple: bool,
}

/// One decided call: the answer for API Gateway (JSON text) and what its log line reports.
pub struct Answer {
    pub response: Result<Box<RawValue>, Refusal>,
    decision: Decision,
    context: RequestContext,
    latency: Duration,
    at: Timestamp,
}

impl Answer {
    /// The decision line (`serde_json::to_writer` writes it).
    pub fn log_line(&self) -> DecisionLine<'_> {
        self.decision.log_line(self.latency, &self.context, self.at)
    }
}

/// The decision and the response for an event's JSON text, without the Lambda runtime
/// (benchmarks call this).
pub async fn decide(app: &AuthorizerApp, event: &str) -> Answer {
    decide_in(app, event, None).await
}

/// As `decide`, for an event built as a JSON value, with the answer and the log line as
/// values too: the local gateway and the tests, which read their members.
pub async fn decide_value(app: &AuthorizerApp, event: &Value) -> (Result<Value, Refusal>, Value) {
    let answer = decide(app, &event.to_string()).await;
    let response = answer
        .response
        .as_ref()
        .map_err(|refusal| *refusal)
        .and_then(|text| serde_json::from_str(text.get()).map_err(|_| Refusal::Unavailable));
    let line = serde_json::to_value(answer.log_line()).unwrap_or_default();
    (response, line)
}

/// As `decide`; `lambda_request_id` stands in for the request id events without one lack.
async fn decide_in(app: &AuthorizerApp, event: &str, lambda_request_id: Option<&str>) -> Answer {
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
    Answer {
        response,
        decision,
        context: input.context,
        latency: started.elapsed(),
        at: app.authorizer.now(),
    }
}

pub async fn handle(
    app: &AuthorizerApp,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Error> {
    let answer = decide_in(
        app,
        event.payload.get(),
        Some(event.context.request_id.as_str()),
    )
    .await;
    // One line straight to stdout: CloudWatch Logs ingests it, no SDK call on the hot path.
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &answer.log_line());
    let _ = out.write_all(b"\n");
    drop(out);
    answer.response.map_err(|refusal| match refusal {
        Refusal::Unauthorized => Error::from(UNAUTHORIZED),
        Refusal::Unavailable => Error::from(UNAVAILABLE),
    })
}
