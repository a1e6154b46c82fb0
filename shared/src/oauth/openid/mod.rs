//! OpenID Connect Core 1.0 on top of the code flow: the ID token's claims, the claims each
//! scope releases, discovery, and checking an `id_token_hint` at the end session endpoint
//! (RP-Initiated Logout 1.0). The token function issues ID tokens and answers UserInfo
//! (`oauth::token::id_token`, `oauth::token::userinfo`).

pub mod claims;
pub mod discovery;
pub mod hint;
pub mod id_token;

pub use id_token::{at_hash, IdTokenClaims, ID_TOKEN_TYP};
