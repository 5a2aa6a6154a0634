//! `kubectl rollout status`, one rule per workload kind: the one copy that the Pods pane's
//! rollout state ([`super::deployments`]) and the remediations' rollout following
//! (`remediation::kube_exec::rollout_status`) both read, so they cannot disagree.
//!
//! Each rule mirrors kubectl `pkg/polymorphichelpers/rollout_status.go`
//! (`DeploymentStatusViewer`, `StatefulSetStatusViewer`, `DaemonSetStatusViewer`) branch for
//! branch, in kubectl's order, and answers which branch was taken with its numbers; `kubectl()`
//! renders that as kubectl prints it. Missing fields count as Go's zero values, as kubectl's
//! typed conversion makes them. Pure: no I/O.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};

/// kubectl's `TimedOutReason`: the Progressing condition's reason once the deadline passed.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// The only update strategy `rollout status` follows for StatefulSets and DaemonSets.
const ROLLING_UPDATE: &str = "RollingUpdate";

/// What `kubectl rollout status` prints for one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlStatus {
    /// The rollout is complete (kubectl exits 0).
    pub done: bool,
    /// kubectl stops with this error (a stalled Deployment; a strategy it cannot follow).
    pub error: Option<String>,
    /// kubectl's line, without the trailing newline (the error text when there is one).
    pub message: String,
}

impl KubectlStatus {
    fn waiting(message: String) -> Self {
        Self {
            done: false,
            error: None,
            message,
        }
    }

    fn done(message: String) -> Self {
        Self {
            done: true,
            error: None,
            message,
        }
    }

    fn error(message: String) -> Self {
        Self {
            done: false,
            error: Some(message.clone()),
            message,
        }
    }
}

fn int(n: Option<i32>) -> i64 {
    i64::from(n.unwrap_or(0))
}

fn unsupported_strategy() -> KubectlStatus {
    // kubectl names the StatefulSet constant for both kinds; the text is the same.
    KubectlStatus::error(format!(
        "rollout status is only available for {ROLLING_UPDATE} strategy type"
    ))
}

// ---------------------------------------------------------------------------------------------
// Deployment

/// kubectl's verdict on a Deployment (`DeploymentStatusViewer.Status`, revision 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentRollout {
    /// `metadata.generation` is ahead of `status.observedGeneration`.
    NotObserved,
    /// The Progressing condition's reason is ProgressDeadlineExceeded: kubectl gives up. The
    /// condition's message, when it has one.
    DeadlineExceeded {
        message: Option<String>,
    },
    /// Fewer updated replicas than `spec.replicas`.
    Updating {
        updated: i64,
        desired: i64,
    },
    /// Replicas of older revisions still running.
    OldPending {
        old: i64,
    },
    /// Updated replicas not all available yet.
    Unavailable {
        available: i64,
        updated: i64,
    },
    Complete,
}

/// `kubectl rollout status deployment/NAME`, one observation.
pub fn deployment_rollout(d: &Deployment) -> DeploymentRollout {
    let status = d.status.clone().unwrap_or_default();
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return DeploymentRollout::NotObserved;
    }
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    if let Some(c) = progressing.filter(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
        return DeploymentRollout::DeadlineExceeded {
            message: c.message.clone().filter(|m| !m.is_empty()),
        };
    }
    let updated = int(status.updated_replicas);
    if let Some(desired) = d.spec.as_ref().and_then(|s| s.replicas).map(i64::from)
        && updated < desired
    {
        return DeploymentRollout::Updating { updated, desired };
    }
    let replicas = int(status.replicas);
    if replicas > updated {
        return DeploymentRollout::OldPending {
            old: replicas - updated,
        };
    }
    let available = int(status.available_replicas);
    if available < updated {
        return DeploymentRollout::Unavailable { available, updated };
    }
    DeploymentRollout::Complete
}

