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
        Self::start_wrapped(config, args, Wrapper::Report)
    }

    fn start_wrapped(config: &Path, args: &[&str], wrapper: Wrapper) -> Self {
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

        let env = format!(
            "export TERM=xterm-256color HOME={home} XDG_STATE_HOME={state} XDG_CONFIG_HOME={home}/.config\n\
             unset WATCHFLOOR_CONFIG WATCHFLOOR_TARGET WATCHFLOOR_READ_ONLY WATCHFLOOR_LOG NO_COLOR TMUX\n",
            home = sh_quote(home.to_str().unwrap()),
            state = sh_quote(state.to_str().unwrap()),
        );
        let path = |name: &str| sh_quote(dir.path().join(name).to_str().unwrap());
        let script = match wrapper {
            // The inner `sh` writes its pid and then execs the binary, so the pid is the
            // binary's; the outer shell stays the binary's parent and reports how it ended.
            Wrapper::Report => format!(
                "{env}\
                 cd {repo}\n\
                 stty -g > {before}\n\
                 sh -c 'echo $$ > \"$0\"; exec \"$@\"' {pidfile} {command}\n\
                 echo EXIT=$?\n\
                 stty -g > {after}\n\
                 stty -a\n\
                 echo STTY_DONE\n\
                 sleep 60\n",
                repo = sh_quote(repo().to_str().unwrap()),
                before = path("stty.before"),
                after = path("stty.after"),
                pidfile = path("pid"),
                command = command.join(" "),
            ),
            // The binary is a job of the shell (stdin passed explicitly: an asynchronous
            // command's stdin is otherwise /dev/null). `wait` interrupted by the trap returns
            // early, so it is repeated until the job is reaped.
            Wrapper::Hangup { forward_hup } => {
                fs::create_dir_all(dir.path().join("cwd")).expect("create cwd");
                format!(
                    "{env}\
                     ulimit -c unlimited\n\
                     cd {cwd}\n\
                     exec 3<&0\n\
                     {command} <&3 3<&- &\n\
                     child=$!\n\
                     trap {trap} HUP\n\
                     echo $child > {pidfile}\n\
                     while :; do\n\
                       wait $child; status=$?\n\
                       kill -0 $child 2>/dev/null || break\n\
                     done\n\
                     echo $status > {statusfile}\n",
                    cwd = path("cwd"),
                    trap = if forward_hup {
                        "'kill -HUP $child'"
                    } else {
                        ":"
                    },
                    pidfile = path("pid"),
                    statusfile = path("status"),
                    command = command.join(" "),
                )
            }
        };
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

/// How the binary is run inside the tmux pane.
#[derive(Clone, Copy)]
enum Wrapper {
    /// In the foreground of a shell that then prints `EXIT=<code>` and the terminal modes.
    Report,
    /// As a job of a shell, the session leader, which writes the job's exit code to the file
    /// `status`, with core dumps allowed (`ulimit -c unlimited`) and the empty directory `cwd`
    /// as the working directory, where a core file would be written. With `forward_hup` the
    /// shell passes a SIGHUP on to its job, as an interactive shell (bash) does when its
    /// terminal hangs up; without, it survives the SIGHUP and the job only finds the terminal
    /// gone.
    Hangup { forward_hup: bool },
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

impl Console {
    /// The exit code the [`Wrapper::Hangup`] shell recorded.
    fn wait_for_status(&self) -> i32 {
        let path = self.dir.path().join("status");
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(code) = fs::read_to_string(&path)
                .ok()
                .filter(|t| t.ends_with('\n'))
                .and_then(|t| t.trim().parse().ok())
            {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "no exit status at {path:?} after {DEADLINE:?}\n--- watchfloor log ---\n{}",
                self.log()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Files named `core*` in the [`Wrapper::Hangup`] working directory.
    fn core_files(&self) -> Vec<String> {
        core_files(&self.dir.path().join("cwd"))
    }
}

fn core_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("core"))
                .collect()
        })
        .unwrap_or_default()
}

/// The soft and hard `Max core file size` of a running process, from `/proc/<pid>/limits`.
fn core_limit(pid: u32) -> (String, String) {
    let limits =
        fs::read_to_string(format!("/proc/{pid}/limits")).expect("read /proc/<pid>/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core file size in /proc/{pid}/limits:\n{limits}"));
    let mut words = line["Max core file size".len()..].split_whitespace();
    let soft = words.next().unwrap_or_default().to_string();
    let hard = words.next().unwrap_or_default().to_string();
    (soft, hard)
}

