//! PostgreSQL and Redis remediations: a read-only preview listing exactly what an action would
//! hit, and the execution, whose SQL re-applies the preview's filters on the server so a
//! session that changed in between is not hit by surprise.
//!
//! Which sessions may be hit is decided by one rule, [`signal_rule`] (reference
//! postgres-redis.md §2, §3, §6, and PostgreSQL's own check): only client backends of the
//! configured database, never the session running the remediation, never a prepared
//! transaction (pid 0), never a superuser's session unless the console's role is a superuser,
//! and another role's only with `pg_signal_backend` or that role's privileges. The planner
//! applies it to the monitor's sample before offering an action; the preview and the execution
//! apply it again to a fresh read ([`select_targets`]), and the signalling statement re-checks
//! the session on the server. Every call opens its own short-lived connection (the monitoring
//! connection is never used to signal) with a `statement_timeout`, and the whole call is
//! bounded by a deadline.
//!
//! A `simulated+http://` dsn or url acts on the demo's simulated database instead (`/sim/postgres`,
//! `/sim/redis`), choosing its sessions with the same function.

use std::future::Future;
use std::time::Duration;

use redis::Value;
use serde::Serialize;

use super::ActionKind;
use crate::config::{PostgresConfig, RedisConfig};
use crate::db::postgres::{PgSample, Session, SignalRefusal, signal_rule};
use crate::sources::redis::Target as RedisTarget;
use crate::sources::simulated_db;
use crate::sources::{pg_connect, postgres};
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
// Which sessions

/// The states a terminate-idle sweep hits.
const IDLE_STATES: [&str; 2] = ["idle in transaction", "idle in transaction (aborted)"];

/// Sessions idle in transaction (or aborted) for more than `param` seconds (a float8
/// parameter such as `$2`), aged from `state_change` (`xact_start` is NULL for aborted ones,
/// reference §1).
fn idle_filter(param: &str) -> String {
    format!(
        "a.state IN ('idle in transaction', 'idle in transaction (aborted)') \
         AND now() - a.state_change > make_interval(secs => {param}::float8)"
    )
}

/// What the signalling statement checks again on the server, in the same statement as the
/// signal: the pids chosen (`$1`), still client backends of this database, never this session.
const STILL_SIGNALLABLE: &str = "a.pid = ANY($1::int4[]) AND a.pid <> pg_backend_pid() \
     AND a.datname = current_database() AND a.backend_type = 'client backend'";

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

/// A PostgreSQL action, as this module handles it: every function here matches on this (so a
/// new one does not compile until each handles it), and every other action is refused once,
/// where an [`ActionKind`] comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgSignal {
    Cancel(i32),
    Terminate(i32),
    TerminateIdle(u64),
}

impl PgSignal {
    fn of(action: &ActionKind) -> Result<Self, String> {
        match action {
            ActionKind::PgCancel { pid } => Ok(Self::Cancel(*pid)),
            ActionKind::PgTerminate { pid } => Ok(Self::Terminate(*pid)),
            ActionKind::PgTerminateIdle { older_than_secs } => {
                Ok(Self::TerminateIdle(*older_than_secs))
            }
            ActionKind::RolloutRestart { .. }
            | ActionKind::RolloutUndo { .. }
            | ActionKind::Scale { .. }
            | ActionKind::DeletePod { .. }
            | ActionKind::RestartOperator { .. }
            | ActionKind::RedisKill { .. } => {
                Err(format!("not a PostgreSQL action: {}", action_name(action)))
            }
        }
    }
}

fn not_a_client(pid: i32) -> String {
    format!("pid {pid} is not a client session of this database")
}

/// Whether `session` is idle in transaction for longer than `older_than_secs`.
pub fn idle_past(session: &Session, older_than_secs: u64) -> bool {
    session
        .state
        .as_deref()
        .is_some_and(|state| IDLE_STATES.contains(&state))
        && session
            .state_age
            .is_some_and(|age| age > older_than_secs as f64)
}

