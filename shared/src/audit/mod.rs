//! Recording audit events, to three sinks:
//! 1. one JSON line on stdout (the Lambda log group), which also carries the event's metrics
//!    in embedded metric format; written first, so every record is out before anything can fail
//!    (the Lambda and `xecure serve` wiring turn it on: `cloudwatch::for_lambda`, `with_lines`);
//! 2. one durable record in the store (DynamoDB), written before the handler returns (Lambda
//!    freezes the process afterwards), queryable by user and by client, kept until its TTL;
//! 3. when configured, the dedicated audit log group, sent as one batch per invocation by
//!    [`Auditor::around`] (see `log_group`).
//!
//! A sink that fails never fails the user's request: the failure is logged and counted, and
//! the stdout line still holds the whole record.

pub mod cloudwatch;
pub mod lines;
pub mod log_group;
pub mod metrics;
pub mod record_line;

use crate::domain::{AuditEvent, AuditEventKind, AuditOutcome, ClientId, EventId, UserId};
use crate::ports::{AuditStore, Clock, Rng};
use lines::{LineSink, NoLines};
use log_group::{AuditLogBatch, LogEvent};
use metrics::MetricLine;
use record_line::RecordLine;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Facts about the request an event happened in.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Who made an operator's change (the AWS caller ARN or the OS user of `xecure`); every
    /// record of the request gets it as `detail.operator`.
    pub operator: Option<String>,
}

/// An event before the auditor stamps it with id, time and retention.
#[derive(Debug, Clone)]
pub struct AuditDraft {
    pub kind: AuditEventKind,
    pub outcome: AuditOutcome,
    pub user_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub reason: Option<String>,
    pub detail: BTreeMap<String, String>,
}

impl AuditDraft {
    pub fn new(kind: AuditEventKind, outcome: AuditOutcome) -> Self {
        AuditDraft {
            kind,
            outcome,
            user_id: None,
            client_id: None,
            reason: None,
            detail: BTreeMap::new(),
        }
    }

    pub fn user(mut self, user: &UserId) -> Self {
        self.user_id = Some(user.clone());
        self
    }

    pub fn client(mut self, client: &ClientId) -> Self {
        self.client_id = Some(client.clone());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

#[derive(Clone)]
pub struct Auditor {
    store: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    retention: Duration,
    lines: Arc<dyn LineSink>,
    log_group: Option<Arc<AuditLogBatch>>,
}

impl Auditor {
    pub fn new(
        store: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        retention: Duration,
    ) -> Self {
        Auditor {
            store,
            clock,
            rng,
            retention,
            lines: Arc::new(NoLines),
            log_group: None,
        }
    }

    /// Lines (records, metrics) go to `lines` instead of stdout.
    pub fn with_lines(mut self, lines: Arc<dyn LineSink>) -> Self {
        self.lines = lines;
        self
    }

    /// Records also go to the audit log group, one batch per invocation ([`Auditor::around`]).
    pub fn with_log_group(mut self, log_group: Arc<AuditLogBatch>) -> Self {
        self.log_group = Some(log_group);
        self
    }

    pub fn lines(&self) -> &Arc<dyn LineSink> {
        &self.lines
    }

    pub fn log_group(&self) -> Option<&Arc<AuditLogBatch>> {
        self.log_group.as_ref()
    }

    /// Runs one invocation of `function` (authorize, consent, token), then sends its batch
    /// to the audit log group and writes its latency metric, before the handler returns.
    pub async fn around<T>(&self, function: &'static str, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let output = work.await;
        self.finish_invocation(function, started).await;
        output
    }

    async fn finish_invocation(&self, function: &'static str, started: Instant) {
        if let Some(log_group) = &self.log_group {
            log_group.flush().await;
        }
        let line = MetricLine::new(serde_json::Map::new())
            .latency(function, started.elapsed())
            .render(self.clock.now());
        self.lines.write_line(&line.to_string());
    }

    pub async fn record(&self, draft: AuditDraft, context: &RequestContext) -> AuditEvent {
        let event = self.emit(EventId::generate(self.rng.as_ref()), draft, context);
        if let Err(error) = self.store.append_audit(&event).await {
            tracing::error!(target: "xecure::audit", event_id = %event.id, %error, "audit record not stored in the table; it is in this log");
        }
        event
    }

    /// Several records of one operation, stored in one round trip.
    pub async fn record_all(
        &self,
        drafts: Vec<AuditDraft>,
        context: &RequestContext,
    ) -> Vec<AuditEvent> {
        // Records of one operation share a millisecond; readers order ties by id, so the ids
        // (random) are handed out in ascending order to keep the operation's own order.
        let mut ids: Vec<EventId> = drafts
            .iter()
            .map(|_| EventId::generate(self.rng.as_ref()))
            .collect();
        ids.sort();
        let events: Vec<AuditEvent> = drafts
            .into_iter()
            .zip(ids)
            .map(|(draft, id)| self.emit(id, draft, context))
            .collect();
        if let Err(error) = self.store.append_audits(&events).await {
            let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
            tracing::error!(target: "xecure::audit", event_ids = ?ids, %error, "audit records not stored in the table; they are in this log");
        }
        events
    }

    /// Stamps the draft, writes its line and queues it for the log group.
    fn emit(&self, id: EventId, draft: AuditDraft, context: &RequestContext) -> AuditEvent {
        let at = self.clock.now();
        let event = AuditEvent {
            id,
            at,
            kind: draft.kind,
            outcome: draft.outcome,
            user_id: draft.user_id,
            client_id: draft.client_id,
            source_ip: context.source_ip.clone(),
            user_agent: context.user_agent.clone(),
            request_id: context.request_id.clone(),
            reason: draft.reason,
            detail: with_operator(draft.detail, context),
            expires_at: at.plus(self.retention),
        };
        // Serializing these records cannot fail: string keys, no floats but finite ones.
        let line = serde_json::to_string(&RecordLine::of(&event)).unwrap_or_default();
        self.lines.write_line(&line);
        if let Some(log_group) = &self.log_group {
            log_group.push(LogEvent {
                at,
                event_id: event.id.to_string(),
                message: serde_json::to_string(&event).unwrap_or_default(),
            });
        }
        event
    }
}

fn with_operator(
    mut detail: BTreeMap<String, String>,
    context: &RequestContext,
) -> BTreeMap<String, String> {
    if let Some(operator) = &context.operator {
        detail.insert("operator".to_owned(), operator.clone());
    }
    detail
}
