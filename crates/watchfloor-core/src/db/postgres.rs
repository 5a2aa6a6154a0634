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
    /// Whether the session's role is a superuser (`None`: no role, or a role dropped since).
    #[serde(default)]
    pub role_superuser: Option<bool>,
    /// Whether the console's role has the privileges of the session's role
    /// (`pg_has_role(current_user, usesysid, 'USAGE')`, what the server checks before a
    /// signal); `None`: no role.
    #[serde(default)]
    pub role_privileges: Option<bool>,
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
    /// Slots ordinary roles cannot use: `superuser_reserved_connections`, plus
    /// `reserved_connections` on PostgreSQL 16+.
    pub superuser_reserved: u32,
    pub own_pid: i32,
    pub privileges: Privileges,
    /// The database the console is connected to (`current_database()`): the only one whose
    /// sessions its remediations touch. `None` when unknown.
    #[serde(default)]
    pub database: Option<String>,
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

impl PgStatus {
    /// The database's state as a report states it: the connection gauge, raised by what holds
    /// other work up. An open blocking chain is a warning, and critical once its root's
    /// transaction is older than `long_running_after`; a session idle in transaction past its
    /// threshold is a warning (it holds locks and a snapshot). Used by the snapshot and the
    /// incident report, so neither says `ok` while a 30-minute chain is open.
    pub fn state(&self) -> Health {
        let chains = self.blocking.iter().map(|chain| {
            let old = chain
                .root_seconds
                .is_some_and(|s| s >= self.thresholds.long_running_after.as_secs_f64());
            if old { Health::Crit } else { Health::Warn }
        });
        let idle = (!self.idle_in_transaction.is_empty()).then_some(Health::Warn);
        // Health orders Crit first: the worst is the minimum.
        std::iter::once(self.level)
            .chain(chains)
            .chain(idle)
            .min()
            .unwrap_or(self.level)
    }
}

impl Thresholds {
    /// The entry's thresholds; the config loader has already checked the fractions' ranges.
    pub fn from_config(config: &crate::config::PostgresConfig) -> Self {
        Self {
            long_running_after: config.long_running_after,
            idle_in_transaction_after: config.idle_in_transaction_after,
            warn_at: *config.warn_at.get_ref(),
            crit_at: *config.crit_at.get_ref(),
        }
    }
}

/// Why the console may not cancel or terminate a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalRefusal {
    /// pid 0 in `pg_blocking_pids`: a prepared transaction holds the locks, no backend.
    PreparedXact,
    /// A negative pid.
    NotAProcess,
    /// The console's own session.
    Own,
    /// Not a client backend: a background worker, walsender, autovacuum, checkpointer...
    NotClient(String),
    /// A session of another database than the one the console is connected to.
    OtherDatabase(String),
    /// A session connected to no database.
    NoDatabase,
    /// A superuser's session, and the console's role is not a superuser.
    SuperuserSession { role: Option<String> },
    /// The console's role has neither the privileges of the session's role nor those of
    /// `pg_signal_backend`.
    NoPrivilege { role: Option<String> },
    /// The role may signal it, but cannot see whether it is a client session (other roles'
    /// sessions show no type without `pg_read_all_stats`): a parallel worker or a background
    /// worker looks the same.
    HiddenType,
}

impl SignalRefusal {
    /// The reason about one pid, as the executor reports it: `pid 42 is not a client session of
    /// this database (it is a checkpointer)`, `pid 42: role "postgres" is a superuser: ...`.
    pub fn describe(&self, pid: i32) -> String {
        match self {
            Self::PreparedXact | Self::NotAProcess => self.to_string(),
            Self::Own
            | Self::NotClient(_)
            | Self::OtherDatabase(_)
            | Self::NoDatabase
            | Self::HiddenType => {
                format!("pid {pid} is not a client session of this database ({self})")
            }
            Self::SuperuserSession { .. } | Self::NoPrivilege { .. } => {
                format!("pid {pid}: {self}")
            }
        }
    }
}

impl std::fmt::Display for SignalRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = |role: &Option<String>| match role {
            Some(name) => format!("role {name:?}"),
            None => "its role".to_string(),
        };
        match self {
            Self::PreparedXact => f.write_str(
                "pid 0 is a prepared transaction: it cannot be signalled (it needs ROLLBACK PREPARED)",
            ),
            Self::NotAProcess => f.write_str("not a process id"),
            Self::Own => f.write_str("it is the console's own session"),
            Self::NotClient(kind) => write!(f, "it is a {kind}"),
            Self::OtherDatabase(name) => write!(f, "it is connected to database {name:?}"),
            Self::NoDatabase => f.write_str("it is not connected to a database"),
            Self::SuperuserSession { role: r } => write!(
                f,
                "{} is a superuser: only a superuser may signal its sessions",
                role(r)
            ),
            Self::NoPrivilege { role: r } => write!(
                f,
                "the console's role needs pg_signal_backend or the privileges of {} to signal \
                 its sessions",
                role(r)
            ),
            Self::HiddenType => f.write_str(
                "its session type is hidden from this role: it needs pg_read_all_stats",
            ),
        }
    }
}

