//! PostgreSQL and Redis remediations: a read-only preview listing exactly what an action would
//! hit, and the execution, whose SQL re-applies the preview's filters on the server so a
//! session that changed in between is not hit by surprise.
//!
//! Rules (reference postgres-redis.md §2, §3, §6): only client backends of the configured
//! database are touched, never the session running the remediation (`pg_backend_pid()`), never
//! a prepared transaction (pid 0, which cannot be signalled). Every call opens its own
//! short-lived connection (the monitoring connection is never used to signal) with a
//! `statement_timeout`, and the whole call is bounded by a deadline.
//!
//! A `simulated+http://` dsn or url acts on the demo's simulated database instead (`/sim/postgres`,
//! `/sim/redis`), filtering its sessions with the same rules in Rust.

use std::future::Future;
use std::time::Duration;

use redis::Value;
use serde::Serialize;

use super::ActionKind;
use crate::config::{PostgresConfig, RedisConfig};
use crate::db::postgres::{PgSample, Session};
use crate::sources::pg_connect;
use crate::sources::redis::Target as RedisTarget;
use crate::sources::simulated_db;
use crate::text::sanitize_truncated;

/// `statement_timeout` of a remediation connection.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on connecting (the DSN's `connect_timeout`, 5 s by default) plus one statement.
const CALL_DEADLINE: Duration = Duration::from_secs(20);
/// How long `pg_terminate_backend` waits for each session to exit (milliseconds).
const TERMINATE_WAIT_MS: i64 = 5000;
/// Longest statement a group terminate may run, however many sessions it waits for.
const MAX_GROUP_STATEMENT: Duration = Duration::from_secs(300);
/// Longest query text shown in a preview (characters).
const MAX_QUERY_CHARS: usize = 200;
/// Longest CLIENT LIST line shown in a preview (characters).
const MAX_CLIENT_LINE: usize = 1000;
/// Longest error reason (characters).
const MAX_REASON: usize = 300;
/// Bound on one Redis or simulator call (connect, command).
const REDIS_DEADLINE: Duration = Duration::from_secs(5);
/// Pids named in a summary before the rest are counted.
const SUMMARY_PIDS: usize = 12;

/// One session an action would hit, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionTarget {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    /// `None` when the role may not see it (no `pg_read_all_stats`).
    pub state: Option<String>,
    /// Seconds in the current state (`now() - state_change`).
    pub seconds: Option<f64>,
    /// The (last) query, sanitised and truncated.
    pub query: String,
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PgOutcome {
    /// Sessions signalled (cancel) or gone (terminate).
    pub signalled: Vec<i32>,
    /// Sessions the server did not confirm, with the reason.
    pub failed: Vec<(i32, String)>,
    /// One line for the status bar and the audit trail, e.g.
    /// `terminated 3 sessions (pids 4242, 4250, 4301)`.
    pub summary: String,
}

// ---------------------------------------------------------------------------------------------
// SQL

/// Whether the current role may signal other roles' sessions: superuser, or the privileges of
/// `pg_signal_backend` (`USAGE`: what the server checks, so a NOINHERIT member counts as not).
const CAN_SIGNAL: &str = "(coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user), false) \
     OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE'))";

/// The rows of `pg_stat_activity` (`a`) any action may touch: client backends of this database,
/// never this session. A session whose type the role may not see (other roles' sessions
/// without `pg_read_all_stats`) is kept only when the role cannot signal it anyway: the server
/// then refuses with its own 42501 message instead of the console guessing. A role that can
/// signal never hits a session it cannot tell is a client backend.
fn signallable() -> String {
    format!(
        "a.pid > 0 AND a.pid <> pg_backend_pid() AND a.datname = current_database() \
         AND (a.backend_type = 'client backend' \
              OR (a.backend_type IS NULL AND NOT {CAN_SIGNAL}))"
    )
}

/// Sessions idle in transaction (or aborted) for more than `$1` seconds (float8), aged from
/// `state_change` (`xact_start` is NULL for aborted ones, reference §1).
const IDLE_FILTER: &str = "a.state IN ('idle in transaction', 'idle in transaction (aborted)') \
     AND now() - a.state_change > make_interval(secs => $1::float8)";

