//! Times as the operator reads and types them (issue #17): RFC 3339 in the machine's local
//! offset (`Z` where that is UTC), and a bare date (`2026-12-02`) from its local midnight.
//! The offset is read once, at the very start of `main` while the process has one thread:
//! the `time` crate refuses to read it later (the C library's time zone is not thread-safe).

use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};
use xecure::domain::Timestamp;

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local offset (UTC when it cannot be known); call before any thread starts.
pub fn capture_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

fn offset() -> UtcOffset {
    LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC)
}

/// `at` in RFC 3339, in the local offset.
pub fn rfc3339(at: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000)
        .ok()
        .map(|t| t.to_offset(offset()))
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.as_millis().to_string())
}

/// The start of `date` here.
pub fn local_midnight(date: Date) -> Timestamp {
    Timestamp::from_secs(date.midnight().assume_offset(offset()).unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_captured_offset() {
        // Unit tests run threaded, so the offset is never captured here: UTC.
        let at = Timestamp::from_secs(1_800_000_000);
        assert_eq!(rfc3339(at), "2027-01-15T08:00:00Z");
        let date = Date::from_calendar_date(2027, time::Month::January, 15).unwrap();
        assert_eq!(
            local_midnight(date),
            Timestamp::from_secs(1_800_000_000 - 8 * 3600)
        );
    }
}
