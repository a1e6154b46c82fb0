//! Validating an authorization request (RFC 6749 section 4.1.1, OAuth 2.1), I/O-free apart
//! from the client lookup. The order matters: client_id and redirect_uri are checked first,
//! and until both are known good nothing redirects (security rule 2: no open redirector).

use super::params::Params;
use super::pkce::CodeChallenge;
use super::{ErrorCode, OAuthError};
use crate::domain::{Client, ClientId, GrantType, RedirectUri, Scope};
use crate::ports::ClientStore;
use crate::scopes::{ScopeCatalogue, OPENID};
use url::Url;

pub use crate::domain::Prompt;

/// A request that passed every check: safe to keep server-side and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client: Client,
    /// The URI as requested (it matched a registered one); the code is bound to it.
    pub redirect_uri: RedirectUri,
    pub scope: Scope,
    pub state: Option<String>,
    pub code_challenge: CodeChallenge,
    pub prompt: Prompt,
    pub openid: OpenIdRequest,
}

/// What an OpenID Connect request (scope `openid`, Core section 3.1.2.1) adds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenIdRequest {
    pub nonce: Option<String>,
    /// The request's `max_age`, else the client's `default_max_age`.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
}

/// Longest `nonce` and `login_hint` kept: values are stored with the pending request and the
/// code, so an anonymous request cannot make them large (security rule 19).
const MAX_NONCE_CHARS: usize = 512;
const MAX_LOGIN_HINT_CHARS: usize = 128;

/// Why a request is refused, and how the refusal must be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRejection {
    /// client_id or redirect_uri is missing, unknown or does not match: show an error page,
    /// never redirect.
    ShowError(OAuthError),
    /// Everything else, for a client the operator trusts: redirect to the client (RFC 6749
    /// section 4.1.2.1) with `error`, `error_description`, `state` and `iss`.
    Redirect {
        redirect_uri: RedirectUri,
        state: Option<String>,
        error: OAuthError,
    },
}

fn page(code: ErrorCode, description: &str) -> AuthorizeRejection {
    AuthorizeRejection::ShowError(OAuthError::new(code, description))
}

pub async fn validate_authorize_request(
    clients: &dyn ClientStore,
    catalogue: &ScopeCatalogue,
    params: &Params,
) -> Result<AuthorizeRequest, AuthorizeRejection> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page(ErrorCode::InvalidRequest, "client_id is missing"))?;
    let client_id = ClientId::parse(client_id)
        .map_err(|_| page(ErrorCode::InvalidRequest, "client_id is not valid"))?;
    let client = clients
        .get_client(&client_id)
        .await
        .map_err(|e| AuthorizeRejection::ShowError(super::error::unavailable(e)))?
        .ok_or_else(|| page(ErrorCode::InvalidRequest, "the client is not registered"))?;
    // Required here so the code can be bound to it and the token request must repeat it.
    let requested = params
        .get("redirect_uri")
        .ok_or_else(|| page(ErrorCode::InvalidRequest, "redirect_uri is missing"))?;
    let redirect_uri = RedirectUri::parse(requested)
        .map_err(|_| page(ErrorCode::InvalidRequest, "redirect_uri is not valid"))?;
    // Security rule 1: exact match with a registered URI (only a loopback port may vary).
    if client.registered_redirect(&redirect_uri).is_none() {
        return Err(page(
            ErrorCode::InvalidRequest,
            "redirect_uri is not registered for this client",
        ));
    }

    let state = params.get("state").map(str::to_owned);
    // Security rule 20 (RFC 9700 section 4.11.2): before anyone has signed in, errors go to
    // the redirect URIs of clients the operator trusts only. A self-registered client could
    // otherwise use /authorize to send browsers anywhere it registered, with our name on the
    // link: its errors are shown on our page until an operator verifies it.
    let trusted = client.is_trusted();
    let redirect = |error: OAuthError| {
        if trusted {
            AuthorizeRejection::Redirect {
                redirect_uri: redirect_uri.clone(),
                state: state.clone(),
                error,
            }
        } else {
            AuthorizeRejection::ShowError(error)
        }
    };
    // Security rule 6: only the code flow; no implicit grant.
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )))
        }
        None => {
            return Err(redirect(OAuthError::new(
                ErrorCode::InvalidRequest,
                "response_type is missing",
            )))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        )));
    }
    // Security rule 3: PKCE with S256 for every client.
    let code_challenge = CodeChallenge::from_request(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(redirect)?;
    let scope = requested_scope(&client, catalogue, params.get("scope")).map_err(redirect)?;
    let prompt = parse_prompt(params.get("prompt")).map_err(redirect)?;
    let openid = openid_request(&client, &scope, params).map_err(redirect)?;
    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        scope,
        state,
        code_challenge,
        prompt,
        openid,
    })
}

