//! Issue #8's walk: login, consent, token, a protected API call, refresh and revocation leave
//! the expected audit records, in order, in DynamoDB and in the CloudWatch Logs audit group
//! (both moto), and not one record, line or batch holds the password, the code or a token.
//! A log group that cannot be written does not fail the user's request, and is counted.

use authorizer::handler::{decide_value, AuthorizerApp};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use xecure::audit::cloudwatch::{
    create_log_group_if_missing, read_audit_log, CloudWatchAuditLog, LogGroupQuery,
};
use xecure::audit::lines::MemoryLines;
use xecure::audit::log_group::AuditLogBatch;
use xecure::audit::Auditor;
use xecure::authorizer::routes::RouteTable;
use xecure::authorizer::{Authorizer, AuthorizerConfig};
use xecure::config::{OAuthConfig, SdkConfig};
use xecure::domain::{AuditEvent, AuditQuery, AuditSubject, Timestamp, UserId, Username};
use xecure::ports::{Clock, Store, SystemClock};
use xecure::testing::moto::{sdk_config, unique_name};
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

const VERIFIER: &str = "audit-trail-verifier-0123456789abcdefghijklmnopqrstuvwxyz";

/// Each function's auditor as its Lambda wiring makes it: lines to `lines` (stdout there),
/// a batch per invocation to the audit log group.
fn wired(
    aws: &SdkConfig,
    group: &str,
    function: &'static str,
    lines: &Arc<MemoryLines>,
) -> (impl FnOnce(Auditor) -> Auditor, Arc<AuditLogBatch>) {
    let batch = Arc::new(AuditLogBatch::new(
        Arc::new(CloudWatchAuditLog::from_config(aws, group, function)),
        lines.clone(),
        Arc::new(SystemClock),
        function,
    ));
    let attached = batch.clone();
    let lines = lines.clone();
    let configure = move |auditor: Auditor| auditor.with_lines(lines).with_log_group(attached);
    (configure, batch)
}

async fn moto_system(
    group: &str,
    lines: &Arc<MemoryLines>,
) -> (System, SdkConfig, Vec<Arc<AuditLogBatch>>) {
    let aws = sdk_config();
    let (interactive, interactive_batch) = wired(&aws, group, "authorize", lines);
    let (token, token_batch) = wired(&aws, group, "token", lines);
    let system = System::dynamodb().await.audited(interactive, token);
    (system, aws, vec![interactive_batch, token_batch])
}

/// Logs in and approves `orders:read`: the authorization code.
async fn log_in_and_consent(system: &System, browser: &mut Browser) -> String {
    let start = browser
        .get(
            system,
            &authorize_path(VERIFIER, &[("scope", "orders:read")]),
        )
        .await;
    let login = browser.get(system, &start.local_location()).await;
    let logged_in = browser.log_in(system, &login, USERNAME, PASSWORD).await;
    assert_eq!(
        logged_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        logged_in.body
    );
    let screen = browser.get(system, &logged_in.local_location()).await;
    let decided = browser.approve(system, &screen, "orders:read").await;
    let back = url::Url::parse(decided.location()).expect("a redirect to the app");
    back.query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("a code")
}

async fn user_id(store: &dyn Store) -> UserId {
    store
        .get_user_by_username(&Username::parse(USERNAME).unwrap())
        .await
        .unwrap()
        .expect("the user")
        .id
}

/// The user's records in the table from `from` until now, newest first.
async fn table_records(store: &dyn Store, user: &UserId, from: Timestamp) -> Vec<AuditEvent> {
    let until = SystemClock.now().plus(Duration::from_secs(1));
    let query = AuditQuery {
        subject: AuditSubject::User(user.clone()),
        from,
        to: until,
        limit: 100,
        cursor: None,
    };
    store.query_audit(&query, until).await.unwrap().events
}

