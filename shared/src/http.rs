//! HTTP responses shared by the functions: one place that shapes JSON errors (design rule 6).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// A JSON error body in the RFC 6749 section 5.2 shape, never cached.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The answer for a path the function does not serve: a JSON 404, never a 500.
pub fn no_route(request: &Request) -> Response<Body> {
    tracing::info!(method = %request.method(), path = request.uri().path(), "no route");
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_get_a_json_404() {
        let request = lambda_http::http::Request::builder()
            .uri("/nowhere")
            .body(Body::Empty)
            .unwrap();
        let response = no_route(&request);
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let Body::Text(text) = response.body() else {
            panic!("text body expected")
        };
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(json["error"], "not_found");
        assert_eq!(json["error_description"], "no route for GET /nowhere");
    }
}
