//! The demo resource API behind the local gateway: what a company's backend sees after the
//! authorizer allowed a call (the authorizer context names the user and the app).

use super::gateway::gateway_message;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use xecure::gateway::routes::Route;

/// Orders per user, in memory: enough to show reads and writes per scope.
#[derive(Default)]
pub struct DemoApi {
    orders: Mutex<BTreeMap<String, Vec<Value>>>,
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

impl DemoApi {
    pub fn handle(&self, route: &Route, path: &str, context: &Value, body: &str) -> Response<Body> {
        let sub = context["sub"].as_str().unwrap_or_default().to_owned();
        let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        let mine = orders.entry(sub.clone()).or_default();
        let id = path.rsplit('/').next().unwrap_or_default();
        match (route.method.as_str(), route.path.as_str()) {
            ("GET", "/profile") => json_response(
                200,
                &json!({"sub": sub, "client_id": context["client_id"], "scope": context["scope"]}),
            ),
            ("GET", "/orders") => json_response(200, &json!({ "orders": mine })),
            ("POST", "/orders") => {
                let item: Value = serde_json::from_str(body).unwrap_or(json!({}));
                let order = json!({"id": format!("ord_{}", mine.len() + 1), "item": item["item"], "placed_by": context["client_id"]});
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
