//! The API Gateway authorizer's decision, free of Lambda types: parse the bearer token,
//! verify it with pre-parsed published keys (`alg` fixed by the key, `typ` at+jwt, iss, aud,
//! exp, nbf), check it against the polled revocations, and build the IAM policy for every
//! route its scopes allow. Any failure denies (fail closed).

pub mod backend;
pub mod claims_cache;
pub mod decision_line;
pub mod dpop;
pub mod policy;
pub mod policy_memo;
pub mod responses;
pub mod revocations;
mod route_config;
pub mod routes;

use crate::config::{ConfigError, OAuthConfig};
use crate::domain::{Scope, Timestamp};
use crate::jwt::{verify_access_token, AccessTokenClaims, TokenExpectations, TokenRejection};
use crate::oauth::bearer::BearerError;
use crate::ports::{Clock, KeyStore, ProofReplayStore, RevocationStore};
use crate::signing::{KeyringError, LiveKeyring};
use claims_cache::VerifiedClaimsCache;
use dpop::{check_binding, BindingRefusal, Presented};
use policy::{policy_document, ApiArn};
use policy_memo::{BuiltPolicy, PolicyMemo};
use revocations::RevocationCache;
use routes::RouteTable;
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of the authorizer, read once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on exp, nbf and iat.
    pub leeway: Duration,
    /// `XECURE_REVOCATION_BOUND_SECONDS` (60): a revocation stops tokens at the gateway
    /// within this, API Gateway's cache included.
    pub revocation_bound: Duration,
    /// `XECURE_GATEWAY_CACHE_SECONDS` (30): the authorizer result TTL set on the API; must be
    /// below the bound.
    pub gateway_cache_ttl: Duration,
    /// Longest access-token lifetime: how far back revocations matter.
    pub access_token_ttl: Duration,
    /// `XECURE_CLAIMS_CACHE_ENTRIES` (4096).
    pub claims_cache_entries: usize,
    /// An unknown `kid` reloads the published keys at most this often.
    pub key_refresh_spacing: Duration,
    /// How long a revocation poll may take, and a call may wait for one (rule 18).
    pub poll_limits: revocations::PollLimits,
}

impl AuthorizerConfig {
    pub fn new(oauth: &OAuthConfig) -> Self {
        AuthorizerConfig {
            issuer: oauth.issuer.clone(),
            audience: oauth.audience.clone(),
            leeway: Duration::from_secs(30),
            revocation_bound: Duration::from_secs(60),
            gateway_cache_ttl: Duration::from_secs(30),
            access_token_ttl: oauth.access_token_ttl,
            claims_cache_entries: 4096,
            key_refresh_spacing: Duration::from_secs(30),
            poll_limits: revocations::PollLimits::default(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = AuthorizerConfig::new(&OAuthConfig::from_env()?);
        let seconds = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match std::env::var(name) {
                Err(_) => Ok(default),
                Ok(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    why: format!("'{raw}' is not a whole number"),
                }),
            }
        };
        config.revocation_bound =
            Duration::from_secs(seconds("XECURE_REVOCATION_BOUND_SECONDS", 60)?);
        config.gateway_cache_ttl =
            Duration::from_secs(seconds("XECURE_GATEWAY_CACHE_SECONDS", 30)?);
        config.claims_cache_entries =
            usize::try_from(seconds("XECURE_CLAIMS_CACHE_ENTRIES", 4096)?).unwrap_or(4096);
        config.check()?;
        Ok(config)
    }

    /// The poll interval and staleness limit that keep the bound.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.gateway_cache_ttl + Duration::from_secs(2) > self.revocation_bound {
            return Err(ConfigError::Invalid {
                name: "XECURE_GATEWAY_CACHE_SECONDS",
                why: "must be at least 2 s below XECURE_REVOCATION_BOUND_SECONDS".into(),
            });
        }
        Ok(())
    }

    /// Half of what the gateway cache leaves of the bound: polls happen this often...
    pub fn poll_every(&self) -> Duration {
        (self.revocation_bound - self.gateway_cache_ttl) / 2
    }

    /// ...and a list older than what the cache leaves is no longer trusted.
    pub fn max_stale(&self) -> Duration {
        self.revocation_bound - self.gateway_cache_ttl
    }
}

