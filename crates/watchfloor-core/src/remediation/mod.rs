//! Remediations as data: where one acts (`Place`), what it changes (`ActionKind`), what its
//! preview and rollout follow report, and the pure planner (`plan`) that decides what is offered.
//! The backends that preview and execute them live in the product crate.

pub mod access;
pub mod plan;

pub use plan::Plan;

use serde::Serialize;

/// Where a remediation acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    Kubernetes { context: String, namespace: String },
    Postgres { entry: usize, database: String },
    Redis { entry: usize, cache: String },
}

/// Which workload kind a rollout action targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    pub fn resource(self) -> &'static str {
        match self {
            Self::Deployment => "deployments",
            Self::StatefulSet => "statefulsets",
            Self::DaemonSet => "daemonsets",
        }
    }
}

/// The change a remediation makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionKind {
    RolloutRestart {
        kind: WorkloadKind,
        name: String,
    },
    /// `to_revision` 0 = the previous revision, as kubectl.
    RolloutUndo {
        name: String,
        to_revision: i64,
    },
    Scale {
        name: String,
        from: u32,
        to: u32,
    },
    /// `grace` None = the pod's own terminationGracePeriodSeconds; `force` = grace 0.
    DeletePod {
        name: String,
        grace: Option<i64>,
        force: bool,
    },
    /// Delete every pod matching a label selector (runbooks' "restart the operator").
    RestartOperator {
        selector: String,
    },
    PgCancel {
        pid: i32,
    },
    PgTerminate {
        pid: i32,
    },
    /// Terminate sessions idle in transaction for longer than this many seconds.
    PgTerminateIdle {
        older_than_secs: u64,
    },
    RedisKill {
        id: u64,
    },
}

/// What a remediation would do, from a server-side dry run or a read-only query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// One line, e.g. `images quay.io/x:7.0.0 -> quay.io/x:6.3.1 (revision 6)`.
    pub summary: String,
    /// Details: pods that would go, sessions that would be hit (pid, age, query).
    pub lines: Vec<String>,
}

/// A revision in the rollout undo picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub revision: i64,
    pub created: Option<std::time::SystemTime>,
    pub images: Vec<String>,
    pub change_cause: Option<String>,
    /// The Deployment's current template.
    pub current: bool,
}

/// How a followed rollout is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: bool,
    /// Failed or stalled, with the reason (e.g. ProgressDeadlineExceeded).
    pub failed: Option<String>,
    pub message: String,
}

/// The outcome of one remediation attempt, as the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Planned,
    Cancelled,
    Denied,
    Failed,
    Succeeded,
}

/// The outcomes as the audit trail names them.
pub const OUTCOMES: [(&str, Outcome); 5] = [
    ("planned", Outcome::Planned),
    ("cancelled", Outcome::Cancelled),
    ("denied", Outcome::Denied),
    ("failed", Outcome::Failed),
    ("succeeded", Outcome::Succeeded),
];

/// The outcome's name in the trail.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    OUTCOMES
        .iter()
        .find(|(_, o)| *o == outcome)
        .map_or("?", |(name, _)| name)
}

impl<'de> serde::Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        OUTCOMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, outcome)| *outcome)
            .ok_or_else(|| {
                serde::de::Error::unknown_variant(
                    &name,
                    &["planned", "cancelled", "denied", "failed", "succeeded"],
                )
            })
    }
}
