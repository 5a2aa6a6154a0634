//! The key table: context x key -> command, for every key the console takes: panes, the help
//! overlay, the remediation dialogs and text inputs. One table (`COMMANDS`: name, context,
//! default keys, description, hint) feeds key handling, the footer, the dialogs' hints and the
//! help overlay, so they cannot drift. `[ui.keys]` overrides replace a command's default keys.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::pane::PaneId;
use crate::config::{KeyList, suggest};
use crate::remediation::plan::Verb;

/// Where a binding applies. Modal layers take keys topmost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Anywhere outside modal layers.
    Global,
    /// A pane's list or its detail view.
    List,
    /// The panes of Kubernetes objects: Pods and Stuck claims.
    Kube,
    /// The Pods pane only.
    Pods,
    /// The Logs pane only.
    Logs,
    /// The DB pane only.
    Db,
    /// The Stuck claims pane only.
    Claims,
    /// The SLO burn pane only.
    Slo,
    /// The help overlay.
    Help,
    /// The remediation confirmation dialog (No / Yes).
    Confirm,
    /// A list to pick from in a dialog: rollout undo's revisions, the operator to restart.
    Pick,
    /// A text input: filter, command line, scale's replica count, a protected target's name.
    Input,
    /// A form of several fields (the silence dialog): keys the form does not bind are typed
    /// into its focused text field.
    Form,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "Global",
            Self::List => "Lists and details",
            Self::Kube => "Pods and Stuck claims panes",
            Self::Pods => "Pods pane",
            Self::Logs => "Logs pane",
            Self::Db => "DB pane",
            Self::Claims => "Stuck claims pane",
            Self::Slo => "SLO burn pane",
            Self::Help => "Help overlay",
            Self::Confirm => "Confirmation dialog",
            Self::Pick => "Picking (revision, operator)",
            Self::Input => "Text input (filter, :, scale, typed name)",
            Self::Form => "Silence dialog (matchers, duration, comment)",
        }
    }

    /// A modal layer takes every key while it is open, so its keys never meet another
    /// context's: the same key may mean something else elsewhere.
    pub fn is_modal(self) -> bool {
        matches!(
            self,
            Self::Help | Self::Confirm | Self::Pick | Self::Input | Self::Form
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Focus(PaneId),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Zoom,
    Filter,
    CommandLine,
    Freeze,
    NextTarget,
    /// Copy the incident report (as `snapshot --format text`) to the clipboard (OSC 52).
    CopyReport,
    /// Switch the pane's view (Pods pane: pods / deployments).
    ToggleView,
    /// Pods pane: open the logs of the selected pod or deployment.
    OpenLogs,
    /// Previous container logs of the selected pod (Pods detail) or stream (Logs pane).
    PreviousLogs,
    /// Logs pane: follow the tail / pause.
    Follow,
    /// Logs pane: all -> >= info -> >= warn -> >= error.
    LevelCycle,
    /// Logs pane: all sources -> each source in turn.
    SourceCycle,
    Wrap,
    Timestamps,
    /// Logs pane: JSON as message + fields, or the raw line.
    RawToggle,
    /// Logs pane: copy the selected line to the clipboard (OSC 52).
    Copy,
    /// Logs pane: save the (filtered) buffer to a file.
    Save,
    /// The focused table's order: the next column (pods, deployments, claims, DB sessions).
    SortCycle,
    /// Logs pane: stop the ad-hoc streams this view opened (`l`, `p`); configured sources stay.
    StopLogs,
    /// The focused table's order the other way round.
    SortReverse,
    /// Only unhealthy rows (Pods pane, Stuck claims pane), or all again.
    UnhealthyOnly,
    /// SLO detail: the chart's range (1h, 6h, 24h, 7d).
    ChartRange,
    /// Pods and Stuck claims panes: the selected object's YAML, fetched fresh (a read: bound in
    /// read-only mode too).
    Yaml,
    /// A remediation on the selected row; never bound in read-only mode.
    Remediate(Verb),
    /// A key of a modal layer: it only means something while that layer is open.
    Modal(ModalCommand),
}

/// The commands of the modal layers (help overlay, dialogs, text inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModalCommand {
    HelpClose,
    HelpDown,
    HelpUp,
    HelpPageDown,
    HelpPageUp,
    HelpTop,
    /// Run the remediation (once its dry run is ready).
    Confirm,
    Cancel,
    /// Move the focus between No and Yes.
    SwitchButton,
    /// Activate the focused button.
    PressButton,
    /// Delete pod: ask again as a forced delete.
    ForceDelete,
    /// Scroll the dialog's list (the sessions or pods the action would hit).
    PreviewDown,
    PreviewUp,
    PickNext,
    PickPrev,
    Pick,
    PickCancel,
    /// Enter in a text input: keep the filter, run the command, preview the scale, confirm.
    InputSubmit,
    InputCancel,
    /// Scroll the dialog's list while its text input has the keys (a protected target's name).
    InputScrollDown,
    InputScrollUp,
    /// The form's next / previous field.
    FormNextField,
    FormPrevField,
    /// The focused list's previous / next entry (the silence's matchers).
    FormUp,
    FormDown,
    /// The focused choice's previous / next value (the silence's duration).
    FormPrevChoice,
    FormNextChoice,
    /// Remove the selected entry of the focused list (a matcher).
    FormRemove,
    /// Enter: add the typed matcher, else check the form and preview.
    FormSubmit,
    FormCancel,
}

/// Which footer a hint is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Always,
    /// Only while a pane shows its list.
    List,
    /// Only while a pane's detail view is open.
    Detail,
}

