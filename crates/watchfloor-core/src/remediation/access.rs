//! The permission questions a remediation asks (SelfSubjectAccessReviews) and how their answers
//! read. Asking them is the backends' job; what to ask and what the answers mean is here.

use std::fmt;

use serde::Serialize;

use super::{ActionKind, Failure};

/// One SelfSubjectAccessReview question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AccessCheck {
    /// Empty = cluster scope.
    pub namespace: String,
    pub verb: String,
    /// "" = the core group.
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
}

impl AccessCheck {
    pub fn new(
        ns: &str,
        verb: &str,
        group: &str,
        resource: &str,
        sub: Option<&str>,
    ) -> AccessCheck {
        AccessCheck {
            namespace: ns.to_string(),
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            subresource: sub.map(str::to_string),
        }
    }
}

impl fmt::Display for AccessCheck {
    /// `patch deployments.apps in NS`, `patch deployments.apps/scale in NS`, `delete pods in NS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if let Some(s) = &self.subresource {
            write!(f, "/{s}")?;
        }
        if self.namespace.is_empty() {
            write!(f, " at the cluster scope")
        } else {
            write!(f, " in {}", self.namespace)
        }
    }
}

/// The SelfSubjectAccessReviews a remediation needs (none for SQL/Redis actions).
pub fn checks_for(action: &ActionKind, ns: &str) -> Vec<AccessCheck> {
    match action {
        ActionKind::RolloutRestart { kind, .. } => {
            vec![AccessCheck::new(ns, "patch", "apps", kind.resource(), None)]
        }
        ActionKind::RolloutUndo { .. } => vec![
            AccessCheck::new(ns, "list", "apps", "replicasets", None),
            AccessCheck::new(ns, "patch", "apps", "deployments", None),
        ],
        ActionKind::Scale { .. } => vec![AccessCheck::new(
            ns,
            "patch",
            "apps",
            "deployments",
            Some("scale"),
        )],
        ActionKind::DeletePod { .. } => vec![AccessCheck::new(ns, "delete", "", "pods", None)],
        ActionKind::RestartOperator { .. } => vec![
            AccessCheck::new(ns, "list", "", "pods", None),
            AccessCheck::new(ns, "delete", "", "pods", None),
        ],
        ActionKind::PgCancel { .. }
        | ActionKind::PgTerminate { .. }
        | ActionKind::PgTerminateIdle { .. }
        | ActionKind::RedisKill { .. }
        | ActionKind::Silence { .. }
        | ActionKind::ExpireSilence { .. } => Vec::new(),
    }
}

/// Not a SelfSubjectAccessReview: where the answer of Alertmanager (or the proxy in front of
/// it) to a silence write is kept once it refused one (401/403), so silencing and expiring are
/// then offered disabled with the server's reason. Never sent to a cluster.
pub fn silences_write() -> AccessCheck {
    AccessCheck::new("", "write", "alertmanager", "silences", None)
}

/// Why the action may not run: `not allowed: patch deployments.apps in NS` (with the server's
/// reason after a colon when it gave one), all denials joined by `; `. `None` = all allowed.
pub fn denied_reason(results: &[(AccessCheck, Result<bool, Failure>)]) -> Option<String> {
    let denied: Vec<String> = results
        .iter()
        .filter_map(|(check, r)| match r {
            Ok(true) => None,
            Ok(false) => Some(format!("not allowed: {check}")),
            Err(why) => Some(format!("not allowed: {check}: {why}")),
        })
        .collect();
    (!denied.is_empty()).then(|| denied.join("; "))
}
