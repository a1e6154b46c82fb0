//! How one process keeps a `jwks_uri` client's keys: against a real loopback key host, with
//! a clock that moves only when told.

use super::*;
use crate::domain::{Client, Timestamp};
use crate::ports::Clock;
use crate::signing::SigningAlgorithm;
use crate::testing::{Answer, ClientFixture, DpopKey, FixedClock, KeyHost};
use serde_json::{json, Value};

fn key_set(kids: &[&str]) -> Value {
    let keys: Vec<Value> = kids
        .iter()
        .map(|kid| {
            let mut jwk = DpopKey::generate(SigningAlgorithm::Es256).jwk;
            jwk["kid"] = json!(kid);
            jwk
        })
        .collect();
    json!({ "keys": keys })
}

fn client_at(id: &str, uri: &str) -> Client {
    ClientFixture::confidential(id, "unused-secret-0123456789abcdefghijklmnop")
        .private_key_jwt_at(uri)
        .at(Timestamp::from_millis(0))
}

/// Whether the keys `keys` answers for `client` hold `kid`.
async fn has_key(keys: &ClientKeys, client: &Client, kid: &str) -> bool {
    keys.keys_for(client, Some(kid))
        .await
        .unwrap()
        .find(kid)
        .is_some()
}

fn keys_and_clock() -> (ClientKeys, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(Timestamp::from_millis(1_800_000_000_000)));
    (
        ClientKeys::new(RemoteHosts::LoopbackToo, clock.clone()),
        clock,
    )
}

#[tokio::test]
async fn fetched_keys_are_kept_and_fetched_again_for_an_unknown_kid_at_most_every_30_s() {
    let host = KeyHost::start(Answer::Json(key_set(&["k1"]))).await;
    let (keys, clock) = keys_and_clock();
    let client = client_at("signer", &host.jwks_uri());
    assert!(has_key(&keys, &client, "k1").await);
    assert!(keys.keys_for(&client, Some("k1")).await.is_ok());
    assert!(keys.keys_for(&client, None).await.is_ok());
    assert_eq!(host.requests(), 1, "kept while fresh");

    // The client rotates: an assertion with the new kid fetches again.
    host.answer_with(Answer::Json(key_set(&["k2"])));
    clock.advance(REFETCH_AT_MOST_EVERY);
    let rotated = keys.keys_for(&client, Some("k2")).await.unwrap();
    assert!(rotated.find("k2").is_some() && rotated.find("k1").is_none());
    assert_eq!(host.requests(), 2);
    // Invented kids within 30 s fetch nothing: the keys it has, which lack them.
    for invented in ["k3", "k4", "k5"] {
        let answer = keys.keys_for(&client, Some(invented)).await.unwrap();
        assert!(answer.find(invented).is_none());
    }
    assert_eq!(host.requests(), 2, "no fetch within 30 s of the last");
    clock.advance(REFETCH_AT_MOST_EVERY);
    assert!(keys.keys_for(&client, Some("k6")).await.is_ok());
    assert_eq!(host.requests(), 3, "one fetch after 30 s");
}

#[tokio::test]
async fn stale_keys_are_never_used_when_the_host_fails() {
    let host = KeyHost::start(Answer::Json(key_set(&["k1"]))).await;
    let (keys, clock) = keys_and_clock();
    let client = client_at("signer", &host.jwks_uri());
    keys.keys_for(&client, Some("k1")).await.unwrap();
    // Within the freshness a failing host does not undo keys just fetched.
    host.answer_with(Answer::Status(500));
    clock.advance(REFETCH_AT_MOST_EVERY);
    assert!(keys.keys_for(&client, Some("unknown")).await.is_ok());
    assert_eq!(host.requests(), 2);
    // Past it, the host must answer: fail closed.
    clock.advance(KEYS_FRESH_FOR);
    let error = keys.keys_for(&client, Some("k1")).await.unwrap_err();
    assert!(error.contains("500"), "{error}");
    // And within 30 s of that failure nothing is fetched and nothing is answered.
    assert!(keys.keys_for(&client, Some("k1")).await.is_err());
    assert_eq!(host.requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_assertions_of_a_new_client_fetch_once() {
    let host = KeyHost::start(Answer::Json(key_set(&["k1"]))).await;
    let (keys, _clock) = keys_and_clock();
    let keys = Arc::new(keys);
    let client = client_at("signer", &host.jwks_uri());
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let (keys, client) = (keys.clone(), client.clone());
            tokio::spawn(async move { keys.keys_for(&client, Some("k1")).await.is_ok() })
        })
        .collect();
    for racer in racers {
        assert!(racer.await.unwrap());
    }
    assert_eq!(host.requests(), 1);
}

#[tokio::test]
async fn a_changed_jwks_uri_is_fetched_afresh_and_the_cache_is_bounded() {
    let first = KeyHost::start(Answer::Json(key_set(&["k1"]))).await;
    let second = KeyHost::start(Answer::Json(key_set(&["k2"]))).await;
    let (keys, _clock) = keys_and_clock();
    keys.keys_for(&client_at("signer", &first.jwks_uri()), Some("k1"))
        .await
        .unwrap();
    let moved = keys
        .keys_for(&client_at("signer", &second.jwks_uri()), Some("k2"))
        .await
        .unwrap();
    assert!(moved.find("k2").is_some());
    assert_eq!((first.requests(), second.requests()), (1, 1));
    let now = clock_now(&keys);
    for n in 0..MAX_CACHED_CLIENTS + 100 {
        let id = ClientId::parse(&format!("client-{n}")).unwrap();
        keys.entry(&id, "https://keys.example/jwks.json", now)
            .unwrap();
    }
    assert!(keys.entries.lock().unwrap().len() <= MAX_CACHED_CLIENTS);
}

fn clock_now(keys: &ClientKeys) -> Timestamp {
    keys.clock.now()
}

#[tokio::test]
async fn a_client_whose_throttle_runs_is_never_evicted() {
    let (keys, clock) = keys_and_clock();
    let now = clock.now();
    for n in 0..MAX_CACHED_CLIENTS {
        let id = ClientId::parse(&format!("client-{n}")).unwrap();
        let entry = keys
            .entry(&id, "https://keys.example/jwks.json", now)
            .unwrap();
        entry.last_attempt.store(now.as_millis(), Ordering::SeqCst);
    }
    let newcomer = ClientId::parse("newcomer").unwrap();
    let refused = keys.entry(&newcomer, "https://keys.example/jwks.json", now);
    assert!(refused.is_err(), "every entry fetched within 30 s");
    clock.advance(REFETCH_AT_MOST_EVERY);
    assert!(keys
        .entry(&newcomer, "https://keys.example/jwks.json", clock.now())
        .is_ok());
    assert_eq!(keys.entries.lock().unwrap().len(), MAX_CACHED_CLIENTS);
}

#[tokio::test]
async fn registered_keys_need_no_fetch() {
    let (keys, _clock) = keys_and_clock();
    let client = ClientFixture::confidential("signer", "unused-secret-0123456789abcdefghijklmnop")
        .private_key_jwt(key_set(&["k1"]))
        .at(Timestamp::from_millis(0));
    assert!(has_key(&keys, &client, "k1").await);
}
