//! Workloads beyond Deployments: StatefulSets and DaemonSets (rollout state from the one
//! copy of kubectl's rules in [`crate::model::rollout`]), Jobs, and CronJobs with the
//! staleness rule that answers "did the backup run?".

use std::time::{Duration, SystemTime};

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

use super::short_duration as format_age;
use crate::model::rollout::{
    DaemonSetRollout, StatefulSetRollout, daemonset_rollout, statefulset_rollout,
};
use crate::model::{Health, elapsed, from_timestamp, system_time};

fn namespace_name(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Replica health shared by StatefulSets and DaemonSets: none available is Crit, fewer than
/// desired or a rollout in flight is Warn.
fn replica_health(available: u32, desired: u32, done: bool) -> Health {
    if desired > 0 && available == 0 {
        Health::Crit
    } else if available < desired || !done {
        Health::Warn
    } else {
        Health::Ok
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatefulSetRow {
    pub namespace: String,
    pub name: String,
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    /// `complete`, or what the rollout waits for (`2 pods not ready`).
    pub rollout: String,
    pub rollout_done: bool,
    pub health: Health,
    #[serde(skip)]
    pub created: Option<SystemTime>,
}

/// The row for one StatefulSet; missing status fields count as zero.
pub fn statefulset_row(s: &StatefulSet) -> StatefulSetRow {
    let (namespace, name) = namespace_name(&s.metadata);
    let status = s.status.as_ref();
    let desired = count(s.spec.as_ref().and_then(|spec| spec.replicas).or(Some(1)));
    let ready = count(status.and_then(|st| st.ready_replicas));
    let updated = count(status.and_then(|st| st.updated_replicas));
    let (rollout, done) = match statefulset_rollout(s) {
        // kubectl cannot follow OnDelete; the counts still tell whether pods are missing.
        StatefulSetRollout::NotRollingUpdate => ("OnDelete updates".to_owned(), true),
        StatefulSetRollout::NotObserved => {
            ("waiting for the spec update to be observed".into(), false)
        }
        StatefulSetRollout::NotReady { missing } => {
            (format!("{missing} pod{} not ready", plural(missing)), false)
        }
        StatefulSetRollout::Partitioned { updated, target } => {
            (format!("partitioned: {updated} of {target} updated"), false)
        }
        StatefulSetRollout::PartitionedComplete { .. } | StatefulSetRollout::Complete { .. } => {
            ("complete".into(), true)
        }
        StatefulSetRollout::RevisionPending { updated, revision } => {
            (format!("{updated} pods at revision {revision}"), false)
        }
    };
    StatefulSetRow {
        health: replica_health(ready, desired, done),
        namespace,
        name,
        desired,
        ready,
        updated,
        rollout,
        rollout_done: done,
        created: s.metadata.creation_timestamp.as_ref().and_then(system_time),
    }
}

/// Worst first: health, then the most missing pods (see `pods::severity`).
pub fn statefulset_severity(row: &StatefulSetRow) -> (Health, std::cmp::Reverse<u32>) {
    (
        row.health,
        std::cmp::Reverse(row.desired.saturating_sub(row.ready)),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DaemonSetRow {
    pub namespace: String,
    pub name: String,
    /// Nodes that should run the daemon pod.
    pub desired: u32,
    pub current: u32,
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
    pub rollout: String,
    pub rollout_done: bool,
    pub health: Health,
    #[serde(skip)]
    pub created: Option<SystemTime>,
}

/// The row for one DaemonSet; missing status fields count as zero.
pub fn daemonset_row(d: &DaemonSet) -> DaemonSetRow {
    let (namespace, name) = namespace_name(&d.metadata);
    let status = d.status.as_ref();
    let desired = count(status.map(|st| st.desired_number_scheduled));
    let available = count(status.and_then(|st| st.number_available));
    let (rollout, done) = match daemonset_rollout(d) {
        DaemonSetRollout::NotRollingUpdate => ("OnDelete updates".to_owned(), true),
        DaemonSetRollout::NotObserved => {
            ("waiting for the spec update to be observed".into(), false)
        }
        DaemonSetRollout::Updating { updated, desired } => {
            (format!("{updated} of {desired} nodes updated"), false)
        }
        DaemonSetRollout::Unavailable { available, desired } => {
            (format!("{available} of {desired} pods available"), false)
        }
        DaemonSetRollout::Complete => ("complete".into(), true),
    };
    DaemonSetRow {
        health: replica_health(available, desired, done),
        namespace,
        name,
        desired,
        current: count(status.map(|st| st.current_number_scheduled)),
        ready: count(status.map(|st| st.number_ready)),
        updated: count(status.and_then(|st| st.updated_number_scheduled)),
        available,
        rollout,
        rollout_done: done,
        created: d.metadata.creation_timestamp.as_ref().and_then(system_time),
    }
}

pub fn daemonset_severity(row: &DaemonSetRow) -> (Health, std::cmp::Reverse<u32>) {
    (
        row.health,
        std::cmp::Reverse(row.desired.saturating_sub(row.available)),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Complete,
    Failed,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobRow {
    pub namespace: String,
    pub name: String,
    /// `spec.completions`; `None` for a work queue.
    pub completions: Option<i32>,
    pub succeeded: u32,
    pub failed: u32,
    pub active: u32,
    pub state: JobState,
    #[serde(skip)]
    pub started: Option<SystemTime>,
    /// When it completed or failed.
    #[serde(skip)]
    pub finished: Option<SystemTime>,
    /// The CronJob that created it (its controlling owner).
    pub owner_cronjob: Option<String>,
    /// Why it failed or is suspended: `BackoffLimitExceeded: Job has reached the specified
    /// backoff limit`.
    pub reason: Option<String>,
    pub health: Health,
    #[serde(skip)]
    pub created: Option<SystemTime>,
}

/// The row for one Job. Its state from the terminal conditions (Complete, Failed, or
/// FailureTarget, which precedes Failed while pods are still being stopped), else
/// `spec.suspend`, else Running.
pub fn job_row(job: &Job) -> JobRow {
    let (namespace, name) = namespace_name(&job.metadata);
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    let text = |c: &k8s_openapi::api::batch::v1::JobCondition| {
        let reason = c.reason.clone().filter(|r| !r.is_empty());
        let message = c.message.clone().filter(|m| !m.is_empty());
        match (reason, message) {
            (Some(r), Some(m)) => Some(format!("{r}: {m}")),
            (r, m) => r.or(m),
        }
    };
    let suspended = job.spec.as_ref().and_then(|s| s.suspend) == Some(true);
    let (state, reason, finished) = if let Some(c) = holds("Complete") {
        let finished = status
            .completion_time
            .as_ref()
            .or(c.last_transition_time.as_ref());
        (JobState::Complete, None, finished.and_then(system_time))
    } else if let Some(c) = holds("Failed").or_else(|| holds("FailureTarget")) {
        let finished = c.last_transition_time.as_ref().and_then(system_time);
        (JobState::Failed, text(c), finished)
    } else if suspended {
        let reason = holds("Suspended").and_then(text);
        (JobState::Suspended, reason, None)
    } else {
        (JobState::Running, None, None)
    };
    let health = match state {
        JobState::Failed => Health::Crit,
        JobState::Suspended => Health::Warn,
        JobState::Running => Health::Ok,
        JobState::Complete => Health::Done,
    };
    JobRow {
        namespace,
        name,
        completions: job.spec.as_ref().and_then(|s| s.completions),
        succeeded: count(status.succeeded),
        failed: count(status.failed),
        active: count(status.active),
        state,
        started: status.start_time.as_ref().and_then(system_time),
        finished,
        owner_cronjob: job
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true) && o.kind == "CronJob")
            .map(|o| o.name.clone()),
        reason,
        health,
        created: job
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(system_time),
    }
}

/// Worst first: failed, suspended, running, then done; the most failures first among equals.
pub fn job_severity(row: &JobRow) -> (Health, std::cmp::Reverse<u32>) {
    (row.health, std::cmp::Reverse(row.failed))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CronJobRow {
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub suspended: bool,
    /// Jobs running now.
    pub active: u32,
    #[serde(skip)]
    pub last_schedule: Option<SystemTime>,
    #[serde(skip)]
    pub last_success: Option<SystemTime>,
    #[serde(skip)]
    pub created: Option<SystemTime>,
    /// The schedule's interval (see [`schedule_interval`]), computed once per row update, or
    /// why the schedule does not parse.
    #[serde(skip)]
    pub interval: Result<Duration, String>,
}

/// The row for one CronJob.
pub fn cronjob_row(cj: &CronJob) -> CronJobRow {
    let (namespace, name) = namespace_name(&cj.metadata);
    let spec = cj.spec.as_ref();
    let status = cj.status.as_ref();
    let schedule = spec.map(|s| s.schedule.clone()).unwrap_or_default();
    let last_success = status
        .and_then(|s| s.last_successful_time.as_ref())
        .and_then(system_time);
    let created = cj
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(system_time);
    let interval = schedule_interval(&schedule, last_success.or(created));
    CronJobRow {
        namespace,
        name,
        time_zone: spec
            .and_then(|s| s.time_zone.clone())
            .filter(|z| !z.is_empty()),
        suspended: spec.and_then(|s| s.suspend) == Some(true),
        active: status
            .and_then(|s| s.active.as_ref())
            .map_or(0, |a| u32::try_from(a.len()).unwrap_or(u32::MAX)),
        last_schedule: status
            .and_then(|s| s.last_schedule_time.as_ref())
            .and_then(system_time),
        last_success,
        created,
        interval,
        schedule,
    }
}

/// How many runs after `from` are looked at for the interval: enough to cross a weekend or
/// a month end from any starting point.
const RUNS_SAMPLED: usize = 16;

/// The longest gap between consecutive runs of `schedule` among the runs that follow `from`
/// (the last success; now when absent): a weekday schedule's interval is the weekend's 3 days,
/// so a Saturday does not read as a missed run. The standard 5 fields, `@hourly`, `@daily`,
/// `@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually` and `@every <duration>`, as the
/// CronJob controller accepts them; a `CRON_TZ=`/`TZ=` prefix is ignored.
///
/// In UTC: `spec.timeZone` moves the runs, not the gaps between them, except across a daylight
/// saving change (an hour, which the staleness factor absorbs); computing in UTC keeps the
/// core free of a time zone database.
pub fn schedule_interval(schedule: &str, from: Option<SystemTime>) -> Result<Duration, String> {
    let mut expression = schedule.trim();
    if let Some(rest) = expression
        .strip_prefix("CRON_TZ=")
        .or_else(|| expression.strip_prefix("TZ="))
    {
        expression = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, e)| e.trim());
    }
    if let Some(every) = expression.strip_prefix("@every") {
        return crate::platform::usage::go_duration(every)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!("schedule {schedule:?}: @every needs a duration such as 1h30m")
            });
    }
    // robfig/cron's alias, which croner does not know.
    if expression.eq_ignore_ascii_case("@midnight") {
        expression = "@daily";
    }
    let cron: Cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| format!("schedule {schedule:?} does not parse: {e}"))?;
    let start = from
        .and_then(to_timestamp)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC)
        .datetime();
    let runs: Vec<SystemTime> = cron
        .iter_after(start)
        .take(RUNS_SAMPLED + 1)
        .filter_map(|run| run.to_zoned(TimeZone::UTC).ok())
        .filter_map(|run| from_timestamp(run.timestamp()))
        .collect();
    runs.windows(2)
        .filter_map(|pair| pair[1].duration_since(pair[0]).ok())
        .max()
        .ok_or_else(|| format!("schedule {schedule:?} never runs"))
}

