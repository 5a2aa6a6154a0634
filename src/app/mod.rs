//! Application state and the pure `update`: actions in, state changed, effects out.
//!
//! Nothing here does I/O. The runtime feeds actions (keys, ticks, source reports) and executes the
//! effects `update` returns; the UI only reads `App`.

pub mod keymap;
pub mod logs_view;
pub mod pane;
pub mod remediate;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui_textarea::TextArea;
use regex::{Regex, RegexBuilder};

use crate::config::{Config, TargetConfig, suggest};
use crate::data::{KubeData, ObjectKey};
use crate::event::{PodDetail, SourceEvent};
use crate::policy::{ReadOnlyInputs, ReadOnlyPolicy};
use keymap::{Command, Context, HARD_QUIT, KeyChord, Keymap};
use pane::PaneId;
use status::{SourceState, SourceStatus};

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Resize,
    /// The 1 s clock: ages, staleness, toasts.
    Tick(SystemTime),
    /// A backend's report (sources, pod detail). Reports of an older generation are ignored.
    Backend(SourceEvent),
    /// The revisions of a Deployment, for the undo picker.
    History {
        generation: u64,
        attempt: u64,
        result: Result<Vec<crate::remediation::HistoryEntry>, String>,
    },
    /// A remediation's dry run, and whether its `planned` audit line was written.
    Previewed {
        generation: u64,
        attempt: u64,
        result: Result<crate::remediation::Preview, String>,
        audit: Result<(), String>,
    },
    /// A remediation ran (or was refused); `follow` names a rollout now being followed.
    Executed {
        generation: u64,
        attempt: u64,
        result: Result<String, crate::remediation::Failure>,
        follow: Option<crate::remediation::Rollout>,
    },
    /// A rollout followed after a remediation moved.
    Progress {
        generation: u64,
        attempt: u64,
        progress: crate::remediation::Progress,
    },
    /// Answers to access reviews (each check, allowed or why not).
    Permissions {
        generation: u64,
        answers: Vec<(
            crate::remediation::kube_exec::AccessCheck,
            Result<bool, crate::remediation::Failure>,
        )>,
    },
    /// A message for the operator (e.g. the outcome of saving logs).
    Notify {
        error: bool,
        text: String,
    },
    /// Leave now (signal, terminal gone).
    Quit,
}

