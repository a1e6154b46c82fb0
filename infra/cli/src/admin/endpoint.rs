//! The server's side: the Unix socket that runs forwarded commands.

use super::{
    endpoint_file, endpoint_socket, CommandOutcome, EndpointFile, ForwardedCommand, RUN_PATH,
};
use crate::operator::Operator;
use crate::output::{capturing, Captured};
use crate::target::Target;
use clap::Parser;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::net::UnixListener;
use xecure::domain::secret::constant_time_eq;
use xecure::ports::{OsRng, Rng};
use xecure_local::http::{serve, Handler};
use xecure_local::limits::ServerLimits;

struct AdminEndpoint {
    token: String,
    target: Target,
}

/// Listens on `<data dir>/admin.sock` (0600), writes the endpoint file (0600) and serves
/// forwarded commands in the background. Returns the socket's path for the banner.
pub async fn start(
    target: &Target,
    data_dir: &Path,
    limits: ServerLimits,
) -> Result<String, String> {
    let socket = endpoint_socket(data_dir);
    // A socket a killed server left behind: this process holds the data directory's lock
    // (the store), so no other server is using it.
    match std::fs::remove_file(&socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot replace {}: {e}", socket.display())),
    }
    let listener = UnixListener::bind(&socket).map_err(|e| {
        format!(
            "cannot listen for the CLI on {} ({e}; a Unix socket's path is at most 107 bytes: a shorter --data-dir helps)",
            socket.display()
        )
    })?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot make {} private: {e}", socket.display()))?;
    let mut secret = [0u8; 32];
    OsRng.fill(&mut secret);
    let token = hex::encode(secret);
    write_private(
        &endpoint_file(data_dir),
        &EndpointFile {
            token: token.clone(),
        },
    )?;
    let handler = Arc::new(AdminEndpoint {
        token,
        target: target.clone(),
    });
    tokio::spawn(async move {
        if let Err(error) = serve(listener, handler, limits).await {
            eprintln!("xecure serve: the CLI endpoint stopped: {error}");
        }
    });
    Ok(socket.display().to_string())
}

/// Written whole to a new file created 0600, then renamed over the old one: a reader sees
/// the old file or the new one, never a half-written or world-readable one.
fn write_private(path: &Path, file: &EndpointFile) -> Result<(), String> {
    let fresh = path.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    let text = serde_json::to_string(file).map_err(|e| e.to_string())?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&fresh)
        .and_then(|mut out| out.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&fresh, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn answer(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        "application/json".parse().expect("static header value"),
    );
    response
}

fn refusal(status: StatusCode, message: &str) -> Response<Body> {
    answer(status, serde_json::json!({ "error": message }).to_string())
}

impl AdminEndpoint {
    fn authorized(&self, request: &Request) -> bool {
        let presented = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Rule 9: secrets are compared in constant time.
        constant_time_eq(presented.as_bytes(), self.token.as_bytes())
    }

    async fn run(&self, forwarded: ForwardedCommand) -> CommandOutcome {
        let cli = match crate::Cli::try_parse_from(&forwarded.args) {
            Ok(cli) => cli,
            Err(error) => {
                return CommandOutcome {
                    status: 2,
                    stdout: String::new(),
                    stderr: error.render().to_string(),
                }
            }
        };
        let target = Target {
            operator: Operator::known(format!("{} via xecure serve", forwarded.operator)),
            ..self.target.clone()
        };
        let captured = Arc::new(Mutex::new(Captured {
            input: forwarded.input,
            ..Captured::default()
        }));
        let result = capturing(
            Arc::clone(&captured),
            crate::run_operator_command(cli.command, &target),
        )
        .await;
        let stdout = std::mem::take(&mut captured.lock().unwrap_or_else(|e| e.into_inner()).stdout);
        let (status, stderr) = match result {
            Ok(()) => (0, String::new()),
            Err(message) => (1, format!("xecure: {message}\n")),
        };
        CommandOutcome {
            status,
            stdout,
            stderr,
        }
    }
}

impl Handler for AdminEndpoint {
    async fn handle(&self, request: Request, _peer: SocketAddr) -> Response<Body> {
        if request.uri().path() != RUN_PATH || request.method() != Method::POST {
            return refusal(StatusCode::NOT_FOUND, "POST /run only");
        }
        if !self.authorized(&request) {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "the token of the endpoint file is required",
            );
        }
        let forwarded: ForwardedCommand = match serde_json::from_slice(request.body().as_ref()) {
            Ok(forwarded) => forwarded,
            Err(error) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    &format!("not a forwarded command: {error}"),
                )
            }
        };
        let outcome = self.run(forwarded).await;
        answer(
            StatusCode::OK,
            serde_json::to_string(&outcome).unwrap_or_default(),
        )
    }
}
