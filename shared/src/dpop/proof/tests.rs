use super::*;
use crate::signing::SigningAlgorithm;
use crate::testing::DpopKey;
use serde_json::json;

const URL: &str = "https://api.example.com/orders";
const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn at_resource(token: &str) -> ProofContext<'_> {
    ProofContext {
        method: "GET",
        url: URL,
        access_token: Some(token),
    }
}

#[test]
fn a_good_proof_of_each_algorithm_gives_its_key_thumbprint() {
    for algorithm in [
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
    ] {
        let key = DpopKey::generate(algorithm);
        let proof = key.proof("GET", URL, Some("tok"), NOW);
        let verified = verify_proof(&proof, &at_resource("tok"), NOW).unwrap();
        assert_eq!(verified.jkt, key.jkt(), "{algorithm}");
        assert_eq!(
            verified.replay_window_ends,
            NOW.plus(2 * PROOF_WINDOW + Duration::from_secs(1))
        );
    }
}

#[test]
fn htu_is_compared_normalised_and_without_query_or_fragment() {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let proof = key.proof(
        "GET",
        "HTTPS://API.example.com:443/orders?page=2#x",
        None,
        NOW,
    );
    let request = ProofContext {
        method: "GET",
        url: "https://api.example.com/orders?page=3",
        access_token: None,
    };
    assert!(verify_proof(&proof, &request, NOW).is_ok());
    for other in [
        "https://api.example.com/orders/1",
        "http://api.example.com/orders",
        "https://api.example.com:8443/orders",
        "https://evil.example.com/orders",
    ] {
        let request = ProofContext {
            url: other,
            ..request
        };
        assert_eq!(
            verify_proof(&proof, &request, NOW),
            Err(ProofRejection::UrlMismatch),
            "{other}"
        );
    }
}

#[test]
fn method_access_token_and_time_must_match_the_request() {
    let key = DpopKey::generate(SigningAlgorithm::Es256);
    let proof = key.proof("GET", URL, Some("tok"), NOW);
    let post = ProofContext {
        method: "POST",
        ..at_resource("tok")
    };
    assert_eq!(
        verify_proof(&proof, &post, NOW),
        Err(ProofRejection::MethodMismatch)
    );
    assert_eq!(
        verify_proof(&proof, &at_resource("other"), NOW),
        Err(ProofRejection::AccessTokenMismatch)
    );
    let without_ath = key.proof("GET", URL, None, NOW);
    assert_eq!(
        verify_proof(&without_ath, &at_resource("tok"), NOW),
        Err(ProofRejection::AccessTokenMismatch)
    );
    let late = NOW.plus(PROOF_WINDOW + Duration::from_secs(1));
    let early = NOW.minus(PROOF_WINDOW + Duration::from_secs(1));
    for now in [late, early] {
        assert_eq!(
            verify_proof(&proof, &at_resource("tok"), now),
            Err(ProofRejection::OutsideWindow)
        );
    }
    assert!(verify_proof(&proof, &at_resource("tok"), NOW.plus(PROOF_WINDOW)).is_ok());
    // Extreme `iat` values neither overflow into the window nor panic.
    let (header, mut claims) = key.parts("GET", URL, Some("tok"), NOW);
    for iat in [i64::MIN, i64::MIN + NOW.as_secs(), i64::MAX, -1] {
        claims["iat"] = json!(iat);
        assert_eq!(
            verify_proof(&key.sign(&header, &claims), &at_resource("tok"), NOW),
            Err(ProofRejection::OutsideWindow),
            "{iat}"
        );
    }
}

#[test]
fn header_must_be_typed_asymmetric_and_carry_a_public_key_of_its_alg() {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    let (header, claims) = key.parts("GET", URL, Some("tok"), NOW);
    let refused =
        |header: Value| verify_proof(&key.sign(&header, &claims), &at_resource("tok"), NOW);
    let mut typ = header.clone();
    typ["typ"] = json!("JWT");
    assert_eq!(refused(typ), Err(ProofRejection::WrongType));
    for alg in ["HS256", "none", "RS512", ""] {
        let mut other = header.clone();
        other["alg"] = json!(alg);
        assert_eq!(
            refused(other),
            Err(ProofRejection::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    let mut private = header.clone();
    private["jwk"]["d"] = json!("AAAA");
    assert_eq!(
        refused(private),
        Err(ProofRejection::BadKey("contains a private key"))
    );
    let mut symmetric = header.clone();
    symmetric["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"});
    assert!(matches!(refused(symmetric), Err(ProofRejection::BadKey(_))));
    let mut missing = header.clone();
    missing.as_object_mut().unwrap().remove("jwk");
    assert_eq!(refused(missing), Err(ProofRejection::BadKey("missing")));
    // An ES256 header over an Ed25519 key: the key does not fit the alg.
    let mut mismatched = header.clone();
    mismatched["alg"] = json!("ES256");
    assert!(matches!(
        refused(mismatched),
        Err(ProofRejection::BadKey(_))
    ));
    // Another key's jwk in the header: the signature does not verify with it.
    let mut swapped = header;
    swapped["jwk"] = DpopKey::generate(SigningAlgorithm::EdDsa).jwk;
    assert!(matches!(refused(swapped), Err(ProofRejection::Invalid(_))));
}

#[test]
fn garbage_oversize_and_bad_jti_are_refused_without_panicking() {
    let key = DpopKey::generate(SigningAlgorithm::EdDsa);
    for garbage in [
        "",
        "a",
        "a.b",
        "a.b.c",
        "....",
        "eyJ9.e30.x",
        "\u{0}.\u{1}.\u{2}",
    ] {
        assert!(
            matches!(
                verify_proof(garbage, &at_resource("tok"), NOW),
                Err(ProofRejection::Malformed(_))
            ),
            "{garbage:?}"
        );
    }
    let (header, mut claims) = key.parts("GET", URL, Some("tok"), NOW);
    claims["pad"] = json!("x".repeat(MAX_PROOF_LEN));
    assert_eq!(
        verify_proof(&key.sign(&header, &claims), &at_resource("tok"), NOW),
        Err(ProofRejection::Oversize)
    );
    let (header, mut claims) = key.parts("GET", URL, Some("tok"), NOW);
    claims["jti"] = json!("");
    assert_eq!(
        verify_proof(&key.sign(&header, &claims), &at_resource("tok"), NOW),
        Err(ProofRejection::BadJti)
    );
    claims.as_object_mut().unwrap().remove("jti");
    assert!(matches!(
        verify_proof(&key.sign(&header, &claims), &at_resource("tok"), NOW),
        Err(ProofRejection::Invalid(_))
    ));
}
