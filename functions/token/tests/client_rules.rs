//! Issue #14, security rule 21, through the token endpoint on both stores: a client
//! authenticates only with its registered method, introspection answers only authenticated
//! confidential clients, and a replayed code revokes only when the replay proves it is the
//! code's own client (its authentication and the PKCE verifier).

mod support;

use lambda_http::http::StatusCode;
use support::*;
use xecure::domain::{AuditEvent, AuditEventKind, AuditQuery, AuditSubject, ClientId, Timestamp};
use xecure::ports::Clock;

macro_rules! on_both_stores {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$scenario(super::embedded().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamodb() {
                super::$scenario(super::on_moto().await).await;
            }
        }
    };
}

async fn audit_of(h: &Harness, client: &str) -> Vec<AuditEvent> {
    let query = AuditQuery {
        subject: AuditSubject::Client(ClientId::parse(client).unwrap()),
        from: Timestamp::from_secs(0),
        to: h.clock.now().plus(std::time::Duration::from_secs(60)),
        limit: 100,
        cursor: None,
    };
    h.store
        .query_audit(&query, h.clock.now())
        .await
        .unwrap()
        .events
}

async fn refresh(h: &Harness, token: &str) -> Reply {
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    h.post("/token", &body, Some(&basic(WEB, WEB_SECRET))).await
}

async fn replays(h: Harness) {
    let code = h
        .consent_and_issue_code(WEB, WEB_REDIRECT, "profile:read")
        .await;
    let first = h.exchange_as_web(&code).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    let mut refresh_token = first.json["refresh_token"].as_str().unwrap().to_owned();

    // Someone who saw the spent code, with the client's secret even, but not the verifier or
    // the redirect URI: refused, and nothing of the user's is revoked.
    for (verifier, redirect) in [
        (
            "an-onlookers-guess-0123456789abcdefghijklmnopqrstuvwxyz",
            WEB_REDIRECT,
        ),
        (VERIFIER, "https://app.example/other"),
    ] {
        let body = exchange_form(&code, verifier, redirect);
        let replay = h.post("/token", &body, Some(&basic(WEB, WEB_SECRET))).await;
        assert_eq!(replay.error(), "invalid_grant");
        let still = refresh(&h, &refresh_token).await;
        assert_eq!(
            still.status,
            StatusCode::OK,
            "the family stands: {}",
            still.json
        );
        refresh_token = still.json["refresh_token"].as_str().unwrap().to_owned();
    }
    let unproven = audit_of(&h, WEB)
        .await
        .into_iter()
        .filter(|e| e.kind == AuditEventKind::CodeReplayed)
        .collect::<Vec<_>>();
    assert_eq!(unproven.len(), 2);
    assert!(unproven.iter().all(
        |e| e.reason.as_deref() == Some("unproven_replay") && e.detail["revoked"] == "nothing"
    ));

    // The client itself presenting its code again (a real replay, RFC 6749 section 4.1.2):
    // what the code produced is revoked.
    let replay = h.exchange_as_web(&code).await;
    assert_eq!(replay.error(), "invalid_grant");
    let after = refresh(&h, &refresh_token).await;
    assert_eq!(after.error(), "invalid_grant", "the family is revoked");
}
on_both_stores!(
    rule_21_a_replayed_code_revokes_only_with_the_clients_proof,
    replays
);

async fn registered_methods(h: Harness) {
    let client_credentials = [("grant_type", "client_credentials")];
    let by_basic = h
        .post(
            "/token",
            &form(&client_credentials),
            Some(&basic(SERVICE, SERVICE_SECRET)),
        )
        .await;
    assert_eq!(by_basic.status, StatusCode::OK, "{}", by_basic.json);
    for (body, authorization, what) in [
        (
            form(&[
                ("grant_type", "client_credentials"),
                ("client_id", SERVICE),
                ("client_secret", SERVICE_SECRET),
            ]),
            None,
            "a client_secret_basic client posting its secret",
        ),
        (
            form(&[("grant_type", "client_credentials"), ("client_id", SERVICE)]),
            None,
            "a confidential client with no secret",
        ),
        (
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", MOBILE),
                ("client_secret", "guess"),
            ]),
            None,
            "a public client sending a secret",
        ),
        (
            form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
            Some(basic(MOBILE, "guess")),
            "a public client in a Basic header",
        ),
    ] {
        let reply = h.post("/token", &body, authorization.as_deref()).await;
        assert_eq!(
            (reply.status, reply.error()),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{what}"
        );
    }
    // A failed Basic authentication names the client it claimed.
    h.post(
        "/token",
        &form(&client_credentials),
        Some(&basic(SERVICE, "wrong")),
    )
    .await;
    let failures = audit_of(&h, SERVICE)
        .await
        .into_iter()
        .filter(|e| e.kind == AuditEventKind::ClientAuthFailed)
        .count();
    assert_eq!(
        failures, 3,
        "the post, the missing secret and the Basic failure"
    );
}
on_both_stores!(
    rule_21_clients_authenticate_only_with_their_registered_method,
    registered_methods
);

async fn introspection(h: Harness) {
    let tokens = h.web_tokens("profile:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let body = form(&[("token", access), ("client_id", MOBILE)]);
    let public = h.post("/introspect", &body, None).await;
    assert_eq!(
        (public.status, public.error()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(
        public.json.get("active").is_none(),
        "nothing about the token"
    );
    let confidential = h
        .post(
            "/introspect",
            &form(&[("token", access)]),
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await;
    assert_eq!(confidential.json["active"], true);
}
on_both_stores!(
    rule_21_introspection_needs_an_authenticated_confidential_client,
    introspection
);
