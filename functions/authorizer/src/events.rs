//! API Gateway authorizer events in, responses out. Events are read from their JSON text with
//! the `aws_lambda_events` types and answers written as JSON text, with no JSON tree in
//! between (issue #21 goal 1); anything that does not parse is a request without a token.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::http::header::{AUTHORIZATION, USER_AGENT};
use aws_lambda_events::http::HeaderMap;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use xecure::api_usage::plans::usage_identifier_key;
use xecure::audit::RequestContext;
use xecure::authorizer::dpop::{CalledRequest, Presented};
use xecure::authorizer::policy::ApiArn;
use xecure::authorizer::{Decision, Verdict};
use xecure::dpop::proof_header;
use xecure::jwt::AccessTokenClaims;
use xecure::oauth::bearer::{presented_token, BearerError, TokenScheme};

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
    /// The scheme the token came under (`Bearer` or `DPoP`).
    pub scheme: TokenScheme,
    /// The request's method, URL and DPoP proof: REQUEST and HTTP API events only.
    pub request: Option<CalledRequest>,
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

fn one_header(headers: &HeaderMap) -> Result<Option<&str>, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let first = values.next();
    if values.next().is_some() {
        // Two Authorization headers: RFC 6750 section 2 allows one method, one token.
        return Err(BearerError::Malformed);
    }
    match first {
        None => Ok(None),
        Some(value) => value.to_str().map(Some).map_err(|_| BearerError::Malformed),
    }
}

fn token_of(
    header: Result<Option<&str>, BearerError>,
) -> (Result<String, BearerError>, TokenScheme) {
    let presented = header.and_then(|header| {
        presented_token(header).map(|(scheme, token)| (scheme, token.to_owned()))
    });
    match presented {
        Ok((scheme, token)) => (Ok(token), scheme),
        Err(error) => (Err(error), TokenScheme::Bearer),
    }
}

/// The request as its caller sent it, for the proof's `htm` and `htu`: the host is the
/// event's `requestContext.domainName`, which API Gateway sets (never a header the caller
/// could choose), the scheme `https` (all API Gateway serves; `http` only where the
/// `X-Forwarded-Proto` of a plain-http gateway, the local one, says so), and the path the one
/// the caller used, stage or base path included, set through `Url` so that a `?` or `#` in
/// it stays part of the path.
fn called_request(
    headers: &HeaderMap,
    method: Option<&str>,
    path: Option<&str>,
    domain: Option<&str>,
) -> Option<CalledRequest> {
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok());
    let scheme = if proto == Some("http") {
        "http"
    } else {
        "https"
    };
    let mut url = url::Url::parse(&format!("{scheme}://{}/", domain?)).ok()?;
    if url.path() != "/" || url.query().is_some() {
        return None;
    }
    url.set_path(path?);
    Some(CalledRequest {
        proof: proof_header(headers).map(|proof| proof.map(str::to_owned)),
        method: method?.to_owned(),
        url: url.to_string(),
    })
}

/// What chooses the event's shape (`version`, `type`), the REST REQUEST event's
/// `requestContext.domainName`, which its typed event drops, and all of a TOKEN event
/// (`authorizationToken`, `methodArn`), which is then read in this one pass.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventHead<'a> {
    #[serde(default, borrow)]
    version: Member<'a>,
    #[serde(rename = "type", default, borrow)]
    kind: Member<'a>,
    #[serde(default, borrow)]
    request_context: Option<ContextMember<'a>>,
    #[serde(default, borrow)]
    authorization_token: Member<'a>,
    #[serde(default, borrow)]
    method_arn: Member<'a>,
}

/// A member of the event: a string (borrowed from the event's text unless it has escapes),
/// absent, or any other JSON value (which API Gateway never sends: a TOKEN event with one is
/// garbled). Read by its own visitor, not as an untagged enum, which would copy the value into
/// a buffer first and the string out of it again.
#[derive(Default)]
enum Member<'a> {
    Text(Cow<'a, str>),
    Other,
    #[default]
    Absent,
}

