//! The data the panes show, as kept by the app: small rows keyed by namespace/name, plus the
//! worst-first orderings that drawing reads (computed once per batch of updates, not per frame).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::model::Health;
use crate::model::claims::{ClaimRow, sort_worst_first as sort_claims};
use crate::model::deployments::{DeploymentRow, severity as deployment_severity};
use crate::model::pods::{PodRow, PodSummary, pod_summary, severity as pod_severity};
use crate::platform::certs::{CERT_CRIT, CERT_WARN, CertificateRow, cert_check};
use crate::platform::events::{EventGroup, EventRow, group_events};
use crate::platform::hpa::{HpaRow, severity as hpa_severity};
use crate::platform::nodes::{NodeLoad, NodeRow, node_check, node_loads, node_problems};
use crate::platform::summary::PlatformSummary;
use crate::platform::usage::{NodeUsage, PodUsage, memory_level};
use crate::platform::workloads::{
    CronJobCheck, CronJobRow, DaemonSetRow, JobRow, StatefulSetRow, cronjob_check,
    daemonset_severity, is_newer_job, job_severity, statefulset_severity,
};

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

/// One API object as the API server names it: enough to GET it (`y` shows its YAML).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// The API group, `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The resource's plural, as in its URL (`pods`, `resourceclaims`).
    pub plural: String,
    /// `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn pod(namespace: &str, name: &str) -> Self {
        Self::namespaced("", "v1", "Pod", "pods", namespace, name)
    }

    pub fn deployment(namespace: &str, name: &str) -> Self {
        Self::namespaced("apps", "v1", "Deployment", "deployments", namespace, name)
    }

    fn namespaced(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployment/NAMESPACE/NAME` (`kind/NAME` when cluster-scoped), unsanitised.
    pub fn label(&self) -> String {
        let kind = self.kind.to_lowercase();
        match &self.namespace {
            Some(namespace) => format!("{kind}/{namespace}/{}", self.name),
            None => format!("{kind}/{}", self.name),
        }
    }
}

/// A ReplicaSet, as far as rollouts and pod ownership need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetRow {
    pub namespace: String,
    pub name: String,
    /// The controlling Deployment's name.
    pub deployment: Option<String>,
    pub revision: Option<i64>,
    pub images: Vec<String>,
    pub replicas: u32,
}

/// A change to one kind's rows, as a watcher reports it.
#[derive(Debug, Clone)]
pub enum RowUpdate<R> {
    /// A (re)list finished: these are all the rows of `namespace` (`None`: all namespaces).
    Replace {
        namespace: Option<String>,
        rows: Vec<R>,
    },
    Upsert(R),
    Remove(ObjectKey),
}

/// Rows with a key.
pub trait Keyed {
    fn key(&self) -> ObjectKey;
}

impl Keyed for PodRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

impl Keyed for DeploymentRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

impl Keyed for ReplicaSetRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// Namespaced rows keyed by namespace/name.
macro_rules! keyed_by_namespace {
    ($($row:ty),*) => {$(
        impl Keyed for $row {
            fn key(&self) -> ObjectKey {
                (self.namespace.clone(), self.name.clone())
            }
        }
    )*};
}

keyed_by_namespace!(
    StatefulSetRow,
    DaemonSetRow,
    JobRow,
    CronJobRow,
    HpaRow,
    CertificateRow,
    EventRow
);

/// Nodes are cluster-scoped: `("", name)`.
impl Keyed for NodeRow {
    fn key(&self) -> ObjectKey {
        (String::new(), self.name.clone())
    }
}

/// Applies a watcher's update to a keyed table.
pub fn apply_update<R: Keyed>(table: &mut BTreeMap<ObjectKey, R>, update: RowUpdate<R>) {
    match update {
        RowUpdate::Replace { namespace, rows } => {
            match &namespace {
                Some(ns) => table.retain(|(row_ns, _), _| row_ns != ns),
                None => table.clear(),
            }
            table.extend(rows.into_iter().map(|row| (row.key(), row)));
        }
        RowUpdate::Upsert(row) => {
            table.insert(row.key(), row);
        }
        RowUpdate::Remove(key) => {
            table.remove(&key);
        }
    }
}

/// Everything watched from Kubernetes for the current target. The platform rules' thresholds
/// are the defaults until [`KubeData::set_platform_rules`] sets the target's.
#[derive(Debug, Clone, Default)]
pub struct KubeData {
    pub pods: BTreeMap<ObjectKey, PodRow>,
    pub deployments: BTreeMap<ObjectKey, DeploymentRow>,
    pub replicasets: BTreeMap<ObjectKey, ReplicaSetRow>,
    /// Claims per claims source (index into the target's `claims` entries).
    pub claims: BTreeMap<usize, Vec<ClaimRow>>,
    /// Worst-first orderings, rebuilt by `reorder` after changes. Shared (not copied) by every
    /// view that shows them unfiltered and unsorted.
    pub pods_order: Arc<[ObjectKey]>,
    pub deployments_order: Arc<[ObjectKey]>,
    /// How those orders spread over namespaces (see [`crate::model::spread`]).
    pub pods_spread: crate::model::Spread,
    pub deployments_spread: crate::model::Spread,
    pub claims_sorted: Vec<ClaimRow>,
    /// Totals and crit/warn counts per namespace, for the Pods pane title.
    pub pod_summary: Option<PodSummary>,

    // Platform checks (issue 16).
    pub statefulsets: BTreeMap<ObjectKey, StatefulSetRow>,
    pub daemonsets: BTreeMap<ObjectKey, DaemonSetRow>,
    pub jobs: BTreeMap<ObjectKey, JobRow>,
    pub cronjobs: BTreeMap<ObjectKey, CronJobRow>,
    pub hpas: BTreeMap<ObjectKey, HpaRow>,
    /// Keyed `("", name)`.
    pub nodes: BTreeMap<ObjectKey, NodeRow>,
    pub certificates: BTreeMap<ObjectKey, CertificateRow>,
    pub events: BTreeMap<ObjectKey, EventRow>,
    /// The last metrics poll, whole (a poll replaces the previous one).
    pub pod_usage: BTreeMap<ObjectKey, PodUsage>,
    pub node_usage: BTreeMap<String, NodeUsage>,
    pub metrics: MetricsState,
    /// Whether cert-manager's Certificate CRD exists: `None` until known. Without it the
    /// certificates are the Ingresses' TLS Secrets.
    pub cert_manager: Option<bool>,
    /// Kinds the platform source does not watch because the server forbids or lacks them
    /// (`nodes` → why): their views say so instead of waiting.
    pub unavailable: BTreeMap<String, String>,
    /// Worst-first orders of the new kinds (events: newest first), rebuilt by `reorder`.
    pub statefulsets_order: Arc<[ObjectKey]>,
    pub daemonsets_order: Arc<[ObjectKey]>,
    pub jobs_order: Arc<[ObjectKey]>,
    pub cronjobs_order: Arc<[ObjectKey]>,
    pub hpas_order: Arc<[ObjectKey]>,
    pub nodes_order: Arc<[ObjectKey]>,
    pub certificates_order: Arc<[ObjectKey]>,
    pub events_order: Arc<[ObjectKey]>,
    /// The time rules' verdicts, per row key, as of the last `reorder_at`.
    pub cronjob_checks: BTreeMap<ObjectKey, CronJobCheck>,
    pub cert_checks: BTreeMap<ObjectKey, (Health, String)>,
    /// Per node name.
    pub node_checks: BTreeMap<String, (Health, String)>,
    /// What the pods on each node request (non-terminated pods), per node name.
    pub node_loads: BTreeMap<String, NodeLoad>,
    /// Warning events grouped by object and reason, newest first.
    pub event_groups: Vec<EventGroup>,
    pub platform: PlatformSummary,
    rules: PlatformRules,
    /// As of the last metrics poll (see `reorder_at`).
    pods_near_memory_limit: usize,
    dirty: Dirty,
    /// When the time rules (CronJob staleness, certificate expiry) last ran.
    checked_at: Option<SystemTime>,
}

/// Which tables changed since the last `reorder`: each order is rebuilt only when its own
/// rows (or what its rule reads) changed, so a metrics poll of 10,000 pods sorts no pod.
#[derive(Debug, Clone, Copy, Default)]
struct Dirty {
    pods: bool,
    deployments: bool,
    claims: bool,
    statefulsets: bool,
    daemonsets: bool,
    jobs: bool,
    cronjobs: bool,
    hpas: bool,
    nodes: bool,
    certificates: bool,
    events: bool,
    pod_usage: bool,
    node_usage: bool,
    /// Rules or metrics state changed: the summary at least.
    platform: bool,
}

impl Dirty {
    const ALL: Self = Self {
        pods: true,
        deployments: true,
        claims: true,
        statefulsets: true,
        daemonsets: true,
        jobs: true,
        cronjobs: true,
        hpas: true,
        nodes: true,
        certificates: true,
        events: true,
        pod_usage: true,
        node_usage: true,
        platform: true,
    };

    fn any(&self) -> bool {
        let Self {
            pods,
            deployments,
            claims,
            statefulsets,
            daemonsets,
            jobs,
            cronjobs,
            hpas,
            nodes,
            certificates,
            events,
            pod_usage,
            node_usage,
            platform,
        } = *self;
        pods || deployments
            || claims
            || statefulsets
            || daemonsets
            || jobs
            || cronjobs
            || hpas
            || nodes
            || certificates
            || events
            || pod_usage
            || node_usage
            || platform
    }
}

/// Whether the metrics API (`metrics.k8s.io`) answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetricsState {
    /// Not polled yet (or not configured).
    #[default]
    Unknown,
    /// The last poll answered; `at` is its newest sample's time.
    Available { at: SystemTime },
    /// Not installed or failing: why, said once (not per pod).
    Missing(String),
}

/// The thresholds of the platform rules, from the target's `[targets.platform]` and
/// `[[targets.backups]]` (see `config.example.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformRules {
    /// Memory usage from this fraction of the limit is a warning.
    pub memory_warn: f64,
    /// A CronJob is stale when its last success is older than its interval × this.
    pub cronjob_stale_factor: f64,
    /// Certificates expiring within this are a warning...
    pub cert_warn: Duration,
    /// ...and within this, critical.
    pub cert_crit: Duration,
    /// The CronJobs that are backups, as (namespace, name).
    pub backups: Vec<(String, String)>,
}

impl Default for PlatformRules {
    fn default() -> Self {
        Self {
            memory_warn: 0.9,
            cronjob_stale_factor: 1.5,
            cert_warn: CERT_WARN,
            cert_crit: CERT_CRIT,
            backups: Vec::new(),
        }
    }
}

impl PlatformRules {
    /// A target's rules; the defaults where its config says nothing.
    pub fn from_target(target: &crate::config::TargetConfig) -> Self {
        let platform = target.platform.clone().unwrap_or_default();
        Self {
            memory_warn: *platform.memory_warn.get_ref(),
            cronjob_stale_factor: *platform.cronjob_stale_factor.get_ref(),
            cert_warn: platform.cert_warn,
            cert_crit: platform.cert_crit,
            backups: target
                .backups
                .iter()
                .map(|b| (b.namespace.clone(), b.cronjob.clone()))
                .collect(),
        }
    }
}

/// How often the time rules run again when nothing else changed: an expiry window or a
/// staleness deadline is crossed within this much of the moment.
pub const TIME_RULES_EVERY: Duration = Duration::from_secs(30);

/// How rows with these keys, in this order, spread over namespaces.
pub fn spread_of(keys: &[ObjectKey]) -> crate::model::Spread {
    crate::model::spread(keys.iter().map(|(namespace, _)| namespace.as_str()))
}

/// Whether `order` already lists the keys of `sorted` in the same order: most updates move no
/// row, and keeping the shared order saves copying (and freeing) every key.
fn same_order<T>(order: &[ObjectKey], sorted: &[(&ObjectKey, &T)]) -> bool {
    order.len() == sorted.len() && order.iter().zip(sorted).all(|(a, (b, _))| a == *b)
}

/// What changed, from a Kubernetes source.
#[derive(Debug, Clone)]
pub enum KubeUpdate {
    Pods(RowUpdate<PodRow>),
    Deployments(RowUpdate<DeploymentRow>),
    ReplicaSets(RowUpdate<ReplicaSetRow>),
    /// All current claims of one claims source.
    Claims {
        source: usize,
        rows: Vec<ClaimRow>,
    },
    StatefulSets(RowUpdate<StatefulSetRow>),
    DaemonSets(RowUpdate<DaemonSetRow>),
    Jobs(RowUpdate<JobRow>),
    CronJobs(RowUpdate<CronJobRow>),
    Hpas(RowUpdate<HpaRow>),
    /// Keys `("", name)`; `Replace` with namespace `None`.
    Nodes(RowUpdate<NodeRow>),
    Certificates(RowUpdate<CertificateRow>),
    Events(RowUpdate<EventRow>),
    /// One poll of PodMetrics: replaces the previous poll whole; the metrics API answers.
    PodMetrics(Vec<PodUsage>),
    /// One poll of NodeMetrics, likewise.
    NodeMetrics(Vec<NodeUsage>),
    /// The metrics API is not installed or failed: why.
    MetricsUnavailable(String),
    /// cert-manager's Certificate CRD is not installed.
    CertManagerAbsent,
    /// A kind (by plural: `nodes`, `secrets`) is not watched: the server forbids listing it
    /// or does not serve it. Said once; the rest of the platform checks go on.
    KindUnavailable {
        plural: String,
        why: String,
    },
}

impl KubeData {
    pub fn apply(&mut self, update: KubeUpdate) {
        match update {
            KubeUpdate::Pods(u) => {
                apply_update(&mut self.pods, u);
                self.dirty.pods = true;
            }
            KubeUpdate::Deployments(u) => {
                apply_update(&mut self.deployments, u);
                self.dirty.deployments = true;
            }
            // ReplicaSets have no order of their own.
            KubeUpdate::ReplicaSets(u) => apply_update(&mut self.replicasets, u),
            KubeUpdate::Claims { source, rows } => {
                self.claims.insert(source, rows);
                self.dirty.claims = true;
            }
            KubeUpdate::StatefulSets(u) => {
                apply_update(&mut self.statefulsets, u);
                self.dirty.statefulsets = true;
            }
            KubeUpdate::DaemonSets(u) => {
                apply_update(&mut self.daemonsets, u);
                self.dirty.daemonsets = true;
            }
            KubeUpdate::Jobs(u) => {
                apply_update(&mut self.jobs, u);
                self.dirty.jobs = true;
            }
            KubeUpdate::CronJobs(u) => {
                apply_update(&mut self.cronjobs, u);
                self.dirty.cronjobs = true;
            }
            KubeUpdate::Hpas(u) => {
                apply_update(&mut self.hpas, u);
                self.dirty.hpas = true;
            }
            KubeUpdate::Nodes(u) => {
                apply_update(&mut self.nodes, u);
                self.dirty.nodes = true;
            }
            KubeUpdate::Certificates(u) => {
                apply_update(&mut self.certificates, u);
                self.dirty.certificates = true;
            }
            KubeUpdate::Events(u) => {
                apply_update(&mut self.events, u);
                self.dirty.events = true;
            }
            KubeUpdate::PodMetrics(pods) => {
                let newest = pods.iter().filter_map(|p| p.timestamp).max();
                self.pod_usage = pods
                    .into_iter()
                    .map(|p| ((p.namespace.clone(), p.name.clone()), p))
                    .collect();
                self.metrics_answered(newest);
                self.dirty.pod_usage = true;
            }
            KubeUpdate::NodeMetrics(nodes) => {
                self.node_usage = nodes.into_iter().map(|n| (n.name.clone(), n)).collect();
                self.metrics_answered(None);
                self.dirty.node_usage = true;
            }
            KubeUpdate::MetricsUnavailable(why) => {
                self.metrics = MetricsState::Missing(why);
                self.dirty.platform = true;
            }
            KubeUpdate::CertManagerAbsent => {
                self.cert_manager = Some(false);
                self.dirty.platform = true;
            }
            KubeUpdate::KindUnavailable { plural, why } => {
                self.unavailable.insert(plural, why);
            }
        }
    }

    /// A metrics poll answered: the state says since when (its newest sample; the last
    /// clock reading when it has none).
    fn metrics_answered(&mut self, newest: Option<SystemTime>) {
        let previous = match &self.metrics {
            MetricsState::Available { at } => Some(*at),
            _ => None,
        };
        let at = newest
            .max(previous)
            .or(self.checked_at)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.metrics = MetricsState::Available { at };
        self.dirty.platform = true;
    }

    /// The platform rules' thresholds (set once per target; every verdict is redone).
    pub fn set_platform_rules(&mut self, rules: PlatformRules) {
        if self.rules != rules {
            self.rules = rules;
            self.dirty = Dirty::ALL;
        }
    }

    pub fn platform_rules(&self) -> &PlatformRules {
        &self.rules
    }

    /// Rebuilds the orderings if anything changed since the last call, at the current time.
    pub fn reorder(&mut self) {
        self.reorder_at(SystemTime::now());
    }

    /// [`Self::reorder`] at `now`: each order only if its rows changed; the time rules
    /// (CronJob staleness, certificate expiry) also when [`TIME_RULES_EVERY`] has passed
    /// since they last ran (or the clock went back).
    pub fn reorder_at(&mut self, now: SystemTime) {
        let time_due = self.checked_at.is_none_or(|at| {
            now.duration_since(at)
                .map_or(true, |since| since >= TIME_RULES_EVERY)
        });
        if time_due && !(self.cronjobs.is_empty() && self.certificates.is_empty()) {
            self.dirty.cronjobs = true;
            self.dirty.certificates = true;
        }
        if !self.dirty.any() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        if dirty.cronjobs || dirty.certificates || time_due {
            self.checked_at = Some(now);
        }
        if dirty.pods {
            // The tables iterate in namespace/name order; a stable sort by severity keeps
            // that order among equals, so no row is cloned and no name compared.
            let mut pods: Vec<(&ObjectKey, &PodRow)> = self.pods.iter().collect();
            pods.sort_by_key(|(_, row)| pod_severity(row));
            if !same_order(&self.pods_order, &pods) {
                self.pods_order = pods.iter().map(|(key, _)| (*key).clone()).collect();
                self.pods_spread = spread_of(&self.pods_order);
            }
            self.pod_summary = Some(pod_summary(self.pods.values()));
        }
        if dirty.deployments {
            reorder_table(&self.deployments, &mut self.deployments_order, |_, row| {
                deployment_severity(row)
            });
            self.deployments_spread = spread_of(&self.deployments_order);
        }
        if dirty.claims {
            let mut claims: Vec<ClaimRow> = self.claims.values().flatten().cloned().collect();
            sort_claims(&mut claims);
            self.claims_sorted = claims;
        }
        if dirty.statefulsets {
            reorder_table(
                &self.statefulsets,
                &mut self.statefulsets_order,
                |_, row| statefulset_severity(row),
            );
        }
        if dirty.daemonsets {
            reorder_table(&self.daemonsets, &mut self.daemonsets_order, |_, row| {
                daemonset_severity(row)
            });
        }
        if dirty.jobs {
            reorder_table(&self.jobs, &mut self.jobs_order, |_, row| job_severity(row));
        }
        if dirty.hpas {
            reorder_table(&self.hpas, &mut self.hpas_order, |_, row| hpa_severity(row));
        }
        if dirty.cronjobs || dirty.jobs {
            self.check_cronjobs(now);
        }
        if dirty.certificates {
            let rules = &self.rules;
            self.cert_checks = self
                .certificates
                .iter()
                .map(|(key, row)| {
                    (
                        key.clone(),
                        cert_check(row, now, rules.cert_warn, rules.cert_crit),
                    )
                })
                .collect();
            let checks = &self.cert_checks;
            // Worst first, then the soonest expiry.
            reorder_table(
                &self.certificates,
                &mut self.certificates_order,
                |key, row| {
                    let health = checks.get(key).map_or(Health::Ok, |(health, _)| *health);
                    (health, row.not_after.unwrap_or(SystemTime::UNIX_EPOCH))
                },
            );
        }
        // Node loads read every pod: only while there are nodes to show them on.
        if (dirty.pods || dirty.nodes) && !self.nodes.is_empty() {
            self.node_loads = node_loads(self.pods.values());
        }
        // Reads every polled pod: once per poll (a pod's new limit shows at the next poll),
        // not on every pod update.
        if dirty.pod_usage {
            let warn = self.rules.memory_warn;
            self.pods_near_memory_limit = self
                .pod_usage
                .iter()
                .filter(|(key, usage)| {
                    let limit = self.pods.get(*key).and_then(|p| p.resources.memory_limit);
                    memory_level(usage.memory_bytes(), limit, warn) != Health::Ok
                })
                .count();
        }
        if dirty.nodes || dirty.node_usage || dirty.pods {
            self.node_checks = self
                .nodes
                .values()
                .map(|row| {
                    let check = node_check(
                        row,
                        self.node_loads.get(&row.name),
                        self.node_usage.get(&row.name),
                    );
                    (row.name.clone(), check)
                })
                .collect();
            let checks = &self.node_checks;
            reorder_table(&self.nodes, &mut self.nodes_order, |_, row| {
                checks
                    .get(&row.name)
                    .map_or(Health::Ok, |(health, _)| *health)
            });
        }
        if dirty.events {
            let mut events: Vec<(&ObjectKey, &EventRow)> = self.events.iter().collect();
            events.sort_by_key(|(_, row)| std::cmp::Reverse(row.last));
            if !same_order(&self.events_order, &events) {
                self.events_order = events.iter().map(|(key, _)| (*key).clone()).collect();
            }
            self.event_groups = group_events(self.events.values(), true);
        }
        self.platform = self.summarize(now);
    }

    /// Each CronJob's verdict against its latest Job, found in one pass over the Jobs.
    fn check_cronjobs(&mut self, now: SystemTime) {
        let mut latest: HashMap<(&str, &str), &JobRow> = HashMap::new();
        for job in self.jobs.values() {
            let Some(owner) = job.owner_cronjob.as_deref() else {
                continue;
            };
            let slot = latest.entry((job.namespace.as_str(), owner)).or_insert(job);
            if is_newer_job(job, slot) {
                *slot = job;
            }
        }
        let factor = self.rules.cronjob_stale_factor;
        self.cronjob_checks = self
            .cronjobs
            .iter()
            .map(|(key, row)| {
                let last = latest
                    .get(&(row.namespace.as_str(), row.name.as_str()))
                    .copied();
                (key.clone(), cronjob_check(row, last, now, factor))
            })
            .collect();
        let checks = &self.cronjob_checks;
        reorder_table(&self.cronjobs, &mut self.cronjobs_order, |key, _| {
            checks.get(key).map_or(Health::Ok, |c| c.health)
        });
    }

    /// The summary line's counts, from the verdicts in place.
    fn summarize(&self, now: SystemTime) -> PlatformSummary {
        let mut summary = PlatformSummary {
            metrics_missing: matches!(self.metrics, MetricsState::Missing(_)),
            ..Default::default()
        };
        let backups = &self.rules.backups;
        summary.backups_total = backups.len();
        for (namespace, name) in backups {
            let key = (namespace.clone(), name.clone());
            match self.cronjob_checks.get(&key) {
                None => summary.backups_missing += 1,
                // "Did the backup run?" first: a stale backup is stale whether or not its
                // last attempt failed (the CronJobs view says which).
                Some(check) if check.stale => summary.backups_stale += 1,
                Some(check) if check.last_failed => summary.backups_failed += 1,
                Some(_) => {}
            }
        }
        summary.cronjobs_problem = self
            .cronjob_checks
            .iter()
            .filter(|(key, check)| check.health == Health::Crit && !backups.contains(key))
            .count();
        summary.workloads_down = self
            .statefulsets
            .values()
            .filter(|r| r.health == Health::Crit)
            .count()
            + self
                .daemonsets
                .values()
                .filter(|r| r.health == Health::Crit)
                .count();
        for (key, row) in &self.certificates {
            let remaining = row.not_after.and_then(|t| t.duration_since(now).ok());
            let health = self.cert_checks.get(key).map(|(h, _)| *h);
            if row.ready == Some(false) || row.not_after.is_some() && remaining.is_none() {
                summary.certs_bad += 1;
            } else if let Some(left) = remaining.filter(|left| *left < self.rules.cert_warn) {
                summary.certs_expiring += 1;
                summary.certs_soonest = Some(summary.certs_soonest.map_or(left, |s| s.min(left)));
            } else if health == Some(Health::Crit) {
                summary.certs_bad += 1;
            }
        }
        for row in self.nodes.values() {
            for problem in node_problems(row) {
                *summary
                    .nodes_by_problem
                    .entry(problem.to_owned())
                    .or_default() += 1;
            }
        }
        summary.hpas_at_max = self.hpas.values().filter(|h| h.at_max).count();
        summary.hpas_not_scaling = self
            .hpas
            .values()
            .filter(|h| h.health != Health::Ok && !h.at_max)
            .count();
        summary.pods_near_memory_limit = self.pods_near_memory_limit;
        summary
    }

    /// The pod's memory usage against its limit, by the memory rule at the configured
    /// fraction; `None` without a sample for it.
    pub fn pod_memory_level(&self, key: &ObjectKey) -> Option<Health> {
        let usage = self.pod_usage.get(key)?;
        let limit = self.pods.get(key).and_then(|p| p.resources.memory_limit);
        Some(memory_level(
            usage.memory_bytes(),
            limit,
            self.rules.memory_warn,
        ))
    }

    /// Whether `node` is known and not Ready (its pods are flagged in the Pods pane).
    pub fn node_not_ready(&self, node: &str) -> bool {
        self.nodes
            .get(&(String::new(), node.to_owned()))
            .is_some_and(|n| n.ready != Some(true))
    }

    /// Pods worst first.
    pub fn pods_sorted(&self) -> impl Iterator<Item = &PodRow> {
        self.pods_order.iter().filter_map(|k| self.pods.get(k))
    }

    pub fn deployments_sorted(&self) -> impl Iterator<Item = &DeploymentRow> {
        self.deployments_order
            .iter()
            .filter_map(|k| self.deployments.get(k))
    }

    pub fn statefulsets_sorted(&self) -> impl Iterator<Item = &StatefulSetRow> {
        sorted(&self.statefulsets_order, &self.statefulsets)
    }

    pub fn daemonsets_sorted(&self) -> impl Iterator<Item = &DaemonSetRow> {
        sorted(&self.daemonsets_order, &self.daemonsets)
    }

    pub fn jobs_sorted(&self) -> impl Iterator<Item = &JobRow> {
        sorted(&self.jobs_order, &self.jobs)
    }

    pub fn cronjobs_sorted(&self) -> impl Iterator<Item = &CronJobRow> {
        sorted(&self.cronjobs_order, &self.cronjobs)
    }

    pub fn hpas_sorted(&self) -> impl Iterator<Item = &HpaRow> {
        sorted(&self.hpas_order, &self.hpas)
    }

    pub fn nodes_sorted(&self) -> impl Iterator<Item = &NodeRow> {
        sorted(&self.nodes_order, &self.nodes)
    }

    pub fn certificates_sorted(&self) -> impl Iterator<Item = &CertificateRow> {
        sorted(&self.certificates_order, &self.certificates)
    }

    /// Events newest first.
    pub fn events_sorted(&self) -> impl Iterator<Item = &EventRow> {
        sorted(&self.events_order, &self.events)
    }
}

fn sorted<'a, R>(
    order: &'a [ObjectKey],
    table: &'a BTreeMap<ObjectKey, R>,
) -> impl Iterator<Item = &'a R> {
    order.iter().filter_map(|k| table.get(k))
}

