//! ONE contract suite for every store (design rule 3): each function states a property of the
//! store ports, and `contract_suite!` runs them all against a given store. The embedded store
//! runs it in `embedded::tests`, the DynamoDB store against a real DynamoDB API (moto) in
//! `dynamo::tests`. One file per port the properties exercise; `controls` holds the
//! properties that cut across ports (security rules 16 and 17); `fixtures` what they all build
//! on.

mod audit;
mod clients;
mod codes;
mod controls;
pub(crate) mod fixtures;
mod grants;
mod initial_access;
mod keys;
mod pending;
mod refresh;
mod revocations;
mod sessions;
mod throttle;
mod users;

pub use audit::*;
pub use clients::*;
pub use codes::*;
pub use controls::*;
pub use grants::*;
pub use initial_access::*;
pub use keys::*;
pub use pending::*;
pub use refresh::*;
pub use revocations::*;
pub use sessions::*;
pub use throttle::*;
pub use users::*;

// The fixtures keep their paths (`crate::store::contract::{at, code, ..}`) for the store tests
// that reuse them.
pub(crate) use fixtures::*;

/// Fixtures other store tests reuse.
pub(crate) use fixtures as tests_support;

/// Generates one `#[tokio::test]` per contract function, each on a fresh store from `$make`.
macro_rules! contract_suite {
    ($make:expr) => {
        $crate::store::contract::contract_suite!(@tests $make;
            // clients.rs
            clients_round_trip,
            // users.rs
            users_are_unique_by_username,
            users_are_listed_by_username,
            // sessions.rs
            sessions_expire,
            a_users_sessions_are_listed_newest_first_until_deleted,
            // pending.rs
            pending_authorizations_are_taken_once,
            concurrent_takes_have_one_winner,
            // throttle.rs
            login_attempts_lock_once_the_limit_is_reached,
            a_refused_attempt_counts_on_no_key,
            settled_attempts_are_given_back,
            parallel_attempts_never_pass_the_limit,
            login_counters_are_read_and_forgotten,
            // codes.rs
            code_is_redeemed_exactly_once,
            concurrent_code_redemption_has_one_winner,
            revoked_grant_blocks_redemption_and_leaves_the_code_unspent,
            expired_codes_are_hidden,
            // refresh.rs
            refresh_rotation_detects_reuse,
            concurrent_rotation_reports_reuse,
            revoked_grant_stops_rotation,
            expired_refresh_tokens_are_hidden,
            // grants.rs
            grants_are_listed_and_revoked,
            grants_are_listed_by_client,
            using_a_grant_records_when,
            // revocations.rs
            revocations_are_listed_since_a_time,
            rule_19_revoking_an_access_token_twice_writes_nothing_new,
            // initial_access.rs
            initial_access_tokens_expire,
            // keys.rs
            signing_keys_round_trip,
            // audit.rs
            audit_records_of_one_operation_are_stored_together,
            audit_pages_newest_first,
            bad_requests_are_typed_errors,
            every_audit_record_of_a_range_is_found_across_days,
            // controls.rs
            user_cuts_void_credentials_from_earlier_sign_ins,
            grant_writes_apply_only_over_the_version_read,
            a_narrower_consent_ends_earlier_codes_and_families,
            client_changes_end_earlier_codes_and_families,
            client_updates_apply_only_over_the_version_read,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = $make.await;
                $crate::store::contract::$name(std::sync::Arc::new(store)).await;
            }
        )*
    };
}
pub(crate) use contract_suite;
