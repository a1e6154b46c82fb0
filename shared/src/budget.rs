//! Time budgets for calls to AWS dependencies and for whole requests (security rule 18):
//! every DynamoDB, KMS and CloudWatch Logs call has a connect timeout, a per-attempt and a
//! per-operation timeout, and a few retries with full jitter, so a dependency that accepts
//! connections and never answers costs a bounded time, and the answer is a 503
//! `temporarily_unavailable` before Lambda's own timeout kills the invocation.
//!
//! The arithmetic for the OAuth functions (authorize, consent, token: `Timeout: 10` in
//! infra/template.yaml):
//! - one store or KMS call: at most `FUNCTIONS.operation` = 2 s (attempts of at most 1 s,
//!   3 attempts, full-jitter backoff from 50 ms capped at 400 ms; the operation timeout cuts
//!   the third attempt short), so a hanging store fails the first call after 2 s;
//! - one request's handler: at most `REQUEST_DEADLINE` = 5 s however many calls it makes,
//!   then 503 (`within_deadline`);
//! - then the invocation's audit batch to CloudWatch Logs: at most 3 tries (the batch's own
//!   retries, 50 ms and 250 ms apart) of one `AUDIT_LOG.operation` = 1 s call each, plus a
//!   CreateLogStream of at most 1 s the first time: 4.3 s;
//! - 5 + 4.3 = 9.3 s < 10 s, with the latency line after.
//!
//! The operator CLI gets longer calls (`OPERATOR`: a page of audit records can be large),
//! still bounded; `xecure serve` uses `FUNCTIONS` and its HTTP server's request timeout.

use std::future::Future;
use std::time::Duration;

/// Timeouts and retries of one kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyBudget {
    /// TCP and TLS connection establishment.
    pub connect: Duration,
    /// One HTTP attempt, from sending to the whole response read.
    pub attempt: Duration,
    /// The whole operation: all attempts and the backoff between them.
    pub operation: Duration,
    /// Attempts in all (the first and the retries).
    pub max_attempts: u32,
    /// Full jitter: the n-th retry waits a random time up to min(initial * 2^n, max).
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl DependencyBudget {
    /// The Lambda functions' calls to DynamoDB and KMS (see the module's arithmetic).
    pub const FUNCTIONS: DependencyBudget = DependencyBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(1),
        operation: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    };

    /// A function's audit batch to CloudWatch Logs, sent after its response is ready; the
    /// batch retries twice on its own (`audit::log_group::RETRY_DELAYS`), so the SDK does not.
    pub const AUDIT_LOG: DependencyBudget = DependencyBudget {
        connect: Duration::from_millis(500),
        attempt: Duration::from_secs(1),
        operation: Duration::from_secs(1),
        max_attempts: 1,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(50),
    };

    /// The operator CLI: larger reads, a person waiting, still never a hang.
    pub const OPERATOR: DependencyBudget = DependencyBudget {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(10),
        operation: Duration::from_secs(30),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
    };

    pub fn timeout_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// Standard mode: retries transient errors (timeouts, throttling, 5xx) with full jitter
    /// (the SDK draws the backoff's base at random), within a per-client retry quota.
    pub fn retry_config(&self) -> aws_config::retry::RetryConfig {
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// `config` with these timeouts and retries (every client built from it inherits them).
    pub fn apply(&self, config: aws_config::SdkConfig) -> aws_config::SdkConfig {
        config
            .into_builder()
            .timeout_config(self.timeout_config())
            .retry_config(self.retry_config())
            .build()
    }
}

/// How long a Lambda handler may work on one request before it answers 503 (see the
/// module's arithmetic: it leaves the audit batch time to go out within the 10 s timeout).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// Runs `work`; if it has not finished within `deadline`, drops it and returns `late()`
/// instead. Dropping is safe where the work is: every store write is one atomic call (a
/// dropped one either happened whole or not at all) and each audit record's stdout line is
/// written before its store write starts.
pub async fn within_deadline<T>(
    deadline: Duration,
    work: impl Future<Output = T>,
    late: impl FnOnce() -> T,
) -> T {
    match tokio::time::timeout(deadline, work).await {
        Ok(done) => done,
        Err(_) => {
            tracing::error!(
                deadline_ms = deadline.as_millis() as u64,
                "request deadline passed: answered 503"
            );
            late()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_budget_fits_the_lambda_timeout() {
        let lambda_timeout = Duration::from_secs(10);
        let audit_batch = DependencyBudget::AUDIT_LOG.operation * 4
            + crate::audit::log_group::RETRY_DELAYS
                .iter()
                .sum::<Duration>();
        assert!(REQUEST_DEADLINE + audit_batch < lambda_timeout);
        let f = DependencyBudget::FUNCTIONS;
        assert!(f.operation < REQUEST_DEADLINE && f.attempt <= f.operation);
        assert!(f.max_backoff < f.attempt);
    }

    #[tokio::test]
    async fn work_past_the_deadline_gets_the_late_answer() {
        let deadline = Duration::from_millis(20);
        let answer = within_deadline(deadline, std::future::pending::<&str>(), || "503").await;
        assert_eq!(answer, "503");
        let answer = within_deadline(deadline, async { "200" }, || "503").await;
        assert_eq!(answer, "200");
        // What the functions answer when it passes: 503 temporarily_unavailable.
        let json = crate::http::deadline_json();
        assert_eq!(json.status(), 503);
        let lambda_http::Body::Text(text) = json.body() else {
            panic!("a JSON body")
        };
        assert!(text.contains("\"temporarily_unavailable\""), "{text}");
        assert_eq!(crate::web::deadline_page().status(), 503);
    }

    #[test]
    fn configs_carry_every_bound() {
        let config = DependencyBudget::FUNCTIONS.apply(aws_config::SdkConfig::builder().build());
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(2)));
        let retries = config.retry_config().unwrap();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.max_backoff(), Duration::from_millis(400));
    }
}
