//! The decisions both stores make inside their atomic writes, written once so the embedded
//! store and the DynamoDB store cannot drift apart. Each takes what the store read and says
//! whether to go ahead.

use crate::domain::{AuthorizationCode, Grant, RefreshFamily, RefreshToken, Timestamp};
use crate::ports::{CodeRedemption, Rotation};

/// A grant backs a token only while it is active and is still the grant the token came from
/// (consenting again after a revocation creates a new grant id).
fn grant_backs(grant: Option<&Grant>, grant_id: &crate::domain::GrantId) -> bool {
    grant.is_some_and(|grant| grant.is_active() && &grant.id == grant_id)
}

pub(crate) enum RedemptionCheck {
    Proceed(AuthorizationCode),
    Refuse(CodeRedemption),
}

pub(crate) fn check_redemption(
    stored: Option<AuthorizationCode>,
    expected: &AuthorizationCode,
    grant: Option<&Grant>,
    now: Timestamp,
) -> RedemptionCheck {
    let Some(code) = stored.filter(|code| !code.expires_at.has_passed(now)) else {
        return RedemptionCheck::Refuse(CodeRedemption::NotFound);
    };
    if code.client_id != expected.client_id || code.grant_id != expected.grant_id {
        return RedemptionCheck::Refuse(CodeRedemption::NotFound);
    }
    // RFC 6749 section 4.1.2: "The client MUST NOT use the authorization code more than once."
    if code.redeemed_at.is_some() {
        return RedemptionCheck::Refuse(CodeRedemption::Replayed(code));
    }
    if !grant_backs(grant, &code.grant_id) {
        return RedemptionCheck::Refuse(CodeRedemption::GrantRevoked);
    }
    RedemptionCheck::Proceed(code)
}

pub(crate) enum RotationCheck {
    Proceed(RefreshToken),
    /// The token was already rotated: revoke this family.
    Reuse(RefreshFamily),
    Refuse(Rotation),
}

pub(crate) fn check_rotation(
    token: Option<RefreshToken>,
    family: Option<RefreshFamily>,
    grant: Option<&Grant>,
    next: &RefreshToken,
    now: Timestamp,
) -> RotationCheck {
    let Some(token) = token.filter(|token| !token.expires_at.has_passed(now)) else {
        return RotationCheck::Refuse(Rotation::NotFound);
    };
    let Some(family) = family.filter(|family| !family.expires_at.has_passed(now)) else {
        return RotationCheck::Refuse(Rotation::NotFound);
    };
    if token.family_id != family.id
        || next.family_id != family.id
        || next.grant_id != token.grant_id
    {
        return RotationCheck::Refuse(Rotation::NotFound);
    }
    if family.revoked_at.is_some() || !grant_backs(grant, &token.grant_id) {
        return RotationCheck::Refuse(Rotation::Revoked);
    }
    // RFC 9700 section 4.14.2: a rotated refresh token presented again means it leaked;
    // the whole family is revoked.
    if token.rotated_at.is_some() {
        return RotationCheck::Reuse(family);
    }
    RotationCheck::Proceed(token)
}
