//! `xecure serve` as a developer runs it: a fresh data directory, a free loopback port, the
//! demo setup printed once, OAuth endpoints and the protected demo API answering over HTTP.

use std::process::Command;

mod support;

use support::{
    call, client_credentials, demo_service_basic, exchange, first_cookie, header, hidden,
    sign_in_at, start, start_with, SignIn, FORM,
};

/// A client_credentials token for the demo service, whose secret `serve` printed once.
fn service_token(address: &str, printed: &[String]) -> String {
    let (status, body) = client_credentials(address, &demo_service_basic(printed));
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    format!("Bearer {}", json["access_token"].as_str().unwrap())
}

#[test]
fn serve_runs_the_oauth_server_and_a_protected_demo_api() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    let text = printed.join("\n");
    assert!(text.contains("created signing key key_"), "{text}");
    assert!(
        text.contains("created user demo, password (shown once): "),
        "{text}"
    );
    let address = &server.address;
    let bearer = service_token(address, &printed);
    let auth = [("Authorization", bearer.as_str())];

    assert_eq!(call(address, "GET", "/orders", &auth, "").0, 200);
    assert_eq!(
        call(address, "POST", "/orders", &auth, "{}").0,
        403,
        "orders:write missing"
    );
    assert_eq!(call(address, "GET", "/profile", &auth, "").0, 403);
    assert_eq!(call(address, "GET", "/orders", &[], "").0, 401);
    assert_eq!(
        call(
            address,
            "GET",
            "/orders",
            &[("Authorization", "Bearer forged.token.x")],
            ""
        )
        .0,
        401
    );
    assert_eq!(
        call(
            address,
            "GET",
            "/.well-known/oauth-authorization-server",
            &[],
            ""
        )
        .0,
        200
    );
    let authorize = |redirect: &str| {
        format!("/authorize?response_type=code&client_id=demo-app&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri={redirect}")
    };
    let registered = format!("http%3A%2F%2F{address}%2Fdemo%2Fcallback");
    assert_eq!(
        call(address, "GET", &authorize(&registered), &[], "").0,
        303,
        "to the login page"
    );
    let foreign = "https%3A%2F%2Fevil.example%2Fdemo%2Fcallback";
    assert_eq!(
        call(address, "GET", &authorize(foreign), &[], "").0,
        400,
        "an error page"
    );
    drop(server);

    // A restart keeps the data and prints no secret again.
    let (_server, printed) = start(dir.path());
    assert!(!printed.join("\n").contains("shown once"), "{printed:?}");
}

#[test]
fn the_demo_app_walks_login_partial_consent_and_calls_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    let password = printed
        .iter()
        .find_map(|line| line.split("password (shown once): ").nth(1))
        .unwrap()
        .to_owned();
    let address = &server.address;
    let issuer = format!("http://{address}");
    let local = |location: &str| location.strip_prefix(&issuer).unwrap().to_owned();

    let (status, head, _) = exchange(address, "GET", "/demo/start", &[], "");
    assert_eq!(status, 303);
    let (status, head, _) = exchange(
        address,
        "GET",
        &local(header(&head, "location").unwrap()),
        &[],
        "",
    );
    assert_eq!(status, 303, "not logged in: to the login page");
    let login_path = local(header(&head, "location").unwrap());
    let SignIn { status, head, .. } = sign_in_at(address, &login_path, "demo", &password, &[]);
    assert_eq!(status, 303);
    let session = first_cookie(&head);
    let consent_path = local(header(&head, "location").unwrap());
    let (status, _, consent) = exchange(address, "GET", &consent_path, &[("Cookie", &session)], "");
    assert_eq!(status, 200, "{consent}");
    let decision = serde_urlencoded::to_string([
        ("request", hidden(&consent, "request")),
        ("csrf", hidden(&consent, "csrf")),
        ("scope", "openid".to_owned()),
        ("scope", "profile".to_owned()),
        ("scope", "profile:read".to_owned()),
        ("scope", "orders:read".to_owned()),
        ("decision", "approve".to_owned()),
    ])
    .unwrap();
    let (status, head, _) = exchange(
        address,
        "POST",
        "/consent",
        &[("Cookie", &session), FORM],
        &decision,
    );
    assert_eq!(status, 303);
    let callback = local(header(&head, "location").unwrap());
    assert!(callback.starts_with("/demo/callback?code="), "{callback}");
    let (status, _, page) = exchange(address, "GET", &callback, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(
            "<strong id=\"granted-scope\">openid orders:read profile profile:read</strong>"
        ),
        "{page}"
    );
    // The app validated the ID token (signature, issuer, audience, nonce, at_hash) and
    // greets the user by its name.
    assert!(
        page.contains("<strong id=\"signed-in-name\">Demo User</strong>"),
        "{page}"
    );
    for (call, expected) in [
        ("GET /profile", 200),
        ("GET /orders", 200),
        ("POST /orders", 403),
    ] {
        assert!(
            page.contains(&format!(
                "<h3>{call} <strong class=\"status\">{expected}</strong></h3>"
            )),
            "{call}: {page}"
        );
    }
    // The same callback again: the state was used up.
    assert_eq!(exchange(address, "GET", &callback, &[], "").0, 400);
}

