//! Settings read once per cold start from the environment. Every value has a documented
//! variable; defaults suit a local run.

use crate::domain::LoginPolicy;
use crate::ratelimit::Rate;
use crate::signing::SigningAlgorithm;
use std::env;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// Where the store lives. In Lambda it is always DynamoDB; `xecure serve` may use either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `XECURE_TABLE`: the one DynamoDB table.
    pub table_name: String,
}

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let table_name =
            env::var("XECURE_TABLE").map_err(|_| ConfigError::Missing("XECURE_TABLE"))?;
        Ok(StoreConfig { table_name })
    }
}

/// `XECURE_KMS_KEY_ID`: the KMS key that seals signing keys (id, ARN or alias).
pub fn kms_key_id_from_env() -> Result<String, ConfigError> {
    env::var("XECURE_KMS_KEY_ID").map_err(|_| ConfigError::Missing("XECURE_KMS_KEY_ID"))
}

pub use aws_config::SdkConfig;

/// The AWS SDK configuration from the environment, loaded once per cold start, with the
/// Lambda functions' timeouts and retries on every call (rule 18; `budget` explains them).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_sdk_config_within(crate::budget::DependencyBudget::FUNCTIONS).await
}

/// As `aws_sdk_config`, with another caller's bounds (the operator CLI).
pub async fn aws_sdk_config_within(
    budget: crate::budget::DependencyBudget,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config())
        .load()
        .await
}

/// Protocol settings shared by the authorization server functions and the authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// `XECURE_ISSUER`: the issuer identifier (RFC 8414 section 2), an https URL in AWS,
    /// and the base URL of every endpoint.
    pub issuer: String,
    /// `XECURE_AUDIENCE`: the `aud` of access tokens, the protected API (RFC 9068 section 3).
    pub audience: String,
    /// `XECURE_ACCESS_TOKEN_MINUTES` (default 10).
    pub access_token_ttl: Duration,
    /// `XECURE_REFRESH_TOKEN_DAYS` (default 30): one refresh token's life; rotation issues a
    /// new one but never past the family's end.
    pub refresh_token_ttl: Duration,
    /// `XECURE_REFRESH_FAMILY_DAYS` (default 90): absolute end of a refresh family.
    pub refresh_family_ttl: Duration,
    /// `XECURE_CODE_SECONDS` (default 60).
    pub code_ttl: Duration,
    /// `XECURE_SIGNING_ALG`: EdDSA (default) or ES256.
    pub signing_algorithm: SigningAlgorithm,
    /// `XECURE_AUDIT_RETENTION_DAYS` (default 400).
    pub audit_retention: Duration,
    /// `XECURE_REGISTRATION_TOKEN_DAYS` (default 90): how long a registration access token
    /// (RFC 7592) works; every update of the registration issues a new one.
    pub registration_token_ttl: Duration,
    /// `XECURE_DPOP_NONCE=required` (default `off`): a DPoP proof at the token endpoint must
    /// carry a nonce this server issued (RFC 9449 section 8).
    pub dpop_nonce_required: bool,
    /// `XECURE_JWKS_URI_LOOPBACK=allowed|refused`: whether a client's `jwks_uri` may name a
    /// loopback address (over http too). Default: allowed only when the issuer itself is an
    /// http loopback URL (a local run); in AWS the issuer is https and a `jwks_uri` must be
    /// https on a public address (`oauth::client_keys`).
    pub jwks_uri_hosts: RemoteHosts,
}

/// Which addresses the server may fetch a client's keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteHosts {
    /// https, public unicast addresses only: never the VPC, link-local metadata
    /// services, or the Lambda Runtime API on loopback.
    PublicOnly,
    /// Also loopback addresses, over http or https: for local runs and tests.
    LoopbackToo,
}