/// How a command is hinted in the footer or a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// A short label (the footer is one line); callers may say it better for the moment,
    /// e.g. `pause` for follow while following.
    pub label: &'static str,
    /// Footer order, lower first: the line is cut on the right. Remediations come after the
    /// place-0 hints.
    pub place: u8,
    pub shown: Shown,
    /// How many of the command's keys the hint names (the help overlay names them all).
    pub keys: usize,
    /// Named as `key/other`, e.g. `j/k move`: the other command's first key follows.
    pub pair: Option<Command>,
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub command: Command,
    /// The name used in `[ui.keys]`.
    pub name: &'static str,
    /// The context the command is bound in.
    pub context: Context,
    pub keys: &'static [KeyChord],
    /// What the help overlay says.
    pub description: &'static str,
    pub hint: Option<Hint>,
}

impl Spec {
    /// Hinted with `label` at `place`, in list and detail views alike.
    const fn hint(mut self, label: &'static str, place: u8) -> Self {
        self.hint = Some(Hint {
            label,
            place,
            shown: Shown::Always,
            keys: 1,
            pair: None,
        });
        self
    }

    /// Hinted only while a pane shows its list.
    const fn list_hint(self, label: &'static str, place: u8) -> Self {
        self.hint(label, place).shown(Shown::List)
    }

    /// Hinted only while a pane's detail view is open.
    const fn detail_hint(self, label: &'static str, place: u8) -> Self {
        self.hint(label, place).shown(Shown::Detail)
    }

    const fn shown(mut self, shown: Shown) -> Self {
        if let Some(mut hint) = self.hint {
            hint.shown = shown;
            self.hint = Some(hint);
        }
        self
    }

    /// The hint names the first `keys` keys.
    const fn hint_keys(mut self, keys: usize) -> Self {
        if let Some(mut hint) = self.hint {
            hint.keys = keys;
            self.hint = Some(hint);
        }
        self
    }

    /// The hint names this key and `other`'s first, e.g. `j/k`.
    const fn pair(mut self, other: Command) -> Self {
        if let Some(mut hint) = self.hint {
            hint.pair = Some(other);
            self.hint = Some(hint);
        }
        self
    }
}

const fn ch(c: char) -> KeyChord {
    KeyChord::plain(KeyCodeKey::Char(c))
}

const fn key(code: KeyCodeKey) -> KeyChord {
    KeyChord::plain(code)
}

const fn ctrl(c: char) -> KeyChord {
    KeyChord::ctrl(c)
}

const fn row(
    command: Command,
    name: &'static str,
    context: Context,
    keys: &'static [KeyChord],
    description: &'static str,
) -> Spec {
    Spec {
        command,
        name,
        context,
        keys,
        description,
        hint: None,
    }
}

