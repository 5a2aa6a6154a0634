//! The PostgreSQL source of the DB pane: one long-lived monitoring connection per
//! `[[targets.postgres]]` entry, one query over `pg_stat_activity` every `refresh`.
//!
//! Why one connection and not a pool: the console is a client of a server that may be running out
//! of slots; it must take exactly one, keep it, and never open more while the operator watches the
//! server fill up. Every refresh is bounded twice: on the server by `statement_timeout` (set by
//! [`pg_connect::connect`]) and on the client by a deadline, because a stalled network never
//! delivers the server's error. Any failure drops the connection and reconnects after a backoff.
//!
//! Everything the server sends is untrusted: every value is read with `try_get` into an `Option`
//! (a NULL, or a type this build does not expect, becomes `None`), every string is sanitised.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio_postgres::{Client, Row, Statement, ToStatement};

use crate::db::DbUpdate;
use crate::db::postgres::{PgSample, PgStatus, Privileges, Session, Thresholds, analyse};
use crate::event::SourceState;
use crate::text::{sanitize, sanitize_truncated};
use watchfloor_core::config::PostgresConfig;

use super::backends::PgProbe;
use super::backoff::Backoff;
use super::kubernetes::Reporter;
use super::pg_connect;

/// Longest query text kept per session, in characters (the cut is marked with `…`).
pub const QUERY_CHARS: usize = 500;
/// Longest other string kept (names are at most 63 bytes in PostgreSQL; this is a safety cap).
const NAME_CHARS: usize = 128;
/// Refresh intervals below this are raised to it (zero would spin; `interval` panics on it).
const MIN_REFRESH: Duration = Duration::from_millis(100);
/// Bounds of the monitoring session's `statement_timeout`, see [`statement_timeout`].
const MIN_STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// When the DSN sets no `connect_timeout` (pg_connect applies the same default).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Read once per connection: settings that need a server restart (which also ends the
/// connection, so they are read again after it) and the role's privileges. A role granted
/// `pg_read_all_stats` while the console runs is seen after the next reconnect.
pub const SERVER_INFO_SQL: &str = "\
SELECT current_setting('server_version'),
       current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int
         + coalesce(current_setting('reserved_connections', true)::int, 0),
       pg_backend_pid(),
       coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user), false),
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE'),
       current_database()::text";

/// The columns of a session row, read by [`session_row`] (shared by the monitoring query and
/// the remediation executor, which reads the sessions it may hit the same way).
macro_rules! session_columns {
    () => {
        "a.pid,
       a.usename::text,
       a.application_name,
       host(a.client_addr),
       a.datname::text,
       a.state,
       a.wait_event_type,
       a.wait_event,
       a.backend_type,
       extract(epoch FROM now() - a.query_start)::float8,
       extract(epoch FROM now() - a.state_change)::float8,
       extract(epoch FROM now() - a.xact_start)::float8,
       extract(epoch FROM now() - a.backend_start)::float8,
       CASE WHEN a.backend_type IS NOT NULL THEN left(a.query, 501) END,
       CASE
         WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)
         WHEN a.backend_type IS NULL
              AND a.pid IN (SELECT l.pid FROM pg_locks l WHERE NOT l.granted)
           THEN pg_blocking_pids(a.pid)
       END,
       r.rolsuper,
       pg_has_role(current_user, a.usesysid, 'USAGE')
  FROM pg_stat_activity a
  LEFT JOIN pg_roles r ON r.oid = a.usesysid"
    };
}

/// The one query of a refresh: the client sessions, with ages in seconds and who blocks them.
///
/// * Sessions: `backend_type = 'client backend'`, plus rows whose type is hidden by missing
///   privileges (backend_type NULL) that belong to a role and a database, which is what other
///   roles' client sessions look like to an unprivileged role (background processes have no
///   role; autovacuum workers have no role; physical walsenders have no database). They are
///   counted as `unknown`, never dropped: they hold slots all the same.
/// * `query` is hidden for those rows (the server sends `<insufficient privilege>`), and cut to
///   `QUERY_CHARS + 1` characters so the sanitiser can tell it was cut.
/// * `pg_blocking_pids` takes the lock manager's partition locks exclusively for a moment, so it
///   is called only for sessions that can be blocked: those waiting on a heavyweight lock
///   (`wait_event_type = 'Lock'`), and hidden rows (whose wait event we cannot see) that have a
///   lock not granted in `pg_locks`. That `pg_locks` scan is a hashed subplan, read once per
///   refresh and only when a hidden row reaches it, instead of one `pg_blocking_pids` per
///   hidden row. An idle server costs no lock-manager access at all.
/// * Whether the session's role is a superuser (`pg_roles`, readable by every role) and whether
///   the console's role has its privileges (`pg_has_role … 'USAGE'`): what the server checks
///   before a cancel or terminate, so the console can tell beforehand
///   ([`crate::db::postgres::signal_rule`]).
/// * `now()` is the statement's start, so all ages share one clock.
pub const SESSIONS_SQL: &str = concat!(
    "SELECT ",
    session_columns!(),
    "
 WHERE a.backend_type = 'client backend'
    OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL AND a.datname IS NOT NULL)
 ORDER BY a.pid"
);

