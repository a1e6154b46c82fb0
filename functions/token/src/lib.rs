//! The `token` function: `POST /token`, `/revoke`, `/introspect`, the RFC 8414 metadata and
//! the JWKS. A library so the local gateway serves the very same handler.

pub mod cors;
pub mod handler;
pub mod limits;
