use super::{Timestamp, TokenDigest, UserId, Username};
use serde::{Deserialize, Serialize};

/// A logged-in browser. The cookie holds an opaque token; the store holds only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    pub digest: TokenDigest,
    pub user_id: UserId,
    pub username: Username,
    /// When the user last proved their credentials (`prompt=login`, `max_age`).
    pub authenticated_at: Timestamp,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Where and with what the browser signed in, for the account page's list of sessions
    /// ("Firefox on Linux, 203.0.113.9"): facts the user may recognise, never a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}
