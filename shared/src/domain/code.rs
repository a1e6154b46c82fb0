use super::{ClientId, FamilyId, GrantId, RedirectUri, Scope, Timestamp, TokenDigest, UserId};
use serde::{Deserialize, Serialize};

/// An authorization code (RFC 6749 section 4.1.2), stored under the digest of its value.
/// Single use: redeeming marks it (rather than deleting it) so that a replay can find and
/// revoke what the first redemption produced (security rule 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub digest: TokenDigest,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub grant_id: GrantId,
    /// Bound to the exact redirect_uri of the request (RFC 6749 section 4.1.3).
    pub redirect_uri: RedirectUri,
    pub scope: Scope,
    /// RFC 7636 S256 `code_challenge` (base64url of SHA-256 of the verifier).
    pub code_challenge: String,
    pub auth_time: Timestamp,
    /// The request's OpenID Connect `nonce`, for the ID token the redemption issues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The client's revision the request was checked under, and the grant's epoch when the
    /// code was issued: a later disable or material change of the client, or a narrower
    /// consent, voids the code (checked inside its redemption).
    #[serde(default)]
    pub client_revision: u64,
    #[serde(default)]
    pub grant_epoch: u64,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<Timestamp>,
    /// The refresh-token family the redemption started, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<FamilyId>,
}
