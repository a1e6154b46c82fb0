//! Issue #14: what a client may do follows what the operator and its users allowed, through
//! the handlers on both stores. A registration update that moves or widens where tokens go
//! asks users again and ends their grants (rule 16); a client with no user behind it gets no
//! user's scope; errors before sign-in go only to trusted clients, and loopback redirect URIs
//! match exactly except the port (rule 20).

use lambda_http::http::StatusCode;
use lambda_http::Body;
use serde_json::{json, Value};
use xecure::domain::{Client, ClientId, Timestamp};
use xecure_e2e::browser::{authorize_path, Page};
use xecure_e2e::registration::{call, metadata, register};
use xecure_e2e::*;

const VERIFIER: &str = "client-controls-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
const GOOD: &str = "https://good.example/cb";
const EVIL: &str = "https://evil.example/cb";

/// A form POST with no client credentials but the fields given: status and JSON.
async fn post_form(
    system: &System,
    path: &str,
    fields: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        builder = builder.header("authorization", format!("Basic {encoded}"));
    }
    let body = Body::from(serde_urlencoded::to_string(fields).unwrap());
    let response = system.serve(builder.body(body).unwrap()).await;
    let json = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (response.status(), json)
}

/// A public code-flow client registered through RFC 7591 with `redirect`.
async fn registered_public(system: &System, redirect: &str) -> Value {
    let mut body = metadata(redirect);
    body["token_endpoint_auth_method"] = json!("none");
    register(system, &body).await
}

/// `xecure client verify`: an operator vouches for the registered client `id`.
async fn vouch_for(system: &System, id: &ClientId) {
    let stored = system.store.get_client(id).await.unwrap().unwrap();
    let vouched = Client {
        verified: true,
        version: stored.version + 1,
        ..stored
    };
    assert!(system.store.update_client(&vouched).await.unwrap());
}

fn authorize(client: &str, redirect: &str, extra: &[(&'static str, &'static str)]) -> String {
    let mut overrides = vec![("client_id", client), ("redirect_uri", redirect)];
    overrides.extend(extra.iter().copied());
    authorize_path(VERIFIER, &overrides)
}

