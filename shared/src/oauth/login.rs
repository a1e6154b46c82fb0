//! Checking a user's credentials (security rules 13, 17 and 19): argon2id verification on the
//! bounded hashing pool, each attempt reserved on its counters (the account from this source,
//! the account, the source; see `domain::throttle` for the policy) before the password is
//! checked, lockouts that escalate once per lockout, one answer for "no such user" and "wrong
//! password", and an audit record for every outcome.

use super::OAuthError;
use crate::audit::{AuditDraft, Auditor, RequestContext};
use crate::domain::{
    AuditEventKind, AuditOutcome, ClientId, LoginPolicy, LoginSession, OpaqueToken, Password,
    PasswordHash, Reservation, ThrottleKey, Timestamp, User, Username,
};
use crate::hashing::{Busy, HashingPool};
use crate::oauth::Dependencies;
use crate::ports::{AttemptSettled, InteractionStore, LoginAdmission};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Longest password checked; longer ones fail like a wrong password.
pub const MAX_PASSWORD_LEN: usize = crate::password_policy::MAX_BYTES;

/// Retry-After of a login refused because the hashing queue was full: a queue drains in a
/// fraction of a second (tens of milliseconds per check per core).
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The source of attempts whose address is unknown (never in Lambda or `xecure serve`,
/// which always know it): they share one set of counters.
const UNKNOWN_SOURCE: &str = "unknown";

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
    /// Too many password checks waiting: this one was not checked and not counted; try again
    /// after this many seconds (rule 19).
    Busy { retry_after_secs: u64 },
}

/// Verified against when the username is unknown, so an unknown user costs the same argon2id
/// work as a known one and timing does not tell them apart. Built on a hashing thread.
static DECOY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    PasswordHash::create(
        &Password::new("decoy password for unknown users"),
        &crate::ports::OsRng,
    )
    .unwrap_or_else(|_| PasswordHash::from_phc(String::new()))
});

pub struct LoginService {
    deps: Dependencies,
    /// The authorize and consent functions' capability (`ports::InteractionStore`).
    store: Arc<dyn InteractionStore>,
    policy: LoginPolicy,
    session_ttl: Duration,
    hashing: &'static HashingPool,
}

impl LoginService {
    /// Login checks over `store`, with the clock, randomness and audit trail of `deps`.
    pub fn new(
        deps: Dependencies,
        store: Arc<dyn InteractionStore>,
        policy: LoginPolicy,
        session_ttl: Duration,
    ) -> Self {
        let hashing = crate::hashing::shared(policy.hash_queue);
        LoginService {
            deps,
            store,
            policy,
            session_ttl,
            hashing,
        }
    }

    /// The same service checking passwords on `hashing` (tests bound it tightly).
    pub fn with_hashing(mut self, hashing: &'static HashingPool) -> Self {
        self.hashing = hashing;
        self
    }

