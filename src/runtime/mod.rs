//! The event loop: one `select!` over terminal input, signals, source reports
//! and the clock. `update` is applied to every action; drawing is coalesced to at most `max_fps`.

pub mod effects;
pub mod remediations;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{Event, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::app::{Action, App};
use crate::config::LoadedConfig;
use crate::policy::ReadOnlyInputs;
use crate::terminal::{self, Watchdog};
use crate::ui::{self, theme::ColorSupport, theme::Theme};
use effects::{EffectExecutor, Flow};

/// Why the loop ended; the process exit code follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`, `:q`, Ctrl-C.
    Quit,
    /// SIGTERM, SIGINT or SIGHUP: exit code 128 + signal number.
    Signal(i32),
    /// The terminal went away (input closed or output failing).
    TerminalGone,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Self::Quit => 0,
            Self::Signal(n) => 128 + n,
            Self::TerminalGone => 1,
        }
    }
}

pub async fn run(
    loaded: LoadedConfig,
    target_index: usize,
    read_only: ReadOnlyInputs,
) -> color_eyre::Result<Exit> {
    // What `check-config` warns about (unset secrets, kubeconfig), shown once at start.
    let config_warnings = crate::config::warnings(&loaded);
    let config = Arc::new(loaded.config);
    let theme = Theme::new(config.ui.theme, ColorSupport::from_env());
    let frame_interval = Duration::from_secs(1) / config.ui.max_fps.max(1);
    let mut app = App::new(
        Arc::clone(&config),
        loaded.path,
        target_index,
        read_only,
        SystemTime::now(),
    );
    tracing::info!(
        config = %app.view.config_path.display(),
        target = app.target_name(),
        read_only = app.view.policy.is_read_only(),
        "watchfloor starting"
    );

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;

    let watchdog = Watchdog::spawn();
    let mut tui = terminal::init()?;
    let (mut effects, mut inbox) =
        EffectExecutor::new(Arc::clone(&config), Box::new(copy_to_clipboard));
    let mut events = spawn_input();
    let mut clock = interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);

    let mut pending = app.start();
    for text in startup_notices(&config_warnings) {
        pending.extend(app.update(Action::Notify { error: false, text }));
    }
    let mut dirty = true;
    // Input is drawn at once; data-driven redraws wait for the frame interval.
    let mut urgent = false;
    let mut last_draw: Option<Instant> = None;
    let exit = loop {
        for effect in pending.drain(..) {
            if effects.execute(effect, &app) == Flow::Quit {
                app.view.should_quit = true;
            }
        }
        if app.should_quit() {
            break Exit::Quit;
        }
        let now = Instant::now();
        if dirty && (urgent || last_draw.is_none_or(|at| now >= at + frame_interval)) {
            app.prepare_view();
            watchdog.draw_begins();
            let drawn = tui.draw(|frame| ui::render(frame, &app.screen(), &theme));
            watchdog.draw_ends();
            if let Err(error) = drawn {
                tracing::warn!(%error, "drawing failed; the terminal is gone");
                break Exit::TerminalGone;
            }
            dirty = false;
            urgent = false;
            last_draw = Some(now);
        }
        let next_draw = last_draw.map_or(now, |at| at + frame_interval);

        let action = tokio::select! {
            biased;
            _ = sigterm.recv() => break Exit::Signal(libc_signal::TERM),
            _ = sighup.recv() => break Exit::Signal(libc_signal::HUP),
            _ = sigint.recv() => break Exit::Signal(libc_signal::INT),
            event = events.recv() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
                Some(Ok(Event::Resize(..))) => Some(Action::Resize),
                Some(Ok(Event::Paste(text))) => Some(Action::Paste(text)),
                Some(Ok(_)) => None,
                Some(Err(error)) => {
                    tracing::warn!(%error, "terminal input failed");
                    break Exit::TerminalGone;
                }
                None => break Exit::TerminalGone,
            },
            Some(action) = inbox.actions.recv() => Some(action),
            Some(report) = inbox.reports.recv() => Some(Action::Backend(report)),
            _ = clock.tick() => Some(Action::Tick(SystemTime::now())),
            () = sleep_until(next_draw), if dirty => None,
        };
        if let Some(action) = action {
            urgent |= matches!(action, Action::Key(_) | Action::Paste(_) | Action::Resize);
            pending.extend(app.update(action));
            // A burst of source reports becomes one redraw; the bound keeps input and signals
            // responsive under a flood.
            for _ in 0..MAX_DRAIN {
                let Ok(report) = inbox.reports.try_recv() else {
                    break;
                };
                pending.extend(app.update(Action::Backend(report)));
            }
            dirty = true;
        }
    };
    watchdog.quit_requested();
    // A hang-up (SSH dropped, tmux session killed) fails reads and writes at once and sends
    // SIGHUP a moment later (the kernel to the session leader, a login shell to its jobs);
    // when the signal follows, it decides the exit code: 129 every time, not sometimes 1.
    let exit = match exit {
        Exit::TerminalGone => match tokio::time::timeout(HANGUP_GRACE, sighup.recv()).await {
            Ok(Some(())) => Exit::Signal(libc_signal::HUP),
            _ => Exit::TerminalGone,
        },
        exit => exit,
    };
    effects.stop_sources();
    terminal::restore();
    tracing::info!(?exit, "watchfloor exiting");
    Ok(exit)
}

/// OSC 52: the terminal (or tmux, with `set-clipboard on`) puts the text on the clipboard; it
/// works over SSH because it travels in the terminal stream itself.
fn copy_to_clipboard(text: &str) {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

/// Config warnings as toasts: the first few (only the newest toasts stay), then how many more.
fn startup_notices(warnings: &[crate::config::ConfigWarning]) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut notices: Vec<String> = warnings
        .iter()
        .take(SHOWN)
        .map(|w| {
            let text = format!("config line {}: key `{}`: {}", w.line, w.key, w.message);
            crate::redact::redacted(&text)
        })
        .collect();
    if warnings.len() > SHOWN {
        notices.push(format!(
            "{} more config warnings: `watchfloor check-config` lists them all",
            warnings.len() - SHOWN
        ));
    }
    notices
}

/// Terminal input, read on a thread of its own and passed on; the channel closes after the first
/// read error.
///
/// Not crossterm's `EventStream`: when the terminal hangs up, crossterm 0.29's reader retries
/// the read that returns 0 (or EIO) forever without returning, and `EventStream` reads on the
/// thread that polls it, the event loop's, which then never sees SIGHUP or a failed draw again.
/// Here such a hang-up only keeps this thread busy until the process exits; the event loop
/// learns of it from SIGHUP or from its next draw (the clock redraws every second).
fn spawn_input() -> mpsc::Receiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                let event = crossterm::event::read();
                let failed = event.is_err();
                if tx.blocking_send(event).is_err() || failed {
                    break;
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the input thread");
    }
    rx
}

/// How long a terminal that went away may take to send its SIGHUP.
const HANGUP_GRACE: Duration = Duration::from_millis(500);

/// Source reports applied per loop turn before input gets another look.
const MAX_DRAIN: usize = 256;

/// Signal numbers for exit codes (POSIX values, the same on every Linux architecture we run on).
pub mod libc_signal {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const TERM: i32 = 15;
}
