//! The template against what the code does: each function role allows exactly the calls the
//! code makes (one table below, to edit when a function starts or stops a call), each
//! function gets the environment variables it needs and no variable the code never reads,
//! and each alarm watches a metric, with dimensions, that the code really emits.

mod template;

use async_trait::async_trait;
use saphyr::Yaml;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use template::{at, items, keys, parse, resources_of, text, TEMPLATE};
use xecure::audit::lines::MemoryLines;
use xecure::audit::log_group::{AuditLogBatch, AuditLogWriter, LogEvent};
use xecure::audit::{AuditDraft, Auditor, RequestContext};
use xecure::authorizer::{Decision, Verdict};
use xecure::domain::{AuditEventKind, AuditOutcome, Timestamp};
use xecure::ports::{Clock, OsRng, SystemClock};
use xecure::store::embedded::EmbeddedStore;

// ------------------------------------------------------------------ roles and calls

const TABLE: &str = "!GetAtt XecureTable.Arn";
const GSI1: &str = "!Sub ${XecureTable.Arn}/index/GSI1";
const GSI2: &str = "!Sub ${XecureTable.Arn}/index/GSI2";
const SIGNING_KEY: &str = "!GetAtt SigningKeyEnvelopeKey.Arn";
const AUDIT_LOGS: &str = "!GetAtt AuditLogGroup.Arn";

/// Each function role's (action, resource) pairs, and why the function needs them. This is
/// the table to edit when a function makes a new call (or stops one); the test then checks
/// the template grants exactly this and that the code makes every one of these calls.
/// (IAM conditions such as `dynamodb:LeadingKeys` are not compared: only actions and
/// resources.)
const ROLE_ACTIONS: [(&str, &[(&str, &str)]); 4] = [
    (
        "AuthorizeRole",
        &[
            // Clients, users, throttles (TransactGetItems reads item by item; the login
            // attempt counters are UpdateItem ADD), sessions, pending requests (taken with
            // DeleteItem), grants, codes, audit records; the published keys (Query) for an
            // id_token_hint at the end session endpoint.
            ("dynamodb:GetItem", TABLE),
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:Query", TABLE),
            ("logs:CreateLogStream", "!GetAtt AuthorizeLogGroup.Arn"),
            ("logs:PutLogEvents", "!GetAtt AuthorizeLogGroup.Arn"),
            ("logs:CreateLogStream", AUDIT_LOGS),
            ("logs:PutLogEvents", AUDIT_LOGS),
        ],
    ),
    (
        "ConsentRole",
        &[
            // Sessions, pending requests, clients, grants, codes, audit records; the
            // connected-apps page (a user's grants, revoking one in a transaction); the
            // account page (a user's sessions through GSI1, ending one).
            ("dynamodb:GetItem", TABLE),
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:Query", TABLE),
            ("dynamodb:Query", GSI1),
            ("logs:CreateLogStream", "!GetAtt ConsentLogGroup.Arn"),
            ("logs:PutLogEvents", "!GetAtt ConsentLogGroup.Arn"),
            ("logs:CreateLogStream", AUDIT_LOGS),
            ("logs:PutLogEvents", AUDIT_LOGS),
        ],
    ),
    (
        "TokenRole",
        &[
            // Codes, refresh families and tokens (transactions), grants, clients,
            // revocations, audit records, signing keys; registration deletes and revokes a
            // deleted client's grants through GSI2; one Decrypt per signing key per cold start.
            ("dynamodb:GetItem", TABLE),
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
            ("dynamodb:Query", TABLE),
            ("dynamodb:Query", GSI2),
            ("kms:Decrypt", SIGNING_KEY),
            ("logs:CreateLogStream", "!GetAtt TokenLogGroup.Arn"),
            ("logs:PutLogEvents", "!GetAtt TokenLogGroup.Arn"),
            ("logs:CreateLogStream", AUDIT_LOGS),
            ("logs:PutLogEvents", AUDIT_LOGS),
        ],
    ),
    (
        "AuthorizerRole",
        &[
            // Reads the published keys and the recent revocations; marks DPoP proofs used.
            ("dynamodb:Query", TABLE),
            ("dynamodb:PutItem", TABLE),
            ("logs:CreateLogStream", "!GetAtt AuthorizerLogGroup.Arn"),
            ("logs:PutLogEvents", "!GetAtt AuthorizerLogGroup.Arn"),
        ],
    ),
];

