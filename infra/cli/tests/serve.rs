//! `xecure serve` as a developer runs it: a fresh data directory, a free loopback port, the
//! demo setup printed once, OAuth endpoints and the protected demo API answering over HTTP.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and returns it with everything it printed before the demo API line.
fn start(data_dir: &std::path::Path) -> (Server, Vec<String>) {
    start_with(data_dir, &[])
}

fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> (Server, Vec<String>) {
    // Port 0: the server takes a free port and says which in its banner (no race for one).
    let mut child = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("XECURE_TABLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start xecure serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let mut address = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Xecure is serving http://") {
            address = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let last = line.starts_with("protected demo API");
        printed.push(line);
        if last {
            break;
        }
    }
    assert!(
        !address.is_empty(),
        "the banner names the address: {printed:?}"
    );
    // Keep draining stdout (decision log lines) so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server { child, address }, printed)
}

/// One HTTP/1.1 request; returns the status code and the body.
fn call(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, body) = exchange(address, method, path, headers, body);
    (status, body)
}

/// One HTTP/1.1 request; returns the status code, the raw header block and the body.
fn exchange(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(address) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("cannot connect to {address}: {error}"),
        }
    };
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_owned(), body.to_owned())
}

/// A client_credentials token for the demo service, whose secret `serve` printed once.
fn service_token(address: &str, printed: &[String]) -> String {
    let secret = printed
        .iter()
        .find_map(|line| line.split("secret (shown once): ").nth(1))
        .expect("the demo service secret is printed once");
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("demo-service:{secret}"))
    );
    let form = [
        ("Authorization", basic.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let (status, body) = call(
        address,
        "POST",
        "/token",
        &form,
        "grant_type=client_credentials",
    );
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    format!("Bearer {}", json["access_token"].as_str().unwrap())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
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
    let (status, head, login) = exchange(address, "GET", &login_path, &[], "");
    assert_eq!(status, 200);
    let cookie = header(&head, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form = serde_urlencoded::to_string([
        ("request", hidden(&login, "request")),
        ("csrf", hidden(&login, "csrf")),
        ("username", "demo".to_owned()),
        ("password", password),
    ])
    .unwrap();
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let (status, head, _) = exchange(
        address,
        "POST",
        "/login",
        &[("Cookie", &cookie), form_type],
        &form,
    );
    assert_eq!(status, 303);
    let session = header(&head, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let consent_path = local(header(&head, "location").unwrap());
    let (status, _, consent) = exchange(address, "GET", &consent_path, &[("Cookie", &session)], "");
    assert_eq!(status, 200, "{consent}");
    let decision = serde_urlencoded::to_string([
        ("request", hidden(&consent, "request")),
        ("csrf", hidden(&consent, "csrf")),
        ("scope", "profile:read".to_owned()),
        ("scope", "orders:read".to_owned()),
        ("decision", "approve".to_owned()),
    ])
    .unwrap();
    let (status, head, _) = exchange(
        address,
        "POST",
        "/consent",
        &[("Cookie", &session), form_type],
        &decision,
    );
    assert_eq!(status, 303);
    let callback = local(header(&head, "location").unwrap());
    assert!(callback.starts_with("/demo/callback?code="), "{callback}");
    let (status, _, page) = exchange(address, "GET", &callback, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<strong id=\"granted-scope\">orders:read profile:read</strong>"),
        "{page}"
    );
    for (call, expected) in [
        ("GET /profile", 200),
        ("GET /orders", 200),
        ("POST /orders", 403),
    ] {
        let section = page.split(&format!("<h3>{call}</h3>")).nth(1).unwrap();
        assert!(
            section.contains(&format!("<strong class=\"status\">{expected}</strong>")),
            "{call}: {section}"
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
}
