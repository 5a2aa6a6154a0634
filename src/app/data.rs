//! The collected data of one target: what the backends reported, and nothing a viewer chose.
//!
//! Only backend events change it (`Data::apply`), so any number of views can read one `Data`;
//! each view notices changes by `revision`.

use std::sync::Arc;
use std::time::SystemTime;

use super::logs_data::{self, LogsData};
use super::pane::PaneId;
use super::status::{SourceOrigin, SourceState, SourceStatus};
use crate::config::{Config, TargetConfig};
use crate::data::{KubeData, ObjectKey, ObjectRef};
use crate::event::{PodDetail, SourceEvent};

/// The SLO pane's data.
#[derive(Debug, Clone, Default)]
pub struct SloData {
    pub results: Vec<crate::slo::SloResult>,
    /// By `[[targets.health]]` index.
    pub health: std::collections::BTreeMap<usize, crate::slo::HealthResult>,
}

/// The latest alerts report, grouped by alert name (worst group first).
#[derive(Debug, Clone)]
pub struct AlertsData {
    pub report: crate::alerts::AlertsReport,
    pub groups: Vec<crate::alerts::AlertGroup>,
}

impl AlertsData {
    pub fn new(report: crate::alerts::AlertsReport) -> Self {
        let groups = crate::alerts::groups(&report.alerts);
        Self { report, groups }
    }

    /// The alerts of `group`, worst first.
    pub fn members<'a>(
        &'a self,
        group: &'a crate::alerts::AlertGroup,
    ) -> impl Iterator<Item = &'a crate::alerts::Alert> + 'a {
        group
            .members
            .iter()
            .filter_map(|i| self.report.alerts.get(*i))
    }

    /// Alerts firing (not silenced, inhibited or pending).
    pub fn firing(&self) -> usize {
        self.groups.iter().map(|g| g.firing).sum()
    }
}

/// The pod detail view's data, for the pod it was loaded for.
#[derive(Debug, Clone)]
pub struct PodDetailResult {
    pub key: ObjectKey,
    pub detail: Result<PodDetail, String>,
    /// The view's answer count when it arrived: a view shows only answers newer than its
    /// question.
    pub revision: u64,
}

/// An object fetched for the YAML view, as lines ready to draw (sanitised, credentials in URLs
/// redacted), or why it could not be had.
#[derive(Debug, Clone)]
pub struct YamlResult {
    pub object: ObjectRef,
    pub lines: Result<Vec<String>, String>,
    /// When it arrived (the console's clock).
    pub at: SystemTime,
    /// The view's answer count when it arrived: a view shows only answers newer than its
    /// question.
    pub revision: u64,
}

/// Answers to one view's own questions (pod detail, YAML): fetched for that view alone, so
/// they live with the view, not with the shared data.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub pod_detail: Option<PodDetailResult>,
    /// The latest object fetched for a YAML view.
    pub yaml: Option<YamlResult>,
    /// Bumped by every answer; a question remembers the count it was asked at.
    pub count: u64,
}

impl Answers {
    /// Takes in a pod detail or YAML answer; false for any other event.
    pub fn take(&mut self, event: SourceEvent, now: SystemTime) -> bool {
        match event {
            SourceEvent::PodDetail { key, detail, .. } => {
                self.count += 1;
                self.pod_detail = Some(PodDetailResult {
                    key,
                    detail,
                    revision: self.count,
                });
                true
            }
            SourceEvent::Yaml { object, yaml, .. } => {
                self.count += 1;
                self.yaml = Some(YamlResult::new(object, yaml, now, self.count));
                true
            }
            _ => false,
        }
    }
}