/// The session columns and their `FROM`, without a `WHERE`: `SESSION_SELECT + " WHERE …"`
/// reads rows [`session_row`] understands.
pub const SESSION_SELECT: &str = concat!("SELECT ", session_columns!());

/// What the console learnt about the server and its own role when it connected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerInfo {
    pub server_version: String,
    pub max_connections: u32,
    /// `superuser_reserved_connections`, plus `reserved_connections` on PostgreSQL 16+: the slots
    /// ordinary roles cannot use.
    pub superuser_reserved: u32,
    /// The monitoring session's own pid (counted as used, never listed or targeted).
    pub own_pid: i32,
    pub privileges: Privileges,
    /// `current_database()`.
    pub database: Option<String>,
}

/// The monitoring session's `statement_timeout`: the refresh interval, kept within 1–5 s.
///
/// The monitoring query answers in milliseconds on a healthy server; one that takes as long as
/// a refresh interval means the server is struggling, and the console should say so rather than
/// let refreshes queue up. The 1 s floor keeps ordinary jitter on a busy server (or a short
/// refresh) from turning into errors; the 5 s cap means a long refresh (say 60 s) never lets a
/// monitoring query hold a backend and a snapshot for long, and the operator hears of a stuck
/// server within seconds. `lock_timeout` gets the same value (pg_connect sets both).
pub fn statement_timeout(refresh: Duration) -> Duration {
    refresh.clamp(MIN_STATEMENT_TIMEOUT, MAX_STATEMENT_TIMEOUT)
}

/// The client-side bound of one refresh: the statement timeout plus one refresh interval (at
/// most 5 s) of slack for the round trip and the server's own error to arrive. Past it, the
/// network is presumed stalled.
pub fn refresh_deadline(refresh: Duration) -> Duration {
    let refresh = refresh.max(MIN_REFRESH);
    statement_timeout(refresh) + refresh.min(MAX_STATEMENT_TIMEOUT)
}

