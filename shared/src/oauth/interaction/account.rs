//! The user's own account page (`/account`): the sessions signed in to it, ending one or all
//! of them, and a new password. Every control goes through the same user revocation as an
//! operator's (`account_control`, security rule 16): a password change and "sign out
//! everywhere" void every session, code, refresh token and (at the gateway) access token
//! resting on an earlier sign-in, in one conditional write (rule 17).

use super::AuthorizationFlow;
use crate::audit::RequestContext;
use crate::domain::{LoginSession, OpaqueToken, Password, Timestamp, User};
use crate::jwt::LEEWAY;
use crate::oauth::access_revocation::AccessRevoker;
use crate::oauth::account_control::AccountControl;
use crate::oauth::login::LoginOutcome;
use crate::oauth::{ErrorCode, OAuthError};
use crate::password_policy::check_new_password;

/// Sessions listed at most (the newest).
const MAX_LISTED_SESSIONS: usize = 50;

/// One signed-in browser, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Names the session in the page's "sign out" form: the first 16 hex characters of the
    /// digest of its cookie (never the cookie, which is not stored).
    pub reference: String,
    pub device: String,
    pub source_ip: Option<String>,
    pub signed_in_at: Timestamp,
    pub current: bool,
}

/// What a password change came to.
pub enum PasswordChange {
    /// Changed: every other session ended; this browser's new session.
    Changed { cookie: OpaqueToken },
    /// Not changed; what to tell the user (and, when locked out or busy, when to retry).
    Refused {
        message: String,
        retry_after_secs: Option<u64>,
    },
}

fn reference(session: &LoginSession) -> String {
    session.digest.as_str().chars().take(16).collect()
}

