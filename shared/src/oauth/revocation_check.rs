//! Is an access token stopped by a revocation entry? Used by introspection and, in the
//! gateway, by the authorizer's revocation cache.

use crate::domain::{Revocation, RevocationTarget, Scope};
use crate::jwt::AccessTokenClaims;

pub fn revoked_by<'a>(
    claims: &AccessTokenClaims,
    revocations: &'a [Revocation],
) -> Option<&'a Revocation> {
    revocations
        .iter()
        .find(|revocation| stops(claims, revocation))
}

fn stops(claims: &AccessTokenClaims, revocation: &Revocation) -> bool {
    // A user or client revocation, and a narrowing, stops what was issued up to it; tokens
    // issued after it (the user signed in or consented again, the client was re-enabled)
    // already obey the new state and are not touched. `iat` has whole seconds: a token of the
    // revocation's own second is stopped too (never less access than either order gives,
    // security rule 17).
    let issued_before = claims.iat <= revocation.at.as_secs();
    let carries_any = |scope: &Scope| claims.scope.split(' ').any(|s| scope.contains(s));
    match &revocation.target {
        RevocationTarget::AccessToken(jti) => *jti == claims.jti,
        RevocationTarget::Grant(grant) => claims.gid.as_deref() == Some(grant.as_str()),
        RevocationTarget::Family(family) => claims.fid.as_deref() == Some(family.as_str()),
        RevocationTarget::User(user) => issued_before && claims.sub == user.as_str(),
        RevocationTarget::Client(client) => issued_before && claims.client_id == client.as_str(),
        RevocationTarget::GrantNarrowed { grant, dropped } => {
            issued_before && claims.gid.as_deref() == Some(grant.as_str()) && carries_any(dropped)
        }
        RevocationTarget::ClientNarrowed {
            client,
            scope,
            client_credentials,
            revision,
        } => {
            let beyond_scope = claims.scope.split(' ').any(|s| !scope.contains(s));
            let machine_token = claims.gid.is_none();
            claims.client_id == client.as_str()
                && claims.crv.unwrap_or(0) < *revision
                && (beyond_scope || (machine_token && !client_credentials))
        }
    }
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