/// Calls the code makes that no function role may hold: the operator's (`xecure`) and the
/// local tooling's.
const OPERATOR_ONLY: [(&str, &str); 6] = [
    (
        "kms:GenerateDataKey",
        "xecure keys rotate seals a new key; only the operator signs in keys",
    ),
    (
        "logs:FilterLogEvents",
        "xecure audit --source cloudwatch and xecure usage read groups back",
    ),
    (
        "logs:CreateLogGroup",
        "local runs and tests; the template creates the groups in AWS",
    ),
    (
        "dynamodb:CreateTable",
        "local runs and tests; the template creates the table in AWS",
    ),
    (
        "dynamodb:DescribeTable",
        "creating the table locally waits for it",
    ),
    (
        "dynamodb:UpdateTimeToLive",
        "creating the table locally turns TTL on",
    ),
];

/// SDK calls (fluent builder or transaction item) and the IAM action each needs.
const SDK_ACTIONS: [(&str, &str); 18] = [
    (".get_item()", "dynamodb:GetItem"),
    (".put_item()", "dynamodb:PutItem"),
    (".update_item()", "dynamodb:UpdateItem"),
    (".delete_item()", "dynamodb:DeleteItem"),
    (".query()", "dynamodb:Query"),
    (".create_table()", "dynamodb:CreateTable"),
    (".describe_table()", "dynamodb:DescribeTable"),
    (".update_time_to_live()", "dynamodb:UpdateTimeToLive"),
    // TransactGetItems and TransactWriteItems are authorised item by item.
    ("Get::builder()", "dynamodb:GetItem"),
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
    (".decrypt()", "kms:Decrypt"),
    (".generate_data_key()", "kms:GenerateDataKey"),
    (".create_log_stream()", "logs:CreateLogStream"),
    (".put_log_events()", "logs:PutLogEvents"),
    (".filter_log_events()", "logs:FilterLogEvents"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The non-test source of the library and the functions: every `.rs` file, cut at its
/// `#[cfg(test)]` module; shared/src/testing (test support) left out.
fn source_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut pending = vec![root().join("shared/src")];
    for function in ["authorize", "consent", "token", "authorizer"] {
        pending.push(root().join("functions").join(function).join("src"));
    }
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("testing") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                files.push((path, code));
            }
        }
    }
    files
}

/// The IAM actions the code's AWS calls need, with a file that makes each.
fn actions_in_code() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for (path, code) in source_files() {
        for (call, action) in SDK_ACTIONS {
            // `.query()` also names other builders' methods; the AWS ones are chained on a
            // client (`.client`, `client`) or an `items` builder in this code base.
            if code.contains(call) {
                found
                    .entry(action.to_owned())
                    .or_insert_with(|| path.display().to_string());
            }
        }
        // create_log_group is also in the same module as the writer.
        if code.contains(".create_log_group()") {
            found.insert("logs:CreateLogGroup".into(), path.display().to_string());
        }
    }
    found
}

/// (action, resource) pairs a role's policies grant.
fn granted(template: &Yaml, role: &str) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for policy in items(at(template, &["Resources", role, "Properties", "Policies"])) {
        for statement in items(at(policy, &["PolicyDocument", "Statement"])) {
            assert_eq!(
                text(at(statement, &["Effect"])).as_deref(),
                Some("Allow"),
                "{role}"
            );
            let one_or_many = |field: &str| -> Vec<String> {
                let node = at(statement, &[field]);
                match text(node) {
                    Some(single) => vec![single],
                    None => items(node)
                        .into_iter()
                        .filter_map(|n| text(Some(n)))
                        .collect(),
                }
            };
            for action in one_or_many("Action") {
                for resource in one_or_many("Resource") {
                    pairs.insert((action.clone(), resource));
                }
            }
        }
    }
    pairs
}

