//! API Gateway authorizer events in, responses out. Events are read with the
//! `aws_lambda_events` types; anything that does not parse is a request without a token.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::http::header::{AUTHORIZATION, USER_AGENT};
use aws_lambda_events::http::HeaderMap;
use serde_json::{json, Map, Value};
use xecure::api_usage::plans::usage_identifier_key;
use xecure::audit::RequestContext;
use xecure::authorizer::policy::ApiArn;
use xecure::authorizer::{Decision, Verdict};
use xecure::jwt::AccessTokenClaims;
use xecure::oauth::bearer::{bearer_token, BearerError};

/// Which kind of event came in, so the answer has the shape API Gateway expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// REST API, TOKEN or REQUEST authorizer: an IAM policy, or the `Unauthorized` error.
    Rest,
    /// HTTP API payload 2.0 with simple responses: `isAuthorized`.
    HttpSimple,
    /// HTTP API payload 2.0 with IAM policy responses.
    HttpPolicy,
}

/// The facts the decision needs, borrowed from nothing: the event is parsed once.
pub struct AuthorizerInput {
    pub kind: EventKind,
    pub authorization: Result<String, BearerError>,
    pub arn: Option<String>,
    /// Request id, source IP and user agent where the event carries them (not TOKEN events).
    pub context: RequestContext,
}

fn user_agent_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn one_header(headers: &HeaderMap) -> Result<Option<String>, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let first = values.next();
    if values.next().is_some() {
        // Two Authorization headers: RFC 6750 section 2 allows one method, one token.
        return Err(BearerError::Malformed);
    }
    match first {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.to_owned()))
            .map_err(|_| BearerError::Malformed),
    }
}

fn token_of(header: Result<Option<String>, BearerError>) -> Result<String, BearerError> {
    let header = header?;
    bearer_token(header.as_deref()).map(str::to_owned)
}

/// Reads any of the three event shapes. `http_simple` chooses the HTTP API response format.
pub fn parse_event(event: Value, http_simple: bool) -> AuthorizerInput {
    let version = event
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let kind_field = event.get("type").and_then(Value::as_str).map(str::to_owned);
    match (version.as_deref(), kind_field.as_deref()) {
        (Some("2.0"), _) => {
            let kind = if http_simple {
                EventKind::HttpSimple
            } else {
                EventKind::HttpPolicy
            };
            match serde_json::from_value::<ApiGatewayV2CustomAuthorizerV2Request>(event) {
                Ok(request) => {
                    let http = &request.request_context.http;
                    let context = RequestContext {
                        source_ip: http.source_ip.clone(),
                        user_agent: http.user_agent.clone(),
                        request_id: request.request_context.request_id.clone(),
                        operator: None,
                    };
                    AuthorizerInput {
                        kind,
                        authorization: token_of(one_header(&request.headers)),
                        arn: request.route_arn,
                        context,
                    }
                }
                Err(_) => garbled(kind),
            }
        }
        (_, Some("TOKEN")) => {
            match serde_json::from_value::<ApiGatewayCustomAuthorizerRequest>(event) {
                Ok(request) => AuthorizerInput {
                    kind: EventKind::Rest,
                    authorization: token_of(Ok(request.authorization_token)),
                    arn: request.method_arn,
                    context: RequestContext::default(),
                },
                Err(_) => garbled(EventKind::Rest),
            }
        }
        (_, Some("REQUEST")) => {
            match serde_json::from_value::<ApiGatewayCustomAuthorizerRequestTypeRequest>(event) {
                Ok(request) => {
                    // multiValueHeaders shows a repeated header; headers keeps only one.
                    let header = if request.multi_value_headers.is_empty() {
                        one_header(&request.headers)
                    } else {
                        one_header(&request.multi_value_headers)
                    };
                    let context = RequestContext {
                        source_ip: request
                            .request_context
                            .identity
                            .as_ref()
                            .and_then(|identity| identity.source_ip.clone()),
                        user_agent: user_agent_of(&request.headers),
                        request_id: request.request_context.request_id.clone(),
                        operator: None,
                    };
                    AuthorizerInput {
                        kind: EventKind::Rest,
                        authorization: token_of(header),
                        arn: request.method_arn,
                        context,
                    }
                }
                Err(_) => garbled(EventKind::Rest),
            }
        }
        _ => garbled(EventKind::Rest),
    }
}

