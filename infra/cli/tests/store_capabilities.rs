//! Each function's store capability (shared/src/ports/capabilities.rs) against its IAM role:
//! a role reaches only table partitions (`dynamodb:LeadingKeys`) that the ports of its
//! function's capability read or write, and every port of a capability is granted to a role
//! that holds it. The partitions of each port are declared below and checked against the
//! keys its `impl <Port> for DynamoStore` block reaches (store_source/: the `keys::` builders
//! and constants it names and those of the store helpers it calls; reads and writes are not
//! told apart there).
//! (template_drift.rs compares the roles' actions with the SDK calls the code makes.)

mod store_source;
mod template;

use saphyr::Yaml;
use std::collections::{BTreeMap, BTreeSet};
use store_source::{dynamo_sources, keys_used_by_each_port};
use template::{at, items, parse, text, TEMPLATE};
use xecure::domain::{
    ClientId, EventId, FamilyId, KeyId, Timestamp, TokenDigest, UserId, Username,
};
use xecure::ports::{AUTHORIZER_PORTS, INTERACTION_PORTS, TOKEN_FUNCTION_PORTS};
use xecure::store::keys;

/// The partitions (`LeadingKeys` patterns) each port's DynamoDB implementation reads and
/// writes, transactions' condition checks included. Index partitions (GSI1/GSI2: listings,
/// a user's sessions, a client's grants, audit by subject) are listed with the reads, also
/// where a port only writes items that carry them.
const PORT_PARTITIONS: [(&str, &[&str], &[&str]); 18] = [
    ("ClientStore", &["CLIENT#*", "CLIENTS"], &[]),
    // The clients' listing partition, which the items it writes carry on GSI1.
    ("ClientRegistry", &["CLIENTS"], &["CLIENT#*"]),
    ("UserStore", &["USERNAME#*", "ACCOUNT#*", "USERS"], &[]),
    // update_user and delete_user put the revocation entry of a cut in the same write.
    (
        "AccountAdmin",
        // The accounts' listing partition, which the items it writes carry on GSI1.
        &["USERS"],
        &["USERNAME#*", "ACCOUNT#*", "REVOCATIONS#*"],
    ),
    ("SessionStore", &["SESSION#*", "SESSIONS#*"], &["SESSION#*"]),
    ("PendingAuthorizationStore", &["PENDING#*"], &["PENDING#*"]),
    ("LoginThrottleStore", &["THROTTLE#*"], &["THROTTLE#*"]),
    (
        "CodeStore",
        // Redemption checks the grant, the account and the client in its transaction.
        &["CODE#*", "USER#*", "ACCOUNT#*", "CLIENT#*"],
        // ... spends the code, starts the refresh family, stamps the grant's last use.
        &["CODE#*", "REFRESH#*", "FAMILY#*", "USER#*"],
    ),
    (
        "RefreshStore",
        &["REFRESH#*", "FAMILY#*", "USER#*", "ACCOUNT#*", "CLIENT#*"],
        // A reused token revokes its family with an entry.
        &["REFRESH#*", "FAMILY#*", "USER#*", "REVOCATIONS#*"],
    ),
    (
        "GrantStore",
        &["USER#*", "GRANTS#*"],
        // Narrowing and revoking a grant put their entries in the same write.
        &["USER#*", "REVOCATIONS#*"],
    ),
    ("RevocationStore", &["REVOCATIONS#*"], &[]),
    // REVOKED# markers are only written (a conditional put, rule 19), never read.
    ("RevocationWriter", &[], &["REVOCATIONS#*", "REVOKED#*"]),
    ("InitialAccessTokenStore", &["IAT#*"], &["IAT#*"]),
    ("KeyStore", &["SIGNING_KEYS"], &[]),
    ("KeyPublisher", &[], &["SIGNING_KEYS"]),
    // A conditional put (RFC 9449 section 11.1), never read back.
    ("ProofReplayStore", &[], &["DPOP#*"]),
    // Put by the token function, taken (DeleteItem) by /authorize: never read otherwise.
    ("PushedRequestStore", &[], &["PAR#*"]),
    ("AuditStore", &["AUDIT#*"], &["AUDIT#*"]),
];