/// The preview's columns.
const PREVIEW_COLUMNS: &str = "a.pid, a.usename::text, a.application_name, a.state, \
     extract(epoch FROM now() - a.state_change)::float8, coalesce(left(a.query, 1000), '')";

/// The `WHERE` clause an action's preview and execution share.
fn action_filter(action: &ActionKind) -> Result<String, String> {
    match action {
        ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } => {
            check_pid(*pid)?;
            Ok(format!("a.pid = $1::int4 AND {}", signallable()))
        }
        ActionKind::PgTerminateIdle { .. } => Ok(format!("{IDLE_FILTER} AND {}", signallable())),
        other => Err(format!("not a PostgreSQL action: {}", action_name(other))),
    }
}

fn action_name(action: &ActionKind) -> &'static str {
    match action {
        ActionKind::RolloutRestart { .. } => "rollout restart",
        ActionKind::RolloutUndo { .. } => "rollout undo",
        ActionKind::Scale { .. } => "scale",
        ActionKind::DeletePod { .. } => "delete pod",
        ActionKind::RestartOperator { .. } => "restart operator",
        ActionKind::PgCancel { .. } => "cancel",
        ActionKind::PgTerminate { .. } => "terminate",
        ActionKind::PgTerminateIdle { .. } => "terminate idle",
        ActionKind::RedisKill { .. } => "redis client kill",
    }
}

fn check_pid(pid: i32) -> Result<(), String> {
    match pid {
        0 => Err(
            "pid 0 is a prepared transaction: it cannot be signalled (it needs ROLLBACK PREPARED)"
                .into(),
        ),
        p if p < 0 => Err(format!("pid {p} is not a process id")),
        _ => Ok(()),
    }
}

/// The action's one parameter (`$1`).
fn action_param(action: &ActionKind) -> Param {
    match action {
        ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } => Param::Pid(*pid),
        ActionKind::PgTerminateIdle { older_than_secs } => Param::Secs(*older_than_secs as f64),
        _ => Param::Pid(0),
    }
}

enum Param {
    Pid(i32),
    Secs(f64),
}

impl Param {
    fn as_sql(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Self::Pid(pid) => pid,
            Self::Secs(secs) => secs,
        }
    }
}

fn not_a_client(pid: i32) -> String {
    format!("pid {pid} is not a client session of this database")
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The sessions `action` would hit, read in a READ ONLY transaction. For a cancel or terminate,
/// the one pid if it is a client session of this database other than ours, else an error saying
/// why not; for terminate-idle, every session idle in transaction for longer than the
/// threshold, oldest first.
pub async fn preview_pg(
    config: &PostgresConfig,
    action: &ActionKind,
) -> Result<Vec<SessionTarget>, String> {
    let filter = action_filter(action)?;
    if let Some(base) = simulated_db::simulator(&config.dsn) {
        let sample = sim_sample(&base).await?;
        let targets = sim_targets(&sample, action);
        return match action {
            ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid }
                if targets.is_empty() =>
            {
                Err(not_a_client(*pid))
            }
            _ => Ok(targets),
        };
    }
    let target = pg_connect::parse(config)?;
    bounded(CALL_DEADLINE, async {
        let mut client = pg_connect::connect(&target, STATEMENT_TIMEOUT).await?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        let order = match action {
            ActionKind::PgTerminateIdle { .. } => " ORDER BY a.state_change, a.pid",
            _ => "",
        };
        let sql = format!("SELECT {PREVIEW_COLUMNS} FROM pg_stat_activity a WHERE {filter}{order}");
        let param = action_param(action);
        let rows = tx
            .query(&sql, &[param.as_sql()])
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        let mut targets = Vec::with_capacity(rows.len());
        for row in &rows {
            targets.push(session_target(row)?);
        }
        if targets.is_empty()
            && let ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } = action
        {
            return Err(why_not(&tx, *pid).await);
        }
        tx.rollback()
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        Ok(targets)
    })
    .await
}

