//! HTTP/1.1 on a TCP listener or a Unix socket (hyper), each request converted to a lambda_http request and
//! the answer back, as API Gateway's proxy integration does. What a connection may cost is
//! bounded (security rule 19, `limits.rs`): headers within a timeout (slowloris), the body
//! and the answer within a request timeout, writes that stall closed, a connection limit,
//! and accept failures (file descriptors exhausted) met with back-off and rate-limited logs.

use super::limits::{limited_line, Backoff, LogLimiter, ServerLimits};
use super::stall::WriteStall;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_http::Body;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// One line per this interval at most for each kind of repeated error.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Waits between failed accepts: 5 ms doubling to 1 s.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// What answers a request (the local system; a stand-in in tests).
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: lambda_http::Request,
        peer: SocketAddr,
    ) -> impl Future<Output = lambda_http::Response<Body>> + Send;
}

/// Where connections come from (the TCP listener, the CLI endpoint's Unix socket; a failing
/// stand-in in tests).
pub trait Acceptor: Send {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

impl Acceptor for TcpListener {
    type Stream = TcpStream;
    fn accept(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        TcpListener::accept(self)
    }
}

/// A Unix socket's peer has no address: its requests are logged as from this one.
pub const UNIX_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

impl Acceptor for UnixListener {
    type Stream = UnixStream;
    async fn accept(&mut self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, _) = UnixListener::accept(self).await?;
        Ok((stream, UNIX_PEER))
    }
}

/// Every address a host name resolved to (`--listen localhost:3000`: 127.0.0.1 and ::1),
/// served as one: a connection on any of them, under one connection limit.
pub struct Listeners(pub Vec<TcpListener>);

impl Acceptor for Listeners {
    type Stream = TcpStream;
    fn accept(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        std::future::poll_fn(|cx| {
            for listener in &self.0 {
                if let std::task::Poll::Ready(accepted) = listener.poll_accept(cx) {
                    return std::task::Poll::Ready(accepted);
                }
            }
            std::task::Poll::Pending
        })
    }
}

/// Serves until the process ends.
pub async fn serve<A: Acceptor, H: Handler>(
    mut acceptor: A,
    handler: Arc<H>,
    limits: ServerLimits,
) -> Result<(), String> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut backoff = Backoff::new(ACCEPT_BACKOFF.0, ACCEPT_BACKOFF.1);
    let mut accept_errors = LogLimiter::new(LOG_INTERVAL);
    let connection_errors = Arc::new(Mutex::new(LogLimiter::new(LOG_INTERVAL)));
    loop {
        // At the limit, wait for a connection to end before accepting another: new ones
        // queue in the kernel's listen backlog.
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (stream, peer) = match acceptor.accept().await {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            Err(error) => {
                let line = format!("accept failed: {error}");
                if let Some(line) = limited_line(&mut accept_errors, Instant::now(), &line) {
                    eprintln!("{line}");
                }
                tokio::time::sleep(backoff.next_wait()).await;
                continue;
            }
        };
        let handler = Arc::clone(&handler);
        let errors = Arc::clone(&connection_errors);
        tokio::spawn(async move {
            if let Err(error) = connection(stream, peer, handler, limits).await {
                let line = format!("connection from {peer} ended: {error}");
                let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(line) = limited_line(&mut errors, Instant::now(), &line) {
                    eprintln!("{line}");
                }
            }
            drop(slot);
        });
    }
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static, H: Handler>(
    stream: S,
    peer: SocketAddr,
    handler: Arc<H>,
    limits: ServerLimits,
) -> Result<(), hyper::Error> {
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let handler = Arc::clone(&handler);
        async move {
            let started = Instant::now();
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            let response = answer(handler.as_ref(), request, peer, limits.request).await;
            println!(
                "{}",
                request_line(
                    peer,
                    method.as_str(),
                    &path,
                    response.status().as_u16(),
                    started.elapsed()
                )
            );
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(WriteStall::new(stream, limits.write_stall));
    http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(io, service)
        .await
}

/// The body within the request timeout (else 408, RFC 9110 section 15.5.9), then the
/// handler's answer within what is left of it (else 503).
async fn answer<H: Handler>(
    handler: &H,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    timeout: Duration,
) -> hyper::Response<Full<Bytes>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let (parts, body) = request.into_parts();
    let bytes =
        match tokio::time::timeout_at(deadline, Limited::new(body, MAX_BODY).collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(_)) => return plain(413, "request body too large"),
            Err(_) => return plain(408, "request timeout: the body did not arrive in time"),
        };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(error) => Body::Binary(error.into_bytes()),
        }
    };
    let request = lambda_http::http::Request::from_parts(parts, body);
    let response = match tokio::time::timeout_at(deadline, handler.handle(request, peer)).await {
        Ok(response) => response,
        Err(_) => return plain(503, "the request took too long to answer"),
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// One line per request on stdout, for the operator watching the server (the API's access
/// log is `access_log.rs`): who, what, the answer and how long it took. The path only: a query string may carry a
/// request handle or a code.
pub fn request_line(
    peer: SocketAddr,
    method: &str,
    path: &str,
    status: u16,
    took: Duration,
) -> String {
    let shown: String = path
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!(
        "access {} {method} {shown} {status} {:.1}ms",
        peer.ip(),
        took.as_secs_f64() * 1000.0
    )
}

fn plain(status: u16, text: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response
}
