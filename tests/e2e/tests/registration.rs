//! Issue #9: dynamic client registration (RFC 7591) behind an initial access token, and
//! management of the registration (RFC 7592) with the registration access token.

use lambda_http::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use xecure::domain::ClientId;
use xecure::ports::{Clock, OsRng, SystemClock};
use xecure_e2e::browser::authorize_path;
use xecure_e2e::registration::{call, initial_access_token, metadata};
use xecure_e2e::*;

async fn client_count(system: &System) -> usize {
    system.store.list_clients().await.unwrap().len()
}

#[tokio::test]
async fn hostile_redirect_uris_are_rejected_with_invalid_redirect_uri() {
    let system = System::embedded().await;
    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let before = client_count(&system).await;
    for hostile in [
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "http://recipes.example/callback",
        "http://localhost/callback",
        "https://recipes.example/callback#access_token",
        "https://*.recipes.example/callback",
        "https://recipes.example/*",
        "/callback",
        "recipes.example/callback",
    ] {
        let (status, answer, headers) = call(
            &system,
            "POST",
            "/register",
            Some(&iat),
            Some(&metadata(hostile)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{hostile}: {answer}");
        assert_eq!(answer["error"], "invalid_redirect_uri", "{hostile}");
        assert!(answer["error_description"].as_str().unwrap().len() > 10);
        assert_eq!(headers["cache-control"], "no-store");
    }
    assert_eq!(client_count(&system).await, before, "nothing was stored");
}

#[tokio::test]
async fn bad_metadata_is_invalid_client_metadata() {
    let system = System::embedded().await;
    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let good = metadata("https://recipes.example/cb");
    let with = |field: &str, value: Value| {
        let mut m = good.clone();
        m[field] = value;
        m
    };
    for (why, body) in [
        ("unknown scope", with("scope", json!("admin:everything"))),
        ("no scope", {
            let mut m = good.clone();
            m.as_object_mut().unwrap().remove("scope");
            m
        }),
        ("implicit", with("grant_types", json!(["implicit"]))),
        ("password", with("grant_types", json!(["password"]))),
        ("token response", with("response_types", json!(["token"]))),
        (
            "auth method",
            with("token_endpoint_auth_method", json!("private_key_jwt")),
        ),
        ("public m2m", {
            let mut m = with("token_endpoint_auth_method", json!("none"));
            m["grant_types"] = json!(["client_credentials"]);
            m["response_types"] = json!([]);
            m
        }),
        ("no name", with("client_name", json!("  "))),
        (
            "wrong type",
            with("redirect_uris", json!("https://recipes.example/cb")),
        ),
        ("not an object", json!(["x"])),
    ] {
        let (status, answer, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {answer}");
        assert_eq!(
            answer["error"], "invalid_client_metadata",
            "{why}: {answer}"
        );
    }
}

#[tokio::test]
async fn registration_needs_a_live_initial_access_token() {
    let system = System::embedded().await;
    let body = metadata("https://recipes.example/cb");
    let expired = initial_access_token(&system, Duration::from_millis(1)).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    for token in [None, Some("unknown-token"), Some(expired.as_str())] {
        let (status, answer, headers) =
            call(&system, "POST", "/register", token, Some(&body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(answer["error"], "invalid_token");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
}

#[tokio::test]
async fn a_registered_client_is_read_updated_used_and_deleted() {
    let system = System::embedded().await;
    let (_, doc, _) = call(
        &system,
        "GET",
        "/.well-known/oauth-authorization-server",
        None,
        None,
    )
    .await;
    assert_eq!(doc["registration_endpoint"], format!("{ISSUER}/register"));

    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let (status, created, headers) = call(
        &system,
        "POST",
        "/register",
        Some(&iat),
        Some(&metadata("https://recipes.example/cb")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(headers["cache-control"], "no-store");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let rat = created["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["client_secret_expires_at"], 0);
    assert!(created["client_id_issued_at"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(
        created["registration_client_uri"],
        format!("{ISSUER}/register/{client_id}")
    );
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["scope"], "orders:read profile:read");
    // RFC 7591 section 3.2.1: the registered metadata comes back, logo_uri included (the
    // consent screen shows it); a field we do not know is ignored (section 2).
    assert_eq!(created["logo_uri"], "https://recipes.example/logo.png");
    assert!(
        created.get("software_statement_version").is_none(),
        "unknown metadata is ignored"
    );
    let path = format!("/register/{client_id}");

    // The secret works at the token endpoint; consent is always asked of users (rule 14).
    let stored = system
        .store
        .get_client(&ClientId::parse(&client_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.verify_secret(&xecure::domain::ClientSecret::new(secret.clone())));
    let mut browser = Browser::default();
    let start = browser
        .get(
            &system,
            &authorize_path(
                "v",
                &[
                    ("client_id", &client_id),
                    ("redirect_uri", "https://recipes.example/cb"),
                    ("scope", "orders:read"),
                ],
            ),
        )
        .await;
    assert!(
        start.local_location().starts_with("/login?request="),
        "{}",
        start.location()
    );

    // RFC 7592 read: 401 without the registration access token, or with another.
    for bad in [None, Some(iat.as_str()), Some("nope")] {
        let (status, answer, _) = call(&system, "GET", &path, bad, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(answer["error"], "invalid_token");
    }
    let (status, read, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["client_name"], "Recipe Planner");
    assert!(
        read.get("client_secret").is_none(),
        "only its hash is stored"
    );

    // Update replaces the metadata; a confidential client's secret rotates.
    let mut update = metadata("http://127.0.0.1/callback");
    update["client_id"] = json!(client_id);
    update["client_name"] = json!("Recipe Planner 2");
    update["token_endpoint_auth_method"] = json!("client_secret_post");
    let (status, updated, _) = call(&system, "PUT", &path, Some(&rat), Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["client_name"], "Recipe Planner 2");
    assert_eq!(
        updated["redirect_uris"],
        json!(["http://127.0.0.1/callback"])
    );
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert_ne!(updated["client_secret"], json!(secret));
    // RFC 7592 section 2.2: the update rotated the registration access token.
    let (status, _, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old token no longer works"
    );
    let rat = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rat, created["registration_access_token"].as_str().unwrap());
    let mut hostile = update.clone();
    hostile["redirect_uris"] = json!(["javascript:alert(1)"]);
    let (status, answer, _) = call(&system, "PUT", &path, Some(&rat), Some(&hostile)).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_redirect_uri"))
    );
    let mut other_id = update.clone();
    other_id["client_id"] = json!(WEB);
    let (status, _, _) = call(&system, "PUT", &path, Some(&rat), Some(&other_id)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, unchanged, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(
        unchanged["client_name"], "Recipe Planner 2",
        "refused updates change nothing"
    );

    // Delete: 204, then the registration is gone (401) and the client unknown.
    let (status, _, _) = call(&system, "DELETE", &path, Some(&rat), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&system, "GET", &path, Some(&rat), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(system
        .store
        .get_client(&ClientId::parse(&client_id).unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn deleting_a_registration_revokes_what_users_granted() {
    let system = System::embedded().await;
    let iat = initial_access_token(&system, Duration::from_secs(3600)).await;
    let mut body = metadata("https://recipes.example/cb");
    body["token_endpoint_auth_method"] = json!("none");
    let (status, created, _) = call(&system, "POST", "/register", Some(&iat), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let client = ClientId::parse(created["client_id"].as_str().unwrap()).unwrap();
    let user = system
        .store
        .get_user_by_username(&xecure::domain::Username::parse(USERNAME).unwrap())
        .await
        .unwrap()
        .unwrap();
    let saved = system
        .store
        .save_grant(
            &xecure::domain::Grant {
                id: xecure::domain::GrantId::generate(&OsRng),
                user_id: user.id.clone(),
                client_id: client.clone(),
                scope: xecure::domain::Scope::parse("orders:read").unwrap(),
                created_at: SystemClock.now(),
                last_used_at: SystemClock.now(),
                revoked_at: None,
                client_revision: 0,
                version: 1,
                family_epoch: 0,
            },
            None,
        )
        .await
        .unwrap();
    assert!(saved);
    let rat = created["registration_access_token"].as_str().unwrap();
    let (status, _, _) = call(
        &system,
        "DELETE",
        &format!("/register/{client}"),
        Some(rat),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let grant = system
        .store
        .get_grant(&user.id, &client)
        .await
        .unwrap()
        .unwrap();
    assert!(grant.revoked_at.is_some());
    let revocations = system
        .store
        .list_revocations_since(xecure::domain::Timestamp::from_secs(0), SystemClock.now())
        .await
        .unwrap();
    assert!(revocations
        .iter()
        .any(|r| r.target == xecure::domain::RevocationTarget::Client(client.clone())));
    assert!(revocations
        .iter()
        .any(|r| r.target == xecure::domain::RevocationTarget::Grant(grant.id.clone())));
    let trail = system
        .store
        .query_audit(
            &xecure::domain::AuditQuery {
                subject: xecure::domain::AuditSubject::Client(client.clone()),
                from: xecure::domain::Timestamp::from_secs(0),
                to: SystemClock.now().plus(Duration::from_secs(1)),
                limit: 100,
                cursor: None,
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    assert!(
        trail
            .events
            .iter()
            .any(|e| e.kind == xecure::domain::AuditEventKind::ClientRemoved),
        "the removal is audited: {:?}",
        trail.events.iter().map(|e| e.kind).collect::<Vec<_>>()
    );
}

/// A form POST to /token with HTTP Basic credentials: the status and the JSON answer.
async fn token_with(system: &System, id: &str, secret: &str) -> (StatusCode, Value) {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let fields = [("grant_type", "client_credentials")];
    system
        .form_post("/token", &fields, Some(&format!("Basic {basic}")))
        .await
}

/// RFC 7592 section 2: a registration access token opens its own registration only; an
/// update's new secret (section 2.2) replaces the old one at the token endpoint at once.
async fn registration_tokens_open_only_their_own(system: System) {
    let machine = json!({
        "client_name": "Nightly Export",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "orders:read",
    });
    let mine = xecure_e2e::registration::register(&system, &machine).await;
    let theirs = xecure_e2e::registration::register(&system, &machine).await;
    let my_token = text(&mine, "registration_access_token");
    let their_path = format!("/register/{}", text(&theirs, "client_id"));
    let mut update = machine.clone();
    update["client_id"] = theirs["client_id"].clone();
    for (method, body) in [("GET", None), ("PUT", Some(&update)), ("DELETE", None)] {
        let (status, answer, _) = call(&system, method, &their_path, Some(&my_token), body).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("invalid_token")),
            "{method} with another client's registration token"
        );
    }
    let (status, _, _) = call(
        &system,
        "GET",
        &their_path,
        Some(&text(&theirs, "registration_access_token")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "nothing of theirs changed");

    let (id, old_secret) = (text(&mine, "client_id"), text(&mine, "client_secret"));
    assert_eq!(
        token_with(&system, &id, &old_secret).await.0,
        StatusCode::OK
    );
    let mut rename = machine.clone();
    rename["client_id"] = json!(id);
    rename["client_name"] = json!("Nightly Export 2");
    let (status, updated, _) = call(
        &system,
        "PUT",
        &format!("/register/{id}"),
        Some(&my_token),
        Some(&rename),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let new_secret = text(&updated, "client_secret");
    assert_ne!(new_secret, old_secret);
    let (status, refused) = token_with(&system, &id, &old_secret).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    assert_eq!(
        token_with(&system, &id, &new_secret).await.0,
        StatusCode::OK
    );
}
on_both_stores!(
    rfc_7592_a_registration_token_opens_only_its_own_and_a_new_secret_replaces_the_old,
    registration_tokens_open_only_their_own
);
