//! API Gateway access-log records: one JSON line per call, written by API Gateway in AWS (the
//! stage's access-log format, from `format` below) and by the local gateway in the same shape,
//! read back by `xecure usage`. The authorizer's context names the app (`client_id`), the user
//! (`user_id`, the token's `sub`) and the granted `scope` of every call it allowed or refused
//! for scope, which is what makes usage per app possible: the authorizer itself logs only
//! when API Gateway calls it, once per cached policy.
//!
//! Values are strings, as API Gateway writes `$context` variables in a quoted format, with `-`
//! for a variable that has no value (API Gateway's own convention); `status` and
//! `request_time_ms` are always present and are written as numbers, so metric filters can
//! compare them (`{ $.status >= 500 }`).

use serde_json::{Map, Value};

/// Which API kind's `$context` variables a format uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    Rest,
    Http,
}

/// One field of the record: its name, the variable each API kind fills it from (None: the
/// kind has no such variable and the field is left out), and whether it is a bare number.
pub struct Field {
    pub name: &'static str,
    pub rest: Option<&'static str>,
    pub http: Option<&'static str>,
    pub number: bool,
}

const fn both(name: &'static str, variable: &'static str) -> Field {
    Field {
        name,
        rest: Some(variable),
        http: Some(variable),
        number: false,
    }
}

/// The record, field by field ("Variables for access logging for API Gateway" and
/// "Customizing HTTP API access logs" list the variables).
pub const FIELDS: [Field; 16] = [
    both("request_id", "$context.requestId"),
    Field {
        name: "request_time_ms",
        rest: Some("$context.requestTimeEpoch"),
        http: Some("$context.requestTimeEpoch"),
        number: true,
    },
    both("method", "$context.httpMethod"),
    // The route as the route table names it: `GET /orders/{id}`.
    Field {
        name: "route",
        rest: Some("$context.httpMethod $context.resourcePath"),
        http: Some("$context.routeKey"),
        number: false,
    },
    both("path", "$context.path"),
    Field {
        name: "status",
        rest: Some("$context.status"),
        http: Some("$context.status"),
        number: true,
    },
    both("latency_ms", "$context.responseLatency"),
    both("integration_latency_ms", "$context.integrationLatency"),
    both("source_ip", "$context.identity.sourceIp"),
    both("user_agent", "$context.identity.userAgent"),
    both("client_id", "$context.authorizer.client_id"),
    both("user_id", "$context.authorizer.sub"),
    both("scope", "$context.authorizer.scope"),
    // AUTHORIZER_FAILURE, UNAUTHORIZED, THROTTLED, QUOTA_EXCEEDED, INVALID_API_KEY...
    both("error_type", "$context.error.responseType"),
    both("authorizer_error", "$context.authorizer.error"),
    // The usage-plan API key API Gateway took from the authorizer (REST only).
    Field {
        name: "api_key_id",
        rest: Some("$context.identity.apiKeyId"),
        http: None,
        number: false,
    },
];

/// API Gateway's placeholder for a variable without a value.
pub const NO_VALUE: &str = "-";

