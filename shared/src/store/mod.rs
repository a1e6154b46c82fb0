//! The two implementations of the store ports, and the rules they share.

mod audit_page;
pub mod client_cache;
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod keys;
mod rules;

#[cfg(test)]
mod contract;
