use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Milliseconds since the Unix epoch, UTC. Audit ordering needs sub-second resolution; JWT
/// claims and DynamoDB TTL use [`Timestamp::as_secs`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds, rounded down (the unit of JWT NumericDate and of DynamoDB TTL).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    pub fn minus(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(millis))
    }

    /// True once `now` has reached this instant: an item expiring at `t` is gone at `t`.
    pub fn has_passed(self, now: Timestamp) -> bool {
        now >= self
    }

    /// Fixed-width, sortable text form used inside store sort keys (13 digits covers years
    /// 2001 to 2286, and negative times never occur for stored items).
    pub fn sort_key(self) -> String {
        format!("{:013}", self.0.max(0))
    }
}

impl Timestamp {
    fn utc(self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::from_unix_timestamp(self.as_secs()).ok()
    }

    /// RFC 3339 in UTC to the second (`2025-05-01T14:03:09Z`), for JSON answers.
    pub fn rfc3339(self) -> String {
        self.utc()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }

    /// The UTC day, `2025-05-01` (audit records are partitioned by it).
    pub fn utc_day(self) -> String {
        self.utc()
            .map(|t| format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_else(|| "1970-01-01".to_owned())
    }

    /// The start of the UTC day before this instant's (walking a range back day by day).
    pub fn start_of_previous_utc_day(self) -> Timestamp {
        let day = self.as_millis().div_euclid(86_400_000);
        Timestamp::from_millis((day - 1) * 86_400_000)
    }

    /// `2025-05-01 14:03 UTC`, for pages people read.
    pub fn human_utc(self) -> String {
        self.utc()
            .map(|t| {
                format!(
                    "{}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_are_utc() {
        let at = Timestamp::from_millis(1_746_108_189_500);
        assert_eq!(at.rfc3339(), "2025-05-01T14:03:09Z");
        assert_eq!(at.human_utc(), "2025-05-01 14:03 UTC");
    }

    #[test]
    fn sort_keys_order_like_times() {
        let early = Timestamp::from_millis(999);
        let late = Timestamp::from_secs(1_800_000_000);
        assert!(early.sort_key() < late.sort_key());
        assert_eq!(late.sort_key().len(), early.sort_key().len());
    }

    #[test]
    fn expiry_is_inclusive_of_the_instant() {
        let t = Timestamp::from_secs(10);
        assert!(!t.has_passed(Timestamp::from_millis(9_999)));
        assert!(t.has_passed(Timestamp::from_secs(10)));
    }
}
