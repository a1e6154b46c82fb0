//! The token endpoint against the embedded store: one test per security rule of design
//! section 5 it implements (3, 4, 7, 8, 9, 10, 15), plus client credentials and metadata.

mod support;

use lambda_http::http::StatusCode;
use std::time::Duration;
use support::*;
use xecure::domain::{AuditQuery, AuditSubject, ClientId, Timestamp};
use xecure::ports::Clock;

#[tokio::test]
async fn rule_3_pkce_s256_required_at_exchange() {
    let h = embedded().await;
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    let auth = basic(WEB, WEB_SECRET);
    let no_verifier = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", WEB_REDIRECT),
    ]);
    let reply = h.post("/token", &no_verifier, Some(&auth)).await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let wrong = "x".repeat(43);
    let reply = h
        .post(
            "/token",
            &exchange_form(&code, &wrong, WEB_REDIRECT),
            Some(&auth),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // A failed verifier does not spend the code: the rightful client still redeems it.
    let reply = h.exchange_as_web(&code).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
}

#[tokio::test]
async fn rule_4_codes_single_use_bound_and_replay_revokes() {
    let h = embedded().await;
    let auth = basic(WEB, WEB_SECRET);
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    // Bound to the redirect URI of the request and to the client.
    let reply = h
        .post(
            "/token",
            &exchange_form(&code, VERIFIER, "https://app.example/other"),
            Some(&auth),
        )
        .await;
    assert_eq!(reply.error(), "invalid_grant");
    let mobile = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", WEB_REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", MOBILE),
    ]);
    assert_eq!(
        h.post("/token", &mobile, None).await.error(),
        "invalid_grant"
    );

    let first = h.exchange_as_web(&code).await;
    assert_eq!(first.status, StatusCode::OK);
    let refresh = first.json["refresh_token"].as_str().unwrap().to_owned();
    let access = first.json["access_token"].as_str().unwrap().to_owned();
    let replay = h.exchange_as_web(&code).await;
    assert_eq!(
        (replay.status, replay.error()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // The replay revoked what the first redemption produced: its refresh token and, via its
    // family id, its access token.
    let refreshed = h
        .post(
            "/token",
            &form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
            Some(&auth),
        )
        .await;
    assert_eq!(refreshed.error(), "invalid_grant");
    let introspected = h
        .post("/introspect", &form(&[("token", &access)]), Some(&auth))
        .await;
    assert_eq!(introspected.json["active"], false);

    // Short-lived: a code is dead after its lifetime.
    let late = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    h.advance(Duration::from_secs(61));
    assert_eq!(
        h.post(
            "/token",
            &exchange_form(&late, VERIFIER, WEB_REDIRECT),
            Some(&auth)
        )
        .await
        .error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn rule_7_refresh_rotates_reuse_revokes_family_scope_only_narrows() {
    let h = embedded().await;
    let auth = basic(WEB, WEB_SECRET);
    let tokens = h.web_tokens("profile:read orders:read").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str, scope: Option<&str>| {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        form(&pairs)
    };
    let wider = h
        .post(
            "/token",
            &refresh(&first, Some("profile:read orders:write")),
            Some(&auth),
        )
        .await;
    assert_eq!(
        wider.error(),
        "invalid_scope",
        "a refresh cannot widen scope"
    );
    let narrowed = h
        .post("/token", &refresh(&first, Some("orders:read")), Some(&auth))
        .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.json);
    assert_eq!(narrowed.json["scope"], "orders:read");
    assert_eq!(
        claims_of(narrowed.json["access_token"].as_str().unwrap())["scope"],
        "orders:read"
    );
    let second = narrowed.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "refresh tokens rotate");
    // The rotated token keeps the original scope: the next refresh may ask for it all again.
    let third = h.post("/token", &refresh(&second, None), Some(&auth)).await;
    assert_eq!(third.json["scope"], "orders:read profile:read");
    let third_token = third.json["refresh_token"].as_str().unwrap().to_owned();
    let live_access = third.json["access_token"].as_str().unwrap().to_owned();

    // Reuse of a rotated token revokes the whole family, including the newest token.
    assert_eq!(
        h.post("/token", &refresh(&first, None), Some(&auth))
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(
        h.post("/token", &refresh(&third_token, None), Some(&auth))
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(
        h.post(
            "/introspect",
            &form(&[("token", &live_access)]),
            Some(&auth)
        )
        .await
        .json["active"],
        false
    );
    let user = xecure::domain::UserId::parse(USER).unwrap();
    let page = h
        .store
        .query_audit(
            &AuditQuery {
                subject: AuditSubject::User(user),
                from: Timestamp::from_secs(0),
                to: h.clock.now().plus(Duration::from_secs(1)),
                limit: 50,
                cursor: None,
            },
            h.clock.now(),
        )
        .await
        .unwrap();
    assert!(page
        .events
        .iter()
        .any(|e| e.kind == xecure::domain::AuditEventKind::RefreshReuseDetected));
}

#[tokio::test]
async fn rule_7_revoked_grant_stops_refresh() {
    let h = embedded().await;
    let auth = basic(WEB, WEB_SECRET);
    let tokens = h.web_tokens("profile:read").await;
    let stamp = xecure::domain::RevocationStamp {
        id: xecure::domain::EventId::parse("evt_revoke").unwrap(),
        at: h.clock.now(),
        expires_at: h.clock.now().plus(Duration::from_secs(900)),
    };
    let user = xecure::domain::UserId::parse(USER).unwrap();
    assert!(h
        .store
        .revoke_grant(&user, &ClientId::parse(WEB).unwrap(), &stamp)
        .await
        .unwrap());
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ]);
    assert_eq!(
        h.post("/token", &body, Some(&auth)).await.error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn rule_8_access_tokens_are_typed_audience_restricted_jwts() {
    let h = embedded().await;
    let tokens = h.web_tokens("profile:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let header = header_of(access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let jwks = h.get("/jwks.json").await.json;
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    let claims = claims_of(access);
    for name in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
        "gid",
    ] {
        assert!(
            !claims[name].is_null(),
            "claim {name} missing from {claims}"
        );
    }
    assert_eq!(claims["aud"], format!("{ISSUER}/api"));
    assert_eq!(claims["sub"], USER);
    // The verifier refuses the same token with another typ, another audience, or an alg that
    // is not the key's, whatever the header claims.
    let keyring = h.app_keyring().await;
    let expect = xecure::jwt::TokenExpectations {
        issuer: ISSUER.into(),
        audience: format!("{ISSUER}/api"),
        leeway_secs: 30,
    };
    assert!(xecure::jwt::verify_access_token(&keyring, access, &expect, h.clock.now()).is_ok());
    let other_audience = xecure::jwt::TokenExpectations {
        audience: "https://other.example".into(),
        ..expect.clone()
    };
    assert!(
        xecure::jwt::verify_access_token(&keyring, access, &other_audience, h.clock.now()).is_err()
    );
    let id_token = keyring.sign("JWT", &claims).unwrap();
    assert_eq!(
        xecure::jwt::verify_access_token(&keyring, &id_token, &expect, h.clock.now()),
        Err(xecure::jwt::TokenRejection::WrongType)
    );
    let mut forged_header = header.clone();
    forged_header["alg"] = "HS256".into();
    let forged = format!(
        "{}.{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            forged_header.to_string()
        ),
        access.split_once('.').unwrap().1
    );
    assert_eq!(
        xecure::jwt::verify_access_token(&keyring, &forged, &expect, h.clock.now()),
        Err(xecure::jwt::TokenRejection::WrongAlgorithm)
    );
    h.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        xecure::jwt::verify_access_token(&keyring, access, &expect, h.clock.now()),
        Err(xecure::jwt::TokenRejection::Expired)
    );
}

#[tokio::test]
async fn rule_9_client_secrets_hashed_and_checked() {
    let h = embedded().await;
    let stored = h
        .store
        .get_client(&ClientId::parse(WEB).unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored_json = serde_json::to_string(&stored).unwrap();
    assert!(
        !stored_json.contains(WEB_SECRET),
        "the secret itself is never stored"
    );
    let body = form(&[("grant_type", "client_credentials")]);
    let wrong = h
        .post("/token", &body, Some(&basic(SERVICE, "wrong-secret")))
        .await;
    assert_eq!(
        (wrong.status, wrong.error()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(wrong.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let unknown = h.post("/token", &body, Some(&basic("nobody", "x"))).await;
    assert_eq!(
        unknown.json, wrong.json,
        "an unknown client and a wrong secret look the same"
    );
    let post_auth = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", SERVICE),
        ("client_secret", SERVICE_SECRET),
    ]);
    // Security rule 21: a client registered for client_secret_basic may not send its secret
    // in the form instead.
    let other_method = h.post("/token", &post_auth, None).await;
    assert_eq!(
        (other_method.status, other_method.error()),
        (StatusCode::UNAUTHORIZED, "invalid_client"),
        "client_secret_post by a client_secret_basic client"
    );
    let public_with_no_pkce_client =
        form(&[("grant_type", "client_credentials"), ("client_id", MOBILE)]);
    assert_eq!(
        h.post("/token", &public_with_no_pkce_client, None)
            .await
            .error(),
        "unauthorized_client"
    );
}

#[tokio::test]
async fn rule_10_token_responses_not_cached_and_tokens_not_audited() {
    let h = embedded().await;
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    let reply = h.exchange_as_web(&code).await;
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.headers["pragma"], "no-cache");
    let error = h
        .post(
            "/token",
            "grant_type=password",
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(error.headers["cache-control"], "no-store");
    let user = xecure::domain::UserId::parse(USER).unwrap();
    let query = AuditQuery {
        subject: AuditSubject::User(user),
        from: Timestamp::from_secs(0),
        to: h.clock.now().plus(Duration::from_secs(1)),
        limit: 50,
        cursor: None,
    };
    let events = serde_json::to_string(
        &h.store
            .query_audit(&query, h.clock.now())
            .await
            .unwrap()
            .events,
    )
    .unwrap();
    for secret in [
        code.as_str(),
        reply.json["access_token"].as_str().unwrap(),
        reply.json["refresh_token"].as_str().unwrap(),
    ] {
        assert!(
            !events.contains(secret),
            "audit records never hold a code or token"
        );
    }
}

#[tokio::test]
async fn rule_15_bad_input_gets_rfc_errors_and_changes_nothing() {
    let h = embedded().await;
    let auth = basic(WEB, WEB_SECRET);
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    let cases: Vec<(&str, String, Option<String>, StatusCode, &str)> = vec![
        (
            "no grant_type",
            form(&[("code", &code)]),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "password grant",
            form(&[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ]),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "implicit",
            form(&[("grant_type", "implicit")]),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "grant not allowed",
            form(&[("grant_type", "client_credentials")]),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            "repeated parameter",
            format!("grant_type=authorization_code&code={code}&code={code}"),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "garbage code",
            exchange_form("\u{0}\u{ff}not-a-code", VERIFIER, WEB_REDIRECT),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "huge verifier",
            exchange_form(&code, &"a".repeat(10_000), WEB_REDIRECT),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "no client",
            exchange_form(&code, VERIFIER, WEB_REDIRECT),
            None,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "broken basic",
            exchange_form(&code, VERIFIER, WEB_REDIRECT),
            Some("Basic %%%".into()),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "two auth methods",
            format!(
                "{}&client_secret=x",
                exchange_form(&code, VERIFIER, WEB_REDIRECT)
            ),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "bad scope syntax",
            form(&[("grant_type", "client_credentials"), ("scope", "a\"b")]),
            Some(basic(SERVICE, SERVICE_SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "scope not allowed",
            form(&[("grant_type", "client_credentials"), ("scope", "admin")]),
            Some(basic(SERVICE, SERVICE_SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "unknown refresh token",
            form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")]),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            "not form encoded",
            "%zz=%".to_owned(),
            Some(auth.clone()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (name, body, authorization, status, error) in cases {
        let reply = h.post("/token", &body, authorization.as_deref()).await;
        assert_eq!(
            (reply.status, reply.error()),
            (status, error),
            "{name}: {}",
            reply.json
        );
        assert!(
            reply.json["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{name}: a clear message"
        );
    }
    let json_body = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/token")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(
            "{\"grant_type\":\"client_credentials\"}",
        ))
        .unwrap();
    assert_eq!(h.send(json_body).await.error(), "invalid_request");
    assert_eq!(h.get("/token").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(h.get("/nowhere").await.status, StatusCode::NOT_FOUND);
    // None of that spent the code.
    let reply = h.exchange_as_web(&code).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
}

#[tokio::test]
async fn client_credentials_tokens_have_a_client_subject() {
    let h = embedded().await;
    let reply = h
        .post(
            "/token",
            &form(&[("grant_type", "client_credentials")]),
            Some(&basic(SERVICE, SERVICE_SECRET)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(reply.json["refresh_token"].is_null());
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.json["scope"], "orders:read");
    let claims = claims_of(reply.json["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], format!("client:{SERVICE}"));
    assert!(
        xecure::domain::UserId::parse(claims["sub"].as_str().unwrap()).is_err(),
        "no user id can equal a client subject"
    );
}

#[tokio::test]
async fn revocation_and_introspection() {
    let h = embedded().await;
    let auth = basic(WEB, WEB_SECRET);
    let tokens = h.web_tokens("profile:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let active = h
        .post("/introspect", &form(&[("token", access)]), Some(&auth))
        .await;
    assert_eq!(active.json["active"], true);
    assert_eq!(active.json["scope"], "profile:read");
    let refresh_info = h
        .post("/introspect", &form(&[("token", refresh)]), Some(&auth))
        .await;
    assert_eq!(refresh_info.json["token_type"], "refresh_token");
    // Another client learns nothing about these tokens.
    let foreign = h
        .post(
            "/introspect",
            &form(&[("token", access)]),
            Some(&basic(SERVICE, SERVICE_SECRET)),
        )
        .await;
    assert_eq!(foreign.json, serde_json::json!({"active": false}));
    assert_eq!(
        h.post("/introspect", &form(&[("token", "garbage")]), Some(&auth))
            .await
            .json,
        serde_json::json!({"active": false})
    );
    // RFC 7009: unknown tokens still get 200.
    assert_eq!(
        h.post("/revoke", &form(&[("token", "never-issued")]), Some(&auth))
            .await
            .status,
        StatusCode::OK
    );
    let revoked = h
        .post(
            "/revoke",
            &form(&[("token", access), ("token_type_hint", "access_token")]),
            Some(&auth),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(revoked.headers["cache-control"], "no-store");
    assert_eq!(
        h.post("/introspect", &form(&[("token", access)]), Some(&auth))
            .await
            .json["active"],
        false
    );
    assert_eq!(
        h.post("/introspect", &form(&[("token", refresh)]), Some(&auth))
            .await
            .json["active"],
        true,
        "revoking the access token leaves the refresh token"
    );
    assert_eq!(
        h.post("/revoke", &form(&[("token", refresh)]), Some(&auth))
            .await
            .status,
        StatusCode::OK
    );
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(
        h.post("/token", &body, Some(&auth)).await.error(),
        "invalid_grant"
    );
    assert_eq!(
        h.post("/revoke", &form(&[("token", refresh)]), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metadata_is_truthful() {
    let h = embedded().await;
    let reply = h.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["issuer"], ISSUER);
    assert_eq!(reply.json["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(reply.json["jwks_uri"], format!("{ISSUER}/jwks.json"));
    let jwks = h.get("/jwks.json").await;
    assert!(jwks.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    assert_eq!(jwks.json["keys"][0]["kty"], "OKP");
    assert!(
        jwks.json["keys"][0].get("d").is_none(),
        "no private material in the JWKS"
    );
}