/// One open monitoring session: the client, what was read at connect, and the refresh query
/// prepared once (one round trip per refresh instead of two).
pub struct Monitor {
    client: Client,
    info: ServerInfo,
    sessions: Statement,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Connects (bounded by the DSN's `connect_timeout`, default 5 s, plus the statement
    /// timeout for the handshake and the setup queries), reads the [`ServerInfo`] and prepares
    /// the refresh query. `Err` is a short, sanitised reason.
    pub async fn open(config: &PostgresConfig) -> Result<Self, String> {
        let target = pg_connect::parse(config)?;
        let statement_timeout = statement_timeout(config.refresh.max(MIN_REFRESH));
        let bound = target
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
            .saturating_add(statement_timeout);
        let open = async {
            let client = pg_connect::connect(&target, statement_timeout)
                .await
                .map_err(|e| clear_reason(&e))?;
            // Nothing read on this session writes: say so to the server too (the SQL claims
            // queries share it, and run in READ ONLY transactions besides).
            client
                .batch_execute("SET default_transaction_read_only = on")
                .await
                .map_err(|e| db_reason(&e))?;
            let info = server_info(&client).await?;
            let sessions = client
                .prepare(SESSIONS_SQL)
                .await
                .map_err(|e| db_reason(&e))?;
            Ok(Self {
                client,
                info,
                sessions,
            })
        };
        match tokio::time::timeout(bound, open).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} while connecting",
                seconds(bound)
            )),
        }
    }

    /// One refresh over the prepared query; the caller bounds it (see [`refresh_deadline`]).
    pub async fn refresh(&self) -> Result<PgSample, String> {
        sample_with(&self.client, &self.sessions, &self.info).await
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// For a transaction (`build_transaction` needs `&mut`).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Reads the server's settings, the role's privileges and the database.
pub async fn server_info(
    client: &impl tokio_postgres::GenericClient,
) -> Result<ServerInfo, String> {
    let row = client
        .query_one(SERVER_INFO_SQL, &[])
        .await
        .map_err(|e| db_reason(&e))?;
    let count = |idx: usize| -> u32 {
        int(&row, idx)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let flag =
        |idx: usize| -> bool { row.try_get::<_, Option<bool>>(idx).ok().flatten() == Some(true) };
    Ok(ServerInfo {
        server_version: text(&row, 0, 64).unwrap_or_default(),
        max_connections: count(1),
        superuser_reserved: count(2),
        own_pid: int(&row, 3).unwrap_or(0),
        privileges: Privileges {
            superuser: flag(4),
            read_all_stats: flag(5),
            signal_backend: flag(6),
        },
        database: text(&row, 7, NAME_CHARS),
    })
}

/// One refresh with any client (unprepared: two round trips). The console itself uses
/// [`Monitor::refresh`]; this is for callers holding their own client (benchmarks).
pub async fn refresh(client: &Client, info: &ServerInfo) -> Result<PgSample, String> {
    sample_with(client, SESSIONS_SQL, info).await
}

async fn sample_with<T>(client: &Client, query: &T, info: &ServerInfo) -> Result<PgSample, String>
where
    T: ?Sized + ToStatement,
{
    let started = Instant::now();
    let rows = client.query(query, &[]).await.map_err(|e| db_reason(&e))?;
    let query_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sessions = rows
        .iter()
        .filter_map(|row| session_row(row, info.own_pid))
        .collect();
    Ok(PgSample {
        server_version: info.server_version.clone(),
        max_connections: info.max_connections,
        superuser_reserved: info.superuser_reserved,
        own_pid: info.own_pid,
        privileges: info.privileges,
        database: info.database.clone(),
        sessions,
        query_ms,
        simulated: false,
    })
}

/// One row of [`SESSIONS_SQL`] (or of [`SESSION_SELECT`]). Only a row without a readable pid
/// is skipped (it cannot be shown or targeted); every other column may be NULL or unreadable.
pub fn session_row(row: &Row, own_pid: i32) -> Option<Session> {
    let pid = int(row, 0)?;
    Some(Session {
        pid,
        usename: text(row, 1, NAME_CHARS),
        application_name: text(row, 2, NAME_CHARS),
        client_addr: text(row, 3, NAME_CHARS),
        datname: text(row, 4, NAME_CHARS),
        state: text(row, 5, NAME_CHARS),
        wait_event_type: text(row, 6, NAME_CHARS),
        wait_event: text(row, 7, NAME_CHARS),
        backend_type: text(row, 8, NAME_CHARS),
        query_age: float(row, 9),
        state_age: float(row, 10),
        xact_age: float(row, 11),
        backend_age: float(row, 12),
        query: text(row, 13, QUERY_CHARS),
        blocked_by: row
            .try_get::<_, Option<Vec<Option<i32>>>>(14)
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect(),
        own: pid == own_pid,
        role_superuser: row.try_get::<_, Option<bool>>(15).ok().flatten(),
        role_privileges: row.try_get::<_, Option<bool>>(16).ok().flatten(),
    })
}

fn text(row: &Row, idx: usize, max_chars: usize) -> Option<String> {
    row.try_get::<_, Option<String>>(idx)
        .ok()
        .flatten()
        .map(|s| sanitize_truncated(&s, max_chars))
}

fn float(row: &Row, idx: usize) -> Option<f64> {
    row.try_get::<_, Option<f64>>(idx)
        .ok()
        .flatten()
        .filter(|v| v.is_finite())
}

/// An integer column, whatever its width.
fn int(row: &Row, idx: usize) -> Option<i32> {
    match row.try_get::<_, Option<i32>>(idx) {
        Ok(value) => value,
        Err(_) => row
            .try_get::<_, Option<i64>>(idx)
            .ok()
            .flatten()
            .and_then(|v| i32::try_from(v).ok()),
    }
}

/// A short reason for a failed query.
fn db_reason(error: &tokio_postgres::Error) -> String {
    clear_reason(&pg_connect::describe_error(error))
}

/// Shortens the client library's wordings of the common network failures to what the operator
/// needs ("connection refused", not "error connecting to server: Connection refused (os error
/// 111)"). Server errors keep their message and SQLSTATE, e.g. `sorry, too many clients already
/// (53300)`.
fn clear_reason(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    let short = if lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("connection reset") {
        "connection reset by peer"
    } else if lower.contains("connection closed") || lower.contains("unexpected eof") {
        "connection closed"
    } else if lower.contains("timeout waiting for server") || lower.contains("timed out") {
        "connect timed out"
    } else {
        return sanitize_truncated(raw, 300);
    };
    short.to_string()
}

/// `1.3s`, `4s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

/// Refreshes once within `deadline`: `Err` says why not, including a stall.
async fn refresh_within(monitor: &Monitor, deadline: Duration) -> Result<PgSample, String> {
    match tokio::time::timeout(deadline, monitor.refresh()).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}", seconds(deadline))),
    }
}

