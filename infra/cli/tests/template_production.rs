//! What a production deploy of infra/template.yaml needs, checked against the code that
//! defines it: kept data that never blocks a redeploy, names that fit at the longest stage,
//! the default architecture CI builds, the gateway responses and usage plans the local
//! gateway applies, the access-log format `xecure usage` reads, queries that name only its
//! fields, an authorizer alarm that counts failures and never a 401, an alarm topic CloudWatch
//! can publish to, throttling, WAF, and a samconfig without placeholders or secrets.

mod template;

use saphyr::Yaml;
use serde_json::Value;
use std::collections::BTreeSet;
use template::{at, items, keys, parse, resources, resources_of, text, untagged, TEMPLATE};
use xecure::api_usage::access_log::{format, AccessRecord, ApiKind, FIELDS};
use xecure::api_usage::plans::UsagePlans;
use xecure::authorizer::responses::ALL as GATEWAY_RESPONSES;

const SAMCONFIG: &str = include_str!("../../../samconfig.toml");
const DEPLOY_CHECK: &str = include_str!("../../../tests/deploy/check.sh");

fn template() -> Yaml<'static> {
    parse(TEMPLATE)
}

fn property(template: &Yaml, resource: &str, path: &[&str]) -> Option<String> {
    text(at(
        template,
        &[&["Resources", resource, "Properties"][..], path].concat(),
    ))
}