/// Every command: its `[ui.keys]` name, context, default keys, help text and hint. The help
/// overlay lists a context's commands in this order.
#[rustfmt::skip]
pub const COMMANDS: &[Spec] = {
    use Command as C;
    use Context as X;
    use KeyCodeKey as K;
    use ModalCommand as M;
    &[
        row(C::FocusNext,                        "focus_next",       X::Global,  &[key(K::Tab)], "next pane")
            .list_hint("pane", 10),
        row(C::FocusPrev,                        "focus_prev",       X::Global,  &[key(K::BackTab)], "previous pane"),
        row(C::Focus(PaneId::Pods),              "focus_pods",       X::Global,  &[ch('1')], "focus Pods"),
        row(C::Focus(PaneId::Slo),               "focus_slo",        X::Global,  &[ch('2')], "focus SLO burn"),
        row(C::Focus(PaneId::Db),                "focus_db",         X::Global,  &[ch('3')], "focus DB connections"),
        row(C::Focus(PaneId::Claims),            "focus_claims",     X::Global,  &[ch('4')], "focus Stuck claims"),
        row(C::Focus(PaneId::Logs),              "focus_logs",       X::Global,  &[ch('5')], "focus Logs"),
        row(C::Zoom,                             "zoom",             X::Global,  &[ch('z')], "zoom pane")
            .hint("zoom", 60),
        row(C::Filter,                           "filter",           X::Global,  &[ch('/')], "filter")
            .list_hint("filter", 45),
        row(C::CommandLine,                      "command_line",     X::Global,  &[ch(':')], "command line")
            .list_hint("cmd", 90),
        row(C::Freeze,                           "freeze",           X::Global,  &[ch('f')], "freeze display")
            .hint("freeze", 70),
        row(C::NextTarget,                       "next_target",      X::Global,  &[ch('t')], "next target")
            .list_hint("target", 80),
        row(C::CopyReport,                       "copy_report",      X::Global,  &[ch('Y')], "copy the incident report (OSC 52)"),
        row(C::Help,                             "help",             X::Global,  &[ch('?'), key(K::F(1))], "help")
            .hint("help", 0),
        row(C::Quit,                             "quit",             X::Global,  &[ch('q')], "quit")
            .hint("quit", 0),
        row(C::Up,                               "up",               X::List,    &[ch('k'), key(K::Up)], "up"),
        row(C::Down,                             "down",             X::List,    &[ch('j'), key(K::Down)], "down")
            .hint("move", 30).pair(C::Up),
        row(C::PageUp,                           "page_up",          X::List,    &[key(K::PageUp), ctrl('b')], "page up"),
        row(C::PageDown,                         "page_down",        X::List,    &[key(K::PageDown), ctrl('f')], "page down"),
        row(C::Top,                              "top",              X::List,    &[ch('g'), key(K::Home)], "top"),
        row(C::Bottom,                           "bottom",           X::List,    &[ch('G'), key(K::End)], "bottom"),
        row(C::Open,                             "open",             X::List,    &[key(K::Enter)], "open detail")
            .list_hint("detail", 30),
        row(C::Back,                             "back",             X::List,    &[key(K::Esc)], "back / close")
            .detail_hint("back", 10),
        // Pods pane (a pod) and Logs pane (a line's pod).
        row(C::PreviousLogs,                     "previous_logs",    X::List,    &[ch('p')], "previous container logs")
            .detail_hint("previous logs", 60),
        // Pods pane (pods, deployments) and Stuck claims pane, list or detail.
        row(C::Yaml,                             "yaml",             X::Kube,    &[ch('y')], "YAML of the selected object, fetched fresh")
            .detail_hint("yaml", 55),
        row(C::ToggleView,                       "toggle_view",      X::Pods,    &[ch('v')], "cycle views: pods deploy sts ds jobs cj")
            .list_hint("views", 40),
        row(C::OpenLogs,                         "open_logs",        X::Pods,    &[ch('l')], "logs of the selected pod or deployment")
            .list_hint("logs", 40),
        row(C::Follow,                           "follow",           X::Logs,    &[ch(' ')], "follow / pause")
            .list_hint("follow", 20),
        row(C::LevelCycle,                       "level",            X::Logs,    &[ch('l')], "level: all, >= info, >= warn, >= error")
            .list_hint("level", 50),
        row(C::SourceCycle,                      "source",           X::Logs,    &[ch('s')], "source: all, then each")
            .list_hint("source", 50),
        row(C::Wrap,                             "wrap",             X::Logs,    &[ch('w')], "wrap long lines")
            .list_hint("wrap", 50),
        row(C::Timestamps,                       "timestamps",       X::Logs,    &[ch('T')], "timestamps"),
        row(C::RawToggle,                        "raw",              X::Logs,    &[ch('r')], "JSON: message + fields / raw")
            .list_hint("raw", 50),
        row(C::Copy,                             "copy",             X::Logs,    &[ch('y')], "copy line (OSC 52)")
            .list_hint("copy", 50),
        row(C::Save,                             "save",             X::Logs,    &[ch('S')], "save to a file")
            .list_hint("save", 50),
        row(C::StopLogs,                         "stop_logs",        X::Logs,    &[ch('x')], "stop the streams this view opened (l, p)")
            .list_hint("stop streams", 50),
        // Footers stay as they were: only the DB pane hints `o` (see `ui::overlays`).
        row(C::SortCycle,                        "sort",             X::List,    &[ch('o')], "sort by the next column")
            .hint("sort", 40),
        row(C::SortReverse,                      "sort_reverse",     X::List,    &[ch('O')], "reverse the sort order"),
        row(C::UnhealthyOnly,                    "unhealthy",        X::List,    &[ch('!')], "only unhealthy pods, deployments, claims"),
        row(C::ChartRange,                       "chart_range",      X::Slo,     &[ch('r')], "SLO detail: chart range 1h, 6h, 24h, 7d")
            .detail_hint("range", 50),
        // Remediations: the footer hints the planner's offers for the selected row instead.
        row(C::Remediate(Verb::Restart),         "rollout_restart",  X::Pods,    &[ch('r')], "rollout restart (deployment)"),
        row(C::Remediate(Verb::Undo),            "rollout_undo",     X::Pods,    &[ch('u')], "rollout undo: pick a revision"),
        row(C::Remediate(Verb::Scale),           "scale",            X::Pods,    &[ch('s')], "scale (deployment)"),
        row(C::Remediate(Verb::DeletePod),       "delete_pod",       X::Pods,    &[ch('D'), ctrl('d')], "delete pod (force is a second choice)"),
        row(C::Remediate(Verb::RestartOperator), "restart_operator", X::Claims,  &[ch('R')], "restart an operator (delete its pods)"),
        row(C::Remediate(Verb::Cancel),          "cancel_query",     X::Db,      &[ch('c')], "cancel the session's query"),
        row(C::Remediate(Verb::Kill),            "kill",             X::Db,      &[ch('K')], "terminate session / kill Redis client"),
        row(C::Remediate(Verb::KillIdle),        "kill_idle",        X::Db,      &[ch('X')], "terminate old idle-in-transaction sessions"),
        row(C::Remediate(Verb::Silence),         "silence",          X::Slo,     &[ch('S')], "silence the alert (matchers, duration, why)"),
        row(C::Remediate(Verb::Expire),          "expire_silence",   X::Slo,     &[ch('E')], "expire a silence of the alert (Alertmanager)"),
        // The help overlay.
        row(C::Modal(M::HelpClose),              "help_close",       X::Help,    &[key(K::Esc), ch('q'), ch('?'), key(K::F(1))], "close the help")
            .hint("close", 0),
        row(C::Modal(M::HelpUp),                 "help_up",          X::Help,    &[ch('k'), key(K::Up)], "scroll up"),
        row(C::Modal(M::HelpDown),               "help_down",        X::Help,    &[ch('j'), key(K::Down)], "scroll down")
            .hint("scroll", 10).pair(C::Modal(M::HelpUp)),
        row(C::Modal(M::HelpPageUp),             "help_page_up",     X::Help,    &[key(K::PageUp), ctrl('b')], "page up"),
        row(C::Modal(M::HelpPageDown),           "help_page_down",   X::Help,    &[key(K::PageDown), ctrl('f')], "page down"),
        row(C::Modal(M::HelpTop),                "help_top",         X::Help,    &[ch('g'), key(K::Home)], "back to the top"),
        // The confirmation dialog; No is focused when it opens.
        row(C::Modal(M::Confirm),                "confirm",          X::Confirm, &[ch('y')], "run it (once the dry run is ready)")
            .hint("confirm", 0),
        row(C::Modal(M::Cancel),                 "cancel",           X::Confirm, &[ch('n'), key(K::Esc), ch('q')], "cancel: nothing runs")
            .hint("cancel", 0).hint_keys(2),
        row(C::Modal(M::SwitchButton),           "switch_button",    X::Confirm, &[key(K::Tab), key(K::BackTab), key(K::Left), key(K::Right)], "focus No / Yes")
            .hint("switch", 0),
        row(C::Modal(M::PressButton),            "press_button",     X::Confirm, &[key(K::Enter)], "the focused button"),
        row(C::Modal(M::ForceDelete),            "force_delete",     X::Confirm, &[ch('F')], "delete pod: ask again, forced")
            .hint("force delete (second choice)", 0),
        row(C::Modal(M::PreviewUp),              "preview_up",       X::Confirm, &[ch('k'), key(K::Up)], "scroll the dialog's list up"),
        row(C::Modal(M::PreviewDown),            "preview_down",     X::Confirm, &[ch('j'), key(K::Down)], "scroll the dialog's list down")
            .hint("scroll", 0).pair(C::Modal(M::PreviewUp)),
        // Picking a revision (rollout undo) or an operator (restart operator).
        row(C::Modal(M::PickPrev),               "pick_prev",        X::Pick,    &[ch('k'), key(K::Up)], "previous entry"),
        row(C::Modal(M::PickNext),               "pick_next",        X::Pick,    &[ch('j'), key(K::Down)], "next entry")
            .hint("move", 0).pair(C::Modal(M::PickPrev)),
        row(C::Modal(M::Pick),                   "pick",             X::Pick,    &[key(K::Enter)], "pick the selected entry")
            .hint("pick", 0),
        row(C::Modal(M::PickCancel),             "pick_cancel",      X::Pick,    &[key(K::Esc), ch('q'), ch('n')], "cancel")
            .hint("cancel", 0),
        // Text inputs: keys no binding takes are typed.
        row(C::Modal(M::InputSubmit),            "input_submit",     X::Input,   &[key(K::Enter)], "keep filter / run / preview / confirm")
            .hint("submit", 0),
        row(C::Modal(M::InputCancel),            "input_cancel",     X::Input,   &[key(K::Esc)], "cancel (a filter is cleared)")
            .hint("cancel", 0),
        row(C::Modal(M::InputScrollUp),          "input_scroll_up",  X::Input,   &[key(K::Up)], "scroll a dialog's list up (typing a name)"),
        row(C::Modal(M::InputScrollDown),        "input_scroll_down", X::Input,  &[key(K::Down)], "scroll a dialog's list down (typing a name)"),
        // The silence dialog: keys it does not bind are typed into the focused text field.
        row(C::Modal(M::FormSubmit),             "form_submit",      X::Form,    &[key(K::Enter)], "add the typed matcher, else preview")
            .hint("preview", 0),
        row(C::Modal(M::FormCancel),             "form_cancel",      X::Form,    &[key(K::Esc)], "cancel: nothing is silenced")
            .hint("cancel", 0),
        row(C::Modal(M::FormNextField),          "form_next_field",  X::Form,    &[key(K::Tab)], "next field")
            .hint("field", 0),
        row(C::Modal(M::FormPrevField),          "form_prev_field",  X::Form,    &[key(K::BackTab)], "previous field"),
        row(C::Modal(M::FormUp),                 "form_up",          X::Form,    &[key(K::Up)], "previous matcher"),
        row(C::Modal(M::FormDown),               "form_down",        X::Form,    &[key(K::Down)], "next matcher")
            .hint("matcher", 0).pair(C::Modal(M::FormUp)),
        row(C::Modal(M::FormRemove),             "form_remove",      X::Form,    &[key(K::Delete)], "remove the selected matcher")
            .hint("remove", 0),
        row(C::Modal(M::FormPrevChoice),         "form_prev_choice", X::Form,    &[key(K::Left)], "shorter duration"),
        row(C::Modal(M::FormNextChoice),         "form_next_choice", X::Form,    &[key(K::Right)], "longer duration")
            .hint("duration", 0).pair(C::Modal(M::FormPrevChoice)),
    ]
};