/// One database's monitoring connection, shared by everything the console reads from it: the
/// DB pane's refreshes and the SQL claims polls of the same `[[targets.postgres]]` entry. The
/// console takes one slot per database, not one per pane.
///
/// The connection is opened by its first user, and after a failure again by the first user once
/// the backoff has passed: reconnecting with backoff happens here and nowhere else. Users take
/// turns (a fair mutex), so a claims poll's read-only transaction never has a refresh inside it
/// (`pg_stat_activity` would read the transaction's snapshot) and an aborted transaction never
/// fails the next refresh.
pub struct PgLink {
    config: PostgresConfig,
    state: tokio::sync::Mutex<LinkState>,
}

impl std::fmt::Debug for PgLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLink")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct LinkState {
    monitor: Option<Monitor>,
    /// Bumped at each connect: statements prepared on an older connection are gone with it.
    epoch: u64,
    /// Consecutive failures (the backoff grows with them).
    backoff: Backoff,
    /// The last failure's reason and when the link may connect again.
    retry: Option<(String, Instant)>,
}

/// The link is down: why, and how long until it tries again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDown {
    pub reason: String,
    pub retry_in: Duration,
}

/// Exclusive use of a [`PgLink`] until dropped.
pub struct LinkGuard<'a> {
    config: &'a PostgresConfig,
    state: tokio::sync::MutexGuard<'a, LinkState>,
}

impl PgLink {
    pub fn new(config: PostgresConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            state: tokio::sync::Mutex::new(LinkState::default()),
        })
    }

    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// Waits for the other users to finish, then hands the link over.
    pub async fn lock(&self) -> LinkGuard<'_> {
        LinkGuard {
            config: &self.config,
            state: self.state.lock().await,
        }
    }
}

impl LinkGuard<'_> {
    /// The open connection and its epoch, connecting first when there is none. While a
    /// failure's backoff runs, the failure again (with the time left) instead of a connect.
    pub async fn connection(&mut self) -> Result<(&mut Monitor, u64), LinkDown> {
        if self.state.monitor.is_none() {
            if let Some((reason, at)) = &self.state.retry {
                let now = Instant::now();
                if *at > now {
                    return Err(LinkDown {
                        reason: reason.clone(),
                        retry_in: *at - now,
                    });
                }
            }
            match Monitor::open(self.config).await {
                Ok(monitor) => {
                    self.state.monitor = Some(monitor);
                    self.state.epoch += 1;
                    self.state.retry = None;
                }
                Err(reason) => return Err(self.failed(reason)),
            }
        }
        let epoch = self.state.epoch;
        match self.state.monitor.as_mut() {
            Some(monitor) => Ok((monitor, epoch)),
            None => Err(LinkDown {
                reason: "not connected".into(),
                retry_in: Backoff::STANDARD.delay(),
            }),
        }
    }

    /// A failure that leaves the connection in doubt (closed, stalled, timed out): it is
    /// dropped, and the next user reconnects once the backoff (growing with consecutive
    /// failures) has passed. A query that timed out on the client may still run on the server
    /// until its `statement_timeout`; a new connection is the only clean state.
    pub fn failed(&mut self, reason: String) -> LinkDown {
        self.state.monitor = None;
        let retry_in = self.state.backoff.failed();
        self.state.retry = Some((reason.clone(), Instant::now() + retry_in));
        LinkDown { reason, retry_in }
    }

    /// Whether the open connection has closed (`None`: none is open).
    pub fn connection_is_closed(&self) -> Option<bool> {
        self.state.monitor.as_ref().map(|m| m.client.is_closed())
    }

    /// A successful use: the next failure starts the backoff over.
    pub fn succeeded(&mut self) {
        self.state.backoff.succeeded();
    }
}

