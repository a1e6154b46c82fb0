//! Loading a route table: its entries (`routes.rs`), then the check that every scope set
//! gets an exact policy (`policy.rs`). Kept apart so the policy builder can depend on the
//! routes and not the other way round.

use super::policy::check_every_policy;
use super::routes::{invalid, RouteTable, BUILT_IN};
use crate::config::ConfigError;

impl RouteTable {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let table = Self::parse_entries(text)?;
        check_every_policy(&table).map_err(invalid)?;
        Ok(table)
    }

    pub fn built_in() -> Result<Self, ConfigError> {
        Self::parse(BUILT_IN)
    }

    /// `XECURE_ROUTES_FILE` if set, else the built-in table.
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("XECURE_ROUTES_FILE") {
            Err(_) => Self::built_in(),
            Ok(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
                Self::parse(&text)
            }
        }
    }
}
