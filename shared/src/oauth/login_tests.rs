//! The login service against both stores: a full hashing queue answers Busy (503 with
//! Retry-After at the handler) and leaves every counter as it was (rules 15 and 19).

use super::*;
use crate::config::OAuthConfig;
use crate::domain::{UserId, Username};
use crate::hashing::HashingPool;
use crate::ports::Store;
use crate::testing::{moto, FixedClock, SeqRng};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

const T0: Timestamp = Timestamp::from_secs(1_900_000_000);

async fn service(store: Arc<dyn Store>, hashing: &'static HashingPool) -> LoginService {
    store
        .create_user(&User::new(
            UserId::parse("usr_hana").unwrap(),
            Username::parse("hana").unwrap(),
            PasswordHash::create(&Password::new("right"), &SeqRng::new(4)).unwrap(),
            T0,
        ))
        .await
        .unwrap();
    let deps = Dependencies::over(
        store.clone(),
        OAuthConfig::for_issuer("https://login.example"),
    )
    .clock(Arc::new(FixedClock::at(T0)))
    .rng(Arc::new(SeqRng::new(5)))
    .build();
    LoginService::new(
        deps,
        store,
        LoginPolicy::default(),
        Duration::from_secs(3600),
    )
    .with_hashing(hashing)
}

/// Occupies the pool's one worker and its one queue slot until the sender is dropped.
async fn fill(pool: &'static HashingPool) -> Sender<()> {
    let (release, hold) = channel::<()>();
    let hold = Arc::new(Mutex::new(hold));
    let (started, running) = tokio::sync::oneshot::channel();
    let first = Arc::clone(&hold);
    let _ = pool.submit(move || {
        let _ = started.send(());
        let _ = first.lock().unwrap().recv();
    });
    running.await.unwrap();
    let _ = pool.submit(move || {
        let _ = hold.lock().unwrap().recv();
    });
    release
}

/// Waits until the pool takes work again (its blockers released).
async fn drain(pool: &HashingPool) {
    for _ in 0..10_000 {
        if pool.run(|| ()).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the hashing pool never drained");
}

async fn a_full_hashing_queue_answers_busy_and_counts_nothing(store: Arc<dyn Store>) {
    let pool: &'static HashingPool = Box::leak(Box::new(HashingPool::new(1, 1)));
    let service = service(store, pool).await;
    let context = RequestContext {
        source_ip: Some("192.0.2.44".into()),
        ..RequestContext::default()
    };
    let login =
        |password: &'static str| service.login("hana", Password::new(password), None, &context);
    let release = fill(pool).await;
    for _ in 0..10 {
        assert!(matches!(
            login("wrong").await.unwrap(),
            LoginOutcome::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS
            }
        ));
    }
    // An unknown username waits for the same pool: it is checked against the decoy hash,
    // costing what a real one costs (rule 13: timing says nothing about existence).
    let unknown = service
        .login(
            "nobody-by-that-name",
            Password::new("wrong"),
            None,
            &context,
        )
        .await
        .unwrap();
    assert!(matches!(unknown, LoginOutcome::Busy { .. }), "{unknown:?}");
    drop(release);
    drain(pool).await;
    // None of the ten was counted: the full five attempts remain, the fifth locks.
    for _ in 0..4 {
        assert!(matches!(
            login("wrong").await.unwrap(),
            LoginOutcome::Refused
        ));
    }
    assert!(matches!(
        login("wrong").await.unwrap(),
        LoginOutcome::LockedOut { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_busy_and_counts_nothing_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = crate::store::embedded::EmbeddedStore::open(&dir).unwrap();
    a_full_hashing_queue_answers_busy_and_counts_nothing(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_busy_and_counts_nothing_on_dynamodb() {
    a_full_hashing_queue_answers_busy_and_counts_nothing(Arc::new(moto::fresh_store().await)).await;
}
