//! How each record becomes one DynamoDB item: its fields (via serde_dynamo), its keys from
//! `store::keys`, index keys and the TTL attribute. The tests pin the exact item shapes.

use super::{n, s};
use crate::domain::{
    AuditEvent, AuthorizationCode, Client, Grant, InitialAccessToken, LoginSession, LoginThrottle,
    PendingAuthorization, RefreshFamily, RefreshToken, Revocation, SigningKey, Timestamp, User,
};
use crate::ports::{StoreError, StoreResult};
use crate::store::keys::{self, ItemKey, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, PK, SK, TTL};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn key_attributes(key: &ItemKey) -> Item {
    HashMap::from([(PK.to_owned(), s(&key.pk)), (SK.to_owned(), s(&key.sk))])
}

fn record<T: Serialize>(value: &T, key: &ItemKey) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode item: {e}")))?;
    item.extend(key_attributes(key));
    Ok(item)
}

fn with_ttl(mut item: Item, expires_at: Timestamp) -> Item {
    item.insert(TTL.to_owned(), n(expires_at.as_secs()));
    item
}

fn with_index(mut item: Item, (pk_name, sk_name): (&str, &str), pk: String, sk: String) -> Item {
    item.insert(pk_name.to_owned(), s(pk));
    item.insert(sk_name.to_owned(), s(sk));
    item
}

pub(super) fn from_item<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Corrupt(format!("cannot decode item: {e}")))
}

pub(super) fn client_item(client: &Client) -> StoreResult<Item> {
    let item = record(client, &keys::client(&client.id))?;
    Ok(with_index(
        item,
        (GSI1_PK, GSI1_SK),
        keys::CLIENT_LIST.to_owned(),
        client.id.to_string(),
    ))
}

/// Indexed in GSI1 by username, so `xecure user list` is one Query.
pub(super) fn account_item(user: &User) -> StoreResult<Item> {
    Ok(with_index(
        record(user, &keys::account(&user.id))?,
        (GSI1_PK, GSI1_SK),
        keys::USER_LIST.to_owned(),
        user.username.to_string(),
    ))
}

/// What a username's item holds: the id of its account.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct UsernamePointer {
    pub user_id: crate::domain::UserId,
}

pub(super) fn username_item(user: &User) -> StoreResult<Item> {
    let pointer = UsernamePointer {
        user_id: user.id.clone(),
    };
    record(&pointer, &keys::user(&user.username))
}

/// Indexed in GSI1 under its user, newest last, so the account page lists them in one Query.
pub(super) fn session_item(session: &LoginSession) -> StoreResult<Item> {
    Ok(with_index(
        with_ttl(
            record(session, &keys::session(&session.digest))?,
            session.expires_at,
        ),
        (GSI1_PK, GSI1_SK),
        keys::sessions_of(&session.user_id),
        format!(
            "{}#{}",
            session.created_at.sort_key(),
            session.digest.as_str()
        ),
    ))
}

pub(super) fn pending_authorization_item(pending: &PendingAuthorization) -> StoreResult<Item> {
    Ok(with_ttl(
        record(pending, &keys::pending_authorization(&pending.digest))?,
        pending.expires_at,
    ))
}

pub(super) fn login_throttle_item(throttle: &LoginThrottle) -> StoreResult<Item> {
    Ok(with_ttl(
        record(throttle, &keys::login_throttle(&throttle.key))?,
        throttle.expires_at,
    ))
}

pub(super) fn code_item(code: &AuthorizationCode) -> StoreResult<Item> {
    Ok(with_ttl(
        record(code, &keys::code(&code.digest))?,
        code.expires_at,
    ))
}

pub(super) fn refresh_token_item(token: &RefreshToken) -> StoreResult<Item> {
    Ok(with_ttl(
        record(token, &keys::refresh_token(&token.digest))?,
        token.expires_at,
    ))
}

pub(super) fn refresh_family_item(family: &RefreshFamily) -> StoreResult<Item> {
    Ok(with_ttl(
        record(family, &keys::refresh_family(&family.id))?,
        family.expires_at,
    ))
}

/// Indexed by client (GSI2), so disabling a client finds every grant it holds.
pub(super) fn grant_item(grant: &Grant) -> StoreResult<Item> {
    Ok(with_index(
        record(grant, &keys::grant(&grant.user_id, &grant.client_id))?,
        (GSI2_PK, GSI2_SK),
        keys::grants_to(&grant.client_id),
        grant.user_id.to_string(),
    ))
}

pub(super) fn initial_access_token_item(token: &InitialAccessToken) -> StoreResult<Item> {
    Ok(with_ttl(
        record(token, &keys::initial_access_token(&token.digest))?,
        token.expires_at,
    ))
}

pub(super) fn revocation_item(revocation: &Revocation) -> StoreResult<Item> {
    Ok(with_ttl(
        record(revocation, &keys::revocation(revocation.at, &revocation.id))?,
        revocation.expires_at,
    ))
}

/// The marker of a revoked access token: its keys and TTL, nothing else.
pub(super) fn revoked_token_item(jti: &str, expires_at: Timestamp) -> Item {
    with_ttl(key_attributes(&keys::revoked_access_token(jti)), expires_at)
}

pub(super) fn pushed_request_item(request: &crate::domain::PushedRequest) -> StoreResult<Item> {
    Ok(with_ttl(
        record(request, &keys::pushed_request(&request.digest))?,
        request.expires_at,
    ))
}

