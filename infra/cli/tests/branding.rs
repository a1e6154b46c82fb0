//! Branding from the environment and the consent screen of a self-registered app: the
//! product name, logo and colour on the pages with the CSP still strict (the stylesheet by
//! hash, images only from the logo origins), the app's logo, redirect host, policy and terms
//! links, the unverified-app notice until `xecure client verify`, and "Not you? Sign out".

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use support::{exchange, first_cookie, header, sign_in_at, start_configured, SignIn, Target};

const BRAND: [(&str, &str); 4] = [
    ("XECURE_BRAND_NAME", "Acme ID"),
    ("XECURE_BRAND_LOGO_URL", "https://cdn.acme.example/logo.svg"),
    ("XECURE_BRAND_COLOR", "#aa3300"),
    ("XECURE_BRAND_PRIVACY_URL", "https://acme.example/privacy"),
];

/// Signs in as demo from an authorization request of `client_id` and returns the consent
/// screen (headers and page).
fn consent_page(address: &str, client_id: &str, password: &str) -> (String, String) {
    let authorize = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fphotos.example%2Fcallback&scope=profile%3Aread&state=s1&code_challenge=tsmyj50JLby-EXbENxxVUBC-4DFcK41OF4H9J2dm0NY&code_challenge_method=S256"
    );
    let local = |head: &str| {
        header(head, "location")
            .unwrap()
            .replace(&format!("http://{address}"), "")
    };
    let (status, head, body) = exchange(address, "GET", &authorize, &[], "");
    assert_eq!(status, 303, "{body}");
    let SignIn { status, head, .. } = sign_in_at(address, &local(&head), "demo", password, &[]);
    assert_eq!(status, 303);
    let session = first_cookie(&head);
    let (status, head, page) = exchange(address, "GET", &local(&head), &[("Cookie", &session)], "");
    assert_eq!(status, 200, "{page}");
    (head, page)
}

#[test]
fn the_consent_screen_is_branded_and_marks_an_unverified_app_until_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start_configured(dir.path(), "127.0.0.1:0", &[], &BRAND);
    let address = &server.address;
    let password = printed
        .iter()
        .find_map(|line| line.split("password (shown once): ").nth(1))
        .unwrap()
        .to_owned();
    let cli = Target::Local(dir.path().to_owned());
    let token = cli.ok(&["client", "registration-token"]);
    let token = token
        .lines()
        .next()
        .unwrap()
        .strip_prefix("initial_access_token: ")
        .unwrap();
    let metadata = serde_json::json!({
        "client_name": "Photo Print",
        "redirect_uris": ["https://photos.example/callback"],
        "token_endpoint_auth_method": "none",
        "scope": "profile:read",
        "logo_uri": "https://static.photos.example/logo.png",
        "policy_uri": "https://photos.example/privacy",
        "tos_uri": "https://photos.example/terms",
    })
    .to_string();
    let bearer = format!("Bearer {token}");
    let (status, _, registered) = exchange(
        address,
        "POST",
        "/register",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &metadata,
    );
    assert_eq!(status, 201, "{registered}");
    let registered: serde_json::Value = serde_json::from_str(&registered).unwrap();
    assert_eq!(
        registered["logo_uri"],
        "https://static.photos.example/logo.png"
    );
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    let (head, page) = consent_page(address, &client_id, &password);
    std::fs::create_dir_all("../../test-artifacts").ok();
    std::fs::write("../../test-artifacts/consent-branded.html", &page).unwrap();
    assert!(
        page.contains("<title>Allow access · Acme ID</title>"),
        "{page}"
    );
    assert!(
        page.contains("<img src=\"https://cdn.acme.example/logo.svg\""),
        "{page}"
    );
    assert!(page.contains("background:#aa3300"), "{page}");
    assert!(
        page.contains("href=\"https://acme.example/privacy\""),
        "{page}"
    );
    assert!(page.contains("class=\"client-logo\" src=\"https://static.photos.example/logo.png\""));
    assert!(
        page.contains("<strong class=\"redirect-host\">photos.example</strong>"),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://photos.example/privacy\""),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://photos.example/terms\""),
        "{page}"
    );
    assert!(page.contains("Unverified app."), "{page}");
    assert!(
        page.contains(&format!(
            "href=\"http://{address}/logout\">Not you? Sign out"
        )),
        "{page}"
    );

    // The CSP allows exactly this stylesheet and the two logo origins.
    let csp = header(&head, "content-security-policy").unwrap();
    let style = page
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let hash = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(style)));
    assert!(csp.contains(&format!("style-src {hash};")), "{csp}");
    assert!(
        csp.contains("img-src https://cdn.acme.example https://static.photos.example;"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // An operator vouches for the app (the CLI runs inside the server). A running server
    // reads clients through its 60 s client cache (CLIENT_CACHE_TTL); a new one at once.
    cli.ok(&["client", "verify", &client_id]);
    drop(server);
    let (server, _) = start_configured(dir.path(), "127.0.0.1:0", &[], &BRAND);
    let (_, page) = consent_page(&server.address, &client_id, &password);
    assert!(!page.contains("Unverified app."), "{page}");
}

#[test]
fn registration_refuses_logo_and_policy_links_that_are_not_https() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start_configured(dir.path(), "127.0.0.1:0", &[], &[]);
    let cli = Target::Local(dir.path().to_owned());
    let token = cli.ok(&["client", "registration-token"]);
    let bearer = format!(
        "Bearer {}",
        token
            .lines()
            .next()
            .unwrap()
            .strip_prefix("initial_access_token: ")
            .unwrap()
    );
    for (field, value) in [
        ("logo_uri", "http://photos.example/logo.png"),
        ("policy_uri", "javascript:alert(1)"),
        ("tos_uri", "https://user@photos.example/terms"),
    ] {
        let mut metadata = serde_json::json!({
            "client_name": "Photo Print",
            "redirect_uris": ["https://photos.example/callback"],
            "token_endpoint_auth_method": "none",
            "scope": "profile:read",
        });
        metadata[field] = serde_json::json!(value);
        let (status, _, body) = exchange(
            &server.address,
            "POST",
            "/register",
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            &metadata.to_string(),
        );
        assert_eq!(status, 400, "{field}: {body}");
        assert!(
            body.contains("invalid_client_metadata") && body.contains(field),
            "{body}"
        );
    }
}