/// Whether the console, connected as `sample` says (its role's privileges, its own pid, its
/// database), may cancel or terminate `session`: the one rule the planner, the dialog and the
/// executor apply. Pure.
///
/// PostgreSQL's own check (`pg_signal_backend` in `signalfuncs.c`, 9.6 and later): a superuser
/// backend, or a process without a role, only by a superuser; any other only by a role with
/// the privileges of the backend's role or of `pg_signal_backend`. On top of that the console
/// touches only client backends of its own database, never its own session, and never a
/// session whose type it cannot see.
pub fn signal_rule(sample: &PgSample, session: &Session) -> Result<(), SignalRefusal> {
    match session.pid {
        0 => return Err(SignalRefusal::PreparedXact),
        p if p < 0 => return Err(SignalRefusal::NotAProcess),
        _ => {}
    }
    if session.own || session.pid == sample.own_pid {
        return Err(SignalRefusal::Own);
    }
    if let Some(kind) = session.backend_type.as_deref()
        && kind != "client backend"
    {
        return Err(SignalRefusal::NotClient(kind.to_string()));
    }
    match (session.datname.as_deref(), sample.database.as_deref()) {
        (None, _) => return Err(SignalRefusal::NoDatabase),
        (Some(theirs), Some(ours)) if theirs != ours => {
            return Err(SignalRefusal::OtherDatabase(theirs.to_string()));
        }
        _ => {}
    }
    let privileges = sample.privileges;
    if !privileges.superuser {
        let role = session.usename.clone();
        if session.role_superuser == Some(true) {
            return Err(SignalRefusal::SuperuserSession { role });
        }
        if session.role_privileges != Some(true) && !privileges.signal_backend {
            return Err(SignalRefusal::NoPrivilege { role });
        }
    }
    if session.backend_type.is_none() {
        return Err(SignalRefusal::HiddenType);
    }
    Ok(())
}

/// What a PostgreSQL remediation does to sessions: cancel or terminate one pid, or terminate
/// every session idle in transaction for longer than a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Cancel(i32),
    Terminate(i32),
    TerminateIdle(u64),
}

/// The states a terminate-idle sweep hits.
pub const IDLE_STATES: [&str; 2] = [IDLE_IN_TRANSACTION, IDLE_IN_TRANSACTION_ABORTED];

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

/// `pid 42 is not a client session of this database`.
pub fn not_a_client(pid: i32) -> String {
    format!("pid {pid} is not a client session of this database")
}

/// The sessions of `sample` that `signal` hits, by [`signal_rule`] (the one rule the planner,
/// the dialog and every executor apply) and the signal's own filter. For a cancel or terminate,
/// the one pid, or why not in words; for terminate-idle, every session idle in transaction past
/// the threshold that the console's role may signal, oldest first (the others are left alone).
pub fn signal_targets(sample: &PgSample, signal: Signal) -> Result<Vec<&Session>, String> {
    match signal {
        Signal::Cancel(pid) | Signal::Terminate(pid) => {
            match sample.sessions.iter().find(|s| s.pid == pid) {
                Some(session) => signal_rule(sample, session)
                    .map(|()| vec![session])
                    .map_err(|refusal| refusal.describe(pid)),
                None if pid == 0 => Err(SignalRefusal::PreparedXact.to_string()),
                None if pid < 0 => Err(format!("pid {pid} is {}", SignalRefusal::NotAProcess)),
                None => Err(format!("{} (no such server process)", not_a_client(pid))),
            }
        }
        Signal::TerminateIdle(older_than_secs) => {
            let mut targets: Vec<&Session> = sample
                .sessions
                .iter()
                .filter(|s| idle_past(s, older_than_secs) && signal_rule(sample, s).is_ok())
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

/// How many clients [`analyse`] keeps in [`PgStatus::top_clients`].
pub const TOP_CLIENTS: usize = 5;
/// The root state shown for pid 0 in `pg_blocking_pids`: a prepared transaction, which holds
/// locks without a backend (it needs `ROLLBACK PREPARED`, it cannot be signalled).
pub const PREPARED_XACT: &str = "prepared xact";

const IDLE_IN_TRANSACTION: &str = "idle in transaction";
const IDLE_IN_TRANSACTION_ABORTED: &str = "idle in transaction (aborted)";

/// Turns one refresh's sample into what the pane shows. Pure and total: any sample (NULLs,
/// unknown states, cycles in the wait graph, NaN ages) gives an answer.
pub fn analyse(name: &str, sample: PgSample, thresholds: Thresholds) -> PgStatus {
    let used = u32::try_from(sample.sessions.len()).unwrap_or(u32::MAX);
    let usable = sample
        .max_connections
        .saturating_sub(sample.superuser_reserved)
        .max(1);
    let level = level(used, usable, &thresholds);
    let mut by_state: BTreeMap<String, u32> = STATES.iter().map(|s| (s.to_string(), 0)).collect();
    for session in &sample.sessions {
        *by_state
            .entry(state_label(session).to_string())
            .or_default() += 1;
    }
    let long_running = long_running(&sample.sessions, thresholds.long_running_after);
    let idle_in_transaction =
        idle_in_transaction(&sample.sessions, thresholds.idle_in_transaction_after);
    let blocking = blocking_chains(&sample.sessions);
    let top_clients = top_clients(&sample.sessions);
    PgStatus {
        name: name.to_string(),
        sample,
        used,
        usable,
        level,
        by_state,
        long_running,
        idle_in_transaction,
        blocking,
        top_clients,
        thresholds,
    }
}

/// The gauge colour. Running out of usable slots is critical whatever the fractions say: past
/// that point only superusers can connect.
fn level(used: u32, usable: u32, thresholds: &Thresholds) -> Health {
    let used_f = f64::from(used);
    let usable_f = f64::from(usable);
    if used >= usable || used_f >= thresholds.crit_at * usable_f {
        Health::Crit
    } else if used_f >= thresholds.warn_at * usable_f {
        Health::Warn
    } else {
        Health::Ok
    }
}

/// The [`STATES`] label a session is counted under. A hidden state (missing privileges) and a
/// state this build does not know both count as `unknown`, so the labels always add up to
/// `used` and a renderer walking [`STATES`] misses nobody.
fn state_label(session: &Session) -> &'static str {
    match session.state.as_deref() {
        Some(state) => STATES
            .iter()
            .find(|known| **known == state)
            .copied()
            .unwrap_or(UNKNOWN_STATE),
        None => UNKNOWN_STATE,
    }
}

/// `Type:Event` (or just the type when the event is hidden); `None` when not waiting.
fn wait_label(session: &Session) -> Option<String> {
    match (&session.wait_event_type, &session.wait_event) {
        (Some(kind), Some(event)) => Some(format!("{kind}:{event}")),
        (Some(kind), None) => Some(kind.clone()),
        (None, Some(event)) => Some(event.clone()),
        (None, None) => None,
    }
}

/// What a session waits for, as the DB pane shows and sorts it: `Type:Event`, or `None` when
/// it is not waiting. An idle session waiting for its client's next command (`ClientRead`) is
/// not held up by anything, so it counts as not waiting.
pub fn waiting_on(session: &Session) -> Option<String> {
    let idle_read = session.state.as_deref() == Some("idle")
        && session.wait_event.as_deref() == Some("ClientRead");
    if idle_read {
        return None;
    }
    wait_label(session)
}

/// An age usable for comparisons: finite and not negative (`now()` is the refresh's start, so a
/// query that began during the refresh has a tiny negative age).
fn age(seconds: Option<f64>) -> Option<f64> {
    seconds.filter(|s| s.is_finite()).map(|s| s.max(0.0))
}

fn long_running(sessions: &[Session], after: Duration) -> Vec<LongRunning> {
    let after = after.as_secs_f64();
    let mut found: Vec<LongRunning> = sessions
        .iter()
        .filter(|s| !s.own && s.state.as_deref() == Some("active"))
        .filter_map(|s| {
            let seconds = age(s.query_age).filter(|age| *age > after)?;
            Some(LongRunning {
                pid: s.pid,
                seconds,
                state: "active".to_string(),
                wait: wait_label(s),
                query: s.query.clone().unwrap_or_default(),
                usename: s.usename.clone(),
            })
        })
        .collect();
    found.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.pid.cmp(&b.pid)));
    found
}

