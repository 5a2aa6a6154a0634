//! What the backends report to the console: one enum, so the sources need nothing of the UI.
//!
//! Every event carries the generation of the target it was started for; the console ignores
//! reports from a previous target (a switch of target bumps the generation).

use std::time::SystemTime;

use crate::config::TargetConfig;
use crate::data::{KubeUpdate, ObjectKey, ObjectRef};

/// What a source task reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Started, no answer yet.
    Connecting,
    /// The last attempt succeeded.
    Live,
    /// The last attempt failed; the source retries by itself.
    Error {
        reason: String,
        retry_at: Option<SystemTime>,
    },
    /// This build of watchfloor has no backend for this source yet.
    NotBuilt,
    /// The backend answers but cannot serve this source (e.g. a CRD that is not installed);
    /// checked again now and then, without error noise.
    Unavailable { reason: String },
}

/// What the pod detail view shows beyond the row: containers and recent events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodDetail {
    pub containers: Vec<crate::model::pods::ContainerDetail>,
    pub events: Vec<EventRow>,
}

/// A Kubernetes Event about the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub warning: bool,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub last_seen: Option<SystemTime>,
}

/// One report of a source task.
#[derive(Debug, Clone)]
pub enum SourceEvent {
    /// A source's state (`index`: its place in the target's source list).
    State {
        generation: u64,
        index: usize,
        state: SourceState,
        at: SystemTime,
    },
    /// The Kubernetes context the target resolved to.
    KubeContext { generation: u64, name: String },
    /// Rows from a Kubernetes watcher.
    Kube { generation: u64, update: KubeUpdate },
    /// From a log source (`source`: index of its `[[targets.logs]]` entry).
    Logs {
        generation: u64,
        source: usize,
        event: crate::logs::LogEvent,
    },
    /// The pod detail view's data (containers, events), or why it could not be had.
    PodDetail {
        generation: u64,
        key: ObjectKey,
        detail: Result<PodDetail, String>,
    },
    /// An object fetched for the YAML view (`y`): as `kubectl get -o yaml` prints it
    /// ([`crate::yaml::object_yaml`]), or why it could not be had.
    Yaml {
        generation: u64,
        object: ObjectRef,
        yaml: Result<String, String>,
    },
    /// Evaluated SLOs of the Prometheus source.
    Slo {
        generation: u64,
        results: Vec<crate::slo::SloResult>,
    },
    /// One refresh of the alerts and silences.
    Alerts {
        generation: u64,
        report: crate::alerts::AlertsReport,
    },
    /// One health endpoint's latest check (`index`: its `[[targets.health]]` entry).
    Health {
        generation: u64,
        index: usize,
        result: crate::slo::HealthResult,
    },
    /// One refresh of a database or cache of the DB pane.
    Db {
        generation: u64,
        update: crate::db::DbUpdate,
    },
}

impl SourceEvent {
    pub fn generation(&self) -> u64 {
        match self {
            Self::State { generation, .. }
            | Self::KubeContext { generation, .. }
            | Self::Kube { generation, .. }
            | Self::Logs { generation, .. }
            | Self::PodDetail { generation, .. }
            | Self::Yaml { generation, .. }
            | Self::Slo { generation, .. }
            | Self::Alerts { generation, .. }
            | Self::Health { generation, .. }
            | Self::Db { generation, .. } => *generation,
        }
    }

    /// An answer to one view's question (pod detail, YAML) rather than collected data.
    pub fn is_answer(&self) -> bool {
        matches!(self, Self::PodDetail { .. } | Self::Yaml { .. })
    }
}

/// Which config entry a source comes from (index into the target's list of that kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOrigin {
    Kubernetes,
    Prometheus,
    Health(usize),
    Postgres(usize),
    Redis(usize),
    Claims(usize),
    Logs(usize),
    /// Alertmanager, or Prometheus' own alerts when there is no Alertmanager.
    Alerts,
    /// The platform checks' watches (workloads, HPAs, nodes, events, certificates) and the
    /// metrics API: apart from `Kubernetes`, so that a kind this cluster lacks or forbids
    /// does not take the pods with it.
    Platform,
}

/// The sources a target configures, in pane order (Pods, SLO, DB, claims, logs), then the
/// alerts: the index of a source in this list is the `index` its reports carry.
pub fn source_origins(target: &TargetConfig) -> Vec<SourceOrigin> {
    let mut origins = Vec::new();
    if target.kubernetes.is_some() {
        origins.push(SourceOrigin::Kubernetes);
    }
    if target.prometheus.is_some() {
        origins.push(SourceOrigin::Prometheus);
    }
    origins.extend((0..target.health.len()).map(SourceOrigin::Health));
    origins.extend((0..target.postgres.len()).map(SourceOrigin::Postgres));
    origins.extend((0..target.redis.len()).map(SourceOrigin::Redis));
    origins.extend((0..target.claims.len()).map(SourceOrigin::Claims));
    origins.extend((0..target.logs.len()).map(SourceOrigin::Logs));
    // Last, so that the other sources keep their indexes whether or not alerts are read.
    if target.alertmanager.is_some() || target.prometheus.is_some() {
        origins.push(SourceOrigin::Alerts);
    }
    // After the others too, for the same reason.
    if target.kubernetes.is_some() {
        origins.push(SourceOrigin::Platform);
    }
    origins
}
