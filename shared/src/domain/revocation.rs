use super::{ClientId, EventId, FamilyId, GrantId, Scope, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// What a revocation entry stops. The authorizer polls recent entries and denies any access
/// token that carries a revoked grant, family or jti, or belongs to a revoked user or client.
/// Entries that name a user or a client, and narrowings, stop only what was issued up to the
/// entry's `at`: what is issued after it already obeys the new state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum RevocationTarget {
    Grant(GrantId),
    Family(FamilyId),
    AccessToken(String),
    /// Every credential of the user (disabled, removed, new password, signed out everywhere).
    User(UserId),
    /// Every token of the client (disabled or removed).
    Client(ClientId),
    /// The user took scopes back from a consent: the grant's tokens that carry any of
    /// `dropped` stop; its other tokens stand.
    GrantNarrowed {
        grant: GrantId,
        dropped: Scope,
    },
    /// From revision `revision` on, the client may hold only `scope` (and client_credentials
    /// tokens only if `client_credentials`): its tokens of earlier revisions that carry more
    /// stop, whenever they were issued (a warm container may issue some from its cached
    /// record after the change); tokens of the new revision are untouched.
    ClientNarrowed {
        client: ClientId,
        scope: Scope,
        client_credentials: bool,
        revision: u64,
    },
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
