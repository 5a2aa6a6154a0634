//! The orders a viewer picks for a table (`o`: the next column, `O`: the other way round) and
//! the unhealthy-only toggle (`!`): which keys each table sorts by, how rows compare, which rows
//! are unhealthy. Pure, and the one place these rules live: the view builds its rows with them
//! and the UI marks the header with them.
//!
//! Every key has a natural direction (names A to Z, restarts most first, ages oldest first,
//! waits: waiting sessions first). Rows without a value (no node, no wait, no age) come last in
//! either direction, so reversing a column never buries the rows that have one. Ties keep the
//! table's default order (worst first), so an order is stable as data refreshes.

use std::cmp::Ordering;

use crate::db::postgres::{Session, waiting_on};
use crate::model::Health;
use crate::model::claims::ClaimRow;
use crate::model::deployments::{DeploymentRow, RolloutState};
use crate::model::pods::PodRow;
use watchfloor_core::platform::usage::PodUsage;

use super::pane::{PaneId, PodsMode};

/// A table whose order the viewer picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Pods,
    Deployments,
    Claims,
    /// A PostgreSQL database's sessions (the DB pane's detail view).
    Sessions,
}

impl Table {
    /// The table a pane shows: the Pods pane's second view is Deployments; the DB pane's
    /// order is its sessions'. None for panes without a sortable table.
    pub fn of(pane: PaneId, mode: PodsMode) -> Option<Self> {
        match pane {
            PaneId::Pods => match mode {
                PodsMode::Pods => Some(Self::Pods),
                PodsMode::Deployments => Some(Self::Deployments),
                _ => None,
            },
            PaneId::Claims => Some(Self::Claims),
            PaneId::Db => Some(Self::Sessions),
            PaneId::Slo | PaneId::Logs => None,
        }
    }

    /// The keys `o` cycles through, the default first.
    pub fn keys(self) -> &'static [Key] {
        match self {
            Self::Pods => &POD_KEYS,
            Self::Deployments => &DEPLOYMENT_KEYS,
            Self::Claims => &CLAIM_KEYS,
            Self::Sessions => &SESSION_KEYS,
        }
    }

    /// What the rows are called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Pods => "pods",
            Self::Deployments => "deployments",
            Self::Claims => "claims",
            Self::Sessions => "sessions",
        }
    }

    /// Whether `!` (unhealthy rows only) applies to this table.
    pub fn filters_unhealthy(self) -> bool {
        !matches!(self, Self::Sessions)
    }
}

/// What a key compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The table's default: health, then how much is missing (see `model::*::severity`).
    WorstFirst,
    Namespace,
    Name,
    Ready,
    Restarts,
    Age,
    Node,
    Revision,
    Rollout,
    State,
    Why,
    Wait,
    Pid,
    /// Usage from the metrics API, most first.
    Cpu,
    Memory,
}

impl Field {
    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::WorstFirst => "worst first",
            Self::Namespace => "namespace",
            Self::Name => "name",
            Self::Ready => "ready",
            Self::Restarts => "restarts",
            Self::Age => "age",
            Self::Node => "node",
            Self::Revision => "revision",
            Self::Rollout => "rollout",
            Self::State => "state",
            Self::Why => "why",
            Self::Wait => "wait",
            Self::Pid => "pid",
            Self::Cpu => "cpu",
            Self::Memory => "memory",
        }
    }
}

/// A key a table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub field: Field,
    /// The column header it marks (`AGE` -> `AGE↓`); None for the default "worst first", which
    /// is no single column and is not marked.
    pub header: Option<&'static str>,
    /// The natural direction: largest first.
    pub descending: bool,
}

const fn worst_first() -> Key {
    Key {
        field: Field::WorstFirst,
        header: None,
        descending: true,
    }
}

const fn up(header: &'static str, field: Field) -> Key {
    Key {
        field,
        header: Some(header),
        descending: false,
    }
}

const fn down(header: &'static str, field: Field) -> Key {
    Key {
        field,
        header: Some(header),
        descending: true,
    }
}

