//! Cancelling and terminating sessions of a real PostgreSQL server ([`PgSignal`]).
//!
//! Which sessions may be hit is decided by one rule, [`signal_targets`] (reference
//! postgres-redis.md §2, §3, §6, and PostgreSQL's own check), applied to a fresh read of the
//! candidate sessions on the remediation's own connection ([`read_sample`]); the signalling
//! statement then re-checks each session on the server. Every call opens its own short-lived
//! connection (the monitoring connection is never used to signal) with a `statement_timeout`,
//! and the whole call is bounded by a deadline.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::db::postgres::{PgSample, Session, Signal, not_a_client, signal_targets};
use watchfloor_core::config::PostgresConfig;

use super::backends::{PgSignal, Signalled};
use super::{pg_connect, postgres};

/// `statement_timeout` of a remediation connection.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on connecting (the DSN's `connect_timeout`, 5 s by default) plus one statement.
const CALL_DEADLINE: Duration = Duration::from_secs(20);
/// How long `pg_terminate_backend` waits for each session to exit (milliseconds).
pub const TERMINATE_WAIT_MS: i64 = 5000;
/// Longest statement a group terminate may run, however many sessions it waits for.
const MAX_GROUP_STATEMENT: Duration = Duration::from_secs(300);

/// Sessions idle in transaction (or aborted) for more than `param` seconds (a float8
/// parameter such as `$2`), aged from `state_change` (`xact_start` is NULL for aborted ones,
/// reference §1).
pub fn idle_filter(param: &str) -> String {
    format!(
        "a.state IN ('idle in transaction', 'idle in transaction (aborted)') \
         AND now() - a.state_change > make_interval(secs => {param}::float8)"
    )
}

/// What the signalling statement checks again on the server, in the same statement as the
/// signal: the pids chosen (`$1`), still client backends of this database, never this session.
pub const STILL_SIGNALLABLE: &str = "a.pid = ANY($1::int4[]) AND a.pid <> pg_backend_pid() \
     AND a.datname = current_database() AND a.backend_type = 'client backend'";

/// A real server, reached with the entry's dsn.
pub struct PgServer {
    target: pg_connect::Target,
}

impl PgServer {
    /// Parses the entry's dsn (an error without the dsn when it is not valid).
    pub fn new(config: &PostgresConfig) -> Result<Self, String> {
        Ok(Self {
            target: pg_connect::parse(config)?,
        })
    }

    /// The sessions `signal` would hit, read in a READ ONLY transaction.
    async fn preview_sessions(&self, signal: Signal) -> Result<Vec<Session>, String> {
        bounded(CALL_DEADLINE, async {
            let mut client = pg_connect::connect(&self.target, STATEMENT_TIMEOUT).await?;
            let tx = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(|e| pg_connect::describe_error(&e))?;
            let sample = read_sample(&tx, signal).await?;
            let targets = signal_targets(&sample, signal)?
                .into_iter()
                .cloned()
                .collect();
            tx.rollback()
                .await
                .map_err(|e| pg_connect::describe_error(&e))?;
            Ok(targets)
        })
        .await
    }

    /// Chooses the sessions afresh, then signals them in one statement that re-checks on the
    /// server that each is still a client backend of this database (and, for terminate-idle,
    /// still idle in transaction past the threshold). Cancel uses `pg_cancel_backend(pid)`;
    /// terminate `pg_terminate_backend(pid, 5000)`, which waits up to 5 s for each session to
    /// exit (`false`: it did not, reported in `failed`).
    async fn signal_sessions(&self, signal: Signal) -> Result<Signalled, String> {
        let function = match signal {
            Signal::Cancel(_) => "pg_cancel_backend(a.pid)".to_string(),
            Signal::Terminate(_) | Signal::TerminateIdle(_) => {
                format!("pg_terminate_backend(a.pid, {TERMINATE_WAIT_MS})")
            }
        };
        let (client, pids, deadline) = bounded(CALL_DEADLINE, async {
            let client = pg_connect::connect(&self.target, STATEMENT_TIMEOUT).await?;
            let sample = read_sample(&client, signal).await?;
            let pids: Vec<i32> = signal_targets(&sample, signal)?
                .iter()
                .map(|s| s.pid)
                .collect();
            let mut deadline = CALL_DEADLINE;
            if let Signal::TerminateIdle(_) = signal {
                // Each session may take up to 5 s to exit: give the statement room for them
                // all, so it is not cut short half-way.
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
            return Ok(Signalled::default());
        }
        let (sql, threshold) = match signal {
            Signal::TerminateIdle(older_than_secs) => (
                format!(
                    "SELECT a.pid, {function} FROM pg_stat_activity a \
                     WHERE {STILL_SIGNALLABLE} AND {}",
                    idle_filter("$2")
                ),
                Some(older_than_secs as f64),
            ),
            Signal::Cancel(_) | Signal::Terminate(_) => (
                format!(
                    "SELECT a.pid, {function} FROM pg_stat_activity a WHERE {STILL_SIGNALLABLE}"
                ),
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
                    Signal::Cancel(_) => "not signalled (the process was gone?)".to_string(),
                    Signal::Terminate(_) | Signal::TerminateIdle(_) => format!(
                        "did not exit within {} s of the signal (or was already gone)",
                        TERMINATE_WAIT_MS / 1000
                    ),
                };
                failed.push((pid, reason));
            }
        }
        match signal {
            Signal::Cancel(pid) | Signal::Terminate(pid) if rows.is_empty() => Err(format!(
                "{} (it exited or changed before the signal)",
                not_a_client(pid)
            )),
            Signal::Cancel(_) | Signal::Terminate(_) | Signal::TerminateIdle(_) => Ok(Signalled {
                signalled,
                failed,
                simulated: false,
            }),
        }
    }
}

impl PgSignal for PgServer {
    fn preview(&self, signal: Signal) -> BoxFuture<'_, Result<Vec<Session>, String>> {
        Box::pin(self.preview_sessions(signal))
    }

    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<Signalled, String>> {
        Box::pin(self.signal_sessions(signal))
    }
}

/// What the rule needs, read on the remediation's own connection: its role's privileges, pid
/// and database ([`postgres::server_info`]), and the candidate sessions, read as the monitor
/// reads them ([`postgres::SESSION_SELECT`]) — for a cancel or terminate the row of that pid
/// whatever its type (to say why not), for terminate-idle the sessions idle in transaction past
/// the threshold.
async fn read_sample(
    client: &impl tokio_postgres::GenericClient,
    signal: Signal,
) -> Result<PgSample, String> {
    let info = postgres::server_info(client).await?;
    let rows = match signal {
        Signal::Cancel(pid) | Signal::Terminate(pid) => {
            let sql = format!("{} WHERE a.pid = $1::int4", postgres::SESSION_SELECT);
            client.query(&sql, &[&pid]).await
        }
        Signal::TerminateIdle(older_than_secs) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signal_statement_rechecks_on_the_server() {
        assert!(STILL_SIGNALLABLE.contains("pg_backend_pid()"));
        assert!(STILL_SIGNALLABLE.contains("'client backend'"));
        assert!(STILL_SIGNALLABLE.contains("current_database()"));
        assert!(idle_filter("$2").contains("now() - a.state_change"));
        assert!(idle_filter("$2").contains("secs => $2::float8"));
    }
}
