//! The authorizer's view of recent revocations, refreshed off the request path (security
//! rules 18 and 19). One background poll per container at a time, every `poll_every` at
//! most; a call never waits for it while the last good view is fresh enough to keep the
//! bound, and waits at most `PollLimits::request_wait` when it is not (then fails closed).
//! Each poll reads only what changed since the previous one (plus `OVERLAP`), and the view is
//! a `RevocationIndex`: a check costs a few hash lookups however many entries are live.
//!
//! A revocation reaches this container within `poll_every`; API Gateway's policy cache adds
//! its TTL; `AuthorizerConfig` keeps the sum within the configured bound. If polls fail or hang
//! and the view grows older than `max_stale`, the bound can no longer be kept: every call is
//! denied until a poll succeeds.

use crate::domain::Timestamp;
use crate::oauth::revocation_check::RevocationIndex;
use crate::ports::{Clock, RevocationStore};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// Polls after a failure are spaced at least this much, so an outage is not hammered.
const RETRY_SPACING: Duration = Duration::from_secs(1);

/// How long the store may take before the authorizer gives up on it (rule 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollLimits {
    /// A poll that has not answered by then has failed: the store hangs.
    pub poll_timeout: Duration,
    /// The longest a call waits for a poll, and only when the view is too old to use: the
    /// first call of a cold container, or after an outage.
    pub request_wait: Duration,
}

impl Default for PollLimits {
    /// Inside the authorizer's 5 s Lambda timeout: a call never waits more than 1 s.
    fn default() -> Self {
        PollLimits {
            poll_timeout: Duration::from_secs(4),
            request_wait: Duration::from_secs(1),
        }
    }
}

/// Each poll reads entries from this long before the previous poll began again: an entry
/// is dated when its writer started, and commits at most a write timeout later (the SDK's
/// operation timeout is far below this). Entries read twice are applied once.
const OVERLAP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRevocations {
    pub cause: String,
}

struct Snapshot {
    index: Arc<RevocationIndex>,
    /// When the view was last brought up to date (the start of that poll).
    fetched_at: Option<Timestamp>,
    /// When a poll last ended, well or badly.
    tried_at: Option<Timestamp>,
    last_error: Option<String>,
}

struct Inner {
    store: Arc<dyn RevocationStore>,
    clock: Arc<dyn Clock>,
    poll_every: Duration,
    max_stale: Duration,
    /// How far back the first poll reads: the longest an access token lives, plus leeway.
    lookback: Duration,
    limits: PollLimits,
    state: RwLock<Snapshot>,
    /// A poll is running: no second one starts.
    polling: AtomicBool,
    /// Wakes the calls waiting for a poll.
    polled: Notify,
}

#[derive(Clone)]
pub struct RevocationCache {
    inner: Arc<Inner>,
}

impl RevocationCache {
    pub fn new(
        store: Arc<dyn RevocationStore>,
        clock: Arc<dyn Clock>,
        poll_every: Duration,
        max_stale: Duration,
        lookback: Duration,
        limits: PollLimits,
    ) -> Self {
        RevocationCache {
            inner: Arc::new(Inner {
                store,
                clock,
                poll_every,
                max_stale,
                lookback,
                limits,
                state: RwLock::new(Snapshot {
                    index: Arc::new(RevocationIndex::default()),
                    fetched_at: None,
                    tried_at: None,
                    last_error: None,
                }),
                polling: AtomicBool::new(false),
                polled: Notify::new(),
            }),
        }
    }

    /// The view to check against now. Starts a background poll when one is due; waits for
    /// it (at most `limits.request_wait`) only if the current view is too old to use.
    pub async fn current(&self) -> Result<Arc<RevocationIndex>, StaleRevocations> {
        let now = self.inner.clock.now();
        if self.inner.due(now) {
            self.start_poll();
        }
        if let Ok(view) = self.inner.usable(now) {
            return Ok(view);
        }
        let waited = tokio::time::timeout(self.inner.limits.request_wait, async {
            loop {
                let woken = self.inner.polled.notified();
                if !self.inner.polling.load(Ordering::Acquire) {
                    return;
                }
                woken.await;
            }
        })
        .await;
        if waited.is_err() {
            tracing::warn!("revocation poll still running after the wait bound");
        }
        self.inner.usable(self.inner.clock.now())
    }

