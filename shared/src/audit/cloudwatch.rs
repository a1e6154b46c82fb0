//! The audit log group in CloudWatch Logs: writing batches (`PutLogEvents`) and reading
//! records back (`FilterLogEvents`) for `xecure audit --source cloudwatch`.

use super::lines::StdoutLines;
use super::log_group::{AuditLogBatch, AuditLogWriter, LogEvent};
use super::Auditor;
use crate::domain::{AuditEvent, AuditEventKind, AuditSubject, Timestamp};
use crate::ports::{OsRng, Rng, SystemClock};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct CloudWatchAuditLog {
    client: Client,
    group: String,
    stream: String,
    stream_exists: AtomicBool,
}

impl CloudWatchAuditLog {
    /// Each process writes its own stream (`<function>/<random>`), as Lambda does for its
    /// own log groups: no two writers contend for one stream.
    pub fn new(client: Client, group: impl Into<String>, function: &str) -> Self {
        let mut instance = [0u8; 8];
        OsRng.fill(&mut instance);
        CloudWatchAuditLog {
            client,
            group: group.into(),
            stream: crate::lower_hex::prefixed_lower_hex(&format!("{function}/"), &instance),
            stream_exists: AtomicBool::new(false),
        }
    }

    pub fn from_config(config: &aws_config::SdkConfig, group: &str, function: &str) -> Self {
        Self::new(Client::new(config), group, function)
    }

    /// As `from_config`, every call bounded by `budget` (rule 18).
    pub fn within(
        config: &aws_config::SdkConfig,
        budget: crate::budget::DependencyBudget,
        group: &str,
        function: &str,
    ) -> Self {
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(config)
            .timeout_config(budget.timeout_config())
            .retry_config(budget.retry_config())
            .build();
        Self::new(Client::from_conf(config), group, function)
    }

    async fn ensure_stream(&self) -> Result<(), String> {
        if self.stream_exists.load(Ordering::Acquire) {
            return Ok(());
        }
        let created = self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(error) => return Err(format!("CreateLogStream: {}", DisplayErrorContext(&error))),
        }
        self.stream_exists.store(true, Ordering::Release);
        Ok(())
    }
}

#[async_trait]
impl AuditLogWriter for CloudWatchAuditLog {
    async fn put_events(&self, events: &[LogEvent]) -> Result<(), String> {
        self.ensure_stream().await?;
        let events = events
            .iter()
            .map(|event| {
                InputLogEvent::builder()
                    .timestamp(event.at.as_millis())
                    .message(&event.message)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(events))
            .send()
            .await;
        match sent {
            Ok(output) => match output.rejected_log_events_info() {
                // Events too old or too new for the group are dropped by the service: that
                // is a failure to deliver, reported like any other.
                Some(rejected) => Err(format!("PutLogEvents rejected events: {rejected:?}")),
                None => Ok(()),
            },
            Err(error) => {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    // The stream was deleted: the retry creates it again.
                    self.stream_exists.store(false, Ordering::Release);
                }
                Err(format!("PutLogEvents: {}", DisplayErrorContext(&error)))
            }
        }
    }

    fn destination(&self) -> String {
        self.group.clone()
    }
}

/// The environment variable naming the audit log group (set by the template).
pub const LOG_GROUP_VARIABLE: &str = "XECURE_AUDIT_LOG_GROUP";

/// `auditor` as a Lambda function runs it: lines on stdout (the function's log group), and
/// batches to the audit log group when `XECURE_AUDIT_LOG_GROUP` names one.
pub fn for_lambda(
    auditor: Auditor,
    aws: &aws_config::SdkConfig,
    function: &'static str,
) -> Auditor {
    let auditor = auditor.with_lines(Arc::new(StdoutLines));
    match std::env::var(LOG_GROUP_VARIABLE) {
        Ok(group) if !group.is_empty() => {
            // The batch goes out after the response is ready and retries by itself: its
            // calls get the audit log's own bounds, within the function's timeout.
            let budget = crate::budget::DependencyBudget::AUDIT_LOG;
            let writer = Arc::new(CloudWatchAuditLog::within(aws, budget, &group, function));
            let batch = AuditLogBatch::new(
                writer,
                auditor.lines().clone(),
                Arc::new(SystemClock),
                function,
            );
            auditor.with_log_group(Arc::new(batch))
        }
        _ => auditor,
    }
}