/// OpenID Connect Core section 3.1.2.1's parameters. Request objects are refused by name
/// (section 3.1.2.6), so a client that relies on their protection learns at once that it does
/// not apply. The `claims` parameter is ignored, as section 5.5 has a provider without it do:
/// the scopes decide the claims (Discovery: `claims_parameter_supported` false).
fn openid_request(
    client: &Client,
    scope: &Scope,
    params: &Params,
) -> Result<OpenIdRequest, OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects (the request parameter) are not supported",
        ));
    }
    // A pushed request's `request_uri` (RFC 9126) was resolved before validation
    // (interaction/pushed.rs); any other is a request object by reference.
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is supported for pushed authorization requests (RFC 9126) only",
        ));
    }
    let openid = scope.contains(OPENID);
    let nonce = params.get("nonce");
    if nonce.is_some_and(|n| n.chars().count() > MAX_NONCE_CHARS) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            format!("nonce is longer than {MAX_NONCE_CHARS} characters"),
        ));
    }
    if openid && nonce.is_none() && client.openid.require_nonce {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "nonce is required for this client",
        ));
    }
    let max_age = match params.get("max_age") {
        None => client.openid.default_max_age,
        // OIDC Core section 3.1.2.1: "the allowable elapsed time in seconds".
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "max_age must be a whole number of seconds",
            )
        })?),
    };
    let login_hint = params
        .get("login_hint")
        .map(|hint| hint.chars().take(MAX_LOGIN_HINT_CHARS).collect());
    // `ui_locales`, `display`, `id_token_hint` and `claims` are accepted and need nothing:
    // the pages have one language and one display, the session decides who is signed in,
    // and the scopes decide the claims.
    Ok(OpenIdRequest {
        nonce: nonce.filter(|_| openid).map(str::to_owned),
        max_age,
        login_hint,
    })
}

/// RFC 6749 section 3.3: absent means the client's default scopes.
fn requested_scope(
    client: &Client,
    catalogue: &ScopeCatalogue,
    raw: Option<&str>,
) -> Result<Scope, OAuthError> {
    let scope = match raw {
        Some(raw) => Scope::parse(raw)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?,
        None => client.default_scopes.clone(),
    };
    if scope.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "no scope requested and the client has no default scope",
        ));
    }
    let unknown: Vec<&str> = scope
        .iter()
        .filter(|token| !catalogue.knows(token))
        .collect();
    if !unknown.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("unknown scope: {}", unknown.join(" ")),
        ));
    }
    let refused = scope.not_in(&client.allowed_scopes);
    if !refused.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope not allowed for this client: {}", refused.join(" ")),
        ));
    }
    Ok(scope)
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, OAuthError> {
    let Some(raw) = raw else {
        return Ok(Prompt::Default);
    };
    let values: Vec<&str> = raw.split(' ').collect();
    let prompt = match values.as_slice() {
        ["none"] => Prompt::None,
        values if values.contains(&"none") => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            ));
        }
        values if values.contains(&"login") => Prompt::Login,
        values if values.iter().all(|v| *v == "consent") => Prompt::Consent,
        _ => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "prompt must be none, login or consent",
            ))
        }
    };
    Ok(prompt)
}

/// The client's redirect URI with response parameters added to its query, keeping any query
/// it was registered with (RFC 6749 section 3.1.2: "MUST retain the query component").
/// `iss` is always included (RFC 9207, security rule 5).
pub fn redirect_with(
    redirect_uri: &RedirectUri,
    issuer: &str,
    state: Option<&str>,
    pairs: &[(&str, &str)],
) -> String {
    let mut all = pairs.to_vec();
    all.extend(state.map(|state| ("state", state)));
    all.push(("iss", issuer));
    with_query(redirect_uri, &all)
}

/// The redirect URI with `pairs` added to its query, keeping the query it was registered
/// with (RFC 6749 section 3.1.2).
pub fn with_query(redirect_uri: &RedirectUri, pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse(redirect_uri.as_str()) else {
        // Parsed when the RedirectUri was built; unreachable, but never panic.
        return redirect_uri.to_string();
    };
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url.to_string()
}