fn session_target(row: &tokio_postgres::Row) -> Result<SessionTarget, String> {
    let get_err = |e: tokio_postgres::Error| pg_connect::describe_error(&e);
    let text = |value: Option<String>| value.map(|v| sanitize_truncated(&v, MAX_QUERY_CHARS));
    Ok(SessionTarget {
        pid: row.try_get(0).map_err(get_err)?,
        usename: text(row.try_get(1).map_err(get_err)?),
        application_name: text(row.try_get(2).map_err(get_err)?),
        state: text(row.try_get(3).map_err(get_err)?),
        seconds: row
            .try_get::<_, Option<f64>>(4)
            .map_err(get_err)?
            .filter(|s| s.is_finite()),
        query: sanitize_truncated(
            &row.try_get::<_, Option<String>>(5)
                .map_err(get_err)?
                .unwrap_or_default(),
            MAX_QUERY_CHARS,
        ),
    })
}

/// Why `pid` is not a session the console may signal, in words.
async fn why_not(client: &impl tokio_postgres::GenericClient, pid: i32) -> String {
    let row = client
        .query_opt(
            "SELECT a.backend_type, a.datname::text, a.pid = pg_backend_pid(), \
                    current_database()::text \
               FROM pg_stat_activity a WHERE a.pid = $1::int4 LIMIT 1",
            &[&pid],
        )
        .await;
    let base = not_a_client(pid);
    let Ok(Some(row)) = row else {
        return format!("{base} (no such server process)");
    };
    let backend_type: Option<String> = row.try_get(0).ok().flatten();
    let datname: Option<String> = row.try_get(1).ok().flatten();
    let own: bool = row.try_get(2).ok().unwrap_or(false);
    let current: Option<String> = row.try_get(3).ok();
    let clean = |s: &str| sanitize_truncated(s, 80);
    if own {
        return format!("{base} (it is the console's own session)");
    }
    match (backend_type.as_deref(), datname) {
        (Some(kind), _) if kind != "client backend" => {
            format!("{base} (it is a {})", clean(kind))
        }
        (_, Some(db)) if current.as_deref() != Some(db.as_str()) => {
            format!("{base} (it is connected to database {:?})", clean(&db))
        }
        (_, None) => format!("{base} (it is not connected to a database)"),
        (None, _) => format!(
            "{base} (its session type is hidden from this role: it needs pg_read_all_stats)"
        ),
        _ => format!("{base} (it changed while being checked)"),
    }
}

/// Signals the sessions `action` names, re-applying the preview's filters in the same
/// statement. Cancel uses `pg_cancel_backend(pid)`; terminate `pg_terminate_backend(pid, 5000)`,
/// which waits up to 5 s for each session to exit (`false`: it did not, reported in `failed`).
/// A refusal by the server (e.g. 42501 without `pg_signal_backend`) is the error, in the
/// server's words with its SQLSTATE.
pub async fn execute_pg(config: &PostgresConfig, action: &ActionKind) -> Result<PgOutcome, String> {
    let filter = action_filter(action)?;
    if let Some(base) = simulated_db::simulator(&config.dsn) {
        return sim_execute(&base, action).await;
    }
    let target = pg_connect::parse(config)?;
    let function = match action {
        ActionKind::PgCancel { .. } => "pg_cancel_backend(a.pid)".to_string(),
        _ => format!("pg_terminate_backend(a.pid, {TERMINATE_WAIT_MS})"),
    };
    let param = action_param(action);
    let (client, deadline) = bounded(CALL_DEADLINE, async {
        let client = pg_connect::connect(&target, STATEMENT_TIMEOUT).await?;
        let mut deadline = CALL_DEADLINE;
        if let ActionKind::PgTerminateIdle { .. } = action {
            // Each session may take up to 5 s to exit: give the statement room for them all
            // (counted with the same filters), so it is not cut short half-way.
            let count: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM pg_stat_activity a WHERE {filter}"),
                    &[param.as_sql()],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(|e| pg_connect::describe_error(&e))?;
            let wait = Duration::from_millis(TERMINATE_WAIT_MS as u64)
                .saturating_mul(u32::try_from(count.max(0)).unwrap_or(u32::MAX));
            let statement = (STATEMENT_TIMEOUT + wait).min(MAX_GROUP_STATEMENT);
            client
                .batch_execute(&format!(
                    "SET statement_timeout = {}",
                    statement.as_millis()
                ))
                .await
                .map_err(|e| pg_connect::describe_error(&e))?;
            deadline = statement + Duration::from_secs(5);
        }
        Ok((client, deadline))
    })
    .await?;
    let sql = format!("SELECT a.pid, {function} FROM pg_stat_activity a WHERE {filter}");
    let rows = bounded(deadline, async {
        client
            .query(&sql, &[param.as_sql()])
            .await
            .map_err(|e| pg_connect::describe_error(&e))
    })
    .await?;
    let mut signalled = Vec::new();
    let mut failed = Vec::new();
    for row in &rows {
        let pid: i32 = row.try_get(0).map_err(|e| pg_connect::describe_error(&e))?;
        let done: Option<bool> = row.try_get(1).map_err(|e| pg_connect::describe_error(&e))?;
        if done == Some(true) {
            signalled.push(pid);
        } else {
            let reason = match action {
                ActionKind::PgCancel { .. } => "not signalled (the process was gone?)".to_string(),
                _ => format!(
                    "did not exit within {} s of the signal (or was already gone)",
                    TERMINATE_WAIT_MS / 1000
                ),
            };
            failed.push((pid, reason));
        }
    }
    match action {
        ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } if rows.is_empty() => {
            let reason = bounded(CALL_DEADLINE, async {
                Ok::<_, String>(why_not(&client, *pid).await)
            })
            .await;
            Err(reason.unwrap_or_else(|e| e))
        }
        _ => Ok(outcome(action, signalled, failed, false)),
    }
}