/// Writes a capability's ports can make that no role holding it is granted, and why the
/// code never makes them (the port also has methods the function does call). Every other
/// write partition of a capability must be granted: a capability that could write what its
/// roles may not is a call that fails in AWS only.
const WRITES_NEVER_MADE: [(&str, &str, &str); 3] = [
    (
        "InteractionStore",
        "REFRESH#*",
        "CodeStore::redeem_code starts refresh families: the token function's; authorize and consent only put codes",
    ),
    (
        "InteractionStore",
        "FAMILY#*",
        "CodeStore::redeem_code, as above",
    ),
    (
        "TokenFunctionStore",
        "IAT#*",
        "InitialAccessTokenStore::put_initial_access_token is the operator's (xecure client registration-token); the token function only reads them",
    ),
];

/// Which capability each function role serves.
const ROLE_CAPABILITY: [(&str, &str, &[&str]); 4] = [
    ("AuthorizeRole", "InteractionStore", INTERACTION_PORTS),
    ("ConsentRole", "InteractionStore", INTERACTION_PORTS),
    ("TokenRole", "TokenFunctionStore", TOKEN_FUNCTION_PORTS),
    ("AuthorizerRole", "AuthorizerStore", AUTHORIZER_PORTS),
];

const READS: [&str; 3] = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
];
const WRITES: [&str; 3] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];

fn partitions_of(port: &str) -> (&'static [&'static str], &'static [&'static str]) {
    PORT_PARTITIONS
        .iter()
        .find(|(name, _, _)| *name == port)
        .map(|(_, reads, writes)| (*reads, *writes))
        .unwrap_or_else(|| panic!("{port} is not in PORT_PARTITIONS"))
}

/// (read partitions, write partitions) a role's table statements allow.
fn granted_partitions(template: &Yaml, role: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut reads, mut writes) = (BTreeSet::new(), BTreeSet::new());
    for policy in items(at(template, &["Resources", role, "Properties", "Policies"])) {
        for statement in items(at(policy, &["PolicyDocument", "Statement"])) {
            let leading = at(
                statement,
                &[
                    "Condition",
                    "ForAllValues:StringLike",
                    "dynamodb:LeadingKeys",
                ],
            );
            let partitions: Vec<String> = items(leading)
                .into_iter()
                .filter_map(|n| text(Some(n)))
                .collect();
            if partitions.is_empty() {
                continue;
            }
            let actions: Vec<String> = match text(at(statement, &["Action"])) {
                Some(one) => vec![one],
                None => items(at(statement, &["Action"]))
                    .into_iter()
                    .filter_map(|n| text(Some(n)))
                    .collect(),
            };
            if actions.iter().all(|a| READS.contains(&a.as_str())) {
                reads.extend(partitions);
            } else if actions.iter().all(|a| WRITES.contains(&a.as_str())) {
                writes.extend(partitions);
            } else {
                panic!("{role}: a statement mixes reads and writes: {actions:?}");
            }
        }
    }
    (reads, writes)
}