#[test]
fn request_mode_authorizes_like_token_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start_with(dir.path(), &["--authorizer-mode", "request"]);
    let address = &server.address;
    let bearer = service_token(address, &printed);
    let auth = [("Authorization", bearer.as_str())];
    assert_eq!(call(address, "GET", "/orders", &auth, "").0, 200);
    assert_eq!(call(address, "POST", "/orders", &auth, "{}").0, 403);
    assert_eq!(
        call(
            address,
            "GET",
            "/orders",
            &[("Authorization", "Bearer x.y.z")],
            ""
        )
        .0,
        401
    );
}

fn xecure(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("XECURE_TABLE")
        .env_remove("XECURE_ACCESS_LOG_GROUP")
        .output()
        .expect("run xecure");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn api_calls_are_logged_per_app_and_held_to_the_apps_usage_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = start(dir.path());
    let address = &server.address;
    let bearer = service_token(address, &printed);
    let auth = [("Authorization", bearer.as_str())];
    assert_eq!(call(address, "GET", "/orders", &auth, "").0, 200);
    assert_eq!(call(address, "GET", "/orders", &auth, "").0, 200);
    assert_eq!(call(address, "POST", "/orders", &auth, "{}").0, 403);

    let (ok, out, err) = xecure(dir.path(), &["usage", "--client", "demo-service", "--json"]);
    assert!(ok, "{err}");
    let usage: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(usage["total"]["calls"], 3, "{usage}");
    assert_eq!(usage["total"]["client_errors"], 1, "{usage}");
    let (ok, table, err) = xecure(dir.path(), &["usage", "--client", "demo-service"]);
    assert!(ok, "{err}");
    assert!(table.contains("GET /orders"), "{table}");

    // The demo clients start on `standard`; an app on no plan is refused by the gateway.
    let (ok, out, err) = xecure(dir.path(), &["usage-plan", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("standard") && l.contains("demo-service")),
        "{out}"
    );
    let (ok, _, err) = xecure(
        dir.path(),
        &["usage-plan", "unassign", "--client", "demo-service"],
    );
    assert!(ok, "{err}");
    let (status, body) = call(address, "GET", "/orders", &auth, "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("usage-plan assign"), "{body}");
    let (ok, _, err) = xecure(
        dir.path(),
        &[
            "usage-plan",
            "assign",
            "--client",
            "demo-service",
            "--plan",
            "partner",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(call(address, "GET", "/orders", &auth, "").0, 200);
    let (ok, _, err) = xecure(
        dir.path(),
        &[
            "usage-plan",
            "assign",
            "--client",
            "demo-service",
            "--plan",
            "gold",
        ],
    );
    assert!(!ok && err.contains("no plan 'gold'"), "{err}");
    let (ok, _, err) = xecure(
        dir.path(),
        &[
            "usage-plan",
            "assign",
            "--client",
            "nobody",
            "--plan",
            "partner",
        ],
    );
    assert!(
        !ok && err.contains("nobody"),
        "an unknown app is refused: {err}"
    );
    // Each change is audited with who made it, as on a deployment.
    let (ok, trail, err) = xecure(dir.path(), &["audit", "--client", "demo-service"]);
    assert!(ok, "{err}");
    for plan in ["usage_plan=none", "usage_plan=partner"] {
        assert!(
            trail
                .lines()
                .any(|l| l.contains("client_changed") && l.contains(plan) && l.contains(" by ")),
            "{plan}: {trail}"
        );
    }
}

#[test]
fn health_and_readiness_answer_and_each_request_logs_one_line_without_its_query() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    let address = &server.address;
    let (status, head, body) = exchange(address, "GET", "/healthz", &[], "");
    assert_eq!((status, body.as_str()), (200, "{\"message\":\"alive\"}"));
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    let (status, body) = call(address, "GET", "/readyz", &[], "");
    assert_eq!((status, body.as_str()), (200, "{\"message\":\"ready\"}"));

    let (status, _) = call(
        address,
        "GET",
        "/authorize?client_id=demo-app&state=query-marker-7f3a",
        &[],
        "",
    );
    assert_eq!(status, 400, "an error page: no redirect_uri");
    let line = server.wait_for_line("GET /authorize ");
    assert!(
        line.starts_with("access 127.0.0.1 GET /authorize 400 ") && line.ends_with("ms"),
        "{line}"
    );
    let log = server.log.lock().unwrap().join("\n");
    assert!(!log.contains("query-marker-7f3a"), "no query string: {log}");
    assert!(log.contains("access 127.0.0.1 GET /healthz 200 "), "{log}");
    assert!(log.contains("access 127.0.0.1 GET /readyz 200 "), "{log}");
}

#[test]
fn listen_takes_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = support::start_at(dir.path(), "localhost:0", &[]);
    let port = server.address.rsplit_once(':').unwrap().1.to_owned();
    let text = printed.join("\n");
    assert!(
        text.contains(&format!("Xecure is serving http://localhost:{port} ")),
        "{text}"
    );
    let loopback = format!("127.0.0.1:{port}");
    assert_eq!(call(&loopback, "GET", "/healthz", &[], "").0, 200);
    drop(server);
}
