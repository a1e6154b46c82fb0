//! Token buckets by key, in this process's memory (security rule 19: rate, 429 with
//! Retry-After). In Lambda every warm container keeps its own buckets: a key's effective
//! limit is the configured one times the containers serving it, so this bounds what one
//! container spends, and API Gateway's stage or usage-plan throttling is the limit shared by
//! all of them. The number of keys is bounded too: a flood of made-up keys cannot grow
//! memory, it only ends up sharing one overflow bucket.

use crate::domain::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// Refused: the next request would be allowed this many seconds from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_millis: i64,
}

impl Bucket {
    fn full(rate: Rate, now: Timestamp) -> Self {
        Bucket {
            tokens: f64::from(rate.burst),
            at_millis: now.as_millis(),
        }
    }

    /// Tokens refilled up to `now` (never backwards if the clock is).
    fn refill(&mut self, rate: Rate, now: Timestamp) {
        let elapsed = (now.as_millis() - self.at_millis).max(0) as f64;
        let per_milli = f64::from(rate.per_minute) / 60_000.0;
        self.tokens = (self.tokens + elapsed * per_milli).min(f64::from(rate.burst));
        self.at_millis = self.at_millis.max(now.as_millis());
    }

    fn take(&mut self, rate: Rate, now: Timestamp) -> Result<(), RetryAfter> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let per_second = f64::from(rate.per_minute) / 60.0;
        let wait = if per_second > 0.0 {
            ((1.0 - self.tokens) / per_second).ceil() as u64
        } else {
            60
        };
        Err(RetryAfter(wait.max(1)))
    }

    fn is_full(&mut self, rate: Rate, now: Timestamp) -> bool {
        self.refill(rate, now);
        self.tokens >= f64::from(rate.burst)
    }
}

/// Buckets of one rate, by key.
pub struct KeyedLimiter {
    rate: Rate,
    max_keys: usize,
    state: Mutex<Buckets>,
}

struct Buckets {
    by_key: HashMap<String, Bucket>,
    /// Shared by keys that found the table full (of keys still being limited).
    overflow: Option<Bucket>,
}

impl KeyedLimiter {
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        KeyedLimiter {
            rate,
            max_keys,
            state: Mutex::new(Buckets {
                by_key: HashMap::new(),
                overflow: None,
            }),
        }
    }

    /// Takes one request's token from `key`'s bucket, or says when to retry.
    pub fn take(&self, key: &str, now: Timestamp) -> Result<(), RetryAfter> {
        self.with_bucket(key, now, |bucket, rate| bucket.take(rate, now))
    }

    /// Whether `key` could take a token now, without taking it.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), RetryAfter> {
        self.with_bucket(key, now, |bucket, rate| {
            let mut probe = *bucket;
            probe.take(rate, now)
        })
    }

    /// Gives back a token taken for `key` (the request turned out not to count against it).
    pub fn give_back(&self, key: &str, now: Timestamp) {
        self.with_bucket(key, now, |bucket, rate| {
            bucket.refill(rate, now);
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(rate.burst));
        });
    }

    fn with_bucket<T>(
        &self,
        key: &str,
        now: Timestamp,
        work: impl FnOnce(&mut Bucket, Rate) -> T,
    ) -> T {
        let rate = self.rate;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *state;
        if !state.by_key.contains_key(key) && state.by_key.len() >= self.max_keys {
            // A full bucket is the same as none: forget those first.
            state.by_key.retain(|_, bucket| !bucket.is_full(rate, now));
        }
        if state.by_key.contains_key(key) || state.by_key.len() < self.max_keys {
            let bucket = state
                .by_key
                .entry(key.to_owned())
                .or_insert_with(|| Bucket::full(rate, now));
            return work(bucket, rate);
        }
        let overflow = state
            .overflow
            .get_or_insert_with(|| Bucket::full(rate, now));
        work(overflow, rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_secs(1_900_000_000);
    const RATE: Rate = Rate {
        per_minute: 60,
        burst: 3,
    };

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(T0.as_millis() + millis)
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limiter = KeyedLimiter::new(RATE, 100);
        for _ in 0..3 {
            assert_eq!(limiter.take("a", at(0)), Ok(()));
        }
        assert_eq!(limiter.take("a", at(0)), Err(RetryAfter(1)));
        assert_eq!(limiter.take("b", at(0)), Ok(()), "keys are apart");
        assert_eq!(limiter.take("a", at(999)), Err(RetryAfter(1)));
        assert_eq!(limiter.take("a", at(1000)), Ok(()), "one a second");
        assert_eq!(limiter.take("a", at(1000)), Err(RetryAfter(1)));
        assert_eq!(limiter.check("a", at(60_000)), Ok(()));
        for _ in 0..3 {
            assert_eq!(
                limiter.take("a", at(60_000)),
                Ok(()),
                "refilled to the burst"
            );
        }
    }

    #[test]
    fn a_token_given_back_can_be_taken_again() {
        let limiter = KeyedLimiter::new(RATE, 100);
        for _ in 0..3 {
            limiter.take("a", at(0)).unwrap();
        }
        limiter.give_back("a", at(0));
        assert_eq!(limiter.check("a", at(0)), Ok(()));
        assert_eq!(limiter.take("a", at(0)), Ok(()));
        assert!(limiter.check("a", at(0)).is_err(), "checking takes nothing");
        assert!(limiter.take("a", at(0)).is_err());
    }

    #[test]
    fn made_up_keys_share_one_bucket_once_the_table_is_full() {
        let limiter = KeyedLimiter::new(RATE, 10);
        for n in 0..10 {
            limiter.take(&format!("busy{n}"), at(0)).unwrap();
        }
        // The table holds ten keys still being limited: newcomers share the overflow.
        for n in 0..3 {
            assert_eq!(limiter.take(&format!("new{n}"), at(0)), Ok(()));
        }
        assert!(limiter.take("new3", at(0)).is_err());
        assert!(
            limiter.take("busy0", at(0)).is_ok(),
            "known keys keep their own"
        );
        // Once refilled, the old keys are forgotten and new ones get their own again.
        assert_eq!(limiter.take("later", at(60_000)), Ok(()));
        let state = limiter.state.lock().unwrap();
        assert_eq!(state.by_key.len(), 1);
    }
}
