//! The decisions both stores make inside their atomic writes, written once so the embedded
//! store and the DynamoDB store cannot drift apart. Each takes what the store read and says
//! whether to go ahead.

use crate::domain::{
    AuthorizationCode, Grant, GrantId, RefreshFamily, RefreshToken, Scope, Timestamp, User,
};
use crate::ports::{CodeRedemption, Rotation};

/// What a grant still allows of `scope`, if it backs a token of `grant_id` at all: only while
/// it is active and is still the grant the token came from (consenting again after a
/// revocation creates a new grant id), and only the scopes the user has not taken back.
fn grant_allows(grant: Option<&Grant>, grant_id: &GrantId, scope: &Scope) -> Option<Scope> {
    let grant = grant.filter(|grant| grant.is_active() && &grant.id == grant_id)?;
    Some(scope.intersection(&grant.scope)).filter(|left| !left.is_empty())
}

/// Security rule 16: a credential resting on a sign-in stands only while the account exists,
/// is enabled, and has not cut its credentials since.
fn account_accepts(account: Option<&User>, auth_time: Timestamp) -> bool {
    account.is_some_and(|user| user.accepts_sign_in_from(auth_time))
}

/// The version a grant write expects to find stored: one below its own (0: none stored, or a
/// grant from before grants had versions).
pub(crate) fn previous_version(grant: &Grant) -> crate::ports::StoreResult<u64> {
    grant.version.checked_sub(1).ok_or_else(|| {
        crate::ports::StoreError::InvalidRequest("a grant is written at version 1 or more".into())
    })
}

pub(crate) enum RedemptionCheck {
    Proceed(AuthorizationCode),
    Refuse(CodeRedemption),
}

/// `Proceed` carries the code with its scope narrowed to what the grant still allows.
pub(crate) fn check_redemption(
    stored: Option<AuthorizationCode>,
    expected: &AuthorizationCode,
    grant: Option<&Grant>,
    account: Option<&User>,
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
    let Some(scope) = grant_allows(grant, &code.grant_id, &code.scope) else {
        return RedemptionCheck::Refuse(CodeRedemption::Revoked);
    };
    if !account_accepts(account, code.auth_time) {
        return RedemptionCheck::Refuse(CodeRedemption::Revoked);
    }
    RedemptionCheck::Proceed(AuthorizationCode { scope, ..code })
}

pub(crate) enum RotationCheck {
    /// The presented token, and `next` narrowed to what the grant still allows.
    Proceed {
        presented: RefreshToken,
        next: RefreshToken,
    },
    /// The token was already rotated: revoke this family.
    Reuse(RefreshFamily),
    Refuse(Rotation),
}

pub(crate) fn check_rotation(
    token: Option<RefreshToken>,
    family: Option<RefreshFamily>,
    grant: Option<&Grant>,
    account: Option<&User>,
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
    let allowed = grant_allows(grant, &token.grant_id, &next.scope);
    let Some(scope) = allowed.filter(|_| family.revoked_at.is_none()) else {
        return RotationCheck::Refuse(Rotation::Revoked);
    };
    if !account_accepts(account, token.auth_time) {
        return RotationCheck::Refuse(Rotation::Revoked);
    }
    // RFC 9700 section 4.14.2: a rotated refresh token presented again means it leaked;
    // the whole family is revoked.
    if token.rotated_at.is_some() {
        return RotationCheck::Reuse(family);
    }
    RotationCheck::Proceed {
        presented: token,
        next: RefreshToken {
            scope,
            ..next.clone()
        },
    }
}