#[test]
fn each_role_grants_exactly_the_table_and_the_code_makes_every_call() {
    let template = parse(TEMPLATE);
    let roles: BTreeSet<String> = resources_of(&template, "AWS::IAM::Role")
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != "ApiGatewayLoggingRole")
        .collect();
    let table: BTreeSet<String> = ROLE_ACTIONS.iter().map(|(r, _)| (*r).to_owned()).collect();
    assert_eq!(roles, table, "every function role is in ROLE_ACTIONS");
    for (role, expected) in ROLE_ACTIONS {
        let expected: BTreeSet<(String, String)> = expected
            .iter()
            .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
            .collect();
        let actual = granted(&template, role);
        let extra: Vec<_> = actual.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{role}: granted but not in ROLE_ACTIONS {extra:?}; in ROLE_ACTIONS but not granted {missing:?}"
        );
    }
    let in_code = actions_in_code();
    let in_roles: BTreeSet<&str> = ROLE_ACTIONS
        .iter()
        .flat_map(|(_, pairs)| pairs.iter().map(|(action, _)| *action))
        .collect();
    let operator: BTreeSet<&str> = OPERATOR_ONLY.iter().map(|(a, _)| *a).collect();
    for (action, file) in &in_code {
        assert!(
            in_roles.contains(action.as_str()) || operator.contains(action.as_str()),
            "{file} calls what needs {action}, which no role and no operator entry allows"
        );
    }
    for action in in_roles.iter().chain(operator.iter()) {
        assert!(
            in_code.contains_key(*action),
            "{action} is granted or listed, but no code makes that call"
        );
    }
    for action in &operator {
        assert!(
            !in_roles.contains(action),
            "{action} is the operator's, not a function's"
        );
    }
}

// ------------------------------------------------------------------ environment variables

/// What each function must be given in AWS: the code has no default, or only a local one
/// (XECURE_ISSUER defaults to http://127.0.0.1:3000, which no deployed token may carry).
const REQUIRED_ENV: [(&str, &[&str]); 4] = [
    (
        "AuthorizeFunction",
        &[
            "XECURE_TABLE",
            "XECURE_ISSUER",
            "XECURE_AUDIT_LOG_GROUP",
            "XECURE_AUDIT_RETENTION_DAYS",
        ],
    ),
    (
        "ConsentFunction",
        &[
            "XECURE_TABLE",
            "XECURE_ISSUER",
            "XECURE_AUDIT_LOG_GROUP",
            "XECURE_AUDIT_RETENTION_DAYS",
        ],
    ),
    (
        "TokenFunction",
        &[
            "XECURE_TABLE",
            "XECURE_ISSUER",
            "XECURE_KMS_KEY_ID",
            "XECURE_ACCESS_TOKEN_MINUTES",
            "XECURE_AUDIT_LOG_GROUP",
            "XECURE_AUDIT_RETENTION_DAYS",
        ],
    ),
    (
        "AuthorizerFunction",
        &[
            "XECURE_TABLE",
            "XECURE_ISSUER",
            // Revocations matter for as long as the longest access token lives.
            "XECURE_ACCESS_TOKEN_MINUTES",
            "XECURE_GATEWAY_CACHE_SECONDS",
            "XECURE_REVOCATION_BOUND_SECONDS",
        ],
    ),
];

