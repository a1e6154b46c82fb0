//! The traits the protocol talks through. Nothing here names AWS: the DynamoDB store, the
//! embedded store and test doubles all sit behind these (design rules 2 and 10).
//!
//! Every read takes `now` and never returns an item whose expiry has passed: DynamoDB's TTL
//! deletes lazily, up to two days late, so expiry is checked on read, not left to the store.

use crate::domain::{
    AuditEvent, AuditPage, AuditQuery, AuthorizationCode, Client, ClientId, FamilyId, Grant,
    InitialAccessToken, LoginPolicy, LoginSession, LoginThrottle, PendingAuthorization,
    PushedRequest, RefreshFamily, RefreshToken, Reservation, Revocation, RevocationStamp,
    SigningKey, ThrottleKey, Timestamp, TokenDigest, User, UserId, Username,
};
use async_trait::async_trait;
use thiserror::Error;

// Time and randomness are the domain's own sources (so the domain needs nothing from the
// ports); re-exported here where callers have always found them.
pub use crate::domain::sources::{Clock, OsRng, Rng, SystemClock};

/// Store failures, typed so callers can tell a conflict from an outage.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend could not be reached or refused the call; the operation did not happen.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The caller asked for something the store cannot do (a bad page size or cursor).
    #[error("invalid store request: {0}")]
    InvalidRequest(String),
    /// A stored item could not be decoded.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The item changed since the caller read it (an optimistic-concurrency check failed):
    /// nothing was written. Read again and decide again.
    #[error("changed concurrently: {0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What redeeming an authorization code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First redemption: the code is now spent, and the refresh family (if any) stored.
    Redeemed(AuthorizationCode),
    /// Already redeemed: a replay. The record says what the first redemption produced.
    Replayed(AuthorizationCode),
    /// The grant behind the code was revoked, or the user's account no longer accepts the
    /// sign-in the code rests on (disabled, removed, credentials cut); the code is unspent.
    Revoked,
    /// Unknown or expired.
    NotFound,
}

/// A refresh family and its first token, stored with a code redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshFamily {
    pub family: RefreshFamily,
    pub token: RefreshToken,
}

/// What rotating a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token is now rotated and `next` stored in its place.
    Rotated,
    /// The presented token had already been rotated: reuse. Its family is now revoked.
    ReuseDetected { family_id: FamilyId },
    /// The family or its grant was revoked, or the user's account no longer accepts the
    /// sign-in the family rests on.
    Revoked,
    /// Unknown or expired.
    NotFound,
}

/// Reading clients: every function does.
#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
}

/// Writing clients: the operator, and the token function for dynamic registration
/// (RFC 7591/7592); no other function's role may write CLIENT# (security rule 22).
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    /// Creates a client; `AlreadyExists` if the id is taken. A change to an existing one is
    /// `update_client`.
    async fn put_client(&self, client: &Client) -> StoreResult<()>;
    /// Replaces the client if it is still at `client.version - 1`; false, and nothing
    /// written, if it changed or is gone (security rule 17: a disable, an update and a delete
    /// cannot undo one another).
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    /// True if the client existed.
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool>;
}

/// Accounts, by id, and the usernames that find them.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user_by_username(&self, username: &Username) -> StoreResult<Option<User>>;
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// Every account, by username (`xecure user list`).
    async fn list_users(&self) -> StoreResult<Vec<User>>;
}

