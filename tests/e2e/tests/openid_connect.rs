//! OpenID Connect Core 1.0 through the handlers, on both stores: a sign-in yields an ID token
//! a relying party can verify with the JWKS alone; UserInfo and the ID token release only the
//! claims of granted scopes; a refresh brings a new ID token for the same subject; `prompt`,
//! `max_age`, `nonce` and the refused request parameters behave as the OpenID conformance
//! suite's basic OP plan expects; the end session endpoint (RP-Initiated Logout 1.0) ends the
//! session and redirects only to a registered URI.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use lambda_http::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use xecure::domain::{
    AuditQuery, AuditSubject, AuthMethod, ClientId, GrantType, OpenIdSettings, RedirectUri,
    Timestamp,
};
use xecure::ports::{Clock, SystemClock};
use xecure::testing::ClientFixture;
use xecure_e2e::browser::authorize_path;
use xecure_e2e::{on_both_stores, text, Browser, Page, System, ISSUER, PASSWORD, USERNAME};

const RP: &str = "rp-app";
const RP_SECRET: &str = "rp-app-secret-0123456789abcdefghijklmnopqrs";
const RP_REDIRECT: &str = "https://rp.example/cb";
const RP_SIGNED_OUT: &str = "https://rp.example/bye";
const VERIFIER: &str = "oidc-verifier-0123456789abcdefghijklmnopqrstuvwxyz0123";
const NONCE: &str = "n-0S6_WzA2Mj";

