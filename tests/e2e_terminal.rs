//! End-to-end tests of the real `watchfloor` binary in a real terminal: tmux.
//!
//! Every test starts its own tmux server on a socket in its own temporary directory (so tests run
//! in parallel and never touch the user's tmux) and kills that server when it ends, pass or fail.
//! The binary runs under a wrapper shell that records its pid, prints its exit code, and then
//! prints the terminal modes (`stty`) so that the restored terminal can be checked.
//!
//! Nothing here sleeps to synchronise: every step polls the screen (`capture-pane`) or tmux format
//! variables until a condition holds, and fails with the last screen after a generous deadline.
//!
//! tmux is required: without it these tests fail, loudly, rather than skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Upper bound for any single step; generous, for a loaded 2-core CI machine.
const DEADLINE: Duration = Duration::from_secs(20);
/// How often the screen is polled.
const POLL: Duration = Duration::from_millis(20);
/// The first line of every frame.
const HEADER: &str = " watchfloor  target: babylon-prod";
const HELP_TITLE: &str = "Help · j/k scroll · Esc closes";
const FOOTER: &str = "q quit";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test, loudly, when tmux cannot be run.
fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "tmux is required for the end-to-end terminal tests, but `tmux -V` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "tmux is required for the end-to-end terminal tests and could not be run ({e}); \
             install it (e.g. `apt-get install tmux`)"
        ),
    }
}

/// Quotes one word for `sh`.
fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// One `watchfloor` in its own tmux server. Dropping it kills the server.
struct Console {
    dir: TempDir,
    socket: PathBuf,
    target: &'static str,
}

