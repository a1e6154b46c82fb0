//! ONE contract suite for every store (design rule 3): each function states a property of the
//! store ports, and `contract_suite!` runs them all against a given store. The embedded store
//! runs it in `embedded::tests`, the DynamoDB store against a real DynamoDB API (moto) in
//! `dynamo::tests`.

mod controls;
mod interaction;
mod operator;
mod throttle;
mod user_control;

pub use controls::*;
pub use interaction::*;
pub use operator::*;
pub use throttle::*;
pub use user_control::*;

use crate::domain::*;
use crate::ports::{CodeRedemption, NewRefreshFamily, Rotation, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Far enough ahead of the real clock that a DynamoDB-compatible server's TTL sweeper never
/// removes a test item behind the test's back.
pub(crate) const T0: Timestamp = Timestamp::from_secs(1_900_000_000);
pub(crate) const MINUTE: Duration = Duration::from_secs(60);

pub(crate) fn at(seconds_after_t0: u64) -> Timestamp {
    T0.plus(Duration::from_secs(seconds_after_t0))
}

pub(crate) fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

pub(crate) fn user_id(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn event_id(id: &str) -> EventId {
    EventId::parse(id).unwrap()
}

pub(crate) fn stamp(id: &str, at: Timestamp) -> RevocationStamp {
    RevocationStamp {
        id: event_id(id),
        at,
        expires_at: at.plus(MINUTE * 15),
    }
}

pub(crate) fn client(id: &str) -> Client {
    Client {
        redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
        allowed_scopes: Scope::parse("orders:read profile:read").unwrap(),
        default_scopes: Scope::parse("profile:read").unwrap(),
        grant_types: BTreeSet::from([GrantType::AuthorizationCode, GrantType::RefreshToken]),
        ..Client::new(
            client_id(id),
            format!("App {id}"),
            ClientKind::Confidential {
                secret_hash: SecretHash::of(&ClientSecret::new("s3cret")),
            },
            T0,
        )
    }
}

pub(crate) fn user(name: &str) -> User {
    User::new(
        user_id(&format!("usr_{name}")),
        Username::parse(name).unwrap(),
        PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        T0,
    )
}

/// The user's consent as an approval stores it: the account and the client exist
/// (`usr_<name>` is user `<name>`), and the grant is written at the version after the stored
/// one.
pub(crate) async fn consented<S: Store>(store: &Arc<S>, grant: &Grant) {
    let name = grant.user_id.as_str().trim_start_matches("usr_");
    match store.create_user(&user(name)).await {
        Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
        Err(other) => panic!("create the account: {other:?}"),
    }
    match store.put_client(&client(grant.client_id.as_str())).await {
        Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
        Err(other) => panic!("create the client: {other:?}"),
    }
    let stored = store
        .get_grant(&grant.user_id, &grant.client_id)
        .await
        .unwrap();
    let grant = Grant {
        version: stored.map_or(0, |stored| stored.version) + 1,
        ..grant.clone()
    };
    assert!(
        store.save_grant(&grant, None).await.unwrap(),
        "the grant is written over the version just read"
    );
}

pub(crate) fn grant(user: &str, client: &str, id: &str) -> Grant {
    Grant {
        id: GrantId::parse(id).unwrap(),
        user_id: user_id(user),
        client_id: client_id(client),
        scope: Scope::parse("profile:read").unwrap(),
        created_at: T0,
        last_used_at: T0,
        revoked_at: None,
        client_revision: 0,
        version: 1,
        family_epoch: 0,
    }
}

pub(crate) fn code(value: &str, grant: &Grant) -> AuthorizationCode {
    AuthorizationCode {
        digest: TokenDigest::of(value),
        client_id: grant.client_id.clone(),
        user_id: grant.user_id.clone(),
        grant_id: grant.id.clone(),
        redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
        scope: grant.scope.clone(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        auth_time: T0,
        client_revision: 0,
        grant_epoch: 0,
        issued_at: T0,
        expires_at: T0.plus(MINUTE),
        redeemed_at: None,
        family_id: None,
    }
}

pub(crate) fn refresh_token(
    value: &str,
    family: &RefreshFamily,
    issued_at: Timestamp,
) -> RefreshToken {
    RefreshToken {
        digest: TokenDigest::of(value),
        family_id: family.id.clone(),
        grant_id: family.grant_id.clone(),
        client_id: family.client_id.clone(),
        user_id: family.user_id.clone(),
        scope: Scope::parse("profile:read").unwrap(),
        auth_time: family.auth_time,
        client_revision: family.client_revision,
        grant_epoch: family.grant_epoch,
        issued_at,
        expires_at: issued_at.plus(MINUTE * 60),
        family_expires_at: family.expires_at,
        rotated_at: None,
    }
}

pub(crate) fn new_family(id: &str, grant: &Grant, first_token: &str) -> NewRefreshFamily {
    let family = RefreshFamily {
        id: FamilyId::parse(id).unwrap(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        user_id: grant.user_id.clone(),
        auth_time: T0,
        client_revision: 0,
        grant_epoch: grant.family_epoch,
        created_at: T0,
        expires_at: T0.plus(MINUTE * 60 * 24),
        revoked_at: None,
    };
    let token = refresh_token(first_token, &family, T0);
    NewRefreshFamily { family, token }
}

pub(crate) fn audit_event(
    n: usize,
    user: Option<&str>,
    client: Option<&str>,
    at: Timestamp,
    expires_at: Timestamp,
) -> AuditEvent {
    AuditEvent {
        id: event_id(&format!("evt_{n:04}")),
        at,
        kind: AuditEventKind::LoginSucceeded,
        outcome: AuditOutcome::Success,
        user_id: user.map(user_id),
        client_id: client.map(client_id),
        source_ip: Some("192.0.2.1".into()),
        user_agent: None,
        request_id: Some(format!("req-{n}")),
        reason: None,
        detail: BTreeMap::from([("scope".to_owned(), "profile:read".to_owned())]),
        expires_at,
    }
}

pub async fn clients_round_trip<S: Store>(store: Arc<S>) {
    assert_eq!(store.get_client(&client_id("a")).await.unwrap(), None);
    store.put_client(&client("a")).await.unwrap();
    store.put_client(&client("b")).await.unwrap();
    assert!(
        matches!(
            store.put_client(&client("a")).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "creating never replaces"
    );
    let mut renamed = client("a");
    renamed.display_name = "Renamed".into();
    renamed.version = 2;
    assert!(store.update_client(&renamed).await.unwrap());
    assert_eq!(
        store.get_client(&client_id("a")).await.unwrap(),
        Some(renamed)
    );
    let mut ids: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
    assert!(store.delete_client(&client_id("a")).await.unwrap());
    assert!(!store.delete_client(&client_id("a")).await.unwrap());
    assert_eq!(store.get_client(&client_id("a")).await.unwrap(), None);
}

pub async fn users_are_unique_by_username<S: Store>(store: Arc<S>) {
    store.create_user(&user("alice")).await.unwrap();
    let duplicate = store.create_user(&user("alice")).await;
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists(_))),
        "{duplicate:?}"
    );
    let found = store
        .get_user_by_username(&Username::parse("ALICE").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(user("alice")));
    assert_eq!(
        store.get_user(&user("alice").id).await.unwrap(),
        Some(user("alice"))
    );
    let mut disabled = user("alice");
    disabled.disabled = true;
    disabled.version = 2;
    store.update_user(&disabled, None).await.unwrap();
    assert!(
        store
            .get_user_by_username(&disabled.username)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let stale = store.update_user(&disabled, None).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(_))),
        "an update over a version that moved: {stale:?}"
    );
    let missing = store
        .update_user(
            &User {
                version: 2,
                ..user("bob")
            },
            None,
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        store
            .get_user_by_username(&Username::parse("bob").unwrap())
            .await
            .unwrap(),
        None
    );
    let removal = stamp("evt_rm", T0).revoke(RevocationTarget::User(disabled.id.clone()));
    assert!(store.delete_user(&disabled, &removal).await.unwrap());
    assert!(!store.delete_user(&disabled, &removal).await.unwrap());
    assert_eq!(
        store
            .get_user_by_username(&disabled.username)
            .await
            .unwrap(),
        None
    );
}