/// What a template grants beyond the capabilities, or a capability's port no role may touch.
fn capability_violations<'a>(
    template: &Yaml,
    role_capability: &[(&'a str, &'a str, &'a [&'a str])],
) -> Vec<String> {
    let mut violations = Vec::new();
    let mut granted_by_capability: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut writes_by_capability: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for &(role, capability, ports) in role_capability {
        let may_read: BTreeSet<&str> = ports
            .iter()
            .flat_map(|p| partitions_of(p).0)
            .copied()
            .collect();
        let may_write: BTreeSet<&str> = ports
            .iter()
            .flat_map(|p| partitions_of(p).1)
            .copied()
            .collect();
        let (reads, writes) = granted_partitions(template, role);
        if reads.is_empty() {
            violations.push(format!("{role} reads nothing: is the template parsed?"));
        }
        for partition in reads.iter().filter(|p| !may_read.contains(p.as_str())) {
            violations.push(format!(
                "{role} may read {partition}, which no port of {capability} reads"
            ));
        }
        for partition in writes.iter().filter(|p| !may_write.contains(p.as_str())) {
            violations.push(format!(
                "{role} may write {partition}, which no port of {capability} writes"
            ));
        }
        writes_by_capability
            .entry(capability)
            .or_default()
            .extend(writes.iter().cloned());
        granted_by_capability
            .entry(capability)
            .or_default()
            .extend(reads.into_iter().chain(writes));
    }
    // The other way round: a port in a capability that no role holding it may touch is a
    // port the capability should not have (or a grant the template is missing).
    let capabilities: BTreeMap<&str, &[&str]> = role_capability
        .iter()
        .map(|(_, capability, ports)| (*capability, *ports))
        .collect();
    for (capability, ports) in capabilities {
        let granted = &granted_by_capability[capability];
        for port in ports {
            let (reads, writes) = partitions_of(port);
            if !reads.iter().chain(writes).any(|p| granted.contains(*p)) {
                violations.push(format!(
                    "{capability} has {port}, but no role serving it may touch its partitions"
                ));
            }
            // Writes are checked one by one: security rule 22's partitions (signing keys,
            // accounts, usernames) must be out of every capability's reach, not just denied.
            let granted_writes = &writes_by_capability[capability];
            for partition in writes.iter().filter(|p| !granted_writes.contains(**p)) {
                let known = WRITES_NEVER_MADE
                    .iter()
                    .any(|(c, p, _)| *c == capability && p == partition);
                if !known {
                    violations.push(format!(
                        "{capability} can write {partition} ({port}), which no role serving it may"
                    ));
                }
            }
        }
    }
    violations
}