    /// Store failures fail closed: no password is checked unless its attempt was reserved.
    /// `client` is the app the login continues an authorization for (None for the
    /// connected-apps page); it goes into the audit records.
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        client: Option<&ClientId>,
        context: &RequestContext,
    ) -> Result<LoginOutcome, OAuthError> {
        let user = match self.check(username, password, client, context).await? {
            Checked::Verified(user, audit) => {
                audit.record_success().await;
                *user
            }
            Checked::Not(outcome) => return Ok(outcome),
        };
        let (cookie, session) = self
            .start_session(&user, self.deps.clock.now(), context)
            .await?;
        Ok(LoginOutcome::LoggedIn { cookie, session })
    }

    /// The password of a signed-in user, checked as a login is (the same counters, lockouts
    /// and hashing bound: a stolen session cannot guess the password faster than the login
    /// page allows), before a change to the account. None if it is right; otherwise what to
    /// tell the user. A wrong one is audited as `login_failed`, like a login's.
    pub async fn check_current_password(
        &self,
        username: &Username,
        password: Password,
        context: &RequestContext,
    ) -> Result<Result<User, LoginOutcome>, OAuthError> {
        match self
            .check(username.as_str(), password, None, context)
            .await?
        {
            Checked::Verified(user, _) => Ok(Ok(*user)),
            Checked::Not(outcome) => Ok(Err(outcome)),
        }
    }

    /// The stored form of a new password, hashed on the same bounded pool as every check
    /// (rule 19); None if the pool is full (the caller answers "busy").
    pub async fn hash_new_password(
        &self,
        password: Password,
    ) -> Result<Option<crate::domain::PasswordHash>, OAuthError> {
        let rng = Arc::clone(&self.deps.rng);
        match self
            .hashing
            .run(move || crate::domain::PasswordHash::create(&password, rng.as_ref()))
            .await
        {
            Ok(hash) => Ok(Some(hash.map_err(|e| {
                OAuthError::new(crate::oauth::ErrorCode::ServerError, e.to_string())
            })?)),
            Err(Busy) => Ok(None),
        }
    }

    /// A new session for `user`, signed in at `authenticated_at` (a login: now; after a
    /// password change: just after the cut it made), and the cookie value that names it.
    pub async fn start_session(
        &self,
        user: &User,
        authenticated_at: Timestamp,
        context: &RequestContext,
    ) -> Result<(OpaqueToken, LoginSession), OAuthError> {
        let now = self.deps.clock.now();
        let cookie = OpaqueToken::generate(self.deps.rng.as_ref());
        let session = LoginSession {
            digest: cookie.digest(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            authenticated_at,
            created_at: now,
            expires_at: now.plus(self.session_ttl),
            source_ip: context.source_ip.clone(),
            user_agent: context.user_agent.clone(),
        };
        self.store.put_session(&session).await?;
        Ok((cookie, session))
    }

    /// Reserves the attempt, checks the password and counts a failure; the account if the
    /// password is right (its success not yet audited), else what to tell the user.
    async fn check<'a>(
        &'a self,
        username: &str,
        password: Password,
        client: Option<&'a ClientId>,
        context: &'a RequestContext,
    ) -> Result<Checked<'a>, OAuthError> {
        let now = self.deps.clock.now();
        let username = Username::parse(username).ok();
        // Long inputs are refused before hashing: argon2id over megabytes is a cheap DoS.
        let password = Password::new(if password.secret().len() > MAX_PASSWORD_LEN {
            ""
        } else {
            password.secret()
        });
        let keys = throttle_keys(username.as_ref(), context);
        // Rule 17: the attempt is counted before its password is checked, atomically, so a
        // burst of parallel attempts checks at most the limit.
        let admission = self
            .store
            .reserve_login_attempt(&keys, &self.policy, now)
            .await?;
        let user = match &username {
            Some(name) => match self.store.get_user_by_username(name).await {
                Ok(user) => user,
                Err(error) => {
                    self.give_back(&admission).await;
                    return Err(error.into());
                }
            },
            None => None,
        };
        let audit = Audit {
            auditor: &self.deps.auditor,
            client,
            user,
            username,
            context,
        };
        let reserved = match admission {
            LoginAdmission::Granted(reserved) => reserved,
            LoginAdmission::Refused { key, until } => {
                audit
                    .record(AuditEventKind::LoginLocked, key.lock_reason())
                    .await;
                return Ok(Checked::Not(locked_out(until, now)));
            }
        };
        let verdict = match self.verify(audit.user.as_ref(), password).await {
            Ok(verdict) => verdict,
            Err(Busy) => {
                tracing::warn!("login refused: the password hashing queue is full");
                self.store
                    .settle_login_attempt(&reserved, AttemptSettled::NotChecked)
                    .await?;
                return Ok(Checked::Not(LoginOutcome::Busy {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                }));
            }
        };
        let Some(user) = audit.user.clone().filter(|_| verdict.is_ok()) else {
            let reason = verdict.err().unwrap_or("bad_password");
            audit.record(AuditEventKind::LoginFailed, reason).await;
            return Ok(Checked::Not(
                self.count_failure(&reserved, now, &audit).await?,
            ));
        };
        self.store
            .settle_login_attempt(&reserved, AttemptSettled::LoggedIn)
            .await?;
        Ok(Checked::Verified(Box::new(user), audit))
    }

    /// A reserved attempt that will not be checked is given back, best effort (if the store
    /// failed, the attempt stays counted: the safe side of rule 13).
    async fn give_back(&self, admission: &LoginAdmission) {
        if let LoginAdmission::Granted(reserved) = admission {
            let _ = self
                .store
                .settle_login_attempt(reserved, AttemptSettled::NotChecked)
                .await;
        }
    }

    async fn count_failure(
        &self,
        reserved: &[Reservation],
        now: Timestamp,
        audit: &Audit<'_>,
    ) -> Result<LoginOutcome, OAuthError> {
        let started = self
            .store
            .login_attempt_failed(reserved, &self.policy, now)
            .await?;
        for (key, until) in &started {
            audit.record_lock(key, *until).await;
        }
        Ok(match started.iter().map(|(_, until)| *until).max() {
            Some(until) => locked_out(until, now),
            None => LoginOutcome::Refused,
        })
    }

    /// argon2id on the hashing pool (tens of milliseconds of CPU), or `Busy` if its queue is
    /// full. The inner `Err` holds the internal reason for the audit record.
    async fn verify(
        &self,
        user: Option<&User>,
        password: Password,
    ) -> Result<Result<(), &'static str>, Busy> {
        let (hash, why) = match user {
            Some(user) if user.disabled => (Some(user.password_hash.clone()), "user_disabled"),
            Some(user) => (Some(user.password_hash.clone()), "bad_password"),
            None => (None, "unknown_user"),
        };
        let matches = self
            .hashing
            .run(move || {
                let stored = hash.as_ref().unwrap_or(&*DECOY_HASH);
                crate::hashing::verify_phc(stored.as_phc(), password.secret().as_bytes())
            })
            .await?;
        Ok(match (user, matches) {
            (Some(user), true) if !user.disabled => Ok(()),
            (_, _) => Err(why),
        })
    }
}

