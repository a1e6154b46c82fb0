//! The audit event catalogue. A record names who and what, never a secret, password, code or
//! token: tokens appear only as a digest prefix or a jti.

use super::error::DomainError;
use super::{ClientId, EventId, Timestamp, UserId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEventKind {
    LoginSucceeded,
    LoginFailed,
    LoginLocked,
    Logout,
    ConsentGranted,
    ConsentDenied,
    ConsentRevoked,
    /// A client pushed an authorization request (RFC 9126).
    AuthorizationPushed,
    CodeIssued,
    CodeRedeemed,
    CodeReplayed,
    TokenIssued,
    TokenRefreshed,
    TokenRevoked,
    RefreshReuseDetected,
    ClientAuthFailed,
    ClientRegistered,
    ClientChanged,
    ClientRemoved,
    KeyRotated,
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserRemoved,
    /// An operator changed the user's profile (name, email).
    UserChanged,
    PasswordChanged,
    /// Every session and token of the user ended at once ("sign out everywhere").
    SignedOutEverywhere,
    /// An operator cleared a user's failed-login counters and lockouts.
    UserUnlocked,
    /// An operator issued an initial access token for dynamic registration.
    RegistrationTokenIssued,
    AuthorizerAllow,
    AuthorizerDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: EventId,
    pub at: Timestamp,
    pub kind: AuditEventKind,
    pub outcome: AuditOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// A machine-readable reason code (e.g. `bad_password`), kept internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Further non-secret facts: scopes, jti, token digest prefix, route.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, String>,
    /// Retention: the record is dropped after this instant.
    pub expires_at: Timestamp,
}

/// Whose records to read. Each has its own index, so neither query scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSubject {
    User(UserId),
    Client(ClientId),
    /// Every record, whoever it concerns (records of no user or client included, e.g. a
    /// failed login with an unknown username): the records' own time partitions.
    All,
}

/// Where the previous page stopped: opaque to callers, the sort key of its last record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor(String);

impl PageCursor {
    pub fn after(at: Timestamp, id: &EventId) -> Self {
        PageCursor(URL_SAFE_NO_PAD.encode(format!("{}#{}", at.sort_key(), id)))
    }

    /// The (time, event id) the next page starts below.
    pub fn position(&self) -> Result<(Timestamp, EventId), DomainError> {
        let bad = || DomainError::invalid("page cursor", "not a cursor this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('#').ok_or_else(bad)?;
        let at: i64 = at.parse().map_err(|_| bad())?;
        Ok((
            Timestamp::from_millis(at),
            EventId::parse(id).map_err(|_| bad())?,
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let cursor = PageCursor(raw.to_owned());
        cursor.position()?;
        Ok(cursor)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Records of one subject in `[from, to)`, newest first.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub subject: AuditSubject,
    pub from: Timestamp,
    pub to: Timestamp,
    pub limit: usize,
    pub cursor: Option<PageCursor>,
}

impl AuditQuery {
    pub const MAX_LIMIT: usize = 1000;
}

#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next: Option<PageCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let id = EventId::parse("evt_1").unwrap();
        let cursor = PageCursor::after(Timestamp::from_millis(42), &id);
        let parsed = PageCursor::parse(cursor.as_str()).unwrap();
        assert_eq!(parsed.position().unwrap(), (Timestamp::from_millis(42), id));
        assert!(PageCursor::parse("not-base64!").is_err());
        assert!(PageCursor::parse(&URL_SAFE_NO_PAD.encode("12#a#b")).is_err());
    }

    #[test]
    fn kinds_serialise_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&AuditEventKind::RefreshReuseDetected).unwrap(),
            "\"refresh_reuse_detected\""
        );
    }
}