/// In the tables' column order after the default.
const POD_KEYS: [Key; 9] = [
    worst_first(),
    up("NAMESPACE", Field::Namespace),
    up("NAME", Field::Name),
    up("READY", Field::Ready),
    down("RESTARTS", Field::Restarts),
    down("AGE", Field::Age),
    up("NODE", Field::Node),
    down("CPU", Field::Cpu),
    down("MEM", Field::Memory),
];
const DEPLOYMENT_KEYS: [Key; 6] = [
    worst_first(),
    up("NAMESPACE", Field::Namespace),
    up("DEPLOYMENT", Field::Name),
    up("READY", Field::Ready),
    down("REV", Field::Revision),
    up("ROLLOUT", Field::Rollout),
];
const CLAIM_KEYS: [Key; 6] = [
    worst_first(),
    up("NAMESPACE", Field::Namespace),
    up("NAME", Field::Name),
    up("STATE", Field::State),
    down("AGE", Field::Age),
    up("WHY", Field::Why),
];
/// Sessions: who has held on longest first by default, as before.
const SESSION_KEYS: [Key; 4] = [
    down("XACT/QUERY", Field::Age),
    up("STATE", Field::State),
    up("WAIT", Field::Wait),
    up("PID", Field::Pid),
];

/// A viewer's order for one table: a key (index into `Table::keys`) and whether it is turned
/// round. The default is the table's first key, its natural way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    pub key: usize,
    pub reversed: bool,
}

impl Sort {
    /// `o`: the next key, its natural way; after the last, the default again.
    pub fn next(self, table: Table) -> Self {
        Self {
            key: (self.key + 1) % table.keys().len(),
            reversed: false,
        }
    }

    /// `O`: the same key the other way round.
    pub fn reverse(self) -> Self {
        Self {
            reversed: !self.reversed,
            ..self
        }
    }

    pub fn is_default(self) -> bool {
        self == Self::default()
    }

    pub fn key(self, table: Table) -> Key {
        let keys = table.keys();
        keys[self.key.min(keys.len() - 1)]
    }

    /// Largest first, as shown now.
    pub fn descending(self, table: Table) -> bool {
        self.key(table).descending != self.reversed
    }

    /// `↓` (largest first) or `↑`.
    pub fn arrow(self, table: Table) -> char {
        if self.descending(table) { '↓' } else { '↑' }
    }

    /// `age ↓`, `worst first`, `best first` (the default turned round).
    pub fn describe(self, table: Table) -> String {
        let key = self.key(table);
        match key.header {
            None if self.reversed => "best first".to_string(),
            None => key.field.label().to_string(),
            Some(_) => format!("{} {}", key.field.label(), self.arrow(table)),
        }
    }