/// Backend text (error messages quote URLs and DSNs: reqwest, kube, tokio-postgres do) goes
/// through [`crate::redact`] as it enters the app state, so nothing drawn from the state can
/// show a credential.
fn redact_backend_text(action: &mut Action) {
    use crate::redact::redact;
    use std::borrow::Cow;
    fn text(value: &mut String) {
        if let Cow::Owned(clean) = redact(value) {
            *value = clean;
        }
    }
    fn err<T>(result: &mut Result<T, String>) {
        if let Err(e) = result {
            text(e);
        }
    }
    match action {
        Action::Backend(SourceEvent::State { state, .. }) => match state {
            SourceState::Error { reason, .. } | SourceState::Unavailable { reason } => text(reason),
            SourceState::Connecting | SourceState::Live | SourceState::NotBuilt => {}
        },
        Action::Backend(SourceEvent::Logs {
            event: crate::logs::LogEvent::StreamState { state, .. },
            ..
        }) => match state {
            crate::logs::StreamState::Reconnecting { reason, .. }
            | crate::logs::StreamState::Ended { reason } => text(reason),
            crate::logs::StreamState::Following => {}
        },
        Action::Backend(SourceEvent::PodDetail { detail, .. }) => err(detail),
        Action::Backend(SourceEvent::Slo { results, .. }) => {
            for result in results {
                if let Some(error) = &mut result.error {
                    text(error);
                }
                result.warnings.iter_mut().for_each(text);
            }
        }
        Action::Backend(SourceEvent::Health { result, .. }) => {
            text(&mut result.url);
            if let Some(error) = &mut result.error {
                text(error);
            }
        }
        Action::History { result, .. } => err(result),
        Action::Previewed { result, audit, .. } => {
            err(result);
            err(audit);
        }
        Action::Executed { result, .. } => match result {
            Ok(message) => text(message),
            Err(failure) => text(failure.reason_mut()),
        },
        Action::Progress { progress, .. } => {
            text(&mut progress.message);
            if let Some(failed) = &mut progress.failed {
                text(failed);
            }
        }
        Action::Notify { text: message, .. } => text(message),
        Action::Key(_)
        | Action::Paste(_)
        | Action::Resize
        | Action::Tick(_)
        | Action::Backend(SourceEvent::KubeContext { .. })
        | Action::Backend(SourceEvent::Kube { .. })
        | Action::Backend(SourceEvent::Logs { .. })
        | Action::Backend(SourceEvent::Db { .. })
        | Action::Permissions { .. }
        | Action::Quit => {}
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

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Stop the current sources and start those of this target.
    StartSources {
        generation: u64,
        target_index: usize,
    },
    /// Fetch a pod and follow its events while its detail view is open.
    OpenPodDetail {
        generation: u64,
        key: ObjectKey,
    },
    /// The pod detail view closed: stop following.
    ClosePodDetail,
    /// Follow the logs of a workload (or one pod) picked in the Pods pane, as an extra source.
    OpenLogs {
        generation: u64,
        source: usize,
        config: Box<crate::config::LogsConfig>,
    },
    /// Read a pod's previous container logs once into the Logs pane.
    PreviousLogs {
        generation: u64,
        source: usize,
        namespace: String,
        pod: String,
    },
    /// Put text on the terminal's clipboard with OSC 52 (works over SSH and in tmux).
    CopyToClipboard(String),
    /// Write lines to a new file in the state directory.
    SaveLogs {
        text: String,
        lines: usize,
    },
    /// Read a Deployment's revisions for the undo picker.
    LoadHistory {
        generation: u64,
        attempt: u64,
        namespace: String,
        name: String,
    },
    /// Dry-run the plan, then write its `planned` audit line.
    Preview {
        generation: u64,
        attempt: u64,
        plan: Box<crate::remediation::Plan>,
    },
    /// Execute the plan (the executor refuses in read-only mode) and audit the outcome.
    Execute {
        generation: u64,
        attempt: u64,
        plan: Box<crate::remediation::Plan>,
    },
    /// Write an audit line for an attempt that went no further (cancelled, denied).
    AuditNote {
        attempt: u64,
        plan: Box<crate::remediation::Plan>,
        outcome: crate::remediation::Outcome,
        error: Option<String>,
    },
    /// Ask the cluster, by access reviews, what the identity may do.
    CheckPermissions {
        generation: u64,
        target_index: usize,
        /// The questions the selected row's offers need and the cache cannot answer.
        checks: Vec<crate::remediation::kube_exec::AccessCheck>,
    },
}

/// The SLO pane's data.
#[derive(Debug, Clone, Default)]
pub struct SloData {
    pub results: Vec<crate::slo::SloResult>,
    /// By `[[targets.health]]` index.
    pub health: std::collections::BTreeMap<usize, crate::slo::HealthResult>,
}

/// A row of the SLO pane.
#[derive(Debug, Clone, Copy)]
pub enum SloRow<'a> {
    Slo(&'a crate::slo::SloResult),
    Health(&'a crate::slo::HealthResult),
}

impl SloRow<'_> {
    fn haystack(&self) -> String {
        match self {
            Self::Slo(s) => format!("{} {:?}", s.name, s.state),
            Self::Health(h) => format!("{} {} {:?}", h.name, h.url, h.status),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub level: ToastLevel,
    pub text: String,
    pub expires: SystemTime,
}

/// A pane's filter: a case-insensitive regex, or the literal text when it is not a valid regex.
#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    pub regex: Regex,
    pub literal: bool,
}

impl Filter {
    pub fn new(text: &str) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        let build = |pattern: &str| {
            RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
        };
        match build(text) {
            Ok(regex) => Some(Self {
                text: text.to_string(),
                regex,
                literal: false,
            }),
            Err(_) => build(&regex::escape(text)).ok().map(|regex| Self {
                text: text.to_string(),
                regex,
                literal: true,
            }),
        }
    }

    pub fn matches(&self, haystack: &str) -> bool {
        self.regex.is_match(haystack)
    }
}

/// Per-pane view state.
#[derive(Debug, Clone, Default)]
pub struct PaneView {
    pub selected: usize,
    pub filter: Option<Filter>,
    pub detail_open: bool,
    /// The pane's second view (Pods pane: Deployments).
    pub alt_view: bool,
    /// How far the open detail view is scrolled (DB pane: the selected session).
    pub detail_scroll: usize,
    /// DB detail view: the order of sessions.
    pub session_sort: SessionSort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter(PaneId),
    Command,
}

/// A single-line text input (filter or command line).
#[derive(Debug)]
pub struct Input {
    pub kind: InputKind,
    pub textarea: TextArea<'static>,
}

impl Input {
    fn new(kind: InputKind, initial: &str) -> Self {
        let mut textarea = TextArea::new(vec![initial.to_string()]);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        textarea.set_cursor_line_style(ratatui::style::Style::default());
        Self { kind, textarea }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().first().cloned().unwrap_or_default()
    }
}

/// The display frozen by `f`: sources keep updating underneath.
#[derive(Debug, Clone)]
pub struct Frozen {
    pub sources: Vec<SourceStatus>,
    pub kube: KubeData,
    pub db: crate::db::DbData,
    pub at: SystemTime,
}

/// The rows each pane shows after ordering and filtering, rebuilt by `prepare_view` when data,
/// filters or views change, so drawing a frame never sorts or filters.
#[derive(Debug, Clone, Default)]
pub struct VisibleRows {
    pub pods: Vec<ObjectKey>,
    pub deployments: Vec<ObjectKey>,
    /// Indexes into `KubeData::claims_sorted`.
    pub claims: Vec<usize>,
    /// The DB pane's rows: configured databases and caches that match the filter.
    pub db: Vec<DbRow>,
    /// The DB detail view's sessions (pids of the selected database), in the chosen order.
    pub db_sessions: Vec<i32>,
}

/// A row of the DB pane: a `[[targets.postgres]]` or `[[targets.redis]]` entry, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRow {
    Postgres(usize),
    Redis(usize),
}

/// How the DB detail view orders sessions (cycled with `o`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionSort {
    /// Oldest query/transaction first (the default: who has held on longest).
    #[default]
    Age,
    State,
    Wait,
    Pid,
}

impl SessionSort {
    pub fn next(self) -> Self {
        match self {
            Self::Age => Self::State,
            Self::State => Self::Wait,
            Self::Wait => Self::Pid,
            Self::Pid => Self::Age,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::State => "state",
            Self::Wait => "wait",
            Self::Pid => "pid",
        }
    }
}

