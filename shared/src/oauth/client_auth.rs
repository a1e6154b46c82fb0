//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 section 2.3): `client_secret_basic`, `client_secret_post`, and `none` for public
//! clients, which must then use PKCE. A client must use exactly the method it is registered
//! with (security rule 21): a secret sent another way is refused, as RFC 7591 section 2
//! registers one `token_endpoint_auth_method` per client.

use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::domain::{AuthMethod, Client, ClientId, ClientSecret};
use crate::ports::ClientStore;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// How the client presented itself, before checking.
#[derive(Debug)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<ClientSecret>,
    /// The method the request used: Basic header, secret in the body, or the id alone.
    pub method: AuthMethod,
}

fn invalid_client(cause: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, "client authentication failed").with_cause(cause)
}

/// Decodes `Authorization: Basic`. RFC 6749 section 2.3.1: the client id and secret are
/// form-urlencoded before base64, so they are decoded after.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |raw: &str| -> Option<String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={raw}")).ok()?;
        pairs.into_iter().next().map(|(_, value)| value)
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Reads the client's credentials from the Authorization header or the body.
pub fn presented_client(
    authorization: Option<&str>,
    params: &Params,
) -> Result<PresentedClient, OAuthError> {
    let basic = authorization.filter(|h| h.trim_start().to_ascii_lowercase().starts_with("basic "));
    if let Some(header) = basic {
        // RFC 6749 section 2.3: "The client MUST NOT use more than one authentication method
        // in each request."
        if params.get("client_secret").is_some() {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "use one client authentication method, not two",
            ));
        }
        let (client_id, secret) =
            parse_basic(header).ok_or_else(|| invalid_client("malformed Basic credentials"))?;
        if params
            .get("client_id")
            .is_some_and(|body_id| body_id != client_id)
        {
            return Err(invalid_client(
                "client_id in the body differs from the Basic credentials",
            ));
        }
        return Ok(PresentedClient {
            client_id,
            secret: Some(ClientSecret::new(secret)),
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| invalid_client("no client credentials"))?;
    let secret = params.get("client_secret").map(ClientSecret::new);
    Ok(PresentedClient {
        client_id: client_id.to_owned(),
        method: if secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
        secret,
    })
}

/// The client id a request claims, Basic header first: what a `client_auth_failed` record
/// names, whether or not authentication got that far.
pub fn claimed_client_id(authorization: Option<&str>, params: &Params) -> Option<ClientId> {
    let basic = authorization.and_then(parse_basic).map(|(id, _)| id);
    basic
        .as_deref()
        .or_else(|| params.get("client_id"))
        .and_then(|id| ClientId::parse(id).ok())
}

/// Checks the presented credentials against the registered client. Every failure is the
/// same `invalid_client` to the caller; the cause goes to the logs.
pub async fn authenticate_client(
    store: &dyn ClientStore,
    presented: PresentedClient,
) -> Result<Client, OAuthError> {
    let id =
        ClientId::parse(&presented.client_id).map_err(|_| invalid_client("malformed client_id"))?;
    let client = store
        .get_client(&id)
        .await
        .map_err(|e| {
            OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again shortly")
                .with_cause(e.to_string())
        })?
        .ok_or_else(|| invalid_client("unknown client"))?;
    let registered = client.token_endpoint_auth_method();
    if presented.method != registered {
        return Err(invalid_client(&format!(
            "used {} but is registered for {}",
            presented.method.as_str(),
            registered.as_str()
        )));
    }
    match &presented.secret {
        None => Ok(client), // registered for `none`: a public client, PKCE protects the code
        Some(secret) if client.verify_secret(secret) => Ok(client),
        Some(_) => Err(invalid_client("wrong client secret")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:p%40ss%3Aword"));
        assert_eq!(
            parse_basic(&header),
            Some(("my app".into(), "p@ss:word".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let params = Params::from_urlencoded(b"client_secret=x").unwrap();
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let error = presented_client(Some(&header), &params).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }
}
