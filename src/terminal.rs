//! Terminal lifecycle: raw mode and the alternate screen on the way in, everything restored on the
//! way out, on panic too, and a watchdog so a terminal that stops taking output cannot leave an
//! orphan process behind.
//!
//! The way out never panics, whatever state the terminal is in: a dropped SSH session or a killed
//! tmux session leaves a hung-up terminal on which every write fails (EIO), stdout and stderr
//! alike. Every write on the way out ignores its error, ratatui's own `Drop` is kept from
//! writing (see [`TtyOut`]), and the panic hook writes with `let _ =` (a panic inside the panic
//! hook aborts the process).

use std::io::{self, Write};
use std::ops::{Deref, DerefMut};
use std::panic::PanicHookInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the console holds the terminal (between [`init`] and [`restore`]).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether a panic hook is installed (by the binary's `main` or by [`init`]).
static PANIC_HOOK: AtomicBool = AtomicBool::new(false);

/// The console's terminal. Dropping it restores the terminal (errors ignored) before ratatui's
/// `Terminal` is dropped.
pub struct Tui(Terminal<CrosstermBackend<TtyOut>>);

impl Deref for Tui {
    type Target = Terminal<CrosstermBackend<TtyOut>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Tui {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
        // `self.0` is dropped next: its `show_cursor` goes to a `TtyOut` that drops it.
    }
}

/// Standard output as ratatui's backend writes it, except that once the console has left the
/// terminal ([`restore`]) writes are dropped and reported as done.
///
/// ratatui 0.30's `Terminal::drop` shows the cursor when a frame hid it, and when that write
/// fails it `eprintln!`s "Failed to show the cursor"; on a hung-up terminal stderr fails too, so
/// `eprintln!` panics, and the panic hook's own write to stderr made it a double panic: SIGABRT.
/// [`restore`] has already shown the cursor (or found the terminal gone), so nothing is lost.
pub struct TtyOut(io::Stdout);

impl Write for TtyOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if ACTIVE.load(Ordering::Acquire) {
            self.0.write(buf)
        } else {
            Ok(buf.len())
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if ACTIVE.load(Ordering::Acquire) {
            self.0.flush()
        } else {
            Ok(())
        }
    }
}

/// Enters raw mode and the alternate screen, and makes panics restore the terminal first.
pub fn init() -> io::Result<Tui> {
    if !PANIC_HOOK.load(Ordering::Acquire) {
        install_panic_hook(Box::new(|info| info.to_string()));
    }
    ACTIVE.store(true, Ordering::Release);
    if let Err(e) = enable_raw_mode() {
        restore();
        return Err(e);
    }
    if let Err(e) = execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(TtyOut(io::stdout()))) {
        Ok(terminal) => Ok(Tui(terminal)),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Leaves raw mode first (it has the most side effects), then the alternate screen; shows the
/// cursor. Never panics, and ignores errors: the terminal may already be gone. Only the first
/// call after [`init`] does anything.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::AcqRel) {
        return;
    }
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

/// Formats a panic for stderr (the binary passes color-eyre's report).
pub type PanicReport = Box<dyn Fn(&PanicHookInfo<'_>) -> String + Send + Sync + 'static>;

/// Installs the process's panic hook: restore the terminal, log the panic, then print `report`
/// of it on stderr. The hook itself never panics: every write ignores its error (stderr is
/// the terminal, which may be gone).
pub fn install_panic_hook(report: PanicReport) {
    PANIC_HOOK.store(true, Ordering::Release);
    std::panic::set_hook(Box::new(move |info| {
        restore();
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        tracing::error!(thread, "panic: {info}");
        let mut text = report(info);
        text.push('\n');
        let mut err = io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
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
