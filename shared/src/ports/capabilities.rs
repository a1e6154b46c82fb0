//! What each Lambda function's service may touch of the table, as its own trait (the
//! per-handler storage interfaces of ory/fosite). A service holding `Arc<dyn
//! TokenFunctionStore>` cannot call a port outside it: the compiler keeps the code within the
//! capability, and infra/cli/tests/store_capabilities.rs keeps each function's IAM role
//! within the partitions of the capability's ports (`*_PORTS` name them for that test).
//! The writes security rule 22 keeps from every function (signing keys, accounts and
//! usernames) are ports of their own (`KeyPublisher`, `AccountAdmin`) that no capability
//! holds, so no function's code can call them.

use super::{
    AccountAdmin, AuditStore, ClientRegistry, ClientStore, CodeStore, GrantStore,
    InitialAccessTokenStore, KeyPublisher, KeyStore, LoginThrottleStore, PendingAuthorizationStore,
    ProofReplayStore, PushedRequestStore, RefreshStore, RevocationStore, RevocationWriter,
    SessionStore, UserStore,
};

/// Declares a capability: a trait that is exactly the sum of its ports (implemented by every
/// store that has them all), and the list of their names.
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, $ports:ident = [$($port:ident),+ $(,)?]) => {
        capability!($(#[$doc])* $name: [Send], $ports = [$($port),+]);
    };
    // `$also`: capabilities the trait includes, so a handle to it converts to theirs.
    ($(#[$doc:meta])* $name:ident: [$($also:ident),+], $ports:ident = [$($port:ident),+ $(,)?]) => {
        $(#[$doc])*
        pub trait $name: $($also +)+ $($port +)+ Send + Sync {}

        impl<T: $($port +)+ ?Sized> $name for T {}

        #[doc = concat!("The ports of `", stringify!($name), "`, by trait name.")]
        pub const $ports: &[&str] = &[$(stringify!($port)),+];
    };
}

capability!(
    /// The authorize and consent functions (`AuthorizationFlow`, `LoginService`): sign-in
    /// with its attempt counters and sessions, the pending request between pages, consent
    /// (grants, narrowing entries) and codes, the connected-apps page. (The account page's
    /// password change and sign-out everywhere need `AccountAdmin` besides: only `xecure
    /// serve` gives the flow one.)
    InteractionStore,
    INTERACTION_PORTS = [
        ClientStore,
        UserStore,
        SessionStore,
        PendingAuthorizationStore,
        LoginThrottleStore,
        CodeStore,
        GrantStore,
        // The published keys, to check an `id_token_hint` at the end session endpoint.
        KeyStore,
        // `/authorize` takes a pushed request (RFC 9126).
        PushedRequestStore,
        AuditStore,
    ]
);

capability!(
    /// The token function (`TokenService`, `Registrar`): the grants of RFC 6749, revocation
    /// (RFC 7009), introspection (RFC 7662), registration (RFC 7591/7592) and the JWKS.
    TokenFunctionStore,
    TOKEN_FUNCTION_PORTS = [
        ClientStore,
        ClientRegistry,
        UserStore,
        CodeStore,
        RefreshStore,
        GrantStore,
        RevocationStore,
        RevocationWriter,
        InitialAccessTokenStore,
        KeyStore,
        // DPoP proofs presented at the token endpoint, used once (RFC 9449).
        ProofReplayStore,
        // `/par` puts pushed authorization requests (RFC 9126).
        PushedRequestStore,
        AuditStore,
    ]
);

capability!(
    /// The authorizer function (`Authorizer`): reads the published keys, polls the
    /// revocation list, and marks the DPoP proofs of API calls used (its only write).
    AuthorizerStore,
    AUTHORIZER_PORTS = [KeyStore, RevocationStore, ProofReplayStore]
);

capability!(
    /// The account page's password change and sign-out everywhere: reading and writing the
    /// user's account. Only `xecure serve` wires it; no Lambda role may write ACCOUNT# or
    /// USERNAME# (security rule 22), so the deployed consent function has none and answers
    /// those two actions with a refusal.
    AccountPageStore,
    ACCOUNT_PAGE_PORTS = [UserStore, AccountAdmin]
);

capability!(
    /// Everything on the table: the operator's CLI and `xecure serve` hold all of it; each
    /// function's service holds only its capability above, which its IAM role is checked
    /// against (infra/cli/tests/store_capabilities.rs).
    Store: [InteractionStore, TokenFunctionStore, AuthorizerStore, AccountPageStore],
    ALL_PORTS = [
        ClientStore,
        ClientRegistry,
        UserStore,
        AccountAdmin,
        SessionStore,
        PendingAuthorizationStore,
        LoginThrottleStore,
        CodeStore,
        RefreshStore,
        GrantStore,
        RevocationStore,
        RevocationWriter,
        InitialAccessTokenStore,
        KeyStore,
        KeyPublisher,
        ProofReplayStore,
        PushedRequestStore,
        AuditStore,
    ]
);
