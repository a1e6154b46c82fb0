//! Client authentication at the token, revocation, introspection and PAR endpoints
//! (RFC 6749 section 2.3): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523, `client_assertion.rs`), and `none` for public clients, which must then use
//! PKCE. A client must use exactly the method it is registered
//! with (security rule 21): a secret sent another way is refused, as RFC 7591 section 2
//! registers one `token_endpoint_auth_method` per client.

use super::client_assertion::{
    check_assertion_header, claimed_client, verify_client_assertion, JWT_BEARER, MAX_ASSERTION_LEN,
};
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::domain::{AuthMethod, Client, ClientId, ClientSecret, TokenDigest};
use crate::ports::ClientStore;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// How the client presented itself, before checking.
#[derive(Debug)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<ClientSecret>,
    /// A `private_key_jwt` assertion (RFC 7523 section 2.2).
    pub assertion: Option<String>,
    /// The method the request used: Basic header, secret in the body, an assertion, or the
    /// id alone.
    pub method: AuthMethod,
}

/// What checking an assertion needs besides the client: where it may be addressed, the
/// time, and where its `jti` is marked used.
pub struct AssertionContext<'a> {
    /// What `aud` must name: the issuer identifier (RFC 7523 section 3 allows it, and
    /// draft-ietf-oauth-rfc7523bis requires it, closing audience injection).
    pub audiences: Vec<String>,
    pub now: crate::domain::Timestamp,
    pub replay: &'a dyn crate::ports::ProofReplayStore,
    /// The client's keys, registered or fetched from its `jwks_uri`.
    pub keys: &'a super::client_keys::ClientKeys,
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
    let assertion_sent =
        params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some();
    if let Some(header) = basic {
        // RFC 6749 section 2.3: "The client MUST NOT use more than one authentication method
        // in each request."
        if params.get("client_secret").is_some() || assertion_sent {
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
            assertion: None,
            method: AuthMethod::ClientSecretBasic,
        });
    }
    if assertion_sent {
        let assertion = params.get("client_assertion").unwrap_or_default();
        if assertion.is_empty() || assertion.len() > MAX_ASSERTION_LEN {
            return Err(invalid_client("client_assertion missing or too long"));
        }
        // RFC 7523 section 2.2: the one assertion type, and no secret beside it.
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                format!("client_assertion_type must be {JWT_BEARER}"),
            ));
        }
        if params.get("client_secret").is_some() {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "use one client authentication method, not two",
            ));
        }
        let client_id = match params.get("client_id") {
            Some(id) => id.to_owned(),
            None => claimed_client(assertion)
                .ok_or_else(|| invalid_client("assertion names no client"))?,
        };
        return Ok(PresentedClient {
            client_id,
            secret: None,
            assertion: Some(assertion.to_owned()),
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| invalid_client("no client credentials"))?;
    let secret = params.get("client_secret").map(ClientSecret::new);
    Ok(PresentedClient {
        client_id: client_id.to_owned(),
        assertion: None,
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
        .or_else(|| params.get("client_id").map(str::to_owned))
        .or_else(|| params.get("client_assertion").and_then(claimed_client))
        .and_then(|id| ClientId::parse(&id).ok())
}

/// Checks the presented credentials against the registered client. Every failure is the
/// same `invalid_client` to the caller; the cause goes to the logs.
pub async fn authenticate_client(
    store: &dyn ClientStore,
    presented: PresentedClient,
    assertions: &AssertionContext<'_>,
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
    match (&presented.secret, &presented.assertion) {
        (_, Some(assertion)) => {
            // The cause may quote the caller's text or the client's host: kept short (rule 19).
            let invalid =
                |cause: String| invalid_client(&cause.chars().take(160).collect::<String>());
            let header = check_assertion_header(&client, assertion).map_err(invalid)?;
            let keys = assertions
                .keys
                .keys_for(&client, header.kid.as_deref())
                .await
                .map_err(invalid)?;
            let verified = verify_client_assertion(
                &client,
                &keys,
                &header,
                assertion,
                &assertions.audiences,
                assertions.now,
            )
            .map_err(invalid)?;
            // OIDC Core section 9: the jti prevents reuse; one conditional write (rule 17),
            // in the namespace of this client's assertions.
            // `#` is in no client id: one client's jti never stands for another's.
            let id = TokenDigest::of(&format!("assertion#{}#{}", client.id, verified.jti));
            let first_use = assertions
                .replay
                .use_proof_once(&id, verified.usable_until, assertions.now)
                .await
                .map_err(|e| {
                    OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again shortly")
                        .with_cause(e.to_string())
                })?;
            if first_use {
                Ok(client)
            } else {
                Err(invalid_client("client assertion replayed"))
            }
        }
        (None, None) => Ok(client), // registered for `none`: a public client, PKCE protects the code
        (Some(secret), None) if client.verify_secret(secret) => Ok(client),
        (Some(_), None) => Err(invalid_client("wrong client secret")),
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
