//! Recording audit events: one JSON line on stdout (CloudWatch Logs picks it up at once) and
//! one durable record in the store, written before the handler returns (Lambda freezes the
//! process afterwards). If the store write fails the JSON line, already out, still carries the
//! whole record, and the failure itself is logged: no event is lost silently.

use crate::domain::{AuditEvent, AuditEventKind, AuditOutcome, ClientId, EventId, UserId};
use crate::ports::{AuditStore, Clock, Rng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Facts about the request an event happened in.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
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
        }
    }

    pub async fn record(&self, draft: AuditDraft, context: &RequestContext) -> AuditEvent {
        let at = self.clock.now();
        let event = AuditEvent {
            id: EventId::generate(self.rng.as_ref()),
            at,
            kind: draft.kind,
            outcome: draft.outcome,
            user_id: draft.user_id,
            client_id: draft.client_id,
            source_ip: context.source_ip.clone(),
            user_agent: context.user_agent.clone(),
            request_id: context.request_id.clone(),
            reason: draft.reason,
            detail: draft.detail,
            expires_at: at.plus(self.retention),
        };
        let line = serde_json::to_string(&event).unwrap_or_default();
        tracing::info!(target: "xecure::audit", audit = %line, "audit event");
        if let Err(error) = self.store.append_audit(&event).await {
            tracing::error!(target: "xecure::audit", audit = %line, %error, "audit record not stored");
        }
        event
    }
}