/// "Firefox on Linux": the browser and system a user agent names, for recognising one's own
/// sessions; "Unknown browser" when it names none we know.
pub fn device_of(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map_or("Unknown browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

/// Said when the account changed between the password check and the change.
const ACCOUNT_CHANGED: &str =
    "Your account changed meanwhile (signed out or its password reset). Sign in again.";

impl AuthorizationFlow {
    /// The user's own controls over `store`, acting as `by: "user"`.
    fn revoker_over<'a, S: ?Sized>(
        &'a self,
        store: &'a S,
        context: &'a RequestContext,
    ) -> AccessRevoker<'a, S> {
        AccessRevoker {
            store,
            auditor: &self.deps.auditor,
            rng: self.deps.rng.as_ref(),
            now: self.deps.clock.now(),
            token_lifetime: self.deps.config.access_token_ttl + LEEWAY,
            by: "user",
            context,
        }
    }

    /// The user's controls over their grants (the connected-apps page).
    pub(super) fn user_revoker<'a>(
        &'a self,
        context: &'a RequestContext,
    ) -> AccessRevoker<'a, dyn crate::ports::InteractionStore> {
        self.revoker_over(self.store.as_ref(), context)
    }

    /// The user's own account controls, acting as `by: "user"`; refused where the flow has
    /// no account administration (the Lambdas: security rule 22).
    fn account_revoker<'a>(
        &'a self,
        context: &'a RequestContext,
    ) -> Result<AccessRevoker<'a, dyn crate::ports::AccountPageStore>, OAuthError> {
        let Some(accounts) = &self.accounts else {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "Account changes are not available here: ask the service's administrator.",
            ));
        };
        Ok(self.revoker_over(accounts.as_ref(), context))
    }

    async fn account_of(&self, session: &LoginSession) -> Result<User, OAuthError> {
        self.store
            .get_user(&session.user_id)
            .await?
            .ok_or_else(|| OAuthError::new(ErrorCode::AccessDenied, "This account is gone."))
    }

    /// The live sessions of the signed-in user, newest first; the one `session` is, marked.
    pub async fn account_sessions(
        &self,
        session: &LoginSession,
    ) -> Result<Vec<SessionView>, OAuthError> {
        let user = self.account_of(session).await?;
        let sessions = self
            .store
            .list_user_sessions(&session.user_id, self.deps.clock.now(), MAX_LISTED_SESSIONS)
            .await?;
        Ok(sessions
            .iter()
            .filter(|s| user.accepts_sign_in_from(s.authenticated_at))
            .map(|s| SessionView {
                reference: reference(s),
                device: device_of(s.user_agent.as_deref()),
                source_ip: s.source_ip.clone(),
                signed_in_at: s.authenticated_at,
                current: s.digest == session.digest,
            })
            .collect())
    }

    /// Ends the user's session named by `reference` (one of their own only); false if none
    /// of theirs has it.
    pub async fn end_session(
        &self,
        session: &LoginSession,
        reference_text: &str,
        context: &RequestContext,
    ) -> Result<bool, OAuthError> {
        let sessions = self
            .store
            .list_user_sessions(&session.user_id, self.deps.clock.now(), MAX_LISTED_SESSIONS)
            .await?;
        let Some(ended) = sessions.iter().find(|s| reference(s) == reference_text) else {
            return Ok(false);
        };
        self.store.delete_session(&ended.digest).await?;
        let draft = crate::audit::AuditDraft::new(
            crate::domain::AuditEventKind::Logout,
            crate::domain::AuditOutcome::Success,
        )
        .user(&session.user_id)
        .detail("ended_by", "account page");
        self.deps.auditor.record(draft, context).await;
        Ok(true)
    }

    /// Signs the user out of every session, this one too (rule 16).
    pub async fn sign_out_everywhere(
        &self,
        session: &LoginSession,
        context: &RequestContext,
    ) -> Result<(), OAuthError> {
        self.account_revoker(context)?
            .control_user(&session.username, &AccountControl::SignOutEverywhere)
            .await?;
        Ok(())
    }

    /// A new password, if `current` is right (checked as a login is, with its counters and
    /// lockout, rule 13) and `new` follows the policy (NIST SP 800-63B). Every session ends
    /// (rule 16); this browser gets a new one, signed in just after the cut.
    pub async fn change_password(
        &self,
        session: &LoginSession,
        current: Password,
        new: Password,
        context: &RequestContext,
    ) -> Result<PasswordChange, OAuthError> {
        let refused = |message: &str, retry_after_secs| PasswordChange::Refused {
            message: message.to_owned(),
            retry_after_secs,
        };
        // Where accounts cannot be written (the Lambdas), say so before a password is checked
        // (and counted towards a lockout) or hashed.
        self.account_revoker(context)?;
        if let Err(refusal) = check_new_password(&new, session.username.as_str()) {
            return Ok(refused(&refusal.to_string(), None));
        }
        let login = self.login_service();
        let verified = match login
            .check_current_password(&session.username, current, context)
            .await?
        {
            Ok(user) => user,
            Err(LoginOutcome::LockedOut { retry_after_secs }) => {
                return Ok(refused(
                    "Too many wrong passwords. Try again later.",
                    Some(retry_after_secs),
                ))
            }
            Err(LoginOutcome::Busy { retry_after_secs }) => {
                return Ok(refused(
                    "The server is busy. Try again in a moment.",
                    Some(retry_after_secs),
                ))
            }
            Err(_) => return Ok(refused("The current password is not right.", None)),
        };
        // The session asking must still stand against the account just verified: a sign-out
        // everywhere or a reset before this check ended it.
        if !verified.accepts_sign_in_from(session.authenticated_at) {
            return Ok(refused(ACCOUNT_CHANGED, None));
        }
        let Some(hash) = login.hash_new_password(new).await? else {
            return Ok(refused(
                "The server is busy. Try again in a moment.",
                Some(crate::oauth::login::BUSY_RETRY_AFTER_SECS),
            ));
        };
        // Written only over the account as verified: a reset or sign-out everywhere that
        // lands between the check and this write wins (rule 17).
        let Some(changed) = self
            .account_revoker(context)?
            .control_user_as_read(&verified, &AccountControl::SetPassword(hash))
            .await?
        else {
            return Ok(refused(ACCOUNT_CHANGED, None));
        };
        let cut = changed
            .credentials_valid_after
            .unwrap_or_else(|| self.deps.clock.now());
        let (cookie, _) = login
            .start_session(
                &changed,
                Timestamp::from_millis(cut.as_millis() + 1),
                context,
            )
            .await?;
        Ok(PasswordChange::Changed { cookie })
    }
}

#[cfg(test)]
mod tests {
    use super::device_of;

    #[test]
    fn user_agents_name_a_browser_and_a_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_of(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(device_of(Some(chrome)), "Chrome on Windows");
        assert_eq!(device_of(None), "Unknown browser");
    }
}
