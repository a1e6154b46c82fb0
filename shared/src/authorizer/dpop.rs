//! DPoP at the gateway (RFC 9449 section 7): what a call presents besides its token, and the
//! check that a DPoP-bound token comes with a fresh proof of its key for this very call.

use super::routes::{Route, RouteDpop};
use crate::domain::Timestamp;
use crate::dpop::binding::check_token_binding;
pub use crate::dpop::binding::{BindingRefusal, CalledRequest};
use crate::jwt::AccessTokenClaims;
use crate::oauth::bearer::{BearerError, TokenScheme};
use crate::ports::ProofReplayStore;

/// Everything a call presents: its access token under its scheme, and the request when the
/// event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented<'a> {
    pub token: Result<&'a str, BearerError>,
    pub scheme: TokenScheme,
    pub request: Option<&'a CalledRequest>,
}

impl<'a> Presented<'a> {
    /// A bearer token alone (a TOKEN event).
    pub fn bearer(token: Result<&'a str, BearerError>) -> Self {
        Presented {
            token,
            scheme: TokenScheme::Bearer,
            request: None,
        }
    }
}

/// RFC 9449 section 7 at the gateway: the route's `dpop` setting, then the call's binding
/// (`check_token_binding`).
pub(super) async fn check_binding(
    claims: &AccessTokenClaims,
    presented: &Presented<'_>,
    route: Option<&Route>,
    replay: &dyn ProofReplayStore,
    now: Timestamp,
) -> Result<(), BindingRefusal> {
    let route_dpop = route.map_or(RouteDpop::Off, |route| route.dpop);
    let bound = claims.cnf.is_some();
    if !bound && route_dpop == RouteDpop::Required && presented.scheme == TokenScheme::Bearer {
        return Err(BindingRefusal::Unauthorized("dpop_required"));
    }
    // Behind a cached authorizer no proof could be checked on later calls.
    if bound && presented.scheme == TokenScheme::Dpop && !route_dpop.takes_proofs() {
        return Err(BindingRefusal::Unauthorized("dpop_not_accepted_on_route"));
    }
    let token = presented.token.unwrap_or_default();
    check_token_binding(
        claims,
        presented.scheme,
        token,
        presented.request,
        replay,
        now,
    )
    .await
}