/// Aged by `state_change`: `xact_start` is NULL for aborted transactions, and the time since the
/// session last did anything is what matters for a transaction pinning locks and the xmin horizon.
fn idle_in_transaction(sessions: &[Session], after: Duration) -> Vec<IdleInTransaction> {
    let after = after.as_secs_f64();
    let mut found: Vec<IdleInTransaction> = sessions
        .iter()
        .filter(|s| !s.own)
        .filter_map(|s| {
            let aborted = match s.state.as_deref() {
                Some(IDLE_IN_TRANSACTION) => false,
                Some(IDLE_IN_TRANSACTION_ABORTED) => true,
                _ => return None,
            };
            let seconds = age(s.state_age).filter(|age| *age > after)?;
            Some(IdleInTransaction {
                pid: s.pid,
                seconds,
                aborted,
                usename: s.usename.clone(),
                application_name: s.application_name.clone(),
                query: s.query.clone().unwrap_or_default(),
            })
        })
        .collect();
    found.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.pid.cmp(&b.pid)));
    found
}

/// The wait graph of one sample: who waits for whom, from `pg_blocking_pids`.
struct WaitGraph<'a> {
    /// blocker → the sessions it blocks (sorted, without duplicates).
    blocks: BTreeMap<i32, Vec<i32>>,
    /// blocked → its blockers (sorted, without duplicates; parallel queries list pids twice).
    waits: BTreeMap<i32, Vec<i32>>,
    by_pid: BTreeMap<i32, &'a Session>,
}

