//! A bounded pool for password hashing (security rule 19: what an anonymous request can
//! cost). argon2id takes ~19 MiB and tens of milliseconds of a core per check, and every
//! `POST /login` costs one, whoever sends it. So checks run on a fixed set of threads, one per
//! core, behind a bounded queue: when the queue is full the login answers 503 with
//! Retry-After instead of waiting, and memory stays flat because only these threads ever
//! hold an argon2 block.
//!
//! Memory: each hashing thread keeps one argon2 block array and reuses it for every check
//! (`verify_phc`), so no 19 MiB allocation happens per login. Allocating per check, as
//! `argon2::verify_password` does, does not stay flat under glibc: after the first 19 MiB
//! block is freed, glibc's dynamic mmap threshold moves later blocks from mmap (returned to
//! the system on free) into malloc arenas, which kept growing: `xecure serve` went from 70 MB
//! to 1.7 GB after 100 concurrent failed logins and to 4.7 GB after 300, never given back
//! (infra/measure/login_flood.py). Bounding the threads alone still grew ~19 MB per check.

use argon2::password_hash::phc;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use subtle::ConstantTimeEq;

type Job = Box<dyn FnOnce() + Send>;

/// The queue is full (or the pool is gone): the work was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct HashingPool {
    jobs: SyncSender<Job>,
    workers: usize,
    queue: usize,
}

impl HashingPool {
    /// `workers` threads, and at most `queue` jobs waiting for one.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..workers {
            let waiting = Arc::clone(&waiting);
            // Small stacks: argon2's memory is on the heap.
            let spawned = std::thread::Builder::new()
                .name(format!("xecure-hash-{n}"))
                .stack_size(256 * 1024)
                .spawn(move || work(&waiting));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        HashingPool {
            jobs,
            workers,
            queue,
        }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// How many checks may wait for a worker.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Runs `check` on a pool thread, or refuses at once if the queue is full.
    pub async fn run<T, F>(&self, check: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.submit(check)?.await.map_err(|_| Busy)
    }

    /// Queues `check` now (or refuses); its answer arrives on the receiver.
    pub fn submit<T, F>(&self, check: F) -> Result<tokio::sync::oneshot::Receiver<T>, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(check());
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answered),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let next = waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        match next {
            // A panicking check must not take the thread (and a core's share) with it.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

thread_local! {
    /// This thread's argon2 memory, grown to the largest `m_cost` seen and reused.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 verification of `password` against a stored PHC string (parameters, salt and hash
/// from the string, as `argon2::verify_password` takes them), computed in this thread's
/// reused memory and compared in constant time (rule 9). A malformed hash verifies nothing.
pub fn verify_phc(stored: &str, password: &[u8]) -> bool {
    let Ok(parsed) = phc::PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str());
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed))
    else {
        return false;
    };
    let needed = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        let memory = &mut blocks[..needed];
        let hashed =
            hasher.hash_password_into_with_memory(password, salt, &mut computed, &mut *memory);
        // The blocks hold values derived from the password: not left for the next check.
        memory.fill(Block::new());
        hashed
    });
    hashed.is_ok() && bool::from(computed.as_slice().ct_eq(expected.as_bytes()))
}

/// The process's pool: one thread per core the process may use, `queue` waiting at most
/// (the first caller's value; it comes from configuration read once per cold start).
pub fn shared(queue: usize) -> &'static HashingPool {
    static POOL: OnceLock<HashingPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashingPool::new(cores, queue)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Password, PasswordHash};
    use crate::testing::SeqRng;
    use argon2::PasswordHasher;
    use std::sync::mpsc::channel;

    #[test]
    fn reused_memory_verifies_exactly_what_argon2_verifies() {
        let hash = PasswordHash::create(&Password::new("correct horse"), &SeqRng::new(7)).unwrap();
        for _ in 0..2 {
            assert!(verify_phc(hash.as_phc(), b"correct horse"));
            assert!(!verify_phc(hash.as_phc(), b"correct horsE"));
        }
        // Other parameters, algorithm, version and output length than ours verify from the
        // string alone, as argon2's own verifier does.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 3, 2, Some(24)).unwrap(),
        );
        let other = other
            .hash_password_with_salt(b"password", b"some salt 16byte")
            .unwrap()
            .to_string();
        assert!(verify_phc(&other, b"password"));
        assert!(!verify_phc(&other, b"passwore"));
        for garbage in [
            "",
            "garbage",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
            "$md5$x$y",
        ] {
            assert!(!verify_phc(garbage, b"password"), "{garbage}");
        }
    }

    #[tokio::test]
    async fn work_beyond_the_queue_is_refused_not_queued() {
        let pool = HashingPool::new(1, 1);
        let (release, hold) = channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let blocker = |hold: Arc<Mutex<Receiver<()>>>| {
            move || {
                let _ = hold.lock().unwrap().recv();
            }
        };
        let (started, running) = tokio::sync::oneshot::channel();
        let first = {
            let hold = Arc::clone(&hold);
            pool.submit(move || {
                let _ = started.send(());
                blocker(hold)()
            })
            .unwrap()
        };
        running.await.unwrap();
        // The worker is busy with the first; the second fills the queue; the third is refused.
        let second = pool.submit(blocker(Arc::clone(&hold))).unwrap();
        assert!(matches!(pool.submit(|| 3), Err(Busy)));
        release.send(()).unwrap();
        release.send(()).unwrap();
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(pool.run(|| 4).await, Ok(4), "free again");
    }
}