/// Which records to read back from the audit log group.
#[derive(Debug, Clone)]
pub struct LogGroupQuery {
    pub subject: Option<AuditSubject>,
    pub kind: Option<AuditEventKind>,
    /// `[from, to)`, on the record's own time.
    pub from: Timestamp,
    pub to: Timestamp,
    pub limit: usize,
}

/// Reading stops after this many events so a careless range cannot run for ever.
pub const MAX_EVENTS_SCANNED: usize = 100_000;

/// The messages of `group` in `[from, to)` (event time) that contain `term` as a quoted plain
/// term, if any, page by page until `MAX_EVENTS_SCANNED`. FilterLogEvents narrows on the
/// service; callers still check every field of the parsed message themselves (CloudWatch Logs
/// emulators honour plain terms only, and a term could also match inside another field).
pub async fn filter_log_messages(
    aws: &aws_config::SdkConfig,
    group: &str,
    from: Timestamp,
    to: Timestamp,
    term: Option<&str>,
) -> Result<Vec<String>, String> {
    let client = Client::new(aws);
    let pattern = term.map(|term| format!("\"{term}\""));
    let mut messages = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let page = client
            .filter_log_events()
            .log_group_name(group)
            .start_time(from.as_millis())
            // FilterLogEvents' end time is inclusive; ours is not.
            .end_time(to.as_millis() - 1)
            .set_filter_pattern(pattern.clone())
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| format!("FilterLogEvents: {}", DisplayErrorContext(&e)))?;
        messages.extend(
            page.events()
                .iter()
                .filter_map(|event| event.message().map(str::to_owned)),
        );
        match page.next_token() {
            Some(token) if messages.len() < MAX_EVENTS_SCANNED && !page.events().is_empty() => {
                next_token = Some(token.to_owned());
            }
            _ => break,
        }
    }
    Ok(messages)
}

/// Records matching `query`, newest first, narrowed on the service by the subject's id.
pub async fn read_audit_log(
    aws: &aws_config::SdkConfig,
    group: &str,
    query: &LogGroupQuery,
) -> Result<Vec<AuditEvent>, String> {
    let term = query.subject.as_ref().and_then(|subject| match subject {
        AuditSubject::User(user) => Some(user.as_str().to_owned()),
        AuditSubject::Client(client) => Some(client.as_str().to_owned()),
        AuditSubject::All => None,
    });
    let messages = filter_log_messages(aws, group, query.from, query.to, term.as_deref()).await?;
    let mut found: Vec<AuditEvent> = messages
        .iter()
        .filter_map(|message| serde_json::from_str::<AuditEvent>(message).ok())
        .filter(|record| matches(record, query))
        .collect();
    found.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    found.truncate(query.limit);
    Ok(found)
}

fn matches(record: &AuditEvent, query: &LogGroupQuery) -> bool {
    let subject_matches = match &query.subject {
        None | Some(AuditSubject::All) => true,
        Some(AuditSubject::User(user)) => record.user_id.as_ref() == Some(user),
        Some(AuditSubject::Client(client)) => record.client_id.as_ref() == Some(client),
    };
    subject_matches
        && query.kind.is_none_or(|kind| record.kind == kind)
        && record.at >= query.from
        && record.at < query.to
}

/// Creates the audit log group if it does not exist (local runs and tests; in AWS the
/// template creates it with its retention).
pub async fn create_log_group_if_missing(
    aws: &aws_config::SdkConfig,
    group: &str,
) -> Result<(), String> {
    match Client::new(aws)
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(format!("CreateLogGroup: {}", DisplayErrorContext(&error))),
    }
}
