//! `/authorize` with a `request_uri` from `/par` (RFC 9126 section 4): the pushed request
//! is taken once and stands for the whole authorization request.

use super::AuthorizationFlow;
use crate::domain::{ClientId, OpaqueToken, REQUEST_URI_PREFIX};
use crate::oauth::{ErrorCode, OAuthError, Params};

fn invalid_request_uri(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestUri, description)
}

/// Where an authorization request's parameters came from.
pub(super) struct AuthorizationParams {
    pub params: Params,
    /// Through `/par`: validated with the client's credentials, then taken here once.
    pub pushed: bool,
}

impl AuthorizationFlow {
    /// The parameters `params` stand for: the pushed request's when they carry a
    /// `request_uri` (section 4: "the authorization server ... MUST ... use the parameters of
    /// the pushed request"; other parameters but `client_id` are not read), else their own.
    /// A refusal is shown on our page: before the request is known nothing redirects (rule 2).
    pub(super) async fn authorization_params(
        &self,
        params: &Params,
    ) -> Result<AuthorizationParams, OAuthError> {
        // Any other `request_uri` (a request object by reference) is refused by validation.
        let Some(handle) = params
            .get("request_uri")
            .and_then(|uri| uri.strip_prefix(REQUEST_URI_PREFIX))
        else {
            return Ok(AuthorizationParams {
                params: params.clone(),
                pushed: false,
            });
        };
        let client_id = ClientId::parse(params.require("client_id")?)
            .map_err(|_| invalid_request_uri("client_id is not valid"))?;
        let digest = OpaqueToken::new(handle).digest();
        // Section 4: "the client_id ... MUST be the same" as the pushed request's; another
        // client's attempt finds nothing and spends nothing.
        let Some(pushed) = self
            .store
            .take_pushed_request(&digest, &client_id, self.deps.clock.now())
            .await?
        else {
            return Err(invalid_request_uri(
                "request_uri is unknown, expired, already used or another app's",
            ));
        };
        Ok(AuthorizationParams {
            params: Params::from_pairs(pushed.params)?,
            pushed: true,
        })
    }
}
