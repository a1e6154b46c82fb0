//! `GET /healthz` (the process answers) and `GET /readyz` (it can serve: the store answers a
//! read), for whatever supervises `xecure serve`. Neither goes through the gateway, the
//! authorizer or a rate limit, and neither says more than ready or not.

use super::message::gateway_message;
use lambda_http::http::header::{CACHE_CONTROL, RETRY_AFTER};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Response};
use std::time::{Duration, Instant};
use xecure::ports::KeyStore;

pub const HEALTH_PATH: &str = "/healthz";
pub const READY_PATH: &str = "/readyz";

fn no_store(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Liveness: the server is running and answering.
pub fn live() -> Response<Body> {
    no_store(gateway_message(200, "alive"))
}

/// How long one readiness answer stands: however many callers ask, the store is read at most
/// once per this (security rule 19: an anonymous request's cost is bounded).
pub const READY_ANSWER_LIFETIME: Duration = Duration::from_secs(1);

/// Readiness: one read of the store (the signing keys, which every token needs), bounded by
/// the store's own timeouts (rule 18), shared by every caller for `READY_ANSWER_LIFETIME`:
/// one read in flight at a time, the others wait for its answer. 503 with Retry-After when
/// it fails; the cause goes to the log (once per read), not to the caller.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl Readiness {
    pub async fn answer(&self, store: &(impl KeyStore + ?Sized)) -> Response<Body> {
        let mut last = self.last.lock().await;
        let ready = match *last {
            Some((at, ready)) if at.elapsed() < READY_ANSWER_LIFETIME => ready,
            _ => {
                let ready = match store.list_signing_keys().await {
                    Ok(_) => true,
                    Err(error) => {
                        eprintln!("xecure serve: not ready: {error}");
                        false
                    }
                };
                *last = Some((Instant::now(), ready));
                ready
            }
        };
        drop(last);
        if ready {
            return no_store(gateway_message(200, "ready"));
        }
        let mut response = no_store(gateway_message(503, "not ready"));
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("5"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xecure::store::dynamo::DynamoStore;

    #[tokio::test]
    async fn readiness_is_503_with_retry_after_when_the_store_does_not_answer() {
        // Nothing listens on port 1: every call is refused.
        let config = xecure::testing::moto::sdk_config_for("http://127.0.0.1:1");
        let store = DynamoStore::from_config(&config, "absent".to_owned());
        let response = Readiness::default().answer(&store).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
        assert_eq!(live().status(), 200);
    }

    /// Counts the reads readiness makes.
    struct CountedReads {
        inner: xecure::store::embedded::EmbeddedStore,
        reads: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl xecure::ports::KeyStore for CountedReads {
        async fn list_signing_keys(
            &self,
        ) -> xecure::ports::StoreResult<Vec<xecure::domain::SigningKey>> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.list_signing_keys().await
        }
    }

    #[tokio::test]
    async fn a_burst_of_readiness_calls_reads_the_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(CountedReads {
            inner: xecure::store::embedded::EmbeddedStore::open(dir.path()).unwrap(),
            reads: Default::default(),
        });
        let readiness = std::sync::Arc::new(Readiness::default());
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let (store, readiness) = (store.clone(), readiness.clone());
            burst.spawn(async move { readiness.answer(store.as_ref()).await.status() });
        }
        while let Some(status) = burst.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
