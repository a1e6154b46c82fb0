//! Test doubles for every crate: deterministic stand-ins for the `Clock` and `Rng` ports, moto
//! endpoints, and the `World` fixture (a store, its key sealer and the usual set-up).

use crate::domain::Timestamp;
use crate::ports::{Clock, Rng};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A clock that stands still until told to move.
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(time: Timestamp) -> Self {
        FixedClock(AtomicI64::new(time.as_millis()))
    }

    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// Repeatable, well-spread bytes: SHA-256 of (seed, counter). Never for production.
pub struct SeqRng {
    seed: u64,
    counter: AtomicU64,
}

impl SeqRng {
    pub fn new(seed: u64) -> Self {
        SeqRng {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl Rng for SeqRng {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::SeqCst);
            let block = Sha256::new()
                .chain_update(self.seed.to_le_bytes())
                .chain_update(n.to_le_bytes())
                .finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

pub mod moto;
mod world;

pub use world::{ClientFixture, World};

mod dpop;
pub use dpop::DpopKey;

pub mod key_host;
pub use key_host::{Answer, KeyHost};
