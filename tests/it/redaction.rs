//! Planted credentials never reach an output: a config holds a Prometheus URL with a password, a
//! health URL with a `?token=`, a Redis URL with a password and a PostgreSQL DSN with
//! `password=`, all pointing at closed ports (the errors are what quote the URLs). Every output
//! channel is searched for them: the console's screens (headless, through TestBackend, and the
//! real binary in a pty, its whole output stream), `snapshot` in both formats, the log file at
//! trace level, and the audit trail.

use crate::support::headless;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use headless::{Headless, char_key, key};
use watchfloor::event::SourceState;
use watchfloor::policy::ReadOnlyInputs;

const SECRETS: [&str; 4] = ["PLANTEDPW", "PLANTEDTOKEN", "PLANTEDREDIS", "PLANTEDPG"];
const DEADLINE: Duration = Duration::from_secs(30);

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

struct Planted {
    dir: tempfile::TempDir,
    config: PathBuf,
    text: String,
}

impl Planted {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let text = format!(
            r#"
[audit]
path = {audit:?}

[[targets]]
name = "leaky"

[targets.prometheus]
url = "http://promuser:PLANTEDPW@127.0.0.1:{prom}"
timeout = "1s"
refresh = "1s"

[[targets.slo]]
name = "api availability"
objective = 0.99
errors = 'sum(rate(http_requests_total{{code=~"5.."}}[{{{{window}}}}]))'
total = 'sum(rate(http_requests_total[{{{{window}}}}]))'

[[targets.health]]
name = "api-health"
url = "http://127.0.0.1:{health}/healthz?verbose=1&token=PLANTEDTOKEN"
timeout = "1s"
interval = "1s"

[[targets.postgres]]
name = "db"
dsn = "host=127.0.0.1 port={pg} user=app password=PLANTEDPG dbname=app connect_timeout=1"

[[targets.redis]]
name = "cache"
url = "redis://:PLANTEDREDIS@127.0.0.1:{redis}/0"
"#,
            audit = audit.display().to_string(),
            prom = closed_port(),
            health = closed_port(),
            pg = closed_port(),
            redis = closed_port(),
        );
        let config = dir.path().join("config.toml");
        std::fs::write(&config, &text).expect("write the config");
        Self { dir, config, text }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state().join("watchfloor/watchfloor.log"))
            .unwrap_or_else(|e| panic!("no log file: {e}"))
    }

    /// Runs the binary with this config, HOME and XDG_STATE_HOME in the temporary directory and
    /// logging at trace level.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.state())
            .env("WATCHFLOOR_LOG", "trace")
            .env_remove("WATCHFLOOR_CONFIG")
            .env_remove("WATCHFLOOR_TARGET")
            .env_remove("WATCHFLOOR_READ_ONLY")
            .output()
            .expect("run watchfloor")
    }
}

/// No planted secret in `text`, also not split over lines or by borders: the check runs on the
/// text and on its letters and digits alone.
fn assert_clean(what: &str, text: &str) {
    let squeezed: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} shows the planted secret {secret}:\n{text}"
        );
    }
    assert!(
        !squeezed.contains("PLANTED"),
        "{what} shows part of a planted secret (found in its letters and digits):\n{text}"
    );
}

fn render(console: &Headless, size: (u16, u16)) -> String {
    headless::screen(&console.app, size)
}

/// Every pane, zoomed, with its detail view and the source list, at two sizes, once every
/// source has failed (the failures quote the URLs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_screens_show_no_secret() {
    let planted = Planted::new();
    let mut console = Headless::start(&planted.text, ReadOnlyInputs::default());
    console
        .settle_until("every source to fail", DEADLINE, |app| {
            app.data
                .sources
                .iter()
                .all(|s| matches!(s.state, SourceState::Error { .. }))
        })
        .await;
    let mut screens = Vec::new();
    for size in [(120, 40), (80, 24), (200, 50)] {
        screens.push(("overview".to_string(), render(&console, size)));
        for pane in ['1', '2', '3', '4', '5'] {
            console.press(char_key(pane));
            screens.push((format!("pane {pane}"), render(&console, size)));
            console.press(char_key('z'));
            screens.push((format!("pane {pane} zoomed"), render(&console, size)));
            // Every row's detail view (the SLO pane's second row is the health endpoint).
            for row in 0..3 {
                console.press(key(KeyCode::Char('g')));
                for _ in 0..row {
                    console.press(char_key('j'));
                }
                console.press(key(KeyCode::Enter));
                screens.push((
                    format!("pane {pane} zoomed, row {row} detail"),
                    render(&console, size),
                ));
                console.press(key(KeyCode::Esc));
            }
            console.press(key(KeyCode::Esc));
        }
        console.press(char_key('?'));
        screens.push(("help".to_string(), render(&console, size)));
        console.press(key(KeyCode::Esc));
    }
    let mut masked = false;
    for (what, screen) in &screens {
        assert_clean(&format!("screen {what}"), screen);
        masked |= screen.contains("***");
    }
    assert!(
        masked,
        "no screen shows a masked URL (`***`): the test did not see the URLs drawn"
    );
    // The source list's names and details, and the stored error reasons.
    for source in &console.app.data.sources {
        assert_clean("source name", &source.name);
        assert_clean("source detail", &source.detail);
        assert_clean("source state", &format!("{:?}", source.state));
    }
}

