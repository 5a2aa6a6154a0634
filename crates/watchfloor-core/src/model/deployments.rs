//! Deployment rows: ready/desired, rollout state, revision and images.

use std::time::SystemTime;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};

use super::rollout::{DeploymentRollout, deployment_rollout};
use super::{Health, system_time};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    Complete,
    Progressing,
    /// `Progressing` condition false with reason `ProgressDeadlineExceeded`.
    Stalled,
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
    /// `deployment.kubernetes.io/revision`.
    pub revision: Option<i64>,
    pub images: Vec<String>,
    pub rollout: RolloutState,
    /// The reason/message of the condition behind a stalled or progressing state.
    pub rollout_message: Option<String>,
    pub health: Health,
    #[serde(skip)]
    pub created: Option<SystemTime>,
    /// `status.conditions`, as the API lists them (for the detail view).
    #[serde(skip)]
    pub conditions: Vec<DeploymentCondition>,
}

/// One of a Deployment's `status.conditions` (`Available`, `Progressing`, `ReplicaFailure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentCondition {
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition: Option<SystemTime>,
    pub last_update: Option<SystemTime>,
}

use crate::kubectl::REVISION_ANNOTATION;

/// The row for one Deployment; missing status fields count as zero.
pub fn deployment_row(d: &Deployment) -> DeploymentRow {
    let spec = d.spec.as_ref();
    let default_status = DeploymentStatus::default();
    let status = d.status.as_ref().unwrap_or(&default_status);
    let counts = Counts {
        desired: replicas(spec.and_then(|s| s.replicas).or(Some(1))),
        ready: replicas(status.ready_replicas),
        updated: replicas(status.updated_replicas),
        available: replicas(status.available_replicas),
    };
    let (rollout, rollout_message) = rollout(d);
    let meta = &d.metadata;
    DeploymentRow {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        desired: counts.desired,
        ready: counts.ready,
        updated: counts.updated,
        available: counts.available,
        revision: meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION_ANNOTATION))
            .and_then(|r| crate::kubectl::parse_revision(Some(r))),
        images: spec
            .and_then(|s| s.template.spec.as_ref())
            .into_iter()
            .flat_map(|pod_spec| &pod_spec.containers)
            .filter_map(|c| c.image.clone())
            .collect(),
        health: health(&rollout, &counts),
        rollout,
        rollout_message,
        created: meta.creation_timestamp.as_ref().and_then(system_time),
        conditions: status
            .conditions
            .iter()
            .flatten()
            .map(|c| DeploymentCondition {
                kind: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone().filter(|r| !r.is_empty()),
                message: c.message.clone().filter(|m| !m.is_empty()),
                last_transition: c.last_transition_time.as_ref().and_then(system_time),
                last_update: c.last_update_time.as_ref().and_then(system_time),
            })
            .collect(),
    }
}