impl Drop for Console {
    fn drop(&mut self) {
        // The server may already be gone (kill-session of its last session); ignore errors.
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

impl Console {
    /// Starts `watchfloor --config config.example.toml <args>` in a detached 80x24 tmux session.
    fn start(args: &[&str]) -> Self {
        Self::start_with_config(&repo().join("config.example.toml"), args)
    }

    fn start_with_config(config: &Path, args: &[&str]) -> Self {
        require_tmux();
        let dir = tempfile::Builder::new()
            .prefix("wf-e2e-")
            .tempdir()
            .expect("create a temporary directory");
        let home = dir.path().join("home");
        let state = dir.path().join("state");
        fs::create_dir_all(&home).expect("create HOME");
        fs::create_dir_all(&state).expect("create XDG_STATE_HOME");

        let bin = env!("CARGO_BIN_EXE_watchfloor");
        let mut command = vec![
            sh_quote(bin),
            "--config".to_string(),
            sh_quote(config.to_str().expect("utf-8 path")),
        ];
        command.extend(args.iter().map(|a| sh_quote(a)));

        // The inner `sh` writes its pid and then execs the binary, so the pid is the binary's;
        // the outer shell stays the binary's parent and reports how it ended.
        let script = format!(
            "export TERM=xterm-256color HOME={home} XDG_STATE_HOME={state} XDG_CONFIG_HOME={home}/.config\n\
             unset WATCHFLOOR_CONFIG WATCHFLOOR_TARGET WATCHFLOOR_READ_ONLY WATCHFLOOR_LOG NO_COLOR TMUX\n\
             cd {repo}\n\
             stty -g > {before}\n\
             sh -c 'echo $$ > \"$0\"; exec \"$@\"' {pidfile} {command}\n\
             echo EXIT=$?\n\
             stty -g > {after}\n\
             stty -a\n\
             echo STTY_DONE\n\
             sleep 60\n",
            home = sh_quote(home.to_str().unwrap()),
            state = sh_quote(state.to_str().unwrap()),
            repo = sh_quote(repo().to_str().unwrap()),
            before = sh_quote(dir.path().join("stty.before").to_str().unwrap()),
            after = sh_quote(dir.path().join("stty.after").to_str().unwrap()),
            pidfile = sh_quote(dir.path().join("pid").to_str().unwrap()),
            command = command.join(" "),
        );
        let script_path = dir.path().join("run.sh");
        fs::write(&script_path, script).expect("write the wrapper script");

        let socket = dir.path().join("tmux.sock");
        let console = Self {
            dir,
            socket,
            target: "wf",
        };
        // `-f /dev/null`: none of the user's tmux configuration. The window keeps the size it is
        // given (there is no client to size it from).
        let out = console.tmux_output(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "wf",
            "-x",
            "80",
            "-y",
            "24",
            &format!("exec /bin/sh {}", sh_quote(script_path.to_str().unwrap())),
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        console.tmux(&["set-option", "-g", "window-size", "manual"]);
        console
    }

    fn tmux_output(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_remove("TMUX")
            .env("SHELL", "/bin/sh")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Runs a tmux command that must succeed; returns its stdout.
    fn tmux(&self, args: &[&str]) -> String {
        let out = self.tmux_output(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}\nlast screen:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.screen()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen, wrapped lines joined; empty if tmux cannot answer.
    fn screen(&self) -> String {
        let out = self.tmux_output(&["capture-pane", "-p", "-J", "-t", self.target]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format variable of the pane, e.g. `#{alternate_on}`.
    fn display(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", self.target, format])
            .trim()
            .to_string()
    }

    /// Sends key names (`Escape`, `Enter`, `C-c`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.target];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Sends text literally.
    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", self.target, "-l", text]);
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("state/watchfloor/watchfloor.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Polls `check` on the screen every ~20 ms until it holds; panics with the last screen and
    /// the binary's log after the deadline.
    fn wait_for(&self, what: &str, mut check: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\n--- last screen ---\n{screen}\n\
                     --- watchfloor log ---\n{}",
                    self.log()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the first complete frame: the header on the first row, the footer on the last.
    fn wait_for_frame(&self) -> String {
        self.wait_for("the first frame", |s| {
            s.lines().next().is_some_and(|l| l.starts_with(HEADER))
                && s.lines().last().is_some_and(|l| l.contains(FOOTER))
        })
    }

    /// The pid the wrapper recorded: the binary's own.
    fn pid(&self) -> u32 {
        let path = self.dir.path().join("pid");
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(pid) = fs::read_to_string(&path)
                .ok()
                .filter(|t| t.ends_with('\n'))
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid file at {path:?}");
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the wrapper's `EXIT=<code>` line and for the `stty` report after it.
    fn wait_for_exit(&self) -> Exited {
        let screen = self.wait_for("the exit code and the terminal modes", |s| {
            // Trimmed: with output processing left off (a raw-mode bug), lines start mid-row.
            s.lines().any(|l| l.trim().starts_with("EXIT="))
                && s.lines().any(|l| l.trim() == "STTY_DONE")
        });
        let mut lines = screen
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with("EXIT="));
        let code = lines
            .next()
            .and_then(|l| l.strip_prefix("EXIT="))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or_else(|| panic!("no exit code on the screen:\n{screen}"));
        let stty = lines
            .take_while(|l| *l != "STTY_DONE")
            .collect::<Vec<_>>()
            .join("\n");
        Exited { code, stty, screen }
    }

    /// Asserts that the binary left the terminal as it found it.
    fn assert_restored(&self, exited: &Exited) {
        let screen = &exited.screen;
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "still in the alternate screen:\n{screen}"
        );
        assert_eq!(
            self.display("#{cursor_flag}"),
            "1",
            "the cursor is still hidden:\n{screen}"
        );
        let words: Vec<&str> = exited.stty.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig", "iexten", "icrnl", "opost"] {
            assert!(
                words.contains(&mode),
                "`{mode}` is not set after exit: raw mode was not turned off\n{}",
                exited.stty
            );
            let off = format!("-{mode}");
            assert!(
                !words.contains(&off.as_str()),
                "`{off}` after exit: raw mode was not turned off\n{}",
                exited.stty
            );
        }
        let before = fs::read_to_string(self.dir.path().join("stty.before")).expect("stty before");
        let after = fs::read_to_string(self.dir.path().join("stty.after")).expect("stty after");
        assert_eq!(
            before.trim(),
            after.trim(),
            "the terminal modes after exit differ from those before it started"
        );
    }
}

struct Exited {
    code: i32,
    stty: String,
    screen: String,
}

/// Whether a process is still running (a zombie waiting to be reaped is not).
fn running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Polls until `pid` is no longer running; panics after the deadline.
fn wait_gone(pid: u32, what: &str) -> Duration {
    let start = Instant::now();
    while running(pid) {
        assert!(
            start.elapsed() < DEADLINE,
            "watchfloor (pid {pid}) still running {DEADLINE:?} after {what}"
        );
        std::thread::sleep(POLL);
    }
    start.elapsed()
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

#[test]
fn resize_help_overlay_quit_and_restore() {
    let console = Console::start(&[]);
    let screen = console.wait_for_frame();
    assert_eq!(screen.lines().count(), 24, "80x24 screen:\n{screen}");

    console.tmux(&[
        "resize-window",
        "-t",
        console.target,
        "-x",
        "120",
        "-y",
        "40",
    ]);
    assert_eq!(
        console.display("#{window_width}x#{window_height}"),
        "120x40"
    );
    console.wait_for("a redraw at 120x40", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 40
            && lines[0].starts_with(HEADER)
            && lines[39].contains(FOOTER)
            && lines.iter().any(|l| l.chars().count() == 120)
            && lines.iter().all(|l| l.chars().count() <= 120)
    });

    console.text("?");
    console.wait_for("the help overlay", |s| s.contains(HELP_TITLE));
    console.keys(&["Escape"]);
    console.wait_for("the help overlay to close", |s| {
        !s.contains(HELP_TITLE) && s.starts_with(HEADER)
    });

    console.text("q");
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 0, "`q` exits 0:\n{}", exited.screen);
    console.assert_restored(&exited);
}

#[test]
fn sighup_ends_it_promptly() {
    let console = Console::start(&[]);
    console.wait_for_frame();
    let pid = console.pid();
    assert!(running(pid), "watchfloor (pid {pid}) is not running");
    kill("HUP", pid);
    wait_gone(pid, "SIGHUP");
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 128 + 1, "SIGHUP exits 129:\n{}", exited.screen);
    console.assert_restored(&exited);
}

#[test]
fn killing_the_tmux_session_leaves_no_orphan() {
    let console = Console::start(&[]);
    console.wait_for_frame();
    let pid = console.pid();
    assert!(running(pid), "watchfloor (pid {pid}) is not running");
    // The "SSH connection dropped" case: the terminal disappears under the process.
    console.tmux(&["kill-session", "-t", console.target]);
    wait_gone(pid, "its tmux session was killed");
}

#[test]
fn sigterm_exits_143_and_restores_the_terminal() {
    let console = Console::start(&[]);
    console.wait_for_frame();
    let pid = console.pid();
    kill("TERM", pid);
    wait_gone(pid, "SIGTERM");
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 143, "SIGTERM exits 143:\n{}", exited.screen);
    console.assert_restored(&exited);
}

#[test]
fn colon_q_enter_quits_with_0() {
    let console = Console::start(&[]);
    console.wait_for_frame();
    console.text(":");
    console.wait_for("the command line", |s| {
        s.lines().last().is_some_and(|l| l.starts_with(':'))
    });
    console.text("q");
    console.keys(&["Enter"]);
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 0, "`:q` exits 0:\n{}", exited.screen);
    console.assert_restored(&exited);
}

#[test]
fn ctrl_c_quits_with_0() {
    let console = Console::start(&[]);
    console.wait_for_frame();
    console.keys(&["C-c"]);
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 0, "Ctrl-C exits 0:\n{}", exited.screen);
    console.assert_restored(&exited);
}

#[test]
fn read_only_flag_shows_in_the_header() {
    let console = Console::start(&["--read-only"]);
    let screen = console.wait_for_frame();
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains("READ-ONLY"),
        "no READ-ONLY in the header: {header:?}"
    );
    console.text("q");
    let exited = console.wait_for_exit();
    assert_eq!(exited.code, 0, "`q` exits 0:\n{}", exited.screen);
}

#[test]
fn without_read_only_the_header_does_not_say_so() {
    let console = Console::start(&[]);
    let screen = console.wait_for_frame();
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        !header.contains("READ-ONLY"),
        "READ-ONLY without --read-only: {header:?}"
    );
}

