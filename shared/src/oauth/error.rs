//! One enum of RFC error codes (design rule 6). The client sees the code and a description
//! safe to show; the cause for the logs travels separately and never reaches the client.

use std::fmt;

/// Error codes of RFC 6749 sections 4.1.2.1 and 5.2, RFC 7009 section 2.2.1 and OpenID-style
/// `prompt=none` answers used by OAuth 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    UnsupportedTokenType,
    LoginRequired,
    ConsentRequired,
    /// OpenID Connect Core section 3.1.2.6: the `request` and `request_uri` parameters
    /// (signed request objects) are not served here.
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 6750 section 3.1: the access token lacks a scope the resource needs.
    InsufficientScope,
    /// RFC 7591 section 3.2.2.
    InvalidRedirectUri,
    InvalidClientMetadata,
    /// RFC 6750 section 3.1: a bad initial or registration access token.
    InvalidToken,
    /// Not an RFC 6749 code: RFC 6585 section 4's 429 in the RFC 6749 section 5.2 shape, for
    /// a client or token over its rate (security rule 19), with Retry-After.
    TooManyRequests,
    /// RFC 9449 section 5.0 and 7.1: a DPoP proof missing where required, or invalid.
    InvalidDpopProof,
    /// OpenID Connect Core section 3.1.2.6, used by RFC 9126 section 4: a `request_uri`
    /// that is unknown, expired, used or another client's.
    InvalidRequestUri,
    /// RFC 9449 section 8: the proof needs a nonce this server provides (in `DPoP-Nonce`).
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// HTTP status when the error is returned directly (token, revocation and introspection
    /// endpoints). RFC 6749 section 5.2: 400 unless the client failed to authenticate (401).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            ErrorCode::TooManyRequests => 429,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: what the client is told (`code`, `description`) and, apart from it, what
/// the logs get (`cause`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Shown to the client as `error_description`: no secrets, no internals.
    pub description: String,
    /// For logs only.
    pub cause: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            cause: None,
        }
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// A request that ran past its deadline (`budget::REQUEST_DEADLINE`, rule 18): 503
    /// `temporarily_unavailable`, so the client retries later.
    pub fn deadline_passed() -> Self {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, try again",
        )
        .with_cause("request deadline passed")
    }
}

/// A dependency failed: the client is told to try again (503), the logs get why.
pub(crate) fn unavailable(error: impl std::fmt::Display) -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the service is temporarily unavailable, try again",
    )
    .with_cause(error.to_string())
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_rfc_6749_section_5_2() {
        assert_eq!(ErrorCode::InvalidClient.http_status(), 401);
        assert_eq!(ErrorCode::InvalidGrant.http_status(), 400);
        assert_eq!(
            ErrorCode::UnsupportedGrantType.as_str(),
            "unsupported_grant_type"
        );
    }

    #[test]
    fn the_cause_stays_out_of_the_client_message() {
        let error = OAuthError::new(ErrorCode::InvalidGrant, "the code is invalid or expired")
            .with_cause("code replayed");
        assert!(!error.to_string().contains("replayed"));
    }
}
