//! `POST /consent`: the user's decision on a pending request.

use super::{expired_handoff, logged_in_enough, AuthorizationFlow, Step};
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, LoginSession, OpaqueToken, PendingAuthorization, Scope,
};
use crate::oauth::error::unavailable;
use crate::oauth::{ErrorCode, OAuthError};

/// What the user chose on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allow these of the requested scopes (possibly fewer than asked; none means deny).
    Approve(Vec<String>),
    Deny,
}

impl AuthorizationFlow {
    pub async fn decide(
        &self,
        handle: &str,
        session: Option<&LoginSession>,
        decision: Decision,
        context: &RequestContext,
    ) -> Step {
        let pending = match self.pending(handle).await {
            Ok(pending) => pending,
            Err(step) => return step,
        };
        let Some(session) = session.filter(|s| logged_in_enough(s, &pending)) else {
            return Step::ToLogin(OpaqueToken::new(handle));
        };
        let approved = match approved_scope(&pending, decision) {
            Ok(approved) => approved,
            Err(error) => return Step::ShowError(error),
        };
        // Single use: of two submissions of one form, only one goes on.
        let now = self.deps.clock.now();
        let pending = match self
            .store
            .take_pending_authorization(&pending.digest, now)
            .await
        {
            Ok(Some(pending)) => pending,
            Ok(None) => return Step::ShowError(expired_handoff()),
            Err(error) => return Step::ShowError(unavailable(error)),
        };
        let draft = |kind, outcome| {
            AuditDraft::new(kind, outcome)
                .user(&session.user_id)
                .client(&pending.client_id)
                .detail("requested", pending.scope.to_string())
        };
        let Some(approved) = approved else {
            self.deps
                .auditor
                .record(
                    draft(AuditEventKind::ConsentDenied, AuditOutcome::Success),
                    context,
                )
                .await;
            // RFC 6749 section 4.1.2.1: "The resource owner or authorization server denied
            // the request."
            return self.refuse(
                &pending,
                ErrorCode::AccessDenied,
                "the user denied the request",
            );
        };
        let grant = match self.record_grant(&pending, session, &approved, now).await {
            Ok(grant) => grant,
            Err(error) => return Step::ShowError(error),
        };
        let granted = draft(AuditEventKind::ConsentGranted, AuditOutcome::Success)
            .detail("scope", approved.to_string())
            .detail("grant_id", grant.id.as_str());
        let approved_request = PendingAuthorization {
            scope: approved,
            ..pending
        };
        self.issue_code_after(&approved_request, session, &grant, context, vec![granted])
            .await
    }
}

/// `None` for a denial. A scope that was not requested means the form was altered.
fn approved_scope(
    pending: &PendingAuthorization,
    decision: Decision,
) -> Result<Option<Scope>, OAuthError> {
    let Decision::Approve(names) = decision else {
        return Ok(None);
    };
    if let Some(unrequested) = names.iter().find(|name| !pending.scope.contains(name)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            format!("'{unrequested}' was not part of this request"),
        ));
    }
    if names.is_empty() {
        return Ok(None);
    }
    Scope::from_tokens(names.iter())
        .map(Some)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))
}