#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub config_path: PathBuf,
    pub target_index: usize,
    read_only_inputs: ReadOnlyInputs,
    pub policy: ReadOnlyPolicy,
    pub keymap: Keymap,
    pub focus: PaneId,
    pub zoomed: bool,
    pub panes: [PaneView; 5],
    /// The live state of every configured source of the current target.
    pub sources: Vec<SourceStatus>,
    /// Rows watched from Kubernetes.
    pub kube: KubeData,
    pub visible: VisibleRows,
    view_dirty: bool,
    /// The SLO pane's data: evaluated SLOs and health endpoint checks.
    pub slo: SloData,
    /// The DB pane's data: the latest refresh of each database and cache.
    pub db: crate::db::DbData,
    /// The Logs pane: buffered lines, streams, filter and view state.
    pub logs: logs_view::LogsView,
    /// Ad-hoc log sources opened from the Pods pane so far, and their namespaces.
    adhoc_logs: usize,
    adhoc_namespaces: std::collections::BTreeMap<usize, String>,
    /// The pod detail view's data, for the pod it was loaded for.
    pub pod_detail: Option<(ObjectKey, Result<PodDetail, String>)>,
    pub generation: u64,
    pub frozen: Option<Frozen>,
    /// Help overlay open, with its scroll offset.
    pub help: Option<u16>,
    pub input: Option<Input>,
    pub toasts: Vec<Toast>,
    pub now: SystemTime,
    pub kube_context: Option<String>,
    /// The remediation modal, when open.
    pub modal: Option<remediate::Modal>,
    /// Remediations executing or rollouts being followed.
    pub running: Vec<remediate::Running>,
    /// What the cluster said the identity may do, per access review, for a minute.
    pub access: crate::remediation::access::AccessCache,
    attempts: u64,
    pub should_quit: bool,
}

const TOAST_TIME: Duration = Duration::from_secs(6);

/// Log sources opened from the Pods pane are numbered from here (configured ones from 0).
pub const ADHOC_SOURCE: usize = 10_000;

impl App {
    /// A console on `target_index`. Call `start` to get the effects that launch its sources.
    pub fn new(
        config: Arc<Config>,
        config_path: PathBuf,
        target_index: usize,
        read_only_inputs: ReadOnlyInputs,
        now: SystemTime,
    ) -> Self {
        let keymap = Keymap::with_overrides(&config.ui.keys);
        let mut app = Self {
            config,
            config_path,
            target_index: 0,
            read_only_inputs,
            policy: ReadOnlyPolicy::new(read_only_inputs, false),
            keymap,
            focus: PaneId::Pods,
            zoomed: false,
            panes: Default::default(),
            sources: Vec::new(),
            kube: KubeData::default(),
            visible: VisibleRows::default(),
            view_dirty: true,
            pod_detail: None,
            logs: logs_view::LogsView::default(),
            slo: SloData::default(),
            db: crate::db::DbData::default(),
            adhoc_logs: 0,
            adhoc_namespaces: std::collections::BTreeMap::new(),
            generation: 0,
            frozen: None,
            help: None,
            input: None,
            toasts: Vec::new(),
            now,
            kube_context: None,
            modal: None,
            running: Vec::new(),
            access: Default::default(),
            attempts: 0,
            should_quit: false,
        };
        for warning in app.keymap.warnings.clone() {
            app.toast(ToastLevel::Warn, warning);
        }
        app.select_target(target_index);
        app
    }

    /// Effects to run once at startup. Access reviews wait until a row needs them.
    pub fn start(&self) -> Vec<Effect> {
        vec![Effect::StartSources {
            generation: self.generation,
            target_index: self.target_index,
        }]
    }

    pub fn target(&self) -> Option<&TargetConfig> {
        self.config.targets.get(self.target_index)
    }

    pub fn target_name(&self) -> &str {
        self.target().map_or("(no target)", TargetConfig::name)
    }

    fn select_target(&mut self, index: usize) {
        self.target_index = index.min(self.config.targets.len().saturating_sub(1));
        let target_read_only = self.target().is_some_and(|t| t.read_only);
        let inputs = ReadOnlyInputs {
            global_config: self.read_only_inputs.global_config || self.config.read_only,
            ..self.read_only_inputs
        };
        self.policy = ReadOnlyPolicy::new(inputs, target_read_only);
        self.sources = self
            .target()
            .map(SourceStatus::for_target)
            .unwrap_or_default();
        self.generation += 1;
        self.panes = Default::default();
        self.frozen = None;
        self.kube_context = None;
        self.kube = KubeData::default();
        self.slo = SloData::default();
        self.db = crate::db::DbData::default();
        self.pod_detail = None;
        self.modal = None;
        self.running.clear();
        self.access = Default::default();
        let capacity = self
            .target()
            .and_then(|t| t.logs.iter().map(|l| l.buffer_lines).max())
            .unwrap_or(logs_view::DEFAULT_CAPACITY);
        self.logs = logs_view::LogsView::with_capacity(capacity);
        self.view_dirty = true;
    }

    /// Sources as displayed (frozen or live).
    pub fn visible_sources(&self) -> &[SourceStatus] {
        self.frozen.as_ref().map_or(&self.sources, |f| &f.sources)
    }

    /// DB figures as displayed (frozen or live).
    pub fn visible_db(&self) -> &crate::db::DbData {
        self.frozen.as_ref().map_or(&self.db, |f| &f.db)
    }

    /// Kubernetes rows as displayed (frozen or live).
    pub fn visible_kube(&self) -> &KubeData {
        self.frozen.as_ref().map_or(&self.kube, |f| &f.kube)
    }

    /// Whether a pane shows backend data (rather than the list of its sources).
    pub fn pane_shows_data(&self, pane: PaneId) -> bool {
        let Some(target) = self.target() else {
            return false;
        };
        match pane {
            PaneId::Pods => target.kubernetes.is_some(),
            PaneId::Logs => !target.logs.is_empty() || !self.logs.streams.is_empty(),
            PaneId::Slo => target.prometheus.is_some() || !target.health.is_empty(),
            PaneId::Claims => !target.claims.is_empty(),
            PaneId::Db => !target.postgres.is_empty() || !target.redis.is_empty(),
        }
    }

    /// The source rows a pane lists when it has no data table, after its filter.
    pub fn pane_rows(&self, pane: PaneId) -> Vec<&SourceStatus> {
        let filter = self.panes[pane.index()].filter.as_ref();
        self.visible_sources()
            .iter()
            .filter(|s| s.pane == pane)
            .filter(|s| filter.is_none_or(|f| f.matches(&row_haystack(s, self.now))))
            .collect()
    }