pub async fn sessions_expire<S: Store>(store: Arc<S>) {
    let session = LoginSession {
        digest: TokenDigest::of("cookie"),
        user_id: user_id("usr_alice"),
        username: Username::parse("alice").unwrap(),
        authenticated_at: T0,
        created_at: T0,
        expires_at: at(3600),
        source_ip: None,
        user_agent: None,
    };
    store.put_session(&session).await.unwrap();
    assert_eq!(
        store.get_session(&session.digest, at(3599)).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.get_session(&session.digest, at(3600)).await.unwrap(),
        None,
        "expired sessions are hidden"
    );
    store.delete_session(&session.digest).await.unwrap();
    assert_eq!(store.get_session(&session.digest, T0).await.unwrap(), None);
}

pub async fn code_is_redeemed_exactly_once<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert!(matches!(
        store.put_code(&code).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.get_code(&code.digest, at(1)).await.unwrap(),
        Some(code.clone())
    );
    let first = store.redeem_code(&code, at(1), None).await.unwrap();
    let CodeRedemption::Redeemed(redeemed) = first else {
        panic!("first redemption: {first:?}")
    };
    assert_eq!(redeemed.redeemed_at, Some(at(1)));
    let second = store.redeem_code(&code, at(2), None).await.unwrap();
    let CodeRedemption::Replayed(replayed) = second else {
        panic!("second redemption: {second:?}")
    };
    assert_eq!(
        replayed.redeemed_at,
        Some(at(1)),
        "a replay reports the first redemption"
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(2))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        Some(at(1))
    );
    let unknown = crate::store::contract::code("never-issued", &grant);
    assert_eq!(
        store.redeem_code(&unknown, at(1), None).await.unwrap(),
        CodeRedemption::NotFound
    );
}