impl PgProbe for PgLink {
    /// One refresh on the shared connection, within [`refresh_deadline`]: connects first when
    /// there is none (or, while a failure's backoff runs, that failure again).
    fn sample(&self) -> BoxFuture<'_, Result<PgSample, LinkDown>> {
        Box::pin(async move {
            let deadline = refresh_deadline(self.config.refresh);
            let mut guard = self.lock().await;
            let refreshed = match guard.connection().await {
                Ok((monitor, _)) => refresh_within(monitor, deadline).await,
                Err(down) => return Err(down),
            };
            match refreshed {
                Ok(sample) => {
                    guard.succeeded();
                    Ok(sample)
                }
                Err(reason) => Err(guard.failed(reason)),
            }
        })
    }

    fn sql_link(self: Arc<Self>) -> Option<Arc<PgLink>> {
        Some(self)
    }
}

/// Monitors `config`'s server on a connection of its own (see [`run_probe`]).
pub async fn run(config: PostgresConfig, index: usize, reporter: Reporter) {
    run_probe(PgLink::new(config.clone()), config, index, reporter).await;
}

/// Monitors the probe's server until the console is gone: refresh every `refresh` (the first at
/// once), report each as `SourceEvent::Db` then the source as live. On any failure: report the
/// reason with the retry time, and wait until the probe tries again (a real server's link
/// drops the connection and reconnects after a backoff, growing with consecutive failures,
/// reset by a success).
pub async fn run_probe(
    probe: Arc<dyn PgProbe>,
    config: PostgresConfig,
    index: usize,
    reporter: Reporter,
) {
    let refresh = config.refresh.max(MIN_REFRESH);
    let thresholds = Thresholds::from_config(&config);
    let name = sanitize(&config.name);
    let mut ticks = tokio::time::interval(refresh);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match probe.sample().await {
            Ok(sample) => {
                let status = analyse(&name, sample, thresholds);
                let update = DbUpdate::Postgres {
                    index,
                    status: Box::new(status),
                };
                if !reporter.db(update).await || !reporter.state(SourceState::Live).await {
                    return;
                }
            }
            Err(down) => {
                tracing::debug!(source = %name, reason = %down.reason, delay = ?down.retry_in,
                    "postgres refresh failed");
                if !reporter.error(down.reason, down.retry_in).await {
                    return;
                }
                tokio::time::sleep(down.retry_in).await;
            }
        }
    }
}

/// Connects, refreshes once and analyses it (for `watchfloor snapshot`). Bounded: connect as in
/// [`Monitor::open`], the refresh by [`refresh_deadline`].
pub async fn sample_once(config: &PostgresConfig) -> Result<PgStatus, String> {
    probe_once(PgLink::new(config.clone()).as_ref(), config).await
}

/// One sample of `probe`, analysed with `config`'s thresholds (for `watchfloor snapshot`).
pub async fn probe_once(probe: &dyn PgProbe, config: &PostgresConfig) -> Result<PgStatus, String> {
    let sample = probe.sample().await.map_err(|down| down.reason)?;
    Ok(analyse(
        &sanitize(&config.name),
        sample,
        Thresholds::from_config(config),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_the_refresh_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(statement_timeout(ms(300)), ms(1000));
        assert_eq!(statement_timeout(ms(2000)), ms(2000));
        assert_eq!(statement_timeout(ms(60_000)), ms(5000));
        assert_eq!(refresh_deadline(ms(300)), ms(1300));
        assert_eq!(refresh_deadline(ms(2000)), ms(4000));
        assert_eq!(refresh_deadline(ms(60_000)), ms(10_000));
        assert_eq!(refresh_deadline(Duration::ZERO), ms(1100));
    }

    #[test]
    fn reasons_are_short() {
        assert_eq!(
            clear_reason("error connecting to server: Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(clear_reason("connection closed"), "connection closed");
        assert_eq!(
            clear_reason("sorry, too many clients already (53300)"),
            "sorry, too many clients already (53300)"
        );
        assert_eq!(clear_reason("bad\x1b[2Jthing"), "badthing");
        assert_eq!(seconds(Duration::from_millis(1300)), "1.3s");
        assert_eq!(seconds(Duration::from_secs(4)), "4s");
    }
}
