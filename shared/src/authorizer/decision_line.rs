//! The authorizer's one JSON line per decision, on stdout (the authorizer's Lambda log group):
//! the same field names as audit records (`kind`, `outcome`, `reason`, `user_id`,
//! `client_id`, `detail.route`), so one saved query reads both, plus metrics in embedded
//! metric format. Decisions are not written to the table: a write per API call would cost
//! more than the call it guards. The line is a typed record serialized straight to its
//! writer: no JSON tree is built per call (issue #21 goal 1).

use super::{Decision, Verdict};
use crate::audit::metrics::{names, Directive, Metadata, Unit};
use crate::audit::RequestContext;
use crate::domain::{Timestamp, TokenDigest};
use serde::Serialize;
use std::time::Duration;

/// `AuthorizerDecisions` by decision, and by decision and reason.
const DECISION_DIMENSIONS: &[&[&str]] = &[&["Decision"], &["Decision", "Reason"]];
const FUNCTION_DIMENSIONS: &[&[&str]] = &[&["Function"]];
const NO_DIMENSIONS: &[&[&str]] = &[&[]];

const DECISIONS: Directive<'static> = Directive::new(
    names::AUTHORIZER_DECISIONS,
    Unit::Count,
    DECISION_DIMENSIONS,
);
const LATENCY: Directive<'static> =
    Directive::new(names::LATENCY, Unit::Milliseconds, FUNCTION_DIMENSIONS);

/// The metrics of every decision line.
static DECIDED: [Directive<'static>; 2] = [DECISIONS, LATENCY];
/// The same and `AuthorizerFailClosed`, which the template's alarm watches.
static FAILED_CLOSED: [Directive<'static>; 3] = [
    DECISIONS,
    LATENCY,
    Directive::new(names::AUTHORIZER_FAIL_CLOSED, Unit::Count, NO_DIMENSIONS),
];

/// One decision as logged. Serialize it (`serde_json::to_writer`) to write the line.
#[derive(Debug, Serialize)]
pub struct DecisionLine<'a> {
    kind: &'static str,
    outcome: &'static str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    detail: Detail<'a>,
    latency_us: u64,
    // Embedded metric format: the dimensions are properties of the line, the metrics members
    // named in `_aws`.
    #[serde(rename = "Decision")]
    decision: &'static str,
    #[serde(rename = "Reason")]
    reason_dimension: &'a str,
    #[serde(rename = "Function")]
    function: &'static str,
    #[serde(rename = "AuthorizerDecisions")]
    decisions: f64,
    #[serde(rename = "Latency")]
    latency_ms: f64,
    #[serde(
        rename = "AuthorizerFailClosed",
        skip_serializing_if = "Option::is_none"
    )]
    failed_closed: Option<f64>,
    #[serde(rename = "_aws")]
    metadata: Metadata<'static>,
}

#[derive(Debug, Serialize)]
struct Detail<'a> {
    route: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti_digest: Option<String>,
}

impl Decision {
    pub fn log_line<'a>(
        &'a self,
        latency: Duration,
        context: &'a RequestContext,
        at: Timestamp,
    ) -> DecisionLine<'a> {
        let (decision, kind, reason, claims) = match &self.verdict {
            Verdict::Allow { claims } => (
                "allow",
                "authorizer_allow",
                "scope_allows_route",
                Some(claims),
            ),
            Verdict::Forbidden { claims } => (
                "deny",
                "authorizer_deny",
                "scope_does_not_allow_route",
                Some(claims),
            ),
            Verdict::Unauthorized { reason } | Verdict::FailClosed { reason } => {
                ("deny", "authorizer_deny", reason.as_str(), None)
            }
        };
        let failed_closed = matches!(self.verdict, Verdict::FailClosed { .. });
        DecisionLine {
            kind,
            outcome: if decision == "allow" {
                "success"
            } else {
                "failure"
            },
            reason,
            user_id: claims.map(|claims| claims.sub.as_str()),
            client_id: claims.map(|claims| claims.client_id.as_str()),
            source_ip: context.source_ip.as_deref(),
            user_agent: context.user_agent.as_deref(),
            request_id: context.request_id.as_deref(),
            detail: Detail {
                route: &self.route,
                jti_digest: claims.map(|claims| TokenDigest::log_prefix_of(&claims.jti)),
            },
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            decision,
            reason_dimension: reason,
            function: "authorizer",
            decisions: 1.0,
            latency_ms: latency.as_secs_f64() * 1000.0,
            failed_closed: failed_closed.then_some(1.0),
            metadata: Metadata::new(
                at,
                if failed_closed {
                    &FAILED_CLOSED
                } else {
                    &DECIDED
                },
            ),
        }
    }
}