pub async fn concurrent_code_redemption_has_one_winner<S: Store + 'static>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("contested", &grant);
    store.put_code(&code).await.unwrap();
    let takers: Vec<_> = (0..32)
        .map(|i| {
            let (store, code, grant) = (Arc::clone(&store), code.clone(), grant.clone());
            tokio::spawn(async move {
                let refresh = new_family(&format!("fam_{i}"), &grant, &format!("refresh-{i}"));
                store
                    .redeem_code(&code, at(1), Some(&refresh))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut replays = 0;
    for taker in takers {
        match taker.await.unwrap() {
            CodeRedemption::Redeemed(code) => winners.push(code),
            CodeRedemption::Replayed(_) => replays += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 32 concurrent takers wins");
    assert_eq!(replays, 31);
    let stored = store.get_code(&code.digest, at(1)).await.unwrap().unwrap();
    assert_eq!(
        stored.family_id, winners[0].family_id,
        "the stored code names the winner's family"
    );
    let winner_family = stored.family_id.unwrap();
    let winner_index = winner_family.as_str().trim_start_matches("fam_").to_owned();
    let issued = store
        .get_refresh(&TokenDigest::of(&format!("refresh-{winner_index}")), at(1))
        .await
        .unwrap();
    assert!(
        issued.is_some(),
        "the winner's refresh token was stored with the redemption"
    );
    let losers_stored = (0..32)
        .filter(|i| i.to_string() != winner_index)
        .map(|i| TokenDigest::of(&format!("refresh-{i}")))
        .collect::<Vec<_>>();
    for digest in losers_stored {
        assert_eq!(
            store.get_refresh(&digest, at(1)).await.unwrap(),
            None,
            "a losing redemption stored nothing"
        );
    }
}

pub async fn revoked_grant_blocks_redemption_and_leaves_the_code_unspent<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert!(store
        .revoke_grant(&grant.user_id, &grant.client_id, &stamp("evt_r1", T0))
        .await
        .unwrap());
    let refresh = new_family("fam_1", &grant, "refresh-1");
    assert_eq!(
        store
            .redeem_code(&code, at(1), Some(&refresh))
            .await
            .unwrap(),
        CodeRedemption::Revoked
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(1))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        None
    );
    assert_eq!(
        store
            .get_refresh(&refresh.token.digest, at(1))
            .await
            .unwrap(),
        None,
        "nothing half-written"
    );
    // Consent given again creates a new grant: the old code still names the old one.
    consented(
        &store,
        &crate::store::contract::grant("usr_alice", "a", "grt_2"),
    )
    .await;
    assert_eq!(
        store
            .redeem_code(&code, at(1), Some(&refresh))
            .await
            .unwrap(),
        CodeRedemption::Revoked
    );
}

pub async fn expired_codes_are_hidden<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let code = code("code-1", &grant);
    store.put_code(&code).await.unwrap();
    assert_eq!(store.get_code(&code.digest, at(60)).await.unwrap(), None);
    assert_eq!(
        store.redeem_code(&code, at(60), None).await.unwrap(),
        CodeRedemption::NotFound
    );
    assert_eq!(
        store
            .get_code(&code.digest, at(59))
            .await
            .unwrap()
            .unwrap()
            .redeemed_at,
        None
    );
}

pub async fn refresh_rotation_detects_reuse<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let token = store
        .get_refresh(&first.token.digest, at(1))
        .await
        .unwrap()
        .unwrap();
    let family = store
        .get_refresh_family(&first.family.id, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((token, family), (first.token.clone(), first.family.clone()));

    let second = refresh_token("refresh-2", &first.family, at(10));
    let rotated = store
        .rotate_refresh(&first.token.digest, &second, &stamp("evt_r1", at(10)))
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated), "{rotated:?}");
    let old = store
        .get_refresh(&first.token.digest, at(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.rotated_at, Some(at(10)));

    // Presenting the rotated token again is reuse: the family is revoked and recorded.
    let third = refresh_token("refresh-3", &first.family, at(20));
    let reused = store
        .rotate_refresh(&first.token.digest, &third, &stamp("evt_r2", at(20)))
        .await
        .unwrap();
    assert_eq!(
        reused,
        Rotation::ReuseDetected {
            family_id: first.family.id.clone()
        }
    );
    let family = store
        .get_refresh_family(&first.family.id, at(21))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(family.revoked_at, Some(at(20)));
    let fourth = refresh_token("refresh-4", &first.family, at(30));
    assert_eq!(
        store
            .rotate_refresh(&second.digest, &fourth, &stamp("evt_r3", at(30)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let revocations = store.list_revocations_since(T0, at(30)).await.unwrap();
    let targets: Vec<RevocationTarget> = revocations.into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![RevocationTarget::Family(first.family.id.clone())]
    );
    assert_eq!(
        store.get_refresh(&third.digest, at(30)).await.unwrap(),
        None,
        "no token issued on reuse"
    );
}

pub async fn concurrent_rotation_reports_reuse<S: Store + 'static>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let rotations: Vec<_> = ["next-a", "next-b"]
        .into_iter()
        .enumerate()
        .map(|(i, next)| {
            let (store, first) = (Arc::clone(&store), first.clone());
            let next = refresh_token(next, &first.family, at(5));
            tokio::spawn(async move {
                store
                    .rotate_refresh(
                        &first.token.digest,
                        &next,
                        &stamp(&format!("evt_r{i}"), at(5)),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for rotation in rotations {
        outcomes.push(rotation.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&Rotation::ReuseDetected {
            family_id: first.family.id.clone()
        }),
        "{outcomes:?}"
    );
    let family = store
        .get_refresh_family(&first.family.id, at(6))
        .await
        .unwrap()
        .unwrap();
    assert!(family.revoked_at.is_some(), "the family is revoked");
}

pub async fn revoked_grant_stops_rotation<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    store
        .revoke_grant(&grant.user_id, &grant.client_id, &stamp("evt_r1", at(1)))
        .await
        .unwrap();
    let next = refresh_token("refresh-2", &first.family, at(2));
    assert_eq!(
        store
            .rotate_refresh(&first.token.digest, &next, &stamp("evt_r2", at(2)))
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let token = store
        .get_refresh(&first.token.digest, at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.rotated_at, None, "a refused rotation changes nothing");
    assert!(store
        .revoke_family(&first.family.id, &stamp("evt_r3", at(3)))
        .await
        .unwrap());
    assert!(
        !store
            .revoke_family(&first.family.id, &stamp("evt_r4", at(4)))
            .await
            .unwrap(),
        "already revoked"
    );
}

pub async fn expired_refresh_tokens_are_hidden<S: Store>(store: Arc<S>) {
    let grant = grant("usr_alice", "a", "grt_1");
    consented(&store, &grant).await;
    let first = new_family("fam_1", &grant, "refresh-1");
    store.put_refresh_family(&first).await.unwrap();
    let expiry = first.token.expires_at;
    assert!(store
        .get_refresh(&first.token.digest, expiry.minus(Duration::from_millis(1)))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .get_refresh(&first.token.digest, expiry)
            .await
            .unwrap(),
        None
    );
    let next = refresh_token("refresh-2", &first.family, expiry);
    assert_eq!(
        store
            .rotate_refresh(&first.token.digest, &next, &stamp("evt_r1", expiry))
            .await
            .unwrap(),
        Rotation::NotFound
    );
}

pub async fn grants_are_listed_and_revoked<S: Store>(store: Arc<S>) {
    consented(&store, &grant("usr_alice", "a", "grt_1")).await;
    consented(&store, &grant("usr_alice", "b", "grt_2")).await;
    consented(&store, &grant("usr_alicex", "a", "grt_3")).await;
    let mut wider = grant("usr_alice", "b", "grt_2");
    wider.scope = Scope::parse("orders:read profile:read").unwrap();
    wider.last_used_at = at(5);
    consented(&store, &wider).await;
    let mut listed: Vec<Grant> = store.list_grants(&user_id("usr_alice")).await.unwrap();
    listed.sort_by(|x, y| x.id.cmp(&y.id));
    let wider = Grant {
        version: 2,
        ..wider
    };
    assert_eq!(listed, vec![grant("usr_alice", "a", "grt_1"), wider]);
    let revoke = |user: &str, id: &str, when| {
        let store = Arc::clone(&store);
        let (user, stamp) = (user_id(user), stamp(id, when));
        async move {
            store
                .revoke_grant(&user, &client_id("a"), &stamp)
                .await
                .unwrap()
        }
    };
    assert!(revoke("usr_alice", "evt_r1", at(7)).await);
    assert!(
        !revoke("usr_alice", "evt_r2", at(8)).await,
        "already revoked"
    );
    assert!(
        !revoke("usr_nobody", "evt_r3", at(8)).await,
        "no such grant"
    );
    let revoked = store
        .get_grant(&user_id("usr_alice"), &client_id("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(7)));
    let revocations = store.list_revocations_since(T0, at(8)).await.unwrap();
    assert_eq!(revocations.len(), 1);
    assert_eq!(
        revocations[0].target,
        RevocationTarget::Grant(GrantId::parse("grt_1").unwrap())
    );
    assert_eq!(revocations[0].at, at(7));
}

pub async fn revocations_are_listed_since_a_time<S: Store>(store: Arc<S>) {
    for (i, (when, target)) in [
        (at(10), RevocationTarget::AccessToken("jti-1".into())),
        (at(20), RevocationTarget::User(user_id("usr_alice"))),
        (at(30), RevocationTarget::Client(client_id("a"))),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = Revocation {
            id: event_id(&format!("evt_{i}")),
            at: when,
            target,
            expires_at: when.plus(MINUTE),
        };
        store.put_revocation(&entry).await.unwrap();
    }
    let since_20: Vec<Timestamp> = store
        .list_revocations_since(at(20), at(21))
        .await
        .unwrap()
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(
        since_20,
        vec![at(20), at(30)],
        "oldest first, `since` inclusive"
    );
    let live: Vec<Timestamp> = store
        .list_revocations_since(T0, at(80))
        .await
        .unwrap()
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(live, vec![at(30)], "expired entries are hidden");
}

/// Security rule 19: revoking an access token that is already revoked writes nothing; entries
/// spread over the shards come back in time order.
pub async fn rule_19_revoking_an_access_token_twice_writes_nothing_new<S: Store>(store: Arc<S>) {
    let revoke = |n: usize| Revocation {
        id: event_id(&format!("evt_jti_{n}")),
        at: at(n as u64),
        target: RevocationTarget::AccessToken("jti-twice".into()),
        expires_at: at(600),
    };
    assert!(store.put_revocation(&revoke(1)).await.unwrap());
    for n in 2..6 {
        assert!(
            !store.put_revocation(&revoke(n)).await.unwrap(),
            "repeat {n}"
        );
    }
    // Many entries of other kinds, across the shards, listed oldest first.
    for n in 0..40u64 {
        let entry = Revocation {
            id: event_id(&format!("evt_many_{n}")),
            at: at(100 + n),
            target: RevocationTarget::Family(FamilyId::parse(&format!("fam_{n}")).unwrap()),
            expires_at: at(600),
        };
        assert!(store.put_revocation(&entry).await.unwrap());
    }
    let listed = store.list_revocations_since(T0, at(200)).await.unwrap();
    assert_eq!(listed.len(), 41, "one entry for the token, forty families");
    assert!(listed.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert_eq!(listed[0].id, event_id("evt_jti_1"));
}

pub async fn signing_keys_round_trip<S: Store>(store: Arc<S>) {
    let key = SigningKey {
        kid: KeyId::parse("key_1").unwrap(),
        algorithm: "RS256".into(),
        public_jwk: serde_json::json!({"kty": "RSA", "n": "abc", "e": "AQAB", "kid": "key_1"}),
        private_key: SealedPrivateKey {
            scheme: "local".into(),
            blob: "c2VhbGVk".into(),
        },
        created_at: T0,
        signs_from: at(60),
        retire_at: None,
    };
    store.put_signing_key(&key).await.unwrap();
    let mut retired = key.clone();
    retired.kid = KeyId::parse("key_0").unwrap();
    retired.retire_at = Some(at(3600));
    store.put_signing_key(&retired).await.unwrap();
    let mut keys = store.list_signing_keys().await.unwrap();
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    assert_eq!(keys, vec![retired, key]);
}

pub async fn audit_records_of_one_operation_are_stored_together<S: Store>(store: Arc<S>) {
    let retained = at(86_400);
    let records: Vec<AuditEvent> = (0..3)
        .map(|n| audit_event(n, Some("usr_carol"), Some("b"), at(n as u64), retained))
        .collect();
    store.append_audits(&records).await.unwrap();
    store.append_audits(&[]).await.unwrap();
    let query = AuditQuery {
        subject: AuditSubject::User(user_id("usr_carol")),
        from: at(0),
        to: at(10),
        limit: 10,
        cursor: None,
    };
    let page = store.query_audit(&query, at(5)).await.unwrap();
    let mut newest_first = records.clone();
    newest_first.reverse();
    assert_eq!(page.events, newest_first);
}

pub async fn audit_pages_newest_first<S: Store>(store: Arc<S>) {
    let retained = at(86_400);
    for n in 0..25 {
        let user = if n % 5 == 4 { "usr_bob" } else { "usr_alice" };
        store
            .append_audit(&audit_event(
                n,
                Some(user),
                Some("a"),
                at(n as u64),
                retained,
            ))
            .await
            .unwrap();
    }
    // Two events in the same millisecond are ordered by id, and neither is lost at a page edge.
    store
        .append_audit(&audit_event(100, Some("usr_alice"), None, at(7), retained))
        .await
        .unwrap();
    // Expired records and records outside the range never appear.
    store
        .append_audit(&audit_event(
            200,
            Some("usr_alice"),
            Some("a"),
            at(30),
            at(31),
        ))
        .await
        .unwrap();
    store
        .append_audit(&audit_event(201, None, Some("a"), at(40), retained))
        .await
        .unwrap();

    let read_all = |subject: AuditSubject, limit: usize| {
        let store = Arc::clone(&store);
        async move {
            let mut pages = Vec::new();
            let mut cursor = None;
            loop {
                let query = AuditQuery {
                    subject: subject.clone(),
                    from: T0,
                    to: at(40),
                    limit,
                    cursor,
                };
                let page = store.query_audit(&query, at(35)).await.unwrap();
                pages.push(
                    page.events
                        .iter()
                        .map(|e| e.id.to_string())
                        .collect::<Vec<_>>(),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return pages,
                }
                assert!(pages.len() < 100, "pagination must end");
            }
        }
    };

    let alice = read_all(AuditSubject::User(user_id("usr_alice")), 7).await;
    let sizes: Vec<usize> = alice.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        vec![7, 7, 7],
        "21 records (20 + the same-millisecond one) in pages of 7"
    );
    let flat: Vec<String> = alice.concat();
    let mut expected: Vec<String> = (0..25)
        .filter(|n| n % 5 != 4)
        .map(|n| format!("evt_{n:04}"))
        .collect();
    expected.push("evt_0100".into());
    expected.sort_by_key(|id| {
        let n: usize = id[4..].parse().unwrap();
        let second = if n == 100 { 7 } else { n };
        (std::cmp::Reverse(second), std::cmp::Reverse(id.clone()))
    });
    assert_eq!(flat, expected, "newest first, no gaps, no repeats");

    let client_pages = read_all(AuditSubject::Client(client_id("a")), 10).await;
    assert_eq!(
        client_pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 5]
    );
    assert_eq!(client_pages[0][0], "evt_0024");
    assert!(
        !client_pages.concat().contains(&"evt_0201".to_owned()),
        "`to` is exclusive"
    );

    let window = AuditQuery {
        subject: AuditSubject::User(user_id("usr_bob")),
        from: at(9),
        to: at(20),
        limit: 10,
        cursor: None,
    };
    let bob: Vec<String> = store
        .query_audit(&window, at(35))
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(bob, vec!["evt_0019", "evt_0014", "evt_0009"]);
}

pub async fn bad_requests_are_typed_errors<S: Store>(store: Arc<S>) {
    let query = |limit, cursor| AuditQuery {
        subject: AuditSubject::User(user_id("usr_a")),
        from: T0,
        to: at(1),
        limit,
        cursor,
    };
    assert!(matches!(
        store.query_audit(&query(0, None), T0).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        store.query_audit(&query(1001, None), T0).await,
        Err(StoreError::InvalidRequest(_))
    ));
    let forged = PageCursor::after(T0, &event_id("evt_1"));
    let page = store
        .query_audit(&query(5, Some(forged)), T0)
        .await
        .unwrap();
    assert!(page.events.is_empty());
}

/// Fixtures other store tests reuse.
pub(crate) mod tests_support {
    pub(crate) use super::client;
}

/// Generates one `#[tokio::test]` per contract function, each on a fresh store from `$make`.
macro_rules! contract_suite {
    ($make:expr) => {
        $crate::store::contract::contract_suite!(@tests $make;
            clients_round_trip,
            users_are_unique_by_username,
            sessions_expire,
            code_is_redeemed_exactly_once,
            concurrent_code_redemption_has_one_winner,
            revoked_grant_blocks_redemption_and_leaves_the_code_unspent,
            expired_codes_are_hidden,
            refresh_rotation_detects_reuse,
            concurrent_rotation_reports_reuse,
            revoked_grant_stops_rotation,
            expired_refresh_tokens_are_hidden,
            grants_are_listed_and_revoked,
            revocations_are_listed_since_a_time,
            signing_keys_round_trip,
            audit_pages_newest_first,
            audit_records_of_one_operation_are_stored_together,
            bad_requests_are_typed_errors,
            pending_authorizations_are_taken_once,
            concurrent_takes_have_one_winner,
            grants_are_listed_by_client,
            using_a_grant_records_when,
            initial_access_tokens_expire,
            user_cuts_void_credentials_from_earlier_sign_ins,
            grant_writes_apply_only_over_the_version_read,
            a_narrower_consent_ends_earlier_codes_and_families,
            client_changes_end_earlier_codes_and_families,
            client_updates_apply_only_over_the_version_read,
            rule_19_revoking_an_access_token_twice_writes_nothing_new,
            // Login attempt counters (throttle.rs).
            login_attempts_lock_once_the_limit_is_reached,
            a_refused_attempt_counts_on_no_key,
            settled_attempts_are_given_back,
            parallel_attempts_never_pass_the_limit,
            // The operator's and the account page's views (operator.rs).
            users_are_listed_by_username,
            a_users_sessions_are_listed_newest_first_until_deleted,
            every_audit_record_of_a_range_is_found_across_days,
            login_counters_are_read_and_forgotten,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = $make.await;
                $crate::store::contract::$name(std::sync::Arc::new(store)).await;
            }
        )*
    };
}
pub(crate) use contract_suite;
