//! Sessions, authorization codes and refresh tokens in DynamoDB.

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{
    code_item, from_item, refresh_family_item, refresh_token_item, revocation_item, session_item,
    Item,
};
use super::{n, s, unavailable, DynamoStore, Written};
use crate::domain::{
    AuthorizationCode, FamilyId, LoginSession, RefreshFamily, RefreshToken, RevocationStamp,
    RevocationTarget, Timestamp, TokenDigest, UserId,
};
use crate::ports::{
    CodeRedemption, CodeStore, NewRefreshFamily, RefreshStore, Rotation, SessionStore, StoreError,
    StoreResult,
};
use crate::store::keys::{self, ItemKey, GSI1, GSI1_PK, PK};
use crate::store::rules::{
    check_redemption, check_rotation, BackingRecords, RedemptionCheck, RotationCheck,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem, TransactWriteItem};

/// A failed condition is re-read and decided; if the re-read finds nothing wrong the state
/// moved under us, and the write is tried again, this many times at most.
const RACE_ATTEMPTS: usize = 4;

fn decode<T: serde::de::DeserializeOwned>(item: Option<Item>) -> StoreResult<Option<T>> {
    item.map(from_item).transpose()
}

/// Grant, account and client, the next three items of a TransactGetItems answer.
fn backing_records(found: &mut impl Iterator<Item = Option<Item>>) -> StoreResult<BackingRecords> {
    Ok(BackingRecords {
        grant: decode(found.next().flatten())?,
        account: decode(found.next().flatten())?,
        client: decode(found.next().flatten())?,
    })
}

/// Records that the grant was used now, on condition that the grant of (user, client) is
/// still `grant_id`, not revoked, and not narrowed since `epoch` (mirrors `grant_stands`). An
/// Update instead of a ConditionCheck in the same transaction: "last used" costs no extra
/// call.
fn touch_standing_grant(grant_id: &str, epoch: u64, now: Timestamp) -> Expr {
    let same_epoch = if epoch == 0 {
        // Grants from before epochs were kept have no attribute: epoch 0.
        "(attribute_not_exists(#epoch) OR #epoch = :epoch)"
    } else {
        "#epoch = :epoch"
    };
    Expr::update("SET #used = :used")
        .and_condition(&format!(
            "#id = :grant AND attribute_not_exists(#revoked) AND {same_epoch}"
        ))
        .name("#id", "id")
        .name("#revoked", "revoked_at")
        .name("#used", "last_used_at")
        .name("#epoch", "family_epoch")
        .value(":grant", s(grant_id))
        .value(":epoch", n(i64::try_from(epoch).unwrap_or(i64::MAX)))
        .value(":used", n(now.as_millis()))
}

/// Security rule 16: the client exists, is enabled, and is at `revision` (mirrors
/// `client_stands`).
fn client_stands(revision: u64) -> Expr {
    Expr::condition(
        "attribute_exists(#pk) AND #revision = :revision \
         AND (attribute_not_exists(#disabled) OR #disabled = :false)",
    )
    .name("#pk", PK)
    .name("#revision", "revision")
    .name("#disabled", "disabled")
    .value(":revision", n(i64::try_from(revision).unwrap_or(i64::MAX)))
    .value(":false", AttributeValue::Bool(false))
}

/// Security rule 16: the account exists, is enabled, and has not cut credentials at or after
/// the sign-in at `auth_time` (mirrors `User::accepts_sign_in_from`).
fn account_accepts(auth_time: Timestamp) -> Expr {
    Expr::condition(
        "attribute_exists(#pk) AND #disabled = :false \
         AND (attribute_not_exists(#cut) OR #cut < :auth)",
    )
    .name("#pk", PK)
    .name("#disabled", "disabled")
    .name("#cut", "credentials_valid_after")
    .value(":false", AttributeValue::Bool(false))
    .value(":auth", n(auth_time.as_millis()))
}

