//! What DPoP costs the authorizer in DynamoDB calls (RFC 9449 section 11.1: a proof is used
//! once, across every container): counted against moto with an SDK interceptor, a bearer
//! call writes nothing and a DPoP call makes exactly one conditional PutItem (reads are the
//! background revocation poll's, the same for both).

mod support;

use serde_json::{json, Value};
use support::*;
use xecure::domain::Timestamp;
use xecure::signing::SigningAlgorithm;
use xecure::testing::moto::CallCounter;
use xecure::testing::{DpopKey, World};

const URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/orders/42";

fn request_event(scheme: &str, token: &str, proof: Option<&str>) -> Value {
    let text = include_str!("fixtures/rest_request_event.json")
        .replace("Bearer TOKEN_PLACEHOLDER", &format!("{scheme} {token}"));
    let mut event: Value = serde_json::from_str(&text).unwrap();
    if let Some(proof) = proof {
        event["headers"]["DPoP"] = json!(proof);
        event["multiValueHeaders"]["DPoP"] = json!([proof]);
    }
    event
}

fn puts(counter: &CallCounter) -> usize {
    counter.snapshot().get("PutItem").copied().unwrap_or(0)
}

#[tokio::test]
async fn a_dpop_call_makes_one_conditional_put_and_a_bearer_call_none() {
    let counter = CallCounter::default();
    let h = harness_on(World::dynamodb_counted(counter.clone()).await).await;
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let bearer = h.token("orders:read");
    let mut claims = h.claims("orders:read");
    claims["cnf"] = json!({ "jkt": key.jkt() });
    claims["jti"] = json!("jti-bound");
    let bound = h.sign_with(h.header(), &claims);
    let now = Timestamp::from_secs(h.now_secs());

    counter.reset();
    for _ in 0..3 {
        let (response, log) = h.run(request_event("Bearer", &bearer, None)).await;
        assert!(response.is_ok(), "{log}");
    }
    assert_eq!(puts(&counter), 0, "bearer calls write nothing");

    for _ in 0..3 {
        let before = puts(&counter);
        let proof = key.proof("GET", URL, Some(&bound), now);
        let (_, log) = h.run(request_event("DPoP", &bound, Some(&proof))).await;
        assert_eq!(log["Decision"], "allow", "{log}");
        assert_eq!(puts(&counter), before + 1, "one PutItem per DPoP call");
        let (_, replay) = h.run(request_event("DPoP", &bound, Some(&proof))).await;
        assert_eq!(replay["reason"], "dpop_proof_replayed");
        assert_eq!(
            puts(&counter),
            before + 2,
            "a replay costs its one refused PutItem"
        );
    }
    let calls = counter.snapshot();
    let others: usize = calls
        .iter()
        .filter(|(operation, _)| !matches!(operation.as_str(), "PutItem" | "Query"))
        .map(|(_, count)| *count)
        .sum();
    assert_eq!(others, 0, "no other call: {calls:?}");
}