/// Whether the connection's role may signal other roles' sessions (superuser, or the
/// privileges of `pg_signal_backend`): the console greys out cancel and terminate otherwise.
pub async fn pg_can_signal(config: &PostgresConfig) -> Result<bool, String> {
    if simulated_db::simulator(&config.dsn).is_some() {
        // The simulated role is a pg_signal_backend member.
        return Ok(true);
    }
    let target = pg_connect::parse(config)?;
    bounded(CALL_DEADLINE, async {
        let client = pg_connect::connect(&target, STATEMENT_TIMEOUT).await?;
        let row = client
            .query_one(&format!("SELECT {CAN_SIGNAL}"), &[])
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        row.try_get::<_, Option<bool>>(0)
            .map(|v| v.unwrap_or(false))
            .map_err(|e| pg_connect::describe_error(&e))
    })
    .await
}

/// The one-line summary: `terminated 3 sessions (pids 4242, 4250, 4301)`.
fn outcome(
    action: &ActionKind,
    signalled: Vec<i32>,
    failed: Vec<(i32, String)>,
    simulated: bool,
) -> PgOutcome {
    let verb = match action {
        ActionKind::PgCancel { .. } => "cancelled the query of",
        _ => "terminated",
    };
    let mut summary = if signalled.is_empty() && failed.is_empty() {
        match action {
            ActionKind::PgTerminateIdle { older_than_secs } => format!(
                "no session idle in transaction for more than {older_than_secs} s; nothing terminated"
            ),
            _ => "no session matched; nothing done".to_string(),
        }
    } else {
        let n = signalled.len();
        let noun = if n == 1 { "session" } else { "sessions" };
        if n == 0 {
            format!("{verb} 0 sessions")
        } else {
            format!("{verb} {n} {noun} ({})", pid_list(&signalled))
        }
    };
    if !failed.is_empty() {
        let shown: Vec<String> = failed
            .iter()
            .take(SUMMARY_PIDS)
            .map(|(pid, reason)| format!("pid {pid}: {reason}"))
            .collect();
        summary.push_str(&format!("; not done: {}", shown.join(", ")));
        if failed.len() > SUMMARY_PIDS {
            summary.push_str(&format!(" and {} more", failed.len() - SUMMARY_PIDS));
        }
    }
    if simulated {
        summary.push_str(" (simulated)");
    }
    PgOutcome {
        signalled,
        failed,
        summary,
    }
}

