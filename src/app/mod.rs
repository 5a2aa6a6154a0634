//! Application state and the pure `update`: actions in, state changed, effects out.
//!
//! Nothing here does I/O. The runtime feeds actions (keys, ticks, source reports) and executes the
//! effects `update` returns. Backend reports change the `Data`; keys change a `View` over it;
//! the UI only reads a `Screen` (one view over one data).

pub mod data;
pub mod drawn;
pub mod incident;
pub mod keymap;
pub mod logs_data;
pub mod logs_view;
pub mod pane;
pub mod platform;
pub mod remediate;
pub mod silence;
pub mod sort;
pub mod status;
pub mod view;
pub mod yaml;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;
use regex::{Regex, RegexBuilder};

use crate::config::{Config, TargetConfig};
use crate::data::ObjectKey;
use crate::event::SourceEvent;
use crate::policy::{ReadOnlyInputs, ReadOnlyPolicy};
pub use data::{AlertsData, Data, SloData, YamlResult};
use keymap::Keymap;
use pane::PaneId;
use status::SourceState;
pub use view::{Frozen, HelpPage, Screen, Served, View, Viewer};

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
        // The YAML's lines are redacted one by one as they are stored (`YamlResult`).
        Action::Backend(SourceEvent::Yaml { yaml, .. }) => err(yaml),
        Action::Backend(SourceEvent::Slo { results, .. }) => {
            for result in results {
                if let Some(error) = &mut result.error {
                    text(error);
                }
                result.warnings.iter_mut().for_each(text);
            }
        }
        Action::Backend(SourceEvent::Alerts { report, .. }) => {
            // Annotations and links may quote URLs with credentials.
            for alert in &mut report.alerts {
                alert.annotations.values_mut().for_each(text);
                if let Some(url) = &mut alert.generator_url {
                    text(url);
                }
            }
            for silence in &mut report.silences {
                text(&mut silence.comment);
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
    /// GET one object for the YAML view (`y`), fresh from the API server.
    OpenYaml {
        generation: u64,
        object: crate::data::ObjectRef,
    },
    /// The YAML view closed: a fetch still under way is dropped.
    CloseYaml,
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
    /// Stop these ad-hoc log sources (opened by `OpenLogs` or `PreviousLogs`): their tasks are
    /// cancelled and their streams marked ended. Never a configured source.
    CloseLogs {
        generation: u64,
        sources: Vec<usize>,
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

/// A row of the SLO pane.
#[derive(Debug, Clone, Copy)]
pub enum SloRow<'a> {
    /// Alerts of one name.
    Alert(&'a AlertsData, &'a crate::alerts::AlertGroup),
    Slo(&'a crate::slo::SloResult),
    Health(&'a crate::slo::HealthResult),
}

impl SloRow<'_> {
    fn haystack(&self) -> String {
        match self {
            Self::Alert(data, group) => {
                let mut text = format!("alert {} {}", group.name, group.state.label());
                for alert in data.members(group) {
                    for (k, v) in &alert.labels {
                        text.push_str(&format!(" {k}={v}"));
                    }
                    text.push(' ');
                    text.push_str(alert.summary().unwrap_or_default());
                }
                text
            }
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
    /// How many times in a row this message came (shown as `×N`).
    pub repeats: u32,
    pub at: SystemTime,
}

/// Messages kept for `:messages`.
pub const MESSAGE_HISTORY: usize = 200;

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
    /// What the Pods pane lists (pods, a workload kind, a platform check).
    pub mode: pane::PodsMode,
    /// How far the open detail view is scrolled, in screen rows (DB pane: the cursor in the
    /// sessions or clients list).
    pub detail_scroll: usize,
    /// The order of the pane's table (`o`/`O`): pods, claims, the DB pane's sessions.
    pub sort: sort::Sort,
    /// The order of the second view's table (Pods pane: deployments).
    pub alt_sort: sort::Sort,
    /// Only unhealthy rows (`!`): Pods pane (pods and deployments), Stuck claims.
    pub unhealthy: bool,
    /// DB pane: the session (pid) whose detail is open over the sessions list.
    pub session: Option<i32>,
    /// How far the session detail is scrolled, in screen rows.
    pub session_scroll: usize,
    /// SLO detail: the chart's time range.
    pub range: ChartRange,
    /// The row to select once the rows are rebuilt (after a filter is cleared, the order or
    /// the unhealthy toggle changed): the same object, wherever it lands.
    pub reselect: Option<RowId>,
    /// The YAML view (`y`) open over the pane's list or detail.
    pub yaml: Option<yaml::YamlView>,
}

impl PaneView {
    /// The order of the table shown now.
    pub fn current_sort(&self) -> sort::Sort {
        if self.mode == pane::PodsMode::Deployments {
            self.alt_sort
        } else {
            self.sort
        }
    }

    fn current_sort_mut(&mut self) -> &mut sort::Sort {
        if self.mode == pane::PodsMode::Deployments {
            &mut self.alt_sort
        } else {
            &mut self.sort
        }
    }
}

/// A row by identity rather than position, to keep it selected as rows are rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowId {
    /// A pod or a deployment.
    Object(ObjectKey),
    Claim {
        source: String,
        namespace: Option<String>,
        name: String,
    },
    Db(DbRow),
    /// A session in the DB pane's sessions list (its cursor is `detail_scroll`).
    Session(i32),
    /// An SLO, a health endpoint or a source, by name.
    Named(String),
}

/// The SLO detail chart's time range, cycled with `r`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChartRange {
    Hour,
    SixHours,
    /// The whole history the source fetches (24 h).
    #[default]
    Day,
    Week,
}

impl ChartRange {
    pub fn next(self) -> Self {
        match self {
            Self::Hour => Self::SixHours,
            Self::SixHours => Self::Day,
            Self::Day => Self::Week,
            Self::Week => Self::Hour,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::SixHours => "6h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    pub fn seconds(self) -> f64 {
        match self {
            Self::Hour => 3600.0,
            Self::SixHours => 6.0 * 3600.0,
            Self::Day => 24.0 * 3600.0,
            Self::Week => 7.0 * 24.0 * 3600.0,
        }
    }
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

/// The rows each pane shows after ordering and filtering, rebuilt by `View::prepare` when data,
/// filters or views change, so drawing a frame never sorts or filters.
#[derive(Debug, Clone, Default)]
pub struct VisibleRows {
    /// Shared with `KubeData`'s order when nothing filters or re-sorts it (10,000 pods are not
    /// copied per batch of updates).
    pub pods: std::sync::Arc<[ObjectKey]>,
    pub deployments: std::sync::Arc<[ObjectKey]>,
    /// Indexes into `KubeData::claims_sorted`.
    pub claims: Vec<usize>,
    /// How the pods, deployments and claims above spread over namespaces.
    pub pods_spread: crate::model::Spread,
    pub deployments_spread: crate::model::Spread,
    pub claims_spread: crate::model::Spread,
    /// The Pods pane's rows in a platform view (statefulsets .. certificates: see
    /// [`pane::PodsMode`]), worst first, filtered; keys into that kind's table of `KubeData`.
    pub platform: Vec<ObjectKey>,
    pub platform_spread: crate::model::Spread,
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

/// The console: one target's data and the view over it, with what switching targets needs.
#[derive(Debug)]
pub struct App {
    pub data: Data,
    pub view: View,
    read_only_inputs: ReadOnlyInputs,
}

pub(crate) const TOAST_TIME: Duration = Duration::from_secs(6);

/// Log sources opened from the Pods pane are numbered from here (configured ones from 0).
pub const ADHOC_SOURCE: usize = 1 << 20;
/// Previous-container reads (`p`) are numbered from here: they are never part of the shared
/// live view, only of their own.
pub const PREVIOUS_SOURCE: usize = 1 << 40;
/// Each served session numbers its ad-hoc sources in a range of this many of its own.
pub const SESSION_SOURCES: usize = 1 << 16;

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
        let data = Data::new(config, target_index, 1);
        let policy = policy_for(&data, read_only_inputs);
        let view = View::new(config_path, keymap, policy, now);
        Self {
            data,
            view,
            read_only_inputs,
        }
    }

    /// Effects to run once at startup. Access reviews wait until a row needs them.
    pub fn start(&self) -> Vec<Effect> {
        vec![Effect::StartSources {
            generation: self.data.generation,
            target_index: self.data.target_index,
        }]
    }

    /// What the UI draws.
    pub fn screen(&self) -> Screen<'_> {
        self.view.screen(&self.data)
    }

    pub fn target(&self) -> Option<&TargetConfig> {
        self.data.target()
    }

    pub fn target_name(&self) -> &str {
        self.data.target_name()
    }

    pub fn should_quit(&self) -> bool {
        self.view.should_quit
    }

    /// New, empty data for `index` (a new generation: late reports of the old one are ignored).
    fn switch_target(&mut self, index: usize) -> Vec<Effect> {
        let config = Arc::clone(&self.data.config);
        self.data = Data::new(config, index, self.data.generation + 1);
        let policy = policy_for(&self.data, self.read_only_inputs);
        self.view.reset_for_target(policy);
        let name = self.data.target_name().to_string();
        self.view.toast(ToastLevel::Info, format!("target: {name}"));
        self.start()
    }

    /// Rebuilds orderings and filtered rows if anything changed. Call before drawing.
    pub fn prepare_view(&mut self) {
        self.data.prepare();
        self.view.prepare(&self.data);
    }

    /// The pure update.
    pub fn update(&mut self, mut action: Action) -> Vec<Effect> {
        redact_backend_text(&mut action);
        match action {
            Action::Backend(event) if !event.is_answer() => {
                let kube = matches!(event, SourceEvent::Kube { .. });
                if !self.data.apply(event, self.view.now) {
                    return vec![];
                }
                self.view.observe(&self.data);
                if kube {
                    // The first rows (or a changed one) under the cursor may need answers.
                    return self.view.ask_access(&self.data);
                }
                vec![]
            }
            action => {
                let mut effects = self.view.update(&self.data, action);
                if let Some(index) = self.view.switch_to.take() {
                    effects.extend(self.switch_target(index));
                    // The new target's first row may need access reviews.
                    effects.extend(self.view.ask_access(&self.data));
                }
                effects
            }
        }
    }
}

/// A source's report as the shared data may take it: its text redacted.
pub fn redacted_event(event: SourceEvent) -> SourceEvent {
    let mut action = Action::Backend(event);
    redact_backend_text(&mut action);
    match action {
        Action::Backend(event) => event,
        _ => unreachable!("redaction keeps the action's kind"),
    }
}

/// The read-only policy of `data`'s target under `inputs`: the global inputs, the config's
/// `read_only` and the target's own setting.
pub fn policy_for(data: &Data, inputs: ReadOnlyInputs) -> ReadOnlyPolicy {
    let inputs = ReadOnlyInputs {
        global_config: inputs.global_config || data.config.read_only,
        ..inputs
    };
    ReadOnlyPolicy::new(inputs, data.target().is_some_and(|t| t.read_only))
}

impl View {
    /// The view's half of the update: keys, the clock, answers to its own questions and its
    /// remediations' progress. Backend data goes to `Data::apply` (its owner's business); a
    /// target switch is left in `switch_to` for the owner of the data.
    pub fn update(&mut self, data: &Data, mut action: Action) -> Vec<Effect> {
        redact_backend_text(&mut action);
        let generation = data.generation;
        match action {
            Action::Key(key) => self.key(data, key),
            Action::Paste(text) => {
                self.paste(data, &text);
                vec![]
            }
            Action::Resize => vec![],
            Action::Tick(now) => {
                self.now = now;
                // Expired messages leave the status line; `:messages` keeps them.
                // Answers a minute old are asked again, if the selected row still needs them.
                self.ask_access(data)
            }
            Action::Backend(event) => {
                if event.is_answer() && event.generation() == generation {
                    self.answers.take(event, self.now);
                }
                vec![]
            }
            Action::History {
                generation: of,
                attempt,
                result,
            } => {
                if of == generation {
                    self.on_history(attempt, result);
                }
                vec![]
            }
            Action::Previewed {
                generation: of,
                attempt,
                result,
                audit,
            } => {
                if of == generation {
                    self.on_preview(attempt, result, audit);
                }
                vec![]
            }
            Action::Executed {
                attempt,
                result,
                follow,
                ..
            } => {
                // Results of another target's remediation are still news for the operator.
                self.on_executed(attempt, result, follow);
                vec![]
            }
            Action::Progress {
                generation: of,
                attempt,
                progress,
            } => {
                if of == generation {
                    self.on_progress(attempt, progress);
                }
                vec![]
            }
            Action::Permissions {
                generation: of,
                answers,
            } => {
                if of == generation {
                    self.access.answered(answers, self.now);
                }
                vec![]
            }
            Action::Notify { error, text } => {
                let level = if error {
                    ToastLevel::Error
                } else {
                    ToastLevel::Info
                };
                self.toast(level, text);
                vec![]
            }
            Action::Quit => self.quit(),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lists;
#[cfg(test)]
mod tests_yaml;
