use super::{KeyId, Timestamp};
use serde::{Deserialize, Serialize};

/// A private key in sealed form: never stored or logged in plaintext. `scheme` names how it
/// is sealed (for example a KMS envelope, or a local key file) and `blob` is the sealed bytes,
/// base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPrivateKey {
    pub scheme: String,
    pub blob: String,
}

impl std::fmt::Debug for SealedPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedPrivateKey {{ scheme: {:?}, blob: <{} bytes> }}",
            self.scheme,
            self.blob.len()
        )
    }
}

/// A token-signing key. Rotation publishes a key before it signs (`signs_from`) and keeps it
/// published until its last token has expired (`retire_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: KeyId,
    /// JWS `alg` (RFC 7518), fixed by the server: RS256, ES256 or EdDSA.
    pub algorithm: String,
    /// The public half as a JWK (RFC 7517), ready for the JWKS document.
    pub public_jwk: serde_json::Value,
    pub private_key: SealedPrivateKey,
    pub created_at: Timestamp,
    pub signs_from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_at: Option<Timestamp>,
}