fn pid_list(pids: &[i32]) -> String {
    let word = if pids.len() == 1 { "pid" } else { "pids" };
    let shown: Vec<String> = pids
        .iter()
        .take(SUMMARY_PIDS)
        .map(|p| p.to_string())
        .collect();
    let mut text = format!("{word} {}", shown.join(", "));
    if pids.len() > SUMMARY_PIDS {
        text.push_str(&format!(" and {} more", pids.len() - SUMMARY_PIDS));
    }
    text
}

/// Runs `work` within `deadline`.
async fn bounded<T>(
    deadline: Duration,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {}",
                humantime::format_duration(deadline)
            ))
        })
}

// ---------------------------------------------------------------------------------------------
// The simulated database

fn sim_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(REDIS_DEADLINE)
        .build()
        .map_err(|e| sanitize_truncated(&e.to_string(), MAX_REASON))
}

async fn sim_get(base: &str, path: &str) -> Result<serde_json::Value, String> {
    let response = sim_client()?
        .get(format!("{base}{path}"))
        .send()
        .await
        .map_err(|e| sanitize_truncated(&format!("simulator: {e}"), MAX_REASON))?;
    if !response.status().is_success() {
        return Err(format!("simulator answered {}", response.status()));
    }
    response
        .json()
        .await
        .map_err(|e| sanitize_truncated(&format!("simulator: {e}"), MAX_REASON))
}

async fn sim_sample(base: &str) -> Result<PgSample, String> {
    let value = sim_get(base, "/sim/postgres").await?;
    serde_json::from_value(value)
        .map_err(|e| sanitize_truncated(&format!("simulator: {e}"), MAX_REASON))
}

/// The same rules as [`signallable`] and the action's filter, on the simulator's sample.
fn sim_matches(sample: &PgSample, session: &Session, action: &ActionKind) -> bool {
    let client = session.pid > 0
        && !session.own
        && session.pid != sample.own_pid
        && session.backend_type.as_deref() == Some("client backend");
    client
        && match action {
            ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } => session.pid == *pid,
            ActionKind::PgTerminateIdle { older_than_secs } => {
                matches!(
                    session.state.as_deref(),
                    Some("idle in transaction" | "idle in transaction (aborted)")
                ) && session
                    .state_age
                    .is_some_and(|age| age > *older_than_secs as f64)
            }
            _ => false,
        }
}

fn sim_targets(sample: &PgSample, action: &ActionKind) -> Vec<SessionTarget> {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(|v| sanitize_truncated(v, MAX_QUERY_CHARS))
    };
    let mut targets: Vec<SessionTarget> = sample
        .sessions
        .iter()
        .filter(|s| sim_matches(sample, s, action))
        .map(|s| SessionTarget {
            pid: s.pid,
            usename: text(&s.usename),
            application_name: text(&s.application_name),
            state: text(&s.state),
            seconds: s.state_age.filter(|a| a.is_finite()),
            query: sanitize_truncated(s.query.as_deref().unwrap_or_default(), MAX_QUERY_CHARS),
        })
        .collect();
    // Oldest first, as on a real server.
    targets.sort_by(|a, b| {
        b.seconds
            .unwrap_or(0.0)
            .total_cmp(&a.seconds.unwrap_or(0.0))
            .then(a.pid.cmp(&b.pid))
    });
    targets
}

async fn sim_execute(base: &str, action: &ActionKind) -> Result<PgOutcome, String> {
    // The filters are re-applied to a fresh sample just before acting.
    let sample = sim_sample(base).await?;
    let pids: Vec<i32> = sim_targets(&sample, action).iter().map(|t| t.pid).collect();
    if pids.is_empty()
        && let ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } = action
    {
        return Err(not_a_client(*pid));
    }
    if let ActionKind::PgCancel { .. } = action {
        // The simulator has no running queries to cancel: a cancel succeeds and changes
        // nothing, as a cancel of a query that just finished would on a real server.
        return Ok(outcome(action, pids, Vec::new(), true));
    }
    if pids.is_empty() {
        return Ok(outcome(action, pids, Vec::new(), true));
    }
    let response = sim_client()?
        .post(format!("{base}/sim/postgres"))
        .json(&serde_json::json!({ "terminate": pids }))
        .send()
        .await
        .map_err(|e| sanitize_truncated(&format!("simulator: {e}"), MAX_REASON))?;
    if !response.status().is_success() {
        return Err(format!("simulator answered {}", response.status()));
    }
    let value: serde_json::Value = response
        .json()
        .await
        .map_err(|e| sanitize_truncated(&format!("simulator: {e}"), MAX_REASON))?;
    let done: Vec<i32> = serde_json::from_value(value["terminated"].clone()).unwrap_or_default();
    let signalled: Vec<i32> = pids.iter().copied().filter(|p| done.contains(p)).collect();
    let failed = pids
        .iter()
        .filter(|p| !done.contains(p))
        .map(|p| (*p, "no such session (already gone?)".to_string()))
        .collect();
    Ok(outcome(action, signalled, failed, true))
}

