//! The company's API as a third-party app calls it: through the local API Gateway of crate
//! `xecure-local` (the one `xecure serve` runs), over the same store and keys as the
//! functions under test. Each `api_gateway()` is a new gateway: a new authorizer container
//! with an empty policy cache, as every container is within the revocation bound.

use crate::system::{System, ISSUER};
use lambda_http::http::header::AUTHORIZATION;
use lambda_http::http::StatusCode;
use lambda_http::Body;
use std::net::SocketAddr;
use xecure_local::api_gateway::{AuthorizerMode, LocalData, LocalSystem};

/// Where the local gateway sees the app's calls come from.
const APP_ADDRESS: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7)),
    44321,
);

/// The local API Gateway in front of the demo API, as the template's REST API with a TOKEN
/// authorizer.
pub struct ApiGateway(LocalSystem);

impl System {
    /// A new API Gateway (a cold authorizer container) over this system's store and keys.
    pub async fn api_gateway(&self) -> ApiGateway {
        let data = LocalData {
            store: self.store.clone(),
            sealer: Some(self.world.sealer.clone()),
        };
        let gateway = LocalSystem::build(&data, ISSUER, AuthorizerMode::Token)
            .await
            .expect("the local API Gateway starts");
        ApiGateway(gateway)
    }
}

impl ApiGateway {
    /// `method path` of the demo API with `access_token` as the bearer, if any: the status
    /// the app sees.
    pub async fn call(&self, method: &str, path: &str, access_token: Option<&str>) -> StatusCode {
        let bearer = access_token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|value| (AUTHORIZATION.as_str(), value.as_str()))
            .collect();
        self.send(method, path, &headers).await
    }

    /// `method path` with exactly `headers` (an `Authorization` of any scheme, a `DPoP`
    /// proof): the status the app sees.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> StatusCode {
        let mut request = lambda_http::http::Request::builder()
            .method(method)
            .uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::Empty).expect("a request");
        self.0.handle(request, APP_ADDRESS).await.status()
    }
}
