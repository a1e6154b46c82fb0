//! Settings read once per cold start from the environment.

use std::env;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
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
