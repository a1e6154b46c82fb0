//! API usage per app on the protected API: the access-log record API Gateway (and the local
//! gateway) writes for every call, the usage plans that limit each app, and the per-app
//! summary `xecure usage` prints.

pub mod access_log;
pub mod plans;
pub mod summary;
