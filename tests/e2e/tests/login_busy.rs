//! Security rule 19 through the authorize handler: when every password hashing thread is busy
//! and the queue is full, `POST /login` answers 503 with Retry-After at once, without checking
//! or counting the attempt; once the pool drains, the same login succeeds. (Its own test
//! binary: it fills the process's one shared pool.)

use lambda_http::http::StatusCode;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use xecure::config::InteractionConfig;
use xecure_e2e::browser::authorize_path;
use xecure_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_19_a_full_hashing_queue_answers_503_with_retry_after() {
    let system = System::embedded().await;
    let mut browser = Browser::default();
    let start = browser
        .get(
            &system,
            &authorize_path("busy-verifier-0123456789-abcdefghijklmnopq", &[]),
        )
        .await;
    let login = browser.get(&system, &start.local_location()).await;

    let pool = xecure::hashing::shared(InteractionConfig::default().login.hash_queue);
    let (release, hold) = channel::<()>();
    let hold = Arc::new(Mutex::new(hold));
    let mut running = Vec::new();
    for _ in 0..pool.workers() {
        let (started, is_running) = tokio::sync::oneshot::channel();
        let hold = Arc::clone(&hold);
        let _ = pool.submit(move || {
            let _ = started.send(());
            let _ = hold.lock().unwrap().recv();
        });
        running.push(is_running);
    }
    for started in running {
        started.await.unwrap();
    }
    for _ in 0..pool.queue() {
        let hold = Arc::clone(&hold);
        let _ = pool.submit(move || {
            let _ = hold.lock().unwrap().recv();
        });
    }

    let busy = browser.log_in(&system, &login, USERNAME, PASSWORD).await;
    assert_eq!(
        busy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        busy.body
    );
    assert_eq!(busy.headers["retry-after"], "1");
    assert!(busy.body.contains("Sign-in is busy right now"));

    drop(release);
    // Once the blockers have left the pool, the login is checked again.
    let mut drained = false;
    for _ in 0..10_000 {
        drained = pool.run(|| ()).await.is_ok();
        if drained {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(drained, "the hashing pool never drained");
    let done = browser.log_in(&system, &login, USERNAME, PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}
