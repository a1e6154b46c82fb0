//! Rate limits at the token function's edges (security rule 19): per client on `/token`,
//! `/revoke` and `/introspect`, per initial access token on `/register`, and per source
//! address for failed authentications; 429 `too_many_requests` with Retry-After.
//!
//! Whose budget a request spends: a client id is public, so anyone could spend a client's
//! budget in its name. Hence a confidential client's bucket (keyed by the id a request
//! presents with a secret) gets its token back when the secret is wrong (401), and that
//! failure is charged to the sender's address instead; an address that fails too often is
//! refused before any work. A public client proves nothing, so its bucket is per client
//! and source address. The buckets live in this container's memory (`xecure::ratelimit`):
//! in AWS, API Gateway's stage or usage-plan throttling is the limit all containers share.

use lambda_http::http::header::{HeaderValue, RETRY_AFTER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use std::sync::Arc;
use xecure::config::RateLimitConfig;
use xecure::domain::AuthMethod;
use xecure::domain::TokenDigest;
use xecure::http::{authorization, form, oauth_error, request_context, route_path};
use xecure::oauth::bearer::bearer_token;
use xecure::oauth::client_auth::presented_client;
use xecure::oauth::metadata::{INTROSPECT_PATH, PAR_PATH, REGISTER_PATH, REVOKE_PATH, TOKEN_PATH};
use xecure::oauth::{ErrorCode, OAuthError};
use xecure::ports::Clock;
use xecure::ratelimit::{KeyedLimiter, RetryAfter};

/// Keys per limiter (a bucket is a few dozen bytes); beyond it newcomers share one bucket.
const MAX_KEYS: usize = 10_000;

/// Requests whose source address is unknown (never behind API Gateway) share one budget.
const UNKNOWN_SOURCE: &str = "unknown";

pub struct EdgeLimits {
    clients: KeyedLimiter,
    registrations: KeyedLimiter,
    failures: KeyedLimiter,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Client,
    Registration,
}

/// What an admitted request was charged, settled once its answer is known.
pub struct Admitted {
    charged: Option<(Budget, String)>,
    source: String,
    authenticates: bool,
}

impl EdgeLimits {
    pub fn new(config: &RateLimitConfig, clock: Arc<dyn Clock>) -> Self {
        EdgeLimits {
            clients: KeyedLimiter::new(config.client, MAX_KEYS),
            registrations: KeyedLimiter::new(config.registration, MAX_KEYS),
            failures: KeyedLimiter::new(config.auth_failures, MAX_KEYS),
            clock,
        }
    }

    fn budget(&self, budget: Budget) -> &KeyedLimiter {
        match budget {
            Budget::Client => &self.clients,
            Budget::Registration => &self.registrations,
        }
    }

    /// Before any work: the request's charge, or its refusal.
    pub fn admit(&self, request: &Request) -> Result<Admitted, Refused> {
        let path = route_path(request);
        let source = request_context(request)
            .source_ip
            .unwrap_or_else(|| UNKNOWN_SOURCE.to_owned());
        let budget = match path {
            TOKEN_PATH | REVOKE_PATH | INTROSPECT_PATH | PAR_PATH => Some(Budget::Client),
            REGISTER_PATH => Some(Budget::Registration),
            _ => None,
        };
        let authenticates = budget.is_some() || path.starts_with(REGISTER_PATH);
        let now = self.clock.now();
        if authenticates {
            self.failures.check(&source, now).map_err(|retry| {
                Refused::new(retry, "too many failed authentications from this address")
            })?;
        }
        let charged =
            budget.and_then(|budget| Some((budget, charge_key(budget, request, &source)?)));
        if let Some((budget, key)) = &charged {
            self.budget(*budget)
                .take(key, now)
                .map_err(|retry| match budget {
                    Budget::Client => Refused::new(retry, "too many requests for this client"),
                    Budget::Registration => Refused::new(
                        retry,
                        "too many registrations with this initial access token",
                    ),
                })?;
        }
        Ok(Admitted {
            charged,
            source,
            authenticates,
        })
    }

    /// After the answer: a failed authentication (401), or a DPoP refusal made before the
    /// client authenticated (`SenderRefusal`), is the sender's, not the named client's or
    /// token's: anyone could name a client in such a request.
    pub fn settle(&self, admitted: Admitted, response: &Response<Body>) {
        let refusal = match response.extensions().get::<SenderRefusal>() {
            Some(refusal) => Some(*refusal),
            None if response.status() == StatusCode::UNAUTHORIZED => Some(SenderRefusal {
                counts_as_failure: true,
            }),
            None => None,
        };
        let Some(refusal) = refusal.filter(|_| admitted.authenticates) else {
            return;
        };
        let now = self.clock.now();
        if let Some((budget, key)) = &admitted.charged {
            self.budget(*budget).give_back(key, now);
        }
        if refusal.counts_as_failure {
            let _ = self.failures.take(&admitted.source, now);
        }
    }
}

/// Marks an answer as a refusal of the sender's (see `settle`): an invalid DPoP proof
/// counts as a failure of its address; `use_dpop_nonce` is the protocol's normal first
/// round and does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderRefusal {
    pub counts_as_failure: bool,
}

/// The error answer, marked for `settle` when it is a DPoP refusal.
pub fn marked_refusal(error: &OAuthError) -> Response<Body> {
    let mut response = oauth_error(error);
    let counts_as_failure = match error.code {
        ErrorCode::InvalidDpopProof => true,
        ErrorCode::UseDpopNonce => false,
        _ => return response,
    };
    response
        .extensions_mut()
        .insert(SenderRefusal { counts_as_failure });
    response
}

/// The bucket a request spends: a confidential client's id (it presents a secret), a public
/// client's id with the source address, or the digest of an initial access token.
fn charge_key(budget: Budget, request: &Request, source: &str) -> Option<String> {
    match budget {
        Budget::Client => {
            let params = form(request).ok()?;
            let presented = presented_client(authorization(request), &params).ok()?;
            Some(match presented.method {
                AuthMethod::None => format!("public#{}#{source}", presented.client_id),
                _ => format!("client#{}", presented.client_id),
            })
        }
        Budget::Registration => {
            let token = bearer_token(authorization(request)).ok()?;
            Some(format!("iat#{}", TokenDigest::of(token).as_str()))
        }
    }
}

/// A request over its rate.
#[derive(Debug)]
pub struct Refused {
    retry: RetryAfter,
    why: &'static str,
}

impl Refused {
    fn new(retry: RetryAfter, why: &'static str) -> Self {
        Refused { retry, why }
    }

    /// 429 `too_many_requests` with Retry-After (RFC 6585 section 4).
    pub fn response(&self) -> Response<Body> {
        let mut response = oauth_error(&OAuthError::new(ErrorCode::TooManyRequests, self.why));
        if let Ok(value) = HeaderValue::from_str(&self.retry.0.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
