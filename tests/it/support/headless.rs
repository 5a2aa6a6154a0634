//! A headless console for tests: an `App` whose effects are executed by the runtime's own
//! `EffectExecutor` (real sources, real remediation runner), without a terminal.
//!

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::time::Instant;
use watchfloor::app::{Action, App, Effect};
use watchfloor::config::Config;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::runtime::effects::{EffectExecutor, Inbox};

/// How often `settle_until` looks at its predicate again when no action arrives (audit lines
/// and server state change without one).
const RECHECK: Duration = Duration::from_millis(25);

pub struct Headless {
    pub app: App,
    pub config: Arc<Config>,
    executor: EffectExecutor,
    inbox: Inbox,
    effects: Vec<Effect>,
    /// Remediation answers and notices (source reports are not kept).
    actions: Vec<Action>,
}

/// A plain key.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// A character as a terminal reports it (upper case with Shift).
pub fn char_key(c: char) -> KeyEvent {
    let modifiers = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), modifiers)
}

pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

impl Headless {
    /// Parses `config_text`, builds the app on target 0 and runs its start-up effects. Must be
    /// called inside a Tokio runtime (sources and the runner spawn tasks).
    pub fn start(config_text: &str, inputs: ReadOnlyInputs) -> Self {
        let config = watchfloor::config::parse(Path::new("headless.toml"), config_text)
            .unwrap_or_else(|e| panic!("config does not parse: {e}\n{config_text}"));
        Self::with_config(Arc::new(config), inputs)
    }

    /// As `start`, over a config already built (the demo's).
    pub fn with_config(config: Arc<Config>, inputs: ReadOnlyInputs) -> Self {
        let app = App::new(
            Arc::clone(&config),
            "headless.toml".into(),
            0,
            inputs,
            SystemTime::now(),
        );
        // The clipboard would write OSC 52 to the test's stdout: the effect is recorded instead.
        let (executor, inbox) = EffectExecutor::new(Arc::clone(&config), Box::new(|_| {}));
        let mut console = Self {
            app,
            config,
            executor,
            inbox,
            effects: Vec::new(),
            actions: Vec::new(),
        };
        let start = console.app.start();
        console.execute(start);
        console
    }

    /// Executes effects with the runtime's executor; every effect is recorded.
    fn execute(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            self.effects.push(effect.clone());
            let _ = self.executor.execute(effect, &self.app);
        }
    }

    /// How many actions and reports are waiting now.
    fn waiting(&self) -> usize {
        self.inbox.actions.len() + self.inbox.reports.len()
    }

    /// The next waiting action or report, without waiting.
    fn try_next(&mut self) -> Option<Action> {
        match self.inbox.actions.try_recv() {
            Ok(action) => Some(action),
            Err(_) => self.inbox.reports.try_recv().ok().map(Action::Backend),
        }
    }

    /// The next action or report to arrive before `wake`.
    async fn next_before(&mut self, wake: Instant) -> Option<Action> {
        let inbox = &mut self.inbox;
        let next = async {
            tokio::select! {
                Some(action) = inbox.actions.recv() => Some(action),
                Some(report) = inbox.reports.recv() => Some(Action::Backend(report)),
                else => None,
            }
        };
        tokio::time::timeout_at(wake, next).await.ok().flatten()
    }

    fn apply(&mut self, action: Action) {
        if !matches!(
            action,
            Action::Backend(SourceEvent::State { .. })
                | Action::Backend(SourceEvent::Kube { .. })
                | Action::Backend(SourceEvent::Logs { .. })
                | Action::Backend(SourceEvent::Db { .. })
        ) {
            self.actions.push(action.clone());
        }
        let effects = self.app.update(action);
        self.execute(effects);
    }

    /// Time passes: one `Tick` at `now` (time enters the `App` only this way).
    pub fn tick(&mut self, now: SystemTime) {
        self.apply(Action::Tick(now));
        self.app.prepare_view();
    }

    pub fn press(&mut self, key: KeyEvent) {
        self.apply(Action::Key(key));
        self.app.prepare_view();
    }

    /// Presses each character of `keys` in turn.
    pub fn press_str(&mut self, keys: &str) {
        for c in keys.chars() {
            self.press(char_key(c));
        }
    }

    /// Applies the actions already waiting, without waiting for more.
    pub async fn settle(&mut self) {
        tokio::task::yield_now().await;
        // Only what is waiting now: a busy world (the 10,000-pod scenario on a loaded machine)
        // can send faster than a debug build applies, and draining "until empty" never ends.
        for _ in 0..self.waiting() {
            let Some(action) = self.try_next() else {
                break;
            };
            self.apply(action);
        }
        self.app.prepare_view();
    }

    /// Applies actions (and executes their effects) until `pred` holds; panics naming `what`
    /// once `deadline` has passed.
    pub async fn settle_until(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&App) -> bool,
    ) {
        self.wait(what, deadline, |console| pred(&console.app))
            .await;
    }

    /// As `settle_until`, with the whole console in view (effects and actions seen too).
    pub async fn wait(&mut self, what: &str, deadline: Duration, pred: impl Fn(&Self) -> bool) {
        let until = Instant::now() + deadline;
        loop {
            // What is waiting now, then the predicate and the deadline (see `settle`).
            for _ in 0..self.waiting() {
                let Some(action) = self.try_next() else {
                    break;
                };
                self.apply(action);
            }
            self.app.prepare_view();
            if pred(self) {
                return;
            }
            let now = Instant::now();
            assert!(
                now < until,
                "timed out after {deadline:?} waiting for {what}\ntoasts: {:?}\nmodal: {:?}\nrecent actions: {:?}",
                self.app.view.toasts,
                self.app.view.modal,
                self.actions.iter().rev().take(8).collect::<Vec<_>>()
            );
            let wake = (now + RECHECK).min(until);
            if let Some(action) = self.next_before(wake).await {
                self.apply(action);
            }
        }
    }

    pub fn effects_seen(&self) -> &[Effect] {
        &self.effects
    }

    /// Remediation answers, permissions and notices seen so far, oldest first.
    pub fn actions_seen(&self) -> &[Action] {
        &self.actions
    }

    /// The texts of the toasts on screen now.
    pub fn toast_texts(&self) -> Vec<String> {
        self.app
            .view
            .toasts
            .iter()
            .map(|t| t.text.clone())
            .collect()
    }
}

/// The whole console drawn at `width`×`height` (dark theme, 256 colours), as text: one line
/// per row.
pub fn screen(app: &App, size: (u16, u16)) -> String {
    drawn(&app.screen(), size)
}

/// One view over one data drawn at `width`×`height`, as `screen` draws the whole console.
pub fn drawn(screen: &watchfloor::app::Screen<'_>, (width, height): (u16, u16)) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let theme = watchfloor::ui::theme::Theme::new(
        watchfloor::config::ThemeName::Dark,
        watchfloor::ui::theme::ColorSupport::Ansi256,
    );
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| watchfloor::ui::render(frame, screen, &theme))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}
