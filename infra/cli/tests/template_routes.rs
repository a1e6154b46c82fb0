//! No drift between infra/template.yaml and the code. In both API variants (REST and HTTP):
//! the routes behind the Xecure authorizer are exactly those of infra/routes.toml, each
//! proxied to the backend with its path parameters, the caller's identity and the origin
//! secret (rule 22), and on REST requiring the app's usage-plan key; the OAuth endpoints
//! (and the CORS preflights of the token function) reach their function with no authorizer;
//! the authorizer answers with IAM policies (API Gateway reuses a cached answer for every
//! route of the API, and only a policy covers each route) and its cache TTL is the one the
//! authorizer function is told, within the 60 s revocation bound.

mod template;

use saphyr::Yaml;
use std::collections::BTreeSet;
use std::time::Duration;
use template::{at, operations, parse, text, Operation, TEMPLATE};
use xecure::authorizer::backend::{IDENTITY_HEADERS, ORIGIN_VERIFY_HEADER};
use xecure::authorizer::routes::{Route, RouteTable, BUILT_IN};
use xecure::authorizer::AuthorizerConfig;
use xecure::config::OAuthConfig;
use xecure::oauth::metadata::{
    ACCOUNT_PATH, APPS_API_PATH, APPS_PATH, AUTHORIZE_PATH, CONSENT_PATH, INTROSPECT_PATH,
    JWKS_PATH, LOGIN_PATH, LOGOUT_PATH, METADATA_PATH, OPENID_CONFIGURATION_PATH, PAR_PATH,
    REGISTER_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};

const AUTHORIZER: &str = "XecureAuthorizer";
/// The uncached REQUEST authorizer of the routes that take DPoP (RFC 9449 section 7).
const DPOP_AUTHORIZER: &str = "XecureDpopAuthorizer";
/// The REST API's API-key requirement: API Gateway applies the app's usage plan.
const USAGE_PLAN_KEY: &str = "UsagePlanKey";

/// The OAuth endpoints and the function serving each (`xecure-${Stage}-<function>`): exactly
/// the methods the handlers serve. The connected-apps page and its JSON API, the account page
/// and its forms, and dynamic
/// client registration (RFC 7591/7592), are routed whole to the function that serves them.
/// The token function answers the CORS preflights of the endpoints browser apps call
/// (functions/token/src/cors.rs).
const OAUTH_ENDPOINTS: [(&str, &str, &str); 30] = [
    ("GET", AUTHORIZE_PATH, "authorize"),
    ("GET", LOGIN_PATH, "authorize"),
    ("POST", LOGIN_PATH, "authorize"),
    ("GET", LOGOUT_PATH, "authorize"),
    ("POST", LOGOUT_PATH, "authorize"),
    ("GET", CONSENT_PATH, "consent"),
    ("POST", CONSENT_PATH, "consent"),
    ("ANY", APPS_PATH, "consent"),
    ("ANY", "/apps/{proxy+}", "consent"),
    ("ANY", APPS_API_PATH, "consent"),
    ("ANY", "/api/apps/{proxy+}", "consent"),
    ("ANY", ACCOUNT_PATH, "consent"),
    ("ANY", "/account/{proxy+}", "consent"),
    ("POST", TOKEN_PATH, "token"),
    ("POST", PAR_PATH, "token"),
    ("POST", REVOKE_PATH, "token"),
    ("POST", INTROSPECT_PATH, "token"),
    ("GET", METADATA_PATH, "token"),
    ("GET", JWKS_PATH, "token"),
    ("ANY", REGISTER_PATH, "token"),
    ("ANY", "/register/{proxy+}", "token"),
    ("OPTIONS", TOKEN_PATH, "token"),
    ("OPTIONS", REVOKE_PATH, "token"),
    ("OPTIONS", METADATA_PATH, "token"),
    ("OPTIONS", JWKS_PATH, "token"),
    // OpenID Connect discovery and UserInfo.
    ("GET", OPENID_CONFIGURATION_PATH, "token"),
    ("OPTIONS", OPENID_CONFIGURATION_PATH, "token"),
    ("GET", USERINFO_PATH, "token"),
    ("POST", USERINFO_PATH, "token"),
    ("OPTIONS", USERINFO_PATH, "token"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Rest,
    Http,
}

impl Variant {
    fn resource(self) -> &'static str {
        match self {
            Variant::Rest => "XecureRestApi",
            Variant::Http => "XecureHttpApi",
        }
    }

    /// What a protected route requires: its authorizer (the DPoP one where the route takes
    /// DPoP), and on REST the usage-plan key.
    fn protected_requirement(self, route: &Route) -> Vec<String> {
        let authorizer = if route.dpop.takes_proofs() {
            DPOP_AUTHORIZER
        } else {
            AUTHORIZER
        };
        match self {
            Variant::Rest => vec![authorizer.to_owned(), USAGE_PLAN_KEY.to_owned()],
            Variant::Http => vec![authorizer.to_owned()],
        }
    }

    /// Every security scheme the API defines.
    fn security_schemes(self) -> Vec<String> {
        let mut names = vec![AUTHORIZER.to_owned(), DPOP_AUTHORIZER.to_owned()];
        if self == Variant::Rest {
            names.push(USAGE_PLAN_KEY.to_owned());
        }
        names
    }
}

