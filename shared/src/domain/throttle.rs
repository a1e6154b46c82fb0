//! Brute-force protection for the login form (security rules 13 and 17): every attempt is
//! reserved on its counters BEFORE the password is checked, atomically (an atomic add in
//! DynamoDB, one write transaction in the embedded store), and refused when the reservation
//! would pass the limit. So a burst of N parallel attempts checks at most `limit` passwords,
//! whatever N is, and the right password sent in the burst after the limit is not checked.
//!
//! What is counted (the per-source policy): three counters per attempt,
//! - the account from this source address (`AccountFromSource`), limit 5: an ordinary guesser
//!   locks only themselves out of that account, not its owner at another address;
//! - the account from everywhere (`Account`), limit 20: guessing spread over many addresses
//!   still meets a bound, at the price that a distributed attacker can lock the account;
//! - the source address across all accounts (`Source`), limit 100: password spraying (one
//!   guess per account) meets a ceiling high enough that the users behind one NAT address,
//!   whose successes are refunded, do not lock each other out with typos.
//!
//! A window's lockout starts once, when a failure finds the window's attempts at the limit;
//! it moves the window to the lockout's end, so the other failures of that burst cannot start
//! (or double) another one. Each lockout within `memory` doubles the next.

use super::{Timestamp, Username};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What attempts are counted against. An account is counted whether or not it exists, so a
/// lockout says nothing about existence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// One account, attempts from one source address.
    AccountFromSource(Username, String),
    /// One account, attempts from every source.
    Account(Username),
    /// One source address, attempts on every account.
    Source(String),
}

impl ThrottleKey {
    /// Stable text form, used as the store key. Usernames cannot hold `#`.
    pub fn as_key(&self) -> String {
        match self {
            ThrottleKey::AccountFromSource(username, address) => {
                format!("account_source#{username}#{address}")
            }
            ThrottleKey::Account(username) => format!("account#{username}"),
            ThrottleKey::Source(address) => format!("source#{address}"),
        }
    }

    /// A login proves the user at this source: the failures of that pair are forgotten,
    /// while the account's and the source's counters only get the attempt back.
    pub fn forgotten_on_login(&self) -> bool {
        matches!(self, ThrottleKey::AccountFromSource(..))
    }

    /// The reason an audit record gives when this key refuses or locks.
    pub fn lock_reason(&self) -> &'static str {
        match self {
            ThrottleKey::AccountFromSource(..) => "account_locked",
            ThrottleKey::Account(_) => "account_locked_all_sources",
            ThrottleKey::Source(_) => "source_locked",
        }
    }
}

/// Limits, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failed attempts on one account from one source address within `window`.
    pub max_account_failures: u32,
    /// Failed attempts on one account from all sources within `window`.
    pub max_account_total_failures: u32,
    /// Failed attempts from one source address on all accounts within `window`. High: many
    /// users can share one address behind a NAT.
    pub max_source_failures: u32,
    pub window: Duration,
    /// The first lockout; each further one within `memory` doubles, up to `max_lockout`.
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// How long a key's record is kept after its last attempt or lockout.
    pub memory: Duration,
    /// Password checks that may wait for a hashing thread; past it a login answers 503 with
    /// Retry-After (rule 19).
    pub hash_queue: usize,
}

impl LoginPolicy {
    pub fn limit_for(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::AccountFromSource(..) => self.max_account_failures,
            ThrottleKey::Account(_) => self.max_account_total_failures,
            ThrottleKey::Source(_) => self.max_source_failures,
        }
    }

    /// The lockout after `previous` lockouts within memory: doubling, capped.
    pub fn lockout_after(&self, previous: u32) -> Duration {
        let doubling = 2u32.saturating_pow(previous.min(16));
        self.lockout.saturating_mul(doubling).min(self.max_lockout)
    }
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_account_failures: 5,
            max_account_total_failures: 20,
            max_source_failures: 100,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            max_lockout: Duration::from_secs(24 * 60 * 60),
            memory: Duration::from_secs(24 * 60 * 60),
            hash_queue: 16,
        }
    }
}

/// The counter of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    pub key: String,
    /// Attempts reserved in the current window: failed ones and ones still being checked
    /// (an attempt that logs in, or is never checked, is given back).
    #[serde(default, alias = "failures")]
    pub attempts: u32,
    /// When the current window began; after a lockout, the lockout's end.
    pub window_started: Timestamp,
    /// Lockouts so far (within `memory`): each doubles the next one.
    pub lockouts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<Timestamp>,
    pub expires_at: Timestamp,
}

