//! Usage plans as a REST API enforces them, for the local gateway: the authorizer names the
//! app (`usageIdentifierKey`), the key must be on a plan of the stage (else 403
//! INVALID_API_KEY), and each app has its own token bucket (rate, burst: 429 THROTTLED) and
//! quota per period (429 QUOTA_EXCEEDED). Which app is on which plan is kept in
//! `<data dir>/usage-plan-assignments.json`, written by `xecure usage-plan assign` on a local
//! data directory (in AWS the same command links the app's API key to the plan).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use xecure::api_usage::plans::{usage_identifier_key, QuotaPeriod, UsagePlan, UsagePlans};
use xecure::authorizer::responses::{GatewayResponse, INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED};
use xecure::domain::Timestamp;

/// The local gateway's API id and stage, in its method ARNs and usage-plan keys.
pub const LOCAL_API_ID: &str = "xecure-local";
pub const LOCAL_STAGE: &str = "local";

pub const ASSIGNMENTS_FILE: &str = "usage-plan-assignments.json";

/// Client id to plan name, as stored in the data directory.
pub type Assignments = BTreeMap<String, String>;

pub fn assignments_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ASSIGNMENTS_FILE)
}

/// The stored assignments; none when the file does not exist yet.
pub fn read_assignments(path: &Path) -> Result<Assignments, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a plan assignment file: {e}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Assignments::new()),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// Writes through a temporary file of this process and a rename, so a running gateway never
/// reads half a file.
pub fn write_assignments(path: &Path, assignments: &Assignments) -> Result<(), String> {
    let text = serde_json::to_string_pretty(assignments).map_err(|e| e.to_string())?;
    let partial = path.with_extension(format!("json.{}.partial", std::process::id()));
    std::fs::write(&partial, text + "\n")
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads, changes and writes the assignments as one step: commands run at once inside a
/// `xecure serve` (its CLI endpoint) take turns, so none loses another's change. (Only one
/// process at a time holds a data directory's store, and only its holder writes the file.)
pub fn update_assignments<R>(
    path: &Path,
    change: impl FnOnce(&mut Assignments) -> Result<R, String>,
) -> Result<R, String> {
    static ONE_WRITER: Mutex<()> = Mutex::new(());
    let _turn = ONE_WRITER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut assignments = read_assignments(path)?;
    let outcome = change(&mut assignments)?;
    write_assignments(path, &assignments)?;
    Ok(outcome)
}

/// One app's bucket and quota count.
struct Meter {
    tokens: f64,
    refilled_at: Timestamp,
    period: i64,
    used: u64,
}

/// The period a quota counts in: UTC day, ISO week (from Monday), or calendar month.
fn period_of(period: QuotaPeriod, at: Timestamp) -> i64 {
    let days = at.as_millis().div_euclid(86_400_000);
    match period {
        QuotaPeriod::Day => days,
        // 1970-01-01 was a Thursday: shift so weeks start on Monday.
        QuotaPeriod::Week => (days + 3).div_euclid(7),
        QuotaPeriod::Month => time::OffsetDateTime::from_unix_timestamp(at.as_secs())
            .map(|t| i64::from(t.year()) * 12 + i64::from(u8::from(t.month())))
            .unwrap_or(days),
    }
}

pub struct PerAppLimits {
    plans: UsagePlans,
    assignments_file: PathBuf,
    meters: Mutex<HashMap<String, Meter>>,
}

impl PerAppLimits {
    pub fn new(plans: UsagePlans, assignments_file: PathBuf) -> Self {
        PerAppLimits {
            plans,
            assignments_file,
            meters: Mutex::new(HashMap::new()),
        }
    }

    /// The app's plan, when `usage_key` is the key of an app on one.
    fn plan_for(&self, client_id: &str, usage_key: Option<&str>) -> Option<UsagePlan> {
        let expected = usage_identifier_key(LOCAL_API_ID, LOCAL_STAGE, client_id);
        if usage_key != Some(expected.as_str()) {
            return None;
        }
        // Read on every call: `xecure usage-plan assign` takes effect without a restart.
        let assignments = read_assignments(&self.assignments_file).unwrap_or_else(|error| {
            eprintln!("xecure serve: {error}");
            Assignments::new()
        });
        self.plans.find(assignments.get(client_id)?).cloned()
    }

    /// Counts one call of `client_id`, or the gateway response that refuses it.
    pub fn admit(
        &self,
        client_id: &str,
        usage_key: Option<&str>,
        now: Timestamp,
    ) -> Result<(), GatewayResponse> {
        let plan = self.plan_for(client_id, usage_key).ok_or(INVALID_API_KEY)?;
        let period = period_of(plan.quota_period, now);
        let mut meters = self.meters.lock().unwrap_or_else(|p| p.into_inner());
        let meter = meters.entry(client_id.to_owned()).or_insert(Meter {
            tokens: f64::from(plan.burst_limit),
            refilled_at: now,
            period,
            used: 0,
        });
        let elapsed_ms = (now.as_millis() - meter.refilled_at.as_millis()).max(0);
        #[allow(clippy::cast_precision_loss)] // milliseconds of a dev server's uptime
        let refill = elapsed_ms as f64 / 1000.0 * plan.rate_limit;
        meter.tokens = (meter.tokens + refill).min(f64::from(plan.burst_limit));
        meter.refilled_at = now;
        if meter.period != period {
            meter.period = period;
            meter.used = 0;
        }
        if meter.used >= plan.quota_limit {
            return Err(QUOTA_EXCEEDED);
        }
        if meter.tokens < 1.0 {
            return Err(THROTTLED);
        }
        meter.tokens -= 1.0;
        meter.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(dir: &Path, plan: &str) -> PerAppLimits {
        let plans = UsagePlans::parse(&format!(
            "[[plan]]\nname = \"tiny\"\ndescription = \"t\"\n{plan}\n"
        ))
        .unwrap();
        PerAppLimits::new(plans, assignments_path(dir))
    }

    fn key(client: &str) -> String {
        usage_identifier_key(LOCAL_API_ID, LOCAL_STAGE, client)
    }

    #[test]
    fn an_app_on_no_plan_is_refused_until_assigned() {
        let dir = tempfile::tempdir().unwrap();
        let limits = limits(
            dir.path(),
            "rate_limit = 1.0\nburst_limit = 5\nquota_limit = 100\nquota_period = \"DAY\"",
        );
        let now = Timestamp::from_secs(1_800_000_000);
        assert_eq!(
            limits.admit("web-app", Some(&key("web-app")), now),
            Err(INVALID_API_KEY)
        );
        let path = assignments_path(dir.path());
        write_assignments(
            &path,
            &Assignments::from([("web-app".into(), "tiny".into())]),
        )
        .unwrap();
        assert_eq!(limits.admit("web-app", Some(&key("web-app")), now), Ok(()));
        // Another app's key, or none, is not this app's.
        assert_eq!(
            limits.admit("web-app", Some(&key("other")), now),
            Err(INVALID_API_KEY)
        );
        assert_eq!(limits.admit("web-app", None, now), Err(INVALID_API_KEY));
        write_assignments(
            &path,
            &Assignments::from([("web-app".into(), "gone".into())]),
        )
        .unwrap();
        assert_eq!(
            limits.admit("web-app", Some(&key("web-app")), now),
            Err(INVALID_API_KEY)
        );
    }

    #[test]
    fn each_app_has_its_own_bucket_and_quota() {
        let dir = tempfile::tempdir().unwrap();
        let limits = limits(
            dir.path(),
            "rate_limit = 2.0\nburst_limit = 3\nquota_limit = 7\nquota_period = \"DAY\"",
        );
        let both = Assignments::from([("a".into(), "tiny".into()), ("b".into(), "tiny".into())]);
        write_assignments(&assignments_path(dir.path()), &both).unwrap();
        let mut now = Timestamp::from_secs(1_800_000_000);
        for _ in 0..3 {
            assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
        }
        assert_eq!(limits.admit("a", Some(&key("a")), now), Err(THROTTLED));
        assert_eq!(
            limits.admit("b", Some(&key("b")), now),
            Ok(()),
            "b has its own bucket"
        );
        // Two tokens a second come back.
        now = now.plus(Duration::from_millis(1000));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Err(THROTTLED));
        now = now.plus(Duration::from_secs(10));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
        // Seven calls admitted today: the quota is used up, whatever the bucket holds.
        assert_eq!(limits.admit("a", Some(&key("a")), now), Err(QUOTA_EXCEEDED));
        // The next UTC day starts a new quota.
        now = now.plus(Duration::from_secs(86_400));
        assert_eq!(limits.admit("a", Some(&key("a")), now), Ok(()));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2027-01-17 is a Sunday, 2027-01-18 a Monday.
        let sunday = Timestamp::from_secs(1_800_000_000 + 2 * 86_400);
        let monday = sunday.plus(Duration::from_secs(86_400));
        assert_ne!(
            period_of(QuotaPeriod::Week, sunday),
            period_of(QuotaPeriod::Week, monday)
        );
        let saturday = Timestamp::from_secs(1_800_000_000 + 86_400);
        assert_eq!(
            period_of(QuotaPeriod::Week, saturday),
            period_of(QuotaPeriod::Week, sunday)
        );
        let january = Timestamp::from_secs(1_800_000_000);
        let february = january.plus(Duration::from_secs(17 * 86_400));
        assert_eq!(
            period_of(QuotaPeriod::Month, january) + 1,
            period_of(QuotaPeriod::Month, february)
        );
    }

    #[test]
    fn a_broken_assignment_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = assignments_path(dir.path());
        assert_eq!(read_assignments(&path).unwrap(), Assignments::new());
        std::fs::write(&path, "not json").unwrap();
        assert!(read_assignments(&path)
            .unwrap_err()
            .contains("not a plan assignment file"));
    }
}
