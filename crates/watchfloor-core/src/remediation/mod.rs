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
    Kubernetes {
        context: String,
        namespace: String,
    },
    Postgres {
        entry: usize,
        database: String,
    },
    Redis {
        entry: usize,
        cache: String,
    },
    /// The target's `[targets.alertmanager]`.
    Alertmanager,
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

    /// `deployment`, `statefulset`, `daemonset`: as kubectl names objects (`statefulset/x`).
    pub fn singular(self) -> &'static str {
        match self {
            Self::Deployment => "deployment",
            Self::StatefulSet => "statefulset",
            Self::DaemonSet => "daemonset",
        }
    }
}

/// A workload whose rollout a remediation started, to follow until it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub namespace: String,
    pub kind: WorkloadKind,
    pub name: String,
}

impl std::fmt::Display for Rollout {
    /// `statefulset ns/name`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.kind.singular(),
            self.namespace,
            self.name
        )
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
        /// The desired count before, when known.
        from: Option<u32>,
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
    /// A new Alertmanager silence: `createdBy` is the operator, the comment ends with the
    /// audit attempt id.
    Silence {
        matchers: Vec<crate::alerts::Matcher>,
        duration_secs: u64,
        comment: String,
    },
    /// Expire an Alertmanager silence (`DELETE /api/v2/silence/{id}`).
    ExpireSilence {
        id: String,
    },
}

impl ActionKind {
    /// The action in words, e.g. `rollout undo`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RolloutRestart { .. } => "rollout restart",
            Self::RolloutUndo { .. } => "rollout undo",
            Self::Scale { .. } => "scale",
            Self::DeletePod { .. } => "delete pod",
            Self::RestartOperator { .. } => "restart operator",
            Self::PgCancel { .. } => "cancel",
            Self::PgTerminate { .. } => "terminate",
            Self::PgTerminateIdle { .. } => "terminate idle",
            Self::RedisKill { .. } => "redis client kill",
            Self::Silence { .. } => "silence",
            Self::ExpireSilence { .. } => "expire silence",
        }
    }

    /// The workload (kind, name) whose rollout this action starts once it ran: what is
    /// followed afterwards, with that kind's `rollout status` rule. Exhaustive on purpose: a
    /// new action does not compile until it says whether it rolls something.
    pub fn rolls(&self) -> Option<(WorkloadKind, &str)> {
        match self {
            Self::RolloutRestart { kind, name } => Some((*kind, name)),
            Self::RolloutUndo { name, .. } | Self::Scale { name, .. } => {
                Some((WorkloadKind::Deployment, name))
            }
            Self::DeletePod { .. }
            | Self::RestartOperator { .. }
            | Self::PgCancel { .. }
            | Self::PgTerminate { .. }
            | Self::PgTerminateIdle { .. }
            | Self::RedisKill { .. }
            | Self::Silence { .. }
            | Self::ExpireSilence { .. } => None,
        }
    }
}

/// Why a remediation step did not happen or did not succeed. The runner audits and the app
/// reports by the variant, never by the text; `Display` is the text shown and audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Read-only mode refused it before any request (the policy's reason).
    ReadOnly(String),
    /// The server refused the identity, in its own words: HTTP 403 Forbidden (RBAC, an
    /// admission policy), or an access review that said no and why.
    Forbidden(String),
    /// Anything else: the server's or backend's error verbatim, a failed access review, or
    /// kubectl's own client-side refusal (a paused Deployment, an unknown revision).
    Failed(String),
    /// The audit trail cannot be written, so nothing was run (fail closed).
    AuditUnavailable(String),
}

impl Failure {
    /// The audit outcome of an attempt that ended with this.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::ReadOnly(_) | Self::Forbidden(_) => Outcome::Denied,
            Self::Failed(_) | Self::AuditUnavailable(_) => Outcome::Failed,
        }
    }

    /// The reason as given (without the words `Display` adds).
    pub fn reason(&self) -> &str {
        match self {
            Self::ReadOnly(r)
            | Self::Forbidden(r)
            | Self::Failed(r)
            | Self::AuditUnavailable(r) => r,
        }
    }

    /// The reason, to redact in place.
    pub fn reason_mut(&mut self) -> &mut String {
        match self {
            Self::ReadOnly(r)
            | Self::Forbidden(r)
            | Self::Failed(r)
            | Self::AuditUnavailable(r) => r,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ReadOnly(r) | Self::Forbidden(r) | Self::Failed(r) => f.write_str(r),
            Self::AuditUnavailable(e) => {
                write!(f, "not run: the audit trail cannot be written: {e}")
            }
        }
    }
}

impl std::error::Error for Failure {}

/// An error without a finer kind (a backend's message, a missing configuration) is a failure.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::Failed(message.to_string())
    }
}

/// What a remediation would do, from a server-side dry run or a read-only query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// One line, e.g. `images quay.io/x:7.0.0 -> quay.io/x:6.3.1 (revision 6)`.
    pub summary: String,
    /// Details: pods that would go, sessions that would be hit (pid, age, query), as text.
    pub lines: Vec<String>,
    /// PostgreSQL actions: every session that would be hit, one entry each, for the dialog's
    /// table (`lines` holds the same as text). Empty for other actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<PreviewSession>,
}

/// One session a PostgreSQL action would hit, as its preview read it. Texts come from the
/// server: sanitised by the reader, and again wherever they are drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PreviewSession {
    pub pid: i32,
    pub user: Option<String>,
    pub application: Option<String>,
    /// `None` when the console's role may not see it.
    pub state: Option<String>,
    /// Whole seconds in its current state (idle in transaction for so long, or running the
    /// query for so long).
    pub age_secs: Option<u64>,
    /// The (last) query.
    pub query: String,
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