/// The integration URI of a function, built from its fixed name (no reference to the function,
/// so the API does not depend on it).
fn lambda_uri(function: &str) -> String {
    format!(
        "!Sub arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/\
         arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:\
         xecure-${{Stage}}-{function}/invocations"
    )
}

/// `{name+}` matches the rest of the path; the integration URI names it `{name}`.
fn backend_uri(route: &Route) -> String {
    format!("!Sub ${{BackendUrl}}{}", route.path.replace("+}", "}"))
}

fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_end_matches('+').to_owned())
        .collect()
}

fn check_protected(variant: Variant, operation: &Operation, route: &Route) -> Vec<String> {
    let name = format!("{} {}", variant.resource(), operation.name());
    let mut problems = Vec::new();
    let required = variant.protected_requirement(route);
    if operation.authorizers() != Some(required.clone()) {
        problems.push(format!(
            "{name} must require exactly {required:?}, not {:?}",
            operation.authorizers()
        ));
    }
    let expected = [
        ("type", "http_proxy".to_owned()),
        ("httpMethod", route.method.clone()),
        ("uri", backend_uri(route)),
    ];
    for (field, value) in expected {
        if operation.integration(field).as_deref() != Some(value.as_str()) {
            problems.push(format!(
                "{name}: integration {field} is {:?}, expected {value}",
                operation.integration(field)
            ));
        }
    }
    let mut mappings: Vec<(String, String)> = Vec::new();
    for (header, key) in IDENTITY_HEADERS {
        mappings.push(match variant {
            Variant::Rest => (
                format!("integration.request.header.{header}"),
                format!("context.authorizer.{key}"),
            ),
            Variant::Http => (
                format!("overwrite:header.{header}"),
                format!("$context.authorizer.{key}"),
            ),
        });
    }
    // Rule 22: the backend can tell the call came through the gateway.
    mappings.push(match variant {
        Variant::Rest => (
            format!("integration.request.header.{ORIGIN_VERIFY_HEADER}"),
            "!Sub '${OriginVerifySecret}'".to_owned(),
        ),
        Variant::Http => (
            format!("overwrite:header.{ORIGIN_VERIFY_HEADER}"),
            "!Ref OriginVerifySecret".to_owned(),
        ),
    });
    if variant == Variant::Rest {
        // A REST HTTP proxy passes a path parameter on only when it is mapped.
        for parameter in path_parameters(&route.path) {
            mappings.push((
                format!("integration.request.path.{parameter}"),
                format!("method.request.path.{parameter}"),
            ));
        }
    }
    for (target, source) in mappings {
        if operation.mapped(&target).as_deref() != Some(source.as_str()) {
            problems.push(format!("{name}: {target} must be mapped from {source}"));
        }
    }
    problems
}

