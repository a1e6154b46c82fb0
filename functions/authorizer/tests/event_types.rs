//! Every event type the authorizer serves, from fixtures shaped as API Gateway sends them.

mod support;

use serde_json::Value;
use support::*;

fn event(fixture: &str, token: &str) -> Value {
    serde_json::from_str(&fixture.replace("TOKEN_PLACEHOLDER", token)).unwrap()
}

#[tokio::test]
async fn rest_token_event_gets_a_policy_with_context() {
    let h = harness().await;
    let token = h.token("orders:read");
    let (response, log) = h
        .run(event(
            include_str!("fixtures/rest_token_event.json"),
            &token,
        ))
        .await;
    let response = response.unwrap();
    assert_eq!(response["principalId"], "usr_alice");
    assert_eq!(
        response["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
    let context = &response["context"];
    assert_eq!(context["client_id"], "photo-app");
    assert_eq!(context["scope"], "orders:read");
    assert_eq!(context["grant_id"], "grt_1");
    assert!(context["exp"].is_i64(), "numbers stay numbers");
    // The app's usage-plan key on the stage of the methodArn (REST usage plans).
    assert_eq!(
        response["usageIdentifierKey"],
        xecure::api_usage::plans::usage_identifier_key("abc123", "prod", "photo-app")
    );
    assert!(context
        .as_object()
        .unwrap()
        .values()
        .all(|v| v.is_string() || v.is_number()));
    assert_eq!(log["Decision"], "allow");
    assert_eq!(log["detail"]["route"], "GET /orders/{id}");
    assert_eq!(log["user_id"], "usr_alice");
    assert_eq!(log["detail"]["jti_digest"].as_str().unwrap().len(), 12);
    assert!(log["latency_us"].is_u64());
}

#[tokio::test]
async fn rest_request_event_reads_the_authorization_header() {
    let h = harness().await;
    let token = h.token("orders:read");
    let (response, _) = h
        .run(event(
            include_str!("fixtures/rest_request_event.json"),
            &token,
        ))
        .await;
    assert_eq!(
        response.unwrap()["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_unauthorized() {
    let h = harness().await;
    let token = h.token("orders:read");
    let (response, log) = h
        .run(event(
            include_str!("fixtures/rest_request_event_two_authorization_headers.json"),
            &token,
        ))
        .await;
    assert_eq!(
        response.unwrap_err(),
        authorizer::events::Refusal::Unauthorized,
        "REST: the exact Unauthorized error"
    );
    assert_eq!(log["reason"], "malformed_authorization");
}

#[tokio::test]
async fn http_api_v2_event_with_policy_and_simple_responses() {
    let mut h = harness().await;
    let token = h.token("orders:read");
    let fixture = include_str!("fixtures/http_v2_event.json");
    let (response, _) = h.run(event(fixture, &token)).await;
    let response = response.unwrap();
    let allow = &response["policyDocument"]["Statement"][0];
    assert_eq!(allow["Effect"], "Allow");
    assert!(
        response.get("usageIdentifierKey").is_none(),
        "HTTP APIs have no usage plans: {response}"
    );
    assert!(allow["Resource"][0]
        .as_str()
        .unwrap()
        .contains("/$default/GET/orders"));

    h.app.http_simple = true;
    let (response, _) = h.run(event(fixture, &token)).await;
    let response = response.unwrap();
    assert_eq!(response["isAuthorized"], true);
    assert_eq!(response["context"]["sub"], "usr_alice");
    let (response, _) = h.run(event(fixture, "garbage")).await;
    assert_eq!(response.unwrap()["isAuthorized"], false);
    let wrong_scope = h.token("profile:read");
    let (response, _) = h.run(event(fixture, &wrong_scope)).await;
    assert_eq!(response.unwrap()["isAuthorized"], false);
}

#[tokio::test]
async fn unknown_or_garbled_events_are_denied() {
    let h = harness().await;
    for event in [
        serde_json::json!({}),
        serde_json::json!({"type": "TOKEN"}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": 5, "methodArn": []}),
        serde_json::json!({"type": "REQUEST", "headers": "nope"}),
        serde_json::json!({"version": "2.0", "headers": {"authorization": ["x"]}}),
        serde_json::json!("just a string"),
        serde_json::json!(null),
    ] {
        let (response, log) = h.run(event.clone()).await;
        assert!(
            response
                .map(|r| r["isAuthorized"] == false
                    || r.get("principalId") == Some(&Value::from("anonymous")))
                .unwrap_or(true),
            "{event}"
        );
        assert_eq!(log["Decision"], "deny", "{event}");
    }
}

/// The event is read from its text in one pass: members it does not use may hold anything,
/// while a token or ARN of the wrong JSON type, or an event that is no object, is garbled.
#[tokio::test]
async fn a_token_event_is_read_by_its_members_types() {
    let h = harness().await;
    let token = format!("Bearer {}", h.token("orders:read"));
    let arn = format!("{ARN_PREFIX}/GET/orders");
    let (allowed, _) = h
        .run(serde_json::json!({
            "type": "TOKEN", "version": 7, "requestContext": "n/a",
            "authorizationToken": token, "methodArn": arn, "extra": {"deep": [1, {"x": null}]},
        }))
        .await;
    assert_eq!(
        allowed.unwrap()["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
    // Members written with JSON escapes (read into owned strings, not borrowed from the text).
    let escaped = format!(
        r#"{{"type": "\u0054OKEN", "authorizationToken": "{}", "methodArn": "{}"}}"#,
        token.replacen(' ', "\\u0020", 1),
        arn.replace('/', "\\/"),
    );
    let answer = authorizer::handler::decide(&h.app, &escaped).await;
    let allowed: Value = serde_json::from_str(answer.response.unwrap().get()).unwrap();
    let statement = &allowed["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Allow", "{escaped}");
    assert_eq!(statement["Resource"][0], arn.as_str(), "{escaped}");
    // A member the decision does not use is still read strictly: a number out of range, a
    // lone surrogate or nesting past serde_json's limit of 128 garbles the event.
    let good = format!(r#""type": "TOKEN", "authorizationToken": "{token}", "methodArn": "{arn}""#);
    for unused in [
        "[1e400]".to_owned(),
        r#"["\ud800"]"#.to_owned(),
        format!("{}{}", "[".repeat(130), "]".repeat(130)),
        r#"{"a": {"b": 1e400}}"#.to_owned(),
    ] {
        let event = format!(r#"{{{good}, "version": {unused}}}"#);
        let answer = authorizer::handler::decide(&h.app, &event).await;
        assert!(answer.response.is_err(), "{unused}");
        let line = serde_json::to_value(answer.log_line()).unwrap();
        assert_eq!(line["reason"], "malformed_authorization", "{unused}");
    }
    for garbled in [
        serde_json::json!({"type": "TOKEN", "authorizationToken": token, "methodArn": 5}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": token, "methodArn": null}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": true, "methodArn": arn}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": 1.5, "methodArn": arn}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": {"a": token}, "methodArn": arn}),
        serde_json::json!({"type": "TOKEN", "authorizationToken": [token], "methodArn": arn}),
        // Read by position into the event's record, this array would be a TOKEN event.
        serde_json::json!([null, "TOKEN", null, token, arn]),
    ] {
        let (response, log) = h.run(garbled.clone()).await;
        assert!(response.is_err(), "{garbled}");
        assert_eq!(log["reason"], "malformed_authorization", "{garbled}");
    }
}

#[tokio::test]
async fn decision_lines_carry_the_request_id_source_and_user_agent_the_event_has() {
    let h = harness().await;
    let token = h.token("orders:read");
    let fixtures = [
        (include_str!("fixtures/rest_request_event.json"), "req-1"),
        (include_str!("fixtures/http_v2_event.json"), "req-2"),
    ];
    for (fixture, request_id) in fixtures {
        let (_, log) = h.run(event(fixture, &token)).await;
        assert_eq!(log["request_id"], request_id);
        assert_eq!(log["source_ip"], "198.51.100.1");
        assert_eq!(log["user_agent"], "fixture/1.0");
        assert_eq!(log["kind"], "authorizer_allow");
        assert_eq!(log["outcome"], "success");
        assert!(!log.to_string().contains(&token), "no token in the line");
    }
}

/// What a response says, whatever the event's shape: allowed, forbidden (403), or no usable
/// token (401: the exact `Unauthorized` error in REST; HTTP APIs cannot send 401, so a Deny).
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    Unauthorized,
}

/// The outcome API Gateway reaches: an `isAuthorized` answer as it says, an IAM policy
/// evaluated against the call's ARN with IAM's rules (as the local gateway does).
fn outcome(response: Result<Value, authorizer::events::Refusal>, arn: &str) -> Outcome {
    let Ok(response) = response else {
        return Outcome::Unauthorized;
    };
    if let Some(authorized) = response.get("isAuthorized") {
        return if authorized == true {
            Outcome::Allowed
        } else {
            Outcome::Forbidden
        };
    }
    if xecure::authorizer::policy::policy_allows(&response["policyDocument"], arn) {
        Outcome::Allowed
    } else {
        Outcome::Forbidden
    }
}

/// The same token gets the same answer in REST TOKEN, REST REQUEST and HTTP API (IAM policy
/// or simple) events: parity of allow, forbid and no-token across every mode the template
/// can deploy.
#[tokio::test]
async fn every_event_type_decides_alike() {
    let mut h = harness().await;
    let good = h.token("orders:read");
    let wrong_scope = h.token("profile:read");
    let fixtures = [
        (
            "REST TOKEN",
            include_str!("fixtures/rest_token_event.json"),
            false,
        ),
        (
            "REST REQUEST",
            include_str!("fixtures/rest_request_event.json"),
            false,
        ),
        (
            "HTTP IAM",
            include_str!("fixtures/http_v2_event.json"),
            false,
        ),
        (
            "HTTP simple",
            include_str!("fixtures/http_v2_event.json"),
            true,
        ),
    ];
    for (name, fixture, simple) in fixtures {
        h.app.http_simple = simple;
        let http = name.starts_with("HTTP");
        for (token, expected) in [
            (good.as_str(), Outcome::Allowed),
            (wrong_scope.as_str(), Outcome::Forbidden),
            (
                "garbage",
                if http {
                    Outcome::Forbidden
                } else {
                    Outcome::Unauthorized
                },
            ),
        ] {
            let called = event(fixture, token);
            let arn = called["methodArn"]
                .as_str()
                .or(called["routeArn"].as_str())
                .unwrap()
                .to_owned();
            let (response, log) = h.run(called).await;
            assert_eq!(outcome(response, &arn), expected, "{name} with {token:.12}");
            let kind = if expected == Outcome::Allowed {
                "authorizer_allow"
            } else {
                "authorizer_deny"
            };
            assert_eq!(
                log["kind"], kind,
                "{name}: the decision line names the audit kind"
            );
        }
    }
}

/// The Lambda entry point itself (`handle`): the REST refusal becomes exactly the error API
/// Gateway turns into a 401, and an allow the policy.
#[tokio::test]
async fn the_lambda_entry_answers_as_api_gateway_expects() {
    let h = harness().await;
    let context = lambda_runtime::Context::default();
    // The runtime hands the event over as the JSON text it received.
    let text = |event: Value| serde_json::value::to_raw_value(&event).unwrap();
    let allowed = authorizer::handler::handle(
        &h.app,
        lambda_runtime::LambdaEvent::new(
            text(event(
                include_str!("fixtures/rest_token_event.json"),
                &h.token("orders:read"),
            )),
            context.clone(),
        ),
    )
    .await
    .unwrap();
    let allowed: Value = serde_json::from_str(allowed.get()).unwrap();
    assert_eq!(allowed["policyDocument"]["Statement"][0]["Effect"], "Allow");
    let refused = authorizer::handler::handle(
        &h.app,
        lambda_runtime::LambdaEvent::new(
            text(event(
                include_str!("fixtures/rest_token_event.json"),
                "garbage",
            )),
            context,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.to_string(), authorizer::handler::UNAUTHORIZED);
}