/// Properties that give a resource a fixed physical name, by type.
const NAME_PROPERTIES: [(&str, &str); 4] = [
    ("AWS::DynamoDB::Table", "TableName"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::KMS::Key", "KeySpec-has-no-name"),
];

#[test]
fn kept_data_has_no_fixed_name_and_is_removed_when_its_first_create_rolls_back() {
    let template = template();
    let mut retained = BTreeSet::new();
    for (name, node) in resources(&template) {
        let Some(policy) = text(at(node, &["DeletionPolicy"])) else {
            continue;
        };
        // Retain would leave a failed first deploy's table, key and log groups behind;
        // RetainExceptOnCreate removes what this very stack operation created.
        assert_eq!(policy, "RetainExceptOnCreate", "{name}");
        assert_eq!(
            text(at(node, &["UpdateReplacePolicy"])).as_deref(),
            Some("Retain"),
            "{name}: a replacement must keep the old one too"
        );
        let kind = text(at(node, &["Type"])).unwrap();
        for (type_name, name_property) in NAME_PROPERTIES {
            assert!(
                kind != type_name || at(node, &["Properties", name_property]).is_none(),
                "{name} is kept after a deletion: a fixed {name_property} would make the next deploy fail with 'already exists'"
            );
        }
        retained.insert(name);
    }
    for data in [
        "XecureTable",
        "SigningKeyEnvelopeKey",
        "AuditLogGroup",
        "ApiAccessLogGroup",
    ] {
        assert!(
            retained.contains(data),
            "{data} must survive a stack deletion"
        );
    }
}

/// Names the template builds from `${Stage}`, and the limit AWS sets on each.
const NAME_LIMITS: [(&str, &str, usize); 11] = [
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::KMS::Alias", "AliasName", 256),
    ("AWS::Logs::QueryDefinition", "Name", 255),
    ("AWS::Logs::MetricFilter", "FilterName", 512),
    ("AWS::ApiGateway::UsagePlan", "UsagePlanName", 255),
    ("AWS::WAFv2::WebACL", "Name", 128),
    ("AWS::Serverless::Api", "StageName", 128),
];

#[test]
fn every_name_built_from_the_stage_fits_at_the_longest_stage() {
    let template = template();
    let max: usize = text(at(&template, &["Parameters", "Stage", "MaxLength"]))
        .unwrap()
        .parse()
        .unwrap();
    let longest = "s".repeat(max);
    let mut checked = 0;
    for (kind, name_property, limit) in NAME_LIMITS {
        for (resource, _) in resources_of(&template, kind) {
            let Some(name) = property(&template, &resource, &[name_property]) else {
                continue;
            };
            let built = name
                .trim_start_matches("!Sub ")
                .trim_start_matches("!Ref ")
                .replace("${Stage}", &longest)
                .replace("Stage", &longest);
            assert!(
                built.len() <= limit,
                "{resource}.{name_property} is {} characters at the longest Stage ({max}), over {limit}",
                built.len()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} names checked");
    // The binding one: a function name must fit Lambda's 64 characters.
    assert!(format!("xecure-{longest}-authorizer").len() <= 64);
}

#[test]
fn the_default_architecture_is_the_one_the_deploy_checks_build() {
    let template = template();
    let default = text(at(&template, &["Parameters", "Architecture", "Default"])).unwrap();
    let target = DEPLOY_CHECK
        .lines()
        .find_map(|line| line.strip_prefix("TARGET=\""))
        .and_then(|rest| rest.split('-').next())
        .unwrap();
    let lambda_name = match target {
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        default, lambda_name,
        "CI must build what a default deploy runs"
    );
}

#[test]
fn the_rest_apis_gateway_responses_are_the_local_gateways() {
    let template = template();
    let responses = [
        "Resources",
        "XecureRestApi",
        "Properties",
        "GatewayResponses",
    ];
    let configured: BTreeSet<String> = keys(at(&template, &responses)).into_iter().collect();
    let expected: BTreeSet<String> = GATEWAY_RESPONSES
        .iter()
        .map(|r| r.response_type.to_owned())
        .collect();
    assert_eq!(configured, expected);
    for response in GATEWAY_RESPONSES {
        let node = at(&template, &responses)
            .and_then(|all| untagged(all).as_mapping_get(response.response_type))
            .unwrap();
        assert_eq!(
            text(at(node, &["StatusCode"])),
            Some(response.status.to_string()),
            "{}",
            response.response_type
        );
        // Header values are mapping expressions: a static value is in single quotes.
        let headers: BTreeSet<(String, String)> =
            keys(at(node, &["ResponseParameters", "Headers"]))
                .into_iter()
                .map(|name| {
                    let value = text(at(node, &["ResponseParameters", "Headers", &name])).unwrap();
                    (name, value.trim_matches('\'').to_owned())
                })
                .collect();
        let expected: BTreeSet<(String, String)> = response
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        assert_eq!(headers, expected, "{}", response.response_type);
        let body = text(at(node, &["ResponseTemplates", "application/json"])).unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        let local: Value = serde_json::from_str(&response.body()).unwrap();
        assert_eq!(body, local, "{}", response.response_type);
    }
}

#[test]
fn the_usage_plans_are_the_configured_ones_on_the_rest_stage() {
    let template = template();
    assert_eq!(
        property(&template, "XecureRestApi", &["ApiKeySourceType"]).as_deref(),
        Some("AUTHORIZER"),
        "the key must come from the authorizer, never from the caller"
    );
    let deployed: BTreeSet<String> = resources_of(&template, "AWS::ApiGateway::UsagePlan")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let plans = UsagePlans::built_in().unwrap();
    let declared: BTreeSet<String> = plans.plans().iter().map(|p| p.logical_id()).collect();
    assert_eq!(
        deployed, declared,
        "infra/usage-plans.toml and the template"
    );
    for plan in plans.plans() {
        let id = plan.logical_id();
        let get = |path: &[&str]| property(&template, &id, path);
        assert_eq!(
            get(&["UsagePlanName"]),
            Some(format!("!Sub xecure-${{Stage}}-{}", plan.name))
        );
        assert_eq!(get(&["Description"]), Some(plan.description.clone()));
        assert_eq!(
            get(&["Throttle", "RateLimit"]),
            Some(plan.rate_limit.to_string())
        );
        assert_eq!(
            get(&["Throttle", "BurstLimit"]),
            Some(plan.burst_limit.to_string())
        );
        assert_eq!(get(&["Quota", "Limit"]), Some(plan.quota_limit.to_string()));
        assert_eq!(
            get(&["Quota", "Period"]).as_deref(),
            Some(plan.quota_period.as_str())
        );
        let stages = items(at(
            &template,
            &["Resources", &id, "Properties", "ApiStages"],
        ));
        assert_eq!(stages.len(), 1, "{id}");
        assert_eq!(
            text(at(stages[0], &["ApiId"])).as_deref(),
            Some("!Ref XecureRestApi")
        );
        assert_eq!(
            text(at(stages[0], &["Stage"])).as_deref(),
            Some("!Ref XecureRestApi.Stage")
        );
        assert_eq!(
            text(at(&template, &["Resources", &id, "Condition"])).as_deref(),
            Some("UseRestApi")
        );
    }
}

#[test]
fn both_apis_write_the_access_log_record_xecure_usage_reads() {
    let template = template();
    let log_group = "!GetAtt ApiAccessLogGroup.Arn";
    let rest = ["AccessLogSetting"];
    assert_eq!(
        property(&template, "XecureRestApi", &[rest[0], "Format"]),
        Some(format(ApiKind::Rest))
    );
    assert_eq!(
        property(&template, "XecureRestApi", &[rest[0], "DestinationArn"]).as_deref(),
        Some(log_group)
    );
    assert_eq!(
        property(&template, "XecureHttpApi", &["AccessLogSettings", "Format"]),
        Some(format(ApiKind::Http))
    );
    assert_eq!(
        property(
            &template,
            "XecureHttpApi",
            &["AccessLogSettings", "DestinationArn"]
        )
        .as_deref(),
        Some(log_group)
    );
    assert_eq!(
        property(&template, "ApiAccessLogGroup", &["RetentionInDays"]).as_deref(),
        Some("!Ref AccessLogRetentionDays")
    );
}

/// Words of Logs Insights the usage queries use that are not record fields.
const INSIGHTS_WORDS: [&str; 19] = [
    "filter", "stats", "count", "sum", "floor", "pct", "by", "sort", "desc", "asc", "limit", "as",
    "in", "and", "or", "not", "bin", "fields", "source",
];

/// The record fields a Logs Insights query over the access log names (aliases excluded).
fn fields_named(query: &str) -> BTreeSet<String> {
    let mut aliases = BTreeSet::new();
    let mut words = Vec::new();
    let mut previous = String::new();
    let mut in_string = false;
    let mut word = String::new();
    for c in query.chars().chain(std::iter::once(' ')) {
        if c == '"' || c == '\'' {
            in_string = !in_string;
            continue;
        }
        if in_string {
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '@' {
            word.push(c);
        } else if !word.is_empty() {
            if previous == "as" {
                aliases.insert(word.clone());
            }
            previous = word.to_lowercase();
            words.push(std::mem::take(&mut word));
        }
    }
    words
        .into_iter()
        // Numbers and durations (400, 1d, 5m) and Logs Insights' own @fields.
        .filter(|w| !w.starts_with(|c: char| c.is_ascii_digit()) && !w.starts_with('@'))
        .filter(|w| !INSIGHTS_WORDS.contains(&w.to_lowercase().as_str()) && !aliases.contains(w))
        .collect()
}

#[test]
fn usage_queries_and_widgets_name_only_fields_of_the_record() {
    let template = template();
    let record: BTreeSet<&str> = FIELDS.iter().map(|field| field.name).collect();
    let mut queries = Vec::new();
    for (name, _) in resources_of(&template, "AWS::Logs::QueryDefinition") {
        let groups = items(at(
            &template,
            &["Resources", &name, "Properties", "LogGroupNames"],
        ));
        if groups
            .iter()
            .any(|g| text(Some(g)).as_deref() == Some("!Ref ApiAccessLogGroup"))
        {
            queries.push((
                name.clone(),
                property(&template, &name, &["QueryString"]).unwrap(),
            ));
        }
    }
    let body = property(&template, "Dashboard", &["DashboardBody"]);
    let dashboard = at(
        &template,
        &["Resources", "Dashboard", "Properties", "DashboardBody"],
    )
    .map(|node| items(Some(node)))
    .and_then(|parts| text(parts.first().copied()))
    .or(body)
    .unwrap();
    for line in dashboard.lines() {
        if let Some(start) = line.find("SOURCE '${ApiAccessLogGroup}' |") {
            let query = &line[start + "SOURCE '${ApiAccessLogGroup}' |".len()..];
            let query = query.split("\"}}").next().unwrap().replace("\\\"", "\"");
            queries.push(("a dashboard widget".into(), query));
        }
    }
    assert!(queries.len() >= 8, "{queries:?}");
    for (name, query) in queries {
        let unknown: Vec<String> = fields_named(&query)
            .into_iter()
            .filter(|field| !record.contains(field.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{name} names {unknown:?}, not fields of the record:\n{query}"
        );
    }
    assert_eq!(
        fields_named(
            "filter client_id != \"-\" | stats count(*) as calls by client_id, bin(1d) as day"
        ),
        BTreeSet::from(["client_id".to_owned()])
    );
}

/// A CloudWatch Logs JSON filter pattern, for the subset the template uses: `&&`, `||`,
/// parentheses, and `$.field` compared with `=`, `!=`, `>=`, `<=`, `>`, `<` to a quoted
/// string or a number ("Filter pattern syntax for metric filters", JSON log events).
fn pattern_matches(pattern: &str, record: &Value) -> bool {
    let inner = pattern
        .trim()
        .strip_prefix('{')
        .unwrap()
        .strip_suffix('}')
        .unwrap();
    let tokens = tokenize(inner);
    let mut position = 0;
    let matched = or_expression(&tokens, &mut position, record);
    assert_eq!(position, tokens.len(), "unparsed pattern: {pattern}");
    matched
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {}
            '(' | ')' => tokens.push(c.to_string()),
            '"' => {
                let mut literal = String::from('"');
                for next in chars.by_ref() {
                    literal.push(next);
                    if next == '"' {
                        break;
                    }
                }
                tokens.push(literal);
            }
            _ => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if next == ' ' || next == '(' || next == ')' {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(word);
            }
        }
    }
    tokens
}

fn or_expression(tokens: &[String], at: &mut usize, record: &Value) -> bool {
    let mut value = and_expression(tokens, at, record);
    while tokens.get(*at).map(String::as_str) == Some("||") {
        *at += 1;
        value |= and_expression(tokens, at, record);
    }
    value
}

fn and_expression(tokens: &[String], at: &mut usize, record: &Value) -> bool {
    let mut value = comparison(tokens, at, record);
    while tokens.get(*at).map(String::as_str) == Some("&&") {
        *at += 1;
        value &= comparison(tokens, at, record);
    }
    value
}

fn comparison(tokens: &[String], at: &mut usize, record: &Value) -> bool {
    if tokens[*at] == "(" {
        *at += 1;
        let value = or_expression(tokens, at, record);
        assert_eq!(tokens[*at], ")");
        *at += 1;
        return value;
    }
    let field = tokens[*at].strip_prefix("$.").expect("a $.field");
    let operator = tokens[*at + 1].as_str();
    let literal = tokens[*at + 2].as_str();
    *at += 3;
    let actual = &record[field];
    if let Some(expected) = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        let actual = actual.as_str();
        return match operator {
            "=" => actual == Some(expected),
            "!=" => actual.is_some_and(|a| a != expected),
            other => panic!("string comparison {other}"),
        };
    }
    let expected: f64 = literal.parse().unwrap();
    let Some(actual) = actual.as_f64() else {
        return false;
    };
    match operator {
        "=" => actual == expected,
        "!=" => actual != expected,
        ">=" => actual >= expected,
        "<=" => actual <= expected,
        ">" => actual > expected,
        "<" => actual < expected,
        other => panic!("operator {other}"),
    }
}

fn access_record(status: u16, error_type: Option<&str>, authorizer_error: Option<&str>) -> Value {
    AccessRecord {
        request_id: Some("r".into()),
        request_time_ms: 1_800_000_000_000,
        route: Some("GET /orders".into()),
        status,
        error_type: error_type.map(str::to_owned),
        authorizer_error: authorizer_error.map(str::to_owned),
        ..AccessRecord::default()
    }
    .to_json()
}

#[test]
fn the_authorizer_alarm_counts_failures_and_never_a_401() {
    let template = template();
    let filters = resources_of(&template, "AWS::Logs::MetricFilter");
    let (filter, _) = filters
        .iter()
        .find(|(name, _)| name == "AuthorizerFailuresMetricFilter")
        .unwrap();
    assert_eq!(
        property(&template, filter, &["LogGroupName"]).as_deref(),
        Some("!Ref ApiAccessLogGroup")
    );
    let pattern = property(&template, filter, &["FilterPattern"]).unwrap();
    let transformation = items(at(
        &template,
        &["Resources", filter, "Properties", "MetricTransformations"],
    ))[0];
    let namespace = text(at(transformation, &["MetricNamespace"])).unwrap();
    let metric = text(at(transformation, &["MetricName"])).unwrap();
    let authorizer = authorizer::handler::UNAVAILABLE;
    let unauthorized = authorizer::handler::UNAUTHORIZED;
    let cases = [
        // What the local gateway records for each (serve::api_gateway_tests pins those).
        (
            "REST fail-closed or crash: 503",
            access_record(503, Some("AUTHORIZER_FAILURE"), Some(authorizer)),
            true,
        ),
        (
            "REST invalid answer: 500",
            access_record(500, Some("AUTHORIZER_CONFIGURATION_ERROR"), None),
            true,
        ),
        (
            "HTTP API authorizer error: 500",
            access_record(500, None, Some(authorizer)),
            true,
        ),
        (
            "a missing or bad token: 401",
            access_record(401, Some("UNAUTHORIZED"), Some(unauthorized)),
            false,
        ),
        (
            "a token without the scope: 403",
            access_record(403, Some("ACCESS_DENIED"), None),
            false,
        ),
        (
            "throttled: 429",
            access_record(429, Some("THROTTLED"), None),
            false,
        ),
        (
            "the backend failed: 502",
            access_record(502, None, None),
            false,
        ),
        ("allowed: 200", access_record(200, None, None), false),
    ];
    for (case, record, counted) in cases {
        assert_eq!(
            pattern_matches(&pattern, &record),
            counted,
            "{case}: {pattern} on {record}"
        );
    }
    // The alarm watches that metric and notifies; nothing alarms on the authorizer's Lambda
    // Errors, which count every REST 401.
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    let watching: Vec<&String> = alarms
        .iter()
        .filter(|(name, _)| {
            property(&template, name, &["Namespace"]).as_deref() == Some(namespace.as_str())
                && property(&template, name, &["MetricName"]).as_deref() == Some(metric.as_str())
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(watching, ["AuthorizerFailuresAlarm"]);
    for (name, _) in &alarms {
        let lambda_errors = property(&template, name, &["Namespace"]).as_deref()
            == Some("AWS/Lambda")
            && property(&template, name, &["MetricName"]).as_deref() == Some("Errors");
        let dimension = items(at(
            &template,
            &["Resources", name, "Properties", "Dimensions"],
        ))
        .first()
        .and_then(|d| text(at(d, &["Value"])));
        assert!(
            !(lambda_errors && dimension.as_deref() == Some("!Ref AuthorizerFunction")),
            "{name} alarms on the authorizer's Lambda Errors: every REST 401 counts there"
        );
    }
}

#[test]
fn every_alarm_reaches_a_topic_cloudwatch_can_publish_to() {
    let template = template();
    let key = property(&template, "AlarmTopic", &["KmsMasterKeyId"]).unwrap();
    assert_eq!(
        key, "!Ref AlarmTopicKey",
        "alias/aws/sns cannot let CloudWatch in"
    );
    let statements = items(at(
        &template,
        &[
            "Resources",
            "AlarmTopicKey",
            "Properties",
            "KeyPolicy",
            "Statement",
        ],
    ));
    let cloudwatch = statements
        .iter()
        .find(|s| {
            text(at(s, &["Principal", "Service"])).as_deref() == Some("cloudwatch.amazonaws.com")
        })
        .expect("a key policy statement for cloudwatch.amazonaws.com");
    let actions: BTreeSet<String> = items(at(cloudwatch, &["Action"]))
        .into_iter()
        .filter_map(|a| text(Some(a)))
        .collect();
    assert!(actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey*"));
    let source = text(at(cloudwatch, &["Condition", "ArnLike", "aws:SourceArn"])).unwrap();
    assert!(source.ends_with(":alarm:xecure-${Stage}-*"), "{source}");
    for (alarm, _) in resources_of(&template, "AWS::CloudWatch::Alarm") {
        let name = property(&template, &alarm, &["AlarmName"]).unwrap();
        assert!(
            name.starts_with("!Sub xecure-${Stage}-"),
            "{alarm}: {name} is outside the key policy's pattern"
        );
        let actions: Vec<String> = items(at(
            &template,
            &["Resources", &alarm, "Properties", "AlarmActions"],
        ))
        .into_iter()
        .filter_map(|a| text(Some(a)))
        .collect();
        assert_eq!(actions, ["!Ref AlarmTopic"], "{alarm}");
    }
}

#[test]
fn the_stage_and_the_credential_routes_are_throttled_in_both_apis() {
    let template = template();
    let settings = items(at(
        &template,
        &["Resources", "XecureRestApi", "Properties", "MethodSettings"],
    ));
    let throttled: BTreeSet<(String, String, String)> = settings
        .iter()
        .map(|s| {
            (
                text(at(s, &["ResourcePath"])).unwrap(),
                text(at(s, &["HttpMethod"])).unwrap(),
                text(at(s, &["ThrottlingRateLimit"])).unwrap_or_default(),
            )
        })
        .collect();
    for (path, method, rate) in [
        ("/*", "*", "!Ref ApiThrottleRate"),
        ("/~1token", "POST", "!Ref OAuthThrottleRate"),
        ("/~1par", "POST", "!Ref OAuthThrottleRate"),
        ("/~1login", "POST", "!Ref OAuthThrottleRate"),
        ("/~1register", "*", "!Ref OAuthThrottleRate"),
    ] {
        assert!(
            throttled.contains(&(path.into(), method.into(), rate.into())),
            "REST {method} {path} at {rate}: {throttled:?}"
        );
    }
    assert_eq!(
        property(
            &template,
            "XecureHttpApi",
            &["DefaultRouteSettings", "ThrottlingRateLimit"]
        )
        .as_deref(),
        Some("!Ref ApiThrottleRate")
    );
    let routed: BTreeSet<String> = template::operations(&template, "XecureHttpApi")
        .unwrap()
        .iter()
        .map(template::Operation::name)
        .collect();
    let route_keys = keys(at(
        &template,
        &["Resources", "XecureHttpApi", "Properties", "RouteSettings"],
    ));
    assert_eq!(route_keys.len(), 4);
    for key in route_keys {
        assert!(
            routed.contains(&key),
            "RouteSettings names {key}, which is not a route"
        );
    }
}

#[test]
fn the_optional_waf_rule_limits_each_source_ip_on_the_rest_stage() {
    let template = template();
    let rule = items(at(
        &template,
        &["Resources", "WebAcl", "Properties", "Rules"],
    ))[0];
    assert_eq!(
        text(at(rule, &["Statement", "RateBasedStatement", "Limit"])).as_deref(),
        Some("!Ref WafRateLimit")
    );
    assert_eq!(
        text(at(
            rule,
            &["Statement", "RateBasedStatement", "AggregateKeyType"]
        ))
        .as_deref(),
        Some("IP")
    );
    assert_eq!(
        text(at(
            rule,
            &["Action", "Block", "CustomResponse", "ResponseCode"]
        ))
        .as_deref(),
        Some("429")
    );
    for resource in ["WebAcl", "WebAclAssociation"] {
        assert_eq!(
            text(at(&template, &["Resources", resource, "Condition"])).as_deref(),
            Some("UseWaf")
        );
    }
    let condition = at(&template, &["Conditions", "UseWaf"]).unwrap();
    assert!(
        format!("{condition:?}").contains("UseRestApi"),
        "WAF attaches to REST stages only"
    );
    let allowed: Vec<String> = items(at(
        &template,
        &["Parameters", "WafRateLimit", "AllowedValues"],
    ))
    .into_iter()
    .filter_map(|v| text(Some(v)))
    .collect();
    assert_eq!(allowed[0], "0", "0 turns the web ACL off");
    assert!(allowed[1..]
        .iter()
        .all(|v| v.parse::<u64>().unwrap() >= 100));
}

#[test]
fn samconfig_deploys_to_a_region_with_no_placeholder_address_or_secret() {
    let template = template();
    let parameters: BTreeSet<String> = keys(at(&template, &["Parameters"])).into_iter().collect();
    let config: toml::Table = toml::from_str(SAMCONFIG).unwrap();
    let mut environments = 0;
    for (environment, sections) in &config {
        let Some(deploy) = sections.get("deploy").and_then(|d| d.get("parameters")) else {
            continue;
        };
        environments += 1;
        assert!(
            deploy
                .get("region")
                .and_then(|r| r.as_str())
                .is_some_and(|r| !r.is_empty()),
            "{environment}: no region (sam deploy would take whatever the shell has)"
        );
        let overrides = deploy["parameter_overrides"].as_str().unwrap();
        for pair in overrides.split_whitespace() {
            let (name, value) = pair.split_once('=').unwrap();
            assert!(
                parameters.contains(name),
                "{environment}: {name} is no parameter"
            );
            assert_ne!(
                name, "OriginVerifySecret",
                "{environment}: a secret in samconfig"
            );
            assert!(
                !(name == "AlarmEmail" && value.contains("example.")),
                "{environment}: alarms would go to a placeholder address"
            );
        }
    }
    assert_eq!(environments, 2);
    assert_eq!(
        text(at(
            &template,
            &["Parameters", "OriginVerifySecret", "NoEcho"]
        ))
        .as_deref(),
        Some("true")
    );
    let bootstrap = text(at(&template, &["Outputs", "BootstrapCommand", "Value"])).unwrap();
    assert!(
        bootstrap.starts_with("!Sub cargo run -p xecure-cli -- "),
        "the command must run from the repository without an install: {bootstrap}"
    );
}

#[test]
fn the_json_filter_evaluator_reads_what_it_is_given() {
    let record: Value = serde_json::json!({"status": 503, "kind": "x"});
    assert!(pattern_matches("{ $.status >= 500 }", &record));
    assert!(!pattern_matches(
        "{ $.status >= 500 && $.kind != \"x\" }",
        &record
    ));
    assert!(pattern_matches(
        "{ ($.kind = \"y\") || ($.status = 503) }",
        &record
    ));
    assert!(!pattern_matches("{ $.missing = \"x\" }", &record));
}
