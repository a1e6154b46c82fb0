//! Signing out: the session the cookie names is deleted, so the cookie (even a copy kept
//! elsewhere) opens nothing any more, and `logout` is audited.

use super::AuthorizationFlow;
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{AuditEventKind, AuditOutcome, ClientId, OpaqueToken};
use crate::oauth::OAuthError;

impl AuthorizationFlow {
    /// Ends the session `cookie` names; false if there was none (nothing to end, no record).
    /// `client`: the app that asked (RP-Initiated Logout), recorded with the event.
    pub async fn log_out(
        &self,
        cookie: Option<&OpaqueToken>,
        client: Option<&ClientId>,
        context: &RequestContext,
    ) -> Result<bool, OAuthError> {
        let Some(session) = self.session(cookie).await? else {
            return Ok(false);
        };
        self.store.delete_session(&session.digest).await?;
        let mut draft = AuditDraft::new(AuditEventKind::Logout, AuditOutcome::Success)
            .user(&session.user_id)
            .detail("session_age_secs", {
                let age = self.deps.clock.now().as_secs() - session.created_at.as_secs();
                age.max(0).to_string()
            });
        if let Some(client) = client {
            draft = draft.client(client).detail("initiated_by", "client");
        }
        self.deps.auditor.record(draft, context).await;
        Ok(true)
    }
}
