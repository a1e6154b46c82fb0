//! Is an access token stopped by a revocation entry? The entries are indexed by what they
//! stop, so a check is a few hash lookups whatever their number (security rule 19: the
//! authorizer's cost per call does not grow with the revocations outstanding). Used by the
//! authorizer's revocation cache and by introspection.

use crate::domain::{EventId, Revocation, RevocationTarget, Scope, Timestamp};
use crate::jwt::AccessTokenClaims;
use std::collections::HashMap;

/// A user or client cut: the latest entry's instant, kept until that entry expires (every
/// earlier entry has expired by then too: entries last as long as the tokens they stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    at_secs: i64,
    expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct GrantNarrowing {
    at_secs: i64,
    dropped: Scope,
    expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientNarrowing {
    revision: u64,
    scope: Scope,
    client_credentials: bool,
    expires_at: Timestamp,
}

/// The live revocation entries, by what they stop.
#[derive(Debug, Clone, Default)]
pub struct RevocationIndex {
    /// Every entry applied, with its expiry: applying one twice (overlapping polls) is a no-op.
    applied: HashMap<EventId, Timestamp>,
    access_tokens: HashMap<Box<str>, Timestamp>,
    families: HashMap<Box<str>, Timestamp>,
    grants: HashMap<Box<str>, Timestamp>,
    users: HashMap<Box<str>, Cut>,
    clients: HashMap<Box<str>, Cut>,
    grant_narrowings: HashMap<Box<str>, Vec<GrantNarrowing>>,
    client_narrowings: HashMap<Box<str>, Vec<ClientNarrowing>>,
}

fn latest(previous: Option<Cut>, next: Cut) -> Cut {
    match previous {
        Some(previous) if previous.at_secs > next.at_secs => previous,
        _ => next,
    }
}

impl RevocationIndex {
    pub fn of(entries: &[Revocation]) -> Self {
        let mut index = RevocationIndex::default();
        index.apply(entries);
        index
    }

    /// Adds `entries`; those already applied change nothing.
    pub fn apply(&mut self, entries: &[Revocation]) {
        for entry in entries {
            if self
                .applied
                .insert(entry.id.clone(), entry.expires_at)
                .is_some()
            {
                continue;
            }
            let expires_at = entry.expires_at;
            let cut = Cut {
                at_secs: entry.at.as_secs(),
                expires_at,
            };
            match &entry.target {
                RevocationTarget::AccessToken(jti) => {
                    self.access_tokens.insert(jti.as_str().into(), expires_at);
                }
                RevocationTarget::Family(family) => {
                    self.families.insert(family.as_str().into(), expires_at);
                }
                RevocationTarget::Grant(grant) => {
                    self.grants.insert(grant.as_str().into(), expires_at);
                }
                RevocationTarget::User(user) => {
                    let previous = self.users.get(user.as_str()).copied();
                    self.users
                        .insert(user.as_str().into(), latest(previous, cut));
                }
                RevocationTarget::Client(client) => {
                    let previous = self.clients.get(client.as_str()).copied();
                    self.clients
                        .insert(client.as_str().into(), latest(previous, cut));
                }
                RevocationTarget::GrantNarrowed { grant, dropped } => self
                    .grant_narrowings
                    .entry(grant.as_str().into())
                    .or_default()
                    .push(GrantNarrowing {
                        at_secs: cut.at_secs,
                        dropped: dropped.clone(),
                        expires_at,
                    }),
                RevocationTarget::ClientNarrowed {
                    client,
                    scope,
                    client_credentials,
                    revision,
                } => self
                    .client_narrowings
                    .entry(client.as_str().into())
                    .or_default()
                    .push(ClientNarrowing {
                        revision: *revision,
                        scope: scope.clone(),
                        client_credentials: *client_credentials,
                        expires_at,
                    }),
            }
        }
    }

    /// Drops every entry expired at `now`: no token it could stop is still valid.
    pub fn prune(&mut self, now: Timestamp) {
        let live = |expires_at: &Timestamp| !expires_at.has_passed(now);
        self.applied.retain(|_, expires_at| live(expires_at));
        self.access_tokens.retain(|_, expires_at| live(expires_at));
        self.families.retain(|_, expires_at| live(expires_at));
        self.grants.retain(|_, expires_at| live(expires_at));
        self.users.retain(|_, cut| live(&cut.expires_at));
        self.clients.retain(|_, cut| live(&cut.expires_at));
        self.grant_narrowings.retain(|_, list| {
            list.retain(|n| live(&n.expires_at));
            !list.is_empty()
        });
        self.client_narrowings.retain(|_, list| {
            list.retain(|n| live(&n.expires_at));
            !list.is_empty()
        });
    }

    /// Entries applied and not yet pruned.
    pub fn len(&self) -> usize {
        self.applied.len()
    }

    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
    }

    /// Why the token is stopped, if it is. A user or client revocation, and a narrowing,
    /// stops what was issued up to it; tokens issued after it (the user signed in or
    /// consented again, the client was re-enabled) already obey the new state and are not
    /// touched. `iat` has whole seconds: a token of the revocation's own second is stopped
    /// too (never less access than either order gives, security rule 17).
    pub fn stops(&self, claims: &AccessTokenClaims) -> Option<&'static str> {
        let issued_by = |cut: Option<&Cut>| cut.is_some_and(|cut| claims.iat <= cut.at_secs);
        let carries_any = |scope: &Scope| claims.scope.split(' ').any(|s| scope.contains(s));
        if self.access_tokens.contains_key(claims.jti.as_str()) {
            return Some("access_token");
        }
        if let Some(gid) = claims.gid.as_deref() {
            if self.grants.contains_key(gid) {
                return Some("grant");
            }
            let narrowed = self.grant_narrowings.get(gid).is_some_and(|list| {
                list.iter()
                    .any(|n| claims.iat <= n.at_secs && carries_any(&n.dropped))
            });
            if narrowed {
                return Some("grant_narrowed");
            }
        }
        if claims
            .fid
            .as_deref()
            .is_some_and(|fid| self.families.contains_key(fid))
        {
            return Some("family");
        }
        if issued_by(self.users.get(claims.sub.as_str())) {
            return Some("user");
        }
        if issued_by(self.clients.get(claims.client_id.as_str())) {
            return Some("client");
        }
        let machine_token = claims.gid.is_none();
        let client_narrowed = self
            .client_narrowings
            .get(claims.client_id.as_str())
            .is_some_and(|list| {
                list.iter().any(|n| {
                    let beyond_scope = claims.scope.split(' ').any(|s| !n.scope.contains(s));
                    claims.crv.unwrap_or(0) < n.revision
                        && (beyond_scope || (machine_token && !n.client_credentials))
                })
            });
        client_narrowed.then_some("client_narrowed")
    }
}