impl<'a> WaitGraph<'a> {
    fn new(sessions: &'a [Session]) -> Self {
        let mut blocks: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        let mut waits: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        let mut by_pid = BTreeMap::new();
        for session in sessions {
            by_pid.entry(session.pid).or_insert(session);
            for &blocker in &session.blocked_by {
                // A session cannot block itself; such an edge would only hide a root.
                if blocker == session.pid {
                    continue;
                }
                blocks.entry(blocker).or_default().push(session.pid);
                waits.entry(session.pid).or_default().push(blocker);
            }
        }
        for list in blocks.values_mut().chain(waits.values_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        Self {
            blocks,
            waits,
            by_pid,
        }
    }

    fn children(&self, pid: i32) -> &[i32] {
        self.blocks.get(&pid).map(Vec::as_slice).unwrap_or(&[])
    }

    fn blockers(&self, pid: i32) -> &[i32] {
        self.waits.get(&pid).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The chain hanging from `root`. Every session reachable from it is listed once, under the
    /// blocker that puts it deepest (C waiting for both A and B, B waiting for A, is shown behind
    /// B), depth first. Edges that close a cycle are ignored, so a deadlock still draws as a tree.
    fn chain(&self, root: i32) -> BlockingChain {
        // Depth-first from the root: reachable nodes in post-order; edges back into the current
        // path close a cycle and are dropped.
        let mut post_order = Vec::new();
        let mut on_path = BTreeMap::new(); // pid → still on the current path
        let mut back_edges = std::collections::BTreeSet::new();
        let mut stack: Vec<(i32, usize)> = vec![(root, 0)];
        on_path.insert(root, true);
        while let Some((pid, next)) = stack.last_mut() {
            let pid = *pid;
            match self.children(pid).get(*next) {
                Some(&child) => {
                    *next += 1;
                    match on_path.get(&child) {
                        Some(true) => {
                            back_edges.insert((pid, child));
                        }
                        Some(false) => {}
                        None => {
                            on_path.insert(child, true);
                            stack.push((child, 0));
                        }
                    }
                }
                None => {
                    on_path.insert(pid, false);
                    post_order.push(pid);
                    stack.pop();
                }
            }
        }
        // Longest path from the root over the acyclic rest, in topological order.
        let mut depth: BTreeMap<i32, u32> = BTreeMap::new();
        let mut parent: BTreeMap<i32, i32> = BTreeMap::new();
        depth.insert(root, 0);
        for &pid in post_order.iter().rev() {
            let Some(&d) = depth.get(&pid) else { continue };
            for &child in self.children(pid) {
                if child == root || back_edges.contains(&(pid, child)) {
                    continue;
                }
                let better = match depth.get(&child) {
                    None => true,
                    Some(&current) => d + 1 > current,
                };
                if better {
                    depth.insert(child, d + 1);
                    parent.insert(child, pid);
                }
            }
        }
        // The tree of chosen parents, walked depth first (children by pid).
        let mut tree: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for (&child, &p) in &parent {
            tree.entry(p).or_default().push(child);
        }
        let mut blocked = Vec::new();
        let mut walk: Vec<i32> = tree.get(&root).cloned().unwrap_or_default();
        walk.reverse();
        while let Some(pid) = walk.pop() {
            let session = self.by_pid.get(&pid);
            blocked.push(BlockedNode {
                pid,
                depth: depth.get(&pid).copied().unwrap_or(1),
                waits_for: parent.get(&pid).copied().unwrap_or(root),
                wait: session.and_then(|s| wait_label(s)),
                seconds: session.and_then(|s| age(s.query_age)),
                query: session.and_then(|s| s.query.clone()).unwrap_or_default(),
            });
            if let Some(children) = tree.get(&pid) {
                walk.extend(children.iter().rev());
            }
        }
        let root_session = self.by_pid.get(&root);
        let root_state = if root == 0 {
            PREPARED_XACT.to_string()
        } else {
            root_session
                .map(|s| state_label(s).to_string())
                .unwrap_or_else(|| UNKNOWN_STATE.to_string())
        };
        BlockingChain {
            root,
            root_state,
            // xact_start is NULL for an aborted transaction: fall back to state_change.
            root_seconds: root_session.and_then(|s| age(s.xact_age).or_else(|| age(s.state_age))),
            root_query: root_session
                .and_then(|s| s.query.clone())
                .unwrap_or_default(),
            depth: blocked.iter().map(|n| n.depth).max().unwrap_or(0),
            blocked,
        }
    }
}

/// Blocking chains, the largest first. Roots block someone and wait for nobody. Sessions left
/// over after that wait in (or behind) a cycle with no root, e.g. a deadlock the server has not
/// broken yet: each such cycle is shown rooted at its lowest pid.
fn blocking_chains(sessions: &[Session]) -> Vec<BlockingChain> {
    let graph = WaitGraph::new(sessions);
    let mut chains: Vec<BlockingChain> = graph
        .blocks
        .keys()
        .copied()
        .filter(|pid| graph.blockers(*pid).is_empty())
        .map(|root| graph.chain(root))
        .collect();
    let mut covered: std::collections::BTreeSet<i32> = chains
        .iter()
        .flat_map(|c| std::iter::once(c.root).chain(c.blocked.iter().map(|n| n.pid)))
        .collect();
    // Every uncovered waiter's blockers are uncovered too (else it would hang from a root), so
    // walking up from one always ends in a cycle.
    while let Some(&start) = graph.waits.keys().find(|pid| !covered.contains(pid)) {
        let mut seen = Vec::new();
        let mut pid = start;
        while !seen.contains(&pid) {
            seen.push(pid);
            match graph.blockers(pid).first() {
                Some(&up) => pid = up,
                None => break,
            }
        }
        let cycle_start = seen.iter().position(|p| *p == pid).unwrap_or(0);
        let root = seen[cycle_start..].iter().copied().min().unwrap_or(start);
        let chain = graph.chain(root);
        covered.insert(root);
        covered.extend(chain.blocked.iter().map(|n| n.pid));
        chains.push(chain);
    }
    chains.sort_by(|a, b| {
        b.blocked
            .len()
            .cmp(&a.blocked.len())
            .then(a.root.cmp(&b.root))
    });
    chains
}

/// Blank (or hidden) parts of a client label.
fn part(value: Option<&str>) -> &str {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => v,
        _ => "-",
    }
}

fn top_clients(sessions: &[Session]) -> Vec<TopClient> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for s in sessions {
        let label = format!(
            "{} · {} · {}",
            part(s.application_name.as_deref()),
            part(s.usename.as_deref()),
            part(s.client_addr.as_deref())
        );
        *counts.entry(label).or_default() += 1;
    }
    let mut clients: Vec<TopClient> = counts
        .into_iter()
        .map(|(label, sessions)| TopClient { label, sessions })
        .collect();
    // Stable sort over the label order: ties stay alphabetical.
    clients.sort_by_key(|c| std::cmp::Reverse(c.sessions));
    clients.truncate(TOP_CLIENTS);
    clients
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: i32, state: Option<&str>) -> Session {
        Session {
            pid,
            usename: Some("app".into()),
            application_name: Some("api".into()),
            client_addr: Some("10.0.0.1".into()),
            datname: Some("app".into()),
            state: state.map(str::to_string),
            wait_event_type: None,
            wait_event: None,
            backend_type: state.map(|_| "client backend".to_string()),
            query_age: Some(1.0),
            state_age: Some(1.0),
            xact_age: None,
            backend_age: Some(100.0),
            query: state.map(|_| format!("query of {pid}")),
            blocked_by: Vec::new(),
            own: false,
            role_superuser: Some(false),
            role_privileges: Some(false),
        }
    }

    fn hidden(pid: i32) -> Session {
        Session {
            usename: Some("other".into()),
            client_addr: None,
            query_age: None,
            state_age: None,
            backend_age: None,
            ..session(pid, None)
        }
    }

    fn waiting(pid: i32, on: &[i32], event: &str) -> Session {
        Session {
            wait_event_type: Some("Lock".into()),
            wait_event: Some(event.into()),
            blocked_by: on.to_vec(),
            ..session(pid, Some("active"))
        }
    }

    fn sample(sessions: Vec<Session>) -> PgSample {
        PgSample {
            server_version: "15.18".into(),
            max_connections: 20,
            superuser_reserved: 3,
            own_pid: 1,
            sessions,
            ..PgSample::default()
        }
    }

    fn own() -> Session {
        Session {
            own: true,
            query_age: Some(0.0),
            ..session(1, Some("active"))
        }
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            long_running_after: Duration::from_secs(10),
            idle_in_transaction_after: Duration::from_secs(60),
            warn_at: 0.5,
            crit_at: 0.9,
        }
    }

    fn run(sessions: Vec<Session>) -> PgStatus {
        analyse("db", sample(sessions), thresholds())
    }

    #[test]
    fn state_reflects_chains_and_idle_transactions_not_only_the_gauge() {
        // Few connections: the gauge alone says ok.
        assert_eq!(
            run(vec![own(), session(2, Some("active"))]).state(),
            Health::Ok
        );
        let young_root = Session {
            xact_age: Some(3.0),
            ..session(2, Some("idle in transaction"))
        };
        let status = run(vec![
            own(),
            young_root.clone(),
            waiting(3, &[2], "transactionid"),
        ]);
        assert_eq!(status.level, Health::Ok);
        assert_eq!(status.state(), Health::Warn, "an open chain is a warning");
        let old_root = Session {
            xact_age: Some(1800.0),
            ..young_root
        };
        let status = run(vec![own(), old_root, waiting(3, &[2], "transactionid")]);
        assert_eq!(
            status.state(),
            Health::Crit,
            "a 30-minute chain is critical"
        );
        let idle = Session {
            state_age: Some(120.0),
            xact_age: Some(120.0),
            ..session(2, Some("idle in transaction"))
        };
        assert_eq!(run(vec![own(), idle]).state(), Health::Warn);
    }

    fn pids_of(chain: &BlockingChain) -> Vec<(i32, u32, i32)> {
        chain
            .blocked
            .iter()
            .map(|n| (n.pid, n.depth, n.waits_for))
            .collect()
    }

    #[test]
    fn thresholds_come_from_the_config() {
        let config: crate::config::PostgresConfig = toml::from_str(
            "name = \"db\"\ndsn = \"host=x\"\nlong_running_after = \"2s\"\n\
             idle_in_transaction_after = \"5m\"\nwarn_at = 0.6\ncrit_at = 0.7",
        )
        .unwrap();
        let t = Thresholds::from_config(&config);
        assert_eq!(t.long_running_after, Duration::from_secs(2));
        assert_eq!(t.idle_in_transaction_after, Duration::from_secs(300));
        assert_eq!((t.warn_at, t.crit_at), (0.6, 0.7));
    }

    #[test]
    fn every_state_is_counted_and_hidden_sessions_are_unknown() {
        let status = run(vec![
            own(),
            session(2, Some("idle")),
            session(3, Some("idle")),
            session(4, Some("idle in transaction (aborted)")),
            session(5, Some("something new")),
            hidden(6),
            hidden(7),
        ]);
        assert_eq!(status.used, 7);
        assert_eq!(status.usable, 17);
        let count = |label: &str| status.by_state[label];
        assert_eq!(status.by_state.len(), STATES.len());
        assert_eq!(count("active"), 1, "own session included");
        assert_eq!(count("idle"), 2);
        assert_eq!(count("idle in transaction"), 0);
        assert_eq!(count("idle in transaction (aborted)"), 1);
        assert_eq!(count("fastpath function call"), 0);
        assert_eq!(count("disabled"), 0);
        assert_eq!(count(UNKNOWN_STATE), 3, "2 hidden + 1 unrecognised");
        assert_eq!(status.by_state.values().sum::<u32>(), status.used);
    }

    #[test]
    fn level_follows_the_usable_slots() {
        let level = |n: i32, max: u32, reserved: u32, warn: f64, crit: f64| {
            let mut s = sample((0..n).map(|pid| session(pid + 10, Some("idle"))).collect());
            s.max_connections = max;
            s.superuser_reserved = reserved;
            let t = Thresholds {
                warn_at: warn,
                crit_at: crit,
                ..thresholds()
            };
            let status = analyse("db", s, t);
            (status.usable, status.level)
        };
        // usable 17: warn at 8.5, crit at 15.3.
        assert_eq!(level(8, 20, 3, 0.5, 0.9), (17, Health::Ok));
        assert_eq!(level(9, 20, 3, 0.5, 0.9), (17, Health::Warn));
        assert_eq!(level(15, 20, 3, 0.5, 0.9), (17, Health::Warn));
        assert_eq!(level(16, 20, 3, 0.5, 0.9), (17, Health::Crit));
        // Out of usable slots is critical even with lax fractions.
        assert_eq!(level(17, 20, 3, 2.0, 3.0), (17, Health::Crit));
        // Reserved >= max: usable is at least 1.
        assert_eq!(level(0, 3, 3, 0.5, 0.9), (1, Health::Ok));
        assert_eq!(level(1, 0, 0, 0.5, 0.9), (1, Health::Crit));
        // NaN fractions never panic.
        assert_eq!(level(1, 20, 3, f64::NAN, f64::NAN), (17, Health::Ok));
    }

    #[test]
    fn long_running_skips_own_idle_and_young_oldest_first() {
        let mut own = own();
        own.query_age = Some(500.0);
        let status = run(vec![
            own,
            Session {
                query_age: Some(11.0),
                ..session(2, Some("active"))
            },
            Session {
                query_age: Some(99.0),
                wait_event_type: Some("Lock".into()),
                wait_event: Some("transactionid".into()),
                ..session(3, Some("active"))
            },
            Session {
                query_age: Some(9.0),
                ..session(4, Some("active"))
            },
            Session {
                query_age: Some(1000.0),
                ..session(5, Some("idle"))
            },
            Session {
                query_age: Some(f64::NAN),
                ..session(6, Some("active"))
            },
            Session {
                query_age: None,
                ..session(7, Some("active"))
            },
        ]);
        let found: Vec<(i32, f64, Option<&str>)> = status
            .long_running
            .iter()
            .map(|l| (l.pid, l.seconds, l.wait.as_deref()))
            .collect();
        assert_eq!(
            found,
            vec![(3, 99.0, Some("Lock:transactionid")), (2, 11.0, None)]
        );
        assert_eq!(status.long_running[0].query, "query of 3");
    }

    #[test]
    fn idle_in_transaction_is_aged_by_state_change() {
        let status = run(vec![
            own(),
            Session {
                state_age: Some(61.0),
                xact_age: Some(5000.0),
                ..session(2, Some("idle in transaction"))
            },
            // Aborted: xact_age is NULL, state_age is what counts.
            Session {
                state_age: Some(120.0),
                xact_age: None,
                ..session(3, Some("idle in transaction (aborted)"))
            },
            // Old transaction, recently active: not listed.
            Session {
                state_age: Some(30.0),
                xact_age: Some(9000.0),
                ..session(4, Some("idle in transaction"))
            },
            Session {
                state_age: Some(9000.0),
                ..session(5, Some("idle"))
            },
        ]);
        let found: Vec<(i32, f64, bool)> = status
            .idle_in_transaction
            .iter()
            .map(|i| (i.pid, i.seconds, i.aborted))
            .collect();
        assert_eq!(found, vec![(3, 120.0, true), (2, 61.0, false)]);
    }

    #[test]
    fn a_three_deep_chain_is_listed_depth_first() {
        // 10 holds the lock; 11 waits on it; 12 waits behind 11 (and, soft, on 10); 13 behind
        // 12; 14 waits on 10 directly.
        let root = Session {
            xact_age: Some(42.0),
            ..session(10, Some("idle in transaction"))
        };
        let status = run(vec![
            own(),
            waiting(14, &[10], "transactionid"),
            waiting(13, &[12, 12], "tuple"),
            waiting(12, &[10, 11], "tuple"),
            waiting(11, &[10], "transactionid"),
            root,
        ]);
        assert_eq!(status.blocking.len(), 1);
        let chain = &status.blocking[0];
        assert_eq!(chain.root, 10);
        assert_eq!(chain.root_state, "idle in transaction");
        assert_eq!(chain.root_seconds, Some(42.0));
        assert_eq!(chain.root_query, "query of 10");
        assert_eq!(chain.depth, 3);
        assert_eq!(
            pids_of(chain),
            vec![(11, 1, 10), (12, 2, 11), (13, 3, 12), (14, 1, 10)]
        );
        assert_eq!(chain.blocked[0].wait.as_deref(), Some("Lock:transactionid"));
        assert_eq!(chain.blocked[1].wait.as_deref(), Some("Lock:tuple"));
    }

    #[test]
    fn separate_chains_largest_first() {
        let status = run(vec![
            session(5, Some("active")),
            waiting(6, &[5], "relation"),
            session(20, Some("idle in transaction")),
            waiting(21, &[20], "transactionid"),
            waiting(22, &[20], "transactionid"),
        ]);
        let roots: Vec<(i32, usize)> = status
            .blocking
            .iter()
            .map(|c| (c.root, c.blocked.len()))
            .collect();
        assert_eq!(roots, vec![(20, 2), (5, 1)]);
    }

    #[test]
    fn a_deadlock_cycle_is_shown_from_its_lowest_pid() {
        // 30 → 31 → 32 → 30, and 33 waits behind 31.
        let status = run(vec![
            own(),
            waiting(32, &[31], "transactionid"),
            waiting(30, &[32], "transactionid"),
            waiting(31, &[30], "transactionid"),
            waiting(33, &[31], "tuple"),
        ]);
        assert_eq!(status.blocking.len(), 1);
        let chain = &status.blocking[0];
        assert_eq!(chain.root, 30);
        assert_eq!(chain.root_state, "active");
        assert_eq!(pids_of(chain), vec![(31, 1, 30), (32, 2, 31), (33, 2, 31)]);
        assert_eq!(chain.depth, 2);
    }

    #[test]
    fn two_cycles_and_a_self_edge_terminate() {
        let status = run(vec![
            waiting(40, &[41], "transactionid"),
            waiting(41, &[40], "transactionid"),
            waiting(50, &[51, 50], "transactionid"),
            waiting(51, &[50], "transactionid"),
            waiting(60, &[60], "transactionid"),
        ]);
        let roots: Vec<i32> = status.blocking.iter().map(|c| c.root).collect();
        assert_eq!(roots, vec![40, 50]);
        for chain in &status.blocking {
            assert_eq!(chain.blocked.len(), 1);
            assert_eq!(chain.depth, 1);
        }
    }

    #[test]
    fn a_prepared_transaction_and_unknown_blockers_are_roots() {
        let status = run(vec![
            waiting(70, &[0], "transactionid"),
            waiting(71, &[0, 70], "transactionid"),
            // 999 is not among the sampled sessions (a hidden or non-client backend).
            waiting(72, &[999], "relation"),
        ]);
        assert_eq!(status.blocking.len(), 2);
        let prepared = &status.blocking[0];
        assert_eq!(prepared.root, 0);
        assert_eq!(prepared.root_state, PREPARED_XACT);
        assert_eq!(prepared.root_seconds, None);
        assert_eq!(pids_of(prepared), vec![(70, 1, 0), (71, 2, 70)]);
        let other = &status.blocking[1];
        assert_eq!(other.root, 999);
        assert_eq!(other.root_state, UNKNOWN_STATE);
        assert_eq!(pids_of(other), vec![(72, 1, 999)]);
    }

    #[test]
    fn hidden_waiters_still_form_chains() {
        let mut blocked = hidden(81);
        blocked.blocked_by = vec![80];
        let status = run(vec![hidden(80), blocked]);
        assert_eq!(status.blocking.len(), 1);
        assert_eq!(status.blocking[0].root_state, UNKNOWN_STATE);
        assert_eq!(status.blocking[0].blocked[0].wait, None);
        assert_eq!(status.blocking[0].blocked[0].query, "");
    }

    #[test]
    fn top_clients_group_by_app_user_address() {
        let client = |pid: i32, app: &str, user: Option<&str>, addr: Option<&str>| Session {
            application_name: Some(app.into()),
            usename: user.map(str::to_string),
            client_addr: addr.map(str::to_string),
            ..session(pid, Some("idle"))
        };
        let mut sessions = vec![
            client(1, "api", Some("app"), Some("10.0.0.1")),
            client(2, "api", Some("app"), Some("10.0.0.1")),
            client(3, "api", Some("app"), Some("10.0.0.1")),
            client(4, "", None, None),
            client(5, "  ", Some("postgres"), None),
            client(6, "worker", Some("app"), Some("10.0.0.2")),
            client(7, "worker", Some("app"), Some("10.0.0.2")),
        ];
        for pid in 8..13 {
            sessions.push(client(pid, &format!("job{pid}"), Some("batch"), None));
        }
        let status = run(sessions);
        let top: Vec<(&str, u32)> = status
            .top_clients
            .iter()
            .map(|c| (c.label.as_str(), c.sessions))
            .collect();
        assert_eq!(
            top,
            vec![
                ("api · app · 10.0.0.1", 3),
                ("worker · app · 10.0.0.2", 2),
                ("- · - · -", 1),
                ("- · postgres · -", 1),
                ("job10 · batch · -", 1),
            ]
        );
    }

    /// The console's connection: role with `privileges`, pid 1, database `app`.
    fn console(privileges: Privileges) -> PgSample {
        PgSample {
            own_pid: 1,
            privileges,
            database: Some("app".into()),
            ..PgSample::default()
        }
    }

    const PLAIN: Privileges = Privileges {
        superuser: false,
        read_all_stats: false,
        signal_backend: false,
    };
    const MONITOR: Privileges = Privileges {
        read_all_stats: true,
        ..PLAIN
    };
    const SIGNALLER: Privileges = Privileges {
        signal_backend: true,
        read_all_stats: true,
        ..PLAIN
    };
    const SUPERUSER: Privileges = Privileges {
        superuser: true,
        ..PLAIN
    };

    fn of_superuser(pid: i32) -> Session {
        Session {
            usename: Some("postgres".into()),
            role_superuser: Some(true),
            ..session(pid, Some("active"))
        }
    }

    fn of_own_role(pid: i32) -> Session {
        Session {
            role_privileges: Some(true),
            ..session(pid, Some("active"))
        }
    }

    #[test]
    fn only_a_superuser_signals_a_superusers_session() {
        let target = of_superuser(7);
        for privileges in [PLAIN, MONITOR, SIGNALLER] {
            assert_eq!(
                signal_rule(&console(privileges), &target),
                Err(SignalRefusal::SuperuserSession {
                    role: Some("postgres".into())
                }),
                "{privileges:?}"
            );
        }
        // Even a member of the superuser's role (the server checks the target first).
        let member = Session {
            role_privileges: Some(true),
            ..of_superuser(7)
        };
        assert!(signal_rule(&console(SIGNALLER), &member).is_err());
        assert_eq!(signal_rule(&console(SUPERUSER), &target), Ok(()));
        let refusal = signal_rule(&console(MONITOR), &target).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "role \"postgres\" is a superuser: only a superuser may signal its sessions"
        );
        assert_eq!(
            refusal.describe(7),
            "pid 7: role \"postgres\" is a superuser: only a superuser may signal its sessions"
        );
    }

    #[test]
    fn other_roles_need_pg_signal_backend_or_their_privileges() {
        let other = session(7, Some("idle in transaction"));
        for privileges in [PLAIN, MONITOR] {
            let refusal = signal_rule(&console(privileges), &other).unwrap_err();
            assert_eq!(
                refusal,
                SignalRefusal::NoPrivilege {
                    role: Some("app".into())
                }
            );
            assert!(
                refusal.to_string().contains("pg_signal_backend"),
                "{refusal}"
            );
        }
        assert_eq!(signal_rule(&console(SIGNALLER), &other), Ok(()));
        // Sessions of a role whose privileges the console has: no pg_signal_backend needed.
        assert_eq!(signal_rule(&console(PLAIN), &of_own_role(8)), Ok(()));
        // Unknown privileges (no role) count as none.
        let roleless = Session {
            role_privileges: None,
            role_superuser: None,
            ..session(9, Some("active"))
        };
        assert!(signal_rule(&console(MONITOR), &roleless).is_err());
    }

    #[test]
    fn only_client_sessions_of_this_database_other_than_the_consoles() {
        let sample = console(SUPERUSER);
        let refused = |s: Session| signal_rule(&sample, &s).unwrap_err();
        assert_eq!(
            refused(session(0, Some("idle"))),
            SignalRefusal::PreparedXact
        );
        assert_eq!(
            refused(session(-4, Some("idle"))),
            SignalRefusal::NotAProcess
        );
        assert_eq!(refused(session(1, Some("active"))), SignalRefusal::Own);
        assert_eq!(refused(own()), SignalRefusal::Own);
        let walsender = Session {
            backend_type: Some("walsender".into()),
            ..session(5, Some("active"))
        };
        assert_eq!(
            refused(walsender).describe(5),
            "pid 5 is not a client session of this database (it is a walsender)"
        );
        let elsewhere = Session {
            datname: Some("other".into()),
            ..session(6, Some("idle"))
        };
        assert_eq!(
            refused(elsewhere).to_string(),
            "it is connected to database \"other\""
        );
        let nowhere = Session {
            datname: None,
            ..session(7, Some("idle"))
        };
        assert_eq!(refused(nowhere), SignalRefusal::NoDatabase);
        assert_eq!(signal_rule(&sample, &session(8, Some("idle"))), Ok(()));
        // A database the console does not know (the simulator): not a reason to refuse.
        let unknown = PgSample {
            database: None,
            ..console(SUPERUSER)
        };
        let elsewhere = Session {
            datname: Some("other".into()),
            ..session(6, Some("idle"))
        };
        assert_eq!(signal_rule(&unknown, &elsewhere), Ok(()));
    }

    #[test]
    fn a_session_of_hidden_type_is_never_signalled() {
        // Another role's session seen without pg_read_all_stats: no type, no state.
        let target = hidden(7);
        assert_eq!(
            signal_rule(&console(PLAIN), &target),
            Err(SignalRefusal::NoPrivilege {
                role: Some("other".into())
            }),
            "the missing privilege is the first reason"
        );
        let signaller = Privileges {
            read_all_stats: false,
            ..SIGNALLER
        };
        assert_eq!(
            signal_rule(&console(signaller), &target),
            Err(SignalRefusal::HiddenType)
        );
        let superuser_target = Session {
            role_superuser: Some(true),
            ..hidden(8)
        };
        assert!(matches!(
            signal_rule(&console(signaller), &superuser_target),
            Err(SignalRefusal::SuperuserSession { .. })
        ));
    }

    #[test]
    fn an_empty_sample_is_fine() {
        let status = analyse("db", PgSample::default(), Thresholds::default());
        assert_eq!((status.used, status.usable), (0, 1));
        assert_eq!(status.level, Health::Ok);
        assert!(status.blocking.is_empty() && status.top_clients.is_empty());
        assert_eq!(status.by_state.values().sum::<u32>(), 0);
    }
}