fn kinds(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The API Gateway authorizer's answer and decision line for `GET /orders` with `token`.
async fn call_api(store: Arc<dyn Store>, token: &str) -> (Value, Value) {
    let gateway = Authorizer::load(
        store.clone(),
        store.clone(),
        store,
        Arc::new(RouteTable::built_in().unwrap()),
        AuthorizerConfig::new(&OAuthConfig::for_issuer(ISSUER)),
        Arc::new(SystemClock),
    )
    .await
    .expect("the gateway loads the published keys");
    let app = AuthorizerApp {
        authorizer: gateway,
        http_simple: false,
    };
    let event = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders",
    });
    let (answer, line) = decide_value(&app, &event).await;
    (answer.expect("an IAM policy"), line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walk_leaves_the_expected_records_in_dynamodb_and_cloudwatch_and_no_secret() {
    let group = unique_name("/xecure/test/audit");
    let lines = Arc::new(MemoryLines::default());
    let (system, aws, batches) = moto_system(&group, &lines).await;
    create_log_group_if_missing(&aws, &group).await.unwrap();
    let started = SystemClock.now();
    let mut browser = Browser::default();

    let code = log_in_and_consent(&system, &mut browser).await;
    let (status, tokens) = system
        .app_posts(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (policy, decision_line) = call_api(system.store.clone(), &access_token).await;
    assert_eq!(policy["policyDocument"]["Statement"][0]["Effect"], "Allow");

    let (status, refreshed) = system
        .app_posts(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let second_access = refreshed["access_token"].as_str().unwrap().to_owned();
    let second_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = system
        .app_posts("/revoke", &[("token", &second_refresh)])
        .await;
    assert_eq!(status, StatusCode::OK);

    // The expected sequence, oldest first: each step of the walk and what it produced.
    let expected = [
        "login_succeeded",
        "consent_granted",
        "code_issued",
        "code_redeemed",
        "token_issued",
        "token_refreshed",
        "token_revoked",
    ];
    let user = user_id(system.store.as_ref()).await;
    let mut in_table: Vec<Value> = table_records(system.store.as_ref(), &user, started)
        .await
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    in_table.reverse();
    assert_eq!(kinds(&in_table), expected);

    let mut in_log_group: Vec<Value> = read_audit_log(
        &aws,
        &group,
        &LogGroupQuery {
            subject: Some(AuditSubject::User(user.clone())),
            kind: None,
            from: started,
            to: SystemClock.now().plus(Duration::from_secs(1)),
            limit: 100,
        },
    )
    .await
    .unwrap()
    .iter()
    .map(|e| serde_json::to_value(e).unwrap())
    .collect();
    in_log_group.reverse();
    assert_eq!(in_log_group, in_table, "the same records in both sinks");
    assert!(batches.iter().all(|b| b.undelivered() == 0));

    // The refresh and the first token name the token by digest, as the decision line does.
    let issued = &in_table[4];
    assert_eq!(issued["detail"]["grant_type"], "authorization_code");
    assert_eq!(decision_line["kind"], "authorizer_allow");
    assert_eq!(decision_line["user_id"], user.as_str());
    assert_eq!(decision_line["client_id"], WEB);
    assert_eq!(
        decision_line["detail"]["jti_digest"],
        issued["detail"]["jti_digest"]
    );
    assert_eq!(decision_line["detail"]["route"], "GET /orders");

    // Every sink's text, searched for every secret the walk used.
    let mut everything: Vec<String> = lines.lines();
    everything.extend(in_table.iter().map(Value::to_string));
    everything.extend(in_log_group.iter().map(Value::to_string));
    everything.push(decision_line.to_string());
    let secrets = [
        PASSWORD,
        WEB_SECRET,
        &code,
        &access_token,
        &refresh_token,
        &second_access,
        &second_refresh,
        browser.cookie().unwrap(),
    ];
    for text in &everything {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in an audit line: {text}");
        }
    }
    // The stdout lines carry the records with their metrics.
    let metric_lines: Vec<Value> = lines
        .json()
        .into_iter()
        .filter(|l| l["AuditEvents"] == json!(1.0))
        .collect();
    assert!(metric_lines.len() >= expected.len());
    assert!(lines
        .json()
        .iter()
        .any(|l| l["TokensIssued"] == json!(1.0) && l["GrantType"] == "refresh_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_log_group_does_not_fail_the_request_and_is_counted() {
    // Never created: every PutLogEvents (and CreateLogStream) fails.
    let group = unique_name("/xecure/test/missing");
    let lines = Arc::new(MemoryLines::default());
    let (system, _aws, batches) = moto_system(&group, &lines).await;
    let started = SystemClock.now();
    let mut browser = Browser::default();
    let code = log_in_and_consent(&system, &mut browser).await;
    assert!(!code.is_empty(), "the user got through");

    let interactive = &batches[0];
    // login_succeeded, consent_granted, code_issued: three records, none delivered.
    assert_eq!(interactive.undelivered(), 3);
    let reports: Vec<Value> = lines
        .json()
        .into_iter()
        .filter(|l| l.get("AuditLogFallback").is_some())
        .collect();
    let reported: usize = reports
        .iter()
        .map(|r| r["event_ids"].as_array().unwrap().len())
        .sum();
    assert_eq!(reported, 3);
    assert!(reports.iter().all(|r| r["log_group"] == group.as_str()));
    // The records themselves are in the table and on stdout.
    let user = user_id(system.store.as_ref()).await;
    let stored = table_records(system.store.as_ref(), &user, started).await;
    assert_eq!(stored.len(), 3);
    for report in &reports {
        for id in report["event_ids"].as_array().unwrap() {
            assert!(lines
                .json()
                .iter()
                .any(|l| l["id"] == *id && l["kind"].is_string()));
        }
    }
}
