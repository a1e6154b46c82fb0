use crate::output::say;
use crate::target::Target;
use clap::{Args, ValueEnum};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use xecure::audit::cloudwatch::{read_audit_log, LogGroupQuery, LOG_GROUP_VARIABLE};
use xecure::domain::{
    AuditEvent, AuditEventKind, AuditQuery, AuditSubject, ClientId, PageCursor, Timestamp, Username,
};

#[derive(Args)]
pub struct AuditArgs {
    /// Events of this user (their username); without --user or --client, every event.
    #[arg(long, conflicts_with = "client")]
    user: Option<String>,
    /// Events of this client.
    #[arg(long)]
    client: Option<String>,
    /// Only login attempts on this account's username (a name that names no account is not
    /// recorded: it may be a password typed in the wrong field).
    #[arg(long, conflicts_with_all = ["user", "client"])]
    login_name: Option<String>,
    /// Only this kind of event, e.g. login_failed, token_issued, refresh_reuse_detected.
    #[arg(long)]
    event: Option<String>,
    /// Start of the range: a duration back from now (30m, 24h, 7d), a date (2026-12-02,
    /// from its local midnight) or an RFC 3339 time.
    #[arg(long, default_value = "24h")]
    since: String,
    /// End of the range (same forms); default now.
    #[arg(long)]
    until: Option<String>,
    /// Most events to print.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Where to read: the table's audit records, or the audit log group in CloudWatch Logs.
    #[arg(long, value_enum, default_value_t = Source::Dynamodb)]
    source: Source,
    /// The audit log group, with --source cloudwatch (the stack's AuditLogGroup output).
    #[arg(long, env = LOG_GROUP_VARIABLE)]
    log_group: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    Dynamodb,
    Cloudwatch,
}

/// `30m`, `24h`, `7d`, `90s` back from `now`, a date (`2026-12-02`: its local start), or an
/// RFC 3339 instant.
pub(crate) fn instant(raw: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Some(date) = date(raw) {
        return Ok(crate::local_time::local_midnight(date));
    }
    let units = [('s', 1_i64), ('m', 60), ('h', 3600), ('d', 86_400)];
    for (suffix, seconds) in units {
        if let Some(count) = raw.strip_suffix(suffix).and_then(|n| n.parse::<i64>().ok()) {
            return Ok(Timestamp::from_millis(
                now.as_millis() - count.saturating_mul(seconds * 1000),
            ));
        }
    }
    let parsed = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
        format!(
            "'{raw}' is neither a duration like 24h, a date like 2026-12-02 nor an RFC 3339 time"
        )
    })?;
    let millis = parsed.unix_timestamp_nanos() / 1_000_000;
    Ok(Timestamp::from_millis(
        i64::try_from(millis).unwrap_or(i64::MAX),
    ))
}

