//! The token handler fed captured-shape API Gateway events (REST API v1 and HTTP API v2 with
//! a base64 body), parsed by lambda_http exactly as in Lambda.

mod support;

use lambda_http::http::StatusCode;
use support::*;

async fn replay(fixture: &str) -> Reply {
    let h = embedded().await;
    let request = lambda_http::request::from_str(fixture).expect("a valid API Gateway event");
    h.send(request).await
}

#[tokio::test]
async fn rest_api_v1_event() {
    let reply = replay(include_str!(
        "fixtures/apigw_v1_token_client_credentials.json"
    ))
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["scope"], "orders:read");
    assert_eq!(
        claims_of(reply.json["access_token"].as_str().unwrap())["sub"],
        format!("client:{SERVICE}")
    );
}

#[tokio::test]
async fn http_api_v2_event_with_base64_body() {
    let reply = replay(include_str!(
        "fixtures/apigw_v2_token_client_credentials_base64.json"
    ))
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn audit_records_carry_the_gateway_request_facts() {
    let h = embedded().await;
    let request = lambda_http::request::from_str(include_str!(
        "fixtures/apigw_v1_token_client_credentials.json"
    ))
    .unwrap();
    assert_eq!(h.send(request).await.status, StatusCode::OK);
    let client = xecure::domain::ClientId::parse(SERVICE).unwrap();
    let now = xecure::ports::Clock::now(h.clock.as_ref());
    let query = xecure::domain::AuditQuery {
        subject: xecure::domain::AuditSubject::Client(client),
        from: xecure::domain::Timestamp::from_secs(0),
        to: now.plus(std::time::Duration::from_secs(1)),
        limit: 10,
        cursor: None,
    };
    let events = h.store.query_audit(&query, now).await.unwrap().events;
    let issued = events
        .iter()
        .find(|e| e.kind == xecure::domain::AuditEventKind::TokenIssued)
        .expect("an issuance record");
    assert_eq!(issued.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(issued.user_agent.as_deref(), Some("fixture-client/1.0"));
    assert_eq!(
        issued.request_id.as_deref(),
        Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    );
}