/// Signs in if needed, approves on the consent screen, redeems: the token response.
async fn connect(system: &System, browser: &mut Browser, client: &str) -> Value {
    let mut page = browser.get(system, &authorize(client, GOOD, &[])).await;
    if page.local_location().starts_with("/login?") {
        let login = browser.get(system, &page.local_location()).await;
        page = browser.log_in(system, &login, USERNAME, PASSWORD).await;
    }
    let screen = browser.get(system, &page.local_location()).await;
    let back = browser
        .approve(system, &screen, "profile:read orders:read")
        .await;
    let code = back.code().unwrap_or_else(|| panic!("{}", back.location()));
    let (status, tokens) = post_form(
        system,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", GOOD),
            ("code_verifier", VERIFIER),
            ("client_id", client),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn moving_a_redirect_uri(mut system: System) {
    let created = registered_public(&system, GOOD).await;
    let client = text(&created, "client_id");
    let path = format!("/register/{client}");
    let mut browser = Browser::default();
    let tokens = connect(&system, &mut browser, &client).await;
    let remembered = browser.get(&system, &authorize(&client, GOOD, &[])).await;
    assert!(
        remembered.code().is_some(),
        "consent is remembered before the change"
    );

    // The developer adds a redirect URI: tokens may now go somewhere users never saw.
    let mut update = metadata(GOOD);
    update["redirect_uris"] = json!([GOOD, EVIL]);
    update["token_endpoint_auth_method"] = json!("none");
    update["client_id"] = json!(client);
    let old_rat = text(&created, "registration_access_token");
    let (status, updated, _) = call(&system, "PUT", &path, Some(&old_rat), Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");

    // A warm container may refuse the new URI for the client cache's minute; then every
    // container reads the new record.
    system.restart_interactive_functions();
    let to_evil = browser.get(&system, &authorize(&client, EVIL, &[])).await;
    assert!(
        to_evil.local_location().starts_with("/consent?"),
        "the user is asked before a code goes to the new URI: {}",
        to_evil.location()
    );
    let (status, refused) = post_form(
        &system,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&tokens, "refresh_token")),
            ("client_id", &client),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, text(&refused, "error")),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // RFC 7592 section 2.2: the update rotated the registration access token.
    let (status, _, _) = call(&system, "GET", &path, Some(&old_rat), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let rat = text(&updated, "registration_access_token");
    let (status, _, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(status, StatusCode::OK);

    // A rename is not material: consent given after the move stays remembered.
    connect(&system, &mut browser, &client).await;
    let mut rename = update.clone();
    rename["client_name"] = json!("Recipe Planner Deluxe");
    let (status, renamed, _) = call(&system, "PUT", &path, Some(&rat), Some(&rename)).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let still = browser.get(&system, &authorize(&client, GOOD, &[])).await;
    assert!(still.code().is_some(), "{}", still.location());

    // The registration access token expires.
    let id = ClientId::parse(&client).unwrap();
    let stored = system.store.get_client(&id).await.unwrap().unwrap();
    let mut registration = stored.registration.clone().unwrap();
    registration.access_token_expires_at = Some(Timestamp::from_secs(1));
    let expired = Client {
        registration: Some(registration),
        version: stored.version + 1,
        ..stored
    };
    assert!(system.store.update_client(&expired).await.unwrap());
    let rat = text(&renamed, "registration_access_token");
    let (status, _, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an expired registration access token"
    );
}
on_both_stores!(
    rule_16_a_registration_update_that_adds_a_redirect_uri_asks_users_again,
    moving_a_redirect_uri
);

/// A client_credentials token request by the client `created` describes (its registration
/// answer), with `extra` fields.
async fn own_token(
    system: &System,
    created: &Value,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (id, secret) = (text(created, "client_id"), text(created, "client_secret"));
    let mut fields = vec![("grant_type", "client_credentials")];
    fields.extend_from_slice(extra);
    post_form(system, "/token", &fields, Some((&id, &secret))).await
}

async fn machine_clients(system: System) {
    let iat = xecure_e2e::registration::initial_access_token(
        &system,
        std::time::Duration::from_secs(600),
    )
    .await;
    let machine = |scope: &str| {
        json!({
            "client_name": "Nightly Export",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": scope,
        })
    };
    let (status, refused, _) = call(
        &system,
        "POST",
        "/register",
        Some(&iat),
        Some(&machine("orders:read orders:write")),
    )
    .await;
    assert_eq!(
        (status, text(&refused, "error")),
        (StatusCode::BAD_REQUEST, "invalid_client_metadata".into())
    );
    assert!(text(&refused, "error_description").contains("orders:write"));

    let (status, created, _) = call(
        &system,
        "POST",
        "/register",
        Some(&iat),
        Some(&machine("orders:read")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, token) = own_token(&system, &created, &[]).await;
    assert_eq!(
        (status, token["scope"].clone()),
        (StatusCode::OK, json!("orders:read"))
    );

    // A code-flow client may also get tokens for itself, but only of the scopes a client may
    // hold without a user.
    let mut both = metadata(GOOD);
    both["grant_types"] = json!(["authorization_code", "client_credentials"]);
    both["scope"] = json!("orders:read orders:write");
    let created = register(&system, &both).await;
    let (status, token) = own_token(&system, &created, &[]).await;
    assert_eq!(
        (status, token["scope"].clone()),
        (StatusCode::OK, json!("orders:read"))
    );
    let (status, refused) = own_token(&system, &created, &[("scope", "orders:write")]).await;
    assert_eq!(
        (status, text(&refused, "error")),
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
}
on_both_stores!(
    rule_16_a_client_with_no_user_behind_it_gets_no_user_delegated_scope,
    machine_clients
);

/// An error page: 400, and no `Location` anywhere.
fn shown_here(page: &Page, what: &str) {
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "{what}: {}",
        page.location()
    );
    assert!(
        page.location().is_empty(),
        "{what}: redirected to {}",
        page.location()
    );
}

async fn error_redirects(system: System) {
    let created = registered_public(&system, GOOD).await;
    let untrusted = text(&created, "client_id");
    let mut browser = Browser::default();
    for (extra, what) in [
        (&[("response_type", "token")][..], "implicit grant"),
        (&[("scope", "admin")][..], "unknown scope"),
        (&[("code_challenge_method", "plain")][..], "plain PKCE"),
        (
            &[("prompt", "none")][..],
            "prompt=none with nobody signed in",
        ),
    ] {
        let page = browser
            .get(&system, &authorize(&untrusted, GOOD, extra))
            .await;
        shown_here(&page, what);
    }
    // The operator's own client gets the error at its redirect URI.
    let page = browser
        .get(
            &system,
            &authorize_path(VERIFIER, &[("response_type", "token")]),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().starts_with(WEB_REDIRECT),
        "{}",
        page.location()
    );
    // So does a registered client an operator verified (`xecure client verify`).
    let verified = text(&registered_public(&system, GOOD).await, "client_id");
    let id = ClientId::parse(&verified).unwrap();
    vouch_for(&system, &id).await;
    let page = browser
        .get(
            &system,
            &authorize(&verified, GOOD, &[("response_type", "token")]),
        )
        .await;
    assert!(page.location().starts_with(GOOD), "{}", page.location());
    // Until it adds a redirect URI: the operator vouched for where it sent users then.
    let stored = system.store.get_client(&id).await.unwrap().unwrap();
    let mut moved = stored.clone();
    moved
        .redirect_uris
        .push(xecure::domain::RedirectUri::parse(EVIL).unwrap());
    let context = xecure::audit::RequestContext::default();
    let changed = system
        .operator(&context)
        .change_client(&stored, moved)
        .await
        .unwrap();
    assert!(changed.material && !changed.client.verified);
    // After the user signed in, a denial goes back to any client (RFC 9700 section 4.11.2).
    let start = browser
        .get(&system, &authorize(&untrusted, GOOD, &[]))
        .await;
    let login = browser.get(&system, &start.local_location()).await;
    let consent = browser.log_in(&system, &login, USERNAME, PASSWORD).await;
    // Signed in, but with no part in this request (prompt=none, no consent yet): still
    // shown here, never sent to an untrusted client.
    let silent = browser
        .get(&system, &authorize(&untrusted, GOOD, &[("prompt", "none")]))
        .await;
    shown_here(&silent, "prompt=none, signed in, no consent");
    let screen = browser.get(&system, &consent.local_location()).await;
    let fields = [
        ("request", screen.hidden("request")),
        ("csrf", screen.hidden("csrf")),
        ("decision", "deny".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let denied = browser.post(&system, "/consent", &fields).await;
    assert!(
        denied.location().starts_with(GOOD) && denied.location().contains("error=access_denied"),
        "{}",
        denied.location()
    );
}
on_both_stores!(
    rule_20_errors_before_sign_in_reach_only_trusted_clients,
    error_redirects
);

/// An app an operator verified, then changing how it presents itself through RFC 7592.
async fn self_changes_undo_verification(system: System) {
    let created = registered_public(&system, GOOD).await;
    let client_id = text(&created, "client_id");
    let id = ClientId::parse(&client_id).unwrap();
    let mut token = text(&created, "registration_access_token");
    let path = format!("/register/{client_id}");
    let mut metadata_now = metadata(GOOD);
    metadata_now["client_id"] = json!(client_id);
    metadata_now["token_endpoint_auth_method"] = json!("none");
    for (what, field, value) in [
        ("its name", "client_name", json!("Totally Your Bank")),
        (
            "its logo",
            "logo_uri",
            json!("https://cdn.example/bank.png"),
        ),
        (
            "its privacy policy",
            "policy_uri",
            json!("https://other.example/p"),
        ),
    ] {
        vouch_for(&system, &id).await;
        metadata_now[field] = value;
        let (status, updated, _) =
            call(&system, "PUT", &path, Some(&token), Some(&metadata_now)).await;
        assert_eq!(status, StatusCode::OK, "{what}: {updated}");
        token = text(&updated, "registration_access_token");
        let after = system.store.get_client(&id).await.unwrap().unwrap();
        assert!(
            !after.verified,
            "changing {what} ends the operator's vouching"
        );
    }
    // An update that changes nothing users see keeps it.
    vouch_for(&system, &id).await;
    let (status, updated, _) = call(&system, "PUT", &path, Some(&token), Some(&metadata_now)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(
        system
            .store
            .get_client(&id)
            .await
            .unwrap()
            .unwrap()
            .verified
    );
}
on_both_stores!(
    rule_20_an_app_that_changes_how_it_presents_itself_is_verified_no_more,
    self_changes_undo_verification
);

async fn loopback_matching(system: System) {
    let created = registered_public(&system, "http://127.0.0.1/cb").await;
    let client = text(&created, "client_id");
    let mut browser = Browser::default();
    let any_port = browser
        .get(
            &system,
            &authorize(&client, "http://127.0.0.1:51004/cb", &[]),
        )
        .await;
    assert!(
        any_port.local_location().starts_with("/login?"),
        "{}",
        any_port.location()
    );
    for lookalike in [
        "http://127.1/cb",
        "http://0x7f.0.0.1/cb",
        "http://2130706433/cb",
        "http://127.0.0.1/x/../cb",
        "HTTP://127.0.0.1/cb",
        "http://127.0.0.1:51004/cb/",
    ] {
        let page = browser
            .get(&system, &authorize(&client, lookalike, &[]))
            .await;
        shown_here(&page, lookalike);
    }
}
on_both_stores!(
    rule_20_loopback_redirect_uris_match_exactly_except_the_port,
    loopback_matching
);

/// A disabled client is unknown to every endpoint, and what it held stops: the code flow
/// shows an error page (never a redirect to it), its secret opens nothing at the token
/// endpoint, and its access token is refused at the gateway.
async fn disabled_client(mut system: System) {
    let mut browser = Browser::default();
    let tokens = connect_app(&system, &mut browser, "profile:read orders:read").await;
    let access = text(&tokens, "access_token");
    // As `xecure client disable` does it: withdraw, then switch off at a new revision.
    let context = xecure::audit::RequestContext::default();
    let id = ClientId::parse(WEB).unwrap();
    system.operator(&context).revoke_client(&id).await.unwrap();
    let before = system.store.get_client(&id).await.unwrap().unwrap();
    let disabled = Client {
        disabled: true,
        revision: before.revision + 1,
        version: before.version + 1,
        ..before
    };
    assert!(system.store.update_client(&disabled).await.unwrap());
    system.restart_functions().await;

    let page = browser
        .get(
            &system,
            &authorize_path(VERIFIER, &[("scope", "profile:read")]),
        )
        .await;
    shown_here(&page, "authorize for a disabled client");
    let (status, refused) = token_request(
        &system,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(
        (status, text(&refused, "error")),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let (status, _) = system.app_posts("/introspect", &[("token", &access)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let verdict = xecure_e2e::authorizer_container::api_verdict(
        system.store.clone(),
        &access,
        "GET",
        "/orders",
    )
    .await;
    assert!(
        xecure_e2e::authorizer_container::revoked(&verdict),
        "{verdict:?}"
    );
}
on_both_stores!(
    rule_16_a_disabled_client_is_unknown_to_every_endpoint,
    disabled_client
);
