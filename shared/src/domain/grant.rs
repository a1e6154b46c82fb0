use super::{ClientId, GrantId, Scope, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// One user's consent to one client: what it may do on their behalf. There is at most one per
/// (user, client); consenting again updates it, conditionally on the version it read
/// (security rule 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// The client's revision the user consented under: consent is remembered only while the
    /// client is still at it (`Client::revision`).
    #[serde(default)]
    pub client_revision: u64,
    /// Bumped by every write: approvals and revocations apply only over the version they read.
    #[serde(default)]
    pub version: u64,
    /// Bumped when the user takes scopes back: every refresh family begun before ends, so a
    /// scope taken back never returns through an old family, even if granted again later.
    #[serde(default)]
    pub family_epoch: u64,
}

impl Grant {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}
