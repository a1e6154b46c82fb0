//! Running the `xecure` binary in tests: an operator's command on a data directory or on a
//! DynamoDB table (moto), and `xecure serve` on a free loopback port with its output kept.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a command works: a local data directory, or a DynamoDB table on moto.
#[derive(Clone)]
pub enum Target {
    Local(PathBuf),
    Dynamo(String),
}

impl Target {
    /// A fresh table on moto (created by the store), the same schema `xecure` expects.
    pub async fn fresh_table() -> Target {
        let store = xecure::testing::moto::fresh_store().await;
        Target::Dynamo(store.table_name().to_owned())
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xecure"));
        command
            .env_remove("XECURE_TABLE")
            .env_remove("XECURE_ACCESS_LOG_GROUP")
            .env_remove("XECURE_STAGE")
            .env_remove("XECURE_DATA_DIR")
            // Dates typed and shown are local: the tests' are UTC wherever they run.
            .env("TZ", "UTC")
            .env("USER", "test-operator");
        match self {
            Target::Local(dir) => {
                command.arg("--data-dir").arg(dir);
            }
            Target::Dynamo(table) => {
                command
                    .args([
                        "--dynamodb-table",
                        table,
                        "--endpoint",
                        &xecure::testing::moto::endpoint(),
                    ])
                    .env("AWS_ACCESS_KEY_ID", "test")
                    .env("AWS_SECRET_ACCESS_KEY", "test")
                    .env("AWS_REGION", "us-east-1")
                    .env("AWS_EC2_METADATA_DISABLED", "true");
            }
        }
        command
    }

    /// Runs `xecure <args>` with `input` on standard input (not a terminal).
    pub fn run(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run xecure");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Standard output of a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    pub fn ok_with(&self, args: &[&str], input: &str) -> String {
        let output = self.run(args, input);
        assert!(
            output.status.success(),
            "xecure {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Standard error of a command that must fail.
    pub fn fails(&self, args: &[&str], input: &str) -> String {
        let output = self.run(args, input);
        assert!(
            !output.status.success(),
            "xecure {args:?} should fail: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stderr).unwrap()
    }
}

pub struct Server {
    child: Child,
    pub address: String,
    /// Everything printed after the banner, line by line.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits (up to 10 s) for a printed line containing `text`.
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.contains(text))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {text:?} in {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts the server and returns it with everything it printed up to the demo API line.
pub fn start(data_dir: &Path) -> (Server, Vec<String>) {
    start_with(data_dir, &[])
}

pub fn start_with(data_dir: &Path, extra: &[&str]) -> (Server, Vec<String>) {
    // Port 0: the server takes a free port and says which in its banner (no race for one).
    start_at(data_dir, "127.0.0.1:0", extra)
}

pub fn start_at(data_dir: &Path, listen: &str, extra: &[&str]) -> (Server, Vec<String>) {
    start_configured(data_dir, listen, extra, &[])
}

/// As `start_at`, with these environment variables set for the server.
pub fn start_configured(
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> (Server, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xecure"))
        .envs(envs.iter().copied())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", listen])
        .args(extra)
        .env_remove("XECURE_TABLE")
        .env_remove("XECURE_ACCESS_LOG_GROUP")
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
    // Keep reading stdout (request and decision lines) so the server never blocks on a
    // full pipe, and keep them for the test.
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    assert!(
        !address.is_empty(),
        "the banner names the address: {printed:?}"
    );
    (
        Server {
            child,
            address,
            log,
        },
        printed,
    )
}

/// One HTTP/1.1 request; returns the status code and the body.
pub fn call(
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
pub fn exchange(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(address) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("cannot connect to {address}: {error}"),
        }
    };
    exchange_on(stream, address, method, path, headers, body)
}

/// One HTTP/1.1 request to the server's Unix socket (the CLI endpoint): status and body.
pub fn call_socket(
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", socket.display()));
    let (status, _, body) = exchange_on(stream, "localhost", method, path, headers, body);
    (status, body)
}

fn exchange_on(
    mut stream: impl Read + Write,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
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

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// The first cookie a response sets, as a `Cookie` header value.
pub fn first_cookie(head: &str) -> String {
    header(head, "set-cookie")
        .unwrap_or_else(|| panic!("no cookie set in {head}"))
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// What a browser's sign-in left: the login POST's status, header block and body, and the
/// cookie the browser had before it (the login page's).
pub struct SignIn {
    pub status: u16,
    pub head: String,
    pub page: String,
    pub browser: String,
}

/// A browser opens the login page at `login_path` and submits `username` and `password`,
/// sending `headers` with both requests. The page carries either `request` (an
/// authorization in progress) or `return` (one of the user's own pages); both are sent back.
pub fn sign_in_at(
    address: &str,
    login_path: &str,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> SignIn {
    let (status, head, login) = exchange(address, "GET", login_path, headers, "");
    assert_eq!(status, 200, "{login}");
    let browser = first_cookie(&head);
    let carried = if login.contains("name=\"request\"") {
        "request"
    } else {
        "return"
    };
    let form = serde_urlencoded::to_string([
        (carried, hidden(&login, carried)),
        ("csrf", hidden(&login, "csrf")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ])
    .unwrap();
    let mut sent = vec![("Cookie", browser.as_str()), FORM];
    sent.extend_from_slice(headers);
    let (status, head, page) = exchange(address, "POST", "/login", &sent, &form);
    SignIn {
        status,
        head,
        page,
        browser,
    }
}

/// The demo service's Basic credentials, from the secret `serve` printed once.
pub fn demo_service_basic(printed: &[String]) -> String {
    use base64::Engine;
    let secret = printed
        .iter()
        .find_map(|line| line.split("secret (shown once): ").nth(1))
        .expect("the demo service secret is printed once");
    let pair = format!("demo-service:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A client_credentials request with `basic`: the status and the JSON body.
pub fn client_credentials(address: &str, basic: &str) -> (u16, String) {
    call(
        address,
        "POST",
        "/token",
        &[("Authorization", basic), FORM],
        "grant_type=client_credentials",
    )
}
