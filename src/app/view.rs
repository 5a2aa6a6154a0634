//! What one viewer sees and chose: focus, zoom, each pane's selection and filter, the rows they
//! leave visible, the Logs pane's view, overlays, dialogs and a frozen copy of the data.
//!
//! Keys change a `View` with the `Data` read-only, so several views can share one `Data`.

use std::path::PathBuf;
use std::time::SystemTime;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::data::Data;
use super::drawn::{self, Drawn, FALLBACK_PAGE};
use super::keymap::{self, Command, Context, HARD_QUIT, KeyChord, Keymap};
use super::logs_view::{LogsScope, LogsView};
use super::pane::{PaneId, PodsMode};
use super::remediate;
use super::status::SourceStatus;
use super::{
    ADHOC_SOURCE, DbRow, Effect, Filter, Input, InputKind, PREVIOUS_SOURCE, PaneView, RowId,
    SloRow, TOAST_TIME, Toast, ToastLevel, VisibleRows, sort,
};
use crate::config::{TargetConfig, suggest};
use crate::data::KubeData;
use crate::policy::ReadOnlyPolicy;

/// The pages of the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HelpPage {
    /// Every key, from the key table.
    #[default]
    Keys,
    /// The messages of this session, newest first.
    Messages,
    /// `:who`: the viewers of a served console.
    Who,
}

/// What a view served over SSH knows of the others (kept fresh by its session).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Sessions watching, this one included.
    pub viewers: usize,
    /// For `:who`, in the order they came.
    pub who: Vec<Viewer>,
}

/// One viewer of a served console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The `[[serve.users]]` name.
    pub name: String,
    pub role: &'static str,
    pub target: String,
    pub since: SystemTime,
    pub last_input: SystemTime,
    /// This session.
    pub me: bool,
}

/// The display frozen by `f`: a copy of all the data, while the live data keeps updating.
#[derive(Debug, Clone)]
pub struct Frozen {
    pub data: Box<Data>,
    pub at: SystemTime,
}

#[derive(Debug)]
pub struct View {
    pub config_path: PathBuf,
    /// This viewer's policy: read-only or not.
    pub policy: ReadOnlyPolicy,
    pub keymap: Keymap,
    pub focus: PaneId,
    pub zoomed: bool,
    pub panes: [PaneView; 5],
    pub visible: VisibleRows,
    /// What the last frame showed of each pane (page heights), written while drawing.
    pub drawn: Drawn,
    /// A view change (filter, sort, ...) asks `prepare` to rebuild `visible`.
    pub(super) view_dirty: bool,
    /// The data revision `visible` was built from.
    rows_revision: u64,
    /// The Logs pane's filter, visible lines, selection and toggles.
    pub logs: LogsView,
    /// Ad-hoc log sources opened from the Pods pane so far, and their namespaces.
    adhoc_logs: usize,
    adhoc_namespaces: std::collections::BTreeMap<usize, String>,
    /// Ad-hoc sources opened with `l`, by label, so a second `l` reuses the streams.
    adhoc_labels: std::collections::BTreeMap<String, usize>,
    /// The answer count when the pod detail view was (re)opened: older answers are not shown.
    pub pod_detail_asked: u64,
    /// Answers to this view's own questions (pod detail, YAML).
    pub answers: super::data::Answers,
    pub frozen: Option<Frozen>,
    /// Help overlay open, with its scroll offset.
    pub help: Option<u16>,
    pub input: Option<Input>,
    /// Messages, oldest first (the newest is on the status line until it expires; all of
    /// them in `:messages`).
    pub toasts: Vec<Toast>,
    /// What the help overlay shows while open.
    pub help_page: HelpPage,
    pub now: SystemTime,
    /// The remediation modal, when open.
    pub modal: Option<remediate::Modal>,
    /// Remediations executing or rollouts being followed.
    pub running: Vec<remediate::Running>,
    /// What the cluster said the identity may do, per access review, for a minute.
    pub access: crate::remediation::access::AccessCache,
    pub(super) attempts: u64,
    /// Served over SSH: who else watches. `None` in the local console.
    pub served: Option<Served>,
    /// A target asked for by a key; the owner of the data switches (`App::update`).
    pub switch_to: Option<usize>,
    pub should_quit: bool,
}

impl View {
    pub fn new(
        config_path: PathBuf,
        keymap: Keymap,
        policy: ReadOnlyPolicy,
        now: SystemTime,
    ) -> Self {
        let mut view = Self {
            config_path,
            policy,
            keymap,
            focus: PaneId::Pods,
            zoomed: false,
            panes: Default::default(),
            visible: VisibleRows::default(),
            drawn: Drawn::default(),
            view_dirty: true,
            rows_revision: 0,
            logs: LogsView::default(),
            adhoc_logs: 0,
            adhoc_namespaces: std::collections::BTreeMap::new(),
            adhoc_labels: std::collections::BTreeMap::new(),
            pod_detail_asked: 0,
            answers: Default::default(),
            frozen: None,
            help: None,
            input: None,
            toasts: Vec::new(),
            help_page: HelpPage::Keys,
            now,
            modal: None,
            running: Vec::new(),
            access: Default::default(),
            attempts: 0,
            served: None,
            switch_to: None,
            should_quit: false,
        };
        for warning in view.keymap.warnings.clone() {
            view.toast(ToastLevel::Warn, warning);
        }
        view
    }

    /// Numbers this view's remediation attempts from `first` (exclusive): sessions of one
    /// server each get their own range, so attempt ids (and audit lines) never collide.
    pub fn number_attempts_from(&mut self, first: u64) {
        self.attempts = first;
    }

    /// Numbers this view's ad-hoc log sources (`l`, `p`) in a range of its own, and shows no
    /// other view's: served sessions share one collection.
    pub fn own_log_sources(&mut self, first: usize) {
        self.adhoc_logs = first;
        self.logs.own = first..first + super::SESSION_SOURCES;
    }

    /// Forgets what belonged to the previous target's data; focus, zoom, help, input and toasts
    /// stay.
    pub fn reset_for_target(&mut self, policy: ReadOnlyPolicy) {
        self.policy = policy;
        self.panes = Default::default();
        self.visible = VisibleRows::default();
        self.view_dirty = true;
        let own = self.logs.own.clone();
        self.logs = LogsView::default();
        self.logs.own = own;
        // The previous target's ad-hoc streams stopped with its sources.
        self.adhoc_namespaces.clear();
        self.adhoc_labels.clear();
        self.pod_detail_asked = 0;
        self.answers = Default::default();
        self.frozen = None;
        self.modal = None;
        self.running.clear();
        self.access = Default::default();
    }

