//! What API Gateway answers by itself on the protected routes of a REST API: the gateway
//! responses the template configures (`GatewayResponses`) and the local gateway answers with.
//! The template check keeps the two equal.
//!
//! HTTP APIs have no gateway responses: there a missing token is 401 and a deny 403 with
//! API Gateway's own bodies and no `WWW-Authenticate` (README, "HTTP API differences").

/// One gateway response type, as the REST API answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayResponse {
    /// API Gateway's response type (`$context.error.responseType` in access logs).
    pub response_type: &'static str,
    pub status: u16,
    pub headers: &'static [(&'static str, &'static str)],
    /// The body is `{"message": <message>}`, as API Gateway's own errors are.
    pub message: &'static str,
}

/// No token, or one the authorizer refused (missing, garbled, expired, revoked, a bad or
/// missing DPoP proof): RFC 6750 section 3.1 says a request that lacks authentication gets
/// no error code, and the authorizer cannot tell "lacks" from "bad" without a cost, so a
/// challenge per scheme without one: `Bearer`, and `DPoP` with the proof algorithms (RFC 9449
/// section 7.1). Clients refresh on 401.
pub const UNAUTHORIZED: GatewayResponse = GatewayResponse {
    response_type: "UNAUTHORIZED",
    status: 401,
    headers: &[(
        "WWW-Authenticate",
        "Bearer, DPoP algs=\"ES256 EdDSA RS256 PS256\"",
    )],
    message: "Unauthorized",
};

/// A good token without the route's scope (the policy's explicit Deny): RFC 6750 section
/// 3.1 `insufficient_scope`, 403.
pub const ACCESS_DENIED: GatewayResponse = GatewayResponse {
    response_type: "ACCESS_DENIED",
    status: 403,
    headers: &[("WWW-Authenticate", "Bearer error=\"insufficient_scope\"")],
    message: "The token does not allow this route",
};

/// The authorizer failed or failed closed (keys or revocations unavailable, a crash, a
/// timeout): 503 with Retry-After, so clients retry the same token instead of refreshing it.
/// API Gateway does not cache it.
pub const AUTHORIZER_FAILURE: GatewayResponse = GatewayResponse {
    response_type: "AUTHORIZER_FAILURE",
    status: 503,
    headers: &[("Retry-After", "5")],
    message: "The authorizer is unavailable: retry shortly",
};

/// The app's usage-plan key is on no plan of the stage (`PerAppLimits=enforced`).
pub const INVALID_API_KEY: GatewayResponse = GatewayResponse {
    response_type: "INVALID_API_KEY",
    status: 403,
    headers: &[],
    message: "This app has no usage plan on this API: the operator assigns one (xecure usage-plan assign)",
};

/// The stage's, the route's or the app's plan's rate or burst was exceeded (rule 19: 429
/// with Retry-After).
pub const THROTTLED: GatewayResponse = GatewayResponse {
    response_type: "THROTTLED",
    status: 429,
    headers: &[("Retry-After", "1")],
    message: "Too many requests: slow down",
};

/// The app used its plan's quota for the period (it resets at the period's start, UTC).
pub const QUOTA_EXCEEDED: GatewayResponse = GatewayResponse {
    response_type: "QUOTA_EXCEEDED",
    status: 429,
    headers: &[],
    message: "This app's request quota for the period is used up",
};

/// Every gateway response the template sets on the REST API.
pub const ALL: [GatewayResponse; 6] = [
    UNAUTHORIZED,
    ACCESS_DENIED,
    AUTHORIZER_FAILURE,
    INVALID_API_KEY,
    THROTTLED,
    QUOTA_EXCEEDED,
];

impl GatewayResponse {
    /// The body API Gateway sends: `{"message": ...}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The static challenge (the template's gateway response) names exactly the proof
    /// algorithms the authorizer accepts.
    #[test]
    fn the_dpop_challenge_names_the_proof_algorithms() {
        let (name, challenge) = UNAUTHORIZED.headers[0];
        assert_eq!(name, "WWW-Authenticate");
        let algs = format!("DPoP algs=\"{}\"", crate::dpop::proof_algorithm_names());
        assert!(challenge.ends_with(&algs), "{challenge}");
    }
}