fn garbled(kind: EventKind) -> AuthorizerInput {
    AuthorizerInput {
        kind,
        authorization: Err(BearerError::Malformed),
        arn: None,
        context: RequestContext::default(),
    }
}

/// What the backend receives as `$context.authorizer.*`: strings and numbers only (REST
/// accepts nothing else).
fn context_of(decision: &Decision) -> Value {
    let claims = match &decision.verdict {
        Verdict::Allow { claims } | Verdict::Forbidden { claims } => claims,
        _ => return Value::Object(Map::new()),
    };
    json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "grant_id": claims.gid.clone().unwrap_or_default(),
        "exp": claims.exp,
    })
}

/// Why the authorizer answers with an error instead of a policy. API Gateway caches only
/// policies (and simple responses), so neither error is reused for later calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No usable token: the exact `Unauthorized` error, which a REST API answers with 401 and
    /// its UNAUTHORIZED gateway response ("Output from an API Gateway Lambda authorizer").
    Unauthorized,
    /// The authorizer cannot decide safely (revocations or keys unavailable): any other
    /// error. REST answers with its AUTHORIZER_FAILURE gateway response (the template makes
    /// it 503 with Retry-After), an HTTP API with 500 ("If API Gateway can't invoke your
    /// Lambda authorizer, or your Lambda authorizer returns a response in an invalid format,
    /// clients receive a 500"). Either way the client is not told to get a new token (a 401
    /// would make it refresh for nothing), and the next call is decided afresh instead of
    /// being denied from the cache for the TTL.
    Unavailable,
}

/// `usageIdentifierKey`: the calling app's usage-plan key on this API stage (REST only; HTTP
/// APIs have no usage plans and would reject the field as an invalid response).
fn usage_key(claims: &AccessTokenClaims, arn: Option<&str>) -> Option<String> {
    let arn = ApiArn::parse(arn?)?;
    Some(usage_identifier_key(
        &arn.api_id,
        &arn.stage,
        &claims.client_id,
    ))
}

pub fn respond(kind: EventKind, decision: &Decision, arn: Option<&str>) -> Result<Value, Refusal> {
    let claims = match &decision.verdict {
        Verdict::Allow { claims } | Verdict::Forbidden { claims } => Some(claims),
        Verdict::Unauthorized { .. } => None,
        Verdict::FailClosed { .. } => return Err(Refusal::Unavailable),
    };
    match (kind, &decision.policy, claims) {
        (EventKind::HttpSimple, _, _) => Ok(json!({
            "isAuthorized": matches!(decision.verdict, Verdict::Allow { .. }),
            "context": context_of(decision),
        })),
        (_, Some(policy), Some(claims)) => {
            let mut answer = json!({
                "principalId": claims.sub,
                "policyDocument": policy,
                "context": context_of(decision),
            });
            if kind == EventKind::Rest {
                if let Some(key) = usage_key(claims, arn) {
                    answer["usageIdentifierKey"] = Value::from(key);
                }
            }
            Ok(answer)
        }
        (EventKind::Rest, _, _) => Err(Refusal::Unauthorized),
        // HTTP APIs have no way to answer 401 from a Lambda authorizer (401 is documented only
        // for a missing identity source): an explicit Deny, 403. A bad token stays bad, so
        // API Gateway caching this Deny for the TTL refuses nothing it should allow.
        (EventKind::HttpPolicy, _, _) => Ok(json!({
            "principalId": "anonymous",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": "execute-api:Invoke",
                    "Effect": "Deny",
                    "Resource": arn.unwrap_or("*"),
                }],
            },
        })),
    }
}