// ---------------------------------------------------------------------------------------------
// Redis

/// The CLIENT LIST line of client `id` (sanitised), read with `CLIENT LIST ID id`; an error
/// when there is no such client.
pub async fn preview_redis(config: &RedisConfig, id: u64) -> Result<Option<String>, String> {
    let text = if let Some(base) = simulated_db::simulator(&config.url) {
        let value = sim_get(&base, "/sim/redis").await?;
        value["clients"].as_str().unwrap_or_default().to_string()
    } else {
        let target = RedisTarget::from_config(config)?;
        bounded(REDIS_DEADLINE, async {
            let mut connection = target
                .connect(REDIS_DEADLINE, &mut false)
                .await
                .map_err(|e| target.reason("", &e, REDIS_DEADLINE))?;
            let reply = redis::cmd("CLIENT")
                .arg("LIST")
                .arg("ID")
                .arg(id)
                .query_async::<Value>(&mut connection)
                .await
                .map_err(|e| target.reason("CLIENT LIST", &e, REDIS_DEADLINE))?;
            reply_text(reply).ok_or_else(|| "CLIENT LIST: unexpected reply (not text)".to_string())
        })
        .await?
    };
    match client_line(&text, id) {
        Some(line) => Ok(Some(sanitize_truncated(line, MAX_CLIENT_LINE))),
        None => Err(format!("no client with id {id}")),
    }
}

/// Kills client `id` with `CLIENT KILL ID <id> SKIPME yes` (never the console's own
/// connection); an error when no client was killed.
pub async fn execute_redis(config: &RedisConfig, id: u64) -> Result<String, String> {
    if simulated_db::simulator(&config.url).is_some() {
        return Ok(format!("simulated: client {id} would be killed"));
    }
    let target = RedisTarget::from_config(config)?;
    let killed = bounded(REDIS_DEADLINE, async {
        let mut connection = target
            .connect(REDIS_DEADLINE, &mut false)
            .await
            .map_err(|e| target.reason("", &e, REDIS_DEADLINE))?;
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .arg("SKIPME")
            .arg("yes")
            .query_async::<i64>(&mut connection)
            .await
            .map_err(|e| target.reason("CLIENT KILL", &e, REDIS_DEADLINE))
    })
    .await?;
    match killed {
        0 => Err(format!("no client with id {id} (already gone?)")),
        1 => Ok(format!("killed client {id}")),
        n => Ok(format!("killed client {id} ({n} connections)")),
    }
}

/// The line of CLIENT LIST whose `id` field is `id`.
fn client_line(text: &str, id: u64) -> Option<&str> {
    let field = format!("id={id}");
    text.lines()
        .map(str::trim)
        .find(|line| line.split(' ').any(|kv| kv == field))
}