impl DeploymentRollout {
    /// kubectl's line for the Deployment `name`.
    pub fn kubectl(&self, name: &str) -> KubectlStatus {
        let waiting = |state: String| {
            KubectlStatus::waiting(format!(
                "Waiting for deployment \"{name}\" rollout to finish: {state}..."
            ))
        };
        match self {
            Self::NotObserved => KubectlStatus::waiting(
                "Waiting for deployment spec update to be observed...".into(),
            ),
            Self::DeadlineExceeded { .. } => KubectlStatus::error(format!(
                "deployment \"{name}\" exceeded its progress deadline"
            )),
            Self::Updating { updated, desired } => waiting(format!(
                "{updated} out of {desired} new replicas have been updated"
            )),
            Self::OldPending { old } => {
                waiting(format!("{old} old replicas are pending termination"))
            }
            Self::Unavailable { available, updated } => waiting(format!(
                "{available} of {updated} updated replicas are available"
            )),
            Self::Complete => {
                KubectlStatus::done(format!("deployment \"{name}\" successfully rolled out"))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// StatefulSet

/// kubectl's verdict on a StatefulSet (`StatefulSetStatusViewer.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatefulSetRollout {
    /// `spec.updateStrategy.type` is not RollingUpdate (OnDelete): kubectl cannot follow it.
    NotRollingUpdate,
    /// No `status.observedGeneration` yet, or `metadata.generation` is ahead of it.
    NotObserved,
    /// `spec.replicas - readyReplicas` pods are not ready.
    NotReady {
        missing: i64,
    },
    /// A rolling update with a partition (the apiserver defaults `partition: 0`): fewer updated
    /// pods than `spec.replicas - partition`.
    Partitioned {
        updated: i64,
        target: i64,
    },
    /// The partitioned update is complete.
    PartitionedComplete {
        updated: i64,
    },
    /// Without `rollingUpdate` parameters: the update revision is not the current one yet.
    RevisionPending {
        updated: i64,
        revision: String,
    },
    Complete {
        current: i64,
        revision: String,
    },
}

/// `kubectl rollout status statefulset/NAME`, one observation.
pub fn statefulset_rollout(s: &StatefulSet) -> StatefulSetRollout {
    let spec = s.spec.clone().unwrap_or_default();
    let status = s.status.clone().unwrap_or_default();
    let strategy = spec.update_strategy.unwrap_or_default();
    if strategy.type_.as_deref() != Some(ROLLING_UPDATE) {
        return StatefulSetRollout::NotRollingUpdate;
    }
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || s.metadata.generation.unwrap_or(0) > observed {
        return StatefulSetRollout::NotObserved;
    }
    let replicas = spec.replicas.map(i64::from);
    let ready = int(status.ready_replicas);
    if let Some(replicas) = replicas
        && ready < replicas
    {
        return StatefulSetRollout::NotReady {
            missing: replicas - ready,
        };
    }
    let updated = int(status.updated_replicas);
    if let Some(rolling) = strategy.rolling_update {
        if let (Some(replicas), Some(partition)) = (replicas, rolling.partition) {
            let target = replicas - i64::from(partition);
            if updated < target {
                return StatefulSetRollout::Partitioned { updated, target };
            }
        }
        return StatefulSetRollout::PartitionedComplete { updated };
    }
    let update = status.update_revision.unwrap_or_default();
    let current = status.current_revision.unwrap_or_default();
    if update != current {
        return StatefulSetRollout::RevisionPending {
            updated,
            revision: update,
        };
    }
    StatefulSetRollout::Complete {
        current: int(status.current_replicas),
        revision: current,
    }
}

impl StatefulSetRollout {
    /// kubectl's line (kubectl does not name the StatefulSet in it).
    pub fn kubectl(&self) -> KubectlStatus {
        match self {
            Self::NotRollingUpdate => unsupported_strategy(),
            Self::NotObserved => KubectlStatus::waiting(
                "Waiting for statefulset spec update to be observed...".into(),
            ),
            Self::NotReady { missing } => {
                KubectlStatus::waiting(format!("Waiting for {missing} pods to be ready..."))
            }
            Self::Partitioned { updated, target } => KubectlStatus::waiting(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {target} new pods have been updated..."
            )),
            Self::PartitionedComplete { updated } => KubectlStatus::done(format!(
                "partitioned roll out complete: {updated} new pods have been updated..."
            )),
            Self::RevisionPending { updated, revision } => KubectlStatus::waiting(format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {revision}..."
            )),
            Self::Complete { current, revision } => KubectlStatus::done(format!(
                "statefulset rolling update complete {current} pods at revision {revision}..."
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DaemonSet

/// kubectl's verdict on a DaemonSet (`DaemonSetStatusViewer.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonSetRollout {
    /// `spec.updateStrategy.type` is not RollingUpdate (OnDelete): kubectl cannot follow it.
    NotRollingUpdate,
    /// `metadata.generation` is ahead of `status.observedGeneration`.
    NotObserved,
    /// Fewer nodes run an updated pod than should run one.
    Updating {
        updated: i64,
        desired: i64,
    },
    /// Not every node's pod is available yet.
    Unavailable {
        available: i64,
        desired: i64,
    },
    Complete,
}

/// `kubectl rollout status daemonset/NAME`, one observation.
pub fn daemonset_rollout(d: &DaemonSet) -> DaemonSetRollout {
    let spec = d.spec.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    let strategy = spec.update_strategy.unwrap_or_default();
    if strategy.type_.as_deref() != Some(ROLLING_UPDATE) {
        return DaemonSetRollout::NotRollingUpdate;
    }
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return DaemonSetRollout::NotObserved;
    }
    let desired = i64::from(status.desired_number_scheduled);
    let updated = int(status.updated_number_scheduled);
    if updated < desired {
        return DaemonSetRollout::Updating { updated, desired };
    }
    let available = int(status.number_available);
    if available < desired {
        return DaemonSetRollout::Unavailable { available, desired };
    }
    DaemonSetRollout::Complete
}

impl DaemonSetRollout {
    /// kubectl's line for the DaemonSet `name`.
    pub fn kubectl(&self, name: &str) -> KubectlStatus {
        match self {
            Self::NotRollingUpdate => unsupported_strategy(),
            Self::NotObserved => KubectlStatus::waiting(
                "Waiting for daemon set spec update to be observed...".into(),
            ),
            Self::Updating { updated, desired } => KubectlStatus::waiting(format!(
                "Waiting for daemon set \"{name}\" rollout to finish: {updated} out of {desired} new pods have been updated..."
            )),
            Self::Unavailable { available, desired } => KubectlStatus::waiting(format!(
                "Waiting for daemon set \"{name}\" rollout to finish: {available} of {desired} updated pods are available..."
            )),
            Self::Complete => {
                KubectlStatus::done(format!("daemon set \"{name}\" successfully rolled out"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn object<T: serde::de::DeserializeOwned>(kind: &str, spec: Value, status: Value) -> T {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": "x", "namespace": "ns", "generation": 3},
            "spec": spec,
            "status": status,
        }))
        .expect("a valid object")
    }

    fn deployment(status: Value) -> Deployment {
        let spec = json!({"replicas": 3, "selector": {}, "template": {}});
        object("Deployment", spec, status)
    }

    #[test]
    fn deployment_lines_are_kubectls() {
        let line = |status: Value| deployment_rollout(&deployment(status)).kubectl("web");
        assert_eq!(
            line(json!({"observedGeneration": 2})).message,
            "Waiting for deployment spec update to be observed..."
        );
        let stalled = line(
            json!({"observedGeneration": 3, "replicas": 4, "updatedReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "False", "reason": TIMED_OUT}]}),
        );
        assert_eq!(
            stalled.error.as_deref(),
            Some("deployment \"web\" exceeded its progress deadline")
        );
        assert!(!stalled.done);
        assert_eq!(
            line(json!({"observedGeneration": 3, "replicas": 4, "updatedReplicas": 1})).message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        assert_eq!(
            line(
                json!({"observedGeneration": 3, "replicas": 4, "updatedReplicas": 3,
                "availableReplicas": 3})
            )
            .message,
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            line(
                json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3,
                "availableReplicas": 2})
            )
            .message,
            "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available..."
        );
        let done = line(
            json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3,
            "availableReplicas": 3}),
        );
        assert!(done.done && done.error.is_none());
        assert_eq!(done.message, "deployment \"web\" successfully rolled out");
    }

    #[test]
    fn deployment_without_replicas_skips_the_updated_check_like_kubectl() {
        let d: Deployment = object(
            "Deployment",
            json!({"selector": {}, "template": {}}),
            json!({"observedGeneration": 3}),
        );
        assert_eq!(deployment_rollout(&d), DeploymentRollout::Complete);
        assert_eq!(
            deployment_rollout(&Deployment::default()),
            DeploymentRollout::Complete
        );
    }

    fn statefulset(strategy: Value, status: Value) -> StatefulSet {
        let spec = json!({"replicas": 3, "selector": {}, "template": {}, "serviceName": "x",
            "updateStrategy": strategy});
        object("StatefulSet", spec, status)
    }

    #[test]
    fn statefulset_lines_are_kubectls() {
        let partitioned = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
        let line = |strategy: &Value, status: Value| {
            statefulset_rollout(&statefulset(strategy.clone(), status)).kubectl()
        };
        assert_eq!(
            line(&partitioned, json!({"replicas": 3})).message,
            "Waiting for statefulset spec update to be observed...",
            "observedGeneration 0 is never observed"
        );
        assert_eq!(
            line(
                &partitioned,
                json!({"replicas": 3, "observedGeneration": 2})
            )
            .message,
            "Waiting for statefulset spec update to be observed..."
        );
        assert_eq!(
            line(
                &partitioned,
                json!({"replicas": 3, "observedGeneration": 3, "readyReplicas": 2})
            )
            .message,
            "Waiting for 1 pods to be ready..."
        );
        assert_eq!(
            line(
                &partitioned,
                json!({"replicas": 3, "observedGeneration": 3, "readyReplicas": 3,
                    "updatedReplicas": 1})
            )
            .message,
            "Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated..."
        );
        let done = line(
            &partitioned,
            json!({"replicas": 3, "observedGeneration": 3, "readyReplicas": 3,
                "updatedReplicas": 3}),
        );
        assert!(done.done);
        assert_eq!(
            done.message,
            "partitioned roll out complete: 3 new pods have been updated..."
        );
        // A partition of 2: one pod to update.
        let two = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}});
        assert!(
            line(
                &two,
                json!({"replicas": 3, "observedGeneration": 3, "readyReplicas": 3,
                    "updatedReplicas": 1})
            )
            .done
        );
        // Without rollingUpdate parameters: the revisions decide.
        let plain = json!({"type": "RollingUpdate"});
        let status = |current: &str| {
            json!({"replicas": 3, "observedGeneration": 3, "readyReplicas": 3,
                "updatedReplicas": 1, "currentReplicas": 3, "currentRevision": current,
                "updateRevision": "x-2"})
        };
        assert_eq!(
            line(&plain, status("x-1")).message,
            "waiting for statefulset rolling update to complete 1 pods at revision x-2..."
        );
        assert_eq!(
            line(&plain, status("x-2")).message,
            "statefulset rolling update complete 3 pods at revision x-2..."
        );
        let on_delete = line(&json!({"type": "OnDelete"}), status("x-2"));
        assert_eq!(
            on_delete.error.as_deref(),
            Some("rollout status is only available for RollingUpdate strategy type")
        );
    }

    fn daemonset(strategy: Value, status: Value) -> DaemonSet {
        let spec = json!({"selector": {}, "template": {}, "updateStrategy": strategy});
        object("DaemonSet", spec, status)
    }

    #[test]
    fn daemonset_lines_are_kubectls() {
        let rolling = json!({"type": "RollingUpdate"});
        let status = |observed: i64, updated: i64, available: i64| {
            json!({"observedGeneration": observed, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "numberMisscheduled": 0, "numberReady": available,
                "updatedNumberScheduled": updated, "numberAvailable": available})
        };
        let line = |strategy: &Value, status: Value| {
            daemonset_rollout(&daemonset(strategy.clone(), status)).kubectl("logs")
        };
        assert_eq!(
            line(&rolling, status(2, 3, 3)).message,
            "Waiting for daemon set spec update to be observed..."
        );
        assert_eq!(
            line(&rolling, status(3, 1, 3)).message,
            "Waiting for daemon set \"logs\" rollout to finish: 1 out of 3 new pods have been updated..."
        );
        assert_eq!(
            line(&rolling, status(3, 3, 2)).message,
            "Waiting for daemon set \"logs\" rollout to finish: 2 of 3 updated pods are available..."
        );
        let done = line(&rolling, status(3, 3, 3));
        assert!(done.done);
        assert_eq!(done.message, "daemon set \"logs\" successfully rolled out");
        assert!(
            line(&json!({"type": "OnDelete"}), status(3, 3, 3))
                .error
                .is_some()
        );
    }
}