fn check_open(variant: Variant, operation: &Operation, function: &str) -> Vec<String> {
    let name = format!("{} {}", variant.resource(), operation.name());
    let mut problems = Vec::new();
    if !operation.authorizers().unwrap_or_default().is_empty() {
        problems.push(format!(
            "{name} is an OAuth endpoint: it must have no authorizer"
        ));
    }
    let mut expected = vec![
        ("type", "aws_proxy".to_owned()),
        ("httpMethod", "POST".to_owned()),
        ("uri", lambda_uri(function)),
    ];
    if variant == Variant::Http {
        expected.push(("payloadFormatVersion", "2.0".to_owned()));
    }
    for (field, value) in expected {
        if operation.integration(field).as_deref() != Some(value.as_str()) {
            problems.push(format!(
                "{name}: integration {field} is {:?}, expected {value}",
                operation.integration(field)
            ));
        }
    }
    problems
}

fn check_authorizer(template: &Yaml, variant: Variant) -> Vec<String> {
    let api = variant.resource();
    let body = ["Resources", api, "Properties", "DefinitionBody"];
    let schemes = at(
        template,
        &[&body[..], &["components", "securitySchemes"]].concat(),
    );
    let names: Vec<String> = schemes
        .and_then(|schemes| template::untagged(schemes).as_mapping())
        .map(|schemes| schemes.keys().filter_map(|key| text(Some(key))).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut expected_names = variant.security_schemes();
    expected_names.sort();
    let mut sorted = names.clone();
    sorted.sort();
    if sorted != expected_names {
        problems.push(format!(
            "{api}: the security schemes must be {expected_names:?}, found {names:?}"
        ));
    }
    if variant == Variant::Rest {
        let key = [
            &body[..],
            &["components", "securitySchemes", USAGE_PLAN_KEY],
        ]
        .concat();
        for (field, value) in [("type", "apiKey"), ("name", "x-api-key"), ("in", "header")] {
            let found = text(at(template, &[&key[..], &[field]].concat()));
            if found.as_deref() != Some(value) {
                problems.push(format!(
                    "{api}: {USAGE_PLAN_KEY} {field} is {found:?}, expected {value}"
                ));
            }
        }
    }
    if at(template, &[&body[..], &["security"]].concat()).is_some() {
        problems.push(format!(
            "{api}: a global security requirement would guard the OAuth endpoints"
        ));
    }
    let scheme = [&body[..], &["components", "securitySchemes", AUTHORIZER]].concat();
    let authorizer = [&scheme[..], &["x-amazon-apigateway-authorizer"]].concat();
    let mut expected = vec![
        (
            authorizer.clone(),
            "authorizerUri",
            lambda_uri("authorizer"),
        ),
        (
            authorizer.clone(),
            "authorizerResultTtlInSeconds",
            "!Ref AuthorizerCacheSeconds".to_owned(),
        ),
    ];
    match variant {
        Variant::Rest => expected.extend([
            (authorizer.clone(), "type", "token".to_owned()),
            (scheme.clone(), "in", "header".to_owned()),
            (scheme.clone(), "name", "Authorization".to_owned()),
        ]),
        Variant::Http => expected.extend([
            (authorizer.clone(), "type", "request".to_owned()),
            (
                authorizer.clone(),
                "identitySource",
                "$request.header.Authorization".to_owned(),
            ),
            (
                authorizer.clone(),
                "authorizerPayloadFormatVersion",
                "2.0".to_owned(),
            ),
            (
                authorizer.clone(),
                "enableSimpleResponses",
                "false".to_owned(),
            ),
        ]),
    }
    // RFC 9449 section 7: the DPoP authorizer sees the whole request and is never cached.
    let dpop_scheme = [
        &body[..],
        &["components", "securitySchemes", DPOP_AUTHORIZER],
    ]
    .concat();
    let dpop = [&dpop_scheme[..], &["x-amazon-apigateway-authorizer"]].concat();
    expected.extend([
        (dpop.clone(), "authorizerUri", lambda_uri("authorizer")),
        (dpop.clone(), "authorizerResultTtlInSeconds", "0".to_owned()),
        (dpop.clone(), "type", "request".to_owned()),
    ]);
    match variant {
        Variant::Rest => expected.push((
            dpop.clone(),
            "identitySource",
            "method.request.header.Authorization".to_owned(),
        )),
        Variant::Http => expected.extend([
            (
                dpop.clone(),
                "identitySource",
                "$request.header.Authorization".to_owned(),
            ),
            (
                dpop.clone(),
                "authorizerPayloadFormatVersion",
                "2.0".to_owned(),
            ),
            (dpop.clone(), "enableSimpleResponses", "false".to_owned()),
        ]),
    }
    for (parent, field, value) in expected {
        let found = text(at(template, &[&parent[..], &[field]].concat()));
        if found.as_deref() != Some(value.as_str()) {
            let which = parent[parent.len() - 2];
            problems.push(format!(
                "{api}: {which} {field} is {found:?}, expected {value}"
            ));
        }
    }
    problems
}

/// Every way one API variant of `template` differs from the route table and the endpoints.
fn problems(template: &Yaml, variant: Variant, routes: &RouteTable) -> Vec<String> {
    let api = variant.resource();
    let operations = match operations(template, api) {
        Ok(operations) => operations,
        Err(problem) => return vec![problem],
    };
    let mut problems = check_authorizer(template, variant);
    for operation in &operations {
        let route = routes
            .routes()
            .iter()
            .find(|route| route.method == operation.method && route.path == operation.path);
        let endpoint = OAUTH_ENDPOINTS
            .iter()
            .find(|(method, path, _)| *method == operation.method && *path == operation.path);
        problems.extend(match (route, endpoint) {
            (Some(route), _) => check_protected(variant, operation, route),
            (None, Some((_, _, function))) => check_open(variant, operation, function),
            (None, None) => vec![format!(
                "{api}: {} is neither a route of infra/routes.toml nor an OAuth endpoint",
                operation.name()
            )],
        });
    }
    let routed: BTreeSet<String> = operations.iter().map(Operation::name).collect();
    let expected = routes.routes().iter().map(Route::name).chain(
        OAUTH_ENDPOINTS
            .iter()
            .map(|(method, path, _)| format!("{method} {path}")),
    );
    for name in expected {
        if !routed.contains(&name) {
            problems.push(format!("{api}: {name} is not routed"));
        }
    }
    problems
}

fn built_in() -> RouteTable {
    RouteTable::built_in().unwrap()
}

#[test]
fn both_apis_route_exactly_the_route_table_and_the_oauth_endpoints() {
    let template = parse(TEMPLATE);
    for variant in [Variant::Rest, Variant::Http] {
        let found = problems(&template, variant, &built_in());
        assert!(found.is_empty(), "{variant:?}:\n{}", found.join("\n"));
    }
}

#[test]
fn the_authorizer_cache_stays_within_the_revocation_bound() {
    let template = parse(TEMPLATE);
    let env = [
        "Resources",
        "AuthorizerFunction",
        "Properties",
        "Environment",
        "Variables",
    ];
    let variable = |name: &str| text(at(&template, &[&env[..], &[name]].concat()));
    assert_eq!(
        variable("XECURE_GATEWAY_CACHE_SECONDS").as_deref(),
        Some("!Ref AuthorizerCacheSeconds"),
        "the authorizer must be told the TTL the APIs use"
    );
    let bound: u64 = variable("XECURE_REVOCATION_BOUND_SECONDS")
        .unwrap()
        .parse()
        .unwrap();
    let max_ttl: u64 = text(at(
        &template,
        &["Parameters", "AuthorizerCacheSeconds", "MaxValue"],
    ))
    .unwrap()
    .parse()
    .unwrap();
    // The largest TTL the stack accepts must be one the authorizer accepts at cold start.
    let mut config = AuthorizerConfig::new(&OAuthConfig::for_issuer("https://issuer.example"));
    config.revocation_bound = Duration::from_secs(bound);
    config.gateway_cache_ttl = Duration::from_secs(max_ttl);
    assert_eq!(bound, 60);
    config
        .check()
        .expect("AuthorizerCacheSeconds MaxValue within the bound");
    config.gateway_cache_ttl = Duration::from_secs(max_ttl + 1);
    assert!(
        config.check().is_err(),
        "MaxValue should be the largest TTL allowed"
    );
}

/// The first occurrence of `from` (the REST API's, which comes first) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    assert!(
        TEMPLATE.contains(from),
        "the template no longer contains {from:?}"
    );
    TEMPLATE.replacen(from, to, 1)
}

