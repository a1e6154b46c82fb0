//! Fetching a client's JWK Set from its `jwks_uri`: one GET, no redirects (a redirect could
//! lead anywhere), no proxy, every resolved address checked (`address::address_allowed`),
//! a deadline (security rule 18) and a size cap read as it streams in (rule 19).

use super::address::{address_allowed, check_jwks_uri};
use crate::config::RemoteHosts;
use crate::oauth::client_assertion::{check_client_jwks, MAX_JWKS_BYTES};
use jsonwebtoken::jwk::JwkSet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The whole fetch, connection to last byte: well inside the token function's timeout, and
/// what a client whose key host hangs waits before `invalid_client`.
pub const FETCH_DEADLINE: Duration = Duration::from_secs(3);
const CONNECT_DEADLINE: Duration = Duration::from_secs(2);

/// Resolves a name and keeps only the addresses the server may connect to; none left is an
/// error. reqwest connects to what this returns, so the check and the connection see the
/// same addresses (no second lookup a rebinding name could answer differently).
struct CheckedResolver {
    hosts: RemoteHosts,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let hosts = self.hosts;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| address_allowed(address.ip(), hosts))
                .collect();
            if resolved.is_empty() {
                return Err(format!("{host} has no address the server may fetch from").into());
            }
            Ok(Box::new(resolved.into_iter()) as Addrs)
        })
    }
}

/// The fetcher of one process; its HTTP client (TLS roots, connection pool) is built on
/// first use, so functions that never fetch pay nothing at cold start.
pub struct JwksFetcher {
    hosts: RemoteHosts,
    client: OnceLock<reqwest::Client>,
}

impl JwksFetcher {
    pub fn new(hosts: RemoteHosts) -> Self {
        JwksFetcher {
            hosts,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(self.hosts == RemoteHosts::PublicOnly)
            .timeout(FETCH_DEADLINE)
            .connect_timeout(CONNECT_DEADLINE)
            .dns_resolver(Arc::new(CheckedResolver { hosts: self.hosts }))
            .user_agent(concat!("xecure/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// The JWK Set at `uri`, checked as a registered one is (`check_client_jwks`). The error
    /// says what went wrong, for the logs.
    pub async fn fetch(&self, uri: &str) -> Result<JwkSet, String> {
        let url = check_jwks_uri(uri, self.hosts)?;
        let mut response = self
            .client()?
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(fetch_failed)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("jwks_uri answered {}", response.status()));
        }
        let too_large = || format!("jwks_uri answered more than {MAX_JWKS_BYTES} bytes");
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch_failed)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| "jwks_uri answered no JSON".to_owned())?;
        check_client_jwks(&value).map_err(|why| format!("jwks_uri: {why}"))?;
        serde_json::from_value(value).map_err(|e| format!("jwks_uri: {e}"))
    }
}

/// Why a fetch failed, root cause first (the audit reason is cut short: "connection
/// refused" must survive, not "error sending request"), without the URL, which may carry
/// the client's query string.
fn fetch_failed(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut causes = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.reverse();
    format!("jwks_uri fetch failed: {}", causes.join(" <- "))
}