/// `XECURE_JWKS_URI_LOOPBACK`, defaulting from the issuer (see `OAuthConfig::jwks_uri_hosts`).
/// In Lambda never loopback: the Runtime API listens there (`AWS_LAMBDA_RUNTIME_API`), and
/// a client's `jwks_uri` must not reach it whatever the issuer or the setting says.
pub fn jwks_uri_hosts(issuer: &url::Url) -> Result<RemoteHosts, ConfigError> {
    let setting = env::var("XECURE_JWKS_URI_LOOPBACK").ok();
    let in_lambda = env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    remote_hosts(setting.as_deref(), in_lambda, issuer)
}

fn remote_hosts(
    setting: Option<&str>,
    in_lambda: bool,
    issuer: &url::Url,
) -> Result<RemoteHosts, ConfigError> {
    let invalid = |why: String| ConfigError::Invalid {
        name: "XECURE_JWKS_URI_LOOPBACK",
        why,
    };
    match setting {
        Some("allowed") if in_lambda => Err(invalid(
            "loopback key hosts are never allowed in Lambda (the Runtime API is there)".into(),
        )),
        Some("allowed") => Ok(RemoteHosts::LoopbackToo),
        Some("refused") => Ok(RemoteHosts::PublicOnly),
        Some(other) => Err(invalid(format!("'{other}' is neither allowed nor refused"))),
        None if in_lambda => Ok(RemoteHosts::PublicOnly),
        None => {
            let local = issuer.scheme() == "http"
                && match issuer.host() {
                    Some(url::Host::Ipv4(address)) => address.is_loopback(),
                    Some(url::Host::Ipv6(address)) => address.is_loopback(),
                    Some(url::Host::Domain(name)) => name == "localhost",
                    None => false,
                };
            Ok(if local {
                RemoteHosts::LoopbackToo
            } else {
                RemoteHosts::PublicOnly
            })
        }
    }
}

const MINUTE: u64 = 60;
const DAY: u64 = 24 * 60 * MINUTE;

fn number(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match env::var(name) {
        Err(_) => Ok(default),
        Ok(raw) => match raw.parse::<u64>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(ConfigError::Invalid {
                name,
                why: format!("'{raw}' is not a positive whole number"),
            }),
        },
    }
}

/// `XECURE_DPOP_NONCE`: `required` or `off` (the default).
pub fn dpop_nonce_required() -> Result<bool, ConfigError> {
    match env::var("XECURE_DPOP_NONCE").as_deref() {
        Err(_) | Ok("off") => Ok(false),
        Ok("required") => Ok(true),
        Ok(other) => Err(ConfigError::Invalid {
            name: "XECURE_DPOP_NONCE",
            why: format!("'{other}' is neither required nor off"),
        }),
    }
}

