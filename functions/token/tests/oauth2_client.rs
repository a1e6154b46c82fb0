//! A real OAuth client library (the `oauth2` crate) against the token handler, in process:
//! code + PKCE exchange, refresh, client credentials; then a standard JWT library validates
//! the access token against `/jwks.json`.

mod support;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use lambda_http::Body;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use std::sync::Arc;
use support::*;
use token::handler::{handle, TokenApp};

/// The library's HTTP calls, delivered to the handler as API Gateway would deliver them.
fn in_process(
    app: Arc<TokenApp>,
) -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, std::io::Error>>>,
> {
    move |request: oauth2::HttpRequest| {
        let app = Arc::clone(&app);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut builder = lambda_http::http::Request::builder()
                .method(parts.method)
                .uri(parts.uri);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let request = builder
                .body(Body::from(body))
                .map_err(std::io::Error::other)?;
            let response = handle(&app, request)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let bytes = match body {
                Body::Text(text) => text.into_bytes(),
                Body::Binary(bytes) => bytes,
                _ => Vec::new(),
            };
            Ok(oauth2::HttpResponse::from_parts(parts, bytes))
        })
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    scope: String,
    client_id: String,
}

#[tokio::test]
async fn oauth2_crate_completes_code_pkce_refresh_and_client_credentials() {
    let h = embedded().await;
    let http = in_process(Arc::clone(&h.app));
    let web = BasicClient::new(ClientId::new(WEB.into()))
        .set_client_secret(ClientSecret::new(WEB_SECRET.into()))
        .set_auth_uri(AuthUrl::new(format!("{ISSUER}/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{ISSUER}/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(WEB_REDIRECT.into()).unwrap());

    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "orders:read profile:read")
        .await;
    let tokens = web
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(VERIFIER.into()))
        .request_async(&http)
        .await
        .expect("code exchange");
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["orders:read", "profile:read"]);
    let refresh = tokens.refresh_token().expect("a refresh token").clone();

    // The library surfaces our RFC error for a replayed code.
    let replay = web
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(VERIFIER.into()))
        .request_async(&http)
        .await;
    match replay {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error().as_ref(), "invalid_grant")
        }
        other => panic!("replay must fail with invalid_grant, got {other:?}"),
    }
    // ... and the replay revoked the family, so this refresh fails too.
    assert!(web
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .is_err());

    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "orders:read profile:read")
        .await;
    let tokens = web
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(VERIFIER.into()))
        .request_async(&http)
        .await
        .expect("second code exchange");
    let refreshed = web
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .add_scope(Scope::new("orders:read".into()))
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );

    let service = BasicClient::new(ClientId::new(SERVICE.into()))
        .set_client_secret(ClientSecret::new(SERVICE_SECRET.into()))
        .set_token_uri(TokenUrl::new(format!("{ISSUER}/token")).unwrap());
    let machine = service
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .expect("client credentials");
    assert!(machine.refresh_token().is_none());

    // Validate with a standard JWT library against the published JWKS.
    let jwks: JwkSet = serde_json::from_value(h.get("/jwks.json").await.json).unwrap();
    let validate = |jwt: &str| -> Claims {
        let kid = decode_header(jwt).unwrap().kid.unwrap();
        let key = DecodingKey::from_jwk(jwks.find(&kid).expect("kid is published")).unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&[format!("{ISSUER}/api")]);
        validation.set_issuer(&[ISSUER]);
        decode::<Claims>(jwt, &key, &validation)
            .expect("valid against the JWKS")
            .claims
    };
    let user_claims = validate(refreshed.access_token().secret());
    assert_eq!(
        (
            user_claims.sub.as_str(),
            user_claims.scope.as_str(),
            user_claims.client_id.as_str()
        ),
        (USER, "orders:read", WEB)
    );
    let machine_claims = validate(machine.access_token().secret());
    assert_eq!(machine_claims.sub, format!("client:{SERVICE}"));
}