/// What checking a password found.
enum Checked<'a> {
    /// Right: the account, and the attempt's audit to record its success with.
    /// (Boxed: the account, with its profile, is much larger than the other variant.)
    Verified(Box<User>, Audit<'a>),
    /// Not checked, wrong, or locked out: what to tell the user.
    Not(LoginOutcome),
}

/// The audit records of one login attempt.
struct Audit<'a> {
    auditor: &'a Auditor,
    client: Option<&'a ClientId>,
    user: Option<User>,
    /// The name tried, when well-formed; recorded only if it names an account
    /// (`xecure audit --login-name`).
    username: Option<Username>,
    context: &'a RequestContext,
}

impl Audit<'_> {
    fn draft(&self, kind: AuditEventKind, outcome: AuditOutcome) -> AuditDraft {
        let mut draft = AuditDraft::new(kind, outcome);
        if let Some(client) = self.client {
            draft = draft.client(client);
        }
        if let Some(user) = &self.user {
            draft = draft.user(&user.id);
        }
        // The name tried is recorded only when it names an account: people type their
        // password into the username field, and an unknown name may be one (security rule
        // 10: no password in the audit trail). Failed logins of unknown names are still
        // recorded, by source.
        if let (Some(name), Some(_)) = (&self.username, &self.user) {
            draft = draft.detail("username", name.to_string());
        }
        draft
    }

    async fn record(&self, kind: AuditEventKind, reason: &str) {
        let draft = self.draft(kind, AuditOutcome::Failure).reason(reason);
        self.auditor.record(draft, self.context).await;
    }

    /// A lockout this attempt started.
    async fn record_lock(&self, key: &ThrottleKey, until: Timestamp) {
        let draft = self
            .draft(AuditEventKind::LoginLocked, AuditOutcome::Failure)
            .reason(key.lock_reason())
            .detail("locked_until", until.as_millis().to_string());
        self.auditor.record(draft, self.context).await;
    }

    async fn record_success(&self) {
        let draft = self.draft(AuditEventKind::LoginSucceeded, AuditOutcome::Success);
        self.auditor.record(draft, self.context).await;
    }
}

fn locked_out(until: Timestamp, now: Timestamp) -> LoginOutcome {
    let millis = until.as_millis().saturating_sub(now.as_millis());
    LoginOutcome::LockedOut {
        retry_after_secs: u64::try_from(millis).unwrap_or(0).div_ceil(1000),
    }
}

/// The counters an attempt is reserved on: the account from this source and the account
/// (when the name is well-formed), and the source.
fn throttle_keys(username: Option<&Username>, context: &RequestContext) -> Vec<ThrottleKey> {
    let source = context
        .source_ip
        .clone()
        .unwrap_or_else(|| UNKNOWN_SOURCE.to_owned());
    let mut keys = Vec::with_capacity(3);
    if let Some(name) = username {
        keys.push(ThrottleKey::AccountFromSource(name.clone(), source.clone()));
        keys.push(ThrottleKey::Account(name.clone()));
    }
    keys.push(ThrottleKey::Source(source));
    keys
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;

#[cfg(test)]
mod decoy_tests {
    use super::*;

    /// Security rule 13: the decoy an unknown username is checked against costs what a real
    /// account's hash costs (same algorithm, version and parameters), so the answer's timing
    /// does not say whether the account exists.
    #[test]
    fn rule_13_the_decoy_hash_costs_what_a_real_one_costs() {
        let real = PasswordHash::create(&Password::new("a real passphrase"), &crate::ports::OsRng)
            .unwrap();
        let parameters = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(parameters(DECOY_HASH.as_phc()), parameters(real.as_phc()));
        assert!(DECOY_HASH
            .as_phc()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!crate::hashing::verify_phc(
            DECOY_HASH.as_phc(),
            b"a real passphrase"
        ));
    }
}