impl OAuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let issuer =
            env::var("XECURE_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
        let issuer = issuer.trim_end_matches('/').to_owned();
        let issuer_url = url::Url::parse(&issuer).map_err(|e| ConfigError::Invalid {
            name: "XECURE_ISSUER",
            why: e.to_string(),
        })?;
        let audience = env::var("XECURE_AUDIENCE").unwrap_or_else(|_| format!("{issuer}/api"));
        let signing_algorithm = match env::var("XECURE_SIGNING_ALG") {
            Err(_) => SigningAlgorithm::EdDsa,
            Ok(raw) => SigningAlgorithm::parse(&raw).map_err(|e| ConfigError::Invalid {
                name: "XECURE_SIGNING_ALG",
                why: e.to_string(),
            })?,
        };
        Ok(OAuthConfig {
            issuer,
            audience,
            access_token_ttl: Duration::from_secs(
                number("XECURE_ACCESS_TOKEN_MINUTES", 10)? * MINUTE,
            ),
            refresh_token_ttl: Duration::from_secs(number("XECURE_REFRESH_TOKEN_DAYS", 30)? * DAY),
            refresh_family_ttl: Duration::from_secs(
                number("XECURE_REFRESH_FAMILY_DAYS", 90)? * DAY,
            ),
            code_ttl: Duration::from_secs(number("XECURE_CODE_SECONDS", 60)?),
            signing_algorithm,
            audit_retention: Duration::from_secs(number("XECURE_AUDIT_RETENTION_DAYS", 400)? * DAY),
            registration_token_ttl: Duration::from_secs(
                number("XECURE_REGISTRATION_TOKEN_DAYS", 90)? * DAY,
            ),
            dpop_nonce_required: dpop_nonce_required()?,
            jwks_uri_hosts: jwks_uri_hosts(&issuer_url)?,
        })
    }

    /// Defaults for tests and local runs at a given issuer.
    pub fn for_issuer(issuer: &str) -> Self {
        OAuthConfig {
            issuer: issuer.to_owned(),
            audience: format!("{issuer}/api"),
            access_token_ttl: Duration::from_secs(10 * MINUTE),
            refresh_token_ttl: Duration::from_secs(30 * DAY),
            refresh_family_ttl: Duration::from_secs(90 * DAY),
            code_ttl: Duration::from_secs(60),
            signing_algorithm: SigningAlgorithm::EdDsa,
            audit_retention: Duration::from_secs(400 * DAY),
            registration_token_ttl: Duration::from_secs(90 * DAY),
            dpop_nonce_required: false,
            jwks_uri_hosts: RemoteHosts::PublicOnly,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// Settings of the login and consent pages, read by the authorize and consent functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionConfig {
    /// Failed logins within `XECURE_LOGIN_WINDOW_MINUTES` (default 15) before a lockout:
    /// `XECURE_LOGIN_MAX_FAILURES` (default 5) per account from one source address,
    /// `XECURE_LOGIN_ACCOUNT_MAX_FAILURES` (default 20) per account from all sources,
    /// `XECURE_LOGIN_SOURCE_MAX_FAILURES` (default 100) per source address on all accounts
    /// (the per-source policy is explained in `domain::throttle`); then locked out for
    /// `XECURE_LOGIN_LOCKOUT_MINUTES` (default 15), doubling with each further lockout.
    /// `XECURE_LOGIN_HASH_QUEUE` (default 16): password checks that may wait for a hashing
    /// thread (one per core) before a login answers 503 with Retry-After.
    pub login: LoginPolicy,
    /// `XECURE_SESSION_HOURS` (default 8): how long a login lasts.
    pub session_ttl: Duration,
    /// `XECURE_AUTHORIZATION_REQUEST_MINUTES` (default 10): how long a user has to log in
    /// and decide.
    pub pending_ttl: Duration,
}

impl InteractionConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = LoginPolicy::default();
        let login = LoginPolicy {
            max_account_failures: count(
                "XECURE_LOGIN_MAX_FAILURES",
                defaults.max_account_failures,
            )?,
            max_account_total_failures: count(
                "XECURE_LOGIN_ACCOUNT_MAX_FAILURES",
                defaults.max_account_total_failures,
            )?,
            max_source_failures: count(
                "XECURE_LOGIN_SOURCE_MAX_FAILURES",
                defaults.max_source_failures,
            )?,
            hash_queue: usize::try_from(number(
                "XECURE_LOGIN_HASH_QUEUE",
                defaults.hash_queue as u64,
            )?)
            .unwrap_or(defaults.hash_queue),
            window: Duration::from_secs(number("XECURE_LOGIN_WINDOW_MINUTES", 15)? * MINUTE),
            lockout: Duration::from_secs(number("XECURE_LOGIN_LOCKOUT_MINUTES", 15)? * MINUTE),
            ..defaults
        };
        Ok(InteractionConfig {
            login,
            session_ttl: Duration::from_secs(number("XECURE_SESSION_HOURS", 8)? * 60 * MINUTE),
            pending_ttl: Duration::from_secs(
                number("XECURE_AUTHORIZATION_REQUEST_MINUTES", 10)? * MINUTE,
            ),
        })
    }
}