/// The sessions of `sample` that `action` hits: [`signal_rule`] (the same rule the planner
/// applied before offering the action) and the action's own filter. For a cancel or terminate,
/// the one pid, or why not in words; for terminate-idle, every session idle in transaction past
/// the threshold that the console's role may signal, oldest first (the others are left alone).
pub fn select_targets<'a>(
    sample: &'a PgSample,
    action: &ActionKind,
) -> Result<Vec<&'a Session>, String> {
    select(sample, PgSignal::of(action)?)
}

fn select(sample: &PgSample, signal: PgSignal) -> Result<Vec<&Session>, String> {
    match signal {
        PgSignal::Cancel(pid) | PgSignal::Terminate(pid) => {
            let pid = &pid;
            match sample.sessions.iter().find(|s| s.pid == *pid) {
                Some(session) => signal_rule(sample, session)
                    .map(|()| vec![session])
                    .map_err(|refusal| refusal.describe(*pid)),
                None if *pid == 0 => Err(SignalRefusal::PreparedXact.to_string()),
                None if *pid < 0 => Err(format!("pid {pid} is {}", SignalRefusal::NotAProcess)),
                None => Err(format!("{} (no such server process)", not_a_client(*pid))),
            }
        }
        PgSignal::TerminateIdle(older_than_secs) => {
            let older_than_secs = &older_than_secs;
            let mut targets: Vec<&Session> = sample
                .sessions
                .iter()
                .filter(|s| idle_past(s, *older_than_secs) && signal_rule(sample, s).is_ok())
                .collect();
            // Oldest first.
            targets.sort_by(|a, b| {
                b.state_age
                    .unwrap_or(0.0)
                    .total_cmp(&a.state_age.unwrap_or(0.0))
                    .then(a.pid.cmp(&b.pid))
            });
            Ok(targets)
        }
    }
}

fn session_target(session: &Session) -> SessionTarget {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(|v| sanitize_truncated(v, MAX_QUERY_CHARS))
    };
    SessionTarget {
        pid: session.pid,
        usename: text(&session.usename),
        application_name: text(&session.application_name),
        state: text(&session.state),
        seconds: session.state_age.filter(|a| a.is_finite()),
        query: sanitize_truncated(
            session.query.as_deref().unwrap_or_default(),
            MAX_QUERY_CHARS,
        ),
    }
}