/// Worst health first, then the most missing replicas, then by namespace and name.
pub fn sort_worst_first(rows: &mut [DeploymentRow]) {
    rows.sort_by(|a, b| {
        severity(a)
            .cmp(&severity(b))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The worst-first key without the name tie-break (see `pods::severity`).
pub fn severity(row: &DeploymentRow) -> (Health, std::cmp::Reverse<u32>) {
    (
        row.health,
        std::cmp::Reverse(row.desired.saturating_sub(row.available)),
    )
}

struct Counts {
    desired: u32,
    ready: u32,
    updated: u32,
    available: u32,
}

fn replicas(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// The state `kubectl rollout status` would wait on, and what it is waiting for: kubectl's
/// rule ([`deployment_rollout`], the one the remediations follow rollouts with) in the pane's
/// words. Paused is the pane's own: kubectl just keeps waiting on a paused rollout.
fn rollout(d: &Deployment) -> (RolloutState, Option<String>) {
    if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
        return (RolloutState::Paused, None);
    }
    let waiting_for = match deployment_rollout(d) {
        DeploymentRollout::Complete => return (RolloutState::Complete, None),
        DeploymentRollout::DeadlineExceeded { message } => {
            let message = message.unwrap_or_else(|| "progress deadline exceeded".into());
            return (RolloutState::Stalled, Some(message));
        }
        DeploymentRollout::NotObserved => "waiting for the spec update to be observed".to_owned(),
        DeploymentRollout::Updating { updated, desired } => {
            format!("{updated} of {desired} new replicas updated")
        }
        DeploymentRollout::OldPending { old } => {
            format!("waiting for {old} old replica{} to terminate", plural(old))
        }
        DeploymentRollout::Unavailable { available, updated } => {
            format!("{available} of {updated} updated replicas available")
        }
    };
    (RolloutState::Progressing, Some(waiting_for))
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn health(rollout: &RolloutState, c: &Counts) -> Health {
    match rollout {
        RolloutState::Stalled => Health::Crit,
        _ if c.available == 0 && c.desired > 0 => Health::Crit,
        _ if c.available < c.desired => Health::Warn,
        RolloutState::Progressing | RolloutState::Paused => Health::Warn,
        RolloutState::Complete => Health::Ok,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::parse_time;

    /// A Deployment of `replicas` at generation 4, with `status` merged in.
    fn deployment(replicas: Value, status: Value) -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop", "generation": 4,
                "creationTimestamp": "2024-05-01T09:00:00Z",
                "annotations": {"deployment.kubernetes.io/revision": "7"},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [
                        {"name": "app", "image": "registry.example/web:1.4.2"},
                        {"name": "proxy", "image": "registry.example/envoy:1.30"},
                    ]},
                },
            },
            "status": status,
        }))
        .expect("a valid Deployment")
    }

    fn settled(n: u32) -> Value {
        json!({
            "observedGeneration": 4, "replicas": n, "updatedReplicas": n,
            "readyReplicas": n, "availableReplicas": n,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        })
    }

    fn state(row: &DeploymentRow) -> (RolloutState, Option<&str>, Health) {
        (
            row.rollout.clone(),
            row.rollout_message.as_deref(),
            row.health,
        )
    }

    #[test]
    fn complete_rollout_fills_every_column() {
        let row = deployment_row(&deployment(json!(3), settled(3)));
        assert_eq!(
            row,
            DeploymentRow {
                namespace: "shop".into(),
                name: "web".into(),
                desired: 3,
                ready: 3,
                updated: 3,
                available: 3,
                revision: Some(7),
                images: vec![
                    "registry.example/web:1.4.2".into(),
                    "registry.example/envoy:1.30".into(),
                ],
                rollout: RolloutState::Complete,
                rollout_message: None,
                health: Health::Ok,
                created: parse_time("2024-05-01T09:00:00Z"),
                conditions: ["Available", "Progressing"]
                    .into_iter()
                    .zip(["MinimumReplicasAvailable", "NewReplicaSetAvailable"])
                    .map(|(kind, reason)| DeploymentCondition {
                        kind: kind.into(),
                        status: "True".into(),
                        reason: Some(reason.into()),
                        message: None,
                        last_transition: None,
                        last_update: None,
                    })
                    .collect(),
            }
        );
    }

    #[test]
    fn replicas_default_to_one() {
        let row = deployment_row(&deployment(Value::Null, settled(1)));
        assert_eq!((row.desired, row.health), (1, Health::Ok));
    }

    #[test]
    fn scaled_to_zero_is_healthy() {
        let row = deployment_row(&deployment(json!(0), json!({"observedGeneration": 4})));
        assert_eq!(state(&row), (RolloutState::Complete, None, Health::Ok));
    }

    #[test]
    fn unobserved_generation_is_progressing() {
        let mut status = settled(3);
        status["observedGeneration"] = json!(3);
        let row = deployment_row(&deployment(json!(3), status));
        assert_eq!(
            state(&row),
            (
                RolloutState::Progressing,
                Some("waiting for the spec update to be observed"),
                Health::Warn
            )
        );
    }

    #[test]
    fn rollout_steps_are_described_like_kubectl_rollout_status() {
        let cases = [
            (
                json!({"observedGeneration": 4, "replicas": 4, "updatedReplicas": 1,
                       "readyReplicas": 3, "availableReplicas": 3}),
                "1 of 3 new replicas updated",
            ),
            (
                json!({"observedGeneration": 4, "replicas": 5, "updatedReplicas": 3,
                       "readyReplicas": 5, "availableReplicas": 5}),
                "waiting for 2 old replicas to terminate",
            ),
            (
                json!({"observedGeneration": 4, "replicas": 4, "updatedReplicas": 3,
                       "readyReplicas": 4, "availableReplicas": 4}),
                "waiting for 1 old replica to terminate",
            ),
            (
                json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3,
                       "readyReplicas": 2, "availableReplicas": 2}),
                "2 of 3 updated replicas available",
            ),
        ];
        for (status, message) in cases {
            let row = deployment_row(&deployment(json!(3), status));
            assert_eq!(
                state(&row),
                (RolloutState::Progressing, Some(message), Health::Warn),
                "{message}"
            );
        }
    }

    #[test]
    fn progress_deadline_exceeded_is_stalled_and_critical() {
        let status = json!({
            "observedGeneration": 4, "replicas": 4, "updatedReplicas": 1,
            "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [{
                "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet \"web-5d8f\" has timed out progressing.",
            }],
        });
        let row = deployment_row(&deployment(json!(3), status));
        assert_eq!(
            state(&row),
            (
                RolloutState::Stalled,
                Some("ReplicaSet \"web-5d8f\" has timed out progressing."),
                Health::Crit
            )
        );
    }

    #[test]
    fn paused_rollout_is_a_warning_even_when_settled() {
        let mut d = deployment(json!(3), settled(3));
        if let Some(spec) = d.spec.as_mut() {
            spec.paused = Some(true);
        }
        assert_eq!(
            state(&deployment_row(&d)),
            (RolloutState::Paused, None, Health::Warn)
        );
    }

    #[test]
    fn no_available_replicas_is_critical() {
        let status = json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3});
        let row = deployment_row(&deployment(json!(3), status));
        assert_eq!(
            state(&row),
            (
                RolloutState::Progressing,
                Some("0 of 3 updated replicas available"),
                Health::Crit
            )
        );
    }

    #[test]
    fn missing_and_malformed_fields_do_not_panic() {
        let row = deployment_row(&Deployment::default());
        assert_eq!((row.name.as_str(), row.desired, row.available), ("", 1, 0));
        assert_eq!((row.revision, row.images.len()), (None, 0));
        assert_eq!(row.health, Health::Crit);

        let mut d = deployment(json!(-2), json!({"replicas": -1}));
        d.metadata.annotations = Some([(REVISION_ANNOTATION.into(), "seven".into())].into());
        let row = deployment_row(&d);
        assert_eq!((row.desired, row.revision), (0, None));
    }

    fn row(name: &str, health: Health, desired: u32, available: u32) -> DeploymentRow {
        let mut row = deployment_row(&deployment(json!(desired), settled(available)));
        row.name = name.into();
        row.health = health;
        row
    }

    #[test]
    fn sorts_worst_first_then_most_missing_then_name() {
        let mut rows = vec![
            row("ok", Health::Ok, 2, 2),
            row("warn-b", Health::Warn, 3, 2),
            row("warn-a", Health::Warn, 3, 2),
            row("warn-big", Health::Warn, 9, 2),
            row("crit", Health::Crit, 3, 0),
        ];
        sort_worst_first(&mut rows);
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["crit", "warn-big", "warn-a", "warn-b", "ok"]);
    }
}
