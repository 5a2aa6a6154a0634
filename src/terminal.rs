//! Terminal lifecycle: raw mode and the alternate screen on the way in, everything restored on the
//! way out, on panic too, and a watchdog so a terminal that stops taking output cannot leave an
//! orphan process behind.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<io::Stdout>>;

/// Enters raw mode and the alternate screen, and makes panics restore the terminal first.
pub fn init() -> io::Result<Tui> {
    install_panic_hook();
    enable_raw_mode()?;
    if let Err(e) = execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Leaves raw mode first (it has the most side effects), then the alternate screen; shows the
/// cursor. Never panics, and ignores errors: the terminal may already be gone.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Watches for a stuck terminal write and for a quit that does not finish, and ends the process
/// in both cases: an orphan console on a dead SSH session helps nobody.
#[derive(Debug, Clone)]
pub struct Watchdog {
    start: Instant,
    /// Milliseconds since `start` when the current draw began; 0 when not drawing.
    draw_started: Arc<AtomicU64>,
    /// Milliseconds since `start` when leaving was requested; 0 when not.
    quit_requested: Arc<AtomicU64>,
}

/// A write to the terminal that takes longer than this means nobody is reading it.
const STUCK_WRITE: Duration = Duration::from_secs(10);
/// How long a requested exit may take before it is forced.
const QUIT_GRACE: Duration = Duration::from_secs(3);

impl Watchdog {
    pub fn spawn() -> Self {
        let dog = Self {
            start: Instant::now(),
            draw_started: Arc::default(),
            quit_requested: Arc::default(),
        };
        let watcher = dog.clone();
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(250));
                    let now = watcher.elapsed_ms();
                    let since =
                        |at: u64| (at != 0).then(|| Duration::from_millis(now.saturating_sub(at)));
                    if since(watcher.draw_started.load(Ordering::Relaxed))
                        .is_some_and(|d| d > STUCK_WRITE)
                    {
                        tracing::error!("terminal stopped accepting output; exiting");
                        std::process::exit(1);
                    }
                    if since(watcher.quit_requested.load(Ordering::Relaxed))
                        .is_some_and(|d| d > QUIT_GRACE)
                    {
                        tracing::error!("clean exit took too long; forcing it");
                        std::process::exit(1);
                    }
                }
            })
            .ok();
        dog
    }

    fn elapsed_ms(&self) -> u64 {
        (self.start.elapsed().as_millis() as u64).max(1)
    }

    pub fn draw_begins(&self) {
        self.draw_started
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    pub fn draw_ends(&self) {
        self.draw_started.store(0, Ordering::Relaxed);
    }

    pub fn quit_requested(&self) {
        self.quit_requested
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }
}
