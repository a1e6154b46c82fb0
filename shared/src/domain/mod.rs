//! Typed values parsed at the edge: once a value has one of these types it is known to be valid.

pub mod audit;
pub mod client;
pub mod code;
pub mod error;
pub mod grant;
pub mod ids;
pub mod initial_access_token;
pub mod pending;
pub mod profile;
pub mod pushed;
pub mod redirect_uri;
pub mod refresh;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod session;
pub mod signing_key;
pub mod sources;
pub mod throttle;
pub mod time;
pub mod user;

pub use audit::{
    AuditEvent, AuditEventKind, AuditOutcome, AuditPage, AuditQuery, AuditSubject, PageCursor,
};
pub use client::{
    AuthMethod, Client, ClientKind, ClientLinks, ClientRegistration, GrantType, OpenIdSettings,
};
pub use code::AuthorizationCode;
pub use error::DomainError;
pub use grant::Grant;
pub use ids::{ClientId, EventId, FamilyId, GrantId, KeyId, UserId};
pub use initial_access_token::InitialAccessToken;
pub use pending::{PendingAuthorization, Prompt};
pub use profile::UserProfile;
pub use pushed::{PushedRequest, REQUEST_URI_PREFIX};
pub use redirect_uri::RedirectUri;
pub use refresh::{RefreshFamily, RefreshToken};
pub use revocation::{Revocation, RevocationStamp, RevocationTarget};
pub use scope::Scope;
pub use secret::{ClientSecret, OpaqueToken, Password, SecretHash, TokenDigest};
pub use session::LoginSession;
pub use signing_key::{SealedPrivateKey, SigningKey};
pub use sources::{Clock, OsRng, Rng, SystemClock};
pub use throttle::{Admission, LoginPolicy, LoginThrottle, Reservation, ThrottleKey};
pub use time::Timestamp;
pub use user::{PasswordHash, User, Username};