impl Command {
    /// The command's row of the table.
    pub fn spec(self) -> &'static Spec {
        COMMANDS
            .iter()
            .find(|s| s.command == self)
            .expect("every command has a row in COMMANDS")
    }

    /// The name used in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn description(self) -> &'static str {
        self.spec().description
    }

    /// The context a command is bound in.
    pub fn context(self) -> Context {
        self.spec().context
    }

    pub fn from_name(name: &str) -> Option<Self> {
        COMMANDS.iter().find(|s| s.name == name).map(|s| s.command)
    }
}

/// A key with its modifiers, normalised so `G` and `shift-g` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub code: KeyCodeKey,
    pub ctrl: bool,
    pub alt: bool,
}

/// The key codes watchfloor binds; a totally ordered stand-in for crossterm's `KeyCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeKey {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

impl KeyChord {
    pub const fn plain(code: KeyCodeKey) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCodeKey::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    pub fn from_event(event: &KeyEvent) -> Option<Self> {
        let code = match event.code {
            KeyCode::Char(' ') => KeyCodeKey::Char(' '),
            KeyCode::Char(c) => {
                KeyCodeKey::Char(if event.modifiers.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                })
            }
            KeyCode::F(n) => KeyCodeKey::F(n),
            KeyCode::Enter => KeyCodeKey::Enter,
            KeyCode::Esc => KeyCodeKey::Esc,
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCodeKey::BackTab,
            KeyCode::Tab => KeyCodeKey::Tab,
            KeyCode::BackTab => KeyCodeKey::BackTab,
            KeyCode::Backspace => KeyCodeKey::Backspace,
            KeyCode::Delete => KeyCodeKey::Delete,
            KeyCode::Up => KeyCodeKey::Up,
            KeyCode::Down => KeyCodeKey::Down,
            KeyCode::Left => KeyCodeKey::Left,
            KeyCode::Right => KeyCodeKey::Right,
            KeyCode::PageUp => KeyCodeKey::PageUp,
            KeyCode::PageDown => KeyCodeKey::PageDown,
            KeyCode::Home => KeyCodeKey::Home,
            KeyCode::End => KeyCodeKey::End,
            _ => return None,
        };
        Some(Self {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `q`, `G`, `?`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `esc`, `pgdn`, `f5`, `space`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeKey::Char(if ctrl {
                c.to_ascii_lowercase()
            } else if shift {
                c.to_ascii_uppercase()
            } else {
                c
            }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCodeKey::Enter,
                "esc" | "escape" => KeyCodeKey::Esc,
                "tab" if shift => KeyCodeKey::BackTab,
                "tab" => KeyCodeKey::Tab,
                "backtab" => KeyCodeKey::BackTab,
                "backspace" => KeyCodeKey::Backspace,
                "delete" | "del" => KeyCodeKey::Delete,
                "up" => KeyCodeKey::Up,
                "down" => KeyCodeKey::Down,
                "left" => KeyCodeKey::Left,
                "right" => KeyCodeKey::Right,
                "pgup" | "pageup" => KeyCodeKey::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCodeKey::PageDown,
                "home" => KeyCodeKey::Home,
                "end" => KeyCodeKey::End,
                "space" => KeyCodeKey::Char(' '),
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=24).contains(&n)) =>
                {
                    KeyCodeKey::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key {text:?} (examples: \"q\", \"ctrl-r\", \"shift-tab\", \"pgdn\", \"f5\")"
                    ));
                }
            },
        };
        Ok(Self { code, ctrl, alt })
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeKey::Char(' ') => f.write_str("Space"),
            KeyCodeKey::Char(c) => write!(f, "{c}"),
            KeyCodeKey::F(n) => write!(f, "F{n}"),
            KeyCodeKey::Enter => f.write_str("Enter"),
            KeyCodeKey::Esc => f.write_str("Esc"),
            KeyCodeKey::Tab => f.write_str("Tab"),
            KeyCodeKey::BackTab => f.write_str("Shift-Tab"),
            KeyCodeKey::Backspace => f.write_str("Backspace"),
            KeyCodeKey::Delete => f.write_str("Del"),
            KeyCodeKey::Up => f.write_str("↑"),
            KeyCodeKey::Down => f.write_str("↓"),
            KeyCodeKey::Left => f.write_str("←"),
            KeyCodeKey::Right => f.write_str("→"),
            KeyCodeKey::PageUp => f.write_str("PgUp"),
            KeyCodeKey::PageDown => f.write_str("PgDn"),
            KeyCodeKey::Home => f.write_str("Home"),
            KeyCodeKey::End => f.write_str("End"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub key: KeyChord,
    pub command: Command,
}

