//! The API Gateway Lambda authorizer: REST API TOKEN and REQUEST events, HTTP API payload 2.0
//! with simple or IAM policy responses.

pub mod events;
pub mod handler;
