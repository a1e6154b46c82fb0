//! Security rule 22 in the template: each function role may touch the table only in the
//! partitions it owns (`dynamodb:LeadingKeys`), no function may write the signing keys, the
//! accounts or the usernames, and the authorizer may write nothing but the markers of used
//! DPoP proofs (RFC 9449: a proof is used once across containers).

mod template;

use saphyr::Yaml;
use template::{at, parse, text, untagged, TEMPLATE};
use xecure::domain::*;
use xecure::store::keys;

/// What a role's statements allow on the table: (actions, partition patterns) per statement.
fn table_statements(template: &Yaml, role: &str) -> Vec<(Vec<String>, Vec<String>)> {
    statements_on(template, role, None)
}

/// As `table_statements`, on the table (`index` None) or on one of its indexes (`GSI1`):
/// statements on an index must name their partitions too.
fn statements_on(
    template: &Yaml,
    role: &str,
    index: Option<&str>,
) -> Vec<(Vec<String>, Vec<String>)> {
    let policies = at(template, &["Resources", role, "Properties", "Policies"])
        .and_then(|p| untagged(p).as_vec())
        .unwrap_or_else(|| panic!("{role} has policies"));
    let mut found = Vec::new();
    for policy in policies {
        let statements = at(policy, &["PolicyDocument", "Statement"])
            .and_then(|s| untagged(s).as_vec())
            .expect("statements");
        for statement in statements {
            let resource = text(at(statement, &["Resource"])).unwrap_or_default();
            let on_this = match index {
                None => !resource.contains("index"),
                Some(name) => resource.ends_with(&format!("/index/{name}")),
            };
            if !resource.contains("XecureTable.Arn") || !on_this {
                continue;
            }
            let actions = match at(statement, &["Action"]).map(untagged) {
                Some(Yaml::Sequence(list)) => list.iter().filter_map(|a| text(Some(a))).collect(),
                other => vec![text(other).expect("an action")],
            };
            let leading = at(
                statement,
                &[
                    "Condition",
                    "ForAllValues:StringLike",
                    "dynamodb:LeadingKeys",
                ],
            )
            .and_then(|l| untagged(l).as_vec())
            .unwrap_or_else(|| panic!("{role}: a table statement without LeadingKeys: {actions:?}"))
            .iter()
            .filter_map(|p| text(Some(p)))
            .collect();
            let required = text(at(
                statement,
                &["Condition", "Null", "dynamodb:LeadingKeys"],
            ));
            assert_eq!(
                required.as_deref(),
                Some("false"),
                "{role}: the partition must be named"
            );
            found.push((actions, leading));
        }
    }
    found
}

const WRITES: [&str; 3] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];
const ROLES: [&str; 4] = [
    "AuthorizeRole",
    "ConsentRole",
    "TokenRole",
    "AuthorizerRole",
];

/// IAM `StringLike`: `*` matches any run of characters.
fn like(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            value.starts_with(head)
                && value.len() >= head.len() + tail.len()
                && value.ends_with(tail)
        }
    }
}

fn writable(template: &Yaml, role: &str) -> Vec<String> {
    table_statements(template, role)
        .into_iter()
        .filter(|(actions, _)| actions.iter().any(|a| WRITES.contains(&a.as_str())))
        .flat_map(|(_, leading)| leading)
        .collect()
}

/// One partition key of every kind the store writes.
fn partitions() -> Vec<(&'static str, String)> {
    let digest = TokenDigest::of("x");
    let user = UserId::parse("usr_1").unwrap();
    let client = ClientId::parse("app").unwrap();
    let event = EventId::parse("evt_1").unwrap();
    vec![
        ("client", keys::client(&client).pk),
        (
            "username",
            keys::user(&Username::parse("alice").unwrap()).pk,
        ),
        ("account", keys::account(&user).pk),
        ("session", keys::session(&digest).pk),
        ("pending", keys::pending_authorization(&digest).pk),
        ("throttle", keys::login_throttle("account#alice").pk),
        ("code", keys::code(&digest).pk),
        ("refresh", keys::refresh_token(&digest).pk),
        (
            "family",
            keys::refresh_family(&FamilyId::parse("fam_1").unwrap()).pk,
        ),
        ("grant", keys::grants_of(&user)),
        (
            "initial access token",
            keys::initial_access_token(&digest).pk,
        ),
        (
            "revocation",
            keys::revocation(Timestamp::from_secs(1), &event).pk,
        ),
        ("revoked token", keys::revoked_access_token("jti").pk),
        ("pushed request", keys::pushed_request(&digest).pk),
        ("used DPoP proof", keys::used_proof(&digest).pk),
        (
            "signing key",
            keys::signing_key(&KeyId::parse("key_1").unwrap()).pk,
        ),
        ("audit", keys::audit(Timestamp::from_secs(1), &event).pk),
    ]
}