    /// Both halves of what is drawn.
    pub fn screen<'a>(&'a self, data: &'a Data) -> Screen<'a> {
        Screen { data, view: self }
    }

    /// The data this view shows: the frozen copy, or the live data.
    pub fn shown<'a>(&'a self, live: &'a Data) -> &'a Data {
        shown_data(&self.frozen, live)
    }

    /// The data changed: take in new log lines now (keys move over them); rows are rebuilt by
    /// `prepare`.
    pub fn observe(&mut self, data: &Data) {
        self.logs.catch_up(&shown_data(&self.frozen, data).logs);
    }

    /// Rebuilds orderings and filtered rows if the shown data or the view changed. Call before
    /// drawing.
    pub fn prepare(&mut self, data: &Data) {
        if let Some(frozen) = &mut self.frozen {
            frozen.data.prepare();
        }
        self.observe(data);
        let revision = self.shown(data).revision;
        if !self.view_dirty && self.rows_revision == revision {
            return;
        }
        self.view_dirty = false;
        self.rows_revision = revision;
        let visible = self.screen(data).visible_rows();
        self.visible = visible;
        let screen = Screen { data, view: self };
        let counts = PaneId::ALL.map(|pane| screen.row_count(pane));
        // Rows asked to stay selected by identity, wherever they landed.
        let found = PaneId::ALL.map(|pane| {
            let id = self.panes[pane.index()].reselect.as_ref()?;
            Some((id.clone(), screen.position_of(pane, id)?))
        });
        for pane in PaneId::ALL {
            let view = &mut self.panes[pane.index()];
            view.reselect = None;
            match &found[pane.index()] {
                Some((RowId::Session(_), at)) => view.detail_scroll = *at,
                Some((_, at)) => view.selected = *at,
                None => {}
            }
            view.selected = view.selected.min(counts[pane.index()].saturating_sub(1));
        }
    }

    /// Enter in an alert group's detail: the Pods pane, on the pod (else the deployment) that the
    /// worst alert's labels name, when the target shows it.
    fn jump_to_alert_object(&mut self, data: &Data) -> Vec<Effect> {
        let selected = self.panes[PaneId::Slo.index()].selected;
        let link = match self.screen(data).slo_rows().get(selected) {
            Some(SloRow::Alert(alerts, group)) => alerts
                .members(group)
                .find_map(|alert| alert_link(alert, self.shown(data))),
            _ => return vec![],
        };
        let Some((key, deployment)) = link else {
            self.toast(
                ToastLevel::Info,
                "the alert's labels name no pod or deployment that this target shows",
            );
            return vec![];
        };
        self.panes[PaneId::Slo.index()].detail_open = false;
        let pods = &mut self.panes[PaneId::Pods.index()];
        pods.detail_open = false;
        pods.yaml = None;
        pods.filter = None;
        pods.unhealthy = false;
        pods.mode = if deployment {
            PodsMode::Deployments
        } else {
            PodsMode::Pods
        };
        pods.reselect = Some(RowId::Object(key));
        self.focus = PaneId::Pods;
        self.view_dirty = true;
        vec![]
    }

    /// Enter on a platform view's row: where an engineer goes next. An event: its object; a
    /// CronJob: its Jobs; an HPA: its workload; a node, a StatefulSet, a DaemonSet or a Job:
    /// its pods (the pods view filtered by name).
    fn open_platform_row(&mut self, data: &Data) -> Vec<Effect> {
        let view = &self.panes[PaneId::Pods.index()];
        let mode = view.mode;
        let Some(key) = self.visible.platform.get(view.selected).cloned() else {
            return vec![];
        };
        let kube = &self.shown(data).kube;
        let (target, filter, select) = match mode {
            PodsMode::Events => {
                let group = super::platform::event_group(kube, &key);
                match group.and_then(|g| super::platform::involved_object(kube, g)) {
                    Some((mode, object)) => (mode, None, Some(object)),
                    None => {
                        let what = group.map_or_else(String::new, |g| {
                            format!("{}/{}", g.involved_kind, g.involved_name)
                        });
                        self.toast(
                            ToastLevel::Info,
                            format!(
                                "{} is not shown by this console",
                                crate::text::sanitize(&what)
                            ),
                        );
                        return vec![];
                    }
                }
            }
            PodsMode::CronJobs => (PodsMode::Jobs, Some(key.1.clone()), None),
            PodsMode::Hpas => {
                let Some(hpa) = kube.hpas.get(&key) else {
                    return vec![];
                };
                let object = (hpa.namespace.clone(), hpa.target_name.clone());
                match hpa.target_kind.as_str() {
                    "Deployment" => (PodsMode::Deployments, None, Some(object)),
                    "StatefulSet" => (PodsMode::StatefulSets, None, Some(object)),
                    _ => (PodsMode::Pods, Some(hpa.target_name.clone()), None),
                }
            }
            PodsMode::Nodes | PodsMode::StatefulSets | PodsMode::DaemonSets | PodsMode::Jobs => {
                (PodsMode::Pods, Some(key.1.clone()), None)
            }
            PodsMode::Certificates | PodsMode::Pods | PodsMode::Deployments => {
                if let Some((_, check)) = kube.cert_checks.get(&key) {
                    let text = format!("{}: {}", key.1, check);
                    self.toast(ToastLevel::Info, crate::text::sanitize(&text));
                }
                return vec![];
            }
        };
        self.show_pods_mode(target);
        let view = &mut self.panes[PaneId::Pods.index()];
        view.unhealthy = false;
        // Kubernetes names are valid regexes that match themselves (a `.` matches itself too).
        view.filter = filter.and_then(|text| Filter::new(&text));
        view.reselect = select.map(RowId::Object);
        vec![]
    }

    /// Shows `mode` in the Pods pane (`v`, `:deploy`, `:nodes`, ...) and focuses the pane.
    pub(super) fn show_pods_mode(&mut self, mode: PodsMode) {
        let view = &mut self.panes[PaneId::Pods.index()];
        if view.mode != mode {
            view.mode = mode;
            view.selected = 0;
            view.detail_open = false;
            view.yaml = None;
        }
        self.focus = PaneId::Pods;
        self.view_dirty = true;
    }