/// By hand, as `model::from_timestamp` the other way: jiff's `std` feature is off.
fn to_timestamp(t: SystemTime) -> Option<Timestamp> {
    let seconds = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok()?,
        Err(before) => i64::try_from(before.duration().as_secs())
            .ok()?
            .checked_neg()?,
    };
    Timestamp::from_second(seconds).ok()
}

/// The verdict on a CronJob: did its last run fail, has it stopped running?
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CronJobCheck {
    pub health: Health,
    /// `last success 2d ago (runs every 1d)`, `last job backup-289 failed: BackoffLimitExceeded`.
    pub reason: String,
    #[serde(skip)]
    pub interval: Option<Duration>,
    /// No success within interval × factor (never, for one created that long ago).
    pub stale: bool,
    pub last_failed: bool,
}

/// The staleness rule. Crit when the last Job failed, or when the last success (the creation
/// when it never succeeded) is older than the interval × `stale_factor` (config
/// `cronjob_stale_factor`, default 1.5: a daily backup is stale 36 h after its last success).
/// Warn when suspended (deliberate, but a backup that does not run must not be forgotten; a
/// suspended CronJob is never more than Warn for staleness), or when the schedule does not
/// parse. Ok otherwise.
pub fn cronjob_check(
    row: &CronJobRow,
    last_job: Option<&JobRow>,
    now: SystemTime,
    stale_factor: f64,
) -> CronJobCheck {
    let interval = row.interval.as_ref().ok().copied();
    let last_failed = last_job.is_some_and(|j| j.state == JobState::Failed);
    let allowed = interval
        .and_then(|i| Duration::try_from_secs_f64(i.as_secs_f64() * stale_factor.max(1.0)).ok());
    let since_success = row.last_success.map(|t| elapsed(now, t));
    let since_created = row.created.map(|t| elapsed(now, t));
    let stale = match (allowed, since_success, since_created) {
        (Some(allowed), Some(since), _) => since > allowed,
        (Some(allowed), None, Some(age)) => age > allowed,
        _ => false,
    };
    let every = interval.map(|i| format!(" (runs every {})", format_age(i)));
    let success_text = match (since_success, since_created) {
        (Some(since), _) => format!("last success {} ago", format_age(since)),
        (None, Some(age)) => format!("never succeeded (created {} ago)", format_age(age)),
        (None, None) => "never succeeded".to_owned(),
    };
    let (health, reason) = if last_failed {
        let job = last_job.map_or("", |j| j.name.as_str());
        let why = last_job
            .and_then(|j| j.reason.as_deref())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let stale = if stale { "stale: " } else { "" };
        (
            Health::Crit,
            format!("{stale}last job {job} failed{why}; {success_text}"),
        )
    } else if row.suspended {
        (Health::Warn, format!("suspended; {success_text}"))
    } else if let Err(why) = &row.interval {
        (Health::Warn, why.clone())
    } else if stale {
        (
            Health::Crit,
            format!("stale: {success_text}{}", every.unwrap_or_default()),
        )
    } else {
        (
            Health::Ok,
            format!("{success_text}{}", every.unwrap_or_default()),
        )
    };
    CronJobCheck {
        health,
        reason,
        interval,
        stale,
        last_failed,
    }
}