/// Variables the code reads whose default is right in AWS, and why the template leaves them
/// (or passes them only from an optional parameter whose empty default keeps the default).
const DEFAULTED_ENV: [(&str, &str); 35] = [
    (
        "XECURE_STORE_CACHE_MB",
        "32 MB (the embedded store of xecure serve and the CLI; never in Lambda)",
    ),
    (
        "XECURE_JWKS_URI_LOOPBACK",
        "refused in Lambda (always); allowed for an http loopback issuer (xecure serve)",
    ),
    (
        "XECURE_DPOP_NONCE",
        "off (parameter DpopNonce on the token function; xecure serve reads it too)",
    ),
    ("XECURE_BRAND_NAME", "Xecure (parameter BrandName)"),
    (
        "XECURE_BRAND_LOGO_URL",
        "no logo (parameter BrandLogoUrl; https only; its origin joins img-src)",
    ),
    ("XECURE_BRAND_COLOR", "#1a56db (parameter BrandColor)"),
    (
        "XECURE_BRAND_SUPPORT_URL",
        "no help link (parameter BrandSupportUrl)",
    ),
    (
        "XECURE_BRAND_PRIVACY_URL",
        "no privacy link (parameter BrandPrivacyUrl)",
    ),
    (
        "XECURE_BRAND_CSS",
        "no extra CSS (allowed by the stylesheet's hash)",
    ),
    (
        "XECURE_AUDIENCE",
        "issuer + /api; set only when the Audience parameter is",
    ),
    ("XECURE_REFRESH_TOKEN_DAYS", "30 days"),
    ("XECURE_REFRESH_FAMILY_DAYS", "90 days"),
    ("XECURE_CODE_SECONDS", "60 s"),
    (
        "XECURE_REGISTRATION_TOKEN_DAYS",
        "90 days for an RFC 7592 registration access token",
    ),
    ("XECURE_SIGNING_ALG", "EdDSA"),
    ("XECURE_LOGIN_MAX_FAILURES", "5 per account from one source"),
    (
        "XECURE_LOGIN_ACCOUNT_MAX_FAILURES",
        "20 per account from all sources",
    ),
    (
        "XECURE_LOGIN_HASH_QUEUE",
        "16 password checks waiting for a hashing thread",
    ),
    (
        "XECURE_CLIENT_RATE_PER_MINUTE",
        "600 token-endpoint requests per client",
    ),
    ("XECURE_CLIENT_BURST", "60"),
    (
        "XECURE_REGISTRATION_RATE_PER_MINUTE",
        "10 registrations per initial access token",
    ),
    ("XECURE_REGISTRATION_BURST", "10"),
    (
        "XECURE_AUTH_FAILURE_RATE_PER_MINUTE",
        "30 failed client authentications per source",
    ),
    ("XECURE_AUTH_FAILURE_BURST", "30"),
    (
        "XECURE_LOGIN_SOURCE_MAX_FAILURES",
        "100 per source on all accounts",
    ),
    ("XECURE_LOGIN_WINDOW_MINUTES", "15"),
    ("XECURE_LOGIN_LOCKOUT_MINUTES", "15"),
    ("XECURE_SESSION_HOURS", "8"),
    ("XECURE_AUTHORIZATION_REQUEST_MINUTES", "10"),
    (
        "XECURE_CLAIMS_CACHE_ENTRIES",
        "4096 verified tokens per authorizer container",
    ),
    (
        "XECURE_HTTP_API_RESPONSE",
        "IAM policy answers; `simple` only with a zero TTL",
    ),
    (
        "XECURE_ROUTES_FILE",
        "the route table built in from infra/routes.toml",
    ),
    (
        "XECURE_SCOPES_FILE",
        "the catalogue built in from infra/scopes.toml",
    ),
    (
        "XECURE_USAGE_PLANS_FILE",
        "the plans built in from infra/usage-plans.toml (CLI, local gateway)",
    ),
    (
        "XECURE_AUDIT_LOG_GROUP",
        "unset outside AWS: records go to stdout only",
    ),
];

