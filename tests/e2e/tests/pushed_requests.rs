//! Pushed authorization requests (RFC 9126) through the handlers, on both stores: the web
//! app pushes its request with its credentials, the browser carries only the `request_uri`,
//! used once and only by the client that pushed it; a client registered to push must.

use lambda_http::http::StatusCode;
use xecure::domain::{AuthMethod, GrantType};
use xecure::ports::{Clock, SystemClock};
use xecure::testing::ClientFixture;
use xecure_e2e::browser::challenge_of;
use xecure_e2e::{approved_from, on_both_stores, redeem, text, Browser, System, WEB, WEB_REDIRECT};

const VERIFIER: &str = "par-verifier-0123456789abcdefghijklmnopqrstuvwxyz0123456789";
const STRICT: &str = "strict-app";
const STRICT_SECRET: &str = "strict-app-secret-0123456789abcdefghijklmno";
const STRICT_REDIRECT: &str = "https://strict.example/cb";

/// The web app's authorization request, as it pushes it.
fn request_fields(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", WEB_REDIRECT.into()),
        ("scope", "orders:read".into()),
        ("state", "pushed-state".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn push(system: &System, fields: &[(&str, String)]) -> (StatusCode, serde_json::Value) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    system.app_posts("/par", &fields).await
}

fn authorize_with(client_id: &str, request_uri: &str) -> String {
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)])
            .unwrap()
    )
}

async fn a_pushed_request_signs_the_user_in_once(system: System) {
    let challenge = challenge_of(VERIFIER);
    let (status, pushed) = push(&system, &request_fields(&challenge)).await;
    // RFC 9126 section 2.2: 201 with the request_uri and its lifetime.
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = text(&pushed, "request_uri");
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let mut browser = Browser::default();
    let start = authorize_with(WEB, &request_uri);
    let connection = approved_from(
        &system,
        &mut browser,
        &start,
        "orders:read",
        WEB_REDIRECT,
        VERIFIER,
    )
    .await;
    let (status, tokens) = redeem(&system, &connection.code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "orders:read");

    // Section 4: used once; the browser's other parameters are not read.
    let again = browser.get(&system, &start).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("invalid_request_uri"), "{}", again.body);

    // Only the client that pushed it may use it, and another's attempt spends nothing.
    let (_, pushed) = push(&system, &request_fields(&challenge)).await;
    let request_uri = text(&pushed, "request_uri");
    let other = browser
        .get(&system, &authorize_with(STRICT, &request_uri))
        .await;
    assert!(other.body.contains("invalid_request_uri"), "{}", other.body);
    let own = browser
        .get(&system, &authorize_with(WEB, &request_uri))
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.body);
}
on_both_stores!(
    a_pushed_request_is_used_once_by_its_client,
    a_pushed_request_signs_the_user_in_once
);

async fn pushes_are_validated_as_authorize_requests(system: System) {
    let challenge = challenge_of(VERIFIER);
    let mut fields = request_fields(&challenge);
    fields[1] = ("redirect_uri", "https://evil.example/cb".into());
    let (status, answer) = push(&system, &fields).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"], "invalid_request");
    let mut fields = request_fields(&challenge);
    fields.push(("request_uri", "urn:ietf:params:oauth:request_uri:x".into()));
    let (status, answer) = push(&system, &fields).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let mut fields = request_fields(&challenge);
    fields.retain(|(name, _)| *name != "code_challenge");
    let (status, answer) = push(&system, &fields).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "PKCE is required: {answer}"
    );
    // Without the client's credentials: nothing is kept.
    let fields = request_fields(&challenge);
    let mut anonymous: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    anonymous.push(("client_id", WEB));
    let (status, answer) = system.form_post("/par", &anonymous, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"], "invalid_client");
}
on_both_stores!(
    a_push_is_refused_as_its_authorization_request_would_be,
    pushes_are_validated_as_authorize_requests
);

/// RFC 9126 section 6: `require_pushed_authorization_requests`.
async fn a_strict_client_must_push(mut system: System) {
    let strict = ClientFixture::confidential(STRICT, STRICT_SECRET)
        .redirect(STRICT_REDIRECT)
        .scopes("orders:read", "orders:read")
        .grants(&[GrantType::AuthorizationCode])
        .auth_method(AuthMethod::ClientSecretPost)
        .require_pushed_requests();
    system.world.register(strict, SystemClock.now()).await;
    system.restart_functions().await;
    let challenge = challenge_of(VERIFIER);
    let direct = xecure_e2e::browser::authorize_path(
        VERIFIER,
        &[
            ("client_id", STRICT),
            ("redirect_uri", STRICT_REDIRECT),
            ("scope", "orders:read"),
        ],
    );
    let page = Browser::default().get(&system, &direct).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("must push"), "{}", page.body);
    let fields: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("redirect_uri", STRICT_REDIRECT),
        ("scope", "orders:read"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("client_id", STRICT),
        ("client_secret", STRICT_SECRET),
    ];
    let (status, pushed) = system.form_post("/par", &fields, None).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let page = Browser::default()
        .get(
            &system,
            &authorize_with(STRICT, &text(&pushed, "request_uri")),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location().contains("/login"), "{}", page.location());
}
on_both_stores!(
    a_client_registered_to_push_cannot_skip_par,
    a_strict_client_must_push
);