/// A used DPoP proof's marker: its keys and TTL, nothing else.
pub(super) fn used_proof_item(id: &crate::domain::TokenDigest, expires_at: Timestamp) -> Item {
    with_ttl(key_attributes(&keys::used_proof(id)), expires_at)
}

pub(super) fn signing_key_item(key: &SigningKey) -> StoreResult<Item> {
    record(key, &keys::signing_key(&key.kid))
}

/// One item per event, indexed by user (GSI1) and by client (GSI2) when it has them.
pub(super) fn audit_item(event: &AuditEvent) -> StoreResult<Item> {
    let mut item = with_ttl(
        record(event, &keys::audit(event.at, &event.id))?,
        event.expires_at,
    );
    let sort = keys::time_sort_key(event.at, &event.id);
    if let Some(user) = &event.user_id {
        item = with_index(
            item,
            (GSI1_PK, GSI1_SK),
            keys::audit_by_user(user),
            sort.clone(),
        );
    }
    if let Some(client) = &event.client_id {
        item = with_index(
            item,
            (GSI2_PK, GSI2_SK),
            keys::audit_by_client(client),
            sort,
        );
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn text(item: &Item, name: &str) -> String {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not a string"))
    }

    fn names(item: &Item) -> BTreeSet<&str> {
        item.keys().map(String::as_str).collect()
    }

    #[test]
    fn client_item_shape_is_pinned() {
        let client = Client {
            redirect_uris: vec![RedirectUri::parse("https://a.example/cb").unwrap()],
            allowed_scopes: Scope::parse("a b").unwrap(),
            default_scopes: Scope::parse("a").unwrap(),
            grant_types: BTreeSet::from([GrantType::AuthorizationCode]),
            ..Client::new(
                ClientId::parse("demo").unwrap(),
                "Demo",
                ClientKind::Public,
                Timestamp::from_secs(1),
            )
        };
        let item = client_item(&client).unwrap();
        assert_eq!(
            names(&item),
            BTreeSet::from([
                "PK",
                "SK",
                "GSI1PK",
                "GSI1SK",
                "id",
                "display_name",
                "kind",
                "redirect_uris",
                "allowed_scopes",
                "default_scopes",
                "grant_types",
                "created_at",
                "revision",
                "version"
            ])
        );
        assert_eq!(text(&item, "PK"), "CLIENT#demo");
        assert_eq!(text(&item, "GSI1PK"), "CLIENTS");
        assert_eq!(text(&item, "GSI1SK"), "demo");
        assert_eq!(text(&item, "allowed_scopes"), "a b");
        assert_eq!(from_item::<Client>(item).unwrap(), client);
    }

    #[test]
    fn code_item_has_ttl_in_seconds_and_no_unset_fields() {
        let code = AuthorizationCode {
            digest: TokenDigest::of("c"),
            client_id: ClientId::parse("demo").unwrap(),
            user_id: UserId::parse("usr_1").unwrap(),
            grant_id: GrantId::parse("grt_1").unwrap(),
            redirect_uri: RedirectUri::parse("https://a.example/cb").unwrap(),
            scope: Scope::parse("a").unwrap(),
            code_challenge: "x".into(),
            auth_time: Timestamp::from_secs(100),
            nonce: None,
            client_revision: 0,
            grant_epoch: 0,
            issued_at: Timestamp::from_secs(100),
            expires_at: Timestamp::from_millis(160_500),
            redeemed_at: None,
            family_id: None,
        };
        let item = code_item(&code).unwrap();
        assert_eq!(item.get("ttl"), Some(&AttributeValue::N("160".into())));
        // Conditions test `attribute_not_exists(redeemed_at)`: an unset option must be absent,
        // not NULL.
        assert!(!item.contains_key("redeemed_at") && !item.contains_key("family_id"));
        assert_eq!(text(&item, "SK"), "CODE");
        assert_eq!(from_item::<AuthorizationCode>(item).unwrap(), code);
    }

    #[test]
    fn audit_item_is_indexed_by_user_and_client() {
        let event = AuditEvent {
            id: EventId::parse("evt_1").unwrap(),
            at: Timestamp::from_millis(1_700_000_000_000),
            kind: AuditEventKind::LoginSucceeded,
            outcome: AuditOutcome::Success,
            user_id: Some(UserId::parse("usr_1").unwrap()),
            client_id: Some(ClientId::parse("demo").unwrap()),
            source_ip: None,
            user_agent: None,
            request_id: None,
            reason: None,
            detail: BTreeMap::new(),
            expires_at: Timestamp::from_secs(1_800_000_000),
        };
        let item = audit_item(&event).unwrap();
        assert_eq!(
            text(&item, "PK"),
            "AUDIT#2023-11-14#13",
            "0x7d = 125, 125 % 16 = 13"
        );
        assert_eq!(text(&item, "SK"), "1700000000000#evt_1");
        assert_eq!(text(&item, "GSI1PK"), "AUDIT#USER#usr_1");
        assert_eq!(text(&item, "GSI2PK"), "AUDIT#CLIENT#demo");
        assert_eq!(text(&item, "GSI1SK"), "1700000000000#evt_1");
        assert_eq!(text(&item, "GSI2SK"), "1700000000000#evt_1");
        assert_eq!(
            item.get("ttl"),
            Some(&AttributeValue::N("1800000000".into()))
        );
        assert_eq!(from_item::<AuditEvent>(item).unwrap(), event);
    }
}
