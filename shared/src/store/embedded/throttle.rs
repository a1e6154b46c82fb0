//! Login attempt counters in the embedded store: each port method is one serialisable redb
//! write transaction, so a reservation on all keys is atomic and all-or-nothing (rule 17).

use super::{backend, encode, get_decoded, EmbeddedStore, LOGIN_THROTTLES};
use crate::domain::{Admission, LoginPolicy, LoginThrottle, Reservation, ThrottleKey, Timestamp};
use crate::ports::{AttemptSettled, LoginAdmission, LoginThrottleStore, StoreResult};
use async_trait::async_trait;
use redb::WriteTransaction;

type Table<'t> = redb::Table<'t, &'static str, &'static [u8]>;

fn put(table: &mut Table<'_>, record: &LoginThrottle) -> StoreResult<()> {
    table
        .insert(record.key.as_str(), encode(record)?.as_slice())
        .map_err(backend)?;
    Ok(())
}

/// Applies `change` to each reserved key's current record, writing what it returns.
fn each_reserved<T>(
    txn: &WriteTransaction,
    reserved: &[Reservation],
    mut change: impl FnMut(&LoginThrottle, &Reservation) -> Option<(LoginThrottle, T)>,
) -> StoreResult<Vec<T>> {
    let mut table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
    let mut changed = Vec::new();
    for reservation in reserved {
        let current: Option<LoginThrottle> = get_decoded(&table, &reservation.key.as_key())?;
        if let Some((next, outcome)) = current.and_then(|c| change(&c, reservation)) {
            put(&mut table, &next)?;
            changed.push(outcome);
        }
    }
    Ok(changed)
}

#[async_trait]
impl LoginThrottleStore for EmbeddedStore {
    async fn reserve_login_attempt(
        &self,
        keys: &[ThrottleKey],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<LoginAdmission> {
        let (keys, policy) = (keys.to_vec(), policy.clone());
        self.write(move |txn| {
            let mut table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
            let mut granted = Vec::with_capacity(keys.len());
            for key in &keys {
                let previous: Option<LoginThrottle> = get_decoded(&table, &key.as_key())?;
                match LoginThrottle::reserve(previous.as_ref(), key, &policy, now) {
                    Admission::Granted(record) => granted.push((key, record)),
                    // Nothing written yet: all or none.
                    Admission::Refused(until) => {
                        return Ok(LoginAdmission::Refused {
                            key: key.clone(),
                            until,
                        })
                    }
                }
            }
            let mut reservations = Vec::with_capacity(granted.len());
            for (key, record) in granted {
                put(&mut table, &record)?;
                reservations.push(record.reservation(key));
            }
            Ok(LoginAdmission::Granted(reservations))
        })
        .await
    }

    async fn login_attempt_failed(
        &self,
        reserved: &[Reservation],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<Vec<(ThrottleKey, Timestamp)>> {
        let (reserved, policy) = (reserved.to_vec(), policy.clone());
        self.write(move |txn| {
            each_reserved(txn, &reserved, |current, reservation| {
                let locked = current.lock_after_failure(reservation, &policy, now)?;
                let until = locked.locked_until?;
                Some((locked, (reservation.key.clone(), until)))
            })
        })
        .await
    }

    async fn settle_login_attempt(
        &self,
        reserved: &[Reservation],
        settled: AttemptSettled,
    ) -> StoreResult<()> {
        let reserved = reserved.to_vec();
        self.write(move |txn| {
            if settled == AttemptSettled::LoggedIn {
                let mut table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
                for reservation in reserved.iter().filter(|r| r.key.forgotten_on_login()) {
                    table
                        .remove(reservation.key.as_key().as_str())
                        .map_err(backend)?;
                }
            }
            // What was just forgotten is gone; the rest get their attempt back.
            each_reserved(txn, &reserved, |current, reservation| {
                current.refund(reservation).map(|refunded| (refunded, ()))
            })
            .map(|_| ())
        })
        .await
    }

    async fn login_throttles(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
    ) -> StoreResult<Vec<LoginThrottle>> {
        let keys: Vec<String> = keys.iter().map(ThrottleKey::as_key).collect();
        self.read(move |txn| {
            let table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
            let mut found = Vec::new();
            for key in &keys {
                let record: Option<LoginThrottle> = get_decoded(&table, key)?;
                found.extend(record.filter(|r| !r.expires_at.has_passed(now)));
            }
            Ok(found)
        })
        .await
    }

    async fn forget_login_attempts(&self, keys: &[ThrottleKey]) -> StoreResult<usize> {
        let keys: Vec<String> = keys.iter().map(ThrottleKey::as_key).collect();
        self.write(move |txn| {
            let mut table = txn.open_table(LOGIN_THROTTLES).map_err(backend)?;
            let mut forgotten = 0;
            for key in &keys {
                forgotten += usize::from(table.remove(key.as_str()).map_err(backend)?.is_some());
            }
            Ok(forgotten)
        })
        .await
    }
}
