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
