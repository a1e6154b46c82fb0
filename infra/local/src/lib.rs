//! The local API Gateway (issue #18: its own crate beside the operator CLI): the OAuth
//! endpoints run the same handler functions the Lambdas run (HTTP converted to lambda_http
//! requests in process); the demo API behind them is guarded by the authorizer, invoked the
//! way API Gateway invokes it (`api_gateway.rs`). `xecure serve` runs it; anything else that
//! needs the whole system on one port (tests, measurements) can too.

pub mod access_log;
pub mod api_gateway;
pub mod demo_api;
pub mod demo_app;
pub mod health;
pub mod http;
#[cfg(test)]
mod http_tests;
pub mod limits;
pub mod message;
pub mod per_app_limits;
mod stall;
