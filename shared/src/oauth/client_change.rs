//! Changing a registered client, through RFC 7592 `PUT /register/{id}` or `xecure client
//! update`: what a change withdraws is withdrawn in the same step (security rule 16).

use crate::audit::AuditDraft;
use crate::domain::{AuditEventKind, AuditOutcome, Client, GrantType, RevocationTarget};
use crate::oauth::access_revocation::AccessRevoker;
use crate::ports::{ClientRegistry, GrantStore, RevocationWriter, StoreError, StoreResult};

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChanged {
    /// As stored: the next version, and the next revision if the change was material.
    pub client: Client,
    /// It moved or widened where tokens go, or changed what they may carry.
    pub material: bool,
    /// Grants users had given it that were revoked.
    pub revoked_grants: usize,
}

impl<S: ClientRegistry + GrantStore + RevocationWriter + ?Sized> AccessRevoker<'_, S> {
    /// Stores `after` over `before` (conditionally on the version read: `Conflict` if it
    /// changed meanwhile). A material change (`Client::materially_changed_from`: a redirect
    /// URI added, the scopes or grant types changed) starts a new revision, so no consent is
    /// remembered across it, and revokes every grant users gave the client, so users are
    /// asked again and its refresh tokens stop. If it lost scopes or `client_credentials`, an
    /// entry stops its access tokens of earlier revisions that carry more, including those a
    /// warm container issues from its cached record for up to `CLIENT_CACHE_TTL`; tokens of
    /// the new revision (and of any later one, if it widens again) are untouched.
    pub async fn change_client(
        &self,
        before: &Client,
        after: Client,
    ) -> StoreResult<ClientChanged> {
        let material = after.materially_changed_from(before);
        let narrowed = material
            && (!before.allowed_scopes.is_subset_of(&after.allowed_scopes)
                || (before.allows_grant(GrantType::ClientCredentials)
                    && !after.allows_grant(GrantType::ClientCredentials)));
        let client = Client {
            revision: before.revision + u64::from(material),
            version: before.version + 1,
            // An operator vouched for the client as it was: where it now sends users must be
            // vouched for again before its errors may go there (security rule 20).
            verified: after.verified && !material,
            ..after
        };
        // The entry first: if the change then fails, it stops nothing the new revision issues.
        if narrowed {
            let target = RevocationTarget::ClientNarrowed {
                client: client.id.clone(),
                scope: client.allowed_scopes.clone(),
                client_credentials: client.allows_grant(GrantType::ClientCredentials),
                revision: client.revision,
            };
            self.store
                .put_revocation(&self.entry_after_client_caches(target))
                .await?;
        }
        // The change itself: from this write on, every code and refresh family of an earlier
        // revision is refused (their redemption and rotation check the client's revision), and
        // no consent given before is remembered.
        if !self.store.update_client(&client).await? {
            return Err(StoreError::Conflict(format!("client {}", client.id)));
        }
        // Tidying after the commit: grants shown revoked, and their access tokens stopped at
        // the gateway. A failure here is logged, not returned: the change is made, and the
        // caller must get what it made (a new registration access token, a new secret).
        let mut revoked_grants = 0;
        if material {
            match self.revoke_grants_of(&client.id).await {
                Ok(revoked) => revoked_grants = revoked,
                Err(error) => tracing::error!(
                    client = %client.id, %error,
                    "client changed; revoking its grants failed (their codes and refresh tokens are refused by revision already)"
                ),
            }
        }
        let draft = AuditDraft::new(AuditEventKind::ClientChanged, AuditOutcome::Success)
            .client(&client.id)
            .detail("by", self.by)
            .detail("material", material.to_string())
            .detail("revision", client.revision.to_string())
            .detail("revoked_grants", revoked_grants.to_string())
            .detail("scope", client.allowed_scopes.to_string());
        self.auditor.record(draft, self.context).await;
        Ok(ClientChanged {
            client,
            material,
            revoked_grants,
        })
    }
}

/// Grant types as the audit and CLI name them.
pub fn grant_names(client: &Client) -> String {
    let names: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use crate::domain::{Client, ClientId, ClientKind, GrantType, RedirectUri, Scope, Timestamp};

    fn client() -> Client {
        Client {
            redirect_uris: vec![RedirectUri::parse("https://good.example/cb").unwrap()],
            allowed_scopes: Scope::parse("orders:read profile:read").unwrap(),
            grant_types: [GrantType::AuthorizationCode].into(),
            ..Client::new(
                ClientId::parse("app").unwrap(),
                "App",
                ClientKind::Public,
                Timestamp::from_secs(0),
            )
        }
    }

    #[test]
    fn moving_or_widening_is_material_renaming_or_removing_a_uri_is_not() {
        let before = client();
        let mut moved = client();
        moved.redirect_uris = vec![RedirectUri::parse("https://evil.example/cb").unwrap()];
        let mut added = client();
        added
            .redirect_uris
            .push(RedirectUri::parse("https://good.example/cb2").unwrap());
        let mut widened = client();
        widened.allowed_scopes = Scope::parse("orders:read orders:write profile:read").unwrap();
        let mut narrowed = client();
        narrowed.allowed_scopes = Scope::parse("profile:read").unwrap();
        let mut grants = client();
        grants.grant_types.insert(GrantType::RefreshToken);
        for changed in [moved, added, widened, narrowed, grants] {
            assert!(changed.materially_changed_from(&before), "{changed:?}");
        }
        let mut renamed = client();
        renamed.display_name = "Renamed".into();
        let mut fewer_uris = client();
        fewer_uris.redirect_uris.clear();
        for same in [renamed, fewer_uris] {
            assert!(!same.materially_changed_from(&before), "{same:?}");
        }
    }
}