#[test]
fn snapshot_json_text_and_trace_log_show_no_secret() {
    let planted = Planted::new();
    let json = planted.run(&["snapshot", "--format", "json", "--timeout", "3s"]);
    let stdout = String::from_utf8_lossy(&json.stdout);
    assert_clean("snapshot --format json", &stdout);
    assert_clean(
        "snapshot --format json (stderr)",
        &String::from_utf8_lossy(&json.stderr),
    );
    let value: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the redacted JSON does not parse: {e}\n{stdout}"));
    let health_url = value["health"]["items"][0]["url"]
        .as_str()
        .unwrap_or_default();
    assert!(
        health_url.ends_with("/healthz?verbose=1&token=***"),
        "the health URL is reported, its token masked: {health_url:?}\n{stdout}"
    );
    assert!(
        stdout.contains("promuser:***@"),
        "the Prometheus error quotes its URL, masked\n{stdout}"
    );

    let text = planted.run(&["snapshot", "--format", "text", "--timeout", "3s"]);
    assert_clean(
        "snapshot --format text",
        &String::from_utf8_lossy(&text.stdout),
    );
    assert_clean(
        "snapshot --format text (stderr)",
        &String::from_utf8_lossy(&text.stderr),
    );

    let log = planted.log();
    assert!(
        log.contains("TRACE"),
        "the log is not at trace level (WATCHFLOOR_LOG=trace):\n{log}"
    );
    assert_clean("the log file at trace level", &log);
}

/// The real console in a pty, logging at trace level: its whole output stream (every frame
/// drawn, not only the last screen) and its log file.
#[test]
fn console_binary_output_and_log_show_no_secret() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};

    let planted = Planted::new();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_watchfloor"));
    cmd.arg("--config");
    cmd.arg(&planted.config);
    cmd.cwd(planted.dir.path());
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", planted.dir.path());
    cmd.env("XDG_STATE_HOME", planted.state());
    cmd.env("WATCHFLOOR_LOG", "trace");
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let mut writer = pty.master.take_writer().expect("pty writer");
    let mut child = pty.slave.spawn_command(cmd).expect("spawn watchfloor");
    drop(pty.slave);

    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let pump = {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => output.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        })
    };
    let screen = || {
        let bytes = output.lock().unwrap().clone();
        let mut parser = vt100::Parser::new(40, 120, 0);
        parser.process(&bytes);
        parser.screen().contents()
    };
    let wait_for = |what: &str, check: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let now = screen();
            if check(&now) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{now}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let send = |writer: &mut Box<dyn std::io::Write + Send>, keys: &[u8]| {
        writer.write_all(keys).expect("send keys");
        writer.flush().expect("flush keys");
    };
    wait_for("the SLO pane's error", &|s| {
        s.contains("SLO") && s.contains("error")
    });
    // The SLO pane zoomed (the failing sources listed with their URLs), its rows' details, then
    // the DB pane.
    for keys in [
        &b"2"[..],
        b"z",
        b"\r",
        b"\x1b",
        b"j\r",
        b"\x1b",
        b"\x1b3z",
        b"\r",
        b"\x1b\x1b5",
    ] {
        send(&mut writer, keys);
        std::thread::sleep(Duration::from_millis(150));
    }
    wait_for("the Logs pane", &|s| s.contains("Logs"));
    send(&mut writer, b"q");
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after `q`");
        std::thread::sleep(Duration::from_millis(25));
    };
    drop(writer);
    drop(pty.master);
    let _ = pump.join();
    assert!(status.success(), "`q` exits 0: {status:?}");
    let bytes = output.lock().unwrap().clone();
    assert_clean(
        "the console's output stream",
        &String::from_utf8_lossy(&bytes),
    );
    let log = planted.log();
    assert!(log.contains("TRACE"), "the log is not at trace level");
    assert!(
        log.contains("promuser:***@127.0.0.1"),
        "the log quotes the failing Prometheus URL, masked:\n{log}"
    );
    assert_clean("the console's log file at trace level", &log);
}

/// The audit trail: a failed attempt whose server error and preview quote credentials, written
/// through the real `AuditLog`, then printed by `watchfloor audit` in both formats.
#[test]
fn audit_trail_shows_no_secret() {
    use watchfloor::remediation::audit::{AuditLog, AuditRecord, Operator, Outcome};
    use watchfloor::remediation::{ActionKind, Place};

    let planted = Planted::new();
    let path = planted.dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).expect("open the audit trail");
    let planned = AuditRecord::new(
        Operator {
            user: Some("alice".into()),
            ssh_client: None,
            kube_user: None,
            key: None,
        },
        "leaky",
        &Place::Postgres {
            entry: 0,
            database: "db".into(),
        },
        &ActionKind::PgCancel { pid: 42 },
        "pid 42",
        Outcome::Planned,
    )
    .with_preview("would cancel pid 42 on host=127.0.0.1 user=app password=PLANTEDPG");
    log.append(&planned).expect("append");
    let failed = planned.then(Outcome::Failed).with_error(
        "error sending request for url (http://promuser:PLANTEDPW@127.0.0.1:1/api?token=PLANTEDTOKEN): \
         connection refused; redis://:PLANTEDREDIS@127.0.0.1:2/0",
    );
    log.append(&failed).expect("append");

    let file = std::fs::read_to_string(&path).expect("read the audit trail");
    assert_eq!(file.lines().count(), 2, "{file}");
    assert_clean("the audit file", &file);
    for line in file.lines() {
        let _: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(file.contains("password=***"), "{file}");
    for format in ["json", "text"] {
        let out = planted.run(&["audit", "--format", format]);
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("pid 42"), "{stdout}");
        assert_clean(&format!("watchfloor audit --format {format}"), &stdout);
    }
}