fn rest_problems(text: &str, routes: &RouteTable) -> Vec<String> {
    problems(&parse(text), Variant::Rest, routes)
}

fn assert_caught(found: &[String], expected: &str) {
    assert!(
        found.iter().any(|problem| problem.contains(expected)),
        "expected a problem containing {expected:?}, found {found:#?}"
    );
}

#[test]
fn a_route_added_to_the_table_but_not_to_the_template_is_caught() {
    let routes = RouteTable::parse(&format!(
        "{BUILT_IN}\n[[route]]\nmethod = \"PUT\"\npath = \"/orders/{{id}}\"\nscopes = [\"orders:write\"]\n"
    ))
    .unwrap();
    for variant in [Variant::Rest, Variant::Http] {
        assert_caught(
            &problems(&parse(TEMPLATE), variant, &routes),
            "PUT /orders/{id} is not routed",
        );
    }
}

#[test]
fn a_protected_route_without_the_authorizer_is_caught() {
    let text = edited(
        "          /profile:\n            get:\n              security: [{ XecureAuthorizer: [], UsagePlanKey: [] }]\n",
        "          /profile:\n            get:\n",
    );
    assert_caught(
        &rest_problems(&text, &built_in()),
        "XecureRestApi GET /profile must require exactly",
    );
}

