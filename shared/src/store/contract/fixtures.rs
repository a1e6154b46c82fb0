//! The fixtures every contract file builds on: a fixed clock far from the real one, and
//! clients, users, grants, codes, refresh families and audit records in a known shape.

use crate::domain::*;
use crate::ports::{NewRefreshFamily, Store, StoreError};
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

pub(crate) fn event_id(id: &str) -> EventId {
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
        nonce: None,
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
        jkt: family.jkt.clone(),
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
        // Bound to a DPoP key: both stores keep the thumbprint (RFC 9449 section 5.0).
        jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
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

/// The first page of up to `seconds` records of `subject` from the epoch to `seconds`.
pub(crate) fn first_page(subject: AuditSubject, seconds: u64) -> AuditQuery {
    AuditQuery {
        subject,
        from: at(0),
        to: at(seconds),
        limit: seconds as usize,
        cursor: None,
    }
}
