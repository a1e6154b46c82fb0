//! Usage plans (`infra/usage-plans.toml`): the per-app rate, burst and quota API Gateway
//! enforces on a REST API, and the key that names an app to a plan.
//!
//! With `ApiKeySourceType: AUTHORIZER` API Gateway takes the API key of a call from the
//! authorizer's `usageIdentifierKey` and never from the caller ("API Gateway: Choose an API
//! key source"), so the key is not a secret the app holds: it is derived from the API, the
//! stage and the client id, by the authorizer on each call and by `xecure usage-plan assign`
//! when it creates the app's key.

use crate::config::ConfigError;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `infra/usage-plans.toml` as of this build.
pub const BUILT_IN: &str = include_str!("../../../infra/usage-plans.toml");

/// The file the local gateway and the CLI read instead of the built-in plans.
pub const FILE_VARIABLE: &str = "XECURE_USAGE_PLANS_FILE";

/// API Gateway's quota periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum QuotaPeriod {
    #[serde(rename = "DAY")]
    Day,
    #[serde(rename = "WEEK")]
    Week,
    #[serde(rename = "MONTH")]
    Month,
}

impl QuotaPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlan {
    /// `[a-z0-9-]`, at most 32 characters: part of the plan's name, `xecure-<stage>-<name>`.
    pub name: String,
    pub description: String,
    /// Steady requests per second.
    pub rate_limit: f64,
    /// Requests allowed at once above the steady rate.
    pub burst_limit: u32,
    /// Requests per `quota_period`.
    pub quota_limit: u64,
    pub quota_period: QuotaPeriod,
}

impl UsagePlan {
    /// The plan's name in API Gateway for a stage.
    pub fn name_in(&self, stage: &str) -> String {
        format!("xecure-{stage}-{}", self.name)
    }

    /// The template's logical id: `UsagePlan` and the name in PascalCase.
    pub fn logical_id(&self) -> String {
        let pascal: String = self
            .name
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        format!("UsagePlan{pascal}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsagePlans {
    plans: Vec<UsagePlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlansFile {
    plan: Vec<UsagePlan>,
}

fn invalid(why: String) -> ConfigError {
    ConfigError::Invalid {
        name: FILE_VARIABLE,
        why,
    }
}

impl UsagePlans {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: PlansFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut plans: Vec<UsagePlan> = Vec::with_capacity(file.plan.len());
        for plan in file.plan {
            let name_ok = !plan.name.is_empty()
                && plan.name.len() <= 32
                && plan
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !plan.name.starts_with('-')
                && !plan.name.ends_with('-');
            if !name_ok {
                return Err(invalid(format!(
                    "plan name '{}' must be 1-32 of a-z, 0-9 and inner -",
                    plan.name
                )));
            }
            // A zero rate, burst or quota would refuse every call of the plan's apps.
            if !(plan.rate_limit > 0.0 && plan.rate_limit.is_finite()) || plan.burst_limit == 0 {
                return Err(invalid(format!(
                    "plan '{}' needs rate_limit > 0 and burst_limit >= 1",
                    plan.name
                )));
            }
            if plan.quota_limit == 0 {
                return Err(invalid(format!(
                    "plan '{}' needs quota_limit >= 1",
                    plan.name
                )));
            }
            if plans.iter().any(|other| other.name == plan.name) {
                return Err(invalid(format!("plan '{}' is listed twice", plan.name)));
            }
            plans.push(plan);
        }
        if plans.is_empty() {
            return Err(invalid("at least one [[plan]] is needed".into()));
        }
        Ok(UsagePlans { plans })
    }

    pub fn built_in() -> Result<Self, ConfigError> {
        Self::parse(BUILT_IN)
    }

    /// `XECURE_USAGE_PLANS_FILE` if set, else the built-in plans.
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var(FILE_VARIABLE) {
            Err(_) => Self::built_in(),
            Ok(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
                Self::parse(&text)
            }
        }
    }

    pub fn plans(&self) -> &[UsagePlan] {
        &self.plans
    }

    pub fn find(&self, name: &str) -> Option<&UsagePlan> {
        self.plans.iter().find(|plan| plan.name == name)
    }
}

/// The API key value that stands for `client_id` on one API stage: what the authorizer returns
/// as `usageIdentifierKey` and what `xecure usage-plan assign` stores as the app's API key.
/// API Gateway wants 20 to 128 characters, unique in the account and region: the API id and
/// stage keep two stacks' keys for the same client apart.
pub fn usage_identifier_key(api_id: &str, stage: &str, client_id: &str) -> String {
    // SHA-256 of `<api_id>/<stage>#<client_id>`, hashed in pieces: the authorizer writes
    // this into every REST answer (issue #21 goal 1).
    let digest = Sha256::new()
        .chain_update(api_id)
        .chain_update("/")
        .chain_update(stage)
        .chain_update("#")
        .chain_update(client_id)
        .finalize();
    crate::lower_hex::prefixed_lower_hex("xecure-app-", &digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_plans_parse() {
        let plans = UsagePlans::built_in().unwrap();
        let standard = plans.find("standard").unwrap();
        assert_eq!(standard.name_in("dev"), "xecure-dev-standard");
        assert_eq!(standard.logical_id(), "UsagePlanStandard");
        assert_eq!(standard.quota_period, QuotaPeriod::Day);
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let plan = |body: &str| format!("[[plan]]\n{body}\n");
        let good = "name = \"gold-tier\"\ndescription = \"x\"\nrate_limit = 1.5\nburst_limit = 2\nquota_limit = 10\nquota_period = \"WEEK\"";
        let parsed = UsagePlans::parse(&plan(good)).unwrap();
        assert_eq!(parsed.plans()[0].logical_id(), "UsagePlanGoldTier");
        for (broken, why) in [
            (good.replace("gold-tier", "Gold"), "plan name"),
            (good.replace("gold-tier", "-gold"), "plan name"),
            (
                good.replace("rate_limit = 1.5", "rate_limit = 0.0"),
                "rate_limit",
            ),
            (
                good.replace("burst_limit = 2", "burst_limit = 0"),
                "burst_limit",
            ),
            (
                good.replace("quota_limit = 10", "quota_limit = 0"),
                "quota_limit",
            ),
            (good.replace("WEEK", "YEAR"), "unknown variant"),
            (format!("{good}\nextra = 1"), "unknown field"),
        ] {
            let error = UsagePlans::parse(&plan(&broken)).unwrap_err().to_string();
            assert!(error.contains(why), "{broken}: {error}");
        }
        let twice = format!("{}{}", plan(good), plan(good));
        assert!(UsagePlans::parse(&twice)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(UsagePlans::parse("plan = []").is_err());
    }

    #[test]
    fn usage_keys_fit_api_gateway_and_separate_apis_stages_and_clients() {
        let key = usage_identifier_key("abc123", "prod", "web-app");
        assert!((20..=128).contains(&key.len()), "{key}");
        // Keys already stored by `xecure usage-plan assign` stay valid: the derivation is fixed
        // (SHA-256 of "abc123/prod#web-app", lowercase hex).
        assert_eq!(
            key,
            "xecure-app-64cd6741801904329b810e428e6e92a8e6351e429b3d4aad6992e55744e5bf37"
        );
        assert_eq!(key, usage_identifier_key("abc123", "prod", "web-app"));
        assert_ne!(key, usage_identifier_key("abc123", "dev", "web-app"));
        assert_ne!(key, usage_identifier_key("xyz789", "prod", "web-app"));
        assert_ne!(key, usage_identifier_key("abc123", "prod", "web-apq"));
    }
}
