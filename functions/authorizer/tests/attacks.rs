//! One test per attack on the token the authorizer must refuse (issue #5, security rule 8).

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use support::*;
use xecure::Clock;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn refused(h: &Harness, token: &str) -> String {
    let (response, log) = h.run(h.token_event(&bearer(token), "GET", "/orders")).await;
    assert!(response.is_err(), "must answer Unauthorized: {log}");
    assert_eq!(log["Decision"], "deny");
    log["reason"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_good_token_is_allowed() {
    let h = harness().await;
    assert_eq!(
        h.reason(&bearer(&h.token("orders:read")), "GET", "/orders")
            .await,
        "scope_allows_route"
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let h = harness().await;
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": KID});
    let token = format!("{}.{}.", b64(&header), b64(&h.claims("orders:read")));
    assert_eq!(refused(&h, &token).await, "malformed_token");
}

#[tokio::test]
async fn alg_switched_to_hs256_with_the_public_key_is_refused() {
    let h = harness().await;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(KID.into());
    // The classic confusion attack: the public key used as an HMAC secret.
    let secret = serde_json::to_vec(&h.public_jwk).unwrap();
    let x = h.public_jwk["x"].as_str().unwrap().to_owned();
    for key in [secret, x.into_bytes()] {
        let token = jsonwebtoken::encode(
            &header,
            &h.claims("orders:read"),
            &EncodingKey::from_secret(&key),
        )
        .unwrap();
        assert_eq!(refused(&h, &token).await, "wrong_alg");
    }
}

#[tokio::test]
async fn unknown_kid_is_refused_after_one_bounded_refresh() {
    let h = harness().await;
    let mut header = h.header();
    header.kid = Some("key_unknown".into());
    let token = h.sign_with(header, &h.claims("orders:read"));
    assert_eq!(refused(&h, &token).await, "unknown_kid");
}

#[tokio::test]
async fn a_key_published_after_start_is_picked_up_on_its_first_token() {
    let h = harness().await;
    let (pkcs8, _) = publish_key(h.store.as_ref(), "key_new", h.clock.now()).await;
    let mut header = h.header();
    header.kid = Some("key_new".into());
    let token = jsonwebtoken::encode(
        &header,
        &h.claims("orders:read"),
        &EncodingKey::from_ed_der(&pkcs8),
    )
    .unwrap();
    h.advance(std::time::Duration::from_secs(31));
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route"
    );
}

#[tokio::test]
async fn wrong_iss_aud_and_typ_are_refused() {
    let h = harness().await;
    let mut claims = h.claims("orders:read");
    claims["iss"] = json!("https://evil.example");
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &claims)).await,
        "invalid_token"
    );
    let mut claims = h.claims("orders:read");
    claims["aud"] = json!("https://other-api.example");
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &claims)).await,
        "invalid_token"
    );
    let mut header = h.header();
    header.typ = Some("JWT".into());
    assert_eq!(
        refused(&h, &h.sign_with(header, &h.claims("orders:read"))).await,
        "wrong_typ"
    );
}

#[tokio::test]
async fn an_id_token_shaped_jwt_is_refused() {
    let h = harness().await;
    let mut header = h.header();
    header.typ = Some("JWT".into());
    let now = h.now_secs();
    let id_token = json!({
        "iss": ISSUER, "sub": "usr_alice", "aud": "photo-app", "exp": now + 600, "iat": now,
        "nonce": "n-0S6_WzA2Mj", "auth_time": now, "scope": "orders:read",
    });
    assert_eq!(
        refused(&h, &h.sign_with(header, &id_token)).await,
        "wrong_typ"
    );
    // Even typed at+jwt, its audience is the client, not the API.
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &id_token)).await,
        "invalid_token"
    );
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let h = harness().await;
    let now = h.now_secs();
    let mut claims = h.claims("orders:read");
    claims["exp"] = json!(now - 31);
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &claims)).await,
        "expired"
    );
    let mut claims = h.claims("orders:read");
    claims["nbf"] = json!(now + 3600);
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &claims)).await,
        "not_yet_valid"
    );
    // Within the leeway (RFC 7519 section 4.1.5 "some small leeway") it is accepted.
    let mut claims = h.claims("orders:read");
    claims["nbf"] = json!(now + 29);
    assert_eq!(
        h.reason(
            &bearer(&h.sign_with(h.header(), &claims)),
            "GET",
            "/orders/42"
        )
        .await,
        "scope_allows_route"
    );
    let mut claims = h.claims("orders:read");
    claims["iat"] = json!(now + 3600);
    assert_eq!(
        refused(&h, &h.sign_with(h.header(), &claims)).await,
        "not_yet_valid"
    );
}

#[tokio::test]
async fn an_expired_token_is_not_served_from_the_cache() {
    let h = harness().await;
    let token = h.token("orders:read");
    assert_eq!(
        h.reason(&bearer(&token), "GET", "/orders").await,
        "scope_allows_route"
    );
    h.advance(std::time::Duration::from_secs(600 + 31));
    assert_eq!(refused(&h, &token).await, "expired");
}