/// The system with a relying party registered for OpenID Connect and an RS256 key, its
/// functions started after both (a running container finds a new key within
/// `NO_SIGNING_KEY_RETRY`, `signing::live`).
async fn with_relying_party(mut system: System, settings: OpenIdSettings) -> System {
    let now = SystemClock.now();
    let rp = ClientFixture::confidential(RP, RP_SECRET)
        .named("Relying Party")
        .redirect(RP_REDIRECT)
        .scopes("openid profile email orders:read", "openid")
        .grants(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
        .auth_method(AuthMethod::ClientSecretPost)
        .openid(OpenIdSettings {
            post_logout_redirect_uris: vec![RedirectUri::parse(RP_SIGNED_OUT).unwrap()],
            ..settings
        });
    system.world.register(rp, now).await;
    system.world.add_id_token_key(now).await;
    system.restart_functions().await;
    system
}

fn rp_authorize(extra: &[(&str, &str)]) -> String {
    let mut overrides: Vec<(&str, &str)> = [
        ("client_id", RP),
        ("redirect_uri", RP_REDIRECT),
        ("scope", "openid profile email"),
    ]
    .into_iter()
    .filter(|(name, _)| !extra.iter().any(|(n, _)| n == name))
    .collect();
    overrides.extend_from_slice(extra);
    authorize_path(VERIFIER, &overrides)
}

/// Authorize (with `extra`), log in if asked, approve `approve`: the page redirecting to the RP.
async fn sign_in(
    system: &System,
    browser: &mut Browser,
    extra: &[(&str, &str)],
    approve: &str,
) -> Page {
    let start = browser.get(system, &rp_authorize(extra)).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let next = browser.past_login(system, start.local_location()).await;
    if next.starts_with("/consent?") {
        let screen = browser.get(system, &next).await;
        if approve.split(' ').any(|scope| scope == "openid") {
            assert!(
                screen.body.contains("Sign you in with your account"),
                "openid is described"
            );
        }
        return browser.approve(system, &screen, approve).await;
    }
    browser.get(system, &next).await
}

async fn rp_posts(system: &System, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut fields = fields.to_vec();
    fields.extend([("client_id", RP), ("client_secret", RP_SECRET)]);
    system.form_post("/token", &fields, None).await
}

async fn redeem(system: &System, code: &str) -> Value {
    let (status, tokens) = rp_posts(
        system,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn get(
    system: &System,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, String, Value) {
    let mut request = lambda_http::http::Request::builder()
        .method("GET")
        .uri(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = system
        .serve(request.body(lambda_http::Body::Empty).unwrap())
        .await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let json = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (response.status(), challenge, json)
}

/// OIDC Core section 3.1.3.7 as a relying party checks it, with nothing but the JWKS: the
/// claims of a valid ID token for the RP.
async fn verified_id_token(system: &System, id_token: &str) -> Value {
    let (_, _, jwks) = get(system, "/jwks.json", None).await;
    let jwks: JwkSet = serde_json::from_value(jwks).unwrap();
    let header = decode_header(id_token).unwrap();
    assert_eq!(
        header.typ.as_deref(),
        Some("JWT"),
        "an ID token is not at+jwt"
    );
    assert_eq!(
        header.alg,
        Algorithm::RS256,
        "RS256 unless the client asked otherwise"
    );
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[RP]);
    decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a valid ID token")
        .claims
}

fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

async fn sign_in_issues_a_verifiable_id_token_userinfo_and_refresh(system: System) {
    let system = with_relying_party(system, OpenIdSettings::default()).await;
    let before = SystemClock.now().as_secs();
    let mut browser = Browser::default();
    let back = sign_in(
        &system,
        &mut browser,
        &[("nonce", NONCE)],
        "openid profile email",
    )
    .await;
    let code = back.code().expect("a code");
    let tokens = redeem(&system, &code).await;
    let access_token = text(&tokens, "access_token");
    let claims = verified_id_token(&system, &text(&tokens, "id_token")).await;
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["azp"], RP);
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["at_hash"], at_hash(&access_token));
    assert!(claims["auth_time"].as_i64().unwrap() >= before - 1);
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert_ne!(sub, USERNAME, "sub is the stable id, never the username");
    assert_eq!(claims["preferred_username"], USERNAME);
    assert!(
        claims.get("email").is_none(),
        "the test user has no email address"
    );

    // UserInfo, GET and POST, with the access token.
    let bearer = format!("Bearer {access_token}");
    let (status, _, info) = get(&system, "/userinfo", Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["preferred_username"], USERNAME);
    let (status, posted) = system.form_post("/userinfo", &[], Some(&bearer)).await;
    assert_eq!((status, &posted), (StatusCode::OK, &info));

    // OIDC Core section 12.2: a refresh brings a new ID token, same subject, no nonce.
    let (status, refreshed) = rp_posts(
        &system,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let again = verified_id_token(&system, &text(&refreshed, "id_token")).await;
    assert_eq!(again["sub"], sub.as_str());
    assert_eq!(again["auth_time"], claims["auth_time"]);
    assert!(again.get("nonce").is_none());
    assert_eq!(again["at_hash"], at_hash(&text(&refreshed, "access_token")));

    // An ID token is not an access token (security rule 8).
    let id_as_bearer = format!("Bearer {}", text(&tokens, "id_token"));
    let (status, challenge, refused) = get(&system, "/userinfo", Some(&id_as_bearer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}
on_both_stores!(
    oidc_sign_in,
    sign_in_issues_a_verifiable_id_token_userinfo_and_refresh
);

async fn claims_are_released_only_for_granted_scopes(system: System) {
    let system = with_relying_party(system, OpenIdSettings::default()).await;
    let mut browser = Browser::default();
    // The user unticks profile and email: only `openid` is granted.
    let back = sign_in(&system, &mut browser, &[], "openid").await;
    let tokens = redeem(&system, &back.code().unwrap()).await;
    assert_eq!(tokens["scope"], "openid");
    let claims = verified_id_token(&system, &text(&tokens, "id_token")).await;
    assert!(claims.get("nonce").is_none(), "no nonce sent, none echoed");
    for claim in ["name", "preferred_username", "email", "updated_at"] {
        assert!(claims.get(claim).is_none(), "{claim} was not granted");
    }
    let bearer = format!("Bearer {}", text(&tokens, "access_token"));
    let (_, _, info) = get(&system, "/userinfo", Some(&bearer)).await;
    assert_eq!(info.as_object().unwrap().len(), 1, "only sub: {info}");

    // A token without `openid` reads no UserInfo (RFC 6750 section 3.1).
    let back = sign_in(
        &system,
        &mut Browser::default(),
        &[("scope", "orders:read")],
        "orders:read",
    )
    .await;
    let tokens = redeem(&system, &back.code().unwrap()).await;
    assert!(
        tokens.get("id_token").is_none(),
        "not an OpenID Connect request"
    );
    let bearer = format!("Bearer {}", text(&tokens, "access_token"));
    let (status, challenge, _) = get(&system, "/userinfo", Some(&bearer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    // No credentials: 401 with a challenge that names no error.
    let (status, challenge, _) = get(&system, "/userinfo", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer realm=\"xecure\"");
}
on_both_stores!(scope_claims, claims_are_released_only_for_granted_scopes);

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn error_of(page: &Page) -> Option<String> {
    query_of(page.location())
        .into_iter()
        .find(|(name, _)| name == "error")
        .map(|(_, value)| value)
}

async fn request_parameters_behave_as_the_basic_op_plan_expects(system: System) {
    let system = with_relying_party(system, OpenIdSettings::default()).await;
    // prompt=none with nobody signed in: login_required, at the (trusted) client.
    let mut anonymous = Browser::default();
    let page = anonymous
        .get(&system, &rp_authorize(&[("prompt", "none")]))
        .await;
    assert!(
        page.location().starts_with(RP_REDIRECT),
        "{}",
        page.location()
    );
    assert_eq!(error_of(&page).as_deref(), Some("login_required"));
    // Request objects are refused by name (the claims parameter is ignored, below).
    for (name, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://rp.example/req.jwt",
            "request_uri_not_supported",
        ),
        ("max_age", "soon", "invalid_request"),
    ] {
        let page = anonymous
            .get(&system, &rp_authorize(&[(name, value)]))
            .await;
        assert_eq!(error_of(&page).as_deref(), Some(error), "{name}");
    }

    // OIDC Core section 5.5: a provider without the claims parameter ignores it.
    let page = anonymous
        .get(
            &system,
            &rp_authorize(&[("claims", "{\"userinfo\":{\"email\":null}}")]),
        )
        .await;
    assert!(
        page.local_location().starts_with("/login?"),
        "{}",
        page.location()
    );

    // Signed in and consented: prompt=none gets a code without a page.
    let mut browser = Browser::default();
    let first = sign_in(&system, &mut browser, &[], "openid profile email").await;
    let first_claims = verified_id_token(
        &system,
        &text(&redeem(&system, &first.code().unwrap()).await, "id_token"),
    )
    .await;
    let silent = browser
        .get(&system, &rp_authorize(&[("prompt", "none")]))
        .await;
    assert!(silent.code().is_some(), "{}", silent.location());

    // max_age=0 (OIDC Core 3.1.2.1): the sign-in must be fresh. prompt=none cannot give one.
    let stale = browser
        .get(
            &system,
            &rp_authorize(&[("prompt", "none"), ("max_age", "0")]),
        )
        .await;
    assert_eq!(error_of(&stale).as_deref(), Some("login_required"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = browser
        .get(&system, &rp_authorize(&[("max_age", "0")]))
        .await;
    let login = fresh.local_location();
    assert!(
        login.starts_with("/login?"),
        "max_age=0 asks for the password: {login}"
    );
    let login = browser.get(&system, &login).await;
    let back = browser.log_in(&system, &login, USERNAME, PASSWORD).await;
    let back = browser.get(&system, &back.local_location()).await;
    let tokens = redeem(&system, &back.code().expect("remembered consent, new code")).await;
    let claims = verified_id_token(&system, &text(&tokens, "id_token")).await;
    assert!(
        claims["auth_time"].as_i64() > first_claims["auth_time"].as_i64(),
        "auth_time is the new sign-in"
    );
}
on_both_stores!(
    request_parameters,
    request_parameters_behave_as_the_basic_op_plan_expects
);

async fn a_client_may_require_a_nonce(system: System) {
    let settings = OpenIdSettings {
        require_nonce: true,
        ..OpenIdSettings::default()
    };
    let system = with_relying_party(system, settings).await;
    let page = Browser::default().get(&system, &rp_authorize(&[])).await;
    assert_eq!(error_of(&page).as_deref(), Some("invalid_request"));
    let page = Browser::default()
        .get(&system, &rp_authorize(&[("nonce", NONCE)]))
        .await;
    assert!(page.local_location().starts_with("/login?"));
}
on_both_stores!(required_nonce, a_client_may_require_a_nonce);

async fn end_session_ends_the_session_and_redirects_only_where_registered(system: System) {
    let system = with_relying_party(system, OpenIdSettings::default()).await;
    let mut browser = Browser::default();
    let back = sign_in(&system, &mut browser, &[], "openid").await;
    let id_token = text(&redeem(&system, &back.code().unwrap()).await, "id_token");
    let logout =
        |pairs: &[(&str, &str)]| format!("/logout?{}", serde_urlencoded::to_string(pairs).unwrap());

    // An unregistered post_logout_redirect_uri, or none to match: an error page, no redirect.
    for pairs in [
        vec![
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![("post_logout_redirect_uri", RP_SIGNED_OUT)],
        vec![
            ("client_id", "other-app"),
            ("id_token_hint", id_token.as_str()),
        ],
    ] {
        let page = browser.get(&system, &logout(&pairs)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert!(page.location().is_empty());
    }
    // A hint not signed here (the signature altered) is refused.
    // A hint not signed here (the signature altered) counts as no hint: the user is asked,
    // nothing ends, and it cannot carry another client's redirect.
    let forged = format!("{}AAAA", id_token.trim_end_matches('='));
    let page = browser
        .get(&system, &logout(&[("id_token_hint", &forged)]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out?"), "{}", page.body);
    let page = browser
        .get(
            &system,
            &logout(&[
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", RP_SIGNED_OUT),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "no client identified");

    // Without a hint the user is asked first, and the app is named.
    let ask = browser
        .get(
            &system,
            &logout(&[
                ("client_id", RP),
                ("post_logout_redirect_uri", RP_SIGNED_OUT),
                ("state", "st"),
            ]),
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Relying Party"), "{}", ask.body);
    assert!(
        browser.get(&system, "/apps").await.status == StatusCode::OK,
        "still signed in"
    );

    // The user signs in again (prompt=login): the first ID token is of an earlier sign-in,
    // which any app that once had it could replay; it no longer ends the session unasked.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = sign_in(&system, &mut browser, &[("prompt", "login")], "openid").await;
    let current = text(&redeem(&system, &again.code().unwrap()).await, "id_token");
    let old_hint = browser
        .get(&system, &logout(&[("id_token_hint", &id_token)]))
        .await;
    assert_eq!(old_hint.status, StatusCode::OK, "asked, not signed out");
    assert!(old_hint.body.contains("Sign out?"));

    // The hint is this sign-in's: signed out at once, back to the app with state.
    let done = browser
        .get(
            &system,
            &logout(&[
                ("id_token_hint", &current),
                ("post_logout_redirect_uri", RP_SIGNED_OUT),
                ("state", "xyz"),
            ]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), format!("{RP_SIGNED_OUT}?state=xyz"));
    let apps = browser.get(&system, "/apps").await;
    assert_eq!(apps.status, StatusCode::SEE_OTHER, "the session is over");
    assert!(apps.local_location().starts_with("/login"));
    let until = SystemClock.now().plus(std::time::Duration::from_secs(1));
    let query = AuditQuery {
        subject: AuditSubject::Client(ClientId::parse(RP).unwrap()),
        from: Timestamp::from_secs(0),
        to: until,
        limit: 100,
        cursor: None,
    };
    let ended = system
        .store
        .query_audit(&query, until)
        .await
        .unwrap()
        .events
        .into_iter()
        .any(|event| {
            event.kind == xecure::domain::AuditEventKind::Logout
                && event.detail.get("initiated_by").map(String::as_str) == Some("client")
        });
    assert!(ended, "the app-initiated logout is audited");
}
on_both_stores!(
    end_session,
    end_session_ends_the_session_and_redirects_only_where_registered
);

async fn discovery_lists_what_is_served(system: System) {
    let system = with_relying_party(system, OpenIdSettings::default()).await;
    let (status, _, doc) = get(&system, "/.well-known/openid-configuration", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["userinfo_endpoint"], format!("{ISSUER}/userinfo"));
    assert_eq!(doc["end_session_endpoint"], format!("{ISSUER}/logout"));
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let (_, _, oauth) = get(&system, "/.well-known/oauth-authorization-server", None).await;
    assert_eq!(oauth["scopes_supported"], doc["scopes_supported"]);
}
on_both_stores!(discovery, discovery_lists_what_is_served);

async fn an_id_token_that_cannot_be_signed_spends_nothing(system: System) {
    // The client asks for ES256 ID tokens; this deployment has EdDSA and RS256 keys only.
    let settings = OpenIdSettings {
        id_token_signed_response_alg: Some("ES256".into()),
        ..OpenIdSettings::default()
    };
    let system = with_relying_party(system, settings).await;
    let back = sign_in(&system, &mut Browser::default(), &[], "openid").await;
    let code = back.code().unwrap();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", RP_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, refused) = rp_posts(&system, &fields).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert_eq!(refused["error"], "temporarily_unavailable");
    // Rule 15: the code is not spent, so the retry once a key exists is no replay.
    let stored = system
        .store
        .get_code(
            &xecure::domain::OpaqueToken::new(&code).digest(),
            SystemClock.now(),
        )
        .await
        .unwrap()
        .expect("the code is still there");
    assert!(stored.redeemed_at.is_none(), "the code was not spent");
    let (status, again) = rp_posts(&system, &fields).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{again}");
}
on_both_stores!(
    unsignable_id_token,
    an_id_token_that_cannot_be_signed_spends_nothing
);