/// `2026-12-02` as a calendar date (None if it is not one).
fn date(raw: &str) -> Option<time::Date> {
    let mut parts = raw.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

pub(crate) use crate::local_time::rfc3339;

fn kind_name(kind: AuditEventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn print_row(event: &AuditEvent) {
    say!(
        "{:<29}  {:<22}  {:<7}  {:<34}  {:<16}  {:<15}  {}",
        rfc3339(event.at),
        kind_name(event.kind),
        format!("{:?}", event.outcome).to_lowercase(),
        event.user_id.as_ref().map(|u| u.as_str()).unwrap_or("-"),
        event.client_id.as_ref().map(|c| c.as_str()).unwrap_or("-"),
        event.source_ip.as_deref().unwrap_or("-"),
        notes(event),
    );
}

/// The reason, the username a login tried, a usage-plan change and the operator who made a
/// change.
fn notes(event: &AuditEvent) -> String {
    let mut notes: Vec<String> = event.reason.iter().cloned().collect();
    if event.user_id.is_none() {
        if let Some(name) = event.detail.get("username") {
            notes.push(format!("username={name}"));
        }
    }
    if let Some(plan) = event.detail.get("usage_plan") {
        notes.push(format!("usage_plan={plan}"));
    }
    if let Some(operator) = event.detail.get("operator") {
        notes.push(format!("by {operator}"));
    }
    notes.join("  ")
}

/// What was asked for, parsed.
struct Request {
    subject: AuditSubject,
    kind: Option<AuditEventKind>,
    login_name: Option<Username>,
    from: Timestamp,
    to: Timestamp,
}

impl Request {
    fn wants(&self, event: &AuditEvent) -> bool {
        let kind = self.kind.is_none_or(|k| event.kind == k);
        let login = self.login_name.as_ref().is_none_or(|name| {
            matches!(
                event.kind,
                AuditEventKind::LoginFailed
                    | AuditEventKind::LoginLocked
                    | AuditEventKind::LoginSucceeded
            ) && event.detail.get("username").map(String::as_str) == Some(name.as_str())
        });
        kind && login
    }
}

async fn request(args: &AuditArgs, target: &Target, now: Timestamp) -> Result<Request, String> {
    let subject = match (&args.user, &args.client) {
        (Some(name), _) => AuditSubject::User(target.existing_user(name).await?.id),
        (None, Some(client)) => {
            AuditSubject::Client(ClientId::parse(client).map_err(|e| e.to_string())?)
        }
        (None, None) => AuditSubject::All,
    };
    let login_name = match &args.login_name {
        Some(name) => Some(Username::parse(name).map_err(|e| e.to_string())?),
        None => None,
    };
    let kind = match &args.event {
        Some(name) => Some(
            serde_json::from_value::<AuditEventKind>(serde_json::Value::from(name.as_str()))
                .map_err(|_| format!("unknown event kind '{name}'"))?,
        ),
        None => None,
    };
    let from = instant(&args.since, now)?;
    let to = match &args.until {
        Some(raw) => instant(raw, now)?,
        None => now.plus(std::time::Duration::from_secs(1)),
    };
    Ok(Request {
        subject,
        kind,
        login_name,
        from,
        to,
    })
}

pub async fn run(args: AuditArgs, target: &Target) -> Result<(), String> {
    let now = target.clock.now();
    let request = request(&args, target, now).await?;
    let events = match args.source {
        Source::Dynamodb => from_table(&request, args.limit, target, now).await?,
        Source::Cloudwatch => from_log_group(&request, &args, target).await?,
    };
    if !args.json {
        say!(
            "{:<29}  {:<22}  {:<7}  {:<34}  {:<16}  {:<15}  notes",
            "time",
            "event",
            "outcome",
            "user",
            "client",
            "source"
        );
    }
    for event in &events {
        if args.json {
            say!(
                "{}",
                serde_json::to_string(event).map_err(|e| e.to_string())?
            );
        } else {
            print_row(event);
        }
    }
    Ok(())
}

/// The table's records, page by page (newest first) until `limit` match.
async fn from_table(
    request: &Request,
    limit: usize,
    target: &Target,
    now: Timestamp,
) -> Result<Vec<AuditEvent>, String> {
    let mut found = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    while found.len() < limit {
        let query = AuditQuery {
            subject: request.subject.clone(),
            from: request.from,
            to: request.to,
            limit: AuditQuery::MAX_LIMIT.min(limit.max(1)),
            cursor: cursor.take(),
        };
        let page = target
            .store
            .query_audit(&query, now)
            .await
            .map_err(|e| e.to_string())?;
        let wanted = page.events.into_iter().filter(|e| request.wants(e));
        found.extend(wanted.take(limit - found.len()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(found)
}

async fn from_log_group(
    request: &Request,
    args: &AuditArgs,
    target: &Target,
) -> Result<Vec<AuditEvent>, String> {
    let aws = target.aws.as_ref().ok_or(
        "--source cloudwatch reads a deployment: give --dynamodb-table (the user lookup needs it)",
    )?;
    let group = args
        .log_group
        .as_deref()
        .ok_or_else(|| format!("--source cloudwatch needs --log-group or {LOG_GROUP_VARIABLE}"))?;
    let query = LogGroupQuery {
        subject: Some(request.subject.clone()),
        kind: request.kind,
        from: request.from,
        to: request.to,
        limit: args.limit,
    };
    let mut events = read_audit_log(aws, group, &query).await?;
    events.retain(|e| request.wants(e));
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_durations_or_rfc3339() {
        let now = Timestamp::from_secs(1_800_000_000);
        assert_eq!(
            instant("24h", now).unwrap(),
            Timestamp::from_secs(1_800_000_000 - 86_400)
        );
        assert_eq!(
            instant("30m", now).unwrap(),
            Timestamp::from_secs(1_800_000_000 - 1800)
        );
        assert_eq!(
            instant("2027-01-15T08:00:00Z", now).unwrap(),
            Timestamp::from_secs(1_800_000_000)
        );
        assert_eq!(
            instant("2027-01-15", now).unwrap(),
            Timestamp::from_secs(1_800_000_000 - 8 * 3600)
        );
        assert!(instant("yesterday", now).is_err());
        assert!(instant("2027-02-30", now).is_err());
        assert_eq!(
            rfc3339(Timestamp::from_secs(1_800_000_000)),
            "2027-01-15T08:00:00Z"
        );
    }
}