/// The log must show a clean exit and no panic (a panic in the terminal teardown used to turn
/// a hang-up into SIGABRT).
fn assert_clean_exit_logged(log: &str, what: &str) {
    assert!(
        !log.contains("panic"),
        "{what}: the log shows a panic:\n{log}"
    );
    assert!(
        log.contains("watchfloor exiting"),
        "{what}: the log shows no clean exit:\n{log}"
    );
}

/// The "SSH connection dropped" case as a login shell sees it: the terminal hangs up, the shell
/// gets SIGHUP from the kernel and passes it on to its job. The console exits 129 (SIGHUP, as
/// documented), every time, and leaves no core file although core dumps are allowed.
#[test]
fn killing_the_tmux_session_exits_129_without_a_core_file() {
    let config = repo().join("config.example.toml");
    for round in 1..=3 {
        let console = Console::start_wrapped(&config, &[], Wrapper::Hangup { forward_hup: true });
        console.wait_for_frame();
        let pid = console.pid();
        assert!(
            running(pid),
            "round {round}: watchfloor (pid {pid}) is not running"
        );
        // Started under `ulimit -c unlimited`; it set its own limit to 0 at start.
        assert_eq!(
            core_limit(pid),
            ("0".to_string(), "0".to_string()),
            "round {round}: core file size limit of the running console"
        );
        console.tmux(&["kill-session", "-t", console.target]);
        let code = console.wait_for_status();
        assert_eq!(
            code,
            128 + 1,
            "round {round}: a hang-up exits 129 (134 is SIGABRT)\n--- watchfloor log ---\n{}",
            console.log()
        );
        assert_eq!(console.core_files(), Vec::<String>::new(), "round {round}");
        assert_clean_exit_logged(&console.log(), &format!("round {round}"));
    }
}

/// The terminal vanishes and no SIGHUP follows (the shell keeps it): reads and writes fail, and
/// the console exits 1 ("the terminal went away"), no panic, no core file.
#[test]
fn a_terminal_gone_without_sighup_exits_1() {
    let config = repo().join("config.example.toml");
    for round in 1..=3 {
        let console = Console::start_wrapped(&config, &[], Wrapper::Hangup { forward_hup: false });
        console.wait_for_frame();
        let pid = console.pid();
        assert!(
            running(pid),
            "round {round}: watchfloor (pid {pid}) is not running"
        );
        console.tmux(&["kill-session", "-t", console.target]);
        let code = console.wait_for_status();
        assert_eq!(
            code,
            1,
            "round {round}: a terminal gone without SIGHUP exits 1\n--- watchfloor log ---\n{}",
            console.log()
        );
        assert_eq!(console.core_files(), Vec::<String>::new(), "round {round}");
        assert_clean_exit_logged(&console.log(), &format!("round {round}"));
    }
}

/// Even a crash writes no core file: the process is not dumpable. When the test may raise the
/// running console's core limit back to unlimited (root), only the non-dumpable flag stands
/// between SIGABRT and a core file; a control process in the same directory shows that core
/// files are written there at all.
#[test]
fn an_abort_writes_no_core_file() {
    use rustix::process::{Pid, Resource, Rlimit, prlimit};
    let config = repo().join("config.example.toml");
    let console = Console::start_wrapped(&config, &[], Wrapper::Hangup { forward_hup: true });
    console.wait_for_frame();
    let pid = console.pid();
    let cwd = console.dir.path().join("cwd");

    // Control: an ordinary process aborted in the same directory under the same limits.
    let control = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited; sleep 30 & kill -ABRT $!; wait $!; echo $?")
        .current_dir(&cwd)
        .output()
        .expect("run the control");
    let control_status = String::from_utf8_lossy(&control.stdout).trim().to_string();
    let cores_written = !core_files(&cwd).is_empty();
    if cores_written {
        for name in core_files(&cwd) {
            fs::remove_file(cwd.join(name)).expect("remove the control's core file");
        }
    } else {
        eprintln!(
            "note: no core file from the control (status {control_status}, core_pattern {:?}); \
             the no-core-file check below proves little here",
            fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default()
        );
    }

    let unlimited = Rlimit {
        current: None,
        maximum: None,
    };
    let raised = prlimit(Pid::from_raw(pid as i32), Resource::Core, unlimited).is_ok();
    if raised {
        assert_eq!(
            core_limit(pid),
            ("unlimited".to_string(), "unlimited".to_string())
        );
    } else {
        eprintln!("note: cannot raise the console's core limit (not root); it stays 0");
    }
    kill("ABRT", pid);
    let code = console.wait_for_status();
    assert_eq!(code, 128 + 6, "SIGABRT");
    assert_eq!(
        console.core_files(),
        Vec::<String>::new(),
        "a core file of the aborted console (control wrote one: {cores_written}, limit raised: {raised})"
    );
}

