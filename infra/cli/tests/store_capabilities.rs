//! Each function's store capability (shared/src/ports/capabilities.rs) against its IAM role:
//! a role reaches only table partitions (`dynamodb:LeadingKeys`) that the ports of its
//! function's capability read or write, and every port of a capability is granted to a role
//! that holds it. The partitions of each port are declared below and checked against the
//! keys its `impl <Port> for DynamoStore` block builds (`keys::` calls in the block and in
//! every store helper it calls: the item builders of dynamo/items.rs, the inherent
//! `impl DynamoStore` methods; reads and writes are not told apart there).
//! (template_drift.rs compares the roles' actions with the SDK calls the code makes.)

mod template;

use saphyr::Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use template::{at, items, parse, text, TEMPLATE};
use xecure::domain::{
    ClientId, EventId, FamilyId, KeyId, Timestamp, TokenDigest, UserId, Username,
};
use xecure::ports::{AUTHORIZER_PORTS, INTERACTION_PORTS, TOKEN_FUNCTION_PORTS};
use xecure::store::keys;

/// The partitions (`LeadingKeys` patterns) each port's DynamoDB implementation reads and
/// writes, transactions' condition checks included. Index partitions (GSI1/GSI2: listings,
/// a user's sessions, a client's grants, audit by subject) are listed with the reads.
const PORT_PARTITIONS: [(&str, &[&str], &[&str]); 16] = [
    ("ClientStore", &["CLIENT#*", "CLIENTS"], &[]),
    ("ClientRegistry", &[], &["CLIENT#*"]),
    ("UserStore", &["USERNAME#*", "ACCOUNT#*", "USERS"], &[]),
    // update_user and delete_user put the revocation entry of a cut in the same write.
    (
        "AccountAdmin",
        &[],
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

/// The partition pattern of the key built by `keys::<function>`, from the function itself
/// (None for a function that builds sort keys only).
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
        "signing_key" => keys::signing_key(&KeyId::parse("k1").unwrap()).pk,
        "audit_partition" => keys::audit_partition("2030-01-01", 0),
        "audit" => keys::audit(at, &event).pk,
        "audit_by_user" => keys::audit_by_user(&user),
        "audit_by_client" => keys::audit_by_client(&client),
        "time_sort_key" => return None,
        other => panic!("keys::{other} is new: add it to partition_made_by"),
    };
    Some(match pk.split_once('#') {
        Some((head, _)) => format!("{head}#*"),
        None => pk,
    })
}

/// The `keys::` functions a piece of the DynamoDB store's code calls by name.
fn key_functions_called(code: &str) -> BTreeSet<String> {
    code.split("keys::")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            rest[name.len()..].starts_with('(').then_some(name)
        })
        .collect()
}

/// The helper functions of the DynamoDB store (the item builders of dynamo/items.rs, the
/// inherent `impl DynamoStore` methods, each file's free functions): name -> body.
fn helpers(code: &str) -> BTreeMap<String, String> {
    let lines: Vec<&str> = code.lines().collect();
    let mut found = BTreeMap::new();
    for (at, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let Some(rest) = line.trim_start().split("fn ").nth(1) else {
            continue;
        };
        let declares = [
            "fn ",
            "pub(super) fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub(super) async fn ",
            "pub(crate) async fn ",
        ]
        .iter()
        .any(|head| line.trim_start().starts_with(head));
        if !declares {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let end = format!("{}}}", " ".repeat(indent));
        let body: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|l| **l != end)
            .copied()
            .collect();
        found.insert(name, body.join("\n"));
    }
    found
}

/// Does `code` call the function `name` (`name(`, `self.name(`, `Self::name(`)?
fn calls(code: &str, name: &str) -> bool {
    code.match_indices(&format!("{name}(")).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// (port, `keys::` functions called) of each `impl <Port> for DynamoStore` block, with those
/// of every store helper the block calls, and the helpers they call.
fn keys_used_by_each_port() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/src/store/dynamo");
    let sources: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let helpers: BTreeMap<String, String> = sources.iter().flat_map(|code| helpers(code)).collect();
    // What each helper reaches, followed until nothing new is added.
    let mut reach: BTreeMap<&str, BTreeSet<String>> = helpers
        .iter()
        .map(|(name, body)| (name.as_str(), key_functions_called(body)))
        .collect();
    loop {
        let mut grew = false;
        for (name, body) in &helpers {
            let mut reached = reach[name.as_str()].clone();
            for other in helpers
                .keys()
                .filter(|other| *other != name && calls(body, other))
            {
                reached.extend(reach[other.as_str()].iter().cloned());
            }
            if reached.len() > reach[name.as_str()].len() {
                reach.insert(name.as_str(), reached);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for code in &sources {
        for block in code.split("\nimpl ").skip(1) {
            let Some((port, body)) = block.split_once(" for DynamoStore {") else {
                continue;
            };
            // The block ends where the next item starts at column 0.
            let body = body.split("\n}").next().unwrap_or(body);
            let mut keys = key_functions_called(body);
            for (helper, reached) in &reach {
                if calls(body, helper) {
                    keys.extend(reached.iter().cloned());
                }
            }
            used.entry(port.trim().to_owned()).or_default().extend(keys);
        }
    }
    used
}

#[test]
fn keys_built_in_item_helpers_are_traced_to_the_port_that_calls_them() {
    let used = keys_used_by_each_port();
    // put_client builds its key only inside dynamo/items.rs's client_item.
    assert!(used["ClientRegistry"].contains("client"), "{used:?}");
    // append_audit's key and index keys are built in audit_item.
    for key in ["audit", "audit_by_user", "audit_by_client"] {
        assert!(used["AuditStore"].contains(key), "{key}: {used:?}");
    }
}

#[test]
fn each_port_of_the_dynamo_store_touches_only_its_declared_partitions() {
    let used = keys_used_by_each_port();
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
