//! The authorizer's view of recent revocations: one Query every `poll_every` at most, shared
//! by all invocations of a warm container; nothing else on the hot path touches the network.
//! A revocation reaches this container within `poll_every`; API Gateway's policy cache adds
//! its TTL; `GatewayConfig` keeps the sum within the configured bound. If polls fail and the
//! list grows older than `max_stale`, the bound can no longer be kept: every call is denied.

use crate::domain::{Revocation, Timestamp};
use crate::ports::{Clock, RevocationStore};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Polls after a failure are spaced at least this much, so an outage is not hammered.
const RETRY_SPACING: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRevocations {
    pub cause: String,
}

struct Snapshot {
    revocations: Arc<Vec<Revocation>>,
    /// When the list was last fetched successfully.
    fetched_at: Option<Timestamp>,
    /// When a poll was last attempted.
    tried_at: Option<Timestamp>,
    last_error: Option<String>,
}

pub struct RevocationCache {
    store: Arc<dyn RevocationStore>,
    clock: Arc<dyn Clock>,
    poll_every: Duration,
    max_stale: Duration,
    /// How far back a poll reads: the longest an access token lives, plus leeway.
    lookback: Duration,
    state: RwLock<Snapshot>,
    polling: tokio::sync::Mutex<()>,
}

impl RevocationCache {
    pub fn new(
        store: Arc<dyn RevocationStore>,
        clock: Arc<dyn Clock>,
        poll_every: Duration,
        max_stale: Duration,
        lookback: Duration,
    ) -> Self {
        RevocationCache {
            store,
            clock,
            poll_every,
            max_stale,
            lookback,
            state: RwLock::new(Snapshot {
                revocations: Arc::new(Vec::new()),
                fetched_at: None,
                tried_at: None,
                last_error: None,
            }),
            polling: tokio::sync::Mutex::new(()),
        }
    }

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

    /// The revocations to check against now, polling first when due.
    pub async fn current(&self) -> Result<Arc<Vec<Revocation>>, StaleRevocations> {
        if self.due(self.clock.now()) {
            self.poll().await;
        }
        let now = self.clock.now();
        let state = self.read();
        match state.fetched_at {
            Some(at) if !at.plus(self.max_stale).has_passed(now) => {
                Ok(Arc::clone(&state.revocations))
            }
            _ => Err(StaleRevocations {
                cause: state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "revocations never fetched".into()),
            }),
        }
    }

    async fn poll(&self) {
        let _one_at_a_time = self.polling.lock().await;
        let now = self.clock.now();
        if !self.due(now) {
            return; // another caller polled while this one waited
        }
        let result = self
            .store
            .list_revocations_since(now.minus(self.lookback), now)
            .await;
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tried_at = Some(now);
        match result {
            Ok(list) => {
                state.revocations = Arc::new(list);
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