/// The stage's access-log format for `kind`: what the template must set, exactly.
pub fn format(kind: ApiKind) -> String {
    let parts: Vec<String> = FIELDS
        .iter()
        .filter_map(|field| {
            let variable = match kind {
                ApiKind::Rest => field.rest,
                ApiKind::Http => field.http,
            }?;
            Some(if field.number {
                format!("\"{}\":{variable}", field.name)
            } else {
                format!("\"{}\":\"{variable}\"", field.name)
            })
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// One call, as read back from a record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessRecord {
    pub request_id: Option<String>,
    pub request_time_ms: i64,
    pub method: Option<String>,
    pub route: Option<String>,
    pub path: Option<String>,
    pub status: u16,
    pub latency_ms: Option<u64>,
    pub integration_latency_ms: Option<u64>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub scope: Option<String>,
    pub error_type: Option<String>,
    pub authorizer_error: Option<String>,
    pub api_key_id: Option<String>,
}

fn text(record: &Map<String, Value>, name: &str) -> Option<String> {
    match record.get(name)? {
        Value::String(value) if value.is_empty() || value == NO_VALUE => None,
        Value::String(value) => Some(value.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn number(record: &Map<String, Value>, name: &str) -> Option<i64> {
    match record.get(name)? {
        Value::Number(number) => number.as_i64(),
        Value::String(value) => value.parse().ok(),
        _ => None,
    }
}

impl AccessRecord {
    /// Reads one record; None for a line that is not one (another writer's line in the same
    /// group, a truncated line).
    pub fn parse(line: &str) -> Option<AccessRecord> {
        let value: Value = serde_json::from_str(line).ok()?;
        let record = value.as_object()?;
        let latency = |name: &str| number(record, name).and_then(|ms| u64::try_from(ms).ok());
        Some(AccessRecord {
            request_id: text(record, "request_id"),
            request_time_ms: number(record, "request_time_ms")?,
            method: text(record, "method"),
            route: text(record, "route"),
            path: text(record, "path"),
            status: u16::try_from(number(record, "status")?).ok()?,
            latency_ms: latency("latency_ms"),
            integration_latency_ms: latency("integration_latency_ms"),
            source_ip: text(record, "source_ip"),
            user_agent: text(record, "user_agent"),
            client_id: text(record, "client_id"),
            user_id: text(record, "user_id"),
            scope: text(record, "scope"),
            error_type: text(record, "error_type"),
            authorizer_error: text(record, "authorizer_error"),
            api_key_id: text(record, "api_key_id"),
        })
    }

    /// The record as API Gateway writes it for a REST API: every field of the REST format,
    /// absent values as `-`. The local gateway writes these.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for field in FIELDS.iter().filter(|field| field.rest.is_some()) {
            let value = match field.name {
                "request_time_ms" => Value::from(self.request_time_ms),
                "status" => Value::from(self.status),
                name => Value::from(self.text_field(name).unwrap_or_else(|| NO_VALUE.into())),
            };
            out.insert(field.name.to_owned(), value);
        }
        Value::Object(out)
    }

    fn text_field(&self, name: &str) -> Option<String> {
        let owned = |value: &Option<String>| value.clone();
        match name {
            "request_id" => owned(&self.request_id),
            "method" => owned(&self.method),
            "route" => owned(&self.route),
            "path" => owned(&self.path),
            "latency_ms" => self.latency_ms.map(|ms| ms.to_string()),
            "integration_latency_ms" => self.integration_latency_ms.map(|ms| ms.to_string()),
            "source_ip" => owned(&self.source_ip),
            "user_agent" => owned(&self.user_agent),
            "client_id" => owned(&self.client_id),
            "user_id" => owned(&self.user_id),
            "scope" => owned(&self.scope),
            "error_type" => owned(&self.error_type),
            "authorizer_error" => owned(&self.authorizer_error),
            "api_key_id" => owned(&self.api_key_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_name_every_field_once_with_numbers_bare() {
        let rest = format(ApiKind::Rest);
        assert!(rest.starts_with("{\"request_id\":\"$context.requestId\","));
        assert!(rest.contains("\"status\":$context.status,"));
        assert!(rest.contains("\"route\":\"$context.httpMethod $context.resourcePath\""));
        assert!(rest.contains("\"api_key_id\":\"$context.identity.apiKeyId\"}"));
        let http = format(ApiKind::Http);
        assert!(http.contains("\"route\":\"$context.routeKey\""));
        assert!(!http.contains("api_key_id"), "HTTP APIs have no API keys");
        // What API Gateway writes from the format is JSON: fill every variable with a value.
        let filled = rest
            .replace("$context.status", "200")
            .replace("$context.requestTimeEpoch", "1800000000000");
        let filled = filled
            .split('"')
            .map(|part| {
                if part.starts_with("$context") {
                    "x"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("\"");
        let parsed: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(parsed.as_object().unwrap().len(), FIELDS.len());
    }

    #[test]
    fn records_round_trip_and_dashes_mean_absent() {
        let record = AccessRecord {
            request_id: Some("req-1".into()),
            request_time_ms: 1_800_000_000_123,
            method: Some("GET".into()),
            route: Some("GET /orders/{id}".into()),
            path: Some("/orders/7".into()),
            status: 200,
            latency_ms: Some(12),
            integration_latency_ms: Some(9),
            source_ip: Some("203.0.113.9".into()),
            user_agent: Some("curl/8".into()),
            client_id: Some("web-app".into()),
            user_id: Some("usr_1".into()),
            scope: Some("orders:read".into()),
            error_type: None,
            authorizer_error: None,
            api_key_id: Some("k1".into()),
        };
        let line = record.to_json().to_string();
        assert!(line.contains("\"error_type\":\"-\""), "{line}");
        assert_eq!(AccessRecord::parse(&line), Some(record));
        // API Gateway writes latencies as quoted strings in a quoted format.
        let aws = r#"{"request_id":"r","request_time_ms":1,"status":401,"latency_ms":"5","client_id":"-","error_type":"UNAUTHORIZED"}"#;
        let parsed = AccessRecord::parse(aws).unwrap();
        assert_eq!(parsed.latency_ms, Some(5));
        assert_eq!(parsed.client_id, None);
        assert_eq!(parsed.error_type.as_deref(), Some("UNAUTHORIZED"));
        for not_a_record in [
            "",
            "not json",
            "[]",
            r#"{"status":200}"#,
            r#"{"request_time_ms":1}"#,
        ] {
            assert_eq!(AccessRecord::parse(not_a_record), None, "{not_a_record}");
        }
    }
}
