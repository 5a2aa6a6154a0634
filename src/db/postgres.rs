//! PostgreSQL connections: one refresh's sample of `pg_stat_activity` and what the pane derives
//! from it (usage against the usable slots, counts by state, long-running queries, old
//! idle-in-transaction sessions, blocking chains, top clients).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Health;

/// The state label of a session whose state the console may not see (missing privileges).
pub const UNKNOWN_STATE: &str = "unknown";

/// The six `pg_stat_activity.state` values, in display order, then `unknown`.
pub const STATES: [&str; 7] = [
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
    UNKNOWN_STATE,
];

/// One client session as `pg_stat_activity` showed it. Ages are seconds at sampling time.
/// Every string is sanitised (and `query` truncated) by the source before it lands here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub datname: Option<String>,
    /// `None` when hidden by missing privileges (counted as `unknown`).
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub backend_type: Option<String>,
    /// Seconds since `query_start`.
    pub query_age: Option<f64>,
    /// Seconds since `state_change` (how idle and aborted transactions are aged).
    pub state_age: Option<f64>,
    /// Seconds since `xact_start`.
    pub xact_age: Option<f64>,
    /// Seconds since `backend_start`.
    pub backend_age: Option<f64>,
    /// The (last) query, sanitised and truncated; `None` when hidden.
    pub query: Option<String>,
    /// `pg_blocking_pids(pid)`: who this session waits for (0 = a prepared transaction).
    pub blocked_by: Vec<i32>,
    /// The console's own monitoring session.
    pub own: bool,
}

/// What the console's role may see and do on this server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    pub superuser: bool,
    /// Member of pg_read_all_stats (or pg_monitor): sees every session's state and query.
    pub read_all_stats: bool,
    /// Member of pg_signal_backend: may cancel/terminate other roles' (non-superuser) sessions.
    pub signal_backend: bool,
}

impl Privileges {
    pub fn sees_all(&self) -> bool {
        self.superuser || self.read_all_stats
    }

    pub fn can_signal(&self) -> bool {
        self.superuser || self.signal_backend
    }
}

/// What one refresh read from the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PgSample {
    pub server_version: String,
    pub max_connections: u32,
    pub superuser_reserved: u32,
    pub own_pid: i32,
    pub privileges: Privileges,
    /// Client sessions (including the console's own), and sessions whose type is hidden.
    pub sessions: Vec<Session>,
    /// How long the refresh's queries took on the wire, in milliseconds.
    pub query_ms: f64,
    /// Figures from the demo's simulated platform, not a real server.
    pub simulated: bool,
}

/// Thresholds from the config entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub long_running_after: Duration,
    pub idle_in_transaction_after: Duration,
    /// Fractions of the usable connections (max - superuser reserved).
    pub warn_at: f64,
    pub crit_at: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            long_running_after: Duration::from_secs(300),
            idle_in_transaction_after: Duration::from_secs(3600),
            warn_at: 0.8,
            crit_at: 0.95,
        }
    }
}

/// A query active for longer than `long_running_after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LongRunning {
    pub pid: i32,
    pub seconds: f64,
    pub state: String,
    /// `Type:Event`, e.g. `Lock:transactionid`; `None` when not waiting.
    pub wait: Option<String>,
    pub query: String,
    pub usename: Option<String>,
}

/// A session idle in a transaction for longer than `idle_in_transaction_after` (by state_change).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleInTransaction {
    pub pid: i32,
    pub seconds: f64,
    pub aborted: bool,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub query: String,
}

/// A session in a blocking tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockedNode {
    pub pid: i32,
    /// 1 = waits directly for the root.
    pub depth: u32,
    /// The pid it waits for, within this chain.
    pub waits_for: i32,
    pub wait: Option<String>,
    pub seconds: Option<f64>,
    pub query: String,
}

/// A root blocker (blocks others, waits for nobody) and everything waiting behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockingChain {
    pub root: i32,
    pub root_state: String,
    /// Age of the root's transaction, seconds.
    pub root_seconds: Option<f64>,
    pub root_query: String,
    /// Depth-first order, so drawing it as a tree is a walk down the list.
    pub blocked: Vec<BlockedNode>,
    /// The deepest level.
    pub depth: u32,
}

/// Sessions grouped by who holds them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopClient {
    /// `application_name · usename · client address` (blank parts as `-`).
    pub label: String,
    pub sessions: u32,
}

/// One database as the pane shows it, derived once per refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct PgStatus {
    pub name: String,
    pub sample: PgSample,
    /// Client sessions, including the console's own and hidden ones.
    pub used: u32,
    /// `max_connections - superuser_reserved_connections`.
    pub usable: u32,
    /// Gauge colour: used/usable against warn_at / crit_at.
    pub level: Health,
    /// Count per state label of [`STATES`] (every label present, zeros included).
    pub by_state: BTreeMap<String, u32>,
    pub long_running: Vec<LongRunning>,
    pub idle_in_transaction: Vec<IdleInTransaction>,
    pub blocking: Vec<BlockingChain>,
    pub top_clients: Vec<TopClient>,
    pub thresholds: Thresholds,
}