/// Whether two contexts can be active at once (so a key cannot mean both). A modal layer is
/// alone while open; outside them, global and list keys are live in every pane, and the keys of
/// Kubernetes objects in the Pods and Stuck claims panes.
fn contexts_overlap(a: Context, b: Context) -> bool {
    use Context as X;
    a == b
        || (!a.is_modal()
            && !b.is_modal()
            && (matches!(a, X::Global | X::List)
                || matches!(b, X::Global | X::List)
                || matches!(
                    (a, b),
                    (X::Kube, X::Pods | X::Claims) | (X::Pods | X::Claims, X::Kube)
                )))
}

/// Ctrl-C always quits, whatever the overrides say, so nobody is locked in.
pub const HARD_QUIT: KeyChord = KeyChord::ctrl('c');

/// Whether a key no binding took edits a one-line text field: Tab is not text, and Enter
/// (when rebound away), Ctrl-M and Ctrl-J are newlines.
pub fn edits_single_line(event: &KeyEvent) -> bool {
    match event.code {
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Enter => false,
        KeyCode::Char('m' | 'j') => !event.modifiers.contains(KeyModifiers::CONTROL),
        _ => true,
    }
}

/// A hint as shown: the command, its keys (`j/k`, `n/Esc`) and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownHint {
    pub command: Command,
    pub keys: String,
    pub label: &'static str,
    pub place: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    /// Problems with `[ui.keys]`, shown to the operator rather than crashing.
    pub warnings: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::with_overrides::<KeyList>(&BTreeMap::new())
    }
}