/// Rebuilds `order` as `table` stably sorted by `severity`, keeping the shared order when
/// no row moved.
fn reorder_table<R, K: Ord>(
    table: &BTreeMap<ObjectKey, R>,
    order: &mut Arc<[ObjectKey]>,
    severity: impl Fn(&ObjectKey, &R) -> K,
) {
    let mut rows: Vec<(&ObjectKey, &R)> = table.iter().collect();
    rows.sort_by_key(|(key, row)| severity(key, row));
    if !same_order(order, &rows) {
        *order = rows.iter().map(|(key, _)| (*key).clone()).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(ns: &str, name: &str) -> ReplicaSetRow {
        ReplicaSetRow {
            namespace: ns.into(),
            name: name.into(),
            deployment: None,
            revision: None,
            images: vec![],
            replicas: 1,
        }
    }

    #[test]
    fn object_refs_name_their_api_version_and_kind() {
        let pod = ObjectRef::pod("shop", "api-1");
        assert_eq!(
            (pod.api_version(), pod.label()),
            ("v1".into(), "pod/shop/api-1".into())
        );
        let deployment = ObjectRef::deployment("shop", "api");
        assert_eq!(deployment.api_version(), "apps/v1");
        assert_eq!(deployment.label(), "deployment/shop/api");
        let cluster = ObjectRef {
            namespace: None,
            ..deployment
        };
        assert_eq!(cluster.label(), "deployment/api");
    }

    #[test]
    fn replace_is_scoped_to_its_namespace() {
        let mut table = BTreeMap::new();
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("a".into()),
                rows: vec![rs("a", "1"), rs("a", "2")],
            },
        );
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("b".into()),
                rows: vec![rs("b", "1")],
            },
        );
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("a".into()),
                rows: vec![rs("a", "3")],
            },
        );
        let keys: Vec<_> = table.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![("a".into(), "3".into()), ("b".into(), "1".into())]
        );
        apply_update(&mut table, RowUpdate::Remove(("b".into(), "1".into())));
        apply_update(&mut table, RowUpdate::Upsert(rs("c", "9")));
        assert_eq!(table.len(), 2);
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: None,
                rows: vec![],
            },
        );
        assert!(table.is_empty());
    }

    fn pod(name: &str, health: crate::model::Health) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            ready: 0,
            total: 1,
            status: String::new(),
            health,
            restarts: 0,
            last_restart: None,
            created: None,
            node: None,
            owner: None,
            resources: Default::default(),
            terminated: false,
        }
    }

    #[test]
    fn an_update_that_moves_no_row_keeps_the_shared_order() {
        use crate::model::Health;
        let mut kube = KubeData::default();
        for name in ["a", "b", "c"] {
            kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(pod(name, Health::Ok))));
        }
        kube.reorder();
        let before = kube.pods_order.clone();
        let mut b = pod("b", Health::Ok);
        b.status = "Running".into();
        kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(b)));
        kube.reorder();
        assert!(
            Arc::ptr_eq(&before, &kube.pods_order),
            "same order, same keys"
        );
        kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(pod("c", Health::Crit))));
        kube.reorder();
        let names: Vec<&str> = kube.pods_order.iter().map(|k| k.1.as_str()).collect();
        assert_eq!(
            names,
            ["c", "a", "b"],
            "a row that moves rebuilds the order"
        );
    }

    mod platform {
        use std::time::{Duration, SystemTime};

        use serde_json::json;

        use super::*;
        use crate::model::parse_time;
        use crate::platform::certs::{CertSource, CertificateRow};
        use crate::platform::hpa::hpa_row;
        use crate::platform::nodes::node_row;
        use crate::platform::usage::{ContainerUsage, PodUsage};
        use crate::platform::workloads::{cronjob_row, job_row};

        fn at(text: &str) -> SystemTime {
            parse_time(text).unwrap()
        }

        fn cronjob(namespace: &str, name: &str, last_success: &str) -> CronJobRow {
            cronjob_row(
                &serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": namespace,
                                 "creationTimestamp": "2024-01-01T00:00:00Z"},
                    "spec": {"schedule": "0 2 * * *", "jobTemplate": {}},
                    "status": {"lastSuccessfulTime": last_success},
                }))
                .unwrap(),
            )
        }

        fn cert(name: &str, not_after: SystemTime) -> CertificateRow {
            CertificateRow {
                namespace: "shop".into(),
                name: name.into(),
                secret: None,
                dns_names: vec![],
                ready: Some(true),
                ready_message: None,
                not_after: Some(not_after),
                renewal_time: None,
                source: CertSource::CertManager,
            }
        }

        fn node(name: &str, disk_pressure: bool) -> NodeRow {
            let pressure = if disk_pressure { "True" } else { "False" };
            node_row(
                &serde_json::from_value(json!({
                    "metadata": {"name": name},
                    "status": {"conditions": [
                        {"type": "Ready", "status": "True"},
                        {"type": "DiskPressure", "status": pressure}]},
                }))
                .unwrap(),
            )
        }

        fn replace<R>(rows: Vec<R>) -> RowUpdate<R> {
            RowUpdate::Replace {
                namespace: None,
                rows,
            }
        }

        /// The demo's incident, in rows: a stale backup, a certificate 5 days from expiry, a
        /// node under DiskPressure, an HPA at max.
        fn incident() -> KubeData {
            let mut kube = KubeData::default();
            kube.set_platform_rules(PlatformRules {
                backups: vec![
                    ("babylon-backup".into(), "db-backup".into()),
                    ("babylon-backup".into(), "gone".into()),
                ],
                ..PlatformRules::default()
            });
            let now = at("2024-05-03T12:00:00Z");
            kube.apply(KubeUpdate::CronJobs(replace(vec![
                cronjob("babylon-backup", "db-backup", "2024-05-01T02:05:00Z"),
                cronjob("shop", "report", "2024-05-03T02:05:00Z"),
            ])));
            kube.apply(KubeUpdate::Certificates(replace(vec![
                cert("soon", now + Duration::from_secs(5 * 86_400)),
                cert("later", now + Duration::from_secs(60 * 86_400)),
            ])));
            kube.apply(KubeUpdate::Nodes(replace(vec![
                node("node-1", false),
                node("node-2", true),
            ])));
            let hpa = hpa_row(
                &serde_json::from_value(json!({
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 4},
                    "status": {"currentReplicas": 4, "desiredReplicas": 4},
                }))
                .unwrap(),
            );
            kube.apply(KubeUpdate::Hpas(RowUpdate::Upsert(hpa)));
            kube.reorder_at(now);
            kube
        }

        #[test]
        fn the_incident_is_worst_first_and_in_the_headline() {
            let kube = incident();
            let names = |order: &[ObjectKey]| -> Vec<String> {
                order.iter().map(|(_, name)| name.clone()).collect()
            };
            assert_eq!(names(&kube.cronjobs_order), ["db-backup", "report"]);
            assert!(kube.cronjob_checks[&("babylon-backup".into(), "db-backup".into())].stale);
            assert_eq!(names(&kube.certificates_order), ["soon", "later"]);
            assert_eq!(names(&kube.nodes_order), ["node-2", "node-1"]);
            assert_eq!(kube.node_checks["node-2"].0, Health::Crit);
            assert_eq!(
                kube.platform.headline(),
                [
                    "backups: 1 stale, 1 missing",
                    "certs: 1 expiring in 5d",
                    "nodes: 1 DiskPressure",
                    "HPA: 1 at max"
                ]
            );
            assert!(kube.hpas_sorted().next().is_some_and(|h| h.at_max));
            assert_eq!(
                crate::platform::hpa::hpa_for(kube.hpas.values(), "Deployment", "shop", "web")
                    .map(|h| h.max_replicas),
                Some(4)
            );
        }

        #[test]
        fn a_stale_backup_whose_last_job_failed_counts_as_stale_and_says_both() {
            let mut kube = incident();
            let job = job_row(
                &serde_json::from_value(json!({
                    "metadata": {"name": "db-backup-1", "namespace": "babylon-backup",
                        "creationTimestamp": "2024-05-03T02:00:00Z",
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                            "name": "db-backup", "uid": "u", "controller": true}]},
                    "status": {"conditions": [{"type": "Failed", "status": "True"}]},
                }))
                .unwrap(),
            );
            kube.apply(KubeUpdate::Jobs(RowUpdate::Upsert(job)));
            kube.reorder_at(at("2024-05-03T12:00:01Z"));
            // "Did the backup run?" No: stale, and the reason names the failed attempt.
            assert_eq!(kube.platform.backups_stale, 1);
            assert_eq!(kube.platform.backups_failed, 0);
            let check = &kube.cronjob_checks[&("babylon-backup".into(), "db-backup".into())];
            assert!(check.last_failed && check.stale);
            assert!(
                check
                    .reason
                    .starts_with("stale: last job db-backup-1 failed"),
                "{}",
                check.reason
            );
            assert_eq!(kube.jobs_sorted().count(), 1);
        }

        #[test]
        fn time_rules_run_again_as_the_clock_moves() {
            let mut kube = incident();
            let now = at("2024-05-03T12:00:00Z");
            let order = kube.certificates_order.clone();
            // Nothing changed and little time passed: nothing is redone.
            kube.reorder_at(now + Duration::from_secs(5));
            assert!(Arc::ptr_eq(&order, &kube.certificates_order));
            // Two days on, the "soon" certificate is critical, the other still fine.
            kube.reorder_at(now + Duration::from_secs(3 * 86_400));
            let soon = &kube.cert_checks[&("shop".into(), "soon".into())];
            assert_eq!(soon.0, Health::Crit);
            assert_eq!(soon.1, "expires in 2d");
            assert!(Arc::ptr_eq(&order, &kube.certificates_order), "same order");
            assert_eq!(kube.platform.certs_expiring, 1);
            kube.reorder_at(now + Duration::from_secs(6 * 86_400));
            assert_eq!(kube.platform.certs_bad, 1);
            let headline = kube.platform.headline();
            assert!(
                headline.contains(&"certs: 1 expired or not ready".to_string()),
                "{headline:?}"
            );
            // Six days without a success: the other daily CronJob is stale too.
            assert!(
                headline.contains(&"cronjobs: 1 stale or failed".to_string()),
                "{headline:?}"
            );
        }

        fn usage(name: &str, memory: u64) -> PodUsage {
            PodUsage {
                namespace: "ns".into(),
                name: name.into(),
                containers: vec![ContainerUsage {
                    name: "app".into(),
                    cpu_millis: 10,
                    memory_bytes: memory,
                }],
                window: None,
                timestamp: Some(at("2024-05-03T12:00:00Z")),
            }
        }

        #[test]
        fn a_metrics_poll_sorts_no_pod() {
            let mut kube = KubeData::default();
            for (name, health) in [("a", Health::Ok), ("b", Health::Crit), ("c", Health::Ok)] {
                let mut row = pod(name, health);
                row.resources.memory_limit = Some(1000);
                kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(row)));
            }
            kube.reorder_at(at("2024-05-03T12:00:00Z"));
            let pods = kube.pods_order.clone();
            let summary = kube.pod_summary.clone();
            kube.apply(KubeUpdate::PodMetrics(vec![
                usage("a", 950),
                usage("c", 10),
            ]));
            // A pod changes in place under the metrics: no re-sort happens without its own update.
            kube.pods
                .get_mut(&("ns".into(), "a".into()))
                .unwrap()
                .health = Health::Crit;
            kube.reorder_at(at("2024-05-03T12:00:15Z"));
            assert!(Arc::ptr_eq(&pods, &kube.pods_order), "pods not re-sorted");
            assert_eq!(kube.pod_summary, summary, "pod summary not recomputed");
            assert_eq!(kube.platform.pods_near_memory_limit, 1);
            assert_eq!(
                kube.pod_memory_level(&("ns".into(), "a".into())),
                Some(Health::Warn)
            );
            assert_eq!(
                kube.pod_memory_level(&("ns".into(), "c".into())),
                Some(Health::Ok)
            );
            assert_eq!(kube.pod_memory_level(&("ns".into(), "b".into())), None);
            assert_eq!(
                kube.metrics,
                MetricsState::Available {
                    at: at("2024-05-03T12:00:00Z")
                }
            );
            assert_eq!(kube.pod_usage.len(), 2);
            // The next poll replaces the last one whole.
            kube.apply(KubeUpdate::PodMetrics(vec![usage("b", 1)]));
            kube.reorder_at(at("2024-05-03T12:00:30Z"));
            assert_eq!(kube.pod_usage.len(), 1);
            assert_eq!(kube.platform.pods_near_memory_limit, 0);
            kube.apply(KubeUpdate::MetricsUnavailable(
                "the server could not find the requested resource".into(),
            ));
            kube.reorder_at(at("2024-05-03T12:00:31Z"));
            assert_eq!(kube.platform.headline(), ["metrics: unavailable"]);
            kube.apply(KubeUpdate::CertManagerAbsent);
            assert_eq!(kube.cert_manager, Some(false));
        }

        #[test]
        fn node_loads_follow_the_pods_and_not_ready_nodes_are_known() {
            let mut kube = KubeData::default();
            kube.apply(KubeUpdate::Nodes(RowUpdate::Upsert(node("node-1", false))));
            let mut row = pod("a", Health::Ok);
            row.node = Some("node-1".into());
            row.resources.cpu_request = Some(250);
            kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(row)));
            kube.reorder_at(SystemTime::UNIX_EPOCH);
            assert_eq!(kube.node_loads["node-1"].cpu_requested, 250);
            assert!(!kube.node_not_ready("node-1"));
            assert!(
                !kube.node_not_ready("elsewhere"),
                "unknown nodes are not flagged"
            );
            let mut down = node("node-1", false);
            down.ready = Some(false);
            kube.apply(KubeUpdate::Nodes(RowUpdate::Upsert(down)));
            kube.reorder_at(SystemTime::UNIX_EPOCH);
            assert!(kube.node_not_ready("node-1"));
            assert_eq!(kube.platform.nodes_by_problem.get("NotReady"), Some(&1));
        }

        #[test]
        fn events_newest_first_and_grouped() {
            let mut kube = KubeData::default();
            let event = |name: &str, last: &str, warning: bool| crate::platform::events::EventRow {
                namespace: "shop".into(),
                name: name.into(),
                involved_kind: "Pod".into(),
                involved_name: "api-1".into(),
                involved_namespace: "shop".into(),
                reason: "BackOff".into(),
                message: String::new(),
                count: 2,
                first: Some(at(last)),
                last: Some(at(last)),
                warning,
                source: String::new(),
            };
            kube.apply(KubeUpdate::Events(replace(vec![
                event("e1", "2024-05-03T10:00:00Z", true),
                event("e2", "2024-05-03T11:00:00Z", true),
                event("e3", "2024-05-03T12:00:00Z", false),
            ])));
            kube.reorder_at(at("2024-05-03T12:00:00Z"));
            let names: Vec<&str> = kube.events_sorted().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["e3", "e2", "e1"]);
            assert_eq!(kube.event_groups.len(), 1);
            assert_eq!(kube.event_groups[0].count, 4, "warnings only");
        }

        #[test]
        fn statefulsets_and_daemonsets_sort_worst_first() {
            let mut kube = KubeData::default();
            let sts = |name: &str, ready: i32| {
                crate::platform::workloads::statefulset_row(
                    &serde_json::from_value(json!({
                        "metadata": {"name": name, "namespace": "db", "generation": 1},
                        "spec": {"replicas": 2, "selector": {}, "template": {}, "serviceName": "x",
                                 "updateStrategy": {"type": "RollingUpdate"}},
                        "status": {"replicas": 2, "readyReplicas": ready, "observedGeneration": 1,
                                   "currentRevision": "r1", "updateRevision": "r1"},
                    }))
                    .unwrap(),
                )
            };
            kube.apply(KubeUpdate::StatefulSets(replace(vec![
                sts("a", 2),
                sts("b", 0),
                sts("c", 1),
            ])));
            kube.apply(KubeUpdate::DaemonSets(replace(vec![])));
            kube.reorder_at(SystemTime::UNIX_EPOCH);
            let names: Vec<&str> = kube
                .statefulsets_sorted()
                .map(|s| s.name.as_str())
                .collect();
            assert_eq!(names, ["b", "c", "a"]);
            assert_eq!(kube.platform.workloads_down, 1);
            assert_eq!(kube.platform.headline(), ["workloads: 1 down"]);
        }
    }
}