/// The CronJob's most recent Job (by creation, then start, then name: the controller names
/// them after the scheduled minute).
pub fn latest_job_of<'a>(
    cronjob: &CronJobRow,
    jobs: impl Iterator<Item = &'a JobRow>,
) -> Option<&'a JobRow> {
    jobs.filter(|j| {
        j.namespace == cronjob.namespace
            && j.owner_cronjob.as_deref() == Some(cronjob.name.as_str())
    })
    .fold(None, |latest: Option<&JobRow>, job| match latest {
        Some(latest) if !is_newer_job(job, latest) => Some(latest),
        _ => Some(job),
    })
}

/// Whether `a` is more recent than `b` (the one ordering [`latest_job_of`] uses).
pub fn is_newer_job(a: &JobRow, b: &JobRow) -> bool {
    (a.created, a.started, &a.name) > (b.created, b.started, &b.name)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::parse_time;

    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    fn cronjob(schedule: &str, spec: Value, status: Value) -> CronJobRow {
        let mut spec_value = json!({"schedule": schedule, "jobTemplate": {}});
        if let (Some(base), Some(extra)) = (spec_value.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "db-backup", "namespace": "babylon-backup",
                         "creationTimestamp": "2024-04-01T00:00:00Z"},
            "spec": spec_value,
            "status": status,
        }))
        .unwrap();
        cronjob_row(&cj)
    }

    fn job(name: &str, created: &str, status: Value) -> JobRow {
        let j: Job = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "babylon-backup",
                         "creationTimestamp": created,
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                             "name": "db-backup", "uid": "1", "controller": true}]},
            "spec": {"template": {}},
            "status": status,
        }))
        .unwrap();
        job_row(&j)
    }

    fn interval(schedule: &str) -> Result<Duration, String> {
        schedule_interval(schedule, Some(at("2024-05-01T10:00:00Z")))
    }

    #[test]
    fn intervals_from_cron_expressions() {
        let cases = [
            ("@daily", 24 * HOUR),
            ("@midnight", 24 * HOUR),
            ("@hourly", HOUR),
            ("@weekly", 7 * DAY),
            ("*/15 * * * *", 15 * 60),
            ("0 2 * * *", 24 * HOUR),
            ("30 3 * * 0", 7 * DAY),
            ("0 2 * * 1-5", 3 * DAY),
            ("0 0 1 * *", 31 * DAY),
            ("0 */6 * * *", 6 * HOUR),
            ("CRON_TZ=Europe/Paris 0 2 * * *", 24 * HOUR),
            ("@every 1h30m", 90 * 60),
            // Day of month OR day of week, as Vixie cron and the CronJob controller read both.
            ("0 0 1 * 1", 7 * DAY),
            ("0 0 * * 7", 7 * DAY),
        ];
        for (schedule, secs) in cases {
            assert_eq!(
                interval(schedule),
                Ok(Duration::from_secs(secs)),
                "{schedule}"
            );
        }
        assert!(interval("@yearly").unwrap() >= Duration::from_secs(365 * DAY));
        assert_eq!(
            schedule_interval("@daily", None),
            Ok(Duration::from_secs(DAY))
        );
        for bad in [
            "",
            "not cron",
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "@every",
            "@every 0s",
            "@fortnightly",
        ] {
            assert!(interval(bad).is_err(), "{bad:?}");
        }
        let started = std::time::Instant::now();
        assert!(interval("0 0 30 2 *").unwrap_err().contains("never runs"));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_daily_backup_is_stale_after_one_and_a_half_days() {
        let row = cronjob(
            "0 2 * * *",
            json!({}),
            json!({"lastSuccessfulTime": "2024-05-01T02:05:00Z",
                   "lastScheduleTime": "2024-05-01T02:00:00Z"}),
        );
        assert_eq!(row.last_success, Some(at("2024-05-01T02:05:00Z")));
        let fresh = cronjob_check(&row, None, at("2024-05-02T01:00:00Z"), 1.5);
        assert_eq!(fresh.health, Health::Ok);
        assert!(!fresh.stale);
        assert_eq!(fresh.interval, Some(Duration::from_secs(DAY)));
        assert_eq!(fresh.reason, "last success 22h55m ago (runs every 1d)");
        let late = cronjob_check(&row, None, at("2024-05-02T14:06:00Z"), 1.5);
        assert_eq!(late.health, Health::Crit);
        assert!(late.stale);
        assert_eq!(late.reason, "stale: last success 1d12h ago (runs every 1d)");
        // A larger factor tolerates more.
        assert!(!cronjob_check(&row, None, at("2024-05-02T14:06:00Z"), 2.0).stale);
    }

    #[test]
    fn every_fifteen_minutes_and_weekly() {
        let quarter = cronjob(
            "*/15 * * * *",
            json!({}),
            json!({"lastSuccessfulTime": "2024-05-01T10:00:00Z"}),
        );
        let now = at("2024-05-01T10:20:00Z");
        assert_eq!(cronjob_check(&quarter, None, now, 1.5).health, Health::Ok);
        let now = at("2024-05-01T10:23:00Z");
        assert_eq!(cronjob_check(&quarter, None, now, 1.5).health, Health::Crit);
        let weekly = cronjob(
            "@weekly",
            json!({}),
            json!({"lastSuccessfulTime": "2024-04-28T00:01:00Z"}),
        );
        assert!(!cronjob_check(&weekly, None, at("2024-05-06T00:00:00Z"), 1.5).stale);
        assert!(cronjob_check(&weekly, None, at("2024-05-09T00:00:00Z"), 1.5).stale);
    }

    #[test]
    fn never_succeeded_counts_from_creation() {
        let row = cronjob("@daily", json!({}), json!({}));
        let young = cronjob_check(&row, None, at("2024-04-01T20:00:00Z"), 1.5);
        assert_eq!(young.health, Health::Ok);
        assert_eq!(
            young.reason,
            "never succeeded (created 20h ago) (runs every 1d)"
        );
        let old = cronjob_check(&row, None, at("2024-04-03T00:00:00Z"), 1.5);
        assert_eq!(old.health, Health::Crit);
        assert!(old.stale);
        assert!(
            old.reason
                .starts_with("stale: never succeeded (created 2d ago)")
        );
    }

    #[test]
    fn a_failed_last_job_is_critical_and_suspended_is_a_warning() {
        let row = cronjob(
            "@daily",
            json!({}),
            json!({"lastSuccessfulTime": "2024-05-01T00:02:00Z"}),
        );
        let failed = job(
            "db-backup-28577520",
            "2024-05-02T00:00:00Z",
            json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True",
                "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit",
                "lastTransitionTime": "2024-05-02T00:10:00Z"}]}),
        );
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.health, Health::Crit);
        assert_eq!(failed.owner_cronjob.as_deref(), Some("db-backup"));
        assert_eq!(failed.finished, Some(at("2024-05-02T00:10:00Z")));
        let check = cronjob_check(&row, Some(&failed), at("2024-05-02T01:00:00Z"), 1.5);
        assert_eq!(check.health, Health::Crit);
        assert!(check.last_failed && !check.stale);
        assert_eq!(
            check.reason,
            "last job db-backup-28577520 failed: BackoffLimitExceeded: Job has reached the specified backoff limit; last success 1d0h ago"
                .replace("1d0h", "1d")
        );
        let suspended = cronjob(
            "@daily",
            json!({"suspend": true}),
            json!({"lastSuccessfulTime": "2024-05-01T00:02:00Z"}),
        );
        assert!(suspended.suspended);
        let check = cronjob_check(&suspended, None, at("2024-05-09T00:00:00Z"), 1.5);
        assert_eq!(
            check.health,
            Health::Warn,
            "deliberate: never more than a warning"
        );
        assert!(check.stale);
        assert!(check.reason.starts_with("suspended; last success 7d"));
    }

    #[test]
    fn a_bad_schedule_is_a_warning_not_a_panic() {
        let row = cronjob(
            "every night",
            json!({"timeZone": "Europe/Paris"}),
            json!({}),
        );
        assert_eq!(row.time_zone.as_deref(), Some("Europe/Paris"));
        let check = cronjob_check(&row, None, at("2030-01-01T00:00:00Z"), 1.5);
        assert_eq!(check.health, Health::Warn);
        assert!(check.reason.contains("does not parse"), "{}", check.reason);
        assert_eq!(check.interval, None);
        assert!(!check.stale);
        let empty = cronjob_row(&CronJob::default());
        assert_eq!(
            cronjob_check(&empty, None, SystemTime::UNIX_EPOCH, 1.5).health,
            Health::Warn
        );
    }

    #[test]
    fn the_latest_job_is_the_newest_of_its_cronjob() {
        let row = cronjob("@daily", json!({}), json!({}));
        let old = job(
            "db-backup-1",
            "2024-05-01T00:00:00Z",
            json!({"succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}]}),
        );
        let new = job("db-backup-2", "2024-05-02T00:00:00Z", json!({"active": 1}));
        let mut other = job("other-3", "2024-05-03T00:00:00Z", json!({}));
        other.owner_cronjob = Some("other".into());
        assert_eq!(old.state, JobState::Complete);
        assert_eq!(old.health, Health::Done);
        assert_eq!(new.state, JobState::Running);
        let jobs = [old.clone(), new.clone(), other];
        assert_eq!(
            latest_job_of(&row, jobs.iter()).map(|j| j.name.as_str()),
            Some("db-backup-2")
        );
        assert_eq!(latest_job_of(&row, [old.clone()].iter()), Some(&old));
        assert_eq!(latest_job_of(&row, std::iter::empty()), None);
    }

    #[test]
    fn job_states() {
        let suspended: Job = serde_json::from_value(json!({
            "metadata": {"name": "j", "namespace": "n"},
            "spec": {"template": {}, "suspend": true, "completions": 3},
            "status": {"succeeded": 1},
        }))
        .unwrap();
        let row = job_row(&suspended);
        assert_eq!((row.state, row.health), (JobState::Suspended, Health::Warn));
        assert_eq!((row.completions, row.succeeded), (Some(3), 1));
        assert_eq!(job_row(&Job::default()).state, JobState::Running);
        let target: Job = serde_json::from_value(json!({
            "metadata": {"name": "j"},
            "status": {"conditions": [{"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}]},
        }))
        .unwrap();
        let row = job_row(&target);
        assert_eq!(row.state, JobState::Failed);
        assert_eq!(row.reason.as_deref(), Some("DeadlineExceeded"));
    }

    #[test]
    fn statefulset_and_daemonset_rows_follow_kubectls_rules() {
        let sts: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "shop", "generation": 2},
            "spec": {"replicas": 3, "selector": {}, "template": {}, "serviceName": "db",
                     "updateStrategy": {"type": "RollingUpdate"}},
            "status": {"replicas": 3, "readyReplicas": 1, "updatedReplicas": 3, "observedGeneration": 2},
        }))
        .unwrap();
        let row = statefulset_row(&sts);
        assert_eq!((row.desired, row.ready, row.updated), (3, 1, 3));
        assert_eq!(row.rollout, "2 pods not ready");
        assert_eq!(row.health, Health::Warn);
        let down: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "shop", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}, "serviceName": "db",
                     "updateStrategy": {"type": "OnDelete"}},
            "status": {"replicas": 2, "observedGeneration": 2},
        }))
        .unwrap();
        let row = statefulset_row(&down);
        assert_eq!(
            (row.rollout.as_str(), row.health),
            ("OnDelete updates", Health::Crit)
        );
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "collector", "namespace": "obs", "generation": 1},
            "spec": {"selector": {}, "template": {}, "updateStrategy": {"type": "RollingUpdate"}},
            "status": {"desiredNumberScheduled": 5, "currentNumberScheduled": 5, "numberReady": 5,
                       "updatedNumberScheduled": 5, "numberAvailable": 5, "numberMisscheduled": 0,
                       "observedGeneration": 1},
        }))
        .unwrap();
        let row = daemonset_row(&ds);
        assert_eq!((row.rollout.as_str(), row.health), ("complete", Health::Ok));
        assert_eq!(daemonset_row(&DaemonSet::default()).health, Health::Ok);
        assert_eq!(
            statefulset_row(&StatefulSet::default()).health,
            Health::Crit
        );
    }
}
