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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server and returns it with everything it printed before the demo API line.
fn start(data_dir: &std::path::Path) -> (Server, Vec<String>) {
    let address = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", &address])
        .env_remove("XECURE_TABLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start xecure serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("protected demo API");
        printed.push(line);
        if last {
            break;
        }
    }
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
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
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
    let secret = printed
        .iter()
        .find_map(|line| line.split("secret (shown once): ").nth(1))
        .expect("the demo service secret is printed once")
        .to_owned();
    let address = &server.address;

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
    let bearer = format!("Bearer {}", json["access_token"].as_str().unwrap());
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