/// Where a `Redirect` rejection sends the browser.
pub fn error_redirect(
    redirect_uri: &RedirectUri,
    issuer: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> String {
    redirect_with(
        redirect_uri,
        issuer,
        state,
        &[
            ("error", error.code.as_str()),
            ("error_description", &error.description),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientKind, Timestamp};
    use crate::ports::ClientRegistry;
    use crate::store::embedded::EmbeddedStore;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    async fn store() -> (EmbeddedStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let client = Client {
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb?tenant=1").unwrap()],
            allowed_scopes: Scope::parse("profile:read orders:read").unwrap(),
            default_scopes: Scope::parse("profile:read").unwrap(),
            grant_types: [GrantType::AuthorizationCode].into_iter().collect(),
            ..Client::new(
                ClientId::parse("web-app").unwrap(),
                "Web App",
                ClientKind::Public,
                Timestamp::from_secs(0),
            )
        };
        store.put_client(&client).await.unwrap();
        (store, dir)
    }

    fn params(extra: &[(&str, &str)], without: &[&str]) -> Params {
        let mut pairs: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", "web-app"),
            ("redirect_uri", "https://app.example/cb?tenant=1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]
        .into_iter()
        .filter(|(name, _)| !without.contains(name) && !extra.iter().any(|(n, _)| n == name))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        pairs.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        Params::from_pairs(pairs).unwrap()
    }

    async fn check(
        extra: &[(&str, &str)],
        without: &[&str],
    ) -> Result<AuthorizeRequest, AuthorizeRejection> {
        let (store, _dir) = store().await;
        validate_authorize_request(&store, &ScopeCatalogue::built_in(), &params(extra, without))
            .await
    }

    fn redirected_code(result: Result<AuthorizeRequest, AuthorizeRejection>) -> ErrorCode {
        match result {
            Err(AuthorizeRejection::Redirect { error, state, .. }) => {
                assert_eq!(state.as_deref(), Some("xyz"), "state is passed through");
                error.code
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_request_passes_with_default_scopes() {
        let request = check(&[], &[]).await.unwrap();
        assert_eq!(request.scope.to_string(), "profile:read");
        assert_eq!(request.prompt, Prompt::Default);
    }

    #[tokio::test]
    async fn rule_2_bad_client_or_redirect_never_redirects() {
        for (extra, without) in [
            (vec![("client_id", "nobody")], vec![]),
            (vec![], vec!["client_id"]),
            (vec![("redirect_uri", "https://evil.example/cb")], vec![]),
            (vec![("redirect_uri", "https://app.example/cb")], vec![]),
            (vec![], vec!["redirect_uri"]),
            (vec![("redirect_uri", "not a uri")], vec![]),
            // Even with other errors present, a bad redirect_uri is reported on a page.
            (
                vec![
                    ("redirect_uri", "https://evil.example/cb"),
                    ("response_type", "token"),
                ],
                vec![],
            ),
        ] {
            let result = check(&extra, &without).await;
            assert!(
                matches!(result, Err(AuthorizeRejection::ShowError(_))),
                "{extra:?} {without:?}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn rule_3_pkce_s256_required_at_authorize() {
        assert_eq!(
            redirected_code(check(&[], &["code_challenge"]).await),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(check(&[("code_challenge_method", "plain")], &[]).await),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(check(&[], &["code_challenge_method"]).await),
            ErrorCode::InvalidRequest
        );
    }

    #[tokio::test]
    async fn rule_6_no_implicit_grant() {
        assert_eq!(
            redirected_code(check(&[("response_type", "token")], &[]).await),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            redirected_code(check(&[("response_type", "code token")], &[]).await),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            redirected_code(check(&[], &["response_type"]).await),
            ErrorCode::InvalidRequest
        );
    }

    #[tokio::test]
    async fn scopes_must_be_known_and_allowed() {
        assert_eq!(
            redirected_code(check(&[("scope", "admin")], &[]).await),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirected_code(check(&[("scope", "orders:write")], &[]).await),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirected_code(check(&[("scope", "a\"b")], &[]).await),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            check(&[("scope", "orders:read profile:read")], &[])
                .await
                .unwrap()
                .scope
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn prompt_values() {
        assert_eq!(
            check(&[("prompt", "none")], &[]).await.unwrap().prompt,
            Prompt::None
        );
        assert_eq!(
            check(&[("prompt", "login consent")], &[])
                .await
                .unwrap()
                .prompt,
            Prompt::Login
        );
        assert_eq!(
            check(&[("prompt", "consent")], &[]).await.unwrap().prompt,
            Prompt::Consent
        );
        assert_eq!(
            redirected_code(check(&[("prompt", "none login")], &[]).await),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_code(check(&[("prompt", "select_account")], &[]).await),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn rule_5_redirects_carry_iss_and_keep_the_registered_query() {
        let uri = RedirectUri::parse("https://app.example/cb?tenant=1").unwrap();
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied access");
        let location = error_redirect(&uri, "https://auth.example", Some("x y&z"), &error);
        let url = Url::parse(&location).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("tenant", "1"),
                ("error", "access_denied"),
                ("error_description", "the user denied access"),
                ("state", "x y&z"),
                ("iss", "https://auth.example")
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }
}
