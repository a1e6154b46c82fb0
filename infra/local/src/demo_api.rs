//! The demo resource API behind the local gateway: what a company's backend sees after the
//! authorizer allowed a call. Like a real backend it reads the caller from the identity
//! headers the integration set, and believes them only when the request carries the origin
//! secret (rule 22): a request that did not come through the gateway is refused.

use super::message::gateway_message;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use xecure::authorizer::backend::{origin_verified, ORIGIN_VERIFY_HEADER};
use xecure::authorizer::routes::Route;

/// Orders per user, in memory: enough to show reads and writes per scope.
pub struct DemoApi {
    orders: Mutex<BTreeMap<String, Vec<Value>>>,
    /// The value the gateway's integration adds as `X-Xecure-Origin-Verify`.
    origin_secret: String,
}

fn json_response(status: u16, value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::OK);
    if let Ok(content_type) = "application/json".parse() {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

impl DemoApi {
    pub fn new(origin_secret: String) -> Self {
        DemoApi {
            orders: Mutex::default(),
            origin_secret,
        }
    }

    pub fn handle(
        &self,
        route: &Route,
        path: &str,
        headers: &HeaderMap,
        body: &str,
    ) -> Response<Body> {
        let presented = headers.get(ORIGIN_VERIFY_HEADER).map(|v| v.as_bytes());
        if !origin_verified(presented, &[self.origin_secret.as_bytes()]) {
            return gateway_message(403, "this API is reached only through the gateway");
        }
        let sub = header(headers, "x-xecure-sub").to_owned();
        let client_id = header(headers, "x-xecure-client-id");
        let scope = header(headers, "x-xecure-scope");
        let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        let mine = orders.entry(sub.clone()).or_default();
        let id = path.rsplit('/').next().unwrap_or_default();
        match (route.method.as_str(), route.path.as_str()) {
            ("GET", "/profile") => json_response(
                200,
                &json!({"sub": sub, "client_id": client_id, "scope": scope}),
            ),
            ("GET", "/orders") => json_response(200, &json!({ "orders": mine })),
            ("POST", "/orders") => {
                let item: Value = serde_json::from_str(body).unwrap_or(json!({}));
                let order = json!({"id": format!("ord_{}", mine.len() + 1), "item": item["item"], "placed_by": client_id});
                mine.push(order.clone());
                json_response(201, &order)
            }
            ("GET", "/orders/{id}") => match mine.iter().find(|o| o["id"] == id) {
                Some(order) => json_response(200, order),
                None => gateway_message(404, "no such order"),
            },
            ("DELETE", "/orders/{id}") => {
                let before = mine.len();
                mine.retain(|o| o["id"] != id);
                if mine.len() < before {
                    json_response(200, &json!({"deleted": id}))
                } else {
                    gateway_message(404, "no such order")
                }
            }
            _ => gateway_message(404, "the demo API does not implement this route"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xecure::authorizer::routes::RouteTable;

    fn profile(api: &DemoApi, headers: &[(&str, &str)]) -> (u16, String) {
        let table = RouteTable::built_in().unwrap();
        let route = table.find("GET", "/profile").unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let response = api.handle(route, "/profile", &map, "");
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            _ => String::new(),
        };
        (response.status().as_u16(), body)
    }

    #[test]
    fn rule_22_identity_headers_count_only_with_the_origin_secret() {
        let api = DemoApi::new("gateway-secret-0123456789abcdefghijklmnop".into());
        let forged = [
            ("X-Xecure-Sub", "usr_admin"),
            ("X-Xecure-Client-Id", "web-app"),
        ];
        // Straight to the backend, around the gateway: refused, whatever it claims.
        let (status, body) = profile(&api, &forged);
        assert_eq!(status, 403, "{body}");
        let wrong = [
            forged[0],
            (
                ORIGIN_VERIFY_HEADER,
                "guess-0123456789abcdefghijklmnopqrstu",
            ),
        ];
        assert_eq!(profile(&api, &wrong).0, 403);
        let through = [
            forged[0],
            forged[1],
            (
                ORIGIN_VERIFY_HEADER,
                "gateway-secret-0123456789abcdefghijklmnop",
            ),
        ];
        let (status, body) = profile(&api, &through);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("usr_admin"), "{body}");
    }
}