/// What the gateway decided, and why (the reason goes to the log, never to the caller).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The token may call this route; the policy lists every route it may call.
    Allow { claims: Arc<AccessTokenClaims> },
    /// A good token without the scope for this route: an explicit Deny (403).
    Forbidden { claims: Arc<AccessTokenClaims> },
    /// No usable token (missing, garbled, bad signature, expired, revoked): 401.
    Unauthorized { reason: String },
    /// The gateway cannot decide safely (keys or revocations unavailable): deny.
    FailClosed { reason: String },
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    /// For Allow and Forbidden: the IAM policy for the token as JSON text, written once per
    /// scope set, stage and route (shared with the memo).
    pub policy: Option<Arc<RawValue>>,
    /// `GET /orders/{id}`, or the raw method and path when no route matches.
    pub route: String,
    /// With a policy: the API stage the call was for (its usage-plan key names it).
    pub api: Option<ApiArn>,
}

pub struct Authorizer {
    keyring: LiveKeyring,
    revocations: RevocationCache,
    /// Where DPoP proofs are marked used (RFC 9449 section 11.1).
    proofs: Arc<dyn ProofReplayStore>,
    claims: VerifiedClaimsCache,
    policies: PolicyMemo,
    routes: Arc<RouteTable>,
    expectations: TokenExpectations,
    config: AuthorizerConfig,
    clock: Arc<dyn Clock>,
    last_key_refresh: Mutex<Timestamp>,
}

/// The published keys are re-read on an unknown `kid` only (rate-limited), never on a timer:
/// a warm invocation's only network call is the revocation poll.
const NO_TIMED_RELOAD: Duration = Duration::from_secs(365 * 24 * 3600);