impl<'a> Member<'a> {
    fn text(&self) -> Option<&str> {
        match self {
            Member::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The string or its absence; another value is an error.
    fn into_text(self) -> Result<Option<Cow<'a, str>>, ()> {
        match self {
            Member::Text(text) => Ok(Some(text)),
            Member::Absent => Ok(None),
            Member::Other => Err(()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor(PhantomData))
    }
}

struct MemberVisitor<'a>(PhantomData<&'a str>);

impl<'de: 'a, 'a> Visitor<'de> for MemberVisitor<'a> {
    type Value = Member<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Member<'a>, E> {
        Ok(Member::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Member<'a>, E> {
        Ok(Member::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Member<'a>, E> {
        Ok(Member::Text(Cow::Owned(text)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Member<'a>, E> {
        Ok(Member::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Member<'a>, E> {
        Ok(Member::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Member<'a>, E> {
        Ok(Member::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Member<'a>, E> {
        Ok(Member::Other)
    }

    fn visit_unit<E>(self) -> Result<Member<'a>, E> {
        Ok(Member::Other)
    }

    // Nested content is read to its end as members too, so as strictly as any other value:
    // `IgnoredAny` would skip it without serde_json's checks (nesting depth, numbers in
    // range, paired surrogates), and an event that fails them is garbled, not decided.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member<'a>, A::Error> {
        while seq.next_element::<Member>()?.is_some() {}
        Ok(Member::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member<'a>, A::Error> {
        while map.next_entry::<Member, Member>()?.is_some() {}
        Ok(Member::Other)
    }
}

/// `requestContext`: an object with a `domainName`, or any other value (ignored).
#[derive(Deserialize)]
#[serde(untagged)]
enum ContextMember<'a> {
    Object {
        #[serde(rename = "domainName", default, borrow)]
        domain_name: Member<'a>,
    },
    Other(IgnoredAny),
}

impl AuthorizerInput {
    /// What the decision reads of the call.
    pub fn presented(&self) -> Presented<'_> {
        Presented {
            token: self.authorization.as_deref().map_err(|e| *e),
            scheme: self.scheme,
            request: self.request.as_ref(),
        }
    }
}

/// Reads any of the three event shapes from the event's JSON text. `http_simple` chooses the
/// HTTP API response format.
pub fn parse_event(event: &str, http_simple: bool) -> AuthorizerInput {
    // Derived records also read a JSON array by position: an event is an object or nothing.
    if !event.trim_start().starts_with('{') {
        return garbled(EventKind::Rest);
    }
    let head: EventHead = serde_json::from_str(event).unwrap_or_default();
    match (head.version.text(), head.kind.text()) {
        (Some("2.0"), _) => {
            let kind = if http_simple {
                EventKind::HttpSimple
            } else {
                EventKind::HttpPolicy
            };
            match serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(event) {
                Ok(request) => {
                    let http = &request.request_context.http;
                    let context = RequestContext {
                        source_ip: http.source_ip.clone(),
                        user_agent: http.user_agent.clone(),
                        request_id: request.request_context.request_id.clone(),
                        operator: None,
                    };
                    let (authorization, scheme) = token_of(one_header(&request.headers));
                    let called = called_request(
                        &request.headers,
                        Some(http.method.as_str()),
                        request.raw_path.as_deref().or(http.path.as_deref()),
                        request.request_context.domain_name.as_deref(),
                    );
                    AuthorizerInput {
                        kind,
                        authorization,
                        scheme,
                        request: called,
                        arn: request.route_arn,
                        context,
                    }
                }
                Err(_) => garbled(kind),
            }
        }
        (_, Some("TOKEN")) => match (
            head.authorization_token.into_text(),
            head.method_arn.into_text(),
        ) {
            (Ok(authorization), Ok(arn)) => {
                let (authorization, scheme) = token_of(Ok(authorization.as_deref()));
                AuthorizerInput {
                    kind: EventKind::Rest,
                    authorization,
                    scheme,
                    // A TOKEN event has the Authorization header only: no proof.
                    request: None,
                    arn: arn.map(Cow::into_owned),
                    context: RequestContext::default(),
                }
            }
            _ => garbled(EventKind::Rest),
        },
        (_, Some("REQUEST")) => {
            let domain = match head.request_context {
                Some(ContextMember::Object { domain_name }) => {
                    domain_name.into_text().ok().flatten()
                }
                _ => None,
            };
            match serde_json::from_str::<ApiGatewayCustomAuthorizerRequestTypeRequest>(event) {
                Ok(request) => {
                    // multiValueHeaders shows a repeated header; headers keeps only one.
                    let headers = if request.multi_value_headers.is_empty() {
                        &request.headers
                    } else {
                        &request.multi_value_headers
                    };
                    let (authorization, scheme) = token_of(one_header(headers));
                    let method = request
                        .http_method
                        .as_ref()
                        .or(request.request_context.http_method.as_ref())
                        .map(|m| m.as_str().to_owned());
                    let called = called_request(
                        headers,
                        method.as_deref(),
                        request
                            .request_context
                            .path
                            .as_deref()
                            .or(request.path.as_deref()),
                        domain.as_deref(),
                    );
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
                        authorization,
                        scheme,
                        request: called,
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
        scheme: TokenScheme::Bearer,
        request: None,
        arn: None,
        context: RequestContext::default(),
    }
}

/// What the backend receives as `$context.authorizer.*`: strings and numbers only (REST
/// accepts nothing else); empty without a verified token.
struct BackendContext<'a>(Option<&'a AccessTokenClaims>);

impl Serialize for BackendContext<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(claims) = self.0 else {
            return serializer.serialize_map(Some(0))?.end();
        };
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("sub", &claims.sub)?;
        map.serialize_entry("client_id", &claims.client_id)?;
        map.serialize_entry("scope", &claims.scope)?;
        map.serialize_entry("grant_id", claims.gid.as_deref().unwrap_or_default())?;
        map.serialize_entry("exp", &claims.exp)?;
        map.end()
    }
}

/// A policy answer (REST, and HTTP API payload 2.0 with IAM policies).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyAnswer<'a> {
    principal_id: &'a str,
    policy_document: &'a RawValue,
    context: BackendContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_identifier_key: Option<String>,
}

/// An HTTP API simple answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SimpleAnswer<'a> {
    is_authorized: bool,
    context: BackendContext<'a>,
}

/// The answer as JSON text. Serializing these types cannot fail; were it to, the call is
/// refused as undecidable rather than answered with anything else (design rule 7).
fn written(answer: &impl Serialize) -> Result<Box<RawValue>, Refusal> {
    serde_json::value::to_raw_value(answer).map_err(|_| Refusal::Unavailable)
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
fn usage_key(claims: &AccessTokenClaims, api: Option<&ApiArn>) -> Option<String> {
    let api = api?;
    Some(usage_identifier_key(
        &api.api_id,
        &api.stage,
        &claims.client_id,
    ))
}

pub fn respond(
    kind: EventKind,
    decision: &Decision,
    arn: Option<&str>,
) -> Result<Box<RawValue>, Refusal> {
    let claims = match &decision.verdict {
        Verdict::Allow { claims } | Verdict::Forbidden { claims } => Some(claims.as_ref()),
        Verdict::Unauthorized { .. } => None,
        Verdict::FailClosed { .. } => return Err(Refusal::Unavailable),
    };
    match (kind, &decision.policy, claims) {
        (EventKind::HttpSimple, _, _) => written(&SimpleAnswer {
            is_authorized: matches!(decision.verdict, Verdict::Allow { .. }),
            context: BackendContext(claims),
        }),
        (_, Some(policy), Some(claims)) => written(&PolicyAnswer {
            principal_id: &claims.sub,
            policy_document: policy,
            context: BackendContext(Some(claims)),
            usage_identifier_key: if kind == EventKind::Rest {
                usage_key(claims, decision.api.as_ref())
            } else {
                None
            },
        }),
        (EventKind::Rest, _, _) => Err(Refusal::Unauthorized),
        // HTTP APIs have no way to answer 401 from a Lambda authorizer (401 is documented only
        // for a missing identity source): an explicit Deny, 403. A bad token stays bad, so
        // API Gateway caching this Deny for the TTL refuses nothing it should allow.
        (EventKind::HttpPolicy, _, _) => written(&json!({
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
