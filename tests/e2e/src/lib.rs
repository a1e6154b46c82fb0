//! A test browser in front of the authorize, consent and token handlers, all on one store:
//! it keeps the session cookie, follows 303s by hand, and reads forms out of the HTML the
//! way a user agent would.

pub mod api_gateway;
pub mod authorizer_container;
pub mod both_stores;
pub mod browser;
pub mod client_assertion;
pub mod connect;
pub mod registration;
pub mod system;

pub use browser::{Browser, Page};
pub use connect::{
    approved, approved_from, connect_app, connection, redeem, text, token_request, Connection,
};
pub use system::{System, ISSUER, PASSWORD, USERNAME, WEB, WEB_REDIRECT, WEB_SECRET};
