//! The IAM policy an authorizer returns. API Gateway caches it per token and applies it to
//! every route the token is then used on, so it must list exactly the routes the token's
//! scopes allow: Allow each allowed route's ARN pattern, and, where a wildcard of an allowed
//! pattern also covers a route the token may not call, Deny that route (an explicit Deny
//! wins in IAM). Tables where that cannot be made exact are refused when they are loaded.

use super::routes::{Route, RouteTable};
use crate::domain::Scope;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}` (a REST
/// `methodArn` or an HTTP API `routeArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiArn {
    /// Everything up to and including the stage: `arn:aws:execute-api:r:a:id/stage`.
    pub prefix: String,
    pub api_id: String,
    pub stage: String,
    pub method: String,
    /// The request path, `/orders/42`.
    pub path: String,
}

impl ApiArn {
    pub fn parse(arn: &str) -> Option<ApiArn> {
        let mut parts = arn.splitn(6, ':');
        let (arn_word, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        if arn_word != "arn" || service != "execute-api" || partition.is_empty() {
            return None;
        }
        if region.is_empty() || account.is_empty() {
            return None;
        }
        let mut pieces = resource.splitn(4, '/');
        let (api, stage, method) = (pieces.next()?, pieces.next()?, pieces.next()?);
        if api.is_empty() || stage.is_empty() || method.is_empty() {
            return None;
        }
        let path = format!("/{}", pieces.next().unwrap_or_default());
        Some(ApiArn {
            prefix: format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}"),
            api_id: api.to_owned(),
            stage: stage.to_owned(),
            method: method.to_owned(),
            path,
        })
    }

    fn resource(&self, method_and_path: &str) -> String {
        format!("{}/{method_and_path}", self.prefix)
    }
}

/// IAM `*` matching: any run of characters, `/` included.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Allowed and denied `METHOD/path` patterns for a token with `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutePatterns {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

pub fn patterns_for(table: &RouteTable, scope: &Scope) -> RoutePatterns {
    let (allowed, refused): (Vec<&Route>, Vec<&Route>) =
        table.routes().iter().partition(|route| route.allows(scope));
    let allow: BTreeSet<String> = allowed.iter().map(|r| r.arn_resource()).collect();
    let deny: BTreeSet<String> = refused
        .iter()
        .filter(|route| {
            let sample = route.sample_resource();
            allow.iter().any(|pattern| glob_matches(pattern, &sample))
        })
        .map(|route| route.arn_resource())
        .collect();
    RoutePatterns {
        allow: allow.into_iter().collect(),
        deny: deny.into_iter().collect(),
    }
}

/// Whether IAM evaluation of `patterns` allows `route`'s requests.
fn evaluates_to_allow(patterns: &RoutePatterns, route: &Route) -> bool {
    let sample = route.sample_resource();
    let denied = patterns.deny.iter().any(|p| glob_matches(p, &sample));
    let allowed = patterns.allow.iter().any(|p| glob_matches(p, &sample));
    allowed && !denied
}

/// Every combination of the scopes the table uses must give an exact policy: each route
/// allowed exactly when the scopes allow it. Tables with more than 12 distinct scopes are
/// checked per route's own scope set only.
pub(crate) fn check_every_policy(table: &RouteTable) -> Result<(), String> {
    let used: Vec<String> = table
        .routes()
        .iter()
        .flat_map(|route| route.scopes.iter().map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let scope_sets: Vec<Scope> = if used.len() <= 12 {
        (0u32..(1 << used.len()))
            .map(|mask| {
                let chosen = used
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| mask & (1 << bit) != 0)
                    .map(|(_, s)| s.as_str());
                Scope::from_tokens(chosen).unwrap_or_default()
            })
            .collect()
    } else {
        table.routes().iter().map(|r| r.scopes.clone()).collect()
    };
    for scope in scope_sets {
        let patterns = patterns_for(table, &scope);
        for route in table.routes() {
            if evaluates_to_allow(&patterns, route) != route.allows(&scope) {
                return Err(format!(
                    "no exact IAM policy for scope '{scope}': {} overlaps another route's wildcard",
                    route.name()
                ));
            }
        }
    }
    Ok(())
}

/// How IAM evaluates `policy` for one `resource` ARN: an explicit Deny wins, then an Allow,
/// else denied. (What API Gateway does with a cached policy; the local gateway uses it.)
pub fn policy_allows(policy: &Value, resource: &str) -> bool {
    let matching = |effect: &str| {
        policy["Statement"].as_array().is_some_and(|statements| {
            statements.iter().any(|statement| {
                statement["Effect"] == effect
                    && match &statement["Resource"] {
                        Value::String(pattern) => glob_matches(pattern, resource),
                        Value::Array(patterns) => patterns
                            .iter()
                            .filter_map(Value::as_str)
                            .any(|pattern| glob_matches(pattern, resource)),
                        _ => false,
                    }
            })
        })
    };
    !matching("Deny") && matching("Allow")
}