impl YamlResult {
    fn new(object: ObjectRef, yaml: Result<String, String>, at: SystemTime, revision: u64) -> Self {
        let lines = yaml.map(|text| {
            text.lines()
                .map(|line| crate::text::sanitize(&crate::redact::redact(line)))
                .collect()
        });
        Self {
            object,
            lines,
            at,
            revision,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Data {
    pub config: Arc<Config>,
    pub target_index: usize,
    /// Reports of another generation (an earlier target) are ignored.
    pub generation: u64,
    /// Bumped on every change, so views know when to rebuild their rows.
    pub revision: u64,
    /// The live state of every configured source of the target.
    pub sources: Vec<SourceStatus>,
    /// Rows watched from Kubernetes.
    pub kube: KubeData,
    /// The SLO pane's data: evaluated SLOs and health endpoint checks.
    pub slo: SloData,
    /// What is firing and the silences (the SLO pane's alerts section).
    pub alerts: Option<Arc<AlertsData>>,
    /// The DB pane's data: the latest refresh of each database and cache.
    pub db: crate::db::DbData,
    /// The Logs pane's lines and streams.
    pub logs: LogsData,
    pub kube_context: Option<String>,
}

impl Data {
    /// No data yet for `target_index` (clamped to the configured targets).
    pub fn new(config: Arc<Config>, target_index: usize, generation: u64) -> Self {
        let target_index = target_index.min(config.targets.len().saturating_sub(1));
        let target = config.targets.get(target_index);
        let sources = target.map(SourceStatus::for_target).unwrap_or_default();
        let capacity = target
            .and_then(|t| t.logs.iter().map(|l| l.buffer_lines).max())
            .unwrap_or(logs_data::DEFAULT_CAPACITY);
        let fields = target
            .map(|t| {
                t.logs
                    .iter()
                    .flat_map(|l| l.fields.iter().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let mut kube = KubeData::default();
        if let Some(target) = target {
            kube.set_platform_rules(crate::data::PlatformRules::from_target(target));
        }
        Self {
            config,
            target_index,
            generation,
            revision: 0,
            sources,
            kube,
            slo: SloData::default(),
            alerts: None,
            db: crate::db::DbData::default(),
            logs: LogsData::with_capacity(capacity).showing(fields),
            kube_context: None,
        }
    }

    pub fn target(&self) -> Option<&TargetConfig> {
        self.config.targets.get(self.target_index)
    }

    pub fn target_name(&self) -> &str {
        self.target().map_or("(no target)", TargetConfig::name)
    }

    /// Whether a pane shows backend data (rather than the list of its sources).
    pub fn pane_shows_data(&self, pane: PaneId) -> bool {
        let Some(target) = self.target() else {
            return false;
        };
        match pane {
            PaneId::Pods => target.kubernetes.is_some(),
            PaneId::Logs => !target.logs.is_empty() || !self.logs.streams.is_empty(),
            PaneId::Slo => {
                target.prometheus.is_some()
                    || target.alertmanager.is_some()
                    || !target.health.is_empty()
            }
            PaneId::Claims => !target.claims.is_empty(),
            PaneId::Db => !target.postgres.is_empty() || !target.redis.is_empty(),
        }
    }

    /// Takes in a backend's report; false when it belongs to another generation (ignored).
    pub fn apply(&mut self, event: SourceEvent, now: SystemTime) -> bool {
        if event.generation() != self.generation || event.is_answer() {
            return false;
        }
        self.revision += 1;
        match event {
            SourceEvent::State {
                index, state, at, ..
            } => {
                if let Some(source) = self.sources.get_mut(index) {
                    if state == SourceState::Live {
                        source.last_ok = Some(at);
                    }
                    log_transition(source, &state);
                    source.state = state;
                }
            }
            SourceEvent::Kube { update, .. } => self.kube.apply(update),
            SourceEvent::Logs { source, event, .. } => {
                self.logs.apply(source, event);
                // A log source is as healthy as its streams say (quiet logs are not stale).
                let state = self.logs.source_state(source);
                if let Some(status) = self
                    .sources
                    .iter_mut()
                    .find(|s| s.origin == SourceOrigin::Logs(source))
                {
                    if state == SourceState::Live {
                        status.last_ok = Some(now);
                    }
                    status.state = state;
                }
            }
            // Answers to one view's questions go to its `Answers`, not to the shared data.
            SourceEvent::PodDetail { .. } | SourceEvent::Yaml { .. } => return false,
            SourceEvent::KubeContext { name, .. } => self.kube_context = Some(name),
            SourceEvent::Slo { results, .. } => self.slo.results = results,
            SourceEvent::Alerts { report, .. } => {
                self.alerts = Some(Arc::new(AlertsData::new(report)));
            }
            SourceEvent::Health { index, result, .. } => {
                self.slo.health.insert(index, result);
            }
            SourceEvent::Db { update, .. } => self.db.apply(update),
        }
        true
    }

    /// Rebuilds the orderings changed rows need; deferred to drawing so a burst of reports sorts
    /// once. The data's content does not change.
    pub fn prepare(&mut self) {
        self.kube.reorder();
    }
}

/// Logs a source failing (again only when the reason changes) and recovering: the log says when
/// and why a backend failed, for the post-mortem. Reasons are already redacted.
fn log_transition(source: &SourceStatus, next: &SourceState) {
    match (&source.state, next) {
        (SourceState::Error { reason: before, .. }, SourceState::Error { reason, .. })
            if before == reason => {}
        (_, SourceState::Error { reason, .. }) => {
            tracing::warn!(kind = source.kind, source = %source.name, %reason, "source failed");
        }
        (SourceState::Error { .. }, SourceState::Live) => {
            tracing::info!(kind = source.kind, source = %source.name, "source recovered");
        }
        _ => {}
    }
}