    /// How many rows the pane shows now.
    pub fn row_count(&self, pane: PaneId) -> usize {
        match pane {
            PaneId::Pods if self.pane_shows_data(pane) => {
                if self.panes[pane.index()].alt_view {
                    self.visible.deployments.len()
                } else {
                    self.visible.pods.len()
                }
            }
            PaneId::Claims if self.pane_shows_data(pane) => self.visible.claims.len(),
            PaneId::Slo if self.pane_shows_data(pane) => self.slo_rows().len(),
            PaneId::Db if self.pane_shows_data(pane) => self.db_rows().len(),
            _ => self.pane_rows(pane).len(),
        }
    }

    pub fn pane_has_sources(&self, pane: PaneId) -> bool {
        self.visible_sources().iter().any(|s| s.pane == pane)
    }

    pub fn selected_row(&self, pane: PaneId) -> Option<&SourceStatus> {
        self.pane_rows(pane)
            .get(self.panes[pane.index()].selected)
            .copied()
    }

    /// The SLO pane's rows: SLOs worst first, then health endpoints worst first.
    pub fn slo_rows(&self) -> Vec<SloRow<'_>> {
        let mut slos: Vec<&crate::slo::SloResult> = self.slo.results.iter().collect();
        slos.sort_by_key(|s| s.state);
        let mut health: Vec<&crate::slo::HealthResult> = self.slo.health.values().collect();
        health.sort_by_key(|h| h.status);
        let filter = self.panes[PaneId::Slo.index()].filter.as_ref();
        slos.into_iter()
            .map(SloRow::Slo)
            .chain(health.into_iter().map(SloRow::Health))
            .filter(|row| filter.is_none_or(|f| f.matches(&row.haystack())))
            .collect()
    }

    /// The DB pane's selected database or cache.
    pub fn selected_db(&self) -> Option<DbRow> {
        let view = &self.panes[PaneId::Db.index()];
        self.db_rows().get(view.selected).copied()
    }

    /// The session under the cursor in the DB detail view (PostgreSQL only).
    pub fn selected_session(&self) -> Option<&crate::db::postgres::Session> {
        let view = &self.panes[PaneId::Db.index()];
        let Some(DbRow::Postgres(index)) = self.selected_db() else {
            return None;
        };
        if !view.detail_open {
            return None;
        }
        let pid = *self.visible.db_sessions.get(view.detail_scroll)?;
        self.visible_db()
            .postgres
            .get(&index)?
            .sample
            .sessions
            .iter()
            .find(|s| s.pid == pid)
    }

    /// The pod under the cursor in the Pods pane.
    pub fn selected_pod(&self) -> Option<&crate::model::pods::PodRow> {
        let view = &self.panes[PaneId::Pods.index()];
        if view.alt_view {
            return None;
        }
        let key = self.visible.pods.get(view.selected)?;
        self.visible_kube().pods.get(key)
    }

    /// Rebuilds orderings and filtered rows if anything changed. Call before drawing.
    pub fn prepare_view(&mut self) {
        self.kube.reorder();
        if let Some(frozen) = &mut self.frozen {
            frozen.kube.reorder();
        }
        if !self.view_dirty {
            return;
        }
        self.view_dirty = false;
        let kube = self.frozen.as_ref().map_or(&self.kube, |f| &f.kube);
        let filter = |pane: PaneId| self.panes[pane.index()].filter.as_ref();
        let pods_filter = filter(PaneId::Pods);
        self.visible.pods = kube
            .pods_sorted()
            .filter(|p| {
                pods_filter.is_none_or(|f| {
                    f.matches(&format!(
                        "{} {} {} {}",
                        p.namespace,
                        p.name,
                        p.status,
                        p.node.as_deref().unwrap_or_default()
                    ))
                })
            })
            .map(crate::data::Keyed::key)
            .collect();
        self.visible.deployments = kube
            .deployments_sorted()
            .filter(|d| {
                pods_filter.is_none_or(|f| {
                    f.matches(&format!(
                        "{} {} {:?} {}",
                        d.namespace,
                        d.name,
                        d.rollout,
                        d.images.join(" ")
                    ))
                })
            })
            .map(crate::data::Keyed::key)
            .collect();
        let claims_filter = filter(PaneId::Claims);
        self.visible.claims = kube
            .claims_sorted
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                claims_filter.is_none_or(|f| {
                    f.matches(&format!(
                        "{} {} {} {} {}",
                        c.source,
                        c.namespace.as_deref().unwrap_or_default(),
                        c.name,
                        c.state,
                        c.why
                    ))
                })
            })
            .map(|(i, _)| i)
            .collect();
        self.visible.db = self.db_rows();
        self.visible.db_sessions = self.db_session_order();
        for pane in PaneId::ALL {
            let rows = self.row_count(pane);
            let view = &mut self.panes[pane.index()];
            view.selected = view.selected.min(rows.saturating_sub(1));
        }
    }

    /// Configured databases, then caches, that match the DB pane's filter.
    pub fn db_rows(&self) -> Vec<DbRow> {
        let Some(target) = self.target() else {
            return Vec::new();
        };
        let filter = self.panes[PaneId::Db.index()].filter.as_ref();
        let db = self.visible_db();
        let postgres = target.postgres.iter().enumerate().map(|(i, pg)| {
            let level = db.postgres.get(&i).map(|s| format!("{:?}", s.level));
            (
                DbRow::Postgres(i),
                format!("postgres {} {}", pg.name, level.unwrap_or_default()),
            )
        });
        let redis = target.redis.iter().enumerate().map(|(i, r)| {
            let level = db.redis.get(&i).map(|s| format!("{:?}", s.level));
            (
                DbRow::Redis(i),
                format!("redis {} {}", r.name, level.unwrap_or_default()),
            )
        });
        postgres
            .chain(redis)
            .filter(|(_, haystack)| filter.is_none_or(|f| f.matches(haystack)))
            .map(|(row, _)| row)
            .collect()
    }

    /// The selected database's sessions in the detail view's order.
    fn db_session_order(&self) -> Vec<i32> {
        let view = &self.panes[PaneId::Db.index()];
        let Some(DbRow::Postgres(index)) = self.visible.db.get(view.selected).copied() else {
            return Vec::new();
        };
        let Some(status) = self.visible_db().postgres.get(&index) else {
            return Vec::new();
        };
        let mut sessions: Vec<&crate::db::postgres::Session> =
            status.sample.sessions.iter().collect();
        let age = |s: &crate::db::postgres::Session| {
            s.xact_age.or(s.query_age).or(s.backend_age).unwrap_or(0.0)
        };
        match view.session_sort {
            SessionSort::Age => sessions.sort_by(|a, b| age(b).total_cmp(&age(a))),
            SessionSort::State => sessions.sort_by(|a, b| {
                a.state
                    .cmp(&b.state)
                    .then_with(|| age(b).total_cmp(&age(a)))
            }),
            SessionSort::Wait => sessions.sort_by(|a, b| {
                // Waiting sessions first (None sorts last), longest first among equals.
                b.wait_event_type
                    .is_some()
                    .cmp(&a.wait_event_type.is_some())
                    .then_with(|| a.wait_event_type.cmp(&b.wait_event_type))
                    .then_with(|| a.wait_event.cmp(&b.wait_event))
                    .then_with(|| age(b).total_cmp(&age(a)))
            }),
            SessionSort::Pid => sessions.sort_by_key(|s| s.pid),
        }
        sessions.into_iter().map(|s| s.pid).collect()
    }

    fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        let text = crate::text::sanitize(&text.into());
        self.toasts.push(Toast {
            level,
            text,
            expires: self.now + TOAST_TIME,
        });
        // A burst of messages keeps only the newest few.
        if self.toasts.len() > 4 {
            self.toasts.remove(0);
        }
    }

    /// The pure update.
    pub fn update(&mut self, mut action: Action) -> Vec<Effect> {
        redact_backend_text(&mut action);
        match action {
            Action::Key(key) => {
                let mut effects = self.on_key(key);
                // The cursor may be on a row whose offers need access reviews.
                effects.extend(self.ask_access());
                effects
            }
            Action::Paste(text) => {
                if let Some(input) = &mut self.input {
                    let line = text.lines().next().unwrap_or_default().to_string();
                    input.textarea.insert_str(crate::text::sanitize(&line));
                    self.apply_live_filter();
                }
                vec![]
            }
            Action::Resize => vec![],
            Action::Tick(now) => {
                self.now = now;
                self.toasts.retain(|t| t.expires > now);
                // Answers a minute old are asked again, if the selected row still needs them.
                self.ask_access()
            }
            Action::Backend(SourceEvent::State {
                generation,
                index,
                state,
                at,
            }) => {
                if generation == self.generation
                    && let Some(source) = self.sources.get_mut(index)
                {
                    if state == SourceState::Live {
                        source.last_ok = Some(at);
                    }
                    log_transition(source, &state);
                    source.state = state;
                }
                vec![]
            }
            Action::Backend(SourceEvent::Kube { generation, update }) => {
                if generation == self.generation {
                    self.kube.apply(update);
                    // A frozen display keeps its rows; the live data changes underneath.
                    self.view_dirty |= self.frozen.is_none();
                    // The first rows (or a changed one) under the cursor may need answers.
                    return self.ask_access();
                }
                vec![]
            }
            Action::Backend(SourceEvent::Logs {
                generation,
                source,
                event,
            }) => {
                if generation == self.generation {
                    self.logs.apply(source, event);
                    // A log source is as healthy as its streams say (quiet logs are not stale).
                    let at = self.now;
                    let state = self.logs.source_state(source);
                    if let Some(status) = self
                        .sources
                        .iter_mut()
                        .find(|s| s.origin == status::SourceOrigin::Logs(source))
                    {
                        if state == SourceState::Live {
                            status.last_ok = Some(at);
                        }
                        status.state = state;
                    }
                    self.view_dirty |= self.frozen.is_none();
                }
                vec![]
            }
            Action::Backend(SourceEvent::PodDetail {
                generation,
                key,
                detail,
            }) => {
                if generation == self.generation {
                    self.pod_detail = Some((key, detail));
                }
                vec![]
            }
            Action::Backend(SourceEvent::KubeContext { generation, name }) => {
                if generation == self.generation {
                    self.kube_context = Some(name);
                }
                vec![]
            }
            Action::Backend(SourceEvent::Slo {
                generation,
                results,
            }) => {
                if generation == self.generation {
                    self.slo.results = results;
                }
                vec![]
            }
            Action::Backend(SourceEvent::Health {
                generation,
                index,
                result,
            }) => {
                if generation == self.generation {
                    self.slo.health.insert(index, result);
                }
                vec![]
            }
            Action::Backend(SourceEvent::Db { generation, update }) => {
                if generation == self.generation {
                    self.db.apply(update);
                    self.view_dirty |= self.frozen.is_none();
                }
                vec![]
            }
            Action::History {
                generation,
                attempt,
                result,
            } => {
                if generation == self.generation {
                    self.on_history(attempt, result);
                }
                vec![]
            }
            Action::Previewed {
                generation,
                attempt,
                result,
                audit,
            } => {
                if generation == self.generation {
                    self.on_preview(attempt, result, audit);
                }
                vec![]
            }
            Action::Executed {
                generation,
                attempt,
                result,
                follow,
            } => {
                // Results of another target's remediation are still news for the operator.
                let _ = generation;
                self.on_executed(attempt, result, follow);
                vec![]
            }
            Action::Progress {
                generation,
                attempt,
                progress,
            } => {
                if generation == self.generation {
                    self.on_progress(attempt, progress);
                }
                vec![]
            }
            Action::Permissions {
                generation,
                answers,
            } => {
                if generation == self.generation {
                    self.access.answered(answers, self.now);
                }
                vec![]
            }
            Action::Notify { error, text } => {
                self.toast(
                    if error {
                        ToastLevel::Error
                    } else {
                        ToastLevel::Info
                    },
                    text,
                );
                vec![]
            }
            Action::Quit => self.quit(),
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.should_quit = true;
        vec![Effect::Quit]
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        let chord = KeyChord::from_event(&key);
        if chord == Some(HARD_QUIT) {
            return self.quit();
        }
        if self.input.is_some() {
            return self.on_input_key(key);
        }
        let Some(chord) = chord else { return vec![] };
        if self.modal.is_some() {
            return self.on_modal_key(key);
        }
        let read_only = self.policy.is_read_only();
        let command = self
            .keymap
            .lookup_for(&self.key_contexts(), chord, read_only);
        if command.is_none()
            && read_only
            && matches!(
                self.keymap.lookup(&self.key_contexts(), chord),
                Some(Command::Remediate(_))
            )
        {
            self.toast(ToastLevel::Info, "read-only mode: remediations are off");
            return vec![];
        }
        if let Some(scroll) = self.help {
            // The help overlay swallows every key; only closing and scrolling do anything.
            use keymap::ModalCommand as M;
            self.help = match self.keymap.lookup_modal(Context::Help, chord) {
                Some(M::HelpClose) => None,
                Some(M::HelpDown) => Some(scroll.saturating_add(1)),
                Some(M::HelpUp) => Some(scroll.saturating_sub(1)),
                Some(M::HelpPageDown) => Some(scroll.saturating_add(10)),
                Some(M::HelpPageUp) => Some(scroll.saturating_sub(10)),
                Some(M::HelpTop) => Some(0),
                _ => Some(scroll),
            };
            return vec![];
        }
        match command {
            Some(command) => self.run_command(command),
            None => vec![],
        }
    }

    fn run_command(&mut self, command: Command) -> Vec<Effect> {
        let focus = self.focus;
        let rows = self.row_count(focus);
        if focus == PaneId::Logs && self.pane_shows_data(focus) {
            let logs = &mut self.logs;
            match command {
                Command::Up => return logs.move_by(-1).into_effects(),
                Command::Down => return logs.move_by(1).into_effects(),
                Command::PageUp => return logs.move_by(-20).into_effects(),
                Command::PageDown => return logs.move_by(20).into_effects(),
                Command::Top => return logs.to_top().into_effects(),
                Command::Bottom => return logs.to_tail().into_effects(),
                Command::Filter => {
                    let current = logs.filter.text.clone();
                    self.input = Some(Input::new(InputKind::Filter(focus), &current));
                    return vec![];
                }
                Command::Open => {
                    self.panes[focus.index()].detail_open = true;
                    return vec![];
                }
                Command::Back if self.panes[focus.index()].detail_open => {
                    self.panes[focus.index()].detail_open = false;
                    return vec![];
                }
                Command::Back if logs.filter.is_active() => {
                    logs.filter = crate::logs::LogFilter::default();
                    logs.refilter();
                    return vec![];
                }
                _ => {}
            }
        }
        // The DB detail view's cursor is a session or a client: it stays on one.
        let db_detail_len = match self.selected_db() {
            Some(DbRow::Redis(i)) => self
                .visible_db()
                .redis
                .get(&i)
                .map_or(0, |r| r.clients.len()),
            _ => self.visible.db_sessions.len(),
        };
        let view = &mut self.panes[focus.index()];
        if view.detail_open {
            // In a detail view, movement scrolls the detail.
            let scroll = &mut view.detail_scroll;
            match command {
                Command::Up => *scroll = scroll.saturating_sub(1),
                Command::Down => *scroll += 1,
                Command::PageUp => *scroll = scroll.saturating_sub(10),
                Command::PageDown => *scroll += 10,
                Command::Top => *scroll = 0,
                Command::Bottom => *scroll = usize::from(u16::MAX),
                _ => {}
            }
            if focus == PaneId::Db {
                *scroll = (*scroll).min(db_detail_len.saturating_sub(1));
            }
            if matches!(
                command,
                Command::Up
                    | Command::Down
                    | Command::PageUp
                    | Command::PageDown
                    | Command::Top
                    | Command::Bottom
            ) {
                return vec![];
            }
        }
        match command {
            Command::Quit => return self.quit(),
            Command::Help => self.help = Some(0),
            Command::FocusNext => self.focus = focus.next(),
            Command::FocusPrev => self.focus = focus.prev(),
            Command::Focus(pane) => self.focus = pane,
            Command::Up => view.selected = view.selected.saturating_sub(1),
            Command::Down => view.selected = (view.selected + 1).min(rows.saturating_sub(1)),
            Command::PageUp => view.selected = view.selected.saturating_sub(10),
            Command::PageDown => view.selected = (view.selected + 10).min(rows.saturating_sub(1)),
            Command::Top => view.selected = 0,
            Command::Bottom => view.selected = rows.saturating_sub(1),
            Command::Open => {
                view.detail_open = rows > 0;
                view.detail_scroll = 0;
                self.view_dirty = true;
                return self.detail_effects();
            }
            Command::Back => {
                if view.detail_open {
                    view.detail_open = false;
                    return self.detail_effects();
                } else if view.filter.is_some() {
                    view.filter = None;
                    view.selected = 0;
                    self.view_dirty = true;
                } else {
                    self.zoomed = false;
                }
            }
            Command::Zoom => self.zoomed = !self.zoomed,
            Command::OpenLogs => return self.open_logs(),
            Command::PreviousLogs => return self.previous_logs(),
            Command::Follow
            | Command::LevelCycle
            | Command::SourceCycle
            | Command::Wrap
            | Command::Timestamps
            | Command::RawToggle
            | Command::Copy
            | Command::Save => return self.logs_command(command),
            Command::Remediate(verb) => return self.remediate(verb),
            Command::SortCycle => {
                if focus == PaneId::Db {
                    view.session_sort = view.session_sort.next();
                    view.detail_scroll = 0;
                    let label = view.session_sort.label();
                    self.view_dirty = true;
                    self.toast(ToastLevel::Info, format!("sessions sorted by {label}"));
                }
            }
            Command::ToggleView => {
                if self.pane_shows_data(focus) && focus == PaneId::Pods {
                    let view = &mut self.panes[focus.index()];
                    view.alt_view = !view.alt_view;
                    view.selected = 0;
                    view.detail_open = false;
                    self.view_dirty = true;
                }
            }
            Command::Filter => {
                let current = view
                    .filter
                    .as_ref()
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
                self.input = Some(Input::new(InputKind::Filter(focus), &current));
            }
            Command::CommandLine => self.input = Some(Input::new(InputKind::Command, "")),
            Command::Freeze => {
                if self.frozen.take().is_none() {
                    self.frozen = Some(Frozen {
                        sources: self.sources.clone(),
                        kube: self.kube.clone(),
                        db: self.db.clone(),
                        at: self.now,
                    });
                }
                self.view_dirty = true;
            }
            Command::NextTarget => {
                let count = self.config.targets.len();
                if count > 1 {
                    return self.switch_target((self.target_index + 1) % count);
                }
                self.toast(ToastLevel::Info, "only one target is configured");
            }
            // Modal layers handle their own keys.
            Command::Modal(_) => {}
        }
        vec![]
    }

    /// Key contexts in lookup order for the focused pane.
    pub fn key_contexts(&self) -> Vec<Context> {
        match self.focus {
            PaneId::Pods => vec![Context::Pods, Context::List, Context::Global],
            PaneId::Logs => vec![Context::Logs, Context::List, Context::Global],
            PaneId::Db => vec![Context::Db, Context::List, Context::Global],
            PaneId::Claims => vec![Context::Claims, Context::List, Context::Global],
            PaneId::Slo => vec![Context::List, Context::Global],
        }
    }

    /// `l` in the Pods pane: the logs of the selected deployment, or of the selected pod's.
    fn open_logs(&mut self) -> Vec<Effect> {
        if !self.pane_shows_data(PaneId::Pods) {
            return vec![];
        }
        let kube = self.visible_kube();
        let view = &self.panes[PaneId::Pods.index()];
        let (namespace, workload, label) = if view.alt_view {
            let Some(d) = self
                .visible
                .deployments
                .get(view.selected)
                .and_then(|k| kube.deployments.get(k))
            else {
                return vec![];
            };
            (
                d.namespace.clone(),
                format!("deploy/{}", d.name),
                format!("{}/deploy/{}", d.namespace, d.name),
            )
        } else {
            let Some(pod) = self.selected_pod() else {
                return vec![];
            };
            (
                pod.namespace.clone(),
                format!("pod/{}", pod.name),
                format!("{}/{}", pod.namespace, pod.name),
            )
        };
        let config = crate::config::LogsConfig::ad_hoc(&label, &namespace, &workload);
        self.adhoc_logs += 1;
        self.adhoc_namespaces
            .insert(ADHOC_SOURCE + self.adhoc_logs, namespace.clone());
        self.focus = PaneId::Logs;
        self.logs.filter = crate::logs::LogFilter::default();
        self.logs.refilter();
        self.logs.to_tail();
        self.toast(ToastLevel::Info, format!("following logs of {label}"));
        vec![Effect::OpenLogs {
            generation: self.generation,
            source: ADHOC_SOURCE + self.adhoc_logs,
            config: Box::new(config),
        }]
    }

    /// `p` on a pod (Pods pane) or on a line (Logs pane): the previous container's logs, once.
    fn previous_logs(&mut self) -> Vec<Effect> {
        let target = match self.focus {
            PaneId::Logs => self.selected_line_pod(),
            PaneId::Pods => self
                .selected_pod()
                .map(|p| (p.namespace.clone(), p.name.clone())),
            _ => None,
        };
        let Some((namespace, name)) = target else {
            return vec![];
        };
        self.adhoc_logs += 1;
        self.focus = PaneId::Logs;
        self.logs.to_tail();
        self.toast(
            ToastLevel::Info,
            format!("previous logs of {namespace}/{name}"),
        );
        vec![Effect::PreviousLogs {
            generation: self.generation,
            source: ADHOC_SOURCE + self.adhoc_logs,
            namespace,
            pod: name,
        }]
    }

    /// The namespace and pod of the selected log line's stream (`pod/container` labels).
    fn selected_line_pod(&self) -> Option<(String, String)> {
        let logs = &self.logs;
        let seq = logs.selected_index().and_then(|i| logs.visible.get(i))?;
        let stream = logs.streams.get(&logs.buffer.get(*seq)?.stream)?;
        let pod = stream.label.split('/').next()?.to_string();
        let namespace = match self.target().and_then(|t| t.logs.get(stream.source)) {
            Some(config) => config.namespace.clone()?,
            None => self.adhoc_namespaces.get(&stream.source)?.clone(),
        };
        Some((namespace, pod))
    }

    fn logs_command(&mut self, command: Command) -> Vec<Effect> {
        if self.focus != PaneId::Logs {
            return vec![];
        }
        let logs = &mut self.logs;
        match command {
            Command::Follow => logs.toggle_follow(),
            Command::LevelCycle => logs.cycle_level(),
            Command::SourceCycle => logs.cycle_stream(),
            Command::Wrap => logs.wrap = !logs.wrap,
            Command::Timestamps => logs.timestamps = !logs.timestamps,
            Command::RawToggle => logs.raw = !logs.raw,
            Command::Copy => {
                let line = logs
                    .selected_index()
                    .and_then(|i| logs.visible.get(i))
                    .and_then(|seq| logs.buffer.get(*seq));
                if let Some(line) = line {
                    let text = line.raw.to_string();
                    self.toast(
                        ToastLevel::Info,
                        format!("copied {} characters (OSC 52)", text.chars().count()),
                    );
                    return vec![Effect::CopyToClipboard(text)];
                }
            }
            Command::Save => {
                let mut text = String::new();
                for seq in &logs.visible {
                    if let Some(line) = logs.buffer.get(*seq) {
                        let label = logs
                            .streams
                            .get(&line.stream)
                            .map_or("?", |s| s.label.as_str());
                        text.push_str(&format!("{label} {}\n", line.raw));
                    }
                }
                return vec![Effect::SaveLogs {
                    text,
                    lines: logs.visible.len(),
                }];
            }
            _ => {}
        }
        vec![]
    }

    /// Opening, moving in or closing the Pods pane's detail view starts or stops following a pod.
    fn detail_effects(&mut self) -> Vec<Effect> {
        let view = &self.panes[PaneId::Pods.index()];
        if self.focus != PaneId::Pods || !self.pane_shows_data(PaneId::Pods) {
            return vec![];
        }
        match (
            view.detail_open,
            self.selected_pod().map(crate::data::Keyed::key),
        ) {
            (true, Some(key)) => {
                self.pod_detail = None;
                vec![Effect::OpenPodDetail {
                    generation: self.generation,
                    key,
                }]
            }
            _ => {
                self.pod_detail = None;
                vec![Effect::ClosePodDetail]
            }
        }
    }

    fn switch_target(&mut self, index: usize) -> Vec<Effect> {
        self.select_target(index);
        self.toast(ToastLevel::Info, format!("target: {}", self.target_name()));
        self.start()
    }

    fn on_input_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        use keymap::ModalCommand as M;
        let command = KeyChord::from_event(&key)
            .and_then(|chord| self.keymap.lookup_modal(Context::Input, chord));
        let Some(input) = &mut self.input else {
            return vec![];
        };
        match command {
            Some(M::InputCancel) => {
                if input.kind == InputKind::Filter(PaneId::Logs) {
                    self.logs.filter.set_text("");
                    self.logs.refilter();
                }
                if let InputKind::Filter(pane) = input.kind {
                    // Esc backs out of the filter entirely.
                    self.panes[pane.index()].filter = None;
                    self.view_dirty = true;
                }
                self.input = None;
                vec![]
            }
            Some(M::InputSubmit) => {
                let text = input.text();
                let kind = input.kind;
                self.input = None;
                match kind {
                    InputKind::Filter(_) => vec![],
                    InputKind::Command => self.run_command_line(text.trim()),
                }
            }
            _ if !keymap::edits_single_line(&key) => vec![],
            _ => {
                input.textarea.input(key);
                self.apply_live_filter();
                vec![]
            }
        }
    }

    /// Filters apply as the operator types.
    fn apply_live_filter(&mut self) {
        if let Some(Input {
            kind: InputKind::Filter(PaneId::Logs),
            ..
        }) = &self.input
            && self.pane_shows_data(PaneId::Logs)
        {
            let text = self.input.as_ref().map(Input::text).unwrap_or_default();
            self.logs.filter.set_text(&text);
            self.logs.refilter();
            return;
        }
        if let Some(Input {
            kind: InputKind::Filter(pane),
            ..
        }) = &self.input
        {
            let pane = *pane;
            let text = self.input.as_ref().map(Input::text).unwrap_or_default();
            let view = &mut self.panes[pane.index()];
            view.filter = Filter::new(&text);
            view.selected = 0;
            self.view_dirty = true;
        }
    }

    /// `:target NAME`, `:q`, `:help`, `:freeze`, `:zoom`.
    fn run_command_line(&mut self, line: &str) -> Vec<Effect> {
        let (verb, arg) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(v, a)| (v, a.trim()));
        match verb {
            "" => vec![],
            "q" | "quit" | "q!" => self.quit(),
            "help" | "h" => {
                self.help = Some(0);
                vec![]
            }
            "freeze" => self.run_command(Command::Freeze),
            "zoom" => self.run_command(Command::Zoom),
            "target" | "t" if arg.is_empty() => {
                let names: Vec<&str> = self.config.targets.iter().map(TargetConfig::name).collect();
                self.toast(ToastLevel::Info, format!("targets: {}", names.join(", ")));
                vec![]
            }
            "target" | "t" => {
                if let Some(index) = self.config.targets.iter().position(|t| t.name() == arg) {
                    return self.switch_target(index);
                }
                let names: Vec<String> = self
                    .config
                    .targets
                    .iter()
                    .map(|t| t.name().to_string())
                    .collect();
                let hint = suggest(arg, &names)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                self.toast(ToastLevel::Error, format!("no target named {arg:?}{hint}"));
                vec![]
            }
            other => {
                let known = ["quit", "target", "help", "freeze", "zoom"].map(String::from);
                let hint = suggest(other, &known)
                    .map(|s| format!("; did you mean :{s}?"))
                    .unwrap_or_default();
                self.toast(ToastLevel::Error, format!("unknown command :{other}{hint}"));
                vec![]
            }
        }
    }
}

/// The text a filter matches a row against.
fn row_haystack(source: &SourceStatus, now: SystemTime) -> String {
    format!(
        "{} {} {} {}",
        source.kind,
        source.name,
        source.detail,
        source.freshness(now).label()
    )
}

#[cfg(test)]
mod tests;
