//! Server-provided DPoP nonces at the token endpoint (RFC 9449 section 8), with
//! `XECURE_DPOP_NONCE=required`: a proof without a current nonce of ours gets
//! `use_dpop_nonce` and a fresh nonce in `DPoP-Nonce`; the retry with it gets its token.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::*;
use xecure::domain::Timestamp;
use xecure::dpop::nonce::NONCE_LIFETIME;
use xecure::ports::Clock;
use xecure::signing::SigningAlgorithm;
use xecure::testing::DpopKey;

fn token_request(proof: Option<&str>) -> lambda_http::Request {
    let mut request = form_post(
        "/token",
        &form(&[("grant_type", "client_credentials")]),
        Some(&basic(SERVICE, SERVICE_SECRET)),
    );
    if let Some(proof) = proof {
        request.headers_mut().insert("dpop", proof.parse().unwrap());
    }
    request
}

fn proof_with_nonce(key: &DpopKey, now: Timestamp, nonce: Option<&str>) -> String {
    let (header, mut claims) = key.parts("POST", &format!("{ISSUER}/token"), None, now);
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    key.sign(&header, &claims)
}

fn nonce_of(reply: &Reply) -> String {
    reply
        .headers
        .get("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_proof_needs_a_current_nonce_of_ours_and_the_retry_with_it_succeeds() {
    let h = embedded_requiring_dpop_nonces().await;
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let now = h.clock.now();
    let first = h
        .send(token_request(Some(&proof_with_nonce(&key, now, None))))
        .await;
    assert_eq!(first.status, 400, "{}", first.json);
    assert_eq!(first.json["error"], "use_dpop_nonce");
    let nonce = nonce_of(&first);
    let retry = h
        .send(token_request(Some(&proof_with_nonce(
            &key,
            now,
            Some(&nonce),
        ))))
        .await;
    assert_eq!(retry.status, 200, "{}", retry.json);
    assert_eq!(retry.json["token_type"], "DPoP");
    assert!(
        !nonce_of(&retry).is_empty(),
        "a fresh nonce with every answer"
    );

    for bad in ["made-up", &format!("{nonce}x"), &nonce.replace('.', "")] {
        let reply = h
            .send(token_request(Some(&proof_with_nonce(&key, now, Some(bad)))))
            .await;
        assert_eq!(reply.json["error"], "use_dpop_nonce", "{bad}");
    }
    // An access token is no nonce (its typ is at+jwt).
    let access_token = retry.json["access_token"].as_str().unwrap().to_owned();
    let reply = h
        .send(token_request(Some(&proof_with_nonce(
            &key,
            now,
            Some(&access_token),
        ))))
        .await;
    assert_eq!(reply.json["error"], "use_dpop_nonce");
    // A nonce past its lifetime is refused, with a new one to retry with.
    h.advance(NONCE_LIFETIME + Duration::from_secs(1));
    let later = h.clock.now();
    let stale = h
        .send(token_request(Some(&proof_with_nonce(
            &key,
            later,
            Some(&nonce),
        ))))
        .await;
    assert_eq!(stale.json["error"], "use_dpop_nonce");
    assert_ne!(nonce_of(&stale), nonce);
}

#[tokio::test]
async fn a_request_without_a_proof_gets_no_nonce_and_a_bearer_token() {
    let h = embedded_requiring_dpop_nonces().await;
    let reply = h.send(token_request(None)).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["token_type"], Value::from("Bearer"));
    assert!(reply.headers.get("dpop-nonce").is_none());
}