/// What the rule needs, read on the remediation's own connection: its role's privileges, pid
/// and database ([`postgres::server_info`]), and the candidate sessions, read as the monitor
/// reads them ([`postgres::SESSION_SELECT`]) — for a cancel or terminate the row of that pid
/// whatever its type (to say why not), for terminate-idle the sessions idle in transaction past
/// the threshold.
async fn read_sample(
    client: &impl tokio_postgres::GenericClient,
    signal: PgSignal,
) -> Result<PgSample, String> {
    let info = postgres::server_info(client).await?;
    let rows = match signal {
        PgSignal::Cancel(pid) | PgSignal::Terminate(pid) => {
            let sql = format!("{} WHERE a.pid = $1::int4", postgres::SESSION_SELECT);
            client.query(&sql, &[&pid]).await
        }
        PgSignal::TerminateIdle(older_than_secs) => {
            let sql = format!(
                "{} WHERE a.datname = current_database() AND {}",
                postgres::SESSION_SELECT,
                idle_filter("$1")
            );
            client.query(&sql, &[&(older_than_secs as f64)]).await
        }
    }
    .map_err(|e| pg_connect::describe_error(&e))?;
    Ok(PgSample {
        server_version: info.server_version,
        max_connections: info.max_connections,
        superuser_reserved: info.superuser_reserved,
        own_pid: info.own_pid,
        privileges: info.privileges,
        database: info.database,
        sessions: rows
            .iter()
            .filter_map(|row| postgres::session_row(row, info.own_pid))
            .collect(),
        query_ms: 0.0,
        simulated: false,
    })
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The sessions `action` would hit ([`select_targets`]), read in a READ ONLY transaction: for
/// a cancel or terminate the one pid if the console may signal it, else an error saying why
/// not; for terminate-idle, every session idle in transaction for longer than the threshold
/// that the console may signal, oldest first.
pub async fn preview_pg(
    config: &PostgresConfig,
    action: &ActionKind,
) -> Result<Vec<SessionTarget>, String> {
    if let Some(base) = simulated_db::simulator(&config.dsn) {
        let sample = sim_sample(&base).await?;
        return Ok(select_targets(&sample, action)?
            .into_iter()
            .map(session_target)
            .collect());
    }
    let signal = PgSignal::of(action)?;
    let target = pg_connect::parse(config)?;
    bounded(CALL_DEADLINE, async {
        let mut client = pg_connect::connect(&target, STATEMENT_TIMEOUT).await?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        let sample = read_sample(&tx, signal).await?;
        let targets = select(&sample, signal)?
            .into_iter()
            .map(session_target)
            .collect();
        tx.rollback()
            .await
            .map_err(|e| pg_connect::describe_error(&e))?;
        Ok(targets)
    })
    .await
}

/// Signals the sessions `action` names: chosen afresh by [`select_targets`] (so never one the
/// rule refuses), then signalled in one statement that re-checks on the server that each is
/// still a client backend of this database (and, for terminate-idle, still idle in transaction
/// past the threshold). Cancel uses `pg_cancel_backend(pid)`; terminate
/// `pg_terminate_backend(pid, 5000)`, which waits up to 5 s for each session to exit (`false`:
/// it did not, reported in `failed`). A refusal by the server (its privileges changed in
/// between) is the error, in the server's words with its SQLSTATE.
pub async fn execute_pg(config: &PostgresConfig, action: &ActionKind) -> Result<PgOutcome, String> {
    if let Some(base) = simulated_db::simulator(&config.dsn) {
        return sim_execute(&base, action).await;
    }
    let signal = PgSignal::of(action)?;
    let target = pg_connect::parse(config)?;
    let function = match signal {
        PgSignal::Cancel(_) => "pg_cancel_backend(a.pid)".to_string(),
        PgSignal::Terminate(_) | PgSignal::TerminateIdle(_) => {
            format!("pg_terminate_backend(a.pid, {TERMINATE_WAIT_MS})")
        }
    };
    let (client, pids, deadline) = bounded(CALL_DEADLINE, async {
        let client = pg_connect::connect(&target, STATEMENT_TIMEOUT).await?;
        let sample = read_sample(&client, signal).await?;
        let pids: Vec<i32> = select(&sample, signal)?.iter().map(|s| s.pid).collect();
        let mut deadline = CALL_DEADLINE;
        if let PgSignal::TerminateIdle(_) = signal {
            // Each session may take up to 5 s to exit: give the statement room for them all,
            // so it is not cut short half-way.
            let wait = Duration::from_millis(TERMINATE_WAIT_MS as u64)
                .saturating_mul(u32::try_from(pids.len()).unwrap_or(u32::MAX));
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
        Ok((client, pids, deadline))
    })
    .await?;
    if pids.is_empty() {
        return Ok(outcome(signal, Vec::new(), Vec::new(), false));
    }
    let (sql, threshold) = match signal {
        PgSignal::TerminateIdle(older_than_secs) => (
            format!(
                "SELECT a.pid, {function} FROM pg_stat_activity a \
                 WHERE {STILL_SIGNALLABLE} AND {}",
                idle_filter("$2")
            ),
            Some(older_than_secs as f64),
        ),
        PgSignal::Cancel(_) | PgSignal::Terminate(_) => (
            format!("SELECT a.pid, {function} FROM pg_stat_activity a WHERE {STILL_SIGNALLABLE}"),
            None,
        ),
    };
    let rows = bounded(deadline, async {
        let result = match &threshold {
            Some(secs) => client.query(&sql, &[&pids, secs]).await,
            None => client.query(&sql, &[&pids]).await,
        };
        result.map_err(|e| pg_connect::describe_error(&e))
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
            let reason = match signal {
                PgSignal::Cancel(_) => "not signalled (the process was gone?)".to_string(),
                PgSignal::Terminate(_) | PgSignal::TerminateIdle(_) => format!(
                    "did not exit within {} s of the signal (or was already gone)",
                    TERMINATE_WAIT_MS / 1000
                ),
            };
            failed.push((pid, reason));
        }
    }
    match signal {
        PgSignal::Cancel(pid) | PgSignal::Terminate(pid) if rows.is_empty() => Err(format!(
            "{} (it exited or changed before the signal)",
            not_a_client(pid)
        )),
        PgSignal::Cancel(_) | PgSignal::Terminate(_) | PgSignal::TerminateIdle(_) => {
            Ok(outcome(signal, signalled, failed, false))
        }
    }
}

/// The one-line summary: `terminated 3 sessions (pids 4242, 4250, 4301)`.
fn outcome(
    signal: PgSignal,
    signalled: Vec<i32>,
    failed: Vec<(i32, String)>,
    simulated: bool,
) -> PgOutcome {
    let verb = match signal {
        PgSignal::Cancel(_) => "cancelled the query of",
        PgSignal::Terminate(_) | PgSignal::TerminateIdle(_) => "terminated",
    };
    let mut summary = if signalled.is_empty() && failed.is_empty() {
        match signal {
            PgSignal::TerminateIdle(older_than_secs) => format!(
                "no session idle in transaction for more than {older_than_secs} s; nothing terminated"
            ),
            PgSignal::Cancel(_) | PgSignal::Terminate(_) => {
                "no session matched; nothing done".to_string()
            }
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

pub(super) fn pid_list(pids: &[i32]) -> String {
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

async fn sim_execute(base: &str, action: &ActionKind) -> Result<PgOutcome, String> {
    let signal = PgSignal::of(action)?;
    // The filters are re-applied to a fresh sample just before acting.
    let sample = sim_sample(base).await?;
    let pids: Vec<i32> = select(&sample, signal)?.iter().map(|s| s.pid).collect();
    if let PgSignal::Cancel(_) = signal {
        // The simulator has no running queries to cancel: a cancel succeeds and changes
        // nothing, as a cancel of a query that just finished would on a real server.
        return Ok(outcome(signal, pids, Vec::new(), true));
    }
    if pids.is_empty() {
        return Ok(outcome(signal, pids, Vec::new(), true));
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
    Ok(outcome(signal, signalled, failed, true))
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
            role_superuser: Some(false),
            role_privileges: Some(false),
        }
    }

    /// Seen by a `pg_signal_backend` member with `pg_read_all_stats`.
    fn sample() -> PgSample {
        let mut own = session(9, "idle in transaction", 900.0);
        own.own = true;
        let mut walsender = session(8, "idle in transaction", 900.0);
        walsender.backend_type = Some("walsender".into());
        let mut hidden = session(7, "idle in transaction", 900.0);
        hidden.backend_type = None;
        let mut superuser = session(6, "idle in transaction", 900.0);
        superuser.usename = Some("postgres".into());
        superuser.role_superuser = Some(true);
        let mut elsewhere = session(10, "idle in transaction", 900.0);
        elsewhere.datname = Some("other".into());
        PgSample {
            own_pid: 9,
            privileges: Privileges {
                superuser: false,
                read_all_stats: true,
                signal_backend: true,
            },
            database: Some("app".into()),
            sessions: vec![
                session(1, "idle in transaction", 400.0),
                session(2, "idle in transaction (aborted)", 500.0),
                session(3, "idle in transaction", 100.0),
                session(4, "idle", 900.0),
                session(5, "active", 900.0),
                superuser,
                own,
                walsender,
                hidden,
                elsewhere,
            ],
            ..PgSample::default()
        }
    }

    fn pids(targets: Result<Vec<&Session>, String>) -> Vec<i32> {
        targets.unwrap().iter().map(|s| s.pid).collect()
    }

    #[test]
    fn targets_follow_the_one_rule() {
        let s = sample();
        let idle = ActionKind::PgTerminateIdle {
            older_than_secs: 300,
        };
        // Oldest first; never the superuser's, the console's own, a walsender, a session of
        // unknown type or of another database.
        assert_eq!(pids(select_targets(&s, &idle)), vec![2, 1]);
        let shown: Vec<SessionTarget> = select_targets(&s, &idle)
            .unwrap()
            .into_iter()
            .map(session_target)
            .collect();
        assert!(shown.iter().all(|t| !t.query.contains('\u{1b}')));
        assert_eq!(
            pids(select_targets(&s, &ActionKind::PgCancel { pid: 5 })),
            [5]
        );
        let refused = |pid: i32| select_targets(&s, &ActionKind::PgTerminate { pid }).unwrap_err();
        assert!(refused(6).contains("superuser"), "{}", refused(6));
        assert!(refused(9).contains("own session"), "{}", refused(9));
        assert!(refused(8).contains("it is a walsender"), "{}", refused(8));
        assert!(refused(7).contains("pg_read_all_stats"), "{}", refused(7));
        assert!(
            refused(10).contains("database \"other\""),
            "{}",
            refused(10)
        );
        assert!(
            refused(42).contains("no such server process"),
            "{}",
            refused(42)
        );
        for pid in [6, 7, 8, 9, 10, 42] {
            assert!(
                refused(pid).starts_with(&format!("pid {pid}")),
                "{}",
                refused(pid)
            );
        }
        assert!(
            refused(0).contains("prepared transaction"),
            "{}",
            refused(0)
        );
        assert!(refused(-3).contains("not a process id"), "{}", refused(-3));
        assert!(
            select_targets(&s, &ActionKind::RedisKill { id: 3 })
                .unwrap_err()
                .contains("not a PostgreSQL action")
        );
    }

    #[test]
    fn without_pg_signal_backend_only_the_roles_own_sessions() {
        let mut s = sample();
        s.privileges.signal_backend = false;
        s.sessions[0].role_privileges = Some(true);
        let idle = ActionKind::PgTerminateIdle {
            older_than_secs: 300,
        };
        assert_eq!(pids(select_targets(&s, &idle)), vec![1]);
        let error = select_targets(&s, &ActionKind::PgCancel { pid: 2 }).unwrap_err();
        assert!(error.contains("pg_signal_backend"), "{error}");
    }

    #[test]
    fn the_signal_statement_rechecks_on_the_server() {
        assert!(STILL_SIGNALLABLE.contains("pg_backend_pid()"));
        assert!(STILL_SIGNALLABLE.contains("'client backend'"));
        assert!(STILL_SIGNALLABLE.contains("current_database()"));
        assert!(idle_filter("$2").contains("now() - a.state_change"));
        assert!(idle_filter("$2").contains("secs => $2::float8"));
    }

    #[test]
    fn summaries_name_the_pids() {
        let action = PgSignal::TerminateIdle(60);
        assert_eq!(
            outcome(action, vec![4242, 4250, 4301], vec![], false).summary,
            "terminated 3 sessions (pids 4242, 4250, 4301)"
        );
        assert_eq!(
            outcome(PgSignal::Terminate(7), vec![7], vec![], false).summary,
            "terminated 1 session (pid 7)"
        );
        assert_eq!(
            outcome(action, vec![], vec![], false).summary,
            "no session idle in transaction for more than 60 s; nothing terminated"
        );
        let failed = outcome(action, vec![1], vec![(2, "did not exit".into())], true);
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