/// CLIENT LIST answers a bulk string in RESP2 and a verbatim string in RESP3.
fn reply_text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::postgres::Privileges;

    fn session(pid: i32, state: &str, age: f64) -> Session {
        Session {
            pid,
            usename: Some("app".into()),
            application_name: Some("api".into()),
            client_addr: None,
            datname: Some("app".into()),
            state: Some(state.into()),
            wait_event_type: None,
            wait_event: None,
            backend_type: Some("client backend".into()),
            query_age: Some(age),
            state_age: Some(age),
            xact_age: None,
            backend_age: None,
            query: Some("UPDATE t SET x = 1\u{1b}[2J".into()),
            blocked_by: Vec::new(),
            own: false,
        }
    }

    fn sample() -> PgSample {
        let mut own = session(9, "idle in transaction", 900.0);
        own.own = true;
        let mut walsender = session(8, "idle in transaction", 900.0);
        walsender.backend_type = Some("walsender".into());
        let mut hidden = session(7, "idle in transaction", 900.0);
        hidden.backend_type = None;
        PgSample {
            own_pid: 9,
            privileges: Privileges::default(),
            sessions: vec![
                session(1, "idle in transaction", 400.0),
                session(2, "idle in transaction (aborted)", 500.0),
                session(3, "idle in transaction", 100.0),
                session(4, "idle", 900.0),
                session(5, "active", 900.0),
                own,
                walsender,
                hidden,
            ],
            ..PgSample::default()
        }
    }

    #[test]
    fn simulated_filters_follow_the_rules() {
        let s = sample();
        let idle = sim_targets(
            &s,
            &ActionKind::PgTerminateIdle {
                older_than_secs: 300,
            },
        );
        let pids: Vec<i32> = idle.iter().map(|t| t.pid).collect();
        assert_eq!(pids, vec![2, 1]);
        assert!(idle.iter().all(|t| !t.query.contains('\u{1b}')));
        for pid in [9, 8, 7, 0, 42] {
            assert!(
                sim_targets(&s, &ActionKind::PgTerminate { pid }).is_empty(),
                "{pid}"
            );
        }
        assert_eq!(sim_targets(&s, &ActionKind::PgCancel { pid: 5 }).len(), 1);
    }

    #[test]
    fn prepared_transactions_and_other_actions_are_refused() {
        assert!(
            action_filter(&ActionKind::PgCancel { pid: 0 })
                .unwrap_err()
                .contains("prepared transaction")
        );
        assert!(action_filter(&ActionKind::PgTerminate { pid: -3 }).is_err());
        assert!(
            action_filter(&ActionKind::RedisKill { id: 3 })
                .unwrap_err()
                .contains("not a PostgreSQL action")
        );
        let filter = action_filter(&ActionKind::PgTerminateIdle { older_than_secs: 1 }).unwrap();
        assert!(filter.contains("pg_backend_pid()"));
        assert!(filter.contains("'client backend'"));
        assert!(filter.contains("now() - a.state_change"));
    }

    #[test]
    fn summaries_name_the_pids() {
        let action = ActionKind::PgTerminateIdle {
            older_than_secs: 60,
        };
        assert_eq!(
            outcome(&action, vec![4242, 4250, 4301], vec![], false).summary,
            "terminated 3 sessions (pids 4242, 4250, 4301)"
        );
        assert_eq!(
            outcome(&ActionKind::PgTerminate { pid: 7 }, vec![7], vec![], false).summary,
            "terminated 1 session (pid 7)"
        );
        assert_eq!(
            outcome(&action, vec![], vec![], false).summary,
            "no session idle in transaction for more than 60 s; nothing terminated"
        );
        let failed = outcome(&action, vec![1], vec![(2, "did not exit".into())], true);
        assert_eq!(
            failed.summary,
            "terminated 1 session (pid 1); not done: pid 2: did not exit (simulated)"
        );
    }

    #[test]
    fn client_lines_are_found_by_exact_id() {
        let text = "id=13 addr=a name=x\nid=131 addr=b name=y\n";
        assert_eq!(client_line(text, 131), Some("id=131 addr=b name=y"));
        assert_eq!(client_line(text, 13), Some("id=13 addr=a name=x"));
        assert_eq!(client_line(text, 1), None);
    }

    #[test]
    fn redis_reasons_never_show_the_password() {
        let config = RedisConfig {
            name: "cache".into(),
            url: crate::config::Secret::Literal("redis://u:hunter22@bad host:1".into()),
            username: None,
            password: None,
            refresh: Duration::from_secs(2),
        };
        let Err(reason) = RedisTarget::from_config(&config) else {
            panic!("accepted");
        };
        assert!(!reason.contains("hunter22"), "{reason}");
    }
}
