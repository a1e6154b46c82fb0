//! Sessions, authorization codes and refresh tokens in the embedded store.

use super::decode;
use super::{
    backend, backing_in, encode, get_decoded, insert_new, insert_revocation, touch_grant,
    EmbeddedStore, CODES, REFRESH_FAMILIES, REFRESH_TOKENS, SESSIONS, SESSIONS_BY_USER,
};
use crate::domain::{
    AuthorizationCode, FamilyId, LoginSession, RefreshFamily, RefreshToken, RevocationStamp,
    RevocationTarget, Timestamp, TokenDigest, UserId,
};
use crate::ports::{
    CodeRedemption, CodeStore, NewRefreshFamily, RefreshStore, Rotation, SessionStore, StoreResult,
};
use crate::store::rules::{check_redemption, check_rotation, RedemptionCheck, RotationCheck};
use async_trait::async_trait;
use redb::WriteTransaction;

/// The session's entry in its user's index.
fn user_index_key(session: &LoginSession) -> (String, i64, String) {
    (
        session.user_id.to_string(),
        session.created_at.as_millis(),
        session.digest.as_str().to_owned(),
    )
}

#[async_trait]
impl SessionStore for EmbeddedStore {
    /// The session and its entry in the user's index, in one transaction.
    async fn put_session(&self, session: &LoginSession) -> StoreResult<()> {
        let bytes = encode(session)?;
        let (digest, (user, at, id)) =
            (session.digest.as_str().to_owned(), user_index_key(session));
        self.write(move |txn| {
            txn.open_table(SESSIONS)
                .map_err(backend)?
                .insert(digest.as_str(), bytes.as_slice())
                .map_err(backend)?;
            txn.open_table(SESSIONS_BY_USER)
                .map_err(backend)?
                .insert((user.as_str(), at, id.as_str()), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_session(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<LoginSession>> {
        let session: Option<LoginSession> =
            self.get_json(SESSIONS, digest.as_str().to_owned()).await?;
        Ok(session.filter(|session| !session.expires_at.has_passed(now)))
    }

    /// The session and its index entry, in one transaction.
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        let digest = digest.as_str().to_owned();
        self.write(move |txn| {
            let removed = txn
                .open_table(SESSIONS)
                .map_err(backend)?
                .remove(digest.as_str())
                .map_err(backend)?
                .map(|bytes| decode::<LoginSession>(bytes.value()))
                .transpose()?;
            if let Some(session) = removed {
                let (user, at, id) = user_index_key(&session);
                txn.open_table(SESSIONS_BY_USER)
                    .map_err(backend)?
                    .remove((user.as_str(), at, id.as_str()))
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    /// A range of the user's index, newest first.
    async fn list_user_sessions(
        &self,
        user: &UserId,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<LoginSession>> {
        let user = user.to_string();
        self.read(move |txn| {
            let index = txn.open_table(SESSIONS_BY_USER).map_err(backend)?;
            let low = (user.as_str(), i64::MIN, "");
            let high = (user.as_str(), i64::MAX, "");
            let mut sessions = Vec::new();
            for entry in index.range(low..high).map_err(backend)?.rev() {
                let session: LoginSession = decode(entry.map_err(backend)?.1.value())?;
                if !session.expires_at.has_passed(now) {
                    sessions.push(session);
                }
                if sessions.len() >= limit {
                    break;
                }
            }
            Ok(sessions)
        })
        .await
    }
}

#[async_trait]
impl CodeStore for EmbeddedStore {
    async fn put_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.insert_new_json(CODES, code.digest.as_str().to_owned(), code)
            .await
    }

    async fn get_code(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let code: Option<AuthorizationCode> =
            self.get_json(CODES, digest.as_str().to_owned()).await?;
        Ok(code.filter(|code| !code.expires_at.has_passed(now)))
    }

    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        now: Timestamp,
        refresh: Option<&NewRefreshFamily>,
    ) -> StoreResult<CodeRedemption> {
        let expected = code.clone();
        let refresh = refresh.cloned();
        self.write(move |txn| {
            let key = expected.digest.as_str();
            let stored: Option<AuthorizationCode> =
                get_decoded(&txn.open_table(CODES).map_err(backend)?, key)?;
            let backing = backing_in(txn, &expected.user_id, &expected.client_id)?;
            let check = check_redemption(stored, &expected, backing.backing(), now);
            let mut code = match check {
                RedemptionCheck::Proceed(code) => code,
                RedemptionCheck::Refuse(outcome) => return Ok(outcome),
            };
            code.redeemed_at = Some(now);
            code.family_id = refresh.as_ref().map(|new| new.family.id.clone());
            txn.open_table(CODES)
                .map_err(backend)?
                .insert(key, encode(&code)?.as_slice())
                .map_err(backend)?;
            if let Some(new) = &refresh {
                insert_family(txn, new)?;
            }
            if let Some(grant) = backing.grant {
                touch_grant(txn, grant, now)?;
            }
            Ok(CodeRedemption::Redeemed(code))
        })
        .await
    }
}

/// Both inserts must be new: a collision aborts the whole transaction.
fn insert_family(txn: &WriteTransaction, new: &NewRefreshFamily) -> StoreResult<()> {
    insert_new(
        &mut txn.open_table(REFRESH_FAMILIES).map_err(backend)?,
        new.family.id.as_str(),
        &encode(&new.family)?,
    )?;
    insert_new(
        &mut txn.open_table(REFRESH_TOKENS).map_err(backend)?,
        new.token.digest.as_str(),
        &encode(&new.token)?,
    )
}

fn family_in(txn: &WriteTransaction, id: &FamilyId) -> StoreResult<Option<RefreshFamily>> {
    get_decoded(
        &txn.open_table(REFRESH_FAMILIES).map_err(backend)?,
        id.as_str(),
    )
}

/// Marks the family revoked and records it; false if it was already revoked.
fn revoke_family_in(
    txn: &WriteTransaction,
    mut family: RefreshFamily,
    stamp: &RevocationStamp,
) -> StoreResult<bool> {
    if family.revoked_at.is_some() {
        return Ok(false);
    }
    family.revoked_at = Some(stamp.at);
    txn.open_table(REFRESH_FAMILIES)
        .map_err(backend)?
        .insert(family.id.as_str(), encode(&family)?.as_slice())
        .map_err(backend)?;
    insert_revocation(txn, &stamp.revoke(RevocationTarget::Family(family.id)))?;
    Ok(true)
}

#[async_trait]
impl RefreshStore for EmbeddedStore {
    async fn put_refresh_family(&self, new: &NewRefreshFamily) -> StoreResult<()> {
        let new = new.clone();
        self.write(move |txn| insert_family(txn, &new)).await
    }

    async fn get_refresh(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshToken>> {
        let token: Option<RefreshToken> = self
            .get_json(REFRESH_TOKENS, digest.as_str().to_owned())
            .await?;
        Ok(token.filter(|token| !token.expires_at.has_passed(now)))
    }

    async fn get_refresh_family(
        &self,
        id: &FamilyId,
        now: Timestamp,
    ) -> StoreResult<Option<RefreshFamily>> {
        let family: Option<RefreshFamily> = self.get_json(REFRESH_FAMILIES, id.to_string()).await?;
        Ok(family.filter(|family| !family.expires_at.has_passed(now)))
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenDigest,
        next: &RefreshToken,
        stamp: &RevocationStamp,
    ) -> StoreResult<Rotation> {
        let (presented, next, stamp) = (presented.as_str().to_owned(), next.clone(), stamp.clone());
        self.write(move |txn| {
            let token: Option<RefreshToken> = get_decoded(
                &txn.open_table(REFRESH_TOKENS).map_err(backend)?,
                &presented,
            )?;
            let family = family_in(txn, &next.family_id)?;
            let backing = backing_in(txn, &next.user_id, &next.client_id)?;
            let mut token = match check_rotation(token, family, backing.backing(), &next, stamp.at)
            {
                RotationCheck::Proceed(token) => token,
                RotationCheck::Reuse(family) => {
                    let family_id = family.id.clone();
                    revoke_family_in(txn, family, &stamp)?;
                    return Ok(Rotation::ReuseDetected { family_id });
                }
                RotationCheck::Refuse(outcome) => return Ok(outcome),
            };
            token.rotated_at = Some(stamp.at);
            let mut tokens = txn.open_table(REFRESH_TOKENS).map_err(backend)?;
            tokens
                .insert(presented.as_str(), encode(&token)?.as_slice())
                .map_err(backend)?;
            insert_new(&mut tokens, next.digest.as_str(), &encode(&next)?)?;
            drop(tokens);
            if let Some(grant) = backing.grant {
                touch_grant(txn, grant, stamp.at)?;
            }
            Ok(Rotation::Rotated)
        })
        .await
    }

    async fn revoke_family(
        &self,
        family_id: &FamilyId,
        stamp: &RevocationStamp,
    ) -> StoreResult<bool> {
        let (family_id, stamp) = (family_id.clone(), stamp.clone());
        self.write(move |txn| match family_in(txn, &family_id)? {
            Some(family) => revoke_family_in(txn, family, &stamp),
            None => Ok(false),
        })
        .await
    }
}
