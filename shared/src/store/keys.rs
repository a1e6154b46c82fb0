//! Every key format of the one DynamoDB table, in one place (design rule 9). The README's
//! schema table documents these; the tests below pin them, because changing one orphans
//! every item already stored under the old format.

use crate::domain::{ClientId, EventId, FamilyId, KeyId, Timestamp, TokenDigest, UserId, Username};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Generic first index: clients and users listing, a user's sessions, audit-by-user.
pub const GSI1: &str = "GSI1";
pub const GSI1_PK: &str = "GSI1PK";
pub const GSI1_SK: &str = "GSI1SK";
/// Generic second index: audit-by-client and grants-by-client.
pub const GSI2: &str = "GSI2";
pub const GSI2_PK: &str = "GSI2PK";
pub const GSI2_SK: &str = "GSI2SK";
/// DynamoDB TTL attribute, epoch seconds. Deletion is lazy: reads still check expiry.
pub const TTL: &str = "ttl";

/// Partition and sort key of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> ItemKey {
    ItemKey { pk, sk: sk.into() }
}

pub fn client(id: &ClientId) -> ItemKey {
    key(format!("CLIENT#{id}"), "CLIENT")
}

/// GSI1 partition holding every client, sorted by id.
pub const CLIENT_LIST: &str = "CLIENTS";

/// The username's pointer to its account: it makes usernames unique and finds the account
/// at login.
pub fn user(username: &Username) -> ItemKey {
    key(format!("USERNAME#{username}"), "USER")
}

/// The account itself, by user id: what every credential check reads (codes, refresh tokens
/// and sessions carry the user id). Its own partition, apart from the grants in `USER#<id>`,
/// so a function that may write grants is not thereby allowed to write accounts.
pub fn account(user: &UserId) -> ItemKey {
    key(format!("ACCOUNT#{user}"), "ACCOUNT")
}

/// GSI1 partition holding every account, sorted by username (`xecure user list`).
pub const USER_LIST: &str = "USERS";

pub fn session(digest: &TokenDigest) -> ItemKey {
    key(format!("SESSION#{}", digest.as_str()), "SESSION")
}

/// GSI1 partition of one user's sessions (the account page lists them), sorted by
/// `<created millis>#<digest>`.
pub fn sessions_of(user: &UserId) -> String {
    format!("SESSIONS#{user}")
}

pub fn pending_authorization(digest: &TokenDigest) -> ItemKey {
    key(format!("PENDING#{}", digest.as_str()), "PENDING")
}

pub fn login_throttle(key_text: &str) -> ItemKey {
    key(format!("THROTTLE#{key_text}"), "THROTTLE")
}

pub fn code(digest: &TokenDigest) -> ItemKey {
    key(format!("CODE#{}", digest.as_str()), "CODE")
}

pub fn refresh_token(digest: &TokenDigest) -> ItemKey {
    key(format!("REFRESH#{}", digest.as_str()), "REFRESH")
}

pub fn refresh_family(id: &FamilyId) -> ItemKey {
    key(format!("FAMILY#{id}"), "FAMILY")
}

/// A user's grants share the user's partition: one Query lists them.
pub fn grants_of(user: &UserId) -> String {
    format!("USER#{user}")
}

pub const GRANT_PREFIX: &str = "GRANT#";

pub fn grant(user: &UserId, client: &ClientId) -> ItemKey {
    key(grants_of(user), format!("{GRANT_PREFIX}{client}"))
}

/// GSI2 partition of the grants users gave one client, sorted by user id.
pub fn grants_to(client: &ClientId) -> String {
    format!("GRANTS#CLIENT#{client}")
}

pub fn initial_access_token(digest: &TokenDigest) -> ItemKey {
    key(format!("IAT#{}", digest.as_str()), "IAT")
}

/// Revocation entries are spread over this many partitions, each sorted by time. One
/// DynamoDB partition takes at most 1,000 WCU per second and an entry written in a
/// transaction costs 2: 10,000 revocations a second are 20,000 WCU, 625 per partition here
/// (README, "Revocation at scale"). The authorizer's poll is one Query per partition, run
/// concurrently. Changing this number orphans the entries already written: it is fixed.
pub const REVOCATION_SHARDS: u8 = 32;

/// The partition of `shard` (0 to `REVOCATION_SHARDS - 1`).
pub fn revocations_in(shard: u8) -> String {
    format!("REVOCATIONS#{shard:02}")
}

/// Which partition an entry goes to: by the digest of its (random) id, so writes spread
/// evenly whatever they revoke, even many entries for one user.
pub fn revocation_shard(id: &EventId) -> u8 {
    let digest = TokenDigest::of(id.as_str());
    let first = u8::from_str_radix(&digest.as_str()[..2], 16).unwrap_or(0);
    first % REVOCATION_SHARDS
}

pub fn revocation(at: Timestamp, id: &EventId) -> ItemKey {
    key(revocations_in(revocation_shard(id)), time_sort_key(at, id))
}

/// Marks an access token (by the digest of its jti) as revoked, written with its entry: a
/// second revocation of the same token finds it and writes nothing (security rule 19).
pub fn revoked_access_token(jti: &str) -> ItemKey {
    key(
        format!("REVOKED#{}", TokenDigest::of(jti).as_str()),
        "REVOKED",
    )
}

/// A pushed authorization request (RFC 9126), by the digest of its `request_uri`.
pub fn pushed_request(digest: &TokenDigest) -> ItemKey {
    key(format!("PAR#{}", digest.as_str()), "PAR")
}

/// A used DPoP proof, by the digest of its key thumbprint and jti (RFC 9449 section 11.1),
/// kept until the proof could no longer be accepted.
pub fn used_proof(id: &TokenDigest) -> ItemKey {
    key(format!("DPOP#{}", id.as_str()), "DPOP")
}

