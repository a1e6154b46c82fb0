use super::{ClientId, FamilyId, GrantId, Scope, Timestamp, TokenDigest, UserId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The chain of refresh tokens descending from one code redemption. Reuse of any rotated
/// member revokes the whole family (RFC 9700 section 4.14.2, security rule 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub id: FamilyId,
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    /// When the user signed in for the code the family came from: a user control that cuts
    /// credentials up to a later instant ends the family (security rule 16).
    #[serde(default)]
    pub auth_time: Timestamp,
    /// The client's revision and the grant's epoch the family began under: a disable or
    /// material change of the client, or a narrower consent, ends it (security rule 16).
    #[serde(default)]
    pub client_revision: u64,
    #[serde(default)]
    pub grant_epoch: u64,
    pub created_at: Timestamp,
    /// Absolute end of the family: rotation never extends past it.
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// RFC 9449 section 5.0: a public client's family is bound to the DPoP key of the code
    /// exchange (its thumbprint); every refresh must prove that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// One refresh token, stored under the digest of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub digest: TokenDigest,
    pub family_id: FamilyId,
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    /// May only narrow from one rotation to the next.
    pub scope: Scope,
    /// The family's sign-in time, copied here so a rotation checks the account in the same
    /// write without reading the family first.
    #[serde(default)]
    pub auth_time: Timestamp,
    /// The family's, copied here so a rotation checks client and grant in the same write.
    #[serde(default)]
    pub client_revision: u64,
    #[serde(default)]
    pub grant_epoch: u64,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// The family's absolute end, copied here so a refresh needs one read, not two.
    pub family_expires_at: Timestamp,
    /// Set when this token was exchanged for its successor; presenting it again is reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<Timestamp>,
    /// The family's DPoP key thumbprint, copied here so a refresh checks it without reading
    /// the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

impl RefreshFamily {
    /// The family's first token, living `lifetime` but never past the family's end.
    pub fn first_token(
        &self,
        digest: TokenDigest,
        scope: Scope,
        now: Timestamp,
        lifetime: Duration,
    ) -> RefreshToken {
        RefreshToken {
            digest,
            family_id: self.id.clone(),
            grant_id: self.grant_id.clone(),
            client_id: self.client_id.clone(),
            user_id: self.user_id.clone(),
            scope,
            auth_time: self.auth_time,
            client_revision: self.client_revision,
            grant_epoch: self.grant_epoch,
            issued_at: now,
            expires_at: now.plus(lifetime).min(self.expires_at),
            family_expires_at: self.expires_at,
            rotated_at: None,
            jkt: self.jkt.clone(),
        }
    }
}

impl RefreshToken {
    /// The token that replaces this one on rotation: same family, grant and scope (RFC 6749
    /// section 6: the new refresh token's scope "MUST be identical").
    pub fn successor(
        &self,
        digest: TokenDigest,
        now: Timestamp,
        lifetime: Duration,
    ) -> RefreshToken {
        RefreshToken {
            digest,
            issued_at: now,
            expires_at: now.plus(lifetime).min(self.family_expires_at),
            rotated_at: None,
            ..self.clone()
        }
    }
}
