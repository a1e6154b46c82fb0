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
    /// OpenID Connect Core section 3.1.2.1 `nonce`, echoed in the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `max_age` in seconds (the request's, else the client's `default_max_age`): a sign-in
    /// older than this when the request was made does not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// `login_hint`: prefills the login form's username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// The client's revision when `redirect_uri` was checked against its registration:
    /// consent is remembered, and a grant recorded, only under that revision (rule 16).
    #[serde(default)]
    pub client_revision: u64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl PendingAuthorization {
    /// The earliest sign-in that counts for this request: with `prompt=login` only one after
    /// the request was made; with `max_age` (OIDC Core section 3.1.2.1) none older than that
    /// many seconds before it. `max_age=0` asks for a fresh login like `prompt=login`.
    pub fn needs_login_since(&self) -> Option<Timestamp> {
        let by_prompt = (self.prompt == Prompt::Login).then_some(self.created_at);
        let by_max_age = self
            .max_age
            .map(|secs| self.created_at.minus(std::time::Duration::from_secs(secs)));
        by_prompt.max(by_max_age)
    }
}