#[tokio::test]
async fn truncated_or_altered_signatures_and_payloads_are_refused() {
    let h = harness().await;
    let token = h.token("orders:read");
    let (head, signature) = token.rsplit_once('.').unwrap();
    let truncated = format!("{head}.{}", &signature[..signature.len() - 4]);
    assert_eq!(refused(&h, &truncated).await, "invalid_token");
    let flipped_char = if signature.starts_with('A') { 'B' } else { 'A' };
    let altered = format!("{head}.{flipped_char}{}", &signature[1..]);
    assert_eq!(refused(&h, &altered).await, "invalid_token");
    let (header, _) = head.split_once('.').unwrap();
    let widened = format!(
        "{header}.{}.{signature}",
        b64(&h.claims("orders:read orders:write"))
    );
    assert_eq!(refused(&h, &widened).await, "invalid_token");
    assert_eq!(refused(&h, &format!("{head}.")).await, "invalid_token");
    // RFC 7515 section 7.1: exactly three parts; a fourth or a missing one is not a JWS.
    assert_eq!(
        refused(&h, &format!("{token}.AAAA")).await,
        "malformed_token"
    );
    assert_eq!(
        refused(&h, &format!("{header}.{signature}")).await,
        "malformed_token"
    );
    // base64url without padding (RFC 7515 section 2): a padded or spaced part is not ours.
    let padded = format!("{head}.{signature}=");
    assert_eq!(refused(&h, &padded).await, "invalid_token");
    // A space never reaches the verifier: RFC 6750 section 2.1's b64token has none.
    let spaced = format!("{header}. {}", &token[header.len() + 1..]);
    assert_eq!(refused(&h, &spaced).await, "malformed_authorization");
}

#[tokio::test]
async fn a_header_with_crit_extensions_is_refused() {
    let h = harness().await;
    let mut header = h.header();
    header.crit = Some(vec!["exp".into()]);
    let token = h.sign_with(header, &h.claims("orders:read"));
    assert_eq!(refused(&h, &token).await, "malformed_token");
}

#[tokio::test]
async fn lifetimes_at_the_ends_of_the_integer_range_never_wrap() {
    // Only a token we signed gets this far; the leeway arithmetic saturates instead of
    // wrapping (release) or panicking (debug).
    let h = harness().await;
    for (member, value, reason) in [
        ("exp", i64::MIN, "expired"),
        ("iat", i64::MAX, "not_yet_valid"),
        ("exp", i64::MAX, "scope_allows_route"),
        ("iat", i64::MIN, "scope_allows_route"),
    ] {
        let mut claims = h.claims("orders:read");
        claims[member] = json!(value);
        let token = bearer(&h.sign_with(h.header(), &claims));
        assert_eq!(h.reason(&token, "GET", "/orders").await, reason, "{member}");
    }
}

#[tokio::test]
async fn a_signed_token_without_a_required_claim_is_refused() {
    let h = harness().await;
    for required in ["exp", "iat", "iss", "aud", "sub"] {
        let mut claims = h.claims("orders:read");
        claims.as_object_mut().unwrap().remove(required);
        let token = h.sign_with(h.header(), &claims);
        assert_eq!(refused(&h, &token).await, "invalid_token", "{required}");
    }
}

#[tokio::test]
async fn malformed_authorization_values_are_refused() {
    let h = harness().await;
    let token = h.token("orders:read");
    for (value, reason) in [
        (String::new(), "malformed_authorization"),
        (token.clone(), "malformed_authorization"),
        (format!("Basic {token}"), "malformed_authorization"),
        (format!("Bearer {token} {token}"), "malformed_authorization"),
        (
            format!("Bearer {token},Bearer {token}"),
            "malformed_authorization",
        ),
        (format!("Bearer {}", "a".repeat(5000)), "oversize_token"),
        ("Bearer not.a.jwt".to_owned(), "malformed_token"),
    ] {
        assert_eq!(
            h.reason(&value, "GET", "/orders").await,
            reason,
            "{value:.40}"
        );
    }
    assert_eq!(
        h.reason(&format!("bEaReR {token}"), "GET", "/orders").await,
        "scope_allows_route"
    );
}

#[tokio::test]
async fn a_valid_token_without_the_scope_gets_an_explicit_deny() {
    let h = harness().await;
    let (response, log) = h
        .run(h.token_event(&bearer(&h.token("profile:read")), "DELETE", "/orders/7"))
        .await;
    let policy = &response.unwrap()["policyDocument"];
    let deny = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("an explicit Deny: API Gateway answers 403");
    assert!(deny["Resource"]
        .to_string()
        .contains("/prod/DELETE/orders/*"));
    assert_eq!(log["reason"], "scope_does_not_allow_route");
    assert_eq!(log["detail"]["route"], "DELETE /orders/{id}");
}
