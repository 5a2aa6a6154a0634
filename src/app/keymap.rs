//! The key table: context x key -> command. One table feeds key handling, the footer hints and the
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
    /// The Pods pane only.
    Pods,
    /// The Logs pane only.
    Logs,
    /// The DB pane only.
    Db,
    /// The Stuck claims pane only.
    Claims,
    /// The help overlay.
    Help,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "Global",
            Self::List => "Lists and details",
            Self::Pods => "Pods pane",
            Self::Logs => "Logs pane",
            Self::Db => "DB pane",
            Self::Claims => "Stuck claims pane",
            Self::Help => "Help",
        }
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
    /// DB pane: order of the sessions list (age, state, wait, pid).
    SortCycle,
    /// A remediation on the selected row; never bound in read-only mode.
    Remediate(Verb),
}

impl Command {
    /// Every command, in help order.
    pub const ALL: [Self; 42] = [
        Self::FocusNext,
        Self::FocusPrev,
        Self::Focus(PaneId::Pods),
        Self::Focus(PaneId::Slo),
        Self::Focus(PaneId::Db),
        Self::Focus(PaneId::Claims),
        Self::Focus(PaneId::Logs),
        Self::Zoom,
        Self::Filter,
        Self::CommandLine,
        Self::Freeze,
        Self::NextTarget,
        Self::Help,
        Self::Quit,
        Self::Up,
        Self::Down,
        Self::PageUp,
        Self::PageDown,
        Self::Top,
        Self::Bottom,
        Self::Open,
        Self::Back,
        Self::ToggleView,
        Self::OpenLogs,
        Self::PreviousLogs,
        Self::Follow,
        Self::LevelCycle,
        Self::SourceCycle,
        Self::Wrap,
        Self::Timestamps,
        Self::RawToggle,
        Self::Copy,
        Self::Save,
        Self::SortCycle,
        Self::Remediate(Verb::Restart),
        Self::Remediate(Verb::Undo),
        Self::Remediate(Verb::Scale),
        Self::Remediate(Verb::DeletePod),
        Self::Remediate(Verb::RestartOperator),
        Self::Remediate(Verb::Cancel),
        Self::Remediate(Verb::Kill),
        Self::Remediate(Verb::KillIdle),
    ];

