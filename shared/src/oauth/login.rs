//! Checking a user's credentials (security rule 13): argon2id verification, failures counted
//! per account and per source address with escalating lockouts, one answer for "no such user"
//! and "wrong password", and an audit record for every outcome.

use super::OAuthError;
use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, ClientId, LoginPolicy, LoginSession, LoginThrottle, OpaqueToken,
    Password, PasswordHash, ThrottleKey, Timestamp, User, Username,
};
use crate::ports::{Clock, Rng, Store};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Longest password checked; longer ones fail like a wrong password.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// What the user is told; never whether the account exists.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The cookie value to hand the browser, and the session stored under its digest.
    LoggedIn {
        cookie: OpaqueToken,
        session: LoginSession,
    },
    /// Wrong username or password (which one is kept internal).
    Refused,
    /// Too many failures for this account or this source: no attempt is checked until the
    /// lockout ends, this many seconds from now.
    LockedOut { retry_after_secs: u64 },
}

/// Verified against when the username is unknown, so an unknown user costs the same argon2id
/// work as a known one and timing does not tell them apart.
static DECOY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    PasswordHash::create(
        &Password::new("decoy password for unknown users"),
        &crate::ports::OsRng,
    )
    .unwrap_or_else(|_| PasswordHash::from_phc(String::new()))
});

pub struct LoginService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    auditor: Auditor,
    policy: LoginPolicy,
    session_ttl: Duration,
}

impl LoginService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        auditor: Auditor,
        policy: LoginPolicy,
        session_ttl: Duration,
    ) -> Self {
        LoginService {
            store,
            clock,
            rng,
            auditor,
            policy,
            session_ttl,
        }
    }

    /// Store failures fail closed: no login happens unless the counters could be read.
    /// `client` is the app the login continues an authorization for (None for the
    /// connected-apps page); it goes into the audit records.
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        client: Option<&ClientId>,
        context: &RequestContext,
    ) -> Result<LoginOutcome, OAuthError> {
        let now = self.clock.now();
        let username = Username::parse(username).ok();
        // Long inputs are refused before hashing: argon2id over megabytes is a cheap DoS.
        let password = Password::new(if password.secret().len() > MAX_PASSWORD_LEN {
            ""
        } else {
            password.secret()
        });
        let keys = throttle_keys(username.as_ref(), context);
        let throttles = self.store.get_login_throttles(&keys, now).await?;
        let user = match &username {
            Some(name) => self.store.get_user_by_username(name).await?,
            None => None,
        };
        let user_id = user.as_ref().map(|user| user.id.clone());
        let draft = |kind, outcome| {
            let draft = AuditDraft::new(kind, outcome);
            let draft = match client {
                Some(client) => draft.client(client),
                None => draft,
            };
            match &user_id {
                Some(id) => draft.user(id),
                None => draft,
            }
        };
        if let Some((reason, until)) = lockout(&keys, &throttles, now) {
            self.auditor
                .record(
                    draft(AuditEventKind::LoginLocked, AuditOutcome::Failure).reason(reason),
                    context,
                )
                .await;
            return Ok(locked_out(until, now));
        }
        let verdict = verify(user.as_ref(), password).await;
        let Some(user) = user.filter(|_| verdict.is_ok()) else {
            let reason = verdict.err().unwrap_or("bad_password");
            self.auditor
                .record(
                    draft(AuditEventKind::LoginFailed, AuditOutcome::Failure).reason(reason),
                    context,
                )
                .await;
            return self.count_failure(&keys, now, &draft, context).await;
        };
        // A success forgets the account's failures (the source's stay); no call if none.
        let counted_account = keys
            .iter()
            .zip(&throttles)
            .find(|(key, state)| matches!(key, ThrottleKey::Account(_)) && state.is_some());
        if let Some((account, _)) = counted_account {
            self.store.clear_login_throttle(account).await?;
        }
        let cookie = OpaqueToken::generate(self.rng.as_ref());
        let session = LoginSession {
            digest: cookie.digest(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            authenticated_at: now,
            created_at: now,
            expires_at: now.plus(self.session_ttl),
        };
        self.store.put_session(&session).await?;
        self.auditor
            .record(
                draft(AuditEventKind::LoginSucceeded, AuditOutcome::Success),
                context,
            )
            .await;
        Ok(LoginOutcome::LoggedIn { cookie, session })
    }

    async fn count_failure(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
        draft: &(dyn Fn(AuditEventKind, AuditOutcome) -> AuditDraft + Sync),
        context: &RequestContext,
    ) -> Result<LoginOutcome, OAuthError> {
        let mut locked_until = None;
        for key in keys {
            let state = self
                .store
                .record_login_failure(key, &self.policy, now)
                .await?;
            if let Some(until) = state.locked_at(now).filter(|_| state.failures == 0) {
                // This failure started a lockout.
                self.auditor
                    .record(
                        draft(AuditEventKind::LoginLocked, AuditOutcome::Failure)
                            .reason(lock_reason(key))
                            .detail("locked_until", until.as_millis().to_string()),
                        context,
                    )
                    .await;
                locked_until = locked_until.max(Some(until));
            }
        }
        Ok(match locked_until {
            Some(until) => locked_out(until, now),
            None => LoginOutcome::Refused,
        })
    }
}

fn locked_out(until: Timestamp, now: Timestamp) -> LoginOutcome {
    let millis = until.as_millis().saturating_sub(now.as_millis());
    LoginOutcome::LockedOut {
        retry_after_secs: u64::try_from(millis).unwrap_or(0).div_ceil(1000),
    }
}

/// The account (when the name is well-formed) and the source address (when known).
fn throttle_keys(username: Option<&Username>, context: &RequestContext) -> Vec<ThrottleKey> {
    let mut keys = Vec::with_capacity(2);
    if let Some(name) = username {
        keys.push(ThrottleKey::Account(name.clone()));
    }
    if let Some(address) = &context.source_ip {
        keys.push(ThrottleKey::Source(address.clone()));
    }
    keys
}

fn lock_reason(key: &ThrottleKey) -> &'static str {
    match key {
        ThrottleKey::Account(_) => "account_locked",
        ThrottleKey::Source(_) => "source_locked",
    }
}

fn lockout(
    keys: &[ThrottleKey],
    throttles: &[Option<LoginThrottle>],
    now: Timestamp,
) -> Option<(&'static str, Timestamp)> {
    keys.iter()
        .zip(throttles)
        .filter_map(|(key, state)| {
            let until = state.as_ref()?.locked_at(now)?;
            Some((lock_reason(key), until))
        })
        .max_by_key(|(_, until)| *until)
}

/// argon2id on a blocking thread (tens of milliseconds of CPU). `Err` holds the internal
/// reason for the audit record.
async fn verify(user: Option<&User>, password: Password) -> Result<(), &'static str> {
    let (hash, why) = match user {
        Some(user) if user.disabled => (user.password_hash.clone(), "user_disabled"),
        Some(user) => (user.password_hash.clone(), "bad_password"),
        None => (DECOY_HASH.clone(), "unknown_user"),
    };
    let matches = tokio::task::spawn_blocking(move || hash.verify(&password))
        .await
        .unwrap_or(false);
    match (user, matches) {
        (Some(user), true) if !user.disabled => Ok(()),
        (_, _) => Err(why),
    }
}
