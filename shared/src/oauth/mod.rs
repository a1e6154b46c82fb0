//! The OAuth protocol, free of I/O: it talks to the world only through `crate::ports`.

pub mod error;
pub mod pkce;

pub use error::{ErrorCode, OAuthError};
