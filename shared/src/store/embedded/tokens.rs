//! Sessions, authorization codes and refresh tokens in the embedded store.

use super::{
    account_in, backend, client_in, encode, get_decoded, grant_in, insert_new, insert_revocation,
    touch_grant, EmbeddedStore, CODES, REFRESH_FAMILIES, REFRESH_TOKENS, SESSIONS,
};
use crate::domain::{
    AuthorizationCode, FamilyId, LoginSession, RefreshFamily, RefreshToken, RevocationStamp,
    RevocationTarget, Timestamp, TokenDigest,
};
use crate::ports::{
    CodeRedemption, CodeStore, NewRefreshFamily, RefreshStore, Rotation, SessionStore, StoreResult,
};
use crate::store::rules::{
    check_redemption, check_rotation, Backing, RedemptionCheck, RotationCheck,
};
use async_trait::async_trait;
use redb::WriteTransaction;

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn put_session(&self, session: &LoginSession) -> StoreResult<()> {
        self.put_json(SESSIONS, session.digest.as_str().to_owned(), session)
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

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        self.remove(SESSIONS, digest.as_str().to_owned())
            .await
            .map(|_| ())
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
            let grant = grant_in(txn, &expected.user_id, &expected.client_id)?;
            let account = account_in(txn, &expected.user_id)?;
            let client = client_in(txn, &expected.client_id)?;
            let backing = Backing {
                grant: grant.as_ref(),
                account: account.as_ref(),
                client: client.as_ref(),
            };
            let check = check_redemption(stored, &expected, backing, now);
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
            if let Some(grant) = grant {
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
            let grant = grant_in(txn, &next.user_id, &next.client_id)?;
            let account = account_in(txn, &next.user_id)?;
            let client = client_in(txn, &next.client_id)?;
            let backing = Backing {
                grant: grant.as_ref(),
                account: account.as_ref(),
                client: client.as_ref(),
            };
            let mut token = match check_rotation(token, family, backing, &next, stamp.at) {
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
            if let Some(grant) = grant {
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
