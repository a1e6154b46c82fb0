//! Issuing an authorization code (RFC 6749 section 4.1.2) once the user has consented: 256
//! random bits handed to the client, only their digest stored, single use, short-lived, bound
//! to client, redirect URI, PKCE challenge, scopes, user and grant (security rule 4).

use super::pkce::CodeChallenge;
use crate::domain::{
    AuthorizationCode, ClientId, GrantId, OpaqueToken, RedirectUri, Scope, Timestamp, UserId,
};
use crate::ports::{CodeStore, Rng, StoreResult};
use std::time::Duration;

pub struct CodeBinding {
    pub client_id: ClientId,
    pub user_id: UserId,
    pub grant_id: GrantId,
    /// The grant's epoch now: a narrower consent before redemption voids the code.
    pub grant_epoch: u64,
    /// The client's revision the request was checked under.
    pub client_revision: u64,
    pub redirect_uri: RedirectUri,
    pub scope: Scope,
    pub code_challenge: CodeChallenge,
    pub auth_time: Timestamp,
    /// OpenID Connect `nonce` of the request, echoed in the ID token.
    pub nonce: Option<String>,
}

/// Stores the code's digest and returns the code to send to the client.
pub async fn issue_authorization_code(
    store: &dyn CodeStore,
    rng: &dyn Rng,
    now: Timestamp,
    lifetime: Duration,
    binding: CodeBinding,
) -> StoreResult<OpaqueToken> {
    let value = OpaqueToken::generate(rng);
    let code = AuthorizationCode {
        digest: value.digest(),
        client_id: binding.client_id,
        user_id: binding.user_id,
        grant_id: binding.grant_id,
        grant_epoch: binding.grant_epoch,
        client_revision: binding.client_revision,
        redirect_uri: binding.redirect_uri,
        scope: binding.scope,
        code_challenge: binding.code_challenge.as_str().to_owned(),
        auth_time: binding.auth_time,
        nonce: binding.nonce,
        issued_at: now,
        expires_at: now.plus(lifetime),
        redeemed_at: None,
        family_id: None,
    };
    store.put_code(&code).await?;
    Ok(value)
}