#[test]
fn each_role_reaches_only_partitions_its_store_capability_uses() {
    let violations = capability_violations(&parse(TEMPLATE), &ROLE_CAPABILITY);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_capability_that_could_publish_keys_is_caught() {
    let with_key_publisher: Vec<&str> = TOKEN_FUNCTION_PORTS
        .iter()
        .copied()
        .chain(["KeyPublisher"])
        .collect();
    let widened = [
        ROLE_CAPABILITY[0],
        ROLE_CAPABILITY[1],
        (
            "TokenRole",
            "TokenFunctionStore",
            with_key_publisher.as_slice(),
        ),
        ROLE_CAPABILITY[3],
    ];
    assert_eq!(
        capability_violations(&parse(TEMPLATE), &widened),
        ["TokenFunctionStore can write SIGNING_KEYS (KeyPublisher), which no role serving it may"]
    );
}

#[test]
fn a_role_reaching_beyond_its_capability_is_caught() {
    let widened = TEMPLATE.replacen(
        r#"dynamodb:LeadingKeys: ["SIGNING_KEYS", "REVOCATIONS#*"]"#,
        r#"dynamodb:LeadingKeys: ["SIGNING_KEYS", "REVOCATIONS#*", "SESSION#*"]"#,
        1,
    );
    assert_ne!(
        widened, TEMPLATE,
        "the authorizer's statement is where the test expects"
    );
    assert_eq!(
        capability_violations(&parse(&widened), &ROLE_CAPABILITY),
        ["AuthorizerRole may read SESSION#*, which no port of AuthorizerStore reads"]
    );
}

/// The partition pattern of the key built by `keys::<function>` (from the function itself) or
/// named by `keys::<CONSTANT>`; None for what names no partition.
fn partition_made_by(function: &str) -> Option<String> {
    let client = ClientId::parse("c").unwrap();
    let user = UserId::parse("usr_u").unwrap();
    let digest = TokenDigest::of("x");
    let event = EventId::parse("evt_1").unwrap();
    let at = Timestamp::from_secs(1_900_000_000);
    let pk = match function {
        "client" => keys::client(&client).pk,
        "user" => keys::user(&Username::parse("u").unwrap()).pk,
        "account" => keys::account(&user).pk,
        "session" => keys::session(&digest).pk,
        "sessions_of" => keys::sessions_of(&user),
        "pending_authorization" => keys::pending_authorization(&digest).pk,
        "login_throttle" => keys::login_throttle("k").pk,
        "code" => keys::code(&digest).pk,
        "refresh_token" => keys::refresh_token(&digest).pk,
        "refresh_family" => keys::refresh_family(&FamilyId::parse("fam_1").unwrap()).pk,
        "grants_of" => keys::grants_of(&user),
        "grant" => keys::grant(&user, &client).pk,
        "grants_to" => keys::grants_to(&client),
        "initial_access_token" => keys::initial_access_token(&digest).pk,
        "revocations_in" => keys::revocations_in(0),
        "revocation" => keys::revocation(at, &event).pk,
        "revoked_access_token" => keys::revoked_access_token("jti").pk,
        "used_proof" => keys::used_proof(&TokenDigest::of("jkt.jti")).pk,
        "pushed_request" => keys::pushed_request(&TokenDigest::of("uri")).pk,
        "signing_key" => keys::signing_key(&KeyId::parse("k1").unwrap()).pk,
        "audit_partition" => keys::audit_partition("2030-01-01", 0),
        "audit" => keys::audit(at, &event).pk,
        "audit_by_user" => keys::audit_by_user(&user),
        "audit_by_client" => keys::audit_by_client(&client),
        "SIGNING_KEYS" => keys::SIGNING_KEYS.to_owned(),
        "CLIENT_LIST" => keys::CLIENT_LIST.to_owned(),
        "USER_LIST" => keys::USER_LIST.to_owned(),
        // Sort keys, attribute and index names, shard counts: no partition.
        "time_sort_key" | "PK" | "SK" | "GSI1" | "GSI1_PK" | "GSI1_SK" | "GSI2" | "GSI2_PK"
        | "GSI2_SK" | "TTL" | "GRANT_PREFIX" | "REVOCATION_SHARDS" | "AUDIT_SHARDS" => return None,
        other => panic!("keys::{other} is new: add it to partition_made_by"),
    };
    Some(match pk.split_once('#') {
        Some((head, _)) => format!("{head}#*"),
        None => pk,
    })
}

#[test]
fn keys_built_in_store_helpers_are_traced_to_the_port_that_calls_them() {
    let used = keys_used_by_each_port(&dynamo_sources());
    // create_user names no key itself: account_item and username_item build them.
    assert!(used["AccountAdmin"].contains("account"), "{used:?}");
    assert!(used["AccountAdmin"].contains("user"), "{used:?}");
    // append_audit's key is built in audit_item only.
    assert!(used["AuditStore"].contains("audit"), "{used:?}");
}

#[test]
fn each_port_of_the_dynamo_store_touches_only_its_declared_partitions() {
    let used = keys_used_by_each_port(&dynamo_sources());
    let ports: BTreeSet<&str> = PORT_PARTITIONS.iter().map(|(p, _, _)| *p).collect();
    let implemented: BTreeSet<&str> = used.keys().map(String::as_str).collect();
    assert_eq!(
        implemented, ports,
        "every port the DynamoDB store implements has its partitions declared"
    );
    for (port, functions) in &used {
        let (reads, writes) = partitions_of(port);
        for function in functions {
            let Some(partition) = partition_made_by(function) else {
                continue;
            };
            assert!(
                reads.contains(&partition.as_str()) || writes.contains(&partition.as_str()),
                "{port} builds keys with keys::{function} ({partition}), not in PORT_PARTITIONS"
            );
        }
    }
}