impl Keymap {
    /// The default table with `[ui.keys]` overrides applied. Bad overrides become warnings.
    pub fn with_overrides<V: AsRef<KeyList>>(overrides: &BTreeMap<String, V>) -> Self {
        let mut warnings = Vec::new();
        let mut table: Vec<(Command, Vec<KeyChord>)> = COMMANDS
            .iter()
            .map(|s| (s.command, s.keys.to_vec()))
            .collect();
        for (name, keys) in overrides {
            let Some(command) = Command::from_name(name) else {
                let names: Vec<String> = COMMANDS.iter().map(|s| s.name.to_string()).collect();
                let hint = suggest(name, &names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                warnings.push(format!(
                    "[ui.keys]: unknown command `{name}`{hint}; ignored"
                ));
                continue;
            };
            let mut parsed = Vec::new();
            for key in keys.as_ref().keys() {
                match KeyChord::parse(key) {
                    Ok(chord) if chord == HARD_QUIT => {
                        warnings.push(format!(
                            "[ui.keys].{name}: Ctrl-C is reserved for quitting; ignored"
                        ));
                    }
                    Ok(chord) => parsed.push(chord),
                    Err(e) => warnings.push(format!("[ui.keys].{name}: {e}; ignored")),
                }
            }
            if parsed.is_empty() {
                warnings.push(format!(
                    "[ui.keys].{name}: no usable key; keeping the default"
                ));
                continue;
            }
            // Keys live together (global and list keys, or one dialog's) cannot mean two
            // things: a key taken over is removed from its previous command.
            for (other, other_keys) in table.iter_mut() {
                if *other != command && contexts_overlap(other.context(), command.context()) {
                    let before = other_keys.len();
                    other_keys.retain(|k| !parsed.contains(k));
                    if other_keys.len() != before {
                        warnings.push(format!(
                            "[ui.keys].{name}: takes a key from `{}`{}",
                            other.name(),
                            if other_keys.is_empty() {
                                ", which now has no key"
                            } else {
                                ""
                            }
                        ));
                    }
                }
            }
            if let Some(entry) = table.iter_mut().find(|(c, _)| *c == command) {
                entry.1 = parsed;
            }
        }
        let mut bindings = vec![];
        for (command, keys) in table {
            for key in keys {
                bindings.push(Binding {
                    context: command.context(),
                    key,
                    command,
                });
            }
        }
        Self { bindings, warnings }
    }

    /// The command for a key in the given contexts, searched in order.
    /// Like `lookup`, but in read-only mode remediation commands are not bound at all: the first
    /// of the three layers that keep an observer from changing anything.
    pub fn lookup_for(
        &self,
        contexts: &[Context],
        key: KeyChord,
        read_only: bool,
    ) -> Option<Command> {
        match self.lookup(contexts, key) {
            Some(Command::Remediate(_)) if read_only => None,
            other => other,
        }
    }

    pub fn lookup(&self, contexts: &[Context], key: KeyChord) -> Option<Command> {
        if key == HARD_QUIT {
            return Some(Command::Quit);
        }
        contexts.iter().find_map(|context| {
            self.bindings
                .iter()
                .find(|b| b.context == *context && b.key == key)
                .map(|b| b.command)
        })
    }

    /// Whether `key` is bound in any context (used to tell a real Alt-key from Esc then key).
    pub fn binds(&self, key: KeyChord) -> bool {
        key == HARD_QUIT || self.bindings.iter().any(|b| b.key == key)
    }

    /// The modal command for a key in a modal layer's context, if any.
    pub fn lookup_modal(&self, context: Context, key: KeyChord) -> Option<ModalCommand> {
        match self.lookup(&[context], key) {
            Some(Command::Modal(command)) => Some(command),
            _ => None,
        }
    }

    pub fn keys_for(&self, command: Command) -> Vec<KeyChord> {
        self.bindings
            .iter()
            .filter(|b| b.command == command)
            .map(|b| b.key)
            .collect()
    }

    /// `j/↓`-style label of a command's keys.
    pub fn label(&self, command: Command) -> String {
        let keys: Vec<String> = self
            .keys_for(command)
            .iter()
            .map(ToString::to_string)
            .collect();
        if keys.is_empty() {
            "unbound".into()
        } else {
            keys.join("/")
        }
    }

    /// The keys a hint names: as many as the table says, or the first and its pair's first
    /// (`j/k`). None when the command has no key left.
    fn hint_keys(&self, hint: &Hint, command: Command) -> Option<String> {
        let keys = self.keys_for(command);
        let first = keys.first()?;
        let pair = hint
            .pair
            .and_then(|other| self.keys_for(other).first().copied());
        Some(match pair {
            Some(other) => format!("{first}/{other}"),
            None => keys
                .iter()
                .take(hint.keys.max(1))
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("/"),
        })
    }

    /// The hints of the given contexts for a list (`detail` false) or detail view, in footer
    /// order; commands without a key are left out. Dialogs ask for their one context.
    pub fn hints(&self, contexts: &[Context], detail: bool) -> Vec<ShownHint> {
        let mut hints: Vec<ShownHint> = COMMANDS
            .iter()
            .filter(|s| contexts.contains(&s.context))
            .filter_map(|s| {
                let hint = s.hint?;
                let shown = match hint.shown {
                    Shown::Always => true,
                    Shown::List => !detail,
                    Shown::Detail => detail,
                };
                if !shown {
                    return None;
                }
                Some(ShownHint {
                    command: s.command,
                    keys: self.hint_keys(&hint, s.command)?,
                    label: hint.label,
                    place: hint.place,
                })
            })
            .collect();
        // Stable: table order within a place.
        hints.sort_by_key(|h| h.place);
        hints
    }

    /// Help rows (keys, description) of a context, in table order. Remediations are listed on
    /// their own (`remediation_rows`): they exist only outside read-only mode.
    pub fn help_rows(&self, context: Context) -> Vec<(String, &'static str)> {
        COMMANDS
            .iter()
            .filter(|s| s.context == context && !matches!(s.command, Command::Remediate(_)))
            .map(|s| (self.label(s.command), s.description))
            .collect()
    }

    /// Help rows of the remediations, one per verb.
    pub fn remediation_rows(&self) -> Vec<(String, &'static str)> {
        COMMANDS
            .iter()
            .filter(|s| matches!(s.command, Command::Remediate(_)))
            .map(|s| (self.label(s.command), s.description))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyChord {
        KeyChord::plain(KeyCodeKey::Char(c))
    }

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, KeyList> {
        pairs
            .iter()
            .map(|(name, key)| (name.to_string(), KeyList::One(key.to_string())))
            .collect()
    }

    fn shown(hints: &[ShownHint]) -> Vec<(&str, &str)> {
        hints.iter().map(|h| (h.keys.as_str(), h.label)).collect()
    }

    #[test]
    fn defaults_cover_the_documented_keys() {
        let km = Keymap::default();
        let all = [Context::List, Context::Global];
        assert_eq!(km.lookup(&all, key('q')), Some(Command::Quit));
        assert_eq!(km.lookup(&all, key('?')), Some(Command::Help));
        assert_eq!(km.lookup(&all, key('3')), Some(Command::Focus(PaneId::Db)));
        assert_eq!(km.lookup(&all, key('G')), Some(Command::Bottom));
        assert_eq!(
            km.lookup(&all, KeyChord::plain(KeyCodeKey::BackTab)),
            Some(Command::FocusPrev)
        );
        assert_eq!(km.lookup(&all, KeyChord::ctrl('c')), Some(Command::Quit));
        assert!(km.warnings.is_empty());
    }

    #[test]
    fn one_row_per_command_with_a_unique_name() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            for other in &COMMANDS[i + 1..] {
                assert_ne!(spec.command, other.command, "two rows for one command");
                assert_ne!(spec.name, other.name, "two commands named alike");
            }
            assert_eq!(spec.command.spec().name, spec.name);
        }
        // Every verb the planner offers has a key, in a pane.
        for verb in Verb::ALL {
            assert!(!Command::Remediate(verb).context().is_modal(), "{verb:?}");
        }
        for pane in PaneId::ALL {
            assert_eq!(Command::Focus(pane).context(), Context::Global);
        }
        // A new modal command fails to compile here until it is listed, and then fails the
        // test until it has a row.
        use ModalCommand as M;
        let in_its_layer = |m: M| match m {
            M::HelpClose
            | M::HelpDown
            | M::HelpUp
            | M::HelpPageDown
            | M::HelpPageUp
            | M::HelpTop => Context::Help,
            M::Confirm
            | M::Cancel
            | M::SwitchButton
            | M::PressButton
            | M::ForceDelete
            | M::PreviewDown
            | M::PreviewUp => Context::Confirm,
            M::PickNext | M::PickPrev | M::Pick | M::PickCancel => Context::Pick,
            M::InputSubmit | M::InputCancel | M::InputScrollDown | M::InputScrollUp => {
                Context::Input
            }
            M::FormNextField
            | M::FormPrevField
            | M::FormUp
            | M::FormDown
            | M::FormPrevChoice
            | M::FormNextChoice
            | M::FormRemove
            | M::FormSubmit
            | M::FormCancel => Context::Form,
        };
        let modal: Vec<M> = COMMANDS
            .iter()
            .filter_map(|s| match s.command {
                Command::Modal(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(modal.len(), 30, "{modal:?}");
        for m in modal {
            assert_eq!(Command::Modal(m).context(), in_its_layer(m), "{m:?}");
        }
    }

    #[test]
    fn default_keys_never_mean_two_things_at_once() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            for other in &COMMANDS[i + 1..] {
                if contexts_overlap(spec.context, other.context) {
                    for key in spec.keys {
                        assert!(
                            !other.keys.contains(key),
                            "{key} is both `{}` and `{}`",
                            spec.name,
                            other.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn modal_layers_see_only_their_own_keys() {
        let km = Keymap::default();
        let modal = |context, c| km.lookup_modal(context, key(c));
        assert_eq!(modal(Context::Confirm, 'y'), Some(ModalCommand::Confirm));
        assert_eq!(modal(Context::Confirm, 'q'), Some(ModalCommand::Cancel));
        assert_eq!(modal(Context::Pick, 'j'), Some(ModalCommand::PickNext));
        assert_eq!(modal(Context::Help, 'q'), Some(ModalCommand::HelpClose));
        // In a text input, letters are text.
        assert_eq!(modal(Context::Input, 'q'), None);
        assert_eq!(modal(Context::Input, 'y'), None);
        assert_eq!(
            km.lookup_modal(Context::Input, KeyChord::plain(KeyCodeKey::Enter)),
            Some(ModalCommand::InputSubmit)
        );
        // Dialog keys are not pane keys: `y` confirms in the dialog, shows YAML in the panes of
        // Kubernetes objects, copies a line in the Logs pane and means nothing elsewhere.
        let pane = |context| [context, Context::Kube, Context::List, Context::Global];
        assert_eq!(
            km.lookup(&pane(Context::Pods), key('y')),
            Some(Command::Yaml)
        );
        assert_eq!(
            km.lookup(&pane(Context::Claims), key('y')),
            Some(Command::Yaml)
        );
        let logs = [Context::Logs, Context::List, Context::Global];
        assert_eq!(km.lookup(&logs, key('y')), Some(Command::Copy));
        let slo = [Context::Slo, Context::List, Context::Global];
        assert_eq!(km.lookup(&slo, key('y')), None);
        // `Y` stays the incident report.
        assert_eq!(
            km.lookup(&pane(Context::Pods), key('Y')),
            Some(Command::CopyReport)
        );
    }

    #[test]
    fn yaml_is_rebindable_and_reads_in_read_only_mode() {
        let pods = [Context::Pods, Context::Kube, Context::List, Context::Global];
        // A read: bound in read-only mode too.
        assert_eq!(
            Keymap::default().lookup_for(&pods, key('y'), true),
            Some(Command::Yaml)
        );
        let km = Keymap::with_overrides(&overrides(&[("yaml", "ctrl-y")]));
        assert!(km.warnings.is_empty(), "{:?}", km.warnings);
        assert_eq!(km.lookup(&pods, KeyChord::ctrl('y')), Some(Command::Yaml));
        assert_eq!(km.lookup(&pods, key('y')), None);
        // A pane key the Pods pane already uses is taken from it, and said so.
        let km = Keymap::with_overrides(&overrides(&[("yaml", "v")]));
        assert_eq!(
            km.warnings,
            ["[ui.keys].yaml: takes a key from `toggle_view`, which now has no key"]
        );
        // The Logs pane's `y` is not the YAML view's business.
        let km = Keymap::with_overrides(&overrides(&[("copy", "c")]));
        assert!(km.warnings.is_empty(), "{:?}", km.warnings);
        assert_eq!(km.lookup(&pods, key('y')), Some(Command::Yaml));
    }

    #[test]
    fn parses_and_displays_keys() {
        assert_eq!(KeyChord::parse("ctrl-R").unwrap(), KeyChord::ctrl('r'));
        assert_eq!(
            KeyChord::parse("shift-tab").unwrap().code,
            KeyCodeKey::BackTab
        );
        assert_eq!(KeyChord::parse("shift-g").unwrap(), key('G'));
        assert_eq!(KeyChord::parse("pgdn").unwrap().to_string(), "PgDn");
        assert_eq!(KeyChord::parse("f5").unwrap().code, KeyCodeKey::F(5));
        assert!(KeyChord::parse("hyper-x").is_err());
    }

    #[test]
    fn overrides_replace_and_warn_instead_of_crashing() {
        let mut overrides = BTreeMap::new();
        overrides.insert("quit".to_string(), KeyList::One("Q".into()));
        overrides.insert(
            "zoom".to_string(),
            KeyList::Many(vec!["x".into(), "nonsense-key".into()]),
        );
        overrides.insert("frezee".to_string(), KeyList::One("F".into()));
        overrides.insert("help".to_string(), KeyList::One("ctrl-c".into()));
        let km = Keymap::with_overrides(&overrides);
        let all = [Context::List, Context::Global];
        assert_eq!(km.lookup(&all, key('Q')), Some(Command::Quit));
        assert_eq!(km.lookup(&all, key('q')), None);
        assert_eq!(km.lookup(&all, key('x')), Some(Command::Zoom));
        assert_eq!(km.lookup(&all, KeyChord::ctrl('c')), Some(Command::Quit));
        let text = km.warnings.join("\n");
        assert!(
            text.contains("unknown command `frezee` (did you mean `freeze`?)"),
            "{text}"
        );
        assert!(text.contains("nonsense-key"), "{text}");
        assert!(text.contains("Ctrl-C is reserved"), "{text}");
    }

    #[test]
    fn stolen_key_is_removed_from_its_old_command() {
        let mut overrides = BTreeMap::new();
        overrides.insert("freeze".to_string(), KeyList::One("t".into()));
        let km = Keymap::with_overrides(&overrides);
        assert_eq!(
            km.lookup(&[Context::Global], key('t')),
            Some(Command::Freeze)
        );
        assert!(km.keys_for(Command::NextTarget).is_empty());
        assert!(km.warnings[0].contains("next_target"));
    }

    #[test]
    fn dialog_keys_rebind_within_their_context() {
        let km = Keymap::with_overrides(&overrides(&[("confirm", "Y"), ("pick_next", "down")]));
        assert!(km.warnings.is_empty(), "{:?}", km.warnings);
        assert_eq!(
            km.lookup_modal(Context::Confirm, key('Y')),
            Some(ModalCommand::Confirm)
        );
        assert_eq!(km.lookup_modal(Context::Confirm, key('y')), None);
        assert_eq!(
            shown(&km.hints(&[Context::Confirm], false))[0],
            ("Y", "confirm")
        );
        assert_eq!(km.lookup_modal(Context::Pick, key('j')), None);
        assert_eq!(
            shown(&km.hints(&[Context::Pick], false)),
            [("↓/k", "move"), ("Enter", "pick"), ("Esc", "cancel")]
        );

        // A key taken inside the dialog is taken from its command there, and said so as for
        // panes; a pane's key is not the dialog's business.
        let km = Keymap::with_overrides(&overrides(&[("confirm", "n")]));
        assert_eq!(
            km.warnings,
            ["[ui.keys].confirm: takes a key from `cancel`"]
        );
        assert_eq!(
            km.lookup_modal(Context::Confirm, key('n')),
            Some(ModalCommand::Confirm)
        );
        assert_eq!(
            km.lookup_modal(Context::Confirm, KeyChord::plain(KeyCodeKey::Esc)),
            Some(ModalCommand::Cancel)
        );
        let km = Keymap::with_overrides(&overrides(&[("cancel", "t")]));
        assert!(km.warnings.is_empty(), "{:?}", km.warnings);
        assert_eq!(
            km.lookup_modal(Context::Confirm, key('t')),
            Some(ModalCommand::Cancel)
        );
        assert_eq!(
            km.lookup(&[Context::Global], key('t')),
            Some(Command::NextTarget)
        );
        let km = Keymap::with_overrides(&overrides(&[("confrim", "Y")]));
        assert_eq!(
            km.warnings,
            ["[ui.keys]: unknown command `confrim` (did you mean `confirm`?); ignored"]
        );
    }

    #[test]
    fn hints_come_from_the_table() {
        let km = Keymap::default();
        assert_eq!(
            shown(&km.hints(&[Context::Confirm], false)),
            [
                ("y", "confirm"),
                ("n/Esc", "cancel"),
                ("Tab", "switch"),
                ("F", "force delete (second choice)"),
                ("j/k", "scroll")
            ]
        );
        assert_eq!(
            shown(&km.hints(&[Context::Help], false)),
            [("Esc", "close"), ("j/k", "scroll")]
        );
        let pods = [Context::Pods, Context::List, Context::Global];
        assert_eq!(
            shown(&km.hints(&pods, false)),
            [
                ("?", "help"),
                ("q", "quit"),
                ("Tab", "pane"),
                ("j/k", "move"),
                ("Enter", "detail"),
                ("v", "views"),
                ("l", "logs"),
                // The table's hint; the footer names it in the DB pane only (`ui::overlays`).
                ("o", "sort"),
                ("/", "filter"),
                ("z", "zoom"),
                ("f", "freeze"),
                ("t", "target"),
                (":", "cmd"),
            ]
        );
        assert_eq!(
            shown(&km.hints(&pods, true)),
            [
                ("?", "help"),
                ("q", "quit"),
                ("Esc", "back"),
                ("j/k", "move"),
                ("o", "sort"),
                ("z", "zoom"),
                ("p", "previous logs"),
                ("f", "freeze"),
            ]
        );
        // The panes of Kubernetes objects hint `y` in their detail views.
        let kube = [Context::Pods, Context::Kube, Context::List, Context::Global];
        assert!(!shown(&km.hints(&kube, false)).contains(&("y", "yaml")));
        assert!(shown(&km.hints(&kube, true)).contains(&("y", "yaml")));
    }

    #[test]
    fn single_line_fields_refuse_tab_and_newlines() {
        let event = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(edits_single_line(&event(
            KeyCode::Char('j'),
            KeyModifiers::NONE
        )));
        assert!(edits_single_line(&event(
            KeyCode::Backspace,
            KeyModifiers::NONE
        )));
        assert!(!edits_single_line(&event(
            KeyCode::Char('j'),
            KeyModifiers::CONTROL
        )));
        assert!(!edits_single_line(&event(
            KeyCode::Char('m'),
            KeyModifiers::CONTROL
        )));
        assert!(!edits_single_line(&event(KeyCode::Tab, KeyModifiers::NONE)));
        assert!(!edits_single_line(&event(
            KeyCode::Enter,
            KeyModifiers::NONE
        )));
        assert!(!edits_single_line(&event(
            KeyCode::BackTab,
            KeyModifiers::SHIFT
        )));
    }
}