/// The pty disappears under the console (its master side closed, as sshd does when the
/// connection drops): the console, session leader of that pty, exits 129 (SIGHUP) or 1 (the
/// terminal went away) as documented; never by a signal, never with a panic.
#[test]
fn closing_the_pty_exits_cleanly() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    use std::sync::mpsc;

    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let config = repo().join("config.example.toml");
    for round in 1..=3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(bin);
        cmd.arg("--config");
        cmd.arg(&config);
        cmd.cwd(dir.path());
        cmd.env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path().join("state"));
        cmd.env("XDG_CONFIG_HOME", dir.path().join("config"));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let mut child = pty.slave.spawn_command(cmd).expect("spawn watchfloor");
        drop(pty.slave);

        // The reader is a second handle on the master: it is dropped as soon as the first frame
        // is on the screen, so that dropping the master below closes the pty for good.
        let (tx, rx) = mpsc::channel();
        let pump = std::thread::spawn(move || {
            let mut parser = vt100::Parser::new(24, 80, 0);
            let mut buf = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => parser.process(&buf[..n]),
                }
                let rows: Vec<String> = parser.screen().rows(0, 80).collect();
                if rows.first().is_some_and(|r| r.starts_with(HEADER))
                    && rows.last().is_some_and(|r| r.contains(FOOTER))
                {
                    let _ = tx.send(());
                    break;
                }
            }
        });
        if rx.recv_timeout(DEADLINE).is_err() {
            let _ = child.kill();
            let _ = pump.join();
            panic!("round {round}: no first frame within {DEADLINE:?}");
        }
        pump.join().expect("the pty reader thread");
        drop(pty.master);

        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            match child.try_wait().expect("wait for watchfloor") {
                Some(status) => break status,
                None if Instant::now() < deadline => std::thread::sleep(POLL),
                None => {
                    let _ = child.kill();
                    let log =
                        fs::read_to_string(dir.path().join("state/watchfloor/watchfloor.log"))
                            .unwrap_or_else(|e| format!("(no log: {e})"));
                    panic!(
                        "round {round}: still running {DEADLINE:?} after its pty was closed\n\
                         --- watchfloor log ---\n{log}"
                    );
                }
            }
        };
        let log = fs::read_to_string(dir.path().join("state/watchfloor/watchfloor.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"));
        assert!(
            status.signal().is_none() && [1, 129].contains(&status.exit_code()),
            "round {round}: exit {status:?}, expected 129 or 1\n--- watchfloor log ---\n{log}"
        );
        assert_clean_exit_logged(&log, &format!("round {round}"));
        eprintln!("round {round}: pty closed -> exit {}", status.exit_code());
    }
}

#[test]
fn demo_with_a_config_takes_its_keys() {
    // The demo keeps its own target; the file's [ui.keys] rebinding of quit applies.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keys.toml");
    fs::write(
        &config,
        "[ui.keys]\nquit = \"x\"\n\n[[targets]]\nname = \"unused\"\n",
    )
    .unwrap();
    let console = Console::start_with_config(&config, &["demo"]);
    // The demo's own target in the header, the rebound key in the footer.
    console.wait_for("the demo with the rebound quit key", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("demo (incident)"))
            && s.lines().last().is_some_and(|f| f.contains("x quit"))
    });
    console.text("x");
    let exited = console.wait_for_exit();
    assert_eq!(
        exited.code, 0,
        "the rebound quit key exits:\n{}",
        exited.screen
    );
    console.assert_restored(&exited);
}