    /// The name used in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "help",
            Self::FocusNext => "focus_next",
            Self::FocusPrev => "focus_prev",
            Self::Focus(PaneId::Pods) => "focus_pods",
            Self::Focus(PaneId::Slo) => "focus_slo",
            Self::Focus(PaneId::Db) => "focus_db",
            Self::Focus(PaneId::Claims) => "focus_claims",
            Self::Focus(PaneId::Logs) => "focus_logs",
            Self::Up => "up",
            Self::Down => "down",
            Self::PageUp => "page_up",
            Self::PageDown => "page_down",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::Open => "open",
            Self::Back => "back",
            Self::Zoom => "zoom",
            Self::Filter => "filter",
            Self::CommandLine => "command_line",
            Self::Freeze => "freeze",
            Self::NextTarget => "next_target",
            Self::ToggleView => "toggle_view",
            Self::OpenLogs => "open_logs",
            Self::PreviousLogs => "previous_logs",
            Self::Follow => "follow",
            Self::LevelCycle => "level",
            Self::SourceCycle => "source",
            Self::Wrap => "wrap",
            Self::Timestamps => "timestamps",
            Self::RawToggle => "raw",
            Self::Copy => "copy",
            Self::Save => "save",
            Self::SortCycle => "sort",
            Self::Remediate(Verb::Restart) => "rollout_restart",
            Self::Remediate(Verb::Undo) => "rollout_undo",
            Self::Remediate(Verb::Scale) => "scale",
            Self::Remediate(Verb::DeletePod) => "delete_pod",
            Self::Remediate(Verb::RestartOperator) => "restart_operator",
            Self::Remediate(Verb::Cancel) => "cancel_query",
            Self::Remediate(Verb::Kill) => "kill",
            Self::Remediate(Verb::KillIdle) => "kill_idle",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "help",
            Self::FocusNext => "next pane",
            Self::FocusPrev => "previous pane",
            Self::Focus(PaneId::Pods) => "focus Pods",
            Self::Focus(PaneId::Slo) => "focus SLO burn",
            Self::Focus(PaneId::Db) => "focus DB connections",
            Self::Focus(PaneId::Claims) => "focus Stuck claims",
            Self::Focus(PaneId::Logs) => "focus Logs",
            Self::Up => "up",
            Self::Down => "down",
            Self::PageUp => "page up",
            Self::PageDown => "page down",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::Open => "open detail",
            Self::Back => "back / close",
            Self::Zoom => "zoom pane",
            Self::Filter => "filter",
            Self::CommandLine => "command line",
            Self::Freeze => "freeze display",
            Self::NextTarget => "next target",
            Self::ToggleView => "pods / deployments",
            Self::OpenLogs => "logs of the selected pod or deployment",
            Self::PreviousLogs => "previous container logs",
            Self::Follow => "follow / pause",
            Self::LevelCycle => "level: all, >= info, >= warn, >= error",
            Self::SourceCycle => "source: all, then each",
            Self::Wrap => "wrap long lines",
            Self::Timestamps => "timestamps",
            Self::RawToggle => "JSON: message + fields / raw",
            Self::Copy => "copy line (OSC 52)",
            Self::Save => "save to a file",
            Self::SortCycle => "sessions: sort by age, state, wait, pid",
            Self::Remediate(Verb::Restart) => "rollout restart (deployment)",
            Self::Remediate(Verb::Undo) => "rollout undo: pick a revision",
            Self::Remediate(Verb::Scale) => "scale (deployment)",
            Self::Remediate(Verb::DeletePod) => "delete pod (force is a second choice)",
            Self::Remediate(Verb::RestartOperator) => "restart an operator (delete its pods)",
            Self::Remediate(Verb::Cancel) => "cancel the session's query",
            Self::Remediate(Verb::Kill) => "terminate session / kill Redis client",
            Self::Remediate(Verb::KillIdle) => "terminate old idle-in-transaction sessions",
        }
    }

    /// The context a command is bound in.
    pub fn context(self) -> Context {
        match self {
            Self::Up
            | Self::Down
            | Self::PageUp
            | Self::PageDown
            | Self::Top
            | Self::Bottom
            | Self::Open
            | Self::Back => Context::List,
            Self::ToggleView | Self::OpenLogs => Context::Pods,
            // Pods pane (a pod) and Logs pane (a line's pod).
            Self::PreviousLogs => Context::List,
            Self::Follow
            | Self::LevelCycle
            | Self::SourceCycle
            | Self::Wrap
            | Self::Timestamps
            | Self::RawToggle
            | Self::Copy
            | Self::Save => Context::Logs,
            Self::SortCycle => Context::Db,
            Self::Remediate(Verb::Restart | Verb::Undo | Verb::Scale | Verb::DeletePod) => {
                Context::Pods
            }
            Self::Remediate(Verb::RestartOperator) => Context::Claims,
            Self::Remediate(Verb::Cancel | Verb::Kill | Verb::KillIdle) => Context::Db,
            _ => Context::Global,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
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

/// Whether two contexts can be active at once (so a key cannot mean both).
fn contexts_overlap(a: Context, b: Context) -> bool {
    a == b
        || matches!(a, Context::Global | Context::List)
        || matches!(b, Context::Global | Context::List)
}

/// Ctrl-C always quits, whatever the overrides say, so nobody is locked in.
pub const HARD_QUIT: KeyChord = KeyChord::ctrl('c');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    /// Problems with `[ui.keys]`, shown to the operator rather than crashing.
    pub warnings: Vec<String>,
}

fn default_keys(command: Command) -> Vec<KeyChord> {
    use KeyCodeKey as K;
    let c = |ch| KeyChord::plain(K::Char(ch));
    let p = KeyChord::plain;
    match command {
        Command::Quit => vec![c('q')],
        Command::Help => vec![c('?'), p(K::F(1))],
        Command::FocusNext => vec![p(K::Tab)],
        Command::FocusPrev => vec![p(K::BackTab)],
        Command::Focus(pane) => vec![c(char::from_digit(pane.number() as u32, 10).unwrap_or('1'))],
        Command::Up => vec![c('k'), p(K::Up)],
        Command::Down => vec![c('j'), p(K::Down)],
        Command::PageUp => vec![p(K::PageUp), KeyChord::ctrl('b')],
        Command::PageDown => vec![p(K::PageDown), KeyChord::ctrl('f')],
        Command::Top => vec![c('g'), p(K::Home)],
        Command::Bottom => vec![c('G'), p(K::End)],
        Command::Open => vec![p(K::Enter)],
        Command::Back => vec![p(K::Esc)],
        Command::Zoom => vec![c('z')],
        Command::Filter => vec![c('/')],
        Command::CommandLine => vec![c(':')],
        Command::Freeze => vec![c('f')],
        Command::NextTarget => vec![c('t')],
        Command::ToggleView => vec![c('v')],
        Command::OpenLogs => vec![c('l')],
        Command::PreviousLogs => vec![c('p')],
        Command::Follow => vec![c(' ')],
        Command::LevelCycle => vec![c('l')],
        Command::SourceCycle => vec![c('s')],
        Command::Wrap => vec![c('w')],
        Command::Timestamps => vec![c('T')],
        Command::RawToggle => vec![c('r')],
        Command::Copy => vec![c('y')],
        Command::Save => vec![c('S')],
        Command::SortCycle => vec![c('o')],
        Command::Remediate(Verb::Restart) => vec![c('r')],
        Command::Remediate(Verb::Undo) => vec![c('u')],
        Command::Remediate(Verb::Scale) => vec![c('s')],
        Command::Remediate(Verb::DeletePod) => vec![c('D'), KeyChord::ctrl('d')],
        Command::Remediate(Verb::RestartOperator) => vec![c('R')],
        Command::Remediate(Verb::Cancel) => vec![c('c')],
        Command::Remediate(Verb::Kill) => vec![c('K')],
        Command::Remediate(Verb::KillIdle) => vec![c('X')],
    }
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
        let mut table: Vec<(Command, Vec<KeyChord>)> = Command::ALL
            .iter()
            .map(|c| (*c, default_keys(*c)))
            .collect();
        for (name, keys) in overrides {
            let Some(command) = Command::from_name(name) else {
                let names: Vec<String> =
                    Command::ALL.iter().map(|c| c.name().to_string()).collect();
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
            // Global and list keys are live together, so a key taken over is removed from its
            // previous command.
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

    /// Help sections: each context with its commands and keys, from the same table.
    /// Help rows per context. In read-only mode remediation keys are left out: they do nothing.
    pub fn help_sections(&self, read_only: bool) -> Vec<(Context, Vec<(String, &'static str)>)> {
        [
            Context::Global,
            Context::List,
            Context::Pods,
            Context::Logs,
            Context::Db,
            Context::Claims,
        ]
        .into_iter()
        .map(|context| {
            let rows = Command::ALL
                .iter()
                .filter(|c| c.context() == context)
                .filter(|c| !(read_only && matches!(c, Command::Remediate(_))))
                .map(|c| (self.label(*c), c.description()))
                .collect();
            (context, rows)
        })
        .filter(|(_, rows): &(Context, Vec<(String, &'static str)>)| !rows.is_empty())
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyChord {
        KeyChord::plain(KeyCodeKey::Char(c))
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
}
