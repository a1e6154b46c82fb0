//! Withdrawing access: a user revoking one app, an operator (or the app itself, RFC 7592)
//! disabling or removing a client. Each grant is revoked in one atomic write that also puts a
//! revocation entry for its id: refresh tokens of the grant stop at once (every rotation
//! checks the grant is active), and its access tokens (they carry `gid`) are denied by the
//! authorizer's next revocation poll, within the 60 s bound.

use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, ClientId, EventId, Revocation, RevocationStamp, RevocationTarget,
    Timestamp, UserId,
};
use crate::ports::{GrantStore, RevocationWriter, Rng, Store, StoreResult};
use crate::store::client_cache::CLIENT_CACHE_TTL;
use std::time::Duration;

/// A revocation entry at `now` for `target`, kept `token_lifetime` (at least as long as any
/// access token it may have to stop).
pub fn entry(
    rng: &dyn Rng,
    now: Timestamp,
    token_lifetime: Duration,
    target: RevocationTarget,
) -> Revocation {
    Revocation {
        id: EventId::generate(rng),
        at: now,
        target,
        expires_at: now.plus(token_lifetime),
    }
}

/// Who withdraws access, when, and how long the revocation entries must last (at least as
/// long as any access token they may have to stop). Each control asks of `store` only the
/// ports it writes (the impl blocks' bounds), so a function's narrow store capability
/// (`ports::InteractionStore`, `ports::TokenFunctionStore`) can run the controls it serves.
pub struct AccessRevoker<'a, S: ?Sized = dyn Store> {
    pub store: &'a S,
    pub auditor: &'a Auditor,
    pub rng: &'a dyn Rng,
    pub now: Timestamp,
    pub token_lifetime: Duration,
    /// Recorded as the audit detail `by`: `user`, `operator` or `client`.
    pub by: &'a str,
    pub context: &'a RequestContext,
}

impl<S: ?Sized> AccessRevoker<'_, S> {
    fn stamp(&self) -> RevocationStamp {
        RevocationStamp {
            id: EventId::generate(self.rng),
            at: self.now,
            expires_at: self.now.plus(self.token_lifetime),
        }
    }
}

impl<S: GrantStore + ?Sized> AccessRevoker<'_, S> {
    /// Revokes the grant `user` gave `client` and audits `consent_revoked`; false (and no
    /// audit record) if there was no active grant.
    pub async fn revoke_consent(&self, user: &UserId, client: &ClientId) -> StoreResult<bool> {
        let grant = self.store.get_grant(user, client).await?;
        if !self.store.revoke_grant(user, client, &self.stamp()).await? {
            return Ok(false);
        }
        let mut draft = AuditDraft::new(AuditEventKind::ConsentRevoked, AuditOutcome::Success)
            .user(user)
            .client(client)
            .detail("by", self.by);
        if let Some(grant) = grant {
            draft = draft
                .detail("grant_id", grant.id.as_str())
                .detail("scope", grant.scope.to_string());
        }
        self.auditor.record(draft, self.context).await;
        Ok(true)
    }
}

impl<S: GrantStore + RevocationWriter + ?Sized> AccessRevoker<'_, S> {
    /// For a client being disabled or removed: revokes every active grant it holds and puts
    /// a client revocation entry, which stops its access tokens (`client_credentials` ones
    /// included) issued up to `CLIENT_CACHE_TTL` from now: warm containers may still hold
    /// the client record as it was for that long and issue tokens from it. (A client enabled
    /// again within that time gets working tokens once it has passed.) Returns how many
    /// grants were revoked.
    pub async fn revoke_client(&self, client: &ClientId) -> StoreResult<usize> {
        let revoked = self.revoke_grants_of(client).await?;
        let entry = self.entry_after_client_caches(RevocationTarget::Client(client.clone()));
        self.store.put_revocation(&entry).await?;
        Ok(revoked)
    }
}

impl<S: GrantStore + ?Sized> AccessRevoker<'_, S> {
    /// Revokes every active grant users gave `client`, each in its own atomic write (a
    /// client may hold more grants than one transaction can carry); how many.
    pub(crate) async fn revoke_grants_of(&self, client: &ClientId) -> StoreResult<usize> {
        let mut revoked = 0;
        for grant in self.store.list_client_grants(client).await? {
            if grant.is_active() && self.revoke_consent(&grant.user_id, client).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}

impl<S: ?Sized> AccessRevoker<'_, S> {
    /// An entry dated `CLIENT_CACHE_TTL` ahead: it also stops tokens that warm containers
    /// issue from a cached copy of the client record as it was before the change.
    pub(crate) fn entry_after_client_caches(&self, target: RevocationTarget) -> Revocation {
        entry(
            self.rng,
            self.now.plus(CLIENT_CACHE_TTL),
            self.token_lifetime,
            target,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::AccessTokenClaims;
    use crate::oauth::revocation_check::revoked_by;
    use crate::ports::{OsRng, RevocationStore, SystemClock};
    use crate::store::embedded::EmbeddedStore;
    use std::sync::Arc;

    fn claims_issued_at(iat: Timestamp) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://auth.example".into(),
            sub: "client:batch-job".into(),
            aud: "https://auth.example/api".into(),
            exp: iat.as_secs() + 600,
            iat: iat.as_secs(),
            jti: "jti-1".into(),
            client_id: "batch-job".into(),
            scope: "orders:read".into(),
            gid: None,
            fid: None,
            crv: None,
            nbf: None,
            cnf: None,
        }
    }

    #[tokio::test]
    async fn a_disabled_client_is_stopped_even_for_tokens_a_stale_cache_issues_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let auditor = Auditor::new(
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRng),
            Duration::from_secs(3600),
        );
        let now = Timestamp::from_secs(1_800_000_000);
        let revoker = AccessRevoker {
            store: store.as_ref(),
            auditor: &auditor,
            rng: &OsRng,
            now,
            token_lifetime: Duration::from_secs(600),
            by: "operator",
            context: &RequestContext::default(),
        };
        revoker
            .revoke_client(&ClientId::parse("batch-job").unwrap())
            .await
            .unwrap();
        let entries = store
            .list_revocations_since(now.minus(Duration::from_secs(600)), now)
            .await
            .unwrap();
        let within_cache = now.plus(CLIENT_CACHE_TTL - Duration::from_secs(1));
        assert!(revoked_by(&claims_issued_at(now), &entries).is_some());
        assert!(
            revoked_by(&claims_issued_at(within_cache), &entries).is_some(),
            "issued by a container that still had the client cached"
        );
        let after_cache = now.plus(CLIENT_CACHE_TTL + Duration::from_secs(1));
        assert!(revoked_by(&claims_issued_at(after_cache), &entries).is_none());
    }
}
