//! Brute-force protection for the login form (security rule 13): failed attempts are counted
//! per account and per source address, and too many within a window lock further attempts
//! out for a while, longer each time it happens again.

use super::{Timestamp, Username};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What failures are counted against. An account is counted whether or not it exists, so a
/// lockout says nothing about existence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    Account(Username),
    Source(String),
}

impl ThrottleKey {
    /// Stable text form, used as the store key.
    pub fn as_key(&self) -> String {
        match self {
            ThrottleKey::Account(username) => format!("account#{username}"),
            ThrottleKey::Source(address) => format!("source#{address}"),
        }
    }
}

/// Limits, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures per account within `window` before a lockout.
    pub max_account_failures: u32,
    /// Failures per source address within `window` before a lockout. Higher than the account
    /// limit: many users can share one address behind a NAT.
    pub max_source_failures: u32,
    pub window: Duration,
    /// The first lockout; each further one within `memory` doubles, up to `max_lockout`.
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// How long a key's record is kept after its last failure or lockout.
    pub memory: Duration,
}

impl LoginPolicy {
    pub fn limit_for(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Account(_) => self.max_account_failures,
            ThrottleKey::Source(_) => self.max_source_failures,
        }
    }
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_account_failures: 5,
            max_source_failures: 50,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            max_lockout: Duration::from_secs(24 * 60 * 60),
            memory: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Failures recorded against one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    pub key: String,
    /// Failures in the current window.
    pub failures: u32,
    pub window_started: Timestamp,
    /// Lockouts so far (within `memory`): each doubles the next one.
    pub lockouts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<Timestamp>,
    /// Optimistic-concurrency version: a write succeeds only over the version it read.
    pub version: u64,
    pub expires_at: Timestamp,
}

impl LoginThrottle {
    pub fn locked_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.locked_until.filter(|until| !until.has_passed(now))
    }

    /// The record after one more failure at `now` (the rule both stores apply atomically).
    pub fn after_failure(
        previous: Option<&LoginThrottle>,
        key: &ThrottleKey,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> LoginThrottle {
        let live = previous.filter(|p| !p.expires_at.has_passed(now));
        let version = previous.map_or(0, |p| p.version) + 1;
        let lockouts = live.map_or(0, |p| p.lockouts);
        let (mut failures, window_started) = match live {
            Some(p) if !p.window_started.plus(policy.window).has_passed(now) => {
                (p.failures, p.window_started)
            }
            _ => (0, now),
        };
        failures += 1;
        let mut next = LoginThrottle {
            key: key.as_key(),
            failures,
            window_started,
            lockouts,
            locked_until: live.and_then(|p| p.locked_at(now)),
            version,
            expires_at: now.plus(policy.memory),
        };
        if failures >= policy.limit_for(key) {
            let doubling = 2u32.saturating_pow(lockouts.min(16));
            let lockout = policy
                .lockout
                .saturating_mul(doubling)
                .min(policy.max_lockout);
            next.lockouts = lockouts + 1;
            next.locked_until = Some(now.plus(lockout));
            next.failures = 0;
            next.window_started = now;
            next.expires_at = now.plus(lockout).plus(policy.memory);
        }
        next
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

    fn account() -> ThrottleKey {
        ThrottleKey::Account(Username::parse("alice").unwrap())
    }

    const T0: Timestamp = Timestamp::from_secs(1_800_000_000);
    const MINUTE: Duration = Duration::from_secs(60);

    fn fail(times: u32, from: Option<LoginThrottle>, now: Timestamp) -> LoginThrottle {
        let mut state = from;
        for _ in 0..times {
            state = Some(LoginThrottle::after_failure(
                state.as_ref(),
                &account(),
                &policy(),
                now,
            ));
        }
        state.unwrap()
    }

    #[test]
    fn the_limit_locks_and_each_lockout_doubles() {
        let two = fail(2, None, T0);
        assert_eq!((two.failures, two.locked_at(T0)), (2, None));
        let locked = fail(1, Some(two), T0);
        assert_eq!(locked.locked_at(T0), Some(T0.plus(MINUTE * 15)));
        let later = T0.plus(MINUTE * 16);
        assert_eq!(locked.locked_at(later), None, "the lockout ends");
        let again = fail(3, Some(locked), later);
        assert_eq!(again.locked_at(later), Some(later.plus(MINUTE * 30)));
        assert_eq!(again.lockouts, 2);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let two = fail(2, None, T0);
        let next = fail(1, Some(two), T0.plus(MINUTE * 16));
        assert_eq!((next.failures, next.locked_until), (1, None));
    }

    #[test]
    fn lockouts_are_capped() {
        let mut state = None;
        for round in 0..12u32 {
            let now = T0.plus(Duration::from_secs(u64::from(round) * 2 * 24 * 3600 / 3));
            state = Some(fail(3, state, now));
        }
        let state = state.unwrap();
        let until = state.locked_until.unwrap();
        assert!(until.as_millis() - state.window_started.as_millis() <= 24 * 3600 * 1000);
    }
}
