use super::{ClientId, EventId, FamilyId, GrantId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// What a revocation entry stops. The authorizer polls recent entries and denies any access
/// token that carries a revoked grant, family or jti, or belongs to a revoked user or client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum RevocationTarget {
    Grant(GrantId),
    Family(FamilyId),
    AccessToken(String),
    User(UserId),
    Client(ClientId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub id: EventId,
    pub at: Timestamp,
    pub target: RevocationTarget,
    /// Once every access token the entry could stop has expired, the entry is no longer needed.
    pub expires_at: Timestamp,
}

/// Identity, time and lifetime of a revocation whose target the store fills in (a store
/// learns a family's or grant's id only inside the atomic write that revokes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationStamp {
    pub id: EventId,
    pub at: Timestamp,
    pub expires_at: Timestamp,
}

impl RevocationStamp {
    pub fn revoke(&self, target: RevocationTarget) -> Revocation {
        Revocation {
            id: self.id.clone(),
            at: self.at,
            target,
            expires_at: self.expires_at,
        }
    }
}