/// Is `claims` stopped by one of `revocations`? (One-off checks; the authorizer keeps a
/// `RevocationIndex`.)
pub fn revoked_by(claims: &AccessTokenClaims, revocations: &[Revocation]) -> Option<&'static str> {
    RevocationIndex::of(revocations).stops(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, EventId, GrantId, Timestamp};

    fn token(scope: &str, gid: Option<&str>, iat: i64, crv: u64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://auth.example".into(),
            sub: "usr_1".into(),
            aud: "https://auth.example/api".into(),
            exp: iat + 600,
            iat,
            jti: "j".into(),
            client_id: "app".into(),
            scope: scope.into(),
            gid: gid.map(str::to_owned),
            fid: None,
            crv: Some(crv),
            nbf: None,
            cnf: None,
        }
    }

    fn entry(at_secs: i64, target: RevocationTarget) -> Vec<Revocation> {
        vec![Revocation {
            id: EventId::parse("evt_1").unwrap(),
            at: Timestamp::from_secs(at_secs),
            target,
            expires_at: Timestamp::from_secs(at_secs + 3600),
        }]
    }

    #[test]
    fn a_narrowed_grant_stops_only_its_earlier_tokens_that_carry_a_dropped_scope() {
        let narrowed = entry(
            100,
            RevocationTarget::GrantNarrowed {
                grant: GrantId::parse("grt_1").unwrap(),
                dropped: Scope::parse("orders:write").unwrap(),
            },
        );
        let stopped = |claims: AccessTokenClaims| revoked_by(&claims, &narrowed).is_some();
        assert!(stopped(token(
            "orders:read orders:write",
            Some("grt_1"),
            100,
            0
        )));
        assert!(
            !stopped(token("orders:read", Some("grt_1"), 99, 0)),
            "no dropped scope"
        );
        assert!(
            !stopped(token("orders:write", Some("grt_2"), 99, 0)),
            "another grant"
        );
        assert!(
            !stopped(token("orders:write", Some("grt_1"), 101, 0)),
            "consented again since"
        );
    }

    #[test]
    fn a_narrowed_client_stops_tokens_of_earlier_revisions_that_carry_more() {
        let narrowed = entry(
            100,
            RevocationTarget::ClientNarrowed {
                client: ClientId::parse("app").unwrap(),
                scope: Scope::parse("orders:read").unwrap(),
                client_credentials: false,
                revision: 3,
            },
        );
        let stopped = |claims: AccessTokenClaims| revoked_by(&claims, &narrowed).is_some();
        assert!(stopped(token("orders:write", Some("grt_1"), 100, 2)));
        assert!(
            stopped(token("orders:write", Some("grt_1"), 150, 2)),
            "issued after the change from a stale cached record"
        );
        assert!(
            stopped(token("orders:read", None, 90, 2)),
            "no more client_credentials"
        );
        assert!(
            !stopped(token("orders:read", Some("grt_1"), 90, 2)),
            "within the new scope"
        );
        assert!(
            !stopped(token("orders:write", Some("grt_1"), 150, 4)),
            "widened again since"
        );
    }
}
