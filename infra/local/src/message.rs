//! API Gateway's own error shape, `{"message": ...}`, for every answer the local gateway
//! and the demo API give by themselves.

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

/// API Gateway's own error shape: `{"message": ...}`.
pub fn gateway_message(status: u16, message: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(json!({ "message": message }).to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    if let Ok(value) = "application/json".parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}