impl Authorizer {
    /// Loads the published keys (one Query); fails if they cannot be read.
    pub async fn load(
        keys: Arc<dyn KeyStore>,
        revocation_store: Arc<dyn RevocationStore>,
        proofs: Arc<dyn ProofReplayStore>,
        routes: Arc<RouteTable>,
        config: AuthorizerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyringError> {
        let keyring = LiveKeyring::load(keys, None, clock.clone(), NO_TIMED_RELOAD).await?;
        let revocations = RevocationCache::new(
            revocation_store,
            clock.clone(),
            config.poll_every(),
            config.max_stale(),
            config.access_token_ttl + config.leeway,
            config.poll_limits,
        );
        let expectations = TokenExpectations {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway_secs: i64::try_from(config.leeway.as_secs()).unwrap_or(30),
        };
        Ok(Authorizer {
            keyring,
            revocations,
            proofs,
            claims: VerifiedClaimsCache::new(config.claims_cache_entries),
            policies: PolicyMemo::default(),
            routes,
            expectations,
            last_key_refresh: Mutex::new(clock.now()),
            config,
            clock,
        })
    }

    pub fn config(&self) -> &AuthorizerConfig {
        &self.config
    }

    /// Decides one call presenting a bearer token alone (a TOKEN event). `arn` is the REST
    /// `methodArn` or HTTP API `routeArn`.
    pub async fn decide(
        &self,
        authorization: Result<&str, BearerError>,
        arn: Option<&str>,
    ) -> Decision {
        self.decide_call(&Presented::bearer(authorization), arn)
            .await
    }

    /// Decides one call: its token, under its scheme, with the request when the event
    /// carries it (DPoP proofs are checked against it, RFC 9449 section 7).
    pub async fn decide_call(&self, presented: &Presented<'_>, arn: Option<&str>) -> Decision {
        let arn = arn.and_then(ApiArn::parse);
        let route = arn
            .as_ref()
            .and_then(|arn| self.routes.find(&arn.method, &arn.path));
        let route_name = match (&arn, route) {
            (_, Some(route)) => route.name(),
            (Some(arn), None) => format!("{} {}", arn.method, arn.path),
            (None, None) => "unknown".to_owned(),
        };
        let denied = |verdict: Verdict| Decision {
            verdict,
            policy: None,
            route: route_name.clone(),
            api: None,
        };
        let unauthorized = |reason: &str| {
            denied(Verdict::Unauthorized {
                reason: reason.to_owned(),
            })
        };
        let token = match presented.token {
            Ok(token) => token,
            Err(error) => return unauthorized(error.reason()),
        };
        let Some(api) = &arn else {
            return unauthorized("bad_route_arn");
        };
        let claims = match self.verified(token).await {
            Ok(claims) => claims,
            Err(rejection) => return unauthorized(rejection_reason(&rejection)),
        };
        let revocations = match self.revocations.current().await {
            Ok(list) => list,
            Err(stale) => {
                tracing::error!(cause = %stale.cause, "revocation list unavailable: failing closed");
                return denied(Verdict::FailClosed {
                    reason: "revocations_unavailable".into(),
                });
            }
        };
        if revocations.stops(&claims).is_some() {
            return unauthorized("revoked");
        }
        // After the token and its revocations: only a holder of a good token makes the
        // proof check write (one conditional put per DPoP call).
        match check_binding(
            &claims,
            presented,
            route,
            self.proofs.as_ref(),
            self.clock.now(),
        )
        .await
        {
            Ok(()) => {}
            Err(BindingRefusal::Unauthorized(reason)) => return unauthorized(reason),
            Err(BindingRefusal::Unavailable) => {
                return denied(Verdict::FailClosed {
                    reason: "dpop_replay_store_unavailable".into(),
                })
            }
        }
        let built = self.policies.get_or_build(
            &claims.scope,
            &api.prefix,
            route.map(|_| route_name.as_str()),
            || {
                let scope = Scope::parse(&claims.scope).ok()?;
                let document = policy_document(&self.routes, &scope, api, route);
                Some(BuiltPolicy {
                    document: Arc::from(serde_json::value::to_raw_value(&document).ok()?),
                    allows_route: route.is_some_and(|route| route.allows(&scope)),
                })
            },
        );
        let Some(built) = built else {
            return unauthorized("bad_scope_claim");
        };
        let verdict = if built.allows_route {
            Verdict::Allow { claims }
        } else {
            Verdict::Forbidden { claims }
        };
        Decision {
            verdict,
            policy: Some(built.document),
            route: route_name,
            api: arn,
        }
    }

    async fn verified(&self, token: &str) -> Result<Arc<AccessTokenClaims>, TokenRejection> {
        let now = self.clock.now();
        // Served while verification would still accept it: until exp plus the leeway.
        if let Some(claims) = self
            .claims
            .get(token, now.as_secs() - self.expectations.leeway_secs)
        {
            return Ok(claims);
        }
        let keyring = self.keyring.current().await;
        let claims = match verify_access_token(&keyring, token, &self.expectations, now) {
            Err(TokenRejection::UnknownKey) if self.may_refresh_keys(now) => {
                self.keyring.reload().await;
                let keyring = self.keyring.current().await;
                verify_access_token(&keyring, token, &self.expectations, now)?
            }
            other => other?,
        };
        let claims = Arc::new(claims);
        self.claims
            .insert(token, Arc::clone(&claims), now.as_secs());
        Ok(claims)
    }

    /// The gateway's clock, for stamping what it logs.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn may_refresh_keys(&self, now: Timestamp) -> bool {
        let mut last = self
            .last_key_refresh
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.plus(self.config.key_refresh_spacing).has_passed(now) {
            *last = now;
            true
        } else {
            false
        }
    }
}

fn rejection_reason(rejection: &TokenRejection) -> &'static str {
    match rejection {
        TokenRejection::Malformed(_) => "malformed_token",
        TokenRejection::WrongType => "wrong_typ",
        TokenRejection::UnknownKey => "unknown_kid",
        TokenRejection::WrongAlgorithm => "wrong_alg",
        TokenRejection::Invalid(_) => "invalid_token",
        TokenRejection::Expired => "expired",
        TokenRejection::NotYetValid => "not_yet_valid",
    }
}
