//! Against moto: `xecure usage --log-group` reads one app's access-log records back from
//! CloudWatch Logs and summarises them, and `xecure usage-plan assign|list|unassign` keeps the
//! app's API key (valued as the authorizer's usageIdentifierKey) on exactly one usage plan of
//! the stage through the API Gateway API.

use aws_sdk_apigateway::types::{ApiStage, QuotaPeriodType, QuotaSettings, ThrottleSettings};
use serde_json::Value;
use std::process::Command;
use xecure::api_usage::access_log::AccessRecord;
use xecure::api_usage::plans::{usage_identifier_key, UsagePlans};
use xecure::audit::cloudwatch::{create_log_group_if_missing, CloudWatchAuditLog};
use xecure::audit::log_group::{AuditLogWriter, LogEvent};
use xecure::domain::*;
use xecure::ports::{ClientRegistry, Clock, SystemClock};
use xecure::testing::moto::{endpoint, fresh_store, sdk_config, unique_name};
use xecure::testing::ClientFixture;

fn xecure(table: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .args(["--dynamodb-table", table, "--endpoint", &endpoint()])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("XECURE_DATA_DIR")
        .env_remove("XECURE_ACCESS_LOG_GROUP")
        .env_remove("XECURE_STAGE")
        .output()
        .expect("run xecure");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn record(client: &str, route: &str, status: u16, latency: u64, at: Timestamp) -> AccessRecord {
    AccessRecord {
        request_id: Some(unique_name("req")),
        request_time_ms: at.as_millis(),
        method: route.split(' ').next().map(str::to_owned),
        route: Some(route.to_owned()),
        status,
        latency_ms: Some(latency),
        client_id: Some(client.to_owned()),
        ..AccessRecord::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_summarises_one_apps_access_log_records_from_cloudwatch() {
    let store = fresh_store().await;
    let aws = sdk_config();
    let group = unique_name("/xecure/test/api-access");
    create_log_group_if_missing(&aws, &group).await.unwrap();
    let now = SystemClock.now();
    let old = Timestamp::from_millis(now.as_millis() - 3 * 3600 * 1000);
    let records = [
        record("web-app", "GET /orders", 200, 10, now),
        record("web-app", "GET /orders", 200, 30, now),
        record("web-app", "POST /orders", 403, 2, now),
        record("web-app", "GET /orders", 429, 1, now),
        // Another app whose id contains this one's: matched exactly, so not counted.
        record("web-app-2", "GET /orders", 200, 5, now),
        // Outside the range asked for.
        record("web-app", "GET /orders", 200, 5, old),
    ];
    let mut events: Vec<LogEvent> = records
        .iter()
        .map(|r| LogEvent {
            at: Timestamp::from_millis(r.request_time_ms),
            event_id: r.request_id.clone().unwrap(),
            message: r.to_json().to_string(),
        })
        .collect();
    events.sort_by_key(|event| event.at);
    let writer = CloudWatchAuditLog::from_config(&aws, &group, "apigateway");
    writer.put_events(&events).await.unwrap();

    let (ok, out, err) = xecure(
        store.table_name(),
        &[
            "usage",
            "--client",
            "web-app",
            "--since",
            "1h",
            "--log-group",
            &group,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["total"]["calls"], 4, "{summary}");
    assert_eq!(summary["total"]["throttled"], 1);
    let get = &summary["rows"][0];
    assert_eq!(get["key"], "GET /orders");
    assert_eq!(
        (get["calls"].as_u64(), get["ok"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        (get["p50_ms"].as_u64(), get["p99_ms"].as_u64()),
        (Some(10), Some(30))
    );

    let (ok, table, err) = xecure(
        store.table_name(),
        &[
            "usage",
            "--client",
            "web-app",
            "--since",
            "1h",
            "--log-group",
            &group,
        ],
    );
    assert!(ok, "{err}");
    println!("{table}");
    assert!(table.contains("POST /orders"), "{table}");
    let (ok, _, err) = xecure(
        store.table_name(),
        &["usage", "--client", "web app", "--log-group", &group],
    );
    assert!(
        !ok && err.contains("client"),
        "a bad client id is refused: {err}"
    );
}

async fn put_client(store: &dyn ClientRegistry, id: &str) {
    store
        .put_client(
            &ClientFixture::public(id)
                .redirect("https://app.example/cb")
                .scopes("orders:read", "orders:read")
                .grants(&[GrantType::AuthorizationCode])
                .at(SystemClock.now()),
        )
        .await
        .unwrap();
}

/// The usage plans the template would create for `stage`, on moto.
async fn deploy_plans(client: &aws_sdk_apigateway::Client, stage: &str, api_id: &str) {
    for plan in UsagePlans::built_in().unwrap().plans() {
        client
            .create_usage_plan()
            .name(plan.name_in(stage))
            .api_stages(ApiStage::builder().api_id(api_id).stage(stage).build())
            .throttle(
                ThrottleSettings::builder()
                    .rate_limit(plan.rate_limit)
                    .burst_limit(i32::try_from(plan.burst_limit).unwrap())
                    .build(),
            )
            .quota(
                QuotaSettings::builder()
                    .limit(i32::try_from(plan.quota_limit).unwrap())
                    .period(QuotaPeriodType::Day)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn plans_holding(
    client: &aws_sdk_apigateway::Client,
    stage: &str,
    key_id: &str,
) -> Vec<String> {
    let mut holding = Vec::new();
    let plans = client.get_usage_plans().send().await.unwrap();
    for plan in plans.items() {
        let name = plan.name().unwrap_or_default();
        if !name.starts_with(&format!("xecure-{stage}-")) {
            continue;
        }
        let keys = client
            .get_usage_plan_keys()
            .usage_plan_id(plan.id().unwrap())
            .send()
            .await
            .unwrap();
        if keys.items().iter().any(|key| key.id() == Some(key_id)) {
            holding.push(name.to_owned());
        }
    }
    holding
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_assign_keeps_the_apps_key_on_one_plan() {
    let store = fresh_store().await;
    put_client(&store, "web-app").await;
    let aws = sdk_config();
    let gateway = aws_sdk_apigateway::Client::new(&aws);
    let stage = unique_name("s");
    let api_id = unique_name("api");
    deploy_plans(&gateway, &stage, &api_id).await;
    let table = store.table_name().to_owned();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--stage", stage.as_str()]);
        xecure(&table, &all)
    };

    let (ok, out, err) = run(&[
        "usage-plan",
        "assign",
        "--client",
        "web-app",
        "--plan",
        "standard",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("web-app is on standard"), "{out}");
    let keys = gateway
        .get_api_keys()
        .name_query(format!("xecure-{stage}-web-app"))
        .include_values(true)
        .send()
        .await
        .unwrap();
    let key = &keys.items()[0];
    assert_eq!(
        key.value(),
        Some(usage_identifier_key(&api_id, &stage, "web-app").as_str()),
        "the value the authorizer returns as usageIdentifierKey"
    );
    let key_id = key.id().unwrap().to_owned();
    assert_eq!(
        plans_holding(&gateway, &stage, &key_id).await,
        [format!("xecure-{stage}-standard")]
    );

    // Moving the app takes it off the old plan; assigning again changes nothing.
    for _ in 0..2 {
        let (ok, _, err) = run(&[
            "usage-plan",
            "assign",
            "--client",
            "web-app",
            "--plan",
            "partner",
        ]);
        assert!(ok, "{err}");
        assert_eq!(
            plans_holding(&gateway, &stage, &key_id).await,
            [format!("xecure-{stage}-partner")]
        );
    }
    let (ok, out, err) = run(&["usage-plan", "list"]);
    assert!(ok, "{err}");
    let partner_line = out.lines().find(|l| l.starts_with("partner")).unwrap();
    assert!(partner_line.ends_with("web-app"), "{out}");

    // Unknown plans and apps are refused with the reason.
    let (ok, _, err) = run(&[
        "usage-plan",
        "assign",
        "--client",
        "web-app",
        "--plan",
        "gold",
    ]);
    assert!(!ok && err.contains("no plan 'gold'"), "{err}");
    let (ok, _, err) = run(&[
        "usage-plan",
        "assign",
        "--client",
        "ghost",
        "--plan",
        "standard",
    ]);
    assert!(!ok && err.contains("no client ghost"), "{err}");
    let (ok, _, err) = xecure(&table, &["usage-plan", "list"]);
    assert!(!ok && err.contains("--stage"), "{err}");

    let (ok, _, err) = run(&["usage-plan", "unassign", "--client", "web-app"]);
    assert!(ok, "{err}");
    assert!(plans_holding(&gateway, &stage, &key_id).await.is_empty());
    let (ok, _, err) = run(&["usage-plan", "unassign", "--client", "web-app"]);
    assert!(!ok && err.contains("on no plan"), "{err}");

    // Each change is in the audit trail, with the plan and the operator who made it.
    let (ok, out, err) = xecure(&table, &["audit", "--client", "web-app", "--json"]);
    assert!(ok, "{err}");
    let plans: Vec<&str> = out
        .lines()
        .filter_map(|line| line.split("\"usage_plan\":\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(plans, ["none", "partner", "partner", "standard"], "{out}");
    assert!(out.contains("\"operator\":\""), "{out}");
}
