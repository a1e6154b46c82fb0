//! Is an access token stopped by a revocation entry? Used by introspection and, in the
//! gateway, by the authorizer's revocation cache.

use crate::domain::{Revocation, RevocationTarget};
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
    // A user or client revocation stops what was issued up to it; tokens issued after it
    // (the user consented again, the client was re-enabled) are not touched.
    let issued_before = claims.iat <= revocation.at.as_secs();
    match &revocation.target {
        RevocationTarget::AccessToken(jti) => *jti == claims.jti,
        RevocationTarget::Grant(grant) => claims.gid.as_deref() == Some(grant.as_str()),
        RevocationTarget::Family(family) => claims.fid.as_deref() == Some(family.as_str()),
        RevocationTarget::User(user) => issued_before && claims.sub == user.as_str(),
        RevocationTarget::Client(client) => issued_before && claims.client_id == client.as_str(),
    }
}
