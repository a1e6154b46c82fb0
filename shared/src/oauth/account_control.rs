//! What operators (and, for their own account, users) do to an account, and everything each
//! control cuts (security rule 16): disabling, a new password and "sign out everywhere" void
//! every credential resting on an earlier sign-in - sessions, codes and refresh families at
//! once (each checks the account in its own read or atomic write), access tokens at the
//! gateway within the revocation bound (a user revocation entry written in the same atomic
//! write as the account). Removing the account does the same and frees the username.

use crate::audit::AuditDraft;
use crate::domain::{AuditEventKind, AuditOutcome, PasswordHash, RevocationTarget, User, Username};
use crate::oauth::access_revocation::{entry, AccessRevoker};
use crate::ports::{AccountAdmin, StoreError, StoreResult, UserStore};

/// A change to an account.
#[derive(Debug, Clone)]
pub enum AccountControl {
    Disable,
    /// Enable again: credentials voided by the disable stay void.
    Enable,
    SetPassword(PasswordHash),
    SignOutEverywhere,
}

impl AccountControl {
    fn kind(&self) -> AuditEventKind {
        match self {
            AccountControl::Disable => AuditEventKind::UserDisabled,
            AccountControl::Enable => AuditEventKind::UserEnabled,
            AccountControl::SetPassword(_) => AuditEventKind::PasswordChanged,
            AccountControl::SignOutEverywhere => AuditEventKind::SignedOutEverywhere,
        }
    }

    /// The account after the control, or None if it would change nothing (disabling a
    /// disabled account writes nothing, security rule 19).
    fn apply(&self, user: &User, now: crate::domain::Timestamp) -> Option<User> {
        match self {
            AccountControl::Disable if user.disabled => None,
            AccountControl::Disable => Some(User {
                disabled: true,
                ..user.cut_at(now)
            }),
            AccountControl::Enable if !user.disabled => None,
            AccountControl::Enable => Some(User {
                disabled: false,
                version: user.version + 1,
                ..user.clone()
            }),
            AccountControl::SetPassword(hash) => Some(User {
                password_hash: hash.clone(),
                ..user.cut_at(now)
            }),
            AccountControl::SignOutEverywhere => Some(user.cut_at(now)),
        }
    }

    /// Enabling voids nothing; every other control cuts the credentials issued so far.
    fn cuts(&self) -> bool {
        !matches!(self, AccountControl::Enable)
    }
}

/// Reads that lose to a concurrent change of the same account are retried this often.
const ATTEMPTS: usize = 4;

fn no_such_user(username: &Username) -> StoreError {
    StoreError::NotFound(format!("user {username}"))
}

impl<S: UserStore + AccountAdmin + ?Sized> AccessRevoker<'_, S> {
    /// Applies `control` to the account of `username` and audits it; the account as stored
    /// (unchanged if the control changed nothing).
    pub async fn control_user(
        &self,
        username: &Username,
        control: &AccountControl,
    ) -> StoreResult<User> {
        for _ in 0..ATTEMPTS {
            let user = self
                .store
                .get_user_by_username(username)
                .await?
                .ok_or_else(|| no_such_user(username))?;
            let Some(changed) = control.apply(&user, self.now) else {
                return Ok(user);
            };
            let cut = control.cuts().then(|| self.user_entry(&user));
            match self.store.update_user(&changed, cut.as_ref()).await {
                Ok(()) => {
                    self.audit_user(control.kind(), &changed).await;
                    return Ok(changed);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict(format!("user {username}")))
    }
}

impl<S: AccountAdmin + ?Sized> AccessRevoker<'_, S> {
    /// Applies `control` to `user` exactly as it was read, for a change decided on that read
    /// (a password change checked against the current password): if the account changed
    /// since (an operator's reset, a sign-out everywhere), nothing is written and None comes
    /// back, so the concurrent control wins instead of being written over (rule 17).
    pub async fn control_user_as_read(
        &self,
        user: &User,
        control: &AccountControl,
    ) -> StoreResult<Option<User>> {
        let Some(changed) = control.apply(user, self.now) else {
            return Ok(Some(user.clone()));
        };
        let cut = control.cuts().then(|| self.user_entry(user));
        match self.store.update_user(&changed, cut.as_ref()).await {
            Ok(()) => {
                self.audit_user(control.kind(), &changed).await;
                Ok(Some(changed))
            }
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl<S: UserStore + AccountAdmin + ?Sized> AccessRevoker<'_, S> {
    /// Deletes the account of `username` and cuts every credential of it; false if there was
    /// no such user.
    pub async fn remove_user(&self, username: &Username) -> StoreResult<bool> {
        for _ in 0..ATTEMPTS {
            let Some(user) = self.store.get_user_by_username(username).await? else {
                return Ok(false);
            };
            match self.store.delete_user(&user, &self.user_entry(&user)).await {
                Ok(removed) => {
                    if removed {
                        self.audit_user(AuditEventKind::UserRemoved, &user).await;
                    }
                    return Ok(removed);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict(format!("user {username}")))
    }
}

impl<S: ?Sized> AccessRevoker<'_, S> {
    /// The entry that stops the user's access tokens issued up to now at the gateway.
    fn user_entry(&self, user: &User) -> crate::domain::Revocation {
        entry(
            self.rng,
            self.now,
            self.token_lifetime,
            RevocationTarget::User(user.id.clone()),
        )
    }

    async fn audit_user(&self, kind: AuditEventKind, user: &User) {
        let draft = AuditDraft::new(kind, AuditOutcome::Success)
            .user(&user.id)
            .detail("by", self.by)
            .detail("username", user.username.to_string());
        self.auditor.record(draft, self.context).await;
    }
}
