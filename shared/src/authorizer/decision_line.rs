//! The authorizer's one JSON line per decision, on stdout (the authorizer's Lambda log group):
//! the same field names as audit records (`kind`, `outcome`, `reason`, `user_id`,
//! `client_id`, `detail.route`), so one saved query reads both, plus metrics in embedded
//! metric format. Decisions are not written to the table: a write per API call would cost
//! more than the call it guards.

use super::{Decision, Verdict};
use crate::audit::metrics::{names, MetricLine};
use crate::audit::RequestContext;
use crate::domain::{Timestamp, TokenDigest};
use serde_json::{json, Map, Value};
use std::time::Duration;

impl Decision {
    pub fn log_line(&self, latency: Duration, context: &RequestContext, at: Timestamp) -> Value {
        let (decision, reason, claims) = match &self.verdict {
            Verdict::Allow { claims } => ("allow", "scope_allows_route", Some(claims)),
            Verdict::Forbidden { claims } => ("deny", "scope_does_not_allow_route", Some(claims)),
            Verdict::Unauthorized { reason } => ("deny", reason.as_str(), None),
            Verdict::FailClosed { reason } => ("deny", reason.as_str(), None),
        };
        let mut detail = Map::new();
        detail.insert("route".into(), json!(self.route));
        let mut fields = Map::new();
        fields.insert("kind".into(), json!(format!("authorizer_{decision}")));
        let outcome = if decision == "allow" {
            "success"
        } else {
            "failure"
        };
        fields.insert("outcome".into(), json!(outcome));
        fields.insert("reason".into(), json!(reason));
        if let Some(claims) = claims {
            fields.insert("user_id".into(), json!(claims.sub));
            fields.insert("client_id".into(), json!(claims.client_id));
            detail.insert(
                "jti_digest".into(),
                json!(TokenDigest::of(&claims.jti).log_prefix()),
            );
        }
        let known = [
            ("source_ip", &context.source_ip),
            ("user_agent", &context.user_agent),
            ("request_id", &context.request_id),
        ];
        for (name, value) in known {
            if let Some(value) = value {
                fields.insert(name.into(), json!(value));
            }
        }
        fields.insert("detail".into(), Value::Object(detail));
        fields.insert(
            "latency_us".into(),
            json!(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)),
        );
        let mut line = MetricLine::new(fields)
            .property("Decision", decision)
            .property("Reason", reason)
            .count(
                names::AUTHORIZER_DECISIONS,
                vec![vec!["Decision"], vec!["Decision", "Reason"]],
            )
            .latency("authorizer", latency);
        if matches!(self.verdict, Verdict::FailClosed { .. }) {
            line = line.count(names::AUTHORIZER_FAIL_CLOSED, vec![vec![]]);
        }
        line.render(at)
    }
}
