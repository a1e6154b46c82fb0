//! The CLI's side: sends the command line to the running server named by the endpoint file.

use super::{
    endpoint_file, endpoint_socket, CommandOutcome, EndpointFile, ForwardedCommand, RUN_PATH,
};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// How long the CLI waits for the server to run the command (rule 18: a bound on every
/// call); the server's own request timeout is the same by default.
const WAIT: Duration = Duration::from_secs(30);

/// Runs the command in the `xecure serve` that holds `data_dir`; its exit status.
pub async fn forward(data_dir: &Path, command: ForwardedCommand) -> Result<u8, String> {
    let path = endpoint_file(data_dir);
    let held = format!(
        "the data directory {} is open in another process",
        data_dir.display()
    );
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{held}, and it left no CLI endpoint ({}: {e}); stop it, or run this in the `xecure serve` of this data directory", path.display())
    })?;
    let file: EndpointFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let body = serde_json::to_string(&command).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {RUN_PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        file.token,
        body.len()
    );
    let socket = endpoint_socket(data_dir);
    let exchange = async {
        let mut stream = UnixStream::connect(&socket).await?;
        // The command may carry a password: only to a server of this same user.
        let owner = stream.peer_cred()?.uid();
        if owner != rustix::process::geteuid().as_raw() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("it is held by another user (uid {owner}); nothing was sent"),
            ));
        }
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(WAIT, exchange)
        .await
        .map_err(|_| format!("{held}; its CLI endpoint did not answer within {WAIT:?}"))?
        .map_err(|e| {
            format!(
                "{held}, but its CLI endpoint ({}) does not answer: {e}",
                socket.display()
            )
        })?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{held}; its CLI endpoint refused the command: {} {body}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let outcome: CommandOutcome = serde_json::from_str(body)
        .map_err(|e| format!("{held}; its CLI endpoint answered something else: {e}"))?;
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    Ok(outcome.status)
}
