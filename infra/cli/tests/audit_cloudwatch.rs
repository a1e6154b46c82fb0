//! `xecure audit --source cloudwatch` reads back, from the audit log group on moto, the
//! records a function sent there: only the asked-for user's, newest first, by kind on request.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use xecure::audit::cloudwatch::{create_log_group_if_missing, CloudWatchAuditLog};
use xecure::audit::lines::MemoryLines;
use xecure::audit::log_group::AuditLogBatch;
use xecure::audit::{AuditDraft, Auditor, RequestContext};
use xecure::domain::{
    AuditEventKind, AuditOutcome, EventId, Password, PasswordHash, User, UserId, Username,
};
use xecure::ports::{AccountAdmin, Clock, OsRng, Store, SystemClock};
use xecure::testing::moto::{endpoint, fresh_store, sdk_config, unique_name};

async fn user(store: &dyn AccountAdmin, name: &str) -> UserId {
    let user = User::new(
        UserId::generate(&OsRng),
        Username::parse(name).unwrap(),
        PasswordHash::create(&Password::new("a long passphrase"), &OsRng).unwrap(),
        SystemClock.now(),
    );
    store.create_user(&user).await.unwrap();
    user.id
}

fn audit_cli(table: &str, group: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .args(["--dynamodb-table", table, "--endpoint", &endpoint()])
        .args(["audit", "--user", "alice", "--source", "cloudwatch"])
        .args(["--log-group", group, "--since", "1h", "--json"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("XECURE_DATA_DIR")
        .output()
        .expect("run xecure");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON record per line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reads_back_what_a_function_sent_to_the_log_group() {
    let store = Arc::new(fresh_store().await);
    let table = store.table_name().to_owned();
    let aws = sdk_config();
    let group = unique_name("/xecure/test/cli-audit");
    create_log_group_if_missing(&aws, &group).await.unwrap();
    let alice = user(store.as_ref(), "alice").await;
    let bob = user(store.as_ref(), "bob").await;

    let batch = Arc::new(AuditLogBatch::new(
        Arc::new(CloudWatchAuditLog::from_config(&aws, &group, "authorize")),
        Arc::new(MemoryLines::default()),
        Arc::new(SystemClock),
        "authorize",
    ));
    let store: Arc<dyn Store> = store;
    let auditor = Auditor::new(
        store,
        Arc::new(SystemClock),
        Arc::new(OsRng),
        Duration::from_secs(86_400),
    )
    .with_log_group(batch.clone());
    let context = RequestContext::default();
    let mut ids: Vec<EventId> = Vec::new();
    let events = [
        (AuditEventKind::LoginFailed, AuditOutcome::Failure, &alice),
        (AuditEventKind::LoginSucceeded, AuditOutcome::Success, &bob),
        (
            AuditEventKind::LoginSucceeded,
            AuditOutcome::Success,
            &alice,
        ),
    ];
    for (kind, outcome, user) in events {
        let draft = AuditDraft::new(kind, outcome).user(user);
        ids.push(auditor.record(draft, &context).await.id);
        // Distinct times, so "newest first" has one answer.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    batch.flush().await;
    assert_eq!(batch.undelivered(), 0);

    let all = audit_cli(&table, &group, &[]);
    let read: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        read,
        [ids[2].as_str(), ids[0].as_str()],
        "alice's, newest first"
    );
    assert!(all.iter().all(|r| r["user_id"] == alice.as_str()));

    let failures = audit_cli(&table, &group, &["--event", "login_failed"]);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["id"], ids[0].as_str());

    let latest = audit_cli(&table, &group, &["--limit", "1"]);
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0]["id"], ids[2].as_str());
}
