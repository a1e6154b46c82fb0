//! `xecure usage --client ID --since 24h`: one app's calls to the protected API, per route or
//! per day, with answers by class, throttled calls and p50/p99 latency, from the access-log
//! records: the API's access-log group in CloudWatch Logs (`--log-group`), or the local
//! gateway's access log in the data directory.

use crate::audit::{instant, rfc3339};
use crate::output::say;
use clap::{Args, ValueEnum};
use std::path::Path;
use xecure::api_usage::access_log::AccessRecord;
use xecure::api_usage::summary::{summarise, GroupBy, UsageRow, UsageSummary};
use xecure::audit::cloudwatch::filter_log_messages;
use xecure::budget::DependencyBudget;
use xecure::config::{aws_sdk_config_within, SdkConfig};
use xecure::domain::{ClientId, Timestamp};
use xecure::ports::{Clock, SystemClock};
use xecure_local::access_log::access_log_path;

/// The environment variable naming the API's access-log group (the AccessLogGroup output).
pub const ACCESS_LOG_GROUP_VARIABLE: &str = "XECURE_ACCESS_LOG_GROUP";

#[derive(Args)]
pub struct UsageArgs {
    /// The app (OAuth client id) whose calls to count.
    #[arg(long)]
    client: String,
    /// Start of the range: a duration back from now (30m, 24h, 7d) or an RFC 3339 time.
    #[arg(long, default_value = "24h")]
    since: String,
    /// End of the range (same forms); default now.
    #[arg(long)]
    until: Option<String>,
    /// One row per route, or per UTC day.
    #[arg(long, value_enum, default_value_t = By::Route)]
    by: By,
    /// The API's access-log group (the stack's AccessLogGroup output). Without it, the local
    /// gateway's access log in the data directory.
    #[arg(long, env = ACCESS_LOG_GROUP_VARIABLE)]
    log_group: Option<String>,
    /// The summary as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum By {
    Route,
    Day,
}

/// The app's records in `[from, to)`: only its own, matched exactly on the parsed record.
fn of_client(
    lines: impl IntoIterator<Item = String>,
    client: &ClientId,
    from: Timestamp,
    to: Timestamp,
) -> Vec<AccessRecord> {
    lines
        .into_iter()
        .filter_map(|line| AccessRecord::parse(&line))
        .filter(|record| {
            record.client_id.as_deref() == Some(client.as_str())
                && record.request_time_ms >= from.as_millis()
                && record.request_time_ms < to.as_millis()
        })
        .collect()
}

async fn records(
    args: &UsageArgs,
    aws: Option<&SdkConfig>,
    data_dir: Option<&Path>,
    client: &ClientId,
    from: Timestamp,
    to: Timestamp,
) -> Result<(Vec<AccessRecord>, String), String> {
    if let Some(group) = &args.log_group {
        let aws = match aws {
            Some(aws) => aws.clone(),
            // An operator waiting (rule 18): the CLI's bounds, not a function's.
            None => aws_sdk_config_within(DependencyBudget::OPERATOR).await,
        };
        // Records are written when the call ends: a call made just before `from` may be
        // logged a little later, so the service is asked from a minute earlier and the
        // request time decides.
        let logged_from = Timestamp::from_millis(from.as_millis() - 60_000);
        let lines =
            filter_log_messages(&aws, group, logged_from, to, Some(client.as_str())).await?;
        return Ok((
            of_client(lines, client, from, to),
            format!("log group {group}"),
        ));
    }
    let dir = data_dir.ok_or_else(|| {
        format!("give --log-group (or {ACCESS_LOG_GROUP_VARIABLE}): the API's access-log group")
    })?;
    let path = access_log_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let lines = text.lines().map(str::to_owned);
    Ok((
        of_client(lines, client, from, to),
        path.display().to_string(),
    ))
}

fn cell(value: Option<u64>) -> String {
    value.map_or_else(|| "-".into(), |ms| ms.to_string())
}

fn print_row(row: &UsageRow) {
    say!(
        "{:<28}  {:>7}  {:>7}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}",
        row.key,
        row.calls,
        row.ok,
        row.client_errors,
        row.throttled,
        row.server_errors,
        cell(row.p50_ms),
        cell(row.p99_ms)
    );
}

fn print_table(summary: &UsageSummary, by: By) {
    let first = if by == By::Route {
        "route"
    } else {
        "day (UTC)"
    };
    say!(
        "{first:<28}  {:>7}  {:>7}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}",
        "calls",
        "2xx-3xx",
        "4xx",
        "429",
        "5xx",
        "p50 ms",
        "p99 ms"
    );
    for row in &summary.rows {
        print_row(row);
    }
    print_row(&summary.total);
}

/// `aws` for the log group (the deployment's configuration, else the environment's);
/// `data_dir` for the local gateway's access log.
pub async fn run(
    args: UsageArgs,
    aws: Option<&SdkConfig>,
    data_dir: Option<&Path>,
) -> Result<(), String> {
    let client = ClientId::parse(&args.client).map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    let from = instant(&args.since, now)?;
    let to = match &args.until {
        Some(raw) => instant(raw, now)?,
        None => now.plus(std::time::Duration::from_secs(1)),
    };
    if from >= to {
        return Err("--since must be before --until".into());
    }
    let (records, source) = records(&args, aws, data_dir, &client, from, to).await?;
    let group_by = match args.by {
        By::Route => GroupBy::Route,
        By::Day => GroupBy::Day,
    };
    let summary = summarise(&records, group_by);
    if args.json {
        let answer = serde_json::json!({
            "client_id": client.as_str(),
            "from": rfc3339(from),
            "to": rfc3339(to),
            "source": source,
            "rows": summary.rows,
            "total": summary.total,
        });
        say!("{answer}");
    } else {
        say!(
            "API usage of {client} from {} to {} ({source})",
            rfc3339(from),
            rfc3339(to)
        );
        print_table(&summary, args.by);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_records_in_range_count() {
        let line = |client: &str, at: i64| {
            format!(
                r#"{{"request_time_ms":{at},"status":200,"client_id":"{client}","route":"GET /orders"}}"#
            )
        };
        let web = ClientId::parse("web-app").unwrap();
        let lines = vec![
            line("web-app", 1_000),
            line("web-app", 2_000),
            line("web-app-2", 1_500),
            line("web-app", 3_000),
            "a line of something else".to_owned(),
        ];
        let found = of_client(
            lines,
            &web,
            Timestamp::from_millis(1_000),
            Timestamp::from_millis(3_000),
        );
        let times: Vec<i64> = found.iter().map(|r| r.request_time_ms).collect();
        assert_eq!(times, [1_000, 2_000]);
    }
}
