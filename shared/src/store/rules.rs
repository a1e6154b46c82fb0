//! The decisions both stores make inside their atomic writes, written once so the embedded
//! store and the DynamoDB store cannot drift apart. Each takes what the store read and says
//! whether to go ahead.

use crate::domain::{
    AuthorizationCode, Client, Grant, GrantId, RefreshFamily, RefreshToken, Timestamp, User,
};
use crate::ports::{CodeRedemption, Rotation};

/// A grant backs a credential only while it is active, is still the grant the credential
/// came from (consenting again after a revocation creates a new grant id), and has not been
/// narrowed since (a narrower consent ends every earlier code and refresh family, so a scope
/// taken back never returns through them, even if granted again later).
fn grant_stands(grant: Option<&Grant>, grant_id: &GrantId, epoch: u64) -> bool {
    grant.is_some_and(|grant| {
        grant.is_active() && &grant.id == grant_id && grant.family_epoch == epoch
    })
}

/// Security rule 16: a credential resting on a sign-in stands only while the account exists,
/// is enabled, and has not cut its credentials since.
fn account_accepts(account: Option<&User>, auth_time: Timestamp) -> bool {
    account.is_some_and(|user| user.accepts_sign_in_from(auth_time))
}

/// Security rule 16: a credential of a client stands only while the client exists, is
/// enabled, and is still at the revision the credential began under.
fn client_stands(client: Option<&Client>, revision: u64) -> bool {
    client.is_some_and(|client| !client.disabled && client.revision == revision)
}

/// What a credential's atomic check reads besides the credential itself.
#[derive(Clone, Copy, Default)]
pub(crate) struct Backing<'a> {
    pub grant: Option<&'a Grant>,
    pub account: Option<&'a User>,
    pub client: Option<&'a Client>,
}

/// The records behind a credential as a store read them: its grant, its user's account,
/// its client.
pub(crate) struct BackingRecords {
    pub grant: Option<Grant>,
    pub account: Option<User>,
    pub client: Option<Client>,
}

impl BackingRecords {
    pub fn backing(&self) -> Backing<'_> {
        Backing {
            grant: self.grant.as_ref(),
            account: self.account.as_ref(),
            client: self.client.as_ref(),
        }
    }
}

/// The version a grant write expects to find stored: one below its own (0: none stored, or a
/// grant from before grants had versions).
pub(crate) fn previous_version(grant: &Grant) -> crate::ports::StoreResult<u64> {
    grant.version.checked_sub(1).ok_or_else(|| {
        crate::ports::StoreError::InvalidRequest("a grant is written at version 1 or more".into())
    })
}

// What `Proceed` carries is written by the embedded store; DynamoDB checks the same
// conditions server-side and reads only the verdict.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub(crate) enum RedemptionCheck {
    Proceed(AuthorizationCode),
    Refuse(CodeRedemption),
}

/// `Proceed` carries the code with the scope the caller asked for (it may have narrowed it to
/// what the client may still have), never more than the code's.
pub(crate) fn check_redemption(
    stored: Option<AuthorizationCode>,
    expected: &AuthorizationCode,
    backing: Backing<'_>,
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
    let scope = expected.scope.intersection(&code.scope);
    if scope.is_empty()
        || !grant_stands(backing.grant, &code.grant_id, code.grant_epoch)
        || !account_accepts(backing.account, code.auth_time)
        || !client_stands(backing.client, code.client_revision)
    {
        return RedemptionCheck::Refuse(CodeRedemption::Revoked);
    }
    RedemptionCheck::Proceed(AuthorizationCode { scope, ..code })
}

// What `Proceed` carries is written by the embedded store; DynamoDB checks the same
// conditions server-side and reads only the verdict.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub(crate) enum RotationCheck {
    Proceed(RefreshToken),
    /// The token was already rotated: revoke this family.
    Reuse(RefreshFamily),
    Refuse(Rotation),
}

pub(crate) fn check_rotation(
    token: Option<RefreshToken>,
    family: Option<RefreshFamily>,
    backing: Backing<'_>,
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
    if family.revoked_at.is_some()
        || !grant_stands(backing.grant, &token.grant_id, token.grant_epoch)
        || !account_accepts(backing.account, token.auth_time)
        || !client_stands(backing.client, token.client_revision)
    {
        return RotationCheck::Refuse(Rotation::Revoked);
    }
    // RFC 9700 section 4.14.2: a rotated refresh token presented again means it leaked;
    // the whole family is revoked.
    if token.rotated_at.is_some() {
        return RotationCheck::Reuse(family);
    }
    RotationCheck::Proceed(token)
}
