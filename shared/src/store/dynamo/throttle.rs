//! Login attempt counters in DynamoDB (security rules 13 and 17). A reservation is one
//! UpdateItem that adds 1 to the window's attempts only while the window is open, unlocked and
//! below its limit: DynamoDB applies it atomically, so parallel attempts never both take the
//! last one and no write loses a race (no read-modify-write, no retries running out under a
//! burst). Only when that condition fails is the item read, to refuse or to open a new
//! window with a write conditional on what was read (`LoginThrottle::reserve` decides, the
//! rule the embedded store applies in one transaction).

use super::accounts::item_is_new;
use super::expr::Expr;
use super::items::{from_item, key_attributes, login_throttle_item, Item};
use super::{n, unavailable, DynamoStore};
use crate::domain::{Admission, LoginPolicy, LoginThrottle, Reservation, ThrottleKey, Timestamp};
use crate::ports::{AttemptSettled, LoginAdmission, LoginThrottleStore, StoreError, StoreResult};
use crate::store::keys::{self, ItemKey, PK, TTL};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

/// Rounds of add-then-read for one key. A round fails only when the window changed between
/// the add and the read (a new window opened, a lockout started), which happens once per
/// window, so two rounds settle it; the spare ones absorb clock skew between containers.
const RESERVE_ROUNDS: usize = 4;

fn millis(at: Timestamp) -> aws_sdk_dynamodb::types::AttributeValue {
    n(at.as_millis())
}

/// The names every throttle expression uses.
fn throttle_expr(update: &str, condition: &str) -> Expr {
    Expr::update(update)
        .and_condition(condition)
        .name("#attempts", "attempts")
        .name("#window_started", "window_started")
}

