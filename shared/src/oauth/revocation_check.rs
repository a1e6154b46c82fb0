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
        } => {
            let beyond_scope = claims.scope.split(' ').any(|s| !scope.contains(s));
            let machine_token = claims.gid.is_none();
            issued_before
                && claims.client_id == client.as_str()
                && (beyond_scope || (machine_token && !client_credentials))
        }
    }
}
