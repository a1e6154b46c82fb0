//! An audit record's stdout line: the record's fields and, in embedded metric format, the
//! metrics it counts toward (`AuditEvents` by kind; issued and refreshed tokens also
//! `TokensIssued` by grant type). A typed record serialized straight to text: building it as
//! a JSON tree, cloning that and rendering the metrics as more trees was a visible share of
//! `xecure serve`'s CPU per token (issue #21 goal 2; the authorizer's decision line went the
//! same way, `authorizer::decision_line`).

use super::metrics::{names, Directive, Metadata, Unit};
use crate::domain::{AuditEvent, AuditEventKind, AuditOutcome};
use serde::Serialize;

const EVENT_DIMENSIONS: &[&[&str]] = &[&["Event"]];
const GRANT_TYPE_DIMENSIONS: &[&[&str]] = &[&["GrantType"]];
const AUDIT_EVENTS: Directive<'static> =
    Directive::new(names::AUDIT_EVENTS, Unit::Count, EVENT_DIMENSIONS);

/// The metrics of every record.
static COUNTED: [Directive<'static>; 1] = [AUDIT_EVENTS];
/// The same and `TokensIssued`, for a token issued or refreshed.
static COUNTED_AS_TOKEN: [Directive<'static>; 2] = [
    AUDIT_EVENTS,
    Directive::new(names::TOKENS_ISSUED, Unit::Count, GRANT_TYPE_DIMENSIONS),
];

/// One record as logged. Serialize it to write the line.
#[derive(Serialize)]
pub struct RecordLine<'a> {
    #[serde(flatten)]
    event: &'a AuditEvent,
    // The dimensions are properties of the line, the metrics members named in `_aws`.
    #[serde(rename = "Event")]
    event_dimension: AuditEventKind,
    #[serde(rename = "AuditEvents")]
    audit_events: f64,
    #[serde(rename = "GrantType", skip_serializing_if = "Option::is_none")]
    grant_type: Option<&'a str>,
    #[serde(rename = "TokensIssued", skip_serializing_if = "Option::is_none")]
    tokens_issued: Option<f64>,
    #[serde(rename = "_aws")]
    metadata: Metadata<'static>,
}

impl<'a> RecordLine<'a> {
    pub fn of(event: &'a AuditEvent) -> Self {
        let grant_type = match (event.outcome, event.kind) {
            (AuditOutcome::Success, AuditEventKind::TokenIssued) => {
                event.detail.get("grant_type").map(String::as_str)
            }
            (AuditOutcome::Success, AuditEventKind::TokenRefreshed) => Some("refresh_token"),
            _ => None,
        };
        let directives: &'static [Directive<'static>] = match grant_type {
            Some(_) => &COUNTED_AS_TOKEN,
            None => &COUNTED,
        };
        RecordLine {
            event,
            event_dimension: event.kind,
            audit_events: 1.0,
            grant_type,
            tokens_issued: grant_type.map(|_| 1.0),
            metadata: Metadata::new(event.at, directives),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventId, Timestamp};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    fn event(kind: AuditEventKind, outcome: AuditOutcome, grant_type: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: EventId::parse("evt_1").unwrap(),
            at: Timestamp::from_secs(1_700_000_000),
            kind,
            outcome,
            user_id: None,
            client_id: None,
            source_ip: Some("192.0.2.1".into()),
            user_agent: None,
            request_id: None,
            reason: None,
            detail: grant_type
                .map(|grant| BTreeMap::from([("grant_type".to_owned(), grant.to_owned())]))
                .unwrap_or_default(),
            expires_at: Timestamp::from_secs(1_700_086_400),
        }
    }

    /// The line's members: the record's own fields, then the metric members.
    fn parts(event: &AuditEvent) -> (Value, Value) {
        let Value::Object(mut line) = serde_json::to_value(RecordLine::of(event)).unwrap() else {
            panic!("a line is an object");
        };
        let mut metrics = serde_json::Map::new();
        for member in ["Event", "AuditEvents", "GrantType", "TokensIssued", "_aws"] {
            if let Some(value) = line.remove(member) {
                metrics.insert(member.to_owned(), value);
            }
        }
        (Value::Object(line), Value::Object(metrics))
    }

    #[test]
    fn a_record_line_holds_the_whole_record_and_counts_it_by_kind() {
        let failed = event(AuditEventKind::LoginFailed, AuditOutcome::Failure, None);
        let (record, metrics) = parts(&failed);
        assert_eq!(record, serde_json::to_value(&failed).unwrap());
        assert_eq!(metrics["Event"], json!("login_failed"));
        assert_eq!(metrics["AuditEvents"], json!(1.0));
        assert!(metrics.get("TokensIssued").is_none());
        let aws = &metrics["_aws"];
        assert_eq!(aws["Timestamp"], json!(1_700_000_000_000_i64));
        assert_eq!(
            aws["CloudWatchMetrics"],
            json!([{"Namespace": "Xecure", "Dimensions": [["Event"]],
                    "Metrics": [{"Name": "AuditEvents", "Unit": "Count"}]}])
        );
    }

    #[test]
    fn issued_and_refreshed_tokens_also_count_by_grant_type() {
        let cases = [
            (
                AuditEventKind::TokenIssued,
                Some("client_credentials"),
                "client_credentials",
            ),
            (AuditEventKind::TokenRefreshed, None, "refresh_token"),
        ];
        for (kind, detail, grant_type) in cases {
            let issued = event(kind, AuditOutcome::Success, detail);
            let (record, metrics) = parts(&issued);
            assert_eq!(record, serde_json::to_value(&issued).unwrap());
            assert_eq!(metrics["GrantType"], json!(grant_type));
            assert_eq!(metrics["TokensIssued"], json!(1.0));
            let names: Vec<&Value> = metrics["_aws"]["CloudWatchMetrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|directive| &directive["Metrics"][0]["Name"])
                .collect();
            assert_eq!(names, [&json!("AuditEvents"), &json!("TokensIssued")]);
        }
        let refused = event(
            AuditEventKind::TokenIssued,
            AuditOutcome::Failure,
            Some("x"),
        );
        assert!(parts(&refused).1.get("TokensIssued").is_none());
    }
}