#[test]
fn an_authorizer_on_an_oauth_endpoint_is_caught() {
    let text = edited(
        "          /token:\n            post:\n",
        "          /token:\n            post:\n              security: [{ XecureAuthorizer: [] }]\n",
    );
    assert_caught(
        &rest_problems(&text, &built_in()),
        "POST /token is an OAuth endpoint: it must have no authorizer",
    );
}

#[test]
fn an_extra_route_or_a_wrong_backend_path_is_caught() {
    let extra = edited(
        "          /profile:\n",
        "          /admin:\n            get:\n              security: [{ XecureAuthorizer: [] }]\n          /profile:\n",
    );
    assert_caught(
        &rest_problems(&extra, &built_in()),
        "GET /admin is neither a route of infra/routes.toml nor an OAuth endpoint",
    );
    let unmapped = edited(
        "integration.request.path.id: method.request.path.id\n",
        "\n",
    );
    assert_caught(
        &rest_problems(&unmapped, &built_in()),
        "integration.request.path.id must be mapped",
    );
    let wrong_uri = edited(
        "uri: !Sub ${BackendUrl}/orders/{id}",
        "uri: !Sub ${BackendUrl}/orders",
    );
    assert_caught(&rest_problems(&wrong_uri, &built_in()), "integration uri");
}

#[test]
fn a_literal_ttl_or_simple_responses_are_caught() {
    let literal = edited(
        "authorizerResultTtlInSeconds: !Ref AuthorizerCacheSeconds",
        "authorizerResultTtlInSeconds: 300",
    );
    assert_caught(
        &rest_problems(&literal, &built_in()),
        "XecureAuthorizer authorizerResultTtlInSeconds",
    );
    // A cached DPoP authorizer would answer a replayed or missing proof from its cache.
    let cached_dpop = edited(
        "authorizerResultTtlInSeconds: 0",
        "authorizerResultTtlInSeconds: !Ref AuthorizerCacheSeconds",
    );
    assert_caught(
        &rest_problems(&cached_dpop, &built_in()),
        "XecureDpopAuthorizer authorizerResultTtlInSeconds",
    );
    let simple = TEMPLATE.replace(
        "enableSimpleResponses: false",
        "enableSimpleResponses: true",
    );
    assert_caught(
        &problems(&parse(&simple), Variant::Http, &built_in()),
        "Authorizer enableSimpleResponses",
    );
}

#[test]
fn a_route_without_the_origin_secret_or_the_usage_plan_key_is_caught() {
    let no_secret = edited(
        "                  integration.request.header.X-Xecure-Origin-Verify: !Sub \"'${OriginVerifySecret}'\"\n",
        "",
    );
    assert_caught(
        &rest_problems(&no_secret, &built_in()),
        "integration.request.header.X-Xecure-Origin-Verify must be mapped from !Sub '${OriginVerifySecret}'",
    );
    let no_key = edited(
        "              security: [{ XecureAuthorizer: [], UsagePlanKey: [] }]\n",
        "              security: [{ XecureAuthorizer: [] }]\n",
    );
    assert_caught(
        &rest_problems(&no_key, &built_in()),
        "must require exactly [\"XecureAuthorizer\", \"UsagePlanKey\"]",
    );
}