/// Writing accounts and usernames: the operator's CLI and the `/account` page of `xecure
/// serve`; no Lambda role may write ACCOUNT# or USERNAME# (security rule 22).
#[async_trait]
pub trait AccountAdmin: Send + Sync {
    /// Fails with `AlreadyExists` if the username is taken.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Replaces the account if it is still at `user.version - 1` (`Conflict` if it moved,
    /// `NotFound` if it is gone), and puts `revocation` in the same atomic write: a control
    /// that cuts the user's credentials stops them everywhere at once (security rule 17).
    async fn update_user(&self, user: &User, revocation: Option<&Revocation>) -> StoreResult<()>;
    /// Deletes the account (if still at `user.version`, else `Conflict`) and its username,
    /// and puts `revocation`, in one atomic write; false if the account was already gone.
    async fn delete_user(&self, user: &User, revocation: &Revocation) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn put_session(&self, session: &LoginSession) -> StoreResult<()>;
    async fn get_session(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<LoginSession>>;
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()>;
    /// The user's unexpired sessions, newest first, at most `limit` (the account page lists
    /// them; a session the account no longer accepts is the caller's to leave out).
    async fn list_user_sessions(
        &self,
        user: &UserId,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<LoginSession>>;
}

/// Validated authorization requests between authorize, login and consent.
#[async_trait]
pub trait PendingAuthorizationStore: Send + Sync {
    /// Fails with `AlreadyExists` on a digest collision.
    async fn put_pending_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()>;
    /// None if unknown, taken or expired.
    async fn get_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>>;
    /// Deletes and returns it, exactly once: of two concurrent takers one gets None.
    async fn take_pending_authorization(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<PendingAuthorization>>;
}

/// What reserving a login attempt on all its keys found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAdmission {
    /// Counted on every key: the password may be checked.
    Granted(Vec<Reservation>),
    /// Refused by `key` until `until`; nothing was counted on any key.
    Refused { key: ThrottleKey, until: Timestamp },
}

/// How a granted attempt ended, other than by a failed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptSettled {
    /// The password was right: the account's failures from this source are forgotten, and
    /// the attempt is given back on the account and source counters.
    LoggedIn,
    /// The password was never checked (the hashing queue was full): given back everywhere.
    NotChecked,
}

/// Login attempt counters (security rules 13 and 17). An attempt is reserved before its
/// password is checked, so a burst of parallel attempts checks at most the limit; see
/// `domain::throttle` for the rules both stores apply atomically.
#[async_trait]
pub trait LoginThrottleStore: Send + Sync {
    /// Reserves one attempt on every key (`LoginThrottle::reserve`), all or none: if one key
    /// refuses, no key keeps a count for this attempt.
    async fn reserve_login_attempt(
        &self,
        keys: &[ThrottleKey],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<LoginAdmission>;
    /// The reserved attempt failed its check: starts a lockout on each key whose window is
    /// still the reserved one and has reached its limit (`LoginThrottle::lock_after_failure`,
    /// once per window), and returns the lockouts started.
    async fn login_attempt_failed(
        &self,
        reserved: &[Reservation],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<Vec<(ThrottleKey, Timestamp)>>;
    /// The reserved attempt ended without a failure.
    async fn settle_login_attempt(
        &self,
        reserved: &[Reservation],
        settled: AttemptSettled,
    ) -> StoreResult<()>;
    /// The live counters of these keys (an operator's `xecure user show`).
    async fn login_throttles(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
    ) -> StoreResult<Vec<LoginThrottle>>;
    /// Forgets these keys' attempts and lockouts (an operator's `xecure user unlock`); how
    /// many counters there were.
    async fn forget_login_attempts(&self, keys: &[ThrottleKey]) -> StoreResult<usize>;
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Fails with `AlreadyExists` on a digest collision.
    async fn put_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// The code, redeemed or not; None if unknown or expired.
    async fn get_code(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<AuthorizationCode>>;
    /// Spends `code` (as read by `get_code` and checked by the caller, who may have narrowed
    /// its scope to what the client may still have) exactly once, atomically with storing the
    /// refresh family it starts, and only while its grant is active and not narrowed since,
    /// the user's account accepts the code's sign-in, and the client is enabled at the
    /// code's revision (security rule 16). Under concurrency exactly one caller gets
    /// `Redeemed`. The same write sets the grant's `last_used_at` to `now` (the
    /// connected-apps page shows it; no extra call).
    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        now: Timestamp,
        refresh: Option<&NewRefreshFamily>,
    ) -> StoreResult<CodeRedemption>;
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new family with its first token.
    async fn put_refresh_family(&self, new: &NewRefreshFamily) -> StoreResult<()>;
    /// The token, rotated or not; None if unknown or expired.
    async fn get_refresh(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshToken>>;
    /// The family, revoked or not; None if unknown or expired.
    async fn get_refresh_family(
        &self,
        id: &FamilyId,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshFamily>>;
    /// Atomically marks `presented` rotated and stores `next`, if the token is live and
    /// unrotated, its family and grant are active (the grant not narrowed since the family
    /// began), the user's account accepts the family's sign-in and the client is enabled at
    /// the family's revision, setting the grant's `last_used_at` to `stamp.at` in the same
    /// write. Rotating an already rotated token revokes the family and reports reuse.
    /// `stamp.at` is the current time; on reuse it dates the family's revocation entry.
    async fn rotate_refresh(
        &self,
        presented: &TokenDigest,
        next: &RefreshToken,
        stamp: &RevocationStamp,
    ) -> StoreResult<Rotation>;
    /// Revokes the family and records the revocation; true if it was active.
    async fn revoke_family(
        &self,
        family_id: &FamilyId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Writes the grant of (user, client) if the stored one is still at `grant.version - 1`
    /// (version 1: there is none yet), with `narrowing` (the entry that stops the tokens of
    /// scopes the user took back) in the same atomic write. False, and nothing written, if
    /// the stored grant changed since it was read: an approval never overwrites a revocation
    /// or a concurrent approval it did not see (security rule 17).
    async fn save_grant(&self, grant: &Grant, narrowing: Option<&Revocation>) -> StoreResult<bool>;
    async fn get_grant(&self, user: &UserId, client: &ClientId) -> StoreResult<Option<Grant>>;
    async fn list_grants(&self, user: &UserId) -> StoreResult<Vec<Grant>>;
    /// Every grant (active or revoked) any user gave this client: what disabling or removing
    /// the client must revoke.
    async fn list_client_grants(&self, client: &ClientId) -> StoreResult<Vec<Grant>>;
    /// Marks the grant revoked (a new version) and records the revocation in one atomic
    /// write; true if it was active.
    async fn revoke_grant(
        &self,
        user: &UserId,
        client: &ClientId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Unexpired entries with `at >= since`, oldest first.
    async fn list_revocations_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Revocation>>;
}

/// Recording revocation entries of their own (RFC 7009 revocation, client controls); the
/// state changes that carry an entry in their own write (grants, accounts, families) take
/// it as an argument instead.
#[async_trait]
pub trait RevocationWriter: Send + Sync {
    /// Puts the entry; true if it was new. Revoking an access token (`AccessToken` target)
    /// that is already revoked writes nothing and answers false (security rule 19: a
    /// repeated revocation costs no storage); every other kind of entry is written by the
    /// state change it records, which is itself idempotent.
    async fn put_revocation(&self, revocation: &Revocation) -> StoreResult<bool>;
}

/// Pushed authorization requests (RFC 9126): the token function puts them, `/authorize`
/// takes each once.
#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    /// Fails with `AlreadyExists` on a digest collision.
    async fn put_pushed_request(&self, request: &PushedRequest) -> StoreResult<()>;
    /// Deletes and returns the request if it is there, unexpired and `client`'s: of two
    /// callers, one gets it (RFC 9126 section 4: a `request_uri` is used once). Another
    /// client's attempt deletes nothing, so knowing a handle does not let anyone spend it.
    async fn take_pushed_request(
        &self,
        digest: &TokenDigest,
        client: &ClientId,
        now: Timestamp,
    ) -> StoreResult<Option<PushedRequest>>;
}

/// One-time use of DPoP proofs (RFC 9449 section 11.1: "the server MUST ensure that the
/// same DPoP proof is not used more than once"), across every container and function.
#[async_trait]
pub trait ProofReplayStore: Send + Sync {
    /// Records the proof `id` (a digest of its key thumbprint and `jti`) as used until
    /// `expires_at`; false if it was already used, nothing written then. One conditional
    /// write (security rule 17): of two requests racing with one proof, one gets true.
    async fn use_proof_once(
        &self,
        id: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// Initial access tokens for dynamic client registration (RFC 7591 section 3), by digest.
#[async_trait]
pub trait InitialAccessTokenStore: Send + Sync {
    /// Fails with `AlreadyExists` on a digest collision.
    async fn put_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()>;
    /// None if unknown or expired.
    async fn get_initial_access_token(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<InitialAccessToken>>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
}

/// Publishing signing keys: `xecure keys rotate` only; no function may write SIGNING_KEYS
/// (security rule 22), so code running in one cannot publish a key the authorizer trusts.
#[async_trait]
pub trait KeyPublisher: Send + Sync {
    async fn put_signing_key(&self, key: &SigningKey) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Several records of one operation: all or none, in one round trip where the store can.
    async fn append_audits(&self, events: &[AuditEvent]) -> StoreResult<()> {
        for event in events {
            self.append_audit(event).await?;
        }
        Ok(())
    }
    /// Newest first within `[from, to)`; unexpired records only.
    async fn query_audit(&self, query: &AuditQuery, now: Timestamp) -> StoreResult<AuditPage>;
}

mod capabilities;

pub use capabilities::{
    AccountPageStore, AuthorizerStore, InteractionStore, Store, TokenFunctionStore,
    ACCOUNT_PAGE_PORTS, ALL_PORTS, AUTHORIZER_PORTS, INTERACTION_PORTS, TOKEN_FUNCTION_PORTS,
};
