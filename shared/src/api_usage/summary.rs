//! One app's API usage from access-log records: calls, answers by class, throttled calls and
//! latency percentiles, per route or per UTC day. The same figures as the saved Logs Insights
//! queries (`api-usage-by-client`, `client-daily-usage`), computed from the records
//! themselves so they hold wherever the records come from.

use super::access_log::AccessRecord;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Route,
    /// UTC day of the request, `YYYY-MM-DD`.
    Day,
}

/// Calls of one group. `errors` counts 4xx and 5xx answers, throttled (429) included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct UsageRow {
    pub key: String,
    pub calls: u64,
    pub ok: u64,
    pub errors: u64,
    pub client_errors: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    pub rows: Vec<UsageRow>,
    pub total: UsageRow,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], percent: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let count = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
    let rank = (percent * count).div_ceil(100).max(1);
    sorted
        .get(usize::try_from(rank - 1).unwrap_or(usize::MAX))
        .copied()
}

#[derive(Default)]
struct Tally {
    row: UsageRow,
    latencies: Vec<u64>,
}

impl Tally {
    fn add(&mut self, record: &AccessRecord) {
        let row = &mut self.row;
        row.calls += 1;
        match record.status {
            429 => {
                row.throttled += 1;
                row.client_errors += 1;
            }
            400..=499 => row.client_errors += 1,
            500..=599 => row.server_errors += 1,
            _ => row.ok += 1,
        }
        row.errors = row.client_errors + row.server_errors;
        if let Some(ms) = record.latency_ms {
            self.latencies.push(ms);
        }
    }

    fn finish(mut self, key: String) -> UsageRow {
        self.latencies.sort_unstable();
        UsageRow {
            key,
            p50_ms: percentile(&self.latencies, 50),
            p99_ms: percentile(&self.latencies, 99),
            ..self.row
        }
    }
}

fn day_of(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .map(|at| at.date().to_string())
        .unwrap_or_else(|_| "invalid-time".into())
}

/// The records' usage, grouped; rows sorted by key.
pub fn summarise<'a>(
    records: impl IntoIterator<Item = &'a AccessRecord>,
    group_by: GroupBy,
) -> UsageSummary {
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for record in records {
        let key = match group_by {
            GroupBy::Route => record.route.clone().unwrap_or_else(|| "(no route)".into()),
            GroupBy::Day => day_of(record.request_time_ms),
        };
        groups.entry(key).or_default().add(record);
        total.add(record);
    }
    UsageSummary {
        rows: groups
            .into_iter()
            .map(|(key, tally)| tally.finish(key))
            .collect(),
        total: total.finish("total".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(route: &str, status: u16, latency: u64, at_ms: i64) -> AccessRecord {
        AccessRecord {
            route: Some(route.into()),
            status,
            latency_ms: Some(latency),
            request_time_ms: at_ms,
            client_id: Some("web-app".into()),
            ..AccessRecord::default()
        }
    }

    #[test]
    fn usage_is_counted_per_route_with_percentiles() {
        let mut records: Vec<AccessRecord> = (1..=100)
            .map(|ms| call("GET /orders", 200, ms, 0))
            .collect();
        records.push(call("POST /orders", 403, 4, 0));
        records.push(call("POST /orders", 429, 1, 0));
        records.push(call("POST /orders", 503, 30, 0));
        let summary = summarise(&records, GroupBy::Route);
        let orders = &summary.rows[0];
        assert_eq!(orders.key, "GET /orders");
        assert_eq!((orders.calls, orders.ok, orders.errors), (100, 100, 0));
        assert_eq!((orders.p50_ms, orders.p99_ms), (Some(50), Some(99)));
        let post = &summary.rows[1];
        assert_eq!(
            (
                post.calls,
                post.client_errors,
                post.throttled,
                post.server_errors,
                post.errors
            ),
            (3, 2, 1, 1, 3)
        );
        assert_eq!((post.p50_ms, post.p99_ms), (Some(4), Some(30)));
        assert_eq!((summary.total.calls, summary.total.errors), (103, 3));
    }

    #[test]
    fn usage_is_counted_per_utc_day() {
        let day = 86_400_000;
        let records = [
            call("GET /orders", 200, 1, 1_800_000_000_000),
            call("GET /orders", 200, 1, 1_800_000_000_000 + day),
            call("GET /orders", 500, 1, 1_800_000_000_000 + day),
        ];
        let summary = summarise(&records, GroupBy::Day);
        let days: Vec<(&str, u64)> = summary
            .rows
            .iter()
            .map(|row| (row.key.as_str(), row.calls))
            .collect();
        assert_eq!(days, [("2027-01-15", 1), ("2027-01-16", 2)]);
        assert_eq!(summary.rows[1].server_errors, 1);
    }

    #[test]
    fn no_records_no_percentiles() {
        let summary = summarise(&[], GroupBy::Route);
        assert!(summary.rows.is_empty());
        assert_eq!(summary.total.calls, 0);
        assert_eq!(summary.total.p99_ms, None);
    }
}
