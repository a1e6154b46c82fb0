//! A client's key host on loopback, for `jwks_uri` tests: a real HTTP/1.1 server on
//! 127.0.0.1 that answers every GET as told (`Answer`) and counts the requests it got, so a
//! test can see what the server fetched, how often, and that it fetched nothing it should
//! not have.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the host answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this JSON.
    Json(serde_json::Value),
    /// Reads the request and never answers.
    Hang,
    /// 302 to this URL.
    Redirect(String),
    /// This status with an empty body.
    Status(u16),
    /// 200 with this many bytes of JSON-looking padding and no Content-Length.
    Endless(usize),
    /// 200 with a small key set's Content-Length, then one byte of it every half second.
    Drip,
}

pub struct KeyHost {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl KeyHost {
    pub async fn start(answer: Answer) -> KeyHost {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let origin = format!("http://{}", listener.local_addr().expect("its address"));
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (shared_answer, counter) = (answer.clone(), requests.clone());
        let connected = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                connected.fetch_add(1, Ordering::SeqCst);
                let answer = shared_answer.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let answer = answer.lock().expect("the answer").clone();
                    let response = match answer {
                        Answer::Json(value) => {
                            let body = value.to_string();
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                        }
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            return;
                        }
                        Answer::Drip => {
                            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n";
                            if stream.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            for byte in "{\"keys\":[".bytes().cycle().take(200) {
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                if stream.write_all(&[byte]).await.is_err() {
                                    return;
                                }
                            }
                            return;
                        }
                        Answer::Redirect(to) => format!(
                            "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        ),
                        Answer::Status(code) => format!(
                            "HTTP/1.1 {code} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        ),
                        Answer::Endless(bytes) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{{\"keys\":[\"{}\"]}}",
                            "a".repeat(bytes)
                        ),
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        KeyHost {
            origin,
            answer,
            requests,
            connections,
            task,
        }
    }

    /// Its JWK Set's URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks.json", self.origin)
    }

    /// From now on, answer with `answer`.
    pub fn answer_with(&self, answer: Answer) {
        *self.answer.lock().expect("the answer") = answer;
    }

    /// Connections it accepted so far (a TLS handshake it cannot answer counts too).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// HTTP requests it got so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for KeyHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}
