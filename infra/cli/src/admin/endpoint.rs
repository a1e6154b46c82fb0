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
use tokio::net::{UnixListener, UnixStream};
use xecure::domain::secret::constant_time_eq;
use xecure::ports::{OsRng, Rng};
use xecure::store::client_cache::CachedClients;
use xecure_local::http::{serve, Acceptor, Handler, UNIX_PEER};
use xecure_local::limits::ServerLimits;

struct AdminEndpoint {
    token: String,
    target: Target,
    /// The running system's client cache: cleared after every command, so a client the
    /// operator disabled or changed is read afresh at once.
    clients: Arc<CachedClients>,
}

/// Connections from processes of this server's own user only (the kernel's SO_PEERCRED):
/// the socket's mode already keeps others out; this holds even if its directory does not.
struct OwnerOnly(UnixListener);

impl Acceptor for OwnerOnly {
    type Stream = UnixStream;
    async fn accept(&mut self) -> std::io::Result<(UnixStream, SocketAddr)> {
        loop {
            let (stream, _) = self.0.accept().await?;
            match stream.peer_cred() {
                Ok(peer) if peer.uid() == rustix::process::geteuid().as_raw() => {
                    return Ok((stream, UNIX_PEER))
                }
                Ok(peer) => eprintln!(
                    "xecure serve: CLI endpoint refused a connection from uid {}",
                    peer.uid()
                ),
                Err(error) => eprintln!("xecure serve: CLI endpoint: {error}"),
            }
        }
    }
}

/// Listens on `<data dir>/admin.sock` (0600), writes the endpoint file (0600) and serves
/// forwarded commands in the background. Returns the socket's path for the banner.
pub async fn start(
    target: &Target,
    data_dir: &Path,
    limits: ServerLimits,
    clients: Arc<CachedClients>,
) -> Result<String, String> {
    let socket = endpoint_socket(data_dir);
    // Bound under a fresh name, made private, then renamed over the old path: the socket is
    // never reachable at its path before it is 0600, and a socket a killed server left
    // behind is replaced in one step (this process holds the data directory's lock, so no
    // other server is using it).
    let fresh = socket.with_extension("sock.new");
    let _ = std::fs::remove_file(&fresh);
    let listener = UnixListener::bind(&fresh).map_err(|e| {
        format!(
            "cannot listen on {} ({e}; a Unix socket's path is at most 107 bytes: a shorter --data-dir helps)",
            fresh.display()
        )
    })?;
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&fresh, &socket))
        .map_err(|e| format!("cannot put the socket at {}: {e}", socket.display()))?;
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
        clients,
    });
    tokio::spawn(async move {
        if let Err(error) = serve(OwnerOnly(listener), handler, limits).await {
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
        // Whatever the command changed, the server reads clients afresh from now on.
        self.clients.clear();
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
