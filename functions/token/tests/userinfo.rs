//! The UserInfo endpoint (OpenID Connect Core section 5.3) and the ID token of the token
//! endpoint, through the token function's handler: the claims of the token's user for its
//! scopes, and RFC 6750 section 3.1 refusals for every token that is not a live access token
//! of this server for this API.

mod support;

use lambda_http::http::StatusCode;
use lambda_http::Body;
use std::time::Duration;
use support::*;
use xecure::domain::UserId;
use xecure::jwt::{sign_access_token, AccessTokenClaims};
use xecure::ports::Clock;

fn userinfo(bearer: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("GET")
        .uri("/userinfo")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::Empty)
        .unwrap()
}

fn challenge(reply: &Reply) -> &str {
    reply
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn userinfo_answers_for_a_live_openid_token_only() {
    let h = embedded_with_id_token_key().await;
    let tokens = h.web_tokens("openid profile").await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let reply = h.send(userinfo(&access)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["sub"], USER);
    assert_eq!(reply.json["preferred_username"], "alice");
    assert!(reply.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));

    // Another audience's token, signed with our own key, is no token for this API.
    let keyring = h.app_keyring().await;
    let now = h.clock.now().as_secs();
    let claims = AccessTokenClaims {
        iss: ISSUER.into(),
        sub: USER.into(),
        aud: "https://other-api.example".into(),
        exp: now + 600,
        iat: now,
        jti: "other-audience".into(),
        client_id: WEB.into(),
        scope: "openid profile".into(),
        gid: None,
        fid: None,
        crv: Some(0),
        nbf: None,
        cnf: None,
    };
    let other_audience = sign_access_token(&keyring, &claims).unwrap();
    let reply = h.send(userinfo(&other_audience)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&reply).contains("invalid_token"),
        "{}",
        challenge(&reply)
    );

    // The ID token is not an access token (security rule 8).
    let reply = h.send(userinfo(tokens["id_token"].as_str().unwrap())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Expired (past its lifetime and the leeway).
    h.advance(h.config.access_token_ttl + Duration::from_secs(61));
    let reply = h.send(userinfo(&access)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json["error"], "invalid_token");
}

#[tokio::test]
async fn a_disabled_users_token_reads_no_userinfo() {
    let h = embedded_with_id_token_key().await;
    let tokens = h.web_tokens("openid email").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(h.send(userinfo(&access)).await.status, StatusCode::OK);
    let user = h
        .store
        .get_user(&UserId::parse(USER).unwrap())
        .await
        .unwrap()
        .unwrap();
    let disabled = xecure::domain::User {
        disabled: true,
        version: user.version + 1,
        ..user
    };
    h.store.update_user(&disabled, None).await.unwrap();
    let reply = h.send(userinfo(&access)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.json);
}

#[tokio::test]
async fn the_id_token_echoes_the_nonce_and_binds_the_access_token() {
    let h = embedded_with_id_token_key().await;
    let tokens = h.web_tokens("openid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let keyring = h.app_keyring().await;
    let key = &keyring
        .verifier(header.kid.as_deref().unwrap())
        .unwrap()
        .key;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[WEB]);
    validation.set_issuer(&[ISSUER]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(id_token, key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(
        claims["at_hash"],
        xecure::oauth::openid::at_hash(
            xecure::signing::SigningAlgorithm::Rs256,
            tokens["access_token"].as_str().unwrap()
        )
    );
    // Without `openid` there is no ID token, even for a client that may have it.
    let plain = h.web_tokens("orders:read").await;
    assert!(plain.get("id_token").is_none());
}