/// Hostile log lines in a followed file: the window title, the clipboard and the screen stay
/// intact in a real terminal.
#[test]
fn hostile_log_lines_cannot_touch_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let hostile = [
        "\x1b]0;PWNED-TITLE\x07title via OSC 0",
        "\x1b]2;PWNED-TITLE\x1b\\title via OSC 2",
        "\x1b]52;c;UFdORUQ=\x07clipboard via OSC 52",
        "\x1b[2J\x1b[Hclear screen and home",
        "\x1b[10;10Hcursor move",
        "\u{9b}2J eight-bit CSI \u{9d}0;PWNED-TITLE\u{9c}",
        "\x1bPqsixel\x1b\\ DCS",
        "bidi \u{202e}gnp.exe",
        "LAST-HOSTILE-LINE",
    ];
    fs::write(&log, hostile.join("\n") + "\n").expect("write the log");
    let config = dir.path().join("config.toml");
    fs::write(
        &config,
        format!(
            "[[targets]]\nname = \"logs\"\n[[targets.logs]]\nsource = \"file\"\npath = {:?}\n",
            log.display().to_string()
        ),
    )
    .expect("write the config");
    let console = Console::start_with_config(&config, &[]);
    console.tmux(&["select-pane", "-t", console.target, "-T", "original-title"]);
    console.wait_for("the console", |screen| {
        screen.contains(" watchfloor  target: logs")
    });
    console.keys(&["5"]);
    let screen = console.wait_for("the last hostile line", |screen| {
        screen.contains("LAST-HOSTILE-LINE")
    });
    assert!(
        screen.contains("title via OSC 0") && screen.contains("cursor move"),
        "{screen}"
    );
    assert!(!screen.contains("PWNED"), "{screen}");
    assert_eq!(
        console.display("#{pane_title}").trim(),
        "original-title",
        "the title was not changed"
    );
    let first_row = screen.lines().next().unwrap_or_default();
    assert!(
        first_row.starts_with(" watchfloor "),
        "the header is still on the first row:\n{screen}"
    );
    let buffers = console.tmux(&["list-buffers"]);
    assert!(
        !buffers.contains("PWNED"),
        "nothing reached the clipboard: {buffers}"
    );
    console.keys(&["q"]);
    console.wait_for_exit();
}