    /// Keeps the row under the cursor of `pane` selected (by identity) when its rows are
    /// rebuilt next: after a filter is cleared, the order or the unhealthy toggle changes.
    fn keep_selection(&mut self, data: &Data, pane: PaneId) {
        let view = &self.panes[pane.index()];
        let id = if pane == PaneId::Db && view.detail_open {
            self.visible
                .db_sessions
                .get(view.detail_scroll)
                .map(|pid| RowId::Session(*pid))
        } else {
            self.screen(data).row_identity(pane, view.selected)
        };
        self.panes[pane.index()].reselect = id;
        self.view_dirty = true;
    }

    /// A message for the operator: shown on the status line (newest wins) until it expires,
    /// and kept for `:messages`. The same message again counts up instead of repeating.
    pub fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        let text = crate::text::sanitize(&text.into());
        if let Some(last) = self.toasts.last_mut()
            && last.text == text
            && last.level == level
        {
            last.repeats += 1;
            last.at = self.now;
            last.expires = self.now + TOAST_TIME;
            return;
        }
        self.toasts.push(Toast {
            level,
            text,
            expires: self.now + TOAST_TIME,
            repeats: 1,
            at: self.now,
        });
        if self.toasts.len() > super::MESSAGE_HISTORY {
            self.toasts.remove(0);
        }
    }

    /// The message the status line shows now: the newest, while it has not expired.
    pub fn live_toast(&self) -> Option<&Toast> {
        self.toasts.last().filter(|t| t.expires > self.now)
    }

    /// A key pressed in this view, the data read-only. A target switch it asks for is left in
    /// `switch_to` for the owner of the data.
    pub fn key(&mut self, data: &Data, key: KeyEvent) -> Vec<Effect> {
        let mut effects = self.on_key(data, key);
        if self.switch_to.is_none() {
            // The cursor may be on a row whose offers need access reviews.
            effects.extend(self.ask_access(data));
        }
        effects
    }

    /// Pasted text goes into the open input line, first line only.
    pub(super) fn paste(&mut self, data: &Data, text: &str) {
        if let Some(input) = &mut self.input {
            let line = text.lines().next().unwrap_or_default().to_string();
            input.textarea.insert_str(crate::text::sanitize(&line));
            self.apply_live_filter(data);
        }
    }

    pub(super) fn quit(&mut self) -> Vec<Effect> {
        self.should_quit = true;
        vec![Effect::Quit]
    }

    fn on_key(&mut self, data: &Data, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        if let Some(plain) = self.esc_then_key(&key) {
            let mut effects = self.on_key(data, KeyEvent::from(crossterm::event::KeyCode::Esc));
            effects.extend(self.on_key(data, plain));
            return effects;
        }
        let chord = KeyChord::from_event(&key);
        if chord == Some(HARD_QUIT) {
            return self.quit();
        }
        if self.input.is_some() {
            return self.on_input_key(data, key);
        }
        let Some(chord) = chord else { return vec![] };
        if self.modal.is_some() {
            return self.on_modal_key(data, key);
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
            Some(command) => self.run_command(data, command),
            None => vec![],
        }
    }

    /// Over a slow link (SSH) an Esc and the key typed after it arrive together, and the
    /// terminal parser reads them as Alt-key. Where Alt-key means nothing (no binding, and not
    /// a word motion of a text input), it was Esc then the key: returns that key.
    fn esc_then_key(&self, key: &KeyEvent) -> Option<KeyEvent> {
        use crossterm::event::{KeyCode, KeyModifiers};
        if !key.modifiers.contains(KeyModifiers::ALT) {
            return None;
        }
        let chord = KeyChord::from_event(key)?;
        if self.keymap.binds(chord) {
            return None;
        }
        // The text input's own Alt bindings (word motions and deletions).
        let textarea_motion = matches!(
            key.code,
            KeyCode::Char('b' | 'f' | 'd' | 'h' | '<' | '>')
                | KeyCode::Backspace
                | KeyCode::Delete
                | KeyCode::Left
                | KeyCode::Right
        );
        if (self.input.is_some() || self.modal_has_input()) && textarea_motion {
            return None;
        }
        let mut plain = *key;
        plain.modifiers.remove(KeyModifiers::ALT);
        Some(plain)
    }

    /// A dialog waiting for typed text (a scale count, a protected target's name).
    fn modal_has_input(&self) -> bool {
        self.modal
            .as_ref()
            .is_some_and(|m| matches!(m.stage.key_context(), Context::Input | Context::Form))
    }

    pub(super) fn run_command(&mut self, data: &Data, command: Command) -> Vec<Effect> {
        if let Some(effects) = self.yaml_command(data, command) {
            return effects;
        }
        let focus = self.focus;
        let rows = self.screen(data).row_count(focus);
        if focus == PaneId::Logs && self.screen(data).pane_shows_data(focus) {
            let logs = &mut self.logs;
            match command {
                Command::Up => return logs.move_by(-1).into_effects(),
                Command::Down => return logs.move_by(1).into_effects(),
                Command::PageUp | Command::PageDown => {
                    let page = self.drawn.page(focus).unwrap_or(20);
                    let page = isize::try_from(page).unwrap_or(isize::MAX);
                    let delta = if command == Command::PageUp {
                        -page
                    } else {
                        page
                    };
                    return logs.move_by(delta).into_effects();
                }
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
                Command::Back if logs.scope != LogsScope::Shared => {
                    let filter = logs.filter.clone();
                    logs.enter(LogsScope::Shared, &shown_data(&self.frozen, data).logs);
                    logs.filter = filter;
                    logs.refilter(&shown_data(&self.frozen, data).logs);
                    return vec![];
                }
                Command::Back if logs.filter.is_active() => {
                    logs.filter = crate::logs::LogFilter::default();
                    logs.refilter(&shown_data(&self.frozen, data).logs);
                    return vec![];
                }
                _ => {}
            }
        }
        // The DB detail view's cursor is a session or a client: it stays on one.
        let db_detail_len = match self.screen(data).selected_db() {
            Some(DbRow::Redis(i)) => self
                .shown(data)
                .db
                .redis
                .get(&i)
                .map_or(0, |r| r.clients.len()),
            _ => self.visible.db_sessions.len(),
        };
        let page = self.drawn.page(focus).unwrap_or(FALLBACK_PAGE);
        let detail = self.drawn.detail(focus);
        let view = &mut self.panes[focus.index()];
        if view.detail_open && is_movement(command) {
            if focus == PaneId::Db && view.session.is_none() {
                // The DB detail view's cursor: a session or a client.
                let last = db_detail_len.saturating_sub(1);
                let cursor = &mut view.detail_scroll;
                *cursor = match command {
                    Command::Up => cursor.saturating_sub(1),
                    Command::Down => *cursor + 1,
                    Command::PageUp => cursor.saturating_sub(page),
                    Command::PageDown => *cursor + page,
                    Command::Top => 0,
                    _ => last,
                }
                .min(last);
            } else {
                // A detail view scrolls by screen rows (wrapped lines counted), a page at a
                // time by its height, never past its last page.
                let scroll = if focus == PaneId::Db {
                    &mut view.session_scroll
                } else {
                    &mut view.detail_scroll
                };
                let (height, end) = match detail {
                    Some((height, end)) => (height.max(1), Some(end)),
                    None => (FALLBACK_PAGE, None),
                };
                let height = isize::try_from(height).unwrap_or(isize::MAX);
                *scroll = match command {
                    Command::Up => drawn::scroll_by(*scroll, -1, end),
                    Command::Down => drawn::scroll_by(*scroll, 1, end),
                    Command::PageUp => drawn::scroll_by(*scroll, -height, end),
                    Command::PageDown => drawn::scroll_by(*scroll, height, end),
                    Command::Top => 0,
                    _ => end.unwrap_or(usize::from(u16::MAX)),
                };
            }
            return vec![];
        }
        match command {
            Command::Quit => return self.quit(),
            Command::Help => {
                self.help = Some(0);
                self.help_page = HelpPage::Keys;
            }
            Command::FocusNext => self.focus = focus.next(),
            Command::FocusPrev => self.focus = focus.prev(),
            Command::Focus(pane) => self.focus = pane,
            Command::Up => view.selected = view.selected.saturating_sub(1),
            Command::Down => view.selected = (view.selected + 1).min(rows.saturating_sub(1)),
            // By the rows the table shows now.
            Command::PageUp => view.selected = view.selected.saturating_sub(page),
            Command::PageDown => {
                view.selected = (view.selected + page).min(rows.saturating_sub(1));
            }
            Command::Top => view.selected = 0,
            Command::Bottom => view.selected = rows.saturating_sub(1),
            Command::Open if focus == PaneId::Db && view.detail_open => {
                // Enter on a session: its detail, over the sessions list.
                if view.session.is_none()
                    && let Some(session) = self.screen(data).selected_session()
                {
                    let pid = session.pid;
                    let view = &mut self.panes[focus.index()];
                    view.session = Some(pid);
                    view.session_scroll = 0;
                    self.drawn.forget_detail(focus);
                }
            }
            Command::Open if focus == PaneId::Slo && view.detail_open => {
                return self.jump_to_alert_object(data);
            }
            Command::Open if focus == PaneId::Pods && view.mode.is_platform() => {
                return self.open_platform_row(data);
            }
            Command::Open => {
                view.detail_open = rows > 0;
                view.detail_scroll = 0;
                view.session = None;
                self.drawn.forget_detail(focus);
                self.view_dirty = true;
                return self.detail_effects(data);
            }
            Command::Back => {
                if view.session.is_some() {
                    view.session = None;
                    self.drawn.forget_detail(focus);
                } else if view.detail_open {
                    view.detail_open = false;
                    return self.detail_effects(data);
                } else if view.filter.is_some() {
                    // The row under the cursor stays selected among all the rows.
                    self.keep_selection(data, focus);
                    self.panes[focus.index()].filter = None;
                } else {
                    self.zoomed = false;
                }
            }
            Command::Zoom => self.zoomed = !self.zoomed,
            Command::OpenLogs => return self.open_logs(data),
            Command::PreviousLogs => return self.previous_logs(data),
            Command::StopLogs => return self.stop_adhoc_logs(data),
            Command::Follow
            | Command::LevelCycle
            | Command::SourceCycle
            | Command::Wrap
            | Command::Timestamps
            | Command::RawToggle
            | Command::Copy
            | Command::Save => return self.logs_command(data, command),
            Command::Remediate(verb) => return self.remediate(data, verb),
            Command::Yaml => return self.open_yaml(data),
            Command::SortCycle | Command::SortReverse => {
                let Some(table) = sort::Table::of(focus, view.mode)
                    .filter(|_| self.screen(data).pane_shows_data(focus))
                else {
                    self.toast(
                        ToastLevel::Info,
                        "o sorts the pods, deployments, claims and DB sessions",
                    );
                    return vec![];
                };
                self.keep_selection(data, focus);
                let order = self.panes[focus.index()].current_sort_mut();
                *order = if command == Command::SortCycle {
                    order.next(table)
                } else {
                    order.reverse()
                };
                let described = order.describe(table);
                let noun = table.noun();
                self.toast(ToastLevel::Info, format!("{noun} sorted by {described}"));
            }
            Command::UnhealthyOnly => {
                let table = sort::Table::of(focus, view.mode)
                    .filter(|t| t.filters_unhealthy())
                    .filter(|_| self.screen(data).pane_shows_data(focus));
                let Some(table) = table else {
                    self.toast(
                        ToastLevel::Info,
                        "! shows only unhealthy rows in the Pods and Stuck claims panes",
                    );
                    return vec![];
                };
                self.keep_selection(data, focus);
                let view = &mut self.panes[focus.index()];
                view.unhealthy = !view.unhealthy;
                let text = if view.unhealthy {
                    format!("only unhealthy {}", table.noun())
                } else {
                    format!("all {}", table.noun())
                };
                self.toast(ToastLevel::Info, text);
            }
            Command::ChartRange => {
                view.range = view.range.next();
                view.detail_scroll = 0;
            }
            Command::ToggleView => {
                if self.screen(data).pane_shows_data(focus) && focus == PaneId::Pods {
                    let view = &mut self.panes[focus.index()];
                    let next = view.mode.next();
                    self.show_pods_mode(next);
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
                // The whole data is copied, so every pane (logs as displayed too) holds still.
                if self.frozen.take().is_none() {
                    self.frozen = Some(Frozen {
                        data: Box::new(data.clone()),
                        at: self.now,
                    });
                }
                // Unfrozen: the lines that came meanwhile.
                self.observe(data);
                self.view_dirty = true;
            }
            Command::CopyReport => {
                // What the screen shows: the frozen copy at its time, else the live data now.
                let (shown, at) = match &self.frozen {
                    Some(frozen) => (&*frozen.data, frozen.at),
                    None => (data, self.now),
                };
                let text = super::incident::report_of(shown, self.policy.is_read_only(), at);
                let lines = text.lines().count();
                self.toast(
                    ToastLevel::Info,
                    format!("copied the incident report, {lines} lines (OSC 52)"),
                );
                return vec![Effect::CopyToClipboard(text)];
            }
            Command::NextTarget => {
                let count = data.config.targets.len();
                if count > 1 {
                    self.switch_to = Some((data.target_index + 1) % count);
                    return vec![];
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
            PaneId::Pods => vec![Context::Pods, Context::Kube, Context::List, Context::Global],
            PaneId::Logs => vec![Context::Logs, Context::List, Context::Global],
            PaneId::Db => vec![Context::Db, Context::List, Context::Global],
            PaneId::Claims => vec![
                Context::Claims,
                Context::Kube,
                Context::List,
                Context::Global,
            ],
            PaneId::Slo => vec![Context::Slo, Context::List, Context::Global],
        }
    }

    /// `l` in the Pods pane: a view of the selected pod's logs alone, or of the selected
    /// deployment's. Streams already followed (by a configured source or an earlier `l`) are
    /// reused, never opened twice; Esc in the Logs pane returns to the shared view.
    fn open_logs(&mut self, data: &Data) -> Vec<Effect> {
        if !self.screen(data).pane_shows_data(PaneId::Pods) {
            return vec![];
        }
        let kube = self.screen(data).visible_kube();
        let view = &self.panes[PaneId::Pods.index()];
        let (namespace, workload, label, pods) = if view.mode == PodsMode::Deployments {
            let Some(d) = self
                .visible
                .deployments
                .get(view.selected)
                .and_then(|k| kube.deployments.get(k))
            else {
                return vec![];
            };
            let pods: Vec<String> = kube
                .pods
                .values()
                .filter(|p| p.namespace == d.namespace && owned_by_deployment(p, &d.name))
                .map(|p| p.name.clone())
                .collect();
            (
                d.namespace.clone(),
                format!("deploy/{}", d.name),
                format!("{}/deploy/{}", d.namespace, d.name),
                pods,
            )
        } else {
            let Some(pod) = self.screen(data).selected_pod() else {
                return vec![];
            };
            (
                pod.namespace.clone(),
                format!("pod/{}", pod.name),
                format!("{}/{}", pod.namespace, pod.name),
                vec![pod.name.clone()],
            )
        };
        self.focus = PaneId::Logs;
        let lines = &shown_data(&self.frozen, data).logs;
        let followed = |pod: &String| {
            lines.streams.values().any(|s| {
                s.source < PREVIOUS_SOURCE
                    && matches!(s.state, crate::logs::StreamState::Following)
                    && s.label.split_once('/').is_some_and(|(p, _)| p == pod)
            })
        };
        // Already followed: show those streams alone, open nothing.
        if let Some(&source) = self.adhoc_labels.get(&label) {
            self.logs.enter(
                LogsScope::Source {
                    source,
                    label: label.clone(),
                },
                lines,
            );
            self.toast(ToastLevel::Info, format!("logs of {label} (Esc: all logs)"));
            return vec![];
        }
        if !pods.is_empty() && pods.iter().all(followed) {
            self.logs.enter(
                LogsScope::Pods {
                    names: pods,
                    label: label.clone(),
                },
                lines,
            );
            self.toast(ToastLevel::Info, format!("logs of {label} (Esc: all logs)"));
            return vec![];
        }
        let config = crate::config::LogsConfig::ad_hoc(&label, &namespace, &workload);
        self.adhoc_logs += 1;
        let source = ADHOC_SOURCE + self.adhoc_logs;
        self.adhoc_namespaces.insert(source, namespace.clone());
        self.adhoc_labels.insert(label.clone(), source);
        self.logs.enter(
            LogsScope::Source {
                source,
                label: label.clone(),
            },
            lines,
        );
        self.toast(
            ToastLevel::Info,
            format!("following logs of {label} (Esc: all logs)"),
        );
        vec![Effect::OpenLogs {
            generation: data.generation,
            source,
            config: Box::new(config),
        }]
    }

    /// `p` on a pod (Pods pane) or on a line (Logs pane): the previous container's logs, once,
    /// in a view of their own (never mixed into the live streams).
    fn previous_logs(&mut self, data: &Data) -> Vec<Effect> {
        let target = match self.focus {
            PaneId::Logs => self.selected_line_pod(data),
            PaneId::Pods => self
                .screen(data)
                .selected_pod()
                .map(|p| (p.namespace.clone(), p.name.clone())),
            _ => None,
        };
        let Some((namespace, name)) = target else {
            return vec![];
        };
        self.adhoc_logs += 1;
        let source = PREVIOUS_SOURCE + self.adhoc_logs;
        self.adhoc_namespaces.insert(source, namespace.clone());
        self.focus = PaneId::Logs;
        let label = format!("previous logs of {namespace}/{name}");
        self.logs.enter(
            LogsScope::Source {
                source,
                label: label.clone(),
            },
            &shown_data(&self.frozen, data).logs,
        );
        self.toast(ToastLevel::Info, format!("{label} (Esc: all logs)"));
        vec![Effect::PreviousLogs {
            generation: data.generation,
            source,
            namespace,
            pod: name,
        }]
    }

    /// The ad-hoc log sources this view opened (`l`, `p`) that have not been stopped: never a
    /// configured source.
    pub fn adhoc_sources(&self, data: &Data) -> Vec<usize> {
        self.adhoc_namespaces
            .keys()
            .copied()
            .filter(|s| *s >= ADHOC_SOURCE && !data.logs.closed.contains(s))
            .collect()
    }

    /// `x` in the Logs pane: stops the ad-hoc streams this view opened. The runtime cancels
    /// their task and the data marks their streams ended; their lines stay. A later `l` opens
    /// new streams.
    fn stop_adhoc_logs(&mut self, data: &Data) -> Vec<Effect> {
        let sources = self.adhoc_sources(data);
        self.adhoc_labels.clear();
        if sources.is_empty() {
            self.toast(
                ToastLevel::Info,
                "no ad-hoc streams to stop (l on a pod or deployment opens some)",
            );
            return vec![];
        }
        let streams: usize = sources.iter().map(|s| data.logs.open_streams(*s)).sum();
        let noun = if streams == 1 { "stream" } else { "streams" };
        self.toast(
            ToastLevel::Info,
            format!("stopped {streams} ad-hoc {noun} (l, p); configured sources keep running"),
        );
        vec![Effect::CloseLogs {
            generation: data.generation,
            sources,
        }]
    }

    /// The namespace and pod of the selected log line's stream (`pod/container` labels).
    fn selected_line_pod(&self, data: &Data) -> Option<(String, String)> {
        let lines = &self.shown(data).logs;
        let seq = self
            .logs
            .selected_index()
            .and_then(|i| self.logs.visible.get(i))?;
        let stream = lines.streams.get(&lines.buffer.get(*seq)?.stream)?;
        let pod = stream.label.split('/').next()?.to_string();
        let namespace = match self
            .screen(data)
            .target()
            .and_then(|t| t.logs.get(stream.source))
        {
            Some(config) => config.namespace.clone()?,
            None => self.adhoc_namespaces.get(&stream.source)?.clone(),
        };
        Some((namespace, pod))
    }

    fn logs_command(&mut self, data: &Data, command: Command) -> Vec<Effect> {
        if self.focus != PaneId::Logs {
            return vec![];
        }
        let lines = &shown_data(&self.frozen, data).logs;
        let logs = &mut self.logs;
        match command {
            Command::Follow => logs.toggle_follow(),
            Command::LevelCycle => logs.cycle_level(lines),
            Command::SourceCycle => logs.cycle_stream(lines),
            Command::Wrap => logs.wrap = !logs.wrap,
            Command::Timestamps => logs.timestamps = !logs.timestamps,
            Command::RawToggle => {
                // The filter matches what is displayed, which the mode changes.
                logs.raw = !logs.raw;
                logs.refilter(lines);
            }
            Command::Copy => {
                let line = logs
                    .selected_index()
                    .and_then(|i| logs.visible.get(i))
                    .and_then(|seq| lines.buffer.get(*seq));
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
                    if let Some(line) = lines.buffer.get(*seq) {
                        let label = lines
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
    fn detail_effects(&mut self, data: &Data) -> Vec<Effect> {
        let view = &self.panes[PaneId::Pods.index()];
        if self.focus != PaneId::Pods || !self.screen(data).pane_shows_data(PaneId::Pods) {
            return vec![];
        }
        match (
            view.detail_open,
            self.screen(data)
                .selected_pod()
                .map(crate::data::Keyed::key),
        ) {
            (true, Some(key)) => {
                // An answer for this pod from an earlier opening is not shown.
                self.pod_detail_asked = self.answers.count;
                vec![Effect::OpenPodDetail {
                    generation: data.generation,
                    key,
                }]
            }
            _ => {
                self.pod_detail_asked = self.answers.count;
                vec![Effect::ClosePodDetail]
            }
        }
    }

    fn on_input_key(&mut self, data: &Data, key: KeyEvent) -> Vec<Effect> {
        use keymap::ModalCommand as M;
        let command = KeyChord::from_event(&key)
            .and_then(|chord| self.keymap.lookup_modal(Context::Input, chord));
        let Some(input) = &mut self.input else {
            return vec![];
        };
        match command {
            Some(M::InputCancel) => {
                let kind = input.kind;
                self.input = None;
                if kind == InputKind::Filter(PaneId::Logs) {
                    self.logs.filter.set_text("");
                    self.logs.refilter(&shown_data(&self.frozen, data).logs);
                }
                if let InputKind::Filter(pane) = kind {
                    // Esc backs out of the filter entirely; the row under the cursor stays
                    // selected among all the rows.
                    if pane != PaneId::Logs {
                        self.keep_selection(data, pane);
                    }
                    self.panes[pane.index()].filter = None;
                    self.view_dirty = true;
                }
                vec![]
            }
            Some(M::InputSubmit) => {
                let text = input.text();
                let kind = input.kind;
                self.input = None;
                match kind {
                    InputKind::Filter(_) => vec![],
                    InputKind::Command => self.run_command_line(data, text.trim()),
                }
            }
            _ if !keymap::edits_single_line(&key) => vec![],
            _ => {
                input.textarea.input(key);
                self.apply_live_filter(data);
                vec![]
            }
        }
    }

    /// Filters apply as the operator types.
    fn apply_live_filter(&mut self, data: &Data) {
        if let Some(Input {
            kind: InputKind::Filter(PaneId::Logs),
            ..
        }) = &self.input
            && self.screen(data).pane_shows_data(PaneId::Logs)
        {
            let text = self.input.as_ref().map(Input::text).unwrap_or_default();
            self.logs.filter.set_text(&text);
            self.logs.refilter(&shown_data(&self.frozen, data).logs);
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
    fn run_command_line(&mut self, data: &Data, line: &str) -> Vec<Effect> {
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
            "freeze" => self.run_command(data, Command::Freeze),
            "report" | "copy-report" => self.run_command(data, Command::CopyReport),
            "messages" | "msgs" => {
                self.help = Some(0);
                self.help_page = HelpPage::Messages;
                vec![]
            }
            "zoom" => self.run_command(data, Command::Zoom),
            "who" if self.served.is_some() => {
                self.help = Some(0);
                self.help_page = HelpPage::Who;
                vec![]
            }
            "who" => {
                self.toast(
                    ToastLevel::Info,
                    ":who lists the viewers of `watchfloor serve`; this console is not served",
                );
                vec![]
            }
            "target" | "t" if arg.is_empty() => {
                let names: Vec<&str> = data.config.targets.iter().map(TargetConfig::name).collect();
                self.toast(ToastLevel::Info, format!("targets: {}", names.join(", ")));
                vec![]
            }
            "target" | "t" => {
                if let Some(index) = data.config.targets.iter().position(|t| t.name() == arg) {
                    self.switch_to = Some(index);
                    return vec![];
                }
                let names: Vec<String> = data
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
            other if PodsMode::from_command(other).is_some() => {
                if let Some(mode) = PodsMode::from_command(other) {
                    self.show_pods_mode(mode);
                }
                vec![]
            }
            other => {
                let known: Vec<String> = [
                    "quit", "target", "help", "freeze", "zoom", "messages", "report", "who",
                ]
                .into_iter()
                .chain(
                    PodsMode::ALL
                        .iter()
                        .flat_map(|m| m.commands().iter().copied()),
                )
                .map(String::from)
                .collect();
                let hint = suggest(other, &known)
                    .map(|s| format!("; did you mean :{s}?"))
                    .unwrap_or_default();
                self.toast(ToastLevel::Error, format!("unknown command :{other}{hint}"));
                vec![]
            }
        }
    }
}

/// One view over one data: what the UI draws from, and the questions about what is on screen.
#[derive(Clone, Copy)]
pub struct Screen<'a> {
    pub data: &'a Data,
    pub view: &'a View,
}

impl<'a> Screen<'a> {
    /// The data as displayed: frozen or live.
    pub fn shown(&self) -> &'a Data {
        self.view.shown(self.data)
    }

    pub fn target(&self) -> Option<&'a TargetConfig> {
        self.data.target()
    }

    pub fn target_name(&self) -> &'a str {
        self.data.target_name()
    }

    /// Sources as displayed (frozen or live).
    pub fn visible_sources(&self) -> &'a [SourceStatus] {
        &self.shown().sources
    }

    /// DB figures as displayed (frozen or live).
    pub fn visible_db(&self) -> &'a crate::db::DbData {
        &self.shown().db
    }

    /// Kubernetes rows as displayed (frozen or live).
    pub fn visible_kube(&self) -> &'a KubeData {
        &self.shown().kube
    }

    /// Whether a pane shows backend data (rather than the list of its sources).
    pub fn pane_shows_data(&self, pane: PaneId) -> bool {
        self.shown().pane_shows_data(pane)
    }

    /// The source rows a pane lists when it has no data table, after its filter.
    pub fn pane_rows(&self, pane: PaneId) -> Vec<&'a SourceStatus> {
        let filter = self.view.panes[pane.index()].filter.as_ref();
        self.visible_sources()
            .iter()
            .filter(|s| s.pane == pane)
            .filter(|s| filter.is_none_or(|f| f.matches(&row_haystack(s, self.view.now))))
            .collect()
    }

    /// How many rows the pane shows now.
    pub fn row_count(&self, pane: PaneId) -> usize {
        match pane {
            PaneId::Pods if self.pane_shows_data(pane) => {
                match self.view.panes[pane.index()].mode {
                    PodsMode::Pods => self.view.visible.pods.len(),
                    PodsMode::Deployments => self.view.visible.deployments.len(),
                    _ => self.view.visible.platform.len(),
                }
            }
            PaneId::Claims if self.pane_shows_data(pane) => self.view.visible.claims.len(),
            PaneId::Slo if self.pane_shows_data(pane) => self.slo_rows().len(),
            PaneId::Db if self.pane_shows_data(pane) => self.db_rows().len(),
            _ => self.pane_rows(pane).len(),
        }
    }

    pub fn pane_has_sources(&self, pane: PaneId) -> bool {
        self.visible_sources().iter().any(|s| s.pane == pane)
    }

    pub fn selected_row(&self, pane: PaneId) -> Option<&'a SourceStatus> {
        self.pane_rows(pane)
            .get(self.view.panes[pane.index()].selected)
            .copied()
    }

    /// The SLO pane's rows: alerts by name worst first, SLOs worst first, then health
    /// endpoints worst first.
    pub fn slo_rows(&self) -> Vec<SloRow<'a>> {
        let alerts = self
            .shown()
            .alerts
            .as_deref()
            .map(|data| data.groups.iter().map(move |g| SloRow::Alert(data, g)));
        let mut slos: Vec<&crate::slo::SloResult> = self.shown().slo.results.iter().collect();
        slos.sort_by_key(|s| s.state);
        let mut health: Vec<&crate::slo::HealthResult> = self.shown().slo.health.values().collect();
        health.sort_by_key(|h| h.status);
        let filter = self.view.panes[PaneId::Slo.index()].filter.as_ref();
        alerts
            .into_iter()
            .flatten()
            .chain(slos.into_iter().map(SloRow::Slo))
            .chain(health.into_iter().map(SloRow::Health))
            .filter(|row| filter.is_none_or(|f| f.matches(&row.haystack())))
            .collect()
    }

    /// The DB pane's selected database or cache.
    pub fn selected_db(&self) -> Option<DbRow> {
        let view = &self.view.panes[PaneId::Db.index()];
        self.db_rows().get(view.selected).copied()
    }

    /// The session under the cursor in the DB detail view (PostgreSQL only).
    pub fn selected_session(&self) -> Option<&'a crate::db::postgres::Session> {
        let view = &self.view.panes[PaneId::Db.index()];
        let Some(DbRow::Postgres(index)) = self.selected_db() else {
            return None;
        };
        if !view.detail_open {
            return None;
        }
        let pid = match view.session {
            Some(pid) => pid,
            None => *self.view.visible.db_sessions.get(view.detail_scroll)?,
        };
        self.visible_db()
            .postgres
            .get(&index)?
            .sample
            .sessions
            .iter()
            .find(|s| s.pid == pid)
    }

    /// The pod under the cursor in the Pods pane.
    pub fn selected_pod(&self) -> Option<&'a crate::model::pods::PodRow> {
        let view = &self.view.panes[PaneId::Pods.index()];
        if view.mode != PodsMode::Pods {
            return None;
        }
        let key = self.view.visible.pods.get(view.selected)?;
        self.visible_kube().pods.get(key)
    }

    /// Configured databases, then caches, that match the DB pane's filter.
    pub fn db_rows(&self) -> Vec<DbRow> {
        let Some(target) = self.target() else {
            return Vec::new();
        };
        let filter = self.view.panes[PaneId::Db.index()].filter.as_ref();
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
    fn db_session_order(&self, db_rows: &[DbRow]) -> Vec<i32> {
        let view = &self.view.panes[PaneId::Db.index()];
        let Some(DbRow::Postgres(index)) = db_rows.get(view.selected).copied() else {
            return Vec::new();
        };
        let Some(status) = self.visible_db().postgres.get(&index) else {
            return Vec::new();
        };
        let mut sessions: Vec<&crate::db::postgres::Session> =
            status.sample.sessions.iter().collect();
        sort::sessions(&mut sessions, view.sort);
        sessions.into_iter().map(|s| s.pid).collect()
    }

    /// The rows each pane shows after ordering and filtering.
    fn visible_rows(&self) -> VisibleRows {
        let kube = self.visible_kube();
        let filter = |pane: PaneId| self.view.panes[pane.index()].filter.as_ref();
        let pods_view = &self.view.panes[PaneId::Pods.index()];
        let pods_filter = filter(PaneId::Pods);
        let as_ordered = !pods_view.unhealthy && pods_filter.is_none();
        let (pods, pods_spread) = if as_ordered && pods_view.sort.is_default() {
            (kube.pods_order.clone(), kube.pods_spread)
        } else {
            let mut pods: Vec<&crate::model::pods::PodRow> = kube
                .pods_sorted()
                .filter(|p| !pods_view.unhealthy || sort::unhealthy(p.health))
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
                .collect();
            sort::pods(&mut pods, pods_view.sort, &kube.pod_usage);
            let pods: std::sync::Arc<[_]> = pods.into_iter().map(crate::data::Keyed::key).collect();
            let spread = crate::data::spread_of(&pods);
            (pods, spread)
        };
        let (deployments, deployments_spread) = if as_ordered && pods_view.alt_sort.is_default() {
            (kube.deployments_order.clone(), kube.deployments_spread)
        } else {
            let mut deployments: Vec<&crate::model::deployments::DeploymentRow> = kube
                .deployments_sorted()
                .filter(|d| !pods_view.unhealthy || sort::unhealthy(d.health))
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
                .collect();
            sort::deployments(&mut deployments, pods_view.alt_sort);
            let deployments: std::sync::Arc<[_]> = deployments
                .into_iter()
                .map(crate::data::Keyed::key)
                .collect();
            let spread = crate::data::spread_of(&deployments);
            (deployments, spread)
        };
        let claims_view = &self.view.panes[PaneId::Claims.index()];
        let claims_filter = filter(PaneId::Claims);
        let mut claims: Vec<usize> = kube
            .claims_sorted
            .iter()
            .enumerate()
            .filter(|(_, c)| !claims_view.unhealthy || sort::unhealthy_claim(c))
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
        sort::claims(&mut claims, &kube.claims_sorted, claims_view.sort);
        let claims_spread = crate::model::spread(claims.iter().map(|&i| {
            kube.claims_sorted
                .get(i)
                .and_then(|c| c.namespace.as_deref())
                .unwrap_or("-")
        }));
        let platform =
            super::platform::visible_rows(kube, pods_view.mode, pods_filter, pods_view.unhealthy);
        let platform_spread = crate::data::spread_of(&platform);
        let db = self.db_rows();
        let db_sessions = self.db_session_order(&db);
        VisibleRows {
            pods,
            deployments,
            claims,
            pods_spread,
            deployments_spread,
            claims_spread,
            platform,
            platform_spread,
            db,
            db_sessions,
        }
    }

    /// Key contexts in lookup order for the focused pane.
    pub fn key_contexts(&self) -> Vec<Context> {
        self.view.key_contexts()
    }

    /// The identity of row `index` of `pane` as shown now.
    pub fn row_identity(&self, pane: PaneId, index: usize) -> Option<RowId> {
        let visible = &self.view.visible;
        if !self.pane_shows_data(pane) {
            return self
                .pane_rows(pane)
                .get(index)
                .map(|s| RowId::Named(format!("{} {}", s.kind, s.name)));
        }
        match pane {
            PaneId::Pods => match self.view.panes[pane.index()].mode {
                PodsMode::Pods => visible.pods.get(index).cloned().map(RowId::Object),
                PodsMode::Deployments => visible.deployments.get(index).cloned().map(RowId::Object),
                _ => visible.platform.get(index).cloned().map(RowId::Object),
            },
            PaneId::Claims => {
                let claim = self
                    .visible_kube()
                    .claims_sorted
                    .get(*visible.claims.get(index)?)?;
                Some(RowId::Claim {
                    source: claim.source.clone(),
                    namespace: claim.namespace.clone(),
                    name: claim.name.clone(),
                })
            }
            PaneId::Db => visible.db.get(index).copied().map(RowId::Db),
            PaneId::Slo => self.slo_rows().get(index).map(|row| {
                RowId::Named(match row {
                    SloRow::Alert(_, group) => format!("alert {}", group.name),
                    SloRow::Slo(s) => s.name.clone(),
                    SloRow::Health(h) => format!("health {}", h.name),
                })
            }),
            PaneId::Logs => None,
        }
    }

    /// Where the row `id` is among the rows `pane` shows now (a session: in the DB pane's
    /// sessions list).
    pub fn position_of(&self, pane: PaneId, id: &RowId) -> Option<usize> {
        let visible = &self.view.visible;
        match id {
            RowId::Object(key) if pane == PaneId::Pods => {
                match self.view.panes[pane.index()].mode {
                    PodsMode::Pods => visible.pods.iter().position(|k| k == key),
                    PodsMode::Deployments => visible.deployments.iter().position(|k| k == key),
                    _ => visible.platform.iter().position(|k| k == key),
                }
            }
            RowId::Session(pid) if pane == PaneId::Db => {
                visible.db_sessions.iter().position(|p| p == pid)
            }
            RowId::Db(row) if pane == PaneId::Db => visible.db.iter().position(|r| r == row),
            _ => {
                (0..self.row_count(pane)).find(|i| self.row_identity(pane, *i).as_ref() == Some(id))
            }
        }
    }

    /// The pod detail view's answer, when it is for `key` and newer than the view's question.
    /// Shown even while the display is frozen: the operator asked for it now.
    pub fn pod_detail(
        &self,
        key: &crate::data::ObjectKey,
    ) -> Option<&'a Result<crate::event::PodDetail, String>> {
        self.view
            .answers
            .pod_detail
            .as_ref()
            .filter(|p| p.key == *key && p.revision > self.view.pod_detail_asked)
            .map(|p| &p.detail)
    }
}