pub const SIGNING_KEYS: &str = "SIGNING_KEYS";

pub fn signing_key(kid: &KeyId) -> ItemKey {
    key(SIGNING_KEYS.to_owned(), format!("KEY#{kid}"))
}

/// Audit records are spread over this many partitions per day: one partition takes at most
/// 1,000 WCU per second, so a day's records (one per login, consent, token...) can arrive at
/// 16,000 a second. Reading every record of a time range is one Query per day and shard.
/// Changing this number orphans the records already written: it is fixed.
pub const AUDIT_SHARDS: u8 = 16;

/// `AUDIT#<UTC day>#<shard>`: one partition of one day's records (`xecure audit` over all
/// events queries them for the days of its range).
pub fn audit_partition(day: &str, shard: u8) -> String {
    format!("AUDIT#{day}#{shard:02}")
}

/// An audit record: in its day's partitions by the digest of its (random) id, sorted by
/// time. The user and client indexes (GSI1, GSI2) find the records of one subject.
pub fn audit(at: Timestamp, id: &EventId) -> ItemKey {
    let digest = TokenDigest::of(id.as_str());
    let shard = u8::from_str_radix(&digest.as_str()[..2], 16).unwrap_or(0) % AUDIT_SHARDS;
    key(audit_partition(&at.utc_day(), shard), time_sort_key(at, id))
}

pub fn audit_by_user(user: &UserId) -> String {
    format!("AUDIT#USER#{user}")
}

pub fn audit_by_client(client: &ClientId) -> String {
    format!("AUDIT#CLIENT#{client}")
}

/// `<13-digit millis>#<id>`: sorts by time, ties broken by id.
pub fn time_sort_key(at: Timestamp, id: &EventId) -> String {
    format!("{}#{id}", at.sort_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_formats_are_pinned() {
        let client_id = ClientId::parse("demo-app").unwrap();
        let user_id = UserId::parse("usr_1").unwrap();
        let event = EventId::parse("evt_9").unwrap();
        let digest = TokenDigest::of("x");
        let d = digest.as_str();
        assert_eq!(client(&client_id), key("CLIENT#demo-app".into(), "CLIENT"));
        assert_eq!(
            user(&Username::parse("Alice").unwrap()),
            key("USERNAME#alice".into(), "USER")
        );
        assert_eq!(account(&user_id), key("ACCOUNT#usr_1".into(), "ACCOUNT"));
        assert_eq!(session(&digest), key(format!("SESSION#{d}"), "SESSION"));
        assert_eq!(code(&digest), key(format!("CODE#{d}"), "CODE"));
        assert_eq!(
            pending_authorization(&digest),
            key(format!("PENDING#{d}"), "PENDING")
        );
        let throttled = crate::domain::ThrottleKey::Account(Username::parse("Bob").unwrap());
        assert_eq!(
            login_throttle(&throttled.as_key()),
            key("THROTTLE#account#bob".into(), "THROTTLE")
        );
        assert_eq!(
            refresh_token(&digest),
            key(format!("REFRESH#{d}"), "REFRESH")
        );
        assert_eq!(
            refresh_family(&FamilyId::parse("fam_1").unwrap()),
            key("FAMILY#fam_1".into(), "FAMILY")
        );
        assert_eq!(
            grant(&user_id, &client_id),
            key("USER#usr_1".into(), "GRANT#demo-app")
        );
        assert_eq!(grants_to(&client_id), "GRANTS#CLIENT#demo-app");
        assert_eq!(
            initial_access_token(&digest),
            key(format!("IAT#{d}"), "IAT")
        );
        assert_eq!(
            revocation_shard(&event),
            18,
            "sha256(\"evt_9\") starts 0x52, 82 % 32 = 18"
        );
        assert_eq!(
            revocation(Timestamp::from_millis(1_700_000_000_123), &event),
            key("REVOCATIONS#18".into(), "1700000000123#evt_9")
        );
        assert_eq!(
            revoked_access_token("jti-1"),
            key(
                format!("REVOKED#{}", TokenDigest::of("jti-1").as_str()),
                "REVOKED"
            )
        );
        assert_eq!(
            pushed_request(&TokenDigest::of("uri")),
            key(format!("PAR#{}", TokenDigest::of("uri").as_str()), "PAR")
        );
        assert_eq!(
            used_proof(&TokenDigest::of("jkt.jti")),
            key(
                format!("DPOP#{}", TokenDigest::of("jkt.jti").as_str()),
                "DPOP"
            )
        );
        assert_eq!(
            signing_key(&KeyId::parse("key_1").unwrap()),
            key("SIGNING_KEYS".into(), "KEY#key_1")
        );
        assert_eq!(
            audit(Timestamp::from_millis(1_700_000_000_123), &event),
            key("AUDIT#2023-11-14#02".into(), "1700000000123#evt_9"),
            "0x52 = 82, 82 % 16 = 2"
        );
        assert_eq!(sessions_of(&user_id), "SESSIONS#usr_1");
        assert_eq!(USER_LIST, "USERS");
        assert_eq!(audit_by_user(&user_id), "AUDIT#USER#usr_1");
        assert_eq!(audit_by_client(&client_id), "AUDIT#CLIENT#demo-app");
    }

    #[test]
    fn revocation_entries_spread_over_every_shard() {
        let mut counts = [0usize; REVOCATION_SHARDS as usize];
        for n in 0..32_000 {
            let id = EventId::parse(&format!("evt_{n:032x}")).unwrap();
            counts[usize::from(revocation_shard(&id))] += 1;
        }
        // 1,000 expected each; a hash this even keeps every partition under its limit.
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }
}
