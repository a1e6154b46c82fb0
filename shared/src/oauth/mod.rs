//! The OAuth protocol, free of I/O: it talks to the world only through `crate::ports`.

pub mod access_revocation;
pub mod account_control;
pub mod authorization_code;
pub mod authorize;
pub mod bearer;
pub mod client_assertion;
pub mod client_auth;
pub mod client_change;
pub mod client_keys;
pub mod dependencies;
pub mod error;
pub mod interaction;
pub mod login;
pub mod metadata;
pub mod openid;
pub mod params;
pub mod pkce;
pub mod registration;
pub mod revocation_check;
pub mod token;

pub use dependencies::Dependencies;
pub use error::{ErrorCode, OAuthError};
pub use params::Params;
