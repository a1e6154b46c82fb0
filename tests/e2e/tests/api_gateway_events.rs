//! The authorize and consent handlers fed API Gateway events (REST API v1 with a stage, HTTP
//! API v2 with cookies and a base64 body), parsed by lambda_http exactly as in Lambda.

use lambda_http::http::StatusCode;
use lambda_http::Body;
use xecure_e2e::*;

async fn replay(system: &System, fixture: &str) -> lambda_http::Response<Body> {
    let request = lambda_http::request::from_str(fixture).expect("a valid API Gateway event");
    system.serve(request).await
}

fn text(response: &lambda_http::Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn rest_api_v1_authorize_parks_the_request_and_sends_the_browser_to_login() {
    let system = System::embedded().await;
    let response = replay(&system, include_str!("fixtures/apigw_v1_authorize.json")).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{ISSUER}/login?request=")),
        "{location}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn http_api_v2_login_with_a_forged_csrf_token_is_refused() {
    let system = System::embedded().await;
    let response = replay(
        &system,
        include_str!("fixtures/apigw_v2_login_forged_csrf.json"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("set-cookie").is_none(), "no session");
    assert!(text(&response).contains("<code>access_denied</code>"));
}

#[tokio::test]
async fn http_api_v2_consent_for_an_unknown_request_is_an_error_page() {
    let system = System::embedded().await;
    let response = replay(
        &system,
        include_str!("fixtures/apigw_v2_consent_unknown_request.json"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn rest_api_v1_consent_post_without_a_csrf_token_is_refused() {
    let system = System::embedded().await;
    let response = replay(
        &system,
        include_str!("fixtures/apigw_v1_consent_post_without_csrf.json"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