impl DynamoStore {
    /// One UpdateItem: the item as written if the condition held, None if it did not.
    async fn update_if(&self, key: &ItemKey, expr: Expr) -> StoreResult<Option<Item>> {
        let expr = expr.checked()?;
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names_or_none())
            .set_expression_attribute_values(expr.values_or_none())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(output) => Ok(Some(output.attributes.unwrap_or_default())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    /// Reserves one attempt on one key: the reservation, or the time it is refused until.
    async fn reserve_one(
        &self,
        key: &ThrottleKey,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<Result<Reservation, Timestamp>> {
        let item_key = keys::login_throttle(&key.as_key());
        let expires_at = now.plus(policy.memory);
        for _ in 0..RESERVE_ROUNDS {
            let add = throttle_expr(
                "SET #expires_at = :expires, #ttl = :ttl ADD #attempts :one",
                "attribute_exists(#pk) AND #expires_at > :now AND #window_started > :floor \
                 AND #attempts < :limit \
                 AND (attribute_not_exists(#locked_until) OR #locked_until <= :now)",
            )
            .name("#pk", PK)
            .name("#expires_at", "expires_at")
            .name("#ttl", TTL)
            .name("#locked_until", "locked_until")
            .value(":expires", millis(expires_at))
            .value(":ttl", n(expires_at.as_secs()))
            .value(":one", n(1))
            .value(":now", millis(now))
            .value(":floor", millis(now.minus(policy.window)))
            .value(":limit", n(i64::from(policy.limit_for(key))));
            if let Some(item) = self.update_if(&item_key, add).await? {
                let record: LoginThrottle = from_item(item)?;
                return Ok(Ok(record.reservation(key)));
            }
            let previous: Option<LoginThrottle> =
                self.get(&item_key).await?.map(from_item).transpose()?;
            let record = match LoginThrottle::reserve(previous.as_ref(), key, policy, now) {
                Admission::Refused(until) => return Ok(Err(until)),
                Admission::Granted(record) => record,
            };
            // A new window (or a record to renew): written only over exactly what was read.
            let condition = match &previous {
                None => item_is_new(),
                Some(previous) => Expr::condition(
                    "#window_started = :window AND (attribute_not_exists(#attempts) OR #attempts = :attempts)",
                )
                .name("#window_started", "window_started")
                .name("#attempts", "attempts")
                .value(":window", millis(previous.window_started))
                .value(":attempts", n(i64::from(previous.attempts))),
            };
            if self
                .put(login_throttle_item(&record)?, Some(condition))
                .await?
            {
                return Ok(Ok(record.reservation(key)));
            }
        }
        Err(StoreError::Unavailable(format!(
            "login counter {} kept changing while being reserved",
            key.as_key()
        )))
    }

    /// Gives a reserved attempt back, if its window is still current.
    async fn refund(&self, reserved: &Reservation) -> StoreResult<()> {
        let refund = throttle_expr(
            "ADD #attempts :minus_one",
            "#window_started = :window AND #attempts > :zero",
        )
        .value(":minus_one", n(-1))
        .value(":zero", n(0))
        .value(":window", millis(reserved.window_started));
        self.update_if(&keys::login_throttle(&reserved.key.as_key()), refund)
            .await
            .map(|_| ())
    }

    /// Starts the lockout of `reserved`'s window, if that window is current and at its limit.
    async fn lock(
        &self,
        reserved: &Reservation,
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        let limit = policy.limit_for(&reserved.key);
        // The record the condition below guarantees, locked by the shared rule.
        let at_limit = LoginThrottle {
            key: reserved.key.as_key(),
            attempts: limit,
            window_started: reserved.window_started,
            lockouts: reserved.lockouts,
            locked_until: None,
            expires_at: now,
        };
        let Some(locked) = at_limit.lock_after_failure(reserved, policy, now) else {
            return Ok(None);
        };
        let until = locked.locked_until.unwrap_or(now);
        let lock = throttle_expr(
            "SET #locked_until = :until, #window_started = :until, #attempts = :zero, \
             #lockouts = :lockouts, #expires_at = :expires, #ttl = :ttl",
            "#window_started = :window AND #attempts >= :limit",
        )
        .name("#locked_until", "locked_until")
        .name("#lockouts", "lockouts")
        .name("#expires_at", "expires_at")
        .name("#ttl", TTL)
        .value(":until", millis(until))
        .value(":zero", n(0))
        .value(":lockouts", n(i64::from(locked.lockouts)))
        .value(":expires", millis(locked.expires_at))
        .value(":ttl", n(locked.expires_at.as_secs()))
        .value(":window", millis(reserved.window_started))
        .value(":limit", n(i64::from(limit)));
        let written = self
            .update_if(&keys::login_throttle(&reserved.key.as_key()), lock)
            .await?;
        Ok(written.map(|_| until))
    }
}

#[async_trait]
impl LoginThrottleStore for DynamoStore {
    /// One UpdateItem per key in the common case (a GetItem and a conditional PutItem more
    /// when a window opens), key after key; a refusal gives back what the earlier keys took.
    async fn reserve_login_attempt(
        &self,
        keys: &[ThrottleKey],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<LoginAdmission> {
        let mut reserved = Vec::with_capacity(keys.len());
        for key in keys {
            match self.reserve_one(key, policy, now).await {
                Ok(Ok(reservation)) => reserved.push(reservation),
                Ok(Err(until)) => {
                    self.settle_login_attempt(&reserved, AttemptSettled::NotChecked)
                        .await?;
                    return Ok(LoginAdmission::Refused {
                        key: key.clone(),
                        until,
                    });
                }
                Err(error) => {
                    // Best effort: the outage that failed this key may fail the refunds too,
                    // and then those attempts stay counted (the safe side of rule 13).
                    let _ = self
                        .settle_login_attempt(&reserved, AttemptSettled::NotChecked)
                        .await;
                    return Err(error);
                }
            }
        }
        Ok(LoginAdmission::Granted(reserved))
    }

    /// One conditional UpdateItem per key whose last attempt this was; none otherwise.
    async fn login_attempt_failed(
        &self,
        reserved: &[Reservation],
        policy: &LoginPolicy,
        now: Timestamp,
    ) -> StoreResult<Vec<(ThrottleKey, Timestamp)>> {
        let mut started = Vec::new();
        for reservation in reserved
            .iter()
            .filter(|r| LoginThrottle::may_lock(r, policy))
        {
            if let Some(until) = self.lock(reservation, policy, now).await? {
                started.push((reservation.key.clone(), until));
            }
        }
        Ok(started)
    }

    /// One DeleteItem or conditional UpdateItem per key.
    async fn settle_login_attempt(
        &self,
        reserved: &[Reservation],
        settled: AttemptSettled,
    ) -> StoreResult<()> {
        for reservation in reserved {
            if settled == AttemptSettled::LoggedIn && reservation.key.forgotten_on_login() {
                self.delete(&keys::login_throttle(&reservation.key.as_key()))
                    .await?;
            } else {
                self.refund(reservation).await?;
            }
        }
        Ok(())
    }

    /// One GetItem per key.
    async fn login_throttles(
        &self,
        keys: &[ThrottleKey],
        now: Timestamp,
    ) -> StoreResult<Vec<LoginThrottle>> {
        let mut found = Vec::new();
        for key in keys {
            if let Some(item) = self.get(&keys::login_throttle(&key.as_key())).await? {
                let record: LoginThrottle = from_item(item)?;
                if !record.expires_at.has_passed(now) {
                    found.push(record);
                }
            }
        }
        Ok(found)
    }

    /// One DeleteItem per key.
    async fn forget_login_attempts(&self, keys: &[ThrottleKey]) -> StoreResult<usize> {
        let mut forgotten = 0;
        for key in keys {
            forgotten += usize::from(self.delete(&keys::login_throttle(&key.as_key())).await?);
        }
        Ok(forgotten)
    }
}