/// One attempt reserved on one key: what the later failure or release must match, so that
/// it never touches a window other than the one it was counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub key: ThrottleKey,
    pub window_started: Timestamp,
    /// The window's attempts with this one.
    pub attempts: u32,
    /// Lockouts before this window: sets the length of the lockout this window may start.
    pub lockouts: u32,
}

/// What reserving an attempt on one key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may be checked; this is the key's record with it counted.
    Granted(LoginThrottle),
    /// Locked out, or the window's attempts are all taken: not checked, nothing counted.
    /// Try again at this time at the earliest.
    Refused(Timestamp),
}

impl LoginThrottle {
    pub fn locked_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.locked_until.filter(|until| !until.has_passed(now))
    }

    fn window_open(&self, policy: &LoginPolicy, now: Timestamp) -> bool {
        !self.window_started.plus(policy.window).has_passed(now)
    }

    /// The reservation rule both stores apply atomically: count one more attempt, or refuse.
    pub fn reserve(
        previous: Option<&LoginThrottle>,
        key: &ThrottleKey,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> Admission {
        let live = previous.filter(|p| !p.expires_at.has_passed(now));
        if let Some(until) = live.and_then(|p| p.locked_at(now)) {
            return Admission::Refused(until);
        }
        match live {
            Some(p) if p.window_open(policy, now) => {
                if p.attempts >= policy.limit_for(key) {
                    // The last allowed attempts are still being checked (or were lost with
                    // a crashed process): refused until the window ends.
                    return Admission::Refused(p.window_started.plus(policy.window));
                }
                Admission::Granted(LoginThrottle {
                    attempts: p.attempts + 1,
                    expires_at: now.plus(policy.memory),
                    ..p.clone()
                })
            }
            _ => Admission::Granted(LoginThrottle {
                key: key.as_key(),
                attempts: 1,
                window_started: now,
                lockouts: live.map_or(0, |p| p.lockouts),
                locked_until: live.and_then(|p| p.locked_until),
                expires_at: now.plus(policy.memory),
            }),
        }
    }

    /// The reservation this record (just granted) stands for.
    pub fn reservation(&self, key: &ThrottleKey) -> Reservation {
        Reservation {
            key: key.clone(),
            window_started: self.window_started,
            attempts: self.attempts,
            lockouts: self.lockouts,
        }
    }

    /// Whether a failure of this reservation may start a lockout: it took the window's last
    /// attempt. (Only such failures try, so a store need not read the record first.)
    pub fn may_lock(reserved: &Reservation, policy: &LoginPolicy) -> bool {
        reserved.attempts >= policy.limit_for(&reserved.key)
    }

    /// After a failed check: the record with a lockout started, if the failure took the
    /// window's last attempt, that window is still current, and its attempts are still at the
    /// limit (none was given back by a login). Once per window: the lockout moves the window
    /// to its own end.
    pub fn lock_after_failure(
        &self,
        reserved: &Reservation,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> Option<LoginThrottle> {
        if !Self::may_lock(reserved, policy)
            || self.window_started != reserved.window_started
            || self.attempts < policy.limit_for(&reserved.key)
        {
            return None;
        }
        let until = now.plus(policy.lockout_after(self.lockouts));
        Some(LoginThrottle {
            attempts: 0,
            window_started: until,
            lockouts: self.lockouts + 1,
            locked_until: Some(until),
            expires_at: until.plus(policy.memory),
            key: self.key.clone(),
        })
    }

    /// Gives the reserved attempt back (it logged in, or was never checked), if its window
    /// is still current.
    pub fn refund(&self, reserved: &Reservation) -> Option<LoginThrottle> {
        (self.window_started == reserved.window_started && self.attempts > 0).then(|| {
            LoginThrottle {
                attempts: self.attempts - 1,
                ..self.clone()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_account_failures: 3,
            ..LoginPolicy::default()
        }
    }

    fn pair() -> ThrottleKey {
        ThrottleKey::AccountFromSource(Username::parse("alice").unwrap(), "192.0.2.1".into())
    }

    const T0: Timestamp = Timestamp::from_secs(1_800_000_000);
    const MINUTE: Duration = Duration::from_secs(60);

    fn granted(admission: Admission) -> LoginThrottle {
        match admission {
            Admission::Granted(record) => record,
            Admission::Refused(until) => panic!("refused until {until}"),
        }
    }

    /// `times` attempts reserved and failed one after the other.
    fn fail(times: u32, from: Option<LoginThrottle>, now: Timestamp) -> LoginThrottle {
        let mut state = from;
        for _ in 0..times {
            let record = granted(LoginThrottle::reserve(
                state.as_ref(),
                &pair(),
                &policy(),
                now,
            ));
            let reserved = record.reservation(&pair());
            state = Some(
                record
                    .lock_after_failure(&reserved, &policy(), now)
                    .unwrap_or(record),
            );
        }
        state.unwrap()
    }

    #[test]
    fn the_limit_locks_and_each_lockout_doubles() {
        let two = fail(2, None, T0);
        assert_eq!((two.attempts, two.locked_at(T0)), (2, None));
        let locked = fail(1, Some(two), T0);
        assert_eq!(locked.locked_at(T0), Some(T0.plus(MINUTE * 15)));
        assert_eq!(
            LoginThrottle::reserve(Some(&locked), &pair(), &policy(), T0),
            Admission::Refused(T0.plus(MINUTE * 15))
        );
        let later = T0.plus(MINUTE * 16);
        assert_eq!(locked.locked_at(later), None, "the lockout ends");
        let again = fail(3, Some(locked), later);
        assert_eq!(again.locked_at(later), Some(later.plus(MINUTE * 30)));
        assert_eq!(again.lockouts, 2);
    }

    #[test]
    fn reservations_past_the_limit_are_refused_before_any_check() {
        let mut record = None;
        for attempt in 1..=3 {
            let next = granted(LoginThrottle::reserve(
                record.as_ref(),
                &pair(),
                &policy(),
                T0,
            ));
            assert_eq!(next.attempts, attempt);
            record = Some(next);
        }
        assert_eq!(
            LoginThrottle::reserve(record.as_ref(), &pair(), &policy(), T0),
            Admission::Refused(T0.plus(MINUTE * 15)),
            "three checks in flight: the fourth waits for the window"
        );
    }

    #[test]
    fn a_burst_of_failures_starts_one_lockout() {
        let records: Vec<LoginThrottle> = (0..3)
            .scan(None, |state: &mut Option<LoginThrottle>, _| {
                let next = granted(LoginThrottle::reserve(
                    state.as_ref(),
                    &pair(),
                    &policy(),
                    T0,
                ));
                *state = Some(next.clone());
                Some(next)
            })
            .collect();
        let reservations: Vec<Reservation> =
            records.iter().map(|r| r.reservation(&pair())).collect();
        let mut current = records[2].clone();
        let mut started = 0;
        for reserved in &reservations {
            if let Some(locked) = current.lock_after_failure(reserved, &policy(), T0) {
                current = locked;
                started += 1;
            }
        }
        assert_eq!(started, 1, "three failures in one window, one lockout");
        assert_eq!(current.lockouts, 1);
        assert_eq!(current.locked_at(T0), Some(T0.plus(MINUTE * 15)));
    }

    #[test]
    fn a_refund_gives_the_attempt_back_only_in_its_window() {
        let record = fail(2, None, T0);
        let reserved = Reservation {
            key: pair(),
            window_started: T0,
            attempts: 2,
            lockouts: 0,
        };
        assert_eq!(record.refund(&reserved).unwrap().attempts, 1);
        let stale = Reservation {
            window_started: T0.minus(MINUTE),
            ..reserved
        };
        assert_eq!(record.refund(&stale), None);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let two = fail(2, None, T0);
        let next = fail(1, Some(two), T0.plus(MINUTE * 16));
        assert_eq!((next.attempts, next.locked_until), (1, None));
    }

    #[test]
    fn lockouts_are_capped() {
        let mut state: Option<LoginThrottle> = None;
        let mut now = T0;
        for _ in 0..12 {
            now = state.as_ref().and_then(|s| s.locked_until).unwrap_or(T0);
            state = Some(fail(3, state, now));
        }
        let until = state.unwrap().locked_until.unwrap();
        assert_eq!(until, now.plus(policy().max_lockout), "a day at most");
    }

    #[test]
    fn records_written_before_reservations_still_decode() {
        let old = r#"{"key":"account#bob","failures":2,"window_started":1,"lockouts":0,"version":3,"expires_at":9}"#;
        let record: LoginThrottle = serde_json::from_str(old).unwrap();
        assert_eq!(record.attempts, 2);
    }
}
