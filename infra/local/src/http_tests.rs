//! The local server's bounds (security rule 19), over real loopback sockets with a stand-in
//! handler and short limits. A guard of ten seconds turns a hang into a failure; no test
//! asserts how fast anything happened.

use super::http::{serve, Acceptor, Handler};
use super::limits::ServerLimits;
use lambda_http::{Body, Response};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GUARD: Duration = Duration::from_secs(10);
const BIG: usize = 64 << 20;

/// `/hang` never answers, `/big` answers 64 MiB, anything else "ok".
struct StandIn;

impl Handler for StandIn {
    fn handle(
        &self,
        request: lambda_http::Request,
        _peer: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send {
        let path = request.uri().path().to_owned();
        async move {
            match path.as_str() {
                "/hang" => std::future::pending().await,
                "/big" => Response::new(Body::Binary(vec![b'x'; BIG])),
                _ => Response::new(Body::from("ok")),
            }
        }
    }
}

fn limits() -> ServerLimits {
    ServerLimits {
        header_read: Duration::from_millis(300),
        request: Duration::from_millis(300),
        write_stall: Duration::from_millis(300),
        max_connections: 8,
    }
}

async fn server(limits: ServerLimits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, Arc::new(StandIn), limits));
    address
}

/// Everything the server sends until it closes the connection (or resets it).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    received
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_after_the_header_timeout() {
    let address = server(limits()).await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let answer = read_to_close(&mut slow).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "never served"
    );
}

/// Sends `request` on a new connection to a server with the test limits; everything the
/// server answers until it closes the connection.
async fn exchange(request: &[u8]) -> String {
    let address = server(limits()).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(request).await.unwrap();
    String::from_utf8(read_to_close(&mut client).await).unwrap()
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    // The answer, then nothing more from the client: closed while idle.
    let answer = exchange(get("/").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408() {
    let answer =
        exchange(b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_request_that_is_never_answered_gets_503() {
    let answer = exchange(get("/hang").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_dropped() {
    let address = server(limits()).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(get("/big").as_bytes()).await.unwrap();
    // Not reading: the socket buffers fill, the server's write stalls, and it gives up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = read_to_close(&mut client).await;
    assert!(
        received.len() < BIG,
        "{} bytes: the whole answer waited for the client",
        received.len()
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let address = server(ServerLimits {
        header_read: Duration::from_secs(30),
        max_connections: 1,
        ..limits()
    })
    .await;
    let holder = TcpStream::connect(address).await.unwrap();
    // Give the server time to take the first connection into its only slot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = TcpStream::connect(address).await.unwrap();
    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    waiting.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "answered while the only slot was taken");
    drop(holder);
    let answer = String::from_utf8(read_to_close(&mut waiting).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

/// Fails every accept as a process out of file descriptors does, counting the attempts.
struct OutOfDescriptors(Arc<AtomicUsize>);

impl Acceptor for OutOfDescriptors {
    type Stream = TcpStream;
    fn accept(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        self.0.fetch_add(1, Ordering::SeqCst);
        async {
            // Yields, so a server that retried at once would spin without starving the test.
            tokio::task::yield_now().await;
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        }
    }
}

#[tokio::test]
async fn failing_accepts_back_off_instead_of_spinning() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn(serve(
        OutOfDescriptors(Arc::clone(&attempts)),
        Arc::new(StandIn),
        limits(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.abort();
    // 5 ms doubling to 1 s: about ten attempts in two seconds, never more than 11 (a busy
    // loop makes millions).
    let made = attempts.load(Ordering::SeqCst);
    assert!((1..=11).contains(&made), "{made} accept attempts in 2 s");
}
