//! Signing-key rotation with live tokens, through the handlers on both stores. Rotation
//! publishes before it signs and keeps the old key published until its last token has
//! expired (`shared/src/signing/rotate.rs`), so nobody holding a valid token notices it:
//! a token signed by the old key stays active at introspection (RFC 7662 section 2.2) and
//! passes the gateway, also in an authorizer container that was warm before the rotation
//! and meets the new kid for the first time; tokens from then on carry the new kid. Once the
//! old key retires, its tokens are refused everywhere.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use xecure::authorizer::{AuthorizerConfig, Verdict};
use xecure::config::OAuthConfig;
use xecure::ports::{Clock, SystemClock};
use xecure::testing::FixedClock;
use xecure_e2e::authorizer_container::{allowed, api_verdict, authorizer_container, verdict_of};
use xecure_e2e::*;

/// The `kid` in a JWS's protected header (RFC 7515 section 4.1.4).
fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().expect("a JWS header");
    let json: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).unwrap();
    text(&json, "kid")
}

/// Is `token` active, asked of the token function's introspection endpoint by the app?
async fn introspected_active(system: &System, token: &str) -> bool {
    let (status, answer) = system.app_posts("/introspect", &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["active"] == true
}

async fn a_rotation_keeps_every_live_token_valid_until_its_key_retires(mut system: System) {
    let mut browser = Browser::default();
    let before = connect_app(&system, &mut browser, "orders:read").await;
    let old_token = text(&before, "access_token");
    let old_kid = kid_of(&old_token);
    let authorizer_clock = Arc::new(FixedClock::at(SystemClock.now()));
    let warm_authorizer =
        authorizer_container(system.store.clone(), authorizer_clock.clone()).await;
    assert!(allowed(
        &verdict_of(&warm_authorizer, &old_token, "GET", "/orders").await
    ));

    // The new key signs at once here (no publish-ahead) so the test need not wait; the old
    // one stays published for the longest token lifetime.
    let new_key = system
        .rotate_signing_key(Duration::ZERO, Duration::from_secs(900))
        .await;
    system.restart_functions().await;
    // `keys rotate` publishes 900 s ahead, so an authorizer meets the new kid long after it
    // read the keys; it then re-reads them at once (at most once per `key_refresh_spacing`,
    // 30 s, so garbage kids cannot make it hammer the store).
    authorizer_clock
        .advance(AuthorizerConfig::new(&OAuthConfig::for_issuer(ISSUER)).key_refresh_spacing);
    let (status, after) = token_request(
        &system,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&before, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let new_token = text(&after, "access_token");
    assert_eq!(
        kid_of(&new_token),
        new_key.kid.as_str(),
        "new tokens, new key"
    );
    assert_ne!(kid_of(&new_token), old_kid);

    for (which, token) in [("old-key", &old_token), ("new-key", &new_token)] {
        assert!(
            introspected_active(&system, token).await,
            "the {which} token is active"
        );
        assert!(
            allowed(&verdict_of(&warm_authorizer, token, "GET", "/orders").await),
            "the warm authorizer accepts the {which} token"
        );
        let verdict = api_verdict(system.store.clone(), token, "GET", "/orders").await;
        assert!(
            allowed(&verdict),
            "a new authorizer container accepts the {which} token: {verdict:?}"
        );
    }

    // A rotation that keeps earlier keys for no time retires them now (an operator's
    // emergency rotation after a key leaked): their tokens stop everywhere.
    let emergency_key = system
        .rotate_signing_key(Duration::ZERO, Duration::ZERO)
        .await;
    system.restart_functions().await;
    for (which, token) in [("old-key", &old_token), ("new-key", &new_token)] {
        assert!(
            !introspected_active(&system, token).await,
            "the {which} token is inactive once its key retired"
        );
        let verdict = api_verdict(system.store.clone(), token, "GET", "/orders").await;
        assert!(
            matches!(verdict, Verdict::Unauthorized { .. }),
            "the {which} token is refused at the gateway: {verdict:?}"
        );
    }
    let (status, latest) = token_request(
        &system,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &text(&after, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    let latest_token = text(&latest, "access_token");
    assert_eq!(kid_of(&latest_token), emergency_key.kid.as_str());
    assert!(allowed(
        &api_verdict(system.store.clone(), &latest_token, "GET", "/orders").await
    ));
}
on_both_stores!(
    rotation_with_live_tokens,
    a_rotation_keeps_every_live_token_valid_until_its_key_retires
);
