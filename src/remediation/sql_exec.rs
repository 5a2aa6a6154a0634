//! PostgreSQL and Redis remediations: a read-only preview listing exactly what an action would
//! hit, and the execution, whose SQL re-applies the preview's filters on the server so a
//! session that changed in between is not hit by surprise.
//!
//! Which sessions may be hit is decided by one rule, [`signal_targets`] over
//! [`crate::db::postgres::signal_rule`] (reference postgres-redis.md §2, §3, §6, and
//! PostgreSQL's own check): only client backends of the configured database, never the session
//! running the remediation, never a prepared transaction (pid 0), never a superuser's session
//! unless the console's role is a superuser, and another role's only with `pg_signal_backend`
//! or that role's privileges. The planner applies it to the monitor's sample before offering an
//! action; the preview and the execution apply it again to a fresh read, through the entry's
//! [`PgSignal`] backend (a real server, or the demo's simulated one: this module does not tell
//! them apart), and a real server's signalling statement re-checks the session there.

use serde::Serialize;

use super::ActionKind;
use crate::config::{PostgresConfig, RedisConfig};
use crate::db::postgres::{PgSample, Session, Signal, signal_targets};
use crate::sources::backends::{self, Killed, Signalled};
use crate::text::sanitize_truncated;

/// Longest query text shown in a preview (characters).
const MAX_QUERY_CHARS: usize = 200;
/// Longest CLIENT LIST line shown in a preview (characters).
const MAX_CLIENT_LINE: usize = 1000;
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

/// The PostgreSQL signal of `action`: every function here matches on [`Signal`] (so a new one
/// does not compile until each handles it), and every other action is refused once, here.
fn signal_of(action: &ActionKind) -> Result<Signal, String> {
    match action {
        ActionKind::PgCancel { pid } => Ok(Signal::Cancel(*pid)),
        ActionKind::PgTerminate { pid } => Ok(Signal::Terminate(*pid)),
        ActionKind::PgTerminateIdle { older_than_secs } => {
            Ok(Signal::TerminateIdle(*older_than_secs))
        }
        ActionKind::RolloutRestart { .. }
        | ActionKind::RolloutUndo { .. }
        | ActionKind::Scale { .. }
        | ActionKind::DeletePod { .. }
        | ActionKind::RestartOperator { .. }
        | ActionKind::RedisKill { .. }
        | ActionKind::Silence { .. }
        | ActionKind::ExpireSilence { .. } => {
            Err(format!("not a PostgreSQL action: {}", action.name()))
        }
    }
}

/// The sessions of `sample` that `action` hits ([`signal_targets`], the same rule the planner
/// applied before offering the action).
pub fn select_targets<'a>(
    sample: &'a PgSample,
    action: &ActionKind,
) -> Result<Vec<&'a Session>, String> {
    signal_targets(sample, signal_of(action)?)
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

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The sessions `action` would hit, read afresh without changing anything: for a cancel or
/// terminate the one pid if the console may signal it, else an error saying why not; for
/// terminate-idle, every session idle in transaction for longer than the threshold that the
/// console may signal, oldest first.
pub async fn preview_pg(
    config: &PostgresConfig,
    action: &ActionKind,
) -> Result<Vec<SessionTarget>, String> {
    let signal = signal_of(action)?;
    let sessions = backends::pg_signal(config)?.preview(signal).await?;
    Ok(sessions.iter().map(session_target).collect())
}

/// Signals the sessions `action` names, chosen afresh by the rule (so never one it refuses).
/// A refusal by the server (its privileges changed in between) is the error, in the server's
/// words with its SQLSTATE.
pub async fn execute_pg(config: &PostgresConfig, action: &ActionKind) -> Result<PgOutcome, String> {
    let signal = signal_of(action)?;
    let signalled = backends::pg_signal(config)?.signal(signal).await?;
    Ok(outcome(signal, signalled))
}

/// The one-line summary: `terminated 3 sessions (pids 4242, 4250, 4301)`.
fn outcome(signal: Signal, done: Signalled) -> PgOutcome {
    let Signalled {
        signalled,
        failed,
        simulated,
    } = done;
    let verb = match signal {
        Signal::Cancel(_) => "cancelled the query of",
        Signal::Terminate(_) | Signal::TerminateIdle(_) => "terminated",
    };
    let mut summary = if signalled.is_empty() && failed.is_empty() {
        match signal {
            Signal::TerminateIdle(older_than_secs) => format!(
                "no session idle in transaction for more than {older_than_secs} s; nothing terminated"
            ),
            Signal::Cancel(_) | Signal::Terminate(_) => {
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

// ---------------------------------------------------------------------------------------------
// Redis

/// The CLIENT LIST line of client `id` (sanitised), read with `CLIENT LIST ID id`; an error
/// when there is no such client.
pub async fn preview_redis(config: &RedisConfig, id: u64) -> Result<Option<String>, String> {
    let text = backends::redis_kill(config)?.client_list(id).await?;
    match client_line(&text, id) {
        Some(line) => Ok(Some(sanitize_truncated(line, MAX_CLIENT_LINE))),
        None => Err(format!("no client with id {id}")),
    }
}

/// Kills client `id` with `CLIENT KILL ID <id> SKIPME yes` (never the console's own
/// connection); an error when no client was killed.
pub async fn execute_redis(config: &RedisConfig, id: u64) -> Result<String, String> {
    match backends::redis_kill(config)?.kill(id).await? {
        Killed::Simulated => Ok(format!("simulated: client {id} would be killed")),
        Killed::Connections(0) => Err(format!("no client with id {id} (already gone?)")),
        Killed::Connections(1) => Ok(format!("killed client {id}")),
        Killed::Connections(n) => Ok(format!("killed client {id} ({n} connections)")),
    }
}

/// The line of CLIENT LIST whose `id` field is `id`.
fn client_line(text: &str, id: u64) -> Option<&str> {
    let field = format!("id={id}");
    text.lines()
        .map(str::trim)
        .find(|line| line.split(' ').any(|kv| kv == field))
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
    fn summaries_name_the_pids() {
        let done = |signalled: Vec<i32>, failed: Vec<(i32, String)>, simulated| Signalled {
            signalled,
            failed,
            simulated,
        };
        let action = Signal::TerminateIdle(60);
        assert_eq!(
            outcome(action, done(vec![4242, 4250, 4301], vec![], false)).summary,
            "terminated 3 sessions (pids 4242, 4250, 4301)"
        );
        assert_eq!(
            outcome(Signal::Terminate(7), done(vec![7], vec![], false)).summary,
            "terminated 1 session (pid 7)"
        );
        assert_eq!(
            outcome(action, done(vec![], vec![], false)).summary,
            "no session idle in transaction for more than 60 s; nothing terminated"
        );
        let failed = outcome(
            action,
            done(vec![1], vec![(2, "did not exit".into())], true),
        );
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
        use crate::sources::redis::Target as RedisTarget;
        let config = RedisConfig {
            name: "cache".into(),
            url: crate::config::Secret::Literal("redis://u:hunter22@bad host:1".into()),
            username: None,
            password: None,
            refresh: std::time::Duration::from_secs(2),
        };
        let Err(reason) = RedisTarget::from_config(&config) else {
            panic!("accepted");
        };
        assert!(!reason.contains("hunter22"), "{reason}");
    }
}
