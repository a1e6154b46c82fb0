//! The pushed authorization request endpoint (RFC 9126): a client posts its authorization
//! request with its credentials, it is validated as `/authorize` would, kept for a minute,
//! and the client sends the browser to `/authorize` with the `request_uri` alone.

use super::TokenService;
use crate::audit::{AuditDraft, RequestContext};
use crate::domain::{AuditEventKind, AuditOutcome, OpaqueToken, PushedRequest, REQUEST_URI_PREFIX};
use crate::oauth::authorize::{validate_authorize_request, AuthorizeRejection};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use serde::Serialize;
use std::time::Duration;

/// RFC 9126 section 2.2: "a short lifetime (e.g., 60 seconds)"; it only has to cover the
/// browser's redirect to `/authorize`.
pub const PUSHED_REQUEST_TTL: Duration = Duration::from_secs(60);

/// At most this many parameters, of this many bytes in all, are kept (security rule 19: what
/// a client can make us store is bounded).
const MAX_PUSHED_PARAMS: usize = 32;
const MAX_PUSHED_BYTES: usize = 8 * 1024;

/// RFC 9126 section 2.2 response (201 Created).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushedAuthorizationResponse {
    pub request_uri: String,
    pub expires_in: u64,
}

fn invalid_request(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

impl TokenService {
    /// `POST /par`: authenticates the client as the token endpoint does (RFC 9126 section
    /// 2), validates the request as `/authorize` does (section 2.1), and keeps it.
    pub async fn push_authorization_request(
        &self,
        authorization: Option<&str>,
        params: &Params,
        context: &RequestContext,
    ) -> Result<PushedAuthorizationResponse, OAuthError> {
        let client = self.authenticate(authorization, params, context).await?;
        // Section 2.1: "The request_uri authorization request parameter is one exception,
        // and it MUST NOT be provided."
        if params.get("request_uri").is_some() {
            return Err(invalid_request("request_uri may not be pushed"));
        }
        // The credentials are not part of the authorization request.
        let mut pairs: Vec<(String, String)> = params
            .pairs()
            .into_iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "client_secret" | "client_assertion" | "client_assertion_type"
                )
            })
            .collect();
        let size: usize = pairs.iter().map(|(n, v)| n.len() + v.len()).sum();
        if pairs.len() > MAX_PUSHED_PARAMS || size > MAX_PUSHED_BYTES {
            return Err(invalid_request("the authorization request is too large"));
        }
        // Section 2.1: the client_id of the request is the authenticated client's.
        if !pairs.iter().any(|(name, _)| name == "client_id") {
            pairs.push(("client_id".into(), client.id.to_string()));
        }
        let request = Params::from_pairs(pairs.clone())?;
        if let Err(rejection) =
            validate_authorize_request(self.deps.clients.as_ref(), &self.deps.catalogue, &request)
                .await
        {
            // Section 2.3: errors as the token endpoint's, never a redirect.
            return Err(match rejection {
                AuthorizeRejection::ShowError(error) => error,
                AuthorizeRejection::Redirect { error, .. } => error,
            });
        }
        let now = self.now();
        let handle = OpaqueToken::generate(self.deps.rng.as_ref());
        let pushed = PushedRequest {
            digest: handle.digest(),
            client_id: client.id.clone(),
            params: pairs,
            expires_at: now.plus(PUSHED_REQUEST_TTL),
        };
        self.store().put_pushed_request(&pushed).await?;
        let draft = AuditDraft::new(AuditEventKind::AuthorizationPushed, AuditOutcome::Success)
            .client(&client.id)
            .detail("request", handle.digest().log_prefix());
        self.audit(draft, context).await;
        Ok(PushedAuthorizationResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", handle.secret()),
            expires_in: PUSHED_REQUEST_TTL.as_secs(),
        })
    }
}
