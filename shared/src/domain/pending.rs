use super::{ClientId, RedirectUri, Scope, Timestamp, TokenDigest};
use serde::{Deserialize, Serialize};

/// `prompt` (OpenID Connect Core section 3.1.2.1, used by OAuth 2.1 deployments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Show login and consent only when needed.
    Default,
    /// No UI: fail with `login_required` / `consent_required` instead.
    None,
    /// Ask for credentials again.
    Login,
    /// Show the consent screen even if consent was given before.
    Consent,
}

/// A validated authorization request waiting for the user to log in and consent. It is kept
/// server-side under the digest of a random handle, so nothing the browser carries between
/// authorize, login and consent can change what was validated; the browser only holds the
/// handle. Taken (deleted) once when the user decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub digest: TokenDigest,
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// RFC 7636 S256 `code_challenge`.
    pub code_challenge: String,
    pub prompt: Prompt,
    /// The client's revision when `redirect_uri` was checked against its registration:
    /// consent is remembered, and a grant recorded, only under that revision (rule 16).
    #[serde(default)]
    pub client_revision: u64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl PendingAuthorization {
    /// With `prompt=login` only a login after the request was made counts.
    pub fn needs_login_since(&self) -> Option<Timestamp> {
        (self.prompt == Prompt::Login).then_some(self.created_at)
    }
}
