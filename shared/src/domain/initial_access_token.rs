use super::{Timestamp, TokenDigest};
use serde::{Deserialize, Serialize};

/// An initial access token (RFC 7591 section 3): issued by an operator (`xecure client
/// registration-token`), it lets a developer register clients at `POST /register` until it
/// expires. Only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialAccessToken {
    pub digest: TokenDigest,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
