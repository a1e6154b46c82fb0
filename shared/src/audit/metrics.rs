//! CloudWatch embedded metric format (EMF): a log line that also carries metric values, so
//! metrics cost no API call. CloudWatch extracts them from the Lambda log group.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use crate::domain::Timestamp;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

pub const NAMESPACE: &str = "Xecure";

/// Metric names the template's dashboard and alarms use (infra/template.yaml).
pub mod names {
    pub const AUDIT_EVENTS: &str = "AuditEvents";
    pub const TOKENS_ISSUED: &str = "TokensIssued";
    pub const AUTHORIZER_DECISIONS: &str = "AuthorizerDecisions";
    pub const AUTHORIZER_FAIL_CLOSED: &str = "AuthorizerFailClosed";
    pub const LATENCY: &str = "Latency";
    pub const AUDIT_LOG_FALLBACK: &str = "AuditLogFallback";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

impl Serialize for Unit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One entry of `CloudWatchMetrics` (the specification's MetricDirective), with one metric.
#[derive(Debug, Serialize)]
pub struct Directive<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'static str,
    #[serde(rename = "Dimensions")]
    dimensions: &'a [&'a [&'static str]],
    #[serde(rename = "Metrics")]
    metrics: [MetricDefinition; 1],
}

#[derive(Debug, Serialize)]
struct MetricDefinition {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: Unit,
}

impl<'a> Directive<'a> {
    /// `name` in the Xecure namespace, aggregated by each of `dimensions`.
    pub const fn new(name: &'static str, unit: Unit, dimensions: &'a [&'a [&'static str]]) -> Self {
        Directive {
            namespace: NAMESPACE,
            dimensions,
            metrics: [MetricDefinition { name, unit }],
        }
    }
}

/// The `_aws` member of a line: when, and which of its members are metrics.
#[derive(Debug, Serialize)]
pub struct Metadata<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    directives: &'a [Directive<'a>],
}

impl<'a> Metadata<'a> {
    pub fn new(at: Timestamp, directives: &'a [Directive<'a>]) -> Self {
        Metadata {
            timestamp: at.as_millis(),
            directives,
        }
    }
}

/// One metric value with the dimension sets it is aggregated by. Every dimension named must
/// be a property of the line (`MetricLine::property`).
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
    pub dimension_sets: Vec<Vec<&'static str>>,
}

/// A JSON log line with metrics embedded: `fields` stay plain log fields (queryable in Logs
/// Insights), metrics and their dimensions are added at the top level with the `_aws` block.
pub struct MetricLine {
    fields: Map<String, Value>,
    metrics: Vec<Metric>,
}

impl MetricLine {
    pub fn new(fields: Map<String, Value>) -> Self {
        MetricLine {
            fields,
            metrics: Vec::new(),
        }
    }

    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    pub fn metric(mut self, metric: Metric) -> Self {
        self.metrics.push(metric);
        self
    }

    pub fn count(self, name: &'static str, dimension_sets: Vec<Vec<&'static str>>) -> Self {
        self.metric(Metric {
            name,
            unit: Unit::Count,
            value: 1.0,
            dimension_sets,
        })
    }

    /// Time one invocation of `function` (authorize, consent, token, authorizer) took.
    pub fn latency(self, function: &'static str, elapsed: Duration) -> Self {
        self.property("Function", function).metric(Metric {
            name: names::LATENCY,
            unit: Unit::Milliseconds,
            value: elapsed.as_secs_f64() * 1000.0,
            dimension_sets: vec![vec!["Function"]],
        })
    }

    pub fn render(mut self, at: Timestamp) -> Value {
        if self.metrics.is_empty() {
            return Value::Object(self.fields);
        }
        let dimension_sets: Vec<Vec<&[&'static str]>> = self
            .metrics
            .iter()
            .map(|metric| metric.dimension_sets.iter().map(Vec::as_slice).collect())
            .collect();
        let directives: Vec<Directive<'_>> = self
            .metrics
            .iter()
            .zip(&dimension_sets)
            .map(|(metric, sets)| Directive::new(metric.name, metric.unit, sets))
            .collect();
        let metadata = json!(Metadata::new(at, &directives));
        for metric in &self.metrics {
            self.fields
                .insert(metric.name.to_owned(), json!(metric.value));
        }
        self.fields.insert("_aws".to_owned(), metadata);
        Value::Object(self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_is_a_property_and_the_timestamp_is_real() {
        let line = MetricLine::new(Map::new())
            .property("Event", "login_failed")
            .count(names::AUDIT_EVENTS, vec![vec!["Event"]])
            .render(Timestamp::from_millis(1_800_000_000_123));
        assert_eq!(line["AuditEvents"], json!(1.0));
        assert_eq!(line["_aws"]["Timestamp"], json!(1_800_000_000_123_i64));
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Xecure");
        assert_eq!(directive["Dimensions"], json!([["Event"]]));
        assert_eq!(directive["Metrics"][0]["Name"], "AuditEvents");
        for set in directive["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                assert!(line.get(name.as_str().unwrap()).is_some());
            }
        }
    }

    #[test]
    fn a_line_without_metrics_has_no_aws_block() {
        let line = MetricLine::new(Map::new())
            .property("kind", "x")
            .render(Timestamp::from_millis(1));
        assert!(line.get("_aws").is_none());
    }
}