/// The policy document for a token with `scope`, on the API and stage of `arn`. The route
/// being called is denied explicitly when the scopes do not cover it (a 403, not a 401).
pub fn policy_document(
    table: &RouteTable,
    scope: &Scope,
    arn: &ApiArn,
    current: Option<&Route>,
) -> Value {
    let patterns = patterns_for(table, scope);
    let mut deny: Vec<String> = patterns.deny.iter().map(|p| arn.resource(p)).collect();
    match current {
        Some(route) if !route.allows(scope) => deny.push(arn.resource(&route.arn_resource())),
        Some(_) => {}
        // Not in the table: deny this exact request.
        None => deny.push(arn.resource(&format!("{}{}", arn.method, arn.path))),
    }
    deny.sort();
    deny.dedup();
    let mut statements = Vec::new();
    if !patterns.allow.is_empty() {
        let allow: Vec<String> = patterns.allow.iter().map(|p| arn.resource(p)).collect();
        statements
            .push(json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": allow}));
    }
    if !deny.is_empty() {
        statements
            .push(json!({"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": deny}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42";

    #[test]
    fn arns_parse_and_refuse_garbage() {
        let arn = ApiArn::parse(ARN).unwrap();
        assert_eq!(
            arn.prefix,
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod"
        );
        assert_eq!(
            (arn.method.as_str(), arn.path.as_str()),
            ("GET", "/orders/42")
        );
        assert_eq!(
            (arn.api_id.as_str(), arn.stage.as_str()),
            ("abc123", "prod")
        );
        let root = ApiArn::parse("arn:aws:execute-api:r:1:a/$default/GET/").unwrap();
        assert_eq!(root.path, "/");
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:execute-api:r:1:a",
            "arn:aws:execute-api:r:1:a/prod",
            "x:y:z:a:b:c/d/e/f",
        ] {
            assert!(ApiArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn policies_evaluate_deny_over_allow() {
        let table = RouteTable::built_in().unwrap();
        let arn = ApiArn::parse(ARN).unwrap();
        let scope = Scope::parse("orders:read").unwrap();
        let policy = policy_document(&table, &scope, &arn, table.find("GET", "/orders/42"));
        let at = |rest: &str| format!("{}/{rest}", arn.prefix);
        assert!(policy_allows(&policy, &at("GET/orders/42")));
        assert!(policy_allows(&policy, &at("GET/orders")));
        assert!(!policy_allows(&policy, &at("POST/orders")));
        assert!(!policy_allows(&policy, &at("GET/profile")));
        let refused = policy_document(&table, &scope, &arn, table.find("POST", "/orders"));
        assert!(!policy_allows(&refused, &at("POST/orders")));
        assert!(policy_allows(&refused, &at("GET/orders")));
    }

    #[test]
    fn globs_match_like_iam() {
        assert!(glob_matches("GET/orders/*", "GET/orders/1/items"));
        assert!(glob_matches("*/orders", "DELETE/orders"));
        assert!(!glob_matches("GET/orders/*", "GET/orders"));
        assert!(glob_matches("GET/a/*/b/*", "GET/a/x/b/y"));
        assert!(!glob_matches("GET/a/*/b", "GET/a/x/c"));
    }

    #[test]
    fn a_policy_for_scope_a_covers_exactly_the_routes_of_a() {
        let table = RouteTable::built_in().unwrap();
        let read = Scope::parse("orders:read").unwrap();
        let patterns = patterns_for(&table, &read);
        assert_eq!(patterns.allow, vec!["GET/orders", "GET/orders/*"]);
        for route in table.routes() {
            assert_eq!(
                evaluates_to_allow(&patterns, route),
                route.allows(&read),
                "{}",
                route.name()
            );
        }
    }

    #[test]
    fn overlapping_wildcards_get_an_explicit_deny() {
        let table = RouteTable::parse(
            r#"
            [[route]]
            method = "GET"
            path = "/orders/{id}"
            scopes = ["orders:read"]
            [[route]]
            method = "GET"
            path = "/orders/{id}/invoice"
            scopes = ["billing:read"]
            "#,
        )
        .unwrap();
        let patterns = patterns_for(&table, &Scope::parse("orders:read").unwrap());
        assert_eq!(patterns.allow, vec!["GET/orders/*"]);
        assert_eq!(patterns.deny, vec!["GET/orders/*/invoice"]);
    }

    #[test]
    fn tables_without_an_exact_policy_are_refused() {
        // With admin and billing:read, GET/* allows everything; denying /orders/{id} then
        // needs GET/orders/*, which also covers the invoice route the token may call.
        let refused = RouteTable::parse(
            r#"
            [[route]]
            method = "GET"
            path = "/orders/{id}/invoice"
            scopes = ["billing:read"]
            [[route]]
            method = "GET"
            path = "/orders/{id}"
            scopes = ["orders:read"]
            [[route]]
            method = "GET"
            path = "/{any+}"
            scopes = ["admin"]
            "#,
        );
        assert!(refused.is_err());
    }
}