    /// The header `header` as drawn: marked (`AGE↓`) when it is the sort column.
    pub fn mark(self, table: Table, header: &'static str) -> std::borrow::Cow<'static, str> {
        if self.key(table).header == Some(header) {
            std::borrow::Cow::Owned(format!("{header}{}", self.arrow(table)))
        } else {
            std::borrow::Cow::Borrowed(header)
        }
    }
}

/// Compares two optional values in `descending` order or not, rows without a value last.
fn by<T: PartialOrd>(a: Option<T>, b: Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let order = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A column whose `-` or blank means "no value".
fn text(value: &str) -> Option<&str> {
    (!matches!(value.trim(), "" | "-")).then_some(value)
}

/// How ready `ready` of `total` is, comparable across rows (`1/3` < `2/3` < `3/3`); a row
/// wanting none is fully ready.
fn readiness(ready: u32, total: u32) -> f64 {
    if total == 0 {
        1.0
    } else {
        f64::from(ready) / f64::from(total)
    }
}

/// An age's order from a start time: older first when descending (the earlier start).
fn started(at: Option<std::time::SystemTime>) -> Option<std::cmp::Reverse<std::time::SystemTime>> {
    at.map(std::cmp::Reverse)
}

/// Orders pods (given worst first) by `sort`; `usage` is the metrics API's last poll (pods
/// without a sample come last).
pub fn pods(
    rows: &mut [&PodRow],
    sort: Sort,
    usage: &std::collections::BTreeMap<crate::data::ObjectKey, PodUsage>,
) {
    let table = Table::Pods;
    if sort.is_default() {
        return;
    }
    let descending = sort.descending(table);
    let key = sort.key(table);
    if let Field::Cpu | Field::Memory = key.field {
        // One lookup per pod (not per comparison); pods without a sample last either way.
        let memory = key.field == Field::Memory;
        rows.sort_by_cached_key(|p| {
            let sample = usage.get(&(p.namespace.clone(), p.name.clone()));
            match sample.map(|u| {
                if memory {
                    u.memory_bytes()
                } else {
                    u.cpu_millis()
                }
            }) {
                Some(v) if descending => (0u8, u64::MAX - v),
                Some(v) => (0, v),
                None => (1, 0),
            }
        });
        return;
    }
    rows.sort_by(|a, b| match key.field {
        Field::Namespace => by(Some(&a.namespace), Some(&b.namespace), descending),
        Field::Name => by(Some(&a.name), Some(&b.name), descending),
        Field::Ready => by(
            Some(readiness(a.ready, a.total)),
            Some(readiness(b.ready, b.total)),
            descending,
        ),
        Field::Restarts => by(Some(a.restarts), Some(b.restarts), descending),
        Field::Age => by(started(a.created), started(b.created), descending),
        Field::Node => by(
            a.node.as_deref().and_then(text),
            b.node.as_deref().and_then(text),
            descending,
        ),
        // Worst first is the smallest severity first.
        _ => by(
            Some(crate::model::pods::severity(a)),
            Some(crate::model::pods::severity(b)),
            !descending,
        ),
    });
}

fn rollout_rank(state: &RolloutState) -> u8 {
    match state {
        RolloutState::Stalled => 0,
        RolloutState::Progressing => 1,
        RolloutState::Paused => 2,
        RolloutState::Complete => 3,
    }
}

/// Orders deployments (given worst first) by `sort`.
pub fn deployments(rows: &mut [&DeploymentRow], sort: Sort) {
    let table = Table::Deployments;
    if sort.is_default() {
        return;
    }
    let descending = sort.descending(table);
    let key = sort.key(table);
    rows.sort_by(|a, b| match key.field {
        Field::Namespace => by(Some(&a.namespace), Some(&b.namespace), descending),
        Field::Name => by(Some(&a.name), Some(&b.name), descending),
        Field::Ready => by(
            Some(readiness(a.ready, a.desired)),
            Some(readiness(b.ready, b.desired)),
            descending,
        ),
        Field::Revision => by(a.revision, b.revision, descending),
        Field::Rollout => by(
            Some(rollout_rank(&a.rollout)),
            Some(rollout_rank(&b.rollout)),
            descending,
        ),
        _ => by(
            Some(crate::model::deployments::severity(a)),
            Some(crate::model::deployments::severity(b)),
            !descending,
        ),
    });
}

/// Orders claims (given worst first, as indexes into `all`) by `sort`.
pub fn claims(rows: &mut [usize], all: &[ClaimRow], sort: Sort) {
    let table = Table::Claims;
    if sort.is_default() {
        return;
    }
    let descending = sort.descending(table);
    let key = sort.key(table);
    rows.sort_by(|a, b| {
        let (Some(x), Some(y)) = (all.get(*a), all.get(*b)) else {
            return Ordering::Equal;
        };
        match key.field {
            Field::Namespace => by(
                x.namespace.as_deref().and_then(text),
                y.namespace.as_deref().and_then(text),
                descending,
            ),
            Field::Name => by(Some(&x.name), Some(&y.name), descending),
            Field::State => by(text(&x.state), text(&y.state), descending),
            Field::Age => by(started(x.since), started(y.since), descending),
            Field::Why => by(text(&x.why), text(&y.why), descending),
            // `all` is worst first: its index is the default order.
            _ => by(Some(*a), Some(*b), !descending),
        }
    });
}

/// The age sessions are ordered by: of the transaction, else the query, else the backend.
pub fn session_age(s: &Session) -> Option<f64> {
    s.xact_age
        .or(s.query_age)
        .or(s.backend_age)
        .filter(|a| a.is_finite())
}

/// Orders sessions by `sort` (the default is oldest first); ties longest-held first, then by
/// pid, so the order never depends on the order the server listed them in.
pub fn sessions(rows: &mut [&Session], sort: Sort) {
    let table = Table::Sessions;
    let descending = sort.descending(table);
    let key = sort.key(table);
    let oldest = |a: &Session, b: &Session| {
        by(session_age(a), session_age(b), true).then_with(|| a.pid.cmp(&b.pid))
    };
    rows.sort_by(|a, b| {
        match key.field {
            Field::State => by(a.state.as_deref(), b.state.as_deref(), descending),
            Field::Wait => by(waiting_on(a), waiting_on(b), descending),
            Field::Pid => by(Some(a.pid), Some(b.pid), descending),
            _ => by(session_age(a), session_age(b), descending),
        }
        .then_with(|| oldest(a, b))
    });
}

/// Whether `!` keeps a row: anything not healthy (critical, warning). Finished pods
/// (Completed) are not unhealthy.
pub fn unhealthy(health: Health) -> bool {
    matches!(health, Health::Crit | Health::Warn)
}

/// Claims are unhealthy when stuck or not healthy.
pub fn unhealthy_claim(claim: &ClaimRow) -> bool {
    claim.stuck || unhealthy(claim.health)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn pod(name: &str, health: Health, restarts: u32, age_s: Option<u64>) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            ready: 1,
            total: 1,
            status: "Running".into(),
            health,
            restarts,
            last_restart: None,
            created: age_s.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 - s)),
            node: None,
            owner: None,
            resources: Default::default(),
            terminated: false,
        }
    }

    fn names(rows: &[&PodRow]) -> Vec<String> {
        rows.iter().map(|p| p.name.clone()).collect()
    }

    fn session(pid: i32, state: &str, wait: Option<(&str, &str)>, age: Option<f64>) -> Session {
        Session {
            pid,
            usename: None,
            application_name: None,
            client_addr: None,
            datname: None,
            state: Some(state.into()),
            wait_event_type: wait.map(|w| w.0.to_string()),
            wait_event: wait.map(|w| w.1.to_string()),
            backend_type: None,
            query_age: age,
            state_age: None,
            xact_age: None,
            backend_age: None,
            query: None,
            blocked_by: vec![],
            own: false,
            role_superuser: None,
            role_privileges: None,
        }
    }

    #[test]
    fn pods_sort_by_usage_most_first_and_pods_without_a_sample_last() {
        let rows = [
            pod("a", Health::Ok, 0, None),
            pod("b", Health::Ok, 0, None),
            pod("c", Health::Ok, 0, None),
        ];
        let sample = |name: &str, cpu: u64, memory: u64| PodUsage {
            namespace: "ns".into(),
            name: name.into(),
            containers: vec![watchfloor_core::platform::usage::ContainerUsage {
                name: "main".into(),
                cpu_millis: cpu,
                memory_bytes: memory,
            }],
            window: None,
            timestamp: None,
        };
        let usage: std::collections::BTreeMap<_, _> = [sample("a", 100, 900), sample("b", 700, 10)]
            .into_iter()
            .map(|u| ((u.namespace.clone(), u.name.clone()), u))
            .collect();
        let order = |field: Field, reversed: bool| {
            let key = Table::Pods
                .keys()
                .iter()
                .position(|k| k.field == field)
                .unwrap();
            let mut refs: Vec<&PodRow> = rows.iter().collect();
            pods(&mut refs, Sort { key, reversed }, &usage);
            refs.iter().map(|p| p.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(order(Field::Cpu, false), ["b", "a", "c"]);
        assert_eq!(order(Field::Memory, false), ["a", "b", "c"]);
        assert_eq!(order(Field::Memory, true), ["b", "a", "c"]);
    }

    #[test]
    fn o_cycles_the_columns_and_comes_back_to_the_default() {
        let mut sort = Sort::default();
        let mut seen = vec![sort.describe(Table::Pods)];
        for _ in 0..Table::Pods.keys().len() {
            sort = sort.next(Table::Pods);
            seen.push(sort.describe(Table::Pods));
        }
        assert_eq!(
            seen,
            [
                "worst first",
                "namespace ↑",
                "name ↑",
                "ready ↑",
                "restarts ↓",
                "age ↓",
                "node ↑",
                "cpu ↓",
                "memory ↓",
                "worst first"
            ]
        );
        assert!(sort.is_default());
        let reversed = sort.reverse();
        assert_eq!(reversed.describe(Table::Pods), "best first");
        // `o` after `O` starts the next column its natural way.
        assert!(!reversed.next(Table::Pods).reversed);
    }

    #[test]
    fn the_sort_column_is_marked_in_the_header() {
        let age = Sort {
            key: 5,
            reversed: false,
        };
        assert_eq!(age.mark(Table::Pods, "AGE"), "AGE↓");
        assert_eq!(age.reverse().mark(Table::Pods, "AGE"), "AGE↑");
        assert_eq!(age.mark(Table::Pods, "NAME"), "NAME");
        // The default (worst first) marks no column.
        for header in ["NAMESPACE", "NAME", "STATUS", "AGE"] {
            assert_eq!(Sort::default().mark(Table::Pods, header), header);
        }
        assert_eq!(
            Sort::default().mark(Table::Sessions, "XACT/QUERY"),
            "XACT/QUERY↓"
        );
    }

    #[test]
    fn pods_sort_by_restarts_age_and_back() {
        let a = pod("a", Health::Ok, 3, Some(100));
        let b = pod("b", Health::Crit, 0, Some(5000));
        let c = pod("c", Health::Warn, 9, None);
        let worst_first = [&b, &c, &a];
        let sorted = |sort: Sort| {
            let mut rows = worst_first.to_vec();
            pods(&mut rows, sort, &Default::default());
            names(&rows)
        };
        assert_eq!(sorted(Sort::default()), ["b", "c", "a"]);
        assert_eq!(sorted(Sort::default().reverse()), ["a", "c", "b"]);
        let restarts = Sort {
            key: 4,
            reversed: false,
        };
        assert_eq!(sorted(restarts), ["c", "a", "b"]);
        assert_eq!(sorted(restarts.reverse()), ["b", "a", "c"]);
        // Oldest first; a pod without a creation time is last either way.
        let age = Sort {
            key: 5,
            reversed: false,
        };
        assert_eq!(sorted(age), ["b", "a", "c"]);
        assert_eq!(sorted(age.reverse()), ["a", "b", "c"]);
        // Equal names keep worst first.
        let name = Sort {
            key: 2,
            reversed: false,
        };
        let twin = pod("a", Health::Crit, 0, None);
        let mut rows = vec![&twin, &b, &a];
        pods(&mut rows, name, &Default::default());
        assert_eq!(
            rows.iter().map(|p| p.health).collect::<Vec<_>>(),
            [Health::Crit, Health::Ok, Health::Crit]
        );
    }

    #[test]
    fn sorting_by_wait_puts_waiting_sessions_first() {
        let idle = session(1, "idle", Some(("Client", "ClientRead")), Some(900.0));
        let lock = session(2, "active", Some(("Lock", "transactionid")), Some(30.0));
        let io = session(3, "active", Some(("IO", "DataFileRead")), Some(60.0));
        let busy = session(4, "active", None, Some(5.0));
        let all = [&idle, &lock, &io, &busy];
        let sorted = |sort: Sort| {
            let mut rows = all.to_vec();
            sessions(&mut rows, sort);
            rows.iter().map(|s| s.pid).collect::<Vec<_>>()
        };
        assert_eq!(sorted(Sort::default()), [1, 3, 2, 4], "oldest first");
        let wait = Sort {
            key: 2,
            reversed: false,
        };
        assert_eq!(
            Sort::default().next(Table::Sessions).next(Table::Sessions),
            wait
        );
        // Waiting first (by what they wait for); an idle session reading from its client is
        // not waiting; the rest oldest first.
        assert_eq!(sorted(wait), [3, 2, 1, 4]);
        // Turned round, the waiting sessions are still first.
        assert_eq!(sorted(wait.reverse()), [2, 3, 1, 4]);
        assert_eq!(
            sorted(Sort {
                key: 3,
                reversed: true
            }),
            [4, 3, 2, 1]
        );
    }

    #[test]
    fn unhealthy_is_crit_or_warn_or_stuck() {
        assert!(unhealthy(Health::Crit) && unhealthy(Health::Warn));
        assert!(!unhealthy(Health::Ok) && !unhealthy(Health::Done));
    }
}