impl DynamoStore {
    /// Reads several items in one TransactGetItems call: a consistent snapshot of all of them.
    pub(super) async fn get_many(&self, keys: &[ItemKey]) -> StoreResult<Vec<Option<Item>>> {
        let gets = keys
            .iter()
            .map(|key| {
                let get = Get::builder()
                    .table_name(&self.table)
                    .set_key(Some(super::items::key_attributes(key)))
                    .build()
                    .map_err(super::build_error)?;
                Ok(TransactGetItem::builder().get(get).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let output = self
            .client
            .transact_get_items()
            .set_transact_items(Some(gets))
            .send()
            .await
            .map_err(|e| unavailable("TransactGetItems", e))?;
        let responses = output.responses.unwrap_or_default();
        if responses.len() != keys.len() {
            return Err(StoreError::Unavailable(
                "TransactGetItems returned the wrong number of items".into(),
            ));
        }
        Ok(responses
            .into_iter()
            .map(|response| response.item.filter(|item| !item.is_empty()))
            .collect())
    }

    fn revoke_family_ops(
        &self,
        family_id: &FamilyId,
        stamp: &RevocationStamp,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let mark = Expr::update("SET #revoked = :at")
            .and_condition("attribute_exists(#pk) AND attribute_not_exists(#revoked)")
            .name("#pk", PK)
            .name("#revoked", "revoked_at")
            .value(":at", n(stamp.at.as_millis()));
        let revocation = stamp.revoke(RevocationTarget::Family(family_id.clone()));
        Ok(vec![
            self.update_op(&keys::refresh_family(family_id), mark)?,
            self.put_op(revocation_item(&revocation)?, Some(item_is_new()))?,
        ])
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn put_session(&self, session: &LoginSession) -> StoreResult<()> {
        self.put(session_item(session)?, None).await.map(|_| ())
    }

    async fn get_session(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<LoginSession>> {
        let session: Option<LoginSession> = decode(self.get(&keys::session(digest)).await?)?;
        Ok(session.filter(|session| !session.expires_at.has_passed(now)))
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        self.delete(&keys::session(digest)).await.map(|_| ())
    }

    /// Query GSI1 `SESSIONS#<user>`, newest first, until `limit` live ones.
    async fn list_user_sessions(
        &self,
        user: &UserId,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<LoginSession>> {
        let expr = Expr::key_condition("#pk = :pk")
            .name("#pk", GSI1_PK)
            .value(":pk", s(keys::sessions_of(user)));
        let mut sessions = Vec::new();
        let mut pages = self.query_backwards(Some(GSI1), expr, limit)?;
        while let Some(items) = pages.next_page(self).await? {
            for item in items {
                let session: LoginSession = from_item(item)?;
                if !session.expires_at.has_passed(now) && sessions.len() < limit {
                    sessions.push(session);
                }
            }
            if sessions.len() >= limit {
                break;
            }
        }
        Ok(sessions)
    }
}

#[async_trait]
impl CodeStore for DynamoStore {
    async fn put_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        match self.put(code_item(code)?, Some(item_is_new())).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists("authorization code".into())),
        }
    }

    async fn get_code(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let code: Option<AuthorizationCode> = decode(self.get(&keys::code(digest)).await?)?;
        Ok(code.filter(|code| !code.expires_at.has_passed(now)))
    }

    /// One TransactWriteItems: spend the code (conditions mirror `check_redemption`), check
    /// the grant, and put the refresh family and its first token.
    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        now: Timestamp,
        refresh: Option<&NewRefreshFamily>,
    ) -> StoreResult<CodeRedemption> {
        let code_key = keys::code(&code.digest);
        let grant_key = keys::grant(&code.user_id, &code.client_id);
        let account_key = keys::account(&code.user_id);
        let client_key = keys::client(&code.client_id);
        let family_id = refresh.map(|new| new.family.id.clone());
        for _ in 0..RACE_ATTEMPTS {
            let set = if family_id.is_some() {
                "SET #redeemed = :now, #family = :family"
            } else {
                "SET #redeemed = :now"
            };
            let mut spend = Expr::update(set)
                .and_condition(
                    "attribute_exists(#pk) AND attribute_not_exists(#redeemed) AND #expires > :now \
                     AND #client = :client AND #grant = :grant",
                )
                .name("#pk", PK)
                .name("#redeemed", "redeemed_at")
                .name("#expires", "expires_at")
                .name("#client", "client_id")
                .name("#grant", "grant_id")
                .value(":now", n(now.as_millis()))
                .value(":client", s(code.client_id.as_str()))
                .value(":grant", s(code.grant_id.as_str()));
            if let Some(family_id) = &family_id {
                spend = spend
                    .name("#family", "family_id")
                    .value(":family", s(family_id.as_str()));
            }
            let touch = touch_standing_grant(code.grant_id.as_str(), code.grant_epoch, now);
            let mut ops = vec![
                self.update_op(&code_key, spend)?,
                self.update_op(&grant_key, touch)?,
                self.check_op(&account_key, account_accepts(code.auth_time))?,
                self.check_op(&client_key, client_stands(code.client_revision))?,
            ];
            if let Some(new) = refresh {
                ops.push(self.put_op(refresh_family_item(&new.family)?, Some(item_is_new()))?);
                ops.push(self.put_op(refresh_token_item(&new.token)?, Some(item_is_new()))?);
            }
            if self
                .transact("TransactWriteItems(redeem code)", ops)
                .await?
                == Written::Yes
            {
                let mut redeemed = code.clone();
                redeemed.redeemed_at = Some(now);
                redeemed.family_id = family_id;
                return Ok(CodeRedemption::Redeemed(redeemed));
            }
            let keys = [
                code_key.clone(),
                grant_key.clone(),
                account_key.clone(),
                client_key.clone(),
            ];
            let mut found = self.get_many(&keys).await?.into_iter();
            let stored = decode(found.next().flatten())?;
            let backing = backing_records(&mut found)?;
            if let RedemptionCheck::Refuse(outcome) =
                check_redemption(stored, code, backing.backing(), now)
            {
                return Ok(outcome);
            }
        }
        Err(StoreError::Unavailable(
            "authorization code kept changing while being redeemed".into(),
        ))
    }
}

#[async_trait]
impl RefreshStore for DynamoStore {
    async fn put_refresh_family(&self, new: &NewRefreshFamily) -> StoreResult<()> {
        let ops = vec![
            self.put_op(refresh_family_item(&new.family)?, Some(item_is_new()))?,
            self.put_op(refresh_token_item(&new.token)?, Some(item_is_new()))?,
        ];
        match self
            .transact("TransactWriteItems(new refresh family)", ops)
            .await?
        {
            Written::Yes => Ok(()),
            Written::ConditionFailed => {
                Err(StoreError::AlreadyExists("refresh family or token".into()))
            }
        }
    }

    async fn get_refresh(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshToken>> {
        let token: Option<RefreshToken> = decode(self.get(&keys::refresh_token(digest)).await?)?;
        Ok(token.filter(|token| !token.expires_at.has_passed(now)))
    }

    async fn get_refresh_family(
        &self,
        id: &FamilyId,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshFamily>> {
        let family: Option<RefreshFamily> = decode(self.get(&keys::refresh_family(id)).await?)?;
        Ok(family.filter(|family| !family.expires_at.has_passed(now)))
    }

    /// One TransactWriteItems on the happy path: rotate the presented token, put the next one,
    /// check family and grant (conditions mirror `check_rotation`).
    async fn rotate_refresh(
        &self,
        presented: &TokenDigest,
        next: &RefreshToken,
        stamp: &RevocationStamp,
    ) -> StoreResult<Rotation> {
        let now = stamp.at;
        let token_key = keys::refresh_token(presented);
        let family_key = keys::refresh_family(&next.family_id);
        let grant_key = keys::grant(&next.user_id, &next.client_id);
        let account_key = keys::account(&next.user_id);
        let client_key = keys::client(&next.client_id);
        for _ in 0..RACE_ATTEMPTS {
            let rotate = Expr::update("SET #rotated = :now")
                .and_condition(
                    "attribute_exists(#pk) AND attribute_not_exists(#rotated) AND #expires > :now \
                     AND #family = :family AND #grant = :grant",
                )
                .name("#pk", PK)
                .name("#rotated", "rotated_at")
                .name("#expires", "expires_at")
                .name("#family", "family_id")
                .name("#grant", "grant_id")
                .value(":now", n(now.as_millis()))
                .value(":family", s(next.family_id.as_str()))
                .value(":grant", s(next.grant_id.as_str()));
            let family_live = Expr::condition(
                "attribute_exists(#pk) AND attribute_not_exists(#revoked) AND #expires > :now",
            )
            .name("#pk", PK)
            .name("#revoked", "revoked_at")
            .name("#expires", "expires_at")
            .value(":now", n(now.as_millis()));
            let touch = touch_standing_grant(next.grant_id.as_str(), next.grant_epoch, now);
            let ops = vec![
                self.update_op(&token_key, rotate)?,
                self.put_op(refresh_token_item(next)?, Some(item_is_new()))?,
                self.check_op(&family_key, family_live)?,
                self.update_op(&grant_key, touch)?,
                self.check_op(&account_key, account_accepts(next.auth_time))?,
                self.check_op(&client_key, client_stands(next.client_revision))?,
            ];
            if self
                .transact("TransactWriteItems(rotate refresh)", ops)
                .await?
                == Written::Yes
            {
                return Ok(Rotation::Rotated);
            }
            let keys = [
                token_key.clone(),
                family_key.clone(),
                grant_key.clone(),
                account_key.clone(),
                client_key.clone(),
            ];
            let mut found = self.get_many(&keys).await?.into_iter();
            let token = decode(found.next().flatten())?;
            let family = decode(found.next().flatten())?;
            let backing = backing_records(&mut found)?;
            match check_rotation(token, family, backing.backing(), next, now) {
                RotationCheck::Refuse(outcome) => return Ok(outcome),
                RotationCheck::Reuse(family) => {
                    // Lost or won, the family ends revoked: a concurrent revoker is fine.
                    self.transact(
                        "TransactWriteItems(revoke family)",
                        self.revoke_family_ops(&family.id, stamp)?,
                    )
                    .await?;
                    return Ok(Rotation::ReuseDetected {
                        family_id: family.id,
                    });
                }
                RotationCheck::Proceed(_) => continue,
            }
        }
        Err(StoreError::Unavailable(
            "refresh token kept changing while being rotated".into(),
        ))
    }

    async fn revoke_family(
        &self,
        family_id: &FamilyId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool> {
        let ops = self.revoke_family_ops(family_id, stamp)?;
        Ok(self
            .transact("TransactWriteItems(revoke family)", ops)
            .await?
            == Written::Yes)
    }
}