    /// Entries in the current view.
    pub fn len(&self) -> usize {
        self.inner.read().index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn start_poll(&self) {
        if self.inner.polling.swap(true, Ordering::AcqRel) {
            return; // one is running
        }
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            inner.poll().await;
            inner.polling.store(false, Ordering::Release);
            inner.polled.notify_waiters();
        });
    }
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn due(&self, now: Timestamp) -> bool {
        let state = self.read();
        let fresh = state
            .fetched_at
            .is_some_and(|at| !at.plus(self.poll_every).has_passed(now));
        let retried_recently = state.last_error.is_some()
            && state
                .tried_at
                .is_some_and(|at| !at.plus(RETRY_SPACING).has_passed(now));
        !fresh && !retried_recently
    }

    fn usable(&self, now: Timestamp) -> Result<Arc<RevocationIndex>, StaleRevocations> {
        let state = self.read();
        match state.fetched_at {
            Some(at) if !at.plus(self.max_stale).has_passed(now) => Ok(Arc::clone(&state.index)),
            _ => Err(StaleRevocations {
                cause: state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "revocations never fetched".into()),
            }),
        }
    }

    async fn poll(&self) {
        let now = self.clock.now();
        let since = match self.read().fetched_at {
            Some(last) => last.minus(OVERLAP),
            None => now.minus(self.lookback),
        };
        let timeout = self.limits.poll_timeout;
        let result = tokio::time::timeout(timeout, self.store.list_revocations_since(since, now))
            .await
            .unwrap_or_else(|_| {
                Err(crate::ports::StoreError::Unavailable(format!(
                    "revocation poll took over {} ms",
                    timeout.as_millis()
                )))
            });
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tried_at = Some(self.clock.now());
        match result {
            Ok(entries) => {
                // Calls holding the previous view keep it; the next ones get this one.
                let index = Arc::make_mut(&mut state.index);
                index.apply(&entries);
                index.prune(now);
                state.fetched_at = Some(now);
                state.last_error = None;
            }
            Err(error) => {
                tracing::error!(%error, "revocation poll failed");
                state.last_error = Some(error.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventId, Revocation, RevocationTarget, UserId};
    use crate::ports::{RevocationWriter, StoreResult};
    use crate::testing::FixedClock;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Records what each poll asked for; answers with `entries`, or never when hanging.
    #[derive(Default)]
    struct Recorder {
        asked_since: Mutex<Vec<Timestamp>>,
        entries: Mutex<Vec<Revocation>>,
        hanging: AtomicBool,
    }

    #[async_trait]
    impl RevocationStore for Recorder {
        async fn list_revocations_since(
            &self,
            since: Timestamp,
            _now: Timestamp,
        ) -> StoreResult<Vec<Revocation>> {
            self.asked_since.lock().unwrap().push(since);
            if self.hanging.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            let entries = self.entries.lock().unwrap();
            Ok(entries.iter().filter(|e| e.at >= since).cloned().collect())
        }
    }

    #[async_trait]
    impl RevocationWriter for Recorder {
        async fn put_revocation(&self, revocation: &Revocation) -> StoreResult<bool> {
            self.entries.lock().unwrap().push(revocation.clone());
            Ok(true)
        }
    }

    const T0: Timestamp = Timestamp::from_secs(1_900_000_000);

    fn cache(store: Arc<Recorder>, clock: Arc<FixedClock>) -> RevocationCache {
        RevocationCache::new(
            store,
            clock,
            Duration::from_secs(15),
            Duration::from_secs(30),
            Duration::from_secs(630),
            PollLimits::default(),
        )
    }

    fn user_entry(n: u64, at: Timestamp) -> Revocation {
        Revocation {
            id: EventId::parse(&format!("evt_{n}")).unwrap(),
            at,
            target: RevocationTarget::User(UserId::parse(&format!("usr_{n}")).unwrap()),
            expires_at: at.plus(Duration::from_secs(630)),
        }
    }

    async fn settle(cache: &RevocationCache) {
        while cache.inner.polling.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn each_poll_reads_only_what_changed_since_the_last_one() {
        let store = Arc::new(Recorder::default());
        let clock = Arc::new(FixedClock::at(T0));
        let cache = cache(store.clone(), clock.clone());
        store
            .put_revocation(&user_entry(1, T0.minus(Duration::from_secs(60))))
            .await
            .unwrap();
        assert_eq!(cache.current().await.unwrap().len(), 1);
        clock.advance(Duration::from_secs(15));
        store
            .put_revocation(&user_entry(2, T0.plus(Duration::from_secs(14))))
            .await
            .unwrap();
        cache.current().await.unwrap();
        settle(&cache).await;
        assert_eq!(
            *store.asked_since.lock().unwrap(),
            [T0.minus(Duration::from_secs(630)), T0.minus(OVERLAP)],
            "the first poll reads the token lifetime back, the next from the last poll less the overlap"
        );
        assert_eq!(cache.len(), 2, "an entry read by two polls counts once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hanging_store_holds_no_call_while_the_view_keeps_the_bound() {
        let store = Arc::new(Recorder::default());
        let clock = Arc::new(FixedClock::at(T0));
        let limits = PollLimits {
            poll_timeout: Duration::from_millis(300),
            request_wait: Duration::from_millis(50),
        };
        let cache = RevocationCache::new(
            store.clone(),
            clock.clone(),
            Duration::from_secs(15),
            Duration::from_secs(30),
            Duration::from_secs(630),
            limits,
        );
        cache.current().await.unwrap();
        store.hanging.store(true, Ordering::SeqCst);
        // A poll is due and hangs in the background; calls answer from the view without
        // waiting for it (were one to wait, it would wait forever: the store never answers).
        clock.advance(Duration::from_secs(20));
        let answered = tokio::time::timeout(Duration::from_secs(10), async {
            for _ in 0..100 {
                cache
                    .current()
                    .await
                    .expect("the view is 20 s old: still usable");
            }
        })
        .await;
        assert!(answered.is_ok(), "a call waited on the hanging poll");
        assert!(
            cache.inner.polling.load(Ordering::Acquire),
            "the poll still hangs"
        );
        // Too old to keep the bound: a call waits for the poll at most `request_wait`, then
        // fails closed; the hung poll is abandoned at `poll_timeout`, and the next one works.
        clock.advance(Duration::from_secs(11));
        assert!(cache.current().await.is_err(), "fail closed");
        settle(&cache).await;
        assert!(cache
            .inner
            .read()
            .last_error
            .as_deref()
            .unwrap()
            .contains("took over 300 ms"));
        store.hanging.store(false, Ordering::SeqCst);
        clock.advance(RETRY_SPACING);
        assert!(
            cache.current().await.is_ok(),
            "recovers once the store answers"
        );
    }
}