/// Roles that may write what only the operator writes, or an authorizer that writes.
fn write_violations(template: &Yaml) -> Vec<String> {
    let protected: Vec<(&str, String)> = partitions()
        .into_iter()
        .filter(|(kind, _)| matches!(*kind, "signing key" | "account" | "username"))
        .collect();
    let mut found = Vec::new();
    for role in ROLES {
        for pattern in writable(template, role) {
            for (kind, key) in &protected {
                if like(&pattern, key) {
                    found.push(format!("{role} may write {kind} items ({pattern})"));
                }
            }
        }
    }
    let used_proof = keys::used_proof(&TokenDigest::of("x")).pk;
    for pattern in writable(template, "AuthorizerRole") {
        if !like(&pattern, &used_proof) || pattern != "DPOP#*" {
            found.push(format!("the authorizer may write {pattern}"));
        }
    }
    found
}

#[test]
fn rule_22_no_function_may_write_signing_keys_accounts_or_usernames() {
    assert_eq!(write_violations(&parse(TEMPLATE)), Vec::<String>::new());
}

#[test]
fn a_role_that_may_write_signing_keys_is_caught() {
    let widened = TEMPLATE.replacen(
        r#"["CODE#*", "REFRESH#*", "FAMILY#*", "USER#*", "REVOCATIONS#*", "REVOKED#*""#,
        r#"["SIGNING_*", "CODE#*", "REFRESH#*", "FAMILY#*", "USER#*", "REVOCATIONS#*", "REVOKED#*""#,
        1,
    );
    assert_ne!(widened, TEMPLATE, "the edit applies");
    let found = write_violations(&parse(&widened));
    assert_eq!(found, ["TokenRole may write signing key items (SIGNING_*)"]);
}

#[test]
fn an_authorizer_that_may_write_more_than_used_proofs_is_caught() {
    let widened = TEMPLATE.replacen(r#"["DPOP#*"]"#, r#"["DPOP#*", "REVOCATIONS#*"]"#, 1);
    assert_ne!(widened, TEMPLATE, "the edit applies");
    let found = write_violations(&parse(&widened));
    assert_eq!(found, ["the authorizer may write REVOCATIONS#*"]);
}

#[test]
fn every_partition_a_role_names_is_one_the_store_uses() {
    let template = parse(TEMPLATE);
    let partitions = partitions();
    for role in ROLES {
        for (_, leading) in table_statements(&template, role) {
            for pattern in leading {
                assert!(
                    partitions.iter().any(|(_, key)| like(&pattern, key)),
                    "{role}: {pattern} matches no partition the store writes"
                );
            }
        }
    }
    assert!(like("REVOCATIONS#*", "REVOCATIONS#18"));
    assert!(!like("USER#*", "USERNAME#alice"));
}

/// Whether `role` may make `action` on `partition` of the table or of `index`.
fn allows(template: &Yaml, role: &str, index: Option<&str>, action: &str, partition: &str) -> bool {
    statements_on(template, role, index)
        .iter()
        .any(|(actions, leading)| {
            actions.iter().any(|a| a == action) && leading.iter().any(|p| like(p, partition))
        })
}

/// The account page the consent function serves on AWS lists the user's sessions (a Query on
/// GSI1) and ends one (DeleteItem), so its role must allow both, on those partitions only.
#[test]
fn the_consent_role_can_list_and_end_a_users_sessions_for_the_account_page() {
    let template = parse(TEMPLATE);
    let user = UserId::parse("usr_1").unwrap();
    let session = keys::session(&TokenDigest::of("x")).pk;
    let sessions_of = keys::sessions_of(&user);
    assert!(allows(
        &template,
        "ConsentRole",
        Some("GSI1"),
        "dynamodb:Query",
        &sessions_of
    ));
    assert!(allows(
        &template,
        "ConsentRole",
        None,
        "dynamodb:DeleteItem",
        &session
    ));
    // ...and nothing else through GSI1 (the users' and clients' listings, audit by user).
    assert!(!allows(
        &template,
        "ConsentRole",
        Some("GSI1"),
        "dynamodb:Query",
        "USERS"
    ));
    assert!(!allows(
        &template,
        "ConsentRole",
        None,
        "dynamodb:PutItem",
        &session
    ));
}