/// Every `XECURE_*` name in the non-test source of the library and the functions.
fn variables_in_code() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, code) in source_files() {
        for (start, _) in code.match_indices("\"XECURE_") {
            let name: String = code[start + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

/// The variables a function gets: the template's Globals and its own.
fn environment_of(template: &Yaml, function: &str) -> BTreeSet<String> {
    let globals = keys(at(
        template,
        &["Globals", "Function", "Environment", "Variables"],
    ));
    let own = keys(at(
        template,
        &[
            "Resources",
            function,
            "Properties",
            "Environment",
            "Variables",
        ],
    ));
    globals.into_iter().chain(own).collect()
}

#[test]
fn each_function_gets_the_variables_it_needs_and_none_the_code_never_reads() {
    let template = parse(TEMPLATE);
    let in_code = variables_in_code();
    let defaulted: BTreeSet<&str> = DEFAULTED_ENV.iter().map(|(name, _)| *name).collect();
    let functions: BTreeSet<String> = resources_of(&template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(functions.len(), REQUIRED_ENV.len());
    let mut required_anywhere = BTreeSet::new();
    for (function, required) in REQUIRED_ENV {
        assert!(functions.contains(function), "{function}");
        let given = environment_of(&template, function);
        for name in required {
            assert!(
                given.contains(*name),
                "{function} needs {name} and is not given it"
            );
            assert!(
                in_code.contains(*name),
                "{name} is required but no code reads it"
            );
            required_anywhere.insert(*name);
        }
        for name in given.iter().filter(|name| name.starts_with("XECURE_")) {
            assert!(
                in_code.contains(name),
                "{function} is given {name}, which no code reads (a misspelling?)"
            );
        }
    }
    for name in &in_code {
        assert!(
            required_anywhere.contains(name.as_str())
                || defaulted.contains(name.as_str())
                || name == "XECURE_TEST_DYNAMODB_ENDPOINT",
            "the code reads {name}: add it to REQUIRED_ENV (and the template) or DEFAULTED_ENV"
        );
    }
    for name in defaulted {
        assert!(
            in_code.contains(name),
            "DEFAULTED_ENV lists {name}, which no code reads"
        );
    }
}

// ------------------------------------------------------------------ alarm metrics

/// A writer that always fails, so the batch falls back to its stdout line and metric.
struct Unreachable;

#[async_trait]
impl AuditLogWriter for Unreachable {
    async fn put_events(&self, _events: &[LogEvent]) -> Result<(), String> {
        Err("injected: the audit log group is unreachable".into())
    }

    fn destination(&self) -> String {
        "unreachable".into()
    }
}

/// The functions that write audit batches (the `Function` dimension of AuditLogFallback).
const AUDITING_FUNCTIONS: [&str; 3] = ["authorize", "consent", "token"];

/// The lines the code writes when `metric` with `dimension` = `value` should be emitted.
async fn lines_emitting(metric: &str, dimensions: &[(String, String)]) -> Vec<Value> {
    let lines = Arc::new(MemoryLines::default());
    let dir = tempfile::tempdir().unwrap();
    match (metric, dimensions) {
        ("AuditEvents", [(name, kind)]) if name == "Event" => {
            let kind: AuditEventKind = serde_json::from_value(Value::from(kind.as_str()))
                .unwrap_or_else(|_| panic!("Event={kind} is no audit event kind"));
            let auditor = Auditor::new(
                Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
                Arc::new(SystemClock),
                Arc::new(OsRng),
                Duration::from_secs(3600),
            )
            .with_lines(lines.clone());
            auditor
                .record(
                    AuditDraft::new(kind, AuditOutcome::Failure),
                    &RequestContext::default(),
                )
                .await;
        }
        ("AuditLogFallback", [(name, function)]) if name == "Function" => {
            let function = AUDITING_FUNCTIONS
                .into_iter()
                .find(|f| f == function)
                .unwrap_or_else(|| panic!("no function named {function} writes audit batches"));
            let batch = AuditLogBatch::new(
                Arc::new(Unreachable),
                lines.clone(),
                Arc::new(SystemClock),
                function,
            );
            batch.push(LogEvent {
                at: SystemClock.now(),
                event_id: "evt_1".into(),
                message: "{}".into(),
            });
            batch.flush().await;
        }
        ("AuthorizerFailClosed", []) => {
            let decision = Decision {
                verdict: Verdict::FailClosed {
                    reason: "revocations_unavailable".into(),
                },
                policy: None,
                route: "GET /orders".into(),
                api: None,
            };
            let context = RequestContext::default();
            let line = decision.log_line(
                Duration::from_millis(1),
                &context,
                Timestamp::from_secs(1_800_000_000),
            );
            return vec![serde_json::to_value(line).unwrap()];
        }
        other => panic!("an alarm on {other:?}: teach this test how the code emits it"),
    }
    lines.json()
}

/// Whether `line` carries `metric` in the Xecure namespace with exactly these dimensions.
fn carries(line: &Value, metric: &str, dimensions: &[(String, String)]) -> bool {
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| name.as_str()).collect();
    let directives = line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    directives.iter().any(|directive| {
        directive["Namespace"] == "Xecure"
            && directive["Metrics"]
                .as_array()
                .is_some_and(|metrics| metrics.iter().any(|m| m["Name"] == metric))
            && directive["Dimensions"].as_array().is_some_and(|sets| {
                sets.iter().any(|set| {
                    let set: Vec<&str> = set
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    set == names
                })
            })
    }) && dimensions
        .iter()
        .all(|(name, value)| line[name] == value.as_str())
}

/// An alarm's metric: namespace, name, dimensions (name, value).
type AlarmMetric = (String, String, Vec<(String, String)>);

/// The metrics an alarm watches: its single metric, or each metric of its math.
fn alarm_metrics(template: &Yaml, alarm: &str) -> Vec<AlarmMetric> {
    let properties = at(template, &["Resources", alarm, "Properties"]).unwrap();
    let dimensions_of = |node: Option<&Yaml>| -> Vec<(String, String)> {
        items(node)
            .into_iter()
            .map(|d| {
                (
                    text(at(d, &["Name"])).unwrap(),
                    text(at(d, &["Value"])).unwrap(),
                )
            })
            .collect()
    };
    if let Some(name) = text(at(properties, &["MetricName"])) {
        let namespace = text(at(properties, &["Namespace"])).unwrap();
        return vec![(
            namespace,
            name,
            dimensions_of(at(properties, &["Dimensions"])),
        )];
    }
    items(at(properties, &["Metrics"]))
        .into_iter()
        .filter_map(|query| at(query, &["MetricStat", "Metric"]))
        .map(|metric| {
            (
                text(at(metric, &["Namespace"])).unwrap(),
                text(at(metric, &["MetricName"])).unwrap(),
                dimensions_of(at(metric, &["Dimensions"])),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_alarm_watches_a_metric_the_code_or_a_metric_filter_emits() {
    let template = parse(TEMPLATE);
    let filtered: BTreeSet<(String, String)> = resources_of(&template, "AWS::Logs::MetricFilter")
        .into_iter()
        .flat_map(|(name, _)| {
            items(at(
                &template,
                &["Resources", &name, "Properties", "MetricTransformations"],
            ))
            .into_iter()
            .map(|t| {
                (
                    text(at(t, &["MetricNamespace"])).unwrap(),
                    text(at(t, &["MetricName"])).unwrap(),
                )
            })
            .collect::<Vec<_>>()
        })
        .collect();
    let mut from_code = 0;
    for (alarm, _) in resources_of(&template, "AWS::CloudWatch::Alarm") {
        for (namespace, metric, dimensions) in alarm_metrics(&template, &alarm) {
            if namespace.starts_with("AWS/") {
                continue;
            }
            assert_eq!(namespace, "Xecure", "{alarm}");
            if filtered.contains(&(namespace.clone(), metric.clone())) {
                assert!(
                    dimensions.is_empty(),
                    "{alarm}: metric filter metrics have no dimensions"
                );
                continue;
            }
            let lines = lines_emitting(&metric, &dimensions).await;
            assert!(
                lines.iter().any(|line| carries(line, &metric, &dimensions)),
                "{alarm} watches {metric} {dimensions:?}, which the code does not emit: {lines:?}"
            );
            from_code += 1;
        }
    }
    assert!(
        from_code >= 6,
        "only {from_code} alarm metrics checked against the code"
    );
}

#[tokio::test]
async fn an_alarm_on_a_metric_the_code_does_not_emit_is_caught() {
    let wrong_dimension = [("Kind".to_owned(), "login_failed".to_owned())];
    let lines = lines_emitting("AuthorizerFailClosed", &[]).await;
    assert!(!lines
        .iter()
        .any(|line| carries(line, "AuthorizerFailClosed", &wrong_dimension)));
    assert!(!lines
        .iter()
        .any(|line| carries(line, "AuthorizerDecisions", &wrong_dimension)));
    assert!(lines
        .iter()
        .any(|line| carries(line, "AuthorizerFailClosed", &[])));
}

#[test]
fn a_changed_grant_or_a_misspelled_variable_is_caught() {
    let template = parse(TEMPLATE);
    let token = granted(&template, "TokenRole");
    assert!(token.contains(&("kms:Decrypt".to_owned(), SIGNING_KEY.to_owned())));
    let widened = TEMPLATE.replacen("Action: kms:Decrypt", "Action: kms:*", 1);
    let widened = granted(&parse(&widened), "TokenRole");
    assert!(widened.contains(&("kms:*".to_owned(), SIGNING_KEY.to_owned())));
    assert!(!widened.contains(&("kms:Decrypt".to_owned(), SIGNING_KEY.to_owned())));
    let in_code = variables_in_code();
    let misspelled = TEMPLATE.replacen(
        "XECURE_GATEWAY_CACHE_SECONDS: !Ref",
        "XECURE_GATEWAY_CACHE_SECOND: !Ref",
        1,
    );
    let given = environment_of(&parse(&misspelled), "AuthorizerFunction");
    assert!(given.contains("XECURE_GATEWAY_CACHE_SECOND"));
    assert!(!in_code.contains("XECURE_GATEWAY_CACHE_SECOND"));
    // What the scan finds in the code, for the record.
    let actions = actions_in_code();
    for action in [
        "dynamodb:ConditionCheckItem",
        "kms:Decrypt",
        "logs:PutLogEvents",
        "dynamodb:Query",
    ] {
        assert!(actions.contains_key(action), "{action}: {actions:?}");
    }
    assert!(in_code.contains("XECURE_TABLE") && in_code.contains("XECURE_ISSUER"));
}
