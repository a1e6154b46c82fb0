//! Xecure core: the domain types, the ports the protocol talks through, and the two store
//! implementations (DynamoDB for AWS, an embedded redb file for local runs and tests).

pub mod api_usage;
pub mod audit;
pub mod authorizer;
pub mod budget;
pub mod config;
pub mod domain;
pub mod dpop;
pub mod expiring_map;
pub mod hashing;
pub mod http;
pub mod jwt;
pub mod lower_hex;
pub mod oauth;
pub mod password_policy;
pub mod ports;
pub mod private_dir;
pub mod ratelimit;
pub mod scopes;
pub mod signing;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod web;
pub mod wiring;

pub use domain::error::DomainError;
pub use ports::{Clock, Rng, Store, StoreError};