impl Default for InteractionConfig {
    fn default() -> Self {
        InteractionConfig {
            login: LoginPolicy::default(),
            session_ttl: Duration::from_secs(8 * 60 * MINUTE),
            pending_ttl: Duration::from_secs(10 * MINUTE),
        }
    }
}

fn count(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    let value = number(name, u64::from(default))?;
    u32::try_from(value).map_err(|_| ConfigError::Invalid {
        name,
        why: format!("{value} is too large"),
    })
}

/// Rate limits at the edges of the token function (security rule 19), answered with 429
/// and Retry-After. Per container in Lambda (see `crate::ratelimit`): API Gateway's stage
/// or usage-plan throttling is the shared limit in front of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `XECURE_CLIENT_RATE_PER_MINUTE` (default 600) and `XECURE_CLIENT_BURST` (default 60):
    /// requests to `/token`, `/revoke` and `/introspect` per client (a public client's per
    /// client and source address, since anyone can name it).
    pub client: Rate,
    /// `XECURE_REGISTRATION_RATE_PER_MINUTE` (default 10) and `XECURE_REGISTRATION_BURST`
    /// (default 10): `POST /register` per initial access token.
    pub registration: Rate,
    /// `XECURE_AUTH_FAILURE_RATE_PER_MINUTE` (default 30) and `XECURE_AUTH_FAILURE_BURST`
    /// (default 30): failed client or registration-token authentications per source
    /// address; past it that address gets 429 on those endpoints.
    pub auth_failures: Rate,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            client: Rate {
                per_minute: 600,
                burst: 60,
            },
            registration: Rate {
                per_minute: 10,
                burst: 10,
            },
            auth_failures: Rate {
                per_minute: 30,
                burst: 30,
            },
        }
    }
}

impl RateLimitConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = RateLimitConfig::default();
        let rate = |per_minute: &'static str, burst: &'static str, default: Rate| {
            Ok::<_, ConfigError>(Rate {
                per_minute: count(per_minute, default.per_minute)?,
                burst: count(burst, default.burst)?,
            })
        };
        Ok(RateLimitConfig {
            client: rate(
                "XECURE_CLIENT_RATE_PER_MINUTE",
                "XECURE_CLIENT_BURST",
                defaults.client,
            )?,
            registration: rate(
                "XECURE_REGISTRATION_RATE_PER_MINUTE",
                "XECURE_REGISTRATION_BURST",
                defaults.registration,
            )?,
            auth_failures: rate(
                "XECURE_AUTH_FAILURE_RATE_PER_MINUTE",
                "XECURE_AUTH_FAILURE_BURST",
                defaults.auth_failures,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_key_hosts_only_for_a_local_run_and_never_in_lambda() {
        let local = url::Url::parse("http://127.0.0.1:3000").unwrap();
        let aws = url::Url::parse("https://auth.example.com").unwrap();
        assert_eq!(
            remote_hosts(None, false, &local).unwrap(),
            RemoteHosts::LoopbackToo
        );
        assert_eq!(
            remote_hosts(None, false, &aws).unwrap(),
            RemoteHosts::PublicOnly
        );
        // The issuer's default (http://127.0.0.1:3000) in Lambda does not open loopback.
        assert_eq!(
            remote_hosts(None, true, &local).unwrap(),
            RemoteHosts::PublicOnly
        );
        assert!(remote_hosts(Some("allowed"), true, &aws).is_err());
        assert_eq!(
            remote_hosts(Some("allowed"), false, &aws).unwrap(),
            RemoteHosts::LoopbackToo
        );
        assert_eq!(
            remote_hosts(Some("refused"), false, &local).unwrap(),
            RemoteHosts::PublicOnly
        );
        assert!(remote_hosts(Some("yes"), false, &local).is_err());
    }
}
