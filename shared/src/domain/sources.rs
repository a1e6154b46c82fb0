//! Where time and randomness come from. Both come in through traits so tests can fix and
//! move time and repeat randomness; they live in the domain because its identifiers and
//! secrets are generated from them (dependencies point one way: domain <- ports).

use super::Timestamp;

/// Time comes in through this port so tests can fix and move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Randomness comes in through this port so tests are repeatable.
pub trait Rng: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_millis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The operating system's CSPRNG.
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        // Without OS randomness no token can be safe; refusing to run is the only safe answer.
        getrandom::fill(buf).expect("the operating system random number generator failed");
    }
}
