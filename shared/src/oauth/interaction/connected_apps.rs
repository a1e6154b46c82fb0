//! The user's connected apps: every app they granted access to, and revoking one. Login for
//! this page is not tied to an authorization request (see `LoginPurpose`).

use super::{AuthorizationFlow, ScopeChoice};
use crate::audit::RequestContext;
use crate::domain::{ClientId, Grant, LoginSession, Timestamp};
use crate::oauth::{ErrorCode, OAuthError};
use crate::ports::ClientStore;

/// One app on the connected-apps page or in the JSON API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub client_id: ClientId,
    pub client_name: String,
    pub scopes: Vec<ScopeChoice>,
    pub granted_at: Timestamp,
    pub last_used_at: Timestamp,
}

impl AuthorizationFlow {
    /// The user's active grants, by app name.
    pub async fn connected_apps(
        &self,
        session: &LoginSession,
    ) -> Result<Vec<ConnectedApp>, OAuthError> {
        let grants = self.store.list_grants(&session.user_id).await?;
        let mut apps = Vec::new();
        for grant in grants.into_iter().filter(Grant::is_active) {
            // A client removed without its grants being revoked (before removal revoked
            // them) still shows, by id, so the user can revoke it.
            let client_name = self
                .deps
                .clients
                .get_client(&grant.client_id)
                .await?
                .map_or_else(|| grant.client_id.to_string(), |c| c.display_name);
            apps.push(ConnectedApp {
                client_id: grant.client_id,
                client_name,
                scopes: self.describe(&grant.scope),
                granted_at: grant.created_at,
                last_used_at: grant.last_used_at,
            });
        }
        apps.sort_by(|a, b| {
            a.client_name
                .cmp(&b.client_name)
                .then(a.client_id.cmp(&b.client_id))
        });
        Ok(apps)
    }

    /// Revokes the user's grant to `client_id` (audited as `consent_revoked`); false if there
    /// was no active grant. Authorizing that app again shows the consent screen again.
    pub async fn revoke_app(
        &self,
        session: &LoginSession,
        client_id: &str,
        context: &RequestContext,
    ) -> Result<bool, OAuthError> {
        let client = ClientId::parse(client_id)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, format!("client_id: {e}")))?;
        Ok(self
            .user_revoker(context)
            .revoke_consent(&session.user_id, &client)
            .await?)
    }
}
