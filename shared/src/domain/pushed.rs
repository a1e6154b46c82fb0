use super::{ClientId, Timestamp, TokenDigest};
use serde::{Deserialize, Serialize};

/// RFC 9126 section 2.2: the `request_uri` of a pushed request is this URN followed by a
/// random value; only its digest is stored.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// An authorization request pushed to `/par` (RFC 9126), validated there and kept until
/// `/authorize` takes it once, under the digest of the random part of its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRequest {
    pub digest: TokenDigest,
    /// The client that authenticated at `/par`; `/authorize` must name the same one.
    pub client_id: ClientId,
    /// The authorization request's parameters as pushed, `client_id` included.
    pub params: Vec<(String, String)>,
    pub expires_at: Timestamp,
}