/// The pod (false) or deployment (true) an alert's `namespace` + `pod` / `deployment` labels
/// name, when `data` holds it.
pub fn alert_link(
    alert: &crate::alerts::Alert,
    data: &Data,
) -> Option<(crate::data::ObjectKey, bool)> {
    let namespace = alert.labels.get("namespace")?;
    let pod = alert
        .labels
        .get("pod")
        .map(|pod| (namespace.clone(), pod.clone()))
        .filter(|key| data.kube.pods.contains_key(key));
    if let Some(key) = pod {
        return Some((key, false));
    }
    alert
        .labels
        .get("deployment")
        .map(|name| (namespace.clone(), name.clone()))
        .filter(|key| data.kube.deployments.contains_key(key))
        .map(|key| (key, true))
}

/// Keys that move a cursor or scroll.
fn is_movement(command: Command) -> bool {
    matches!(
        command,
        Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Top
            | Command::Bottom
    )
}

/// Whether `pod` is controlled by a ReplicaSet of Deployment `deployment` (`ReplicaSet/NAME-HASH`).
fn owned_by_deployment(pod: &crate::model::pods::PodRow, deployment: &str) -> bool {
    pod.owner
        .as_deref()
        .and_then(|o| o.strip_prefix("ReplicaSet/"))
        .and_then(|rs| rs.rsplit_once('-'))
        .is_some_and(|(name, _hash)| name == deployment)
}

/// The text a filter matches a row against.
/// The data a view shows (`View::shown`), from the field, so `self.logs` can be borrowed
/// mutably alongside.
fn shown_data<'a>(frozen: &'a Option<Frozen>, live: &'a Data) -> &'a Data {
    frozen.as_ref().map_or(live, |f| &f.data)
}

fn row_haystack(source: &SourceStatus, now: SystemTime) -> String {
    format!(
        "{} {} {} {}",
        source.kind,
        source.name,
        source.detail,
        source.freshness(now).label()
    )
}
