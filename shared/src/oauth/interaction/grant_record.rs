//! Recording a consent decision as the user's grant to a client, conditionally on what was
//! read (security rule 17): a revocation always wins over an approval that was on screen when
//! it happened, concurrent first-time approvals converge on one grant, and scopes the user
//! takes back stop the tokens that carry them (security rule 16).

use super::AuthorizationFlow;
use crate::domain::{
    Grant, GrantId, LoginSession, PendingAuthorization, Revocation, RevocationTarget, Scope,
    Timestamp,
};
use crate::oauth::{ErrorCode, OAuthError};

/// Approvals that keep losing to concurrent approvals give up after this many reads.
const ATTEMPTS: usize = 5;

/// The grant to write over `stored`, and the entry that stops tokens of what it drops.
struct GrantWrite {
    grant: Grant,
    stops: Option<Revocation>,
}

fn revoked_meanwhile() -> OAuthError {
    OAuthError::new(
        ErrorCode::AccessDenied,
        "Access for this app was withdrawn while you were deciding. Go back to the app and start again.",
    )
}

impl AuthorizationFlow {
    /// Writes the decision: `approved` of the pending request's scopes, merged with what the
    /// user granted this client before and did not see again now. Returns the grant's id.
    pub(super) async fn record_grant(
        &self,
        pending: &PendingAuthorization,
        session: &LoginSession,
        approved: &Scope,
        now: Timestamp,
    ) -> Result<Grant, OAuthError> {
        for _ in 0..ATTEMPTS {
            let stored = self
                .store
                .get_grant(&session.user_id, &pending.client_id)
                .await?;
            // A revocation after the request began (the screen was up) wins: the user (or an
            // operator) withdrew access the decision would restore.
            if let Some(revoked_at) = stored.as_ref().and_then(|grant| grant.revoked_at) {
                if revoked_at >= pending.created_at {
                    return Err(revoked_meanwhile());
                }
            }
            let write = self.grant_write(stored.as_ref(), pending, session, approved, now);
            let write = write?;
            if self
                .store
                .save_grant(&write.grant, write.stops.as_ref())
                .await?
            {
                return Ok(write.grant);
            }
            // Someone wrote the grant since it was read: read again and decide again (a
            // revocation now ends this loop above; an approval is merged with).
        }
        Err(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "your access to this app kept changing; try again",
        ))
    }

    fn grant_write(
        &self,
        stored: Option<&Grant>,
        pending: &PendingAuthorization,
        session: &LoginSession,
        approved: &Scope,
        now: Timestamp,
    ) -> Result<GrantWrite, OAuthError> {
        // Only an active grant given under the revision the request was checked against is
        // built on: one from before the client moved or widened where its tokens go is
        // replaced by a new grant (new id: the old one's refresh tokens and codes stop).
        let revision = pending.client_revision;
        let current = stored.filter(|g| g.is_active() && g.client_revision == revision);
        let kept = current
            .iter()
            .flat_map(|grant| grant.scope.iter())
            .filter(|token| !pending.scope.contains(token));
        let scope = Scope::from_tokens(kept.chain(approved.iter()))
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
        let grant = Grant {
            id: current.map_or_else(
                || GrantId::generate(self.deps.rng.as_ref()),
                |grant| grant.id.clone(),
            ),
            user_id: session.user_id.clone(),
            client_id: pending.client_id.clone(),
            scope: scope.clone(),
            created_at: current.map_or(now, |grant| grant.created_at),
            last_used_at: now,
            revoked_at: None,
            client_revision: revision,
            version: stored.map_or(0, |grant| grant.version) + 1,
            family_epoch: stored.map_or(0, |grant| grant.family_epoch),
        };
        let target = match (current, stored.filter(|g| g.is_active())) {
            // Narrowing: the tokens of this grant that carry a scope taken back stop, and
            // every earlier code and refresh family ends (a new epoch), so the scope stays
            // taken even if the user grants it again later.
            (Some(current), _) => {
                let dropped = Scope::from_tokens(current.scope.not_in(&scope))
                    .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
                (!dropped.is_empty()).then(|| RevocationTarget::GrantNarrowed {
                    grant: current.id.clone(),
                    dropped,
                })
            }
            // An active grant of an earlier client revision is replaced: its tokens stop.
            (None, Some(replaced)) => Some(RevocationTarget::Grant(replaced.id.clone())),
            (None, None) => None,
        };
        let grant = match &target {
            Some(RevocationTarget::GrantNarrowed { .. }) => Grant {
                family_epoch: grant.family_epoch + 1,
                ..grant
            },
            _ => grant,
        };
        Ok(GrantWrite {
            grant,
            stops: target.map(|target| self.access_revocation(target, now)),
        })
    }
}
