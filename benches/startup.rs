//! Startup benchmark: time from exec to the first complete frame of the `watchfloor` binary.
//!
//! `cargo bench --bench startup` builds the binary with the bench (release) profile and runs this.
//! Each run spawns `watchfloor --config config.example.toml` in an 80x24 pseudo-terminal
//! (TERM=xterm-256color, a fresh temporary HOME), parses the output with a terminal emulator
//! (vt100), and stops the clock when the read that completed the first frame returns: the header
//! (` watchfloor  target: babylon-prod`) on the first row and the key footer on the last. Then it
//! sends `q` and waits for a clean exit.
//!
//! Prints min / median / p95 / max and exits non-zero when the median is over the goal.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const WARMUP: usize = 3;
const RUNS: usize = 30;
/// The goal: median exec-to-first-frame in a release build.
const GOAL: Duration = Duration::from_millis(100);
/// Bound on one run (first frame, then exit), so a hang fails instead of blocking forever.
const RUN_DEADLINE: Duration = Duration::from_secs(20);
const ROWS: u16 = 24;
const COLS: u16 = 80;

fn main() {
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = repo.join("config.example.toml");
    println!("startup: exec to first frame");
    println!("  binary: {bin}");
    println!(
        "  {COLS}x{ROWS} pty, TERM=xterm-256color, --config {}",
        config.display()
    );
    println!("  {WARMUP} warm-up runs, {RUNS} measured runs");

    for _ in 0..WARMUP {
        if let Err(e) = run_once(bin, repo, &config) {
            fail(&format!("warm-up run failed: {e}"));
        }
    }
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        match run_once(bin, repo, &config) {
            Ok(t) => times.push(t),
            Err(e) => fail(&format!("run {} failed: {e}", i + 1)),
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = if RUNS % 2 == 1 {
        times[RUNS / 2]
    } else {
        (times[RUNS / 2 - 1] + times[RUNS / 2]) / 2
    };
    // Nearest-rank 95th percentile.
    let p95 = times[(RUNS * 95).div_ceil(100) - 1];
    println!(
        "  min {:.1} ms  median {:.1} ms  p95 {:.1} ms  max {:.1} ms",
        ms(times[0]),
        ms(median),
        ms(p95),
        ms(times[RUNS - 1])
    );
    if median > GOAL {
        fail(&format!(
            "median {:.1} ms is over the goal of {} ms",
            ms(median),
            GOAL.as_millis()
        ));
    }
    println!("  ok: median under the {} ms goal", GOAL.as_millis());
}

fn fail(message: &str) -> ! {
    eprintln!("startup bench: {message}");
    std::process::exit(1);
}

/// One run: spawn, wait for the first full frame, quit. Returns exec-to-first-frame.
fn run_once(bin: &str, repo: &Path, config: &Path) -> Result<Duration, String> {
    let home = tempfile::tempdir().map_err(|e| format!("temporary HOME: {e}"))?;
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| format!("openpty: {e}"))?;

    let mut cmd = CommandBuilder::new(bin);
    cmd.arg("--config");
    cmd.arg(config);
    cmd.cwd(repo);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home.path());
    cmd.env("XDG_STATE_HOME", home.path().join("state"));
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));

    let mut reader = pty
        .master
        .try_clone_reader()
        .map_err(|e| format!("pty reader: {e}"))?;
    let mut writer = pty
        .master
        .take_writer()
        .map_err(|e| format!("pty writer: {e}"))?;

    // Each chunk carries the instant its read returned, so parsing does not count.
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let start = Instant::now();
    let mut child = pty
        .slave
        .spawn_command(cmd)
        .map_err(|e| format!("spawn {bin}: {e}"))?;
    // Only the child holds the terminal side now: reads end when it exits.
    drop(pty.slave);

    let deadline = start + RUN_DEADLINE;
    let mut screen = vt100::Parser::new(ROWS, COLS, 0);
    let first_frame = loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(timeout) {
            Ok((at, bytes)) => {
                screen.process(&bytes);
                if frame_complete(screen.screen()) {
                    break at - start;
                }
            }
            Err(_) => {
                let _ = child.kill();
                return Err(format!(
                    "no complete first frame within {RUN_DEADLINE:?}; screen:\n{}",
                    screen.screen().contents()
                ));
            }
        }
    };

    writer
        .write_all(b"q")
        .and_then(|()| writer.flush())
        .map_err(|e| format!("sending q: {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(None) => {
                let _ = child.kill();
                return Err(format!("still running {RUN_DEADLINE:?} after `q`"));
            }
            Err(e) => return Err(format!("waiting for the child: {e}")),
        }
    };
    drop(writer);
    drop(pty.master);
    let _ = pump.join();
    if !status.success() {
        return Err(format!("`q` did not exit cleanly: {status}"));
    }
    Ok(first_frame)
}

/// The first frame is complete when its first row (the header) and its last row (the status
/// line) are both on the screen.
fn frame_complete(screen: &vt100::Screen) -> bool {
    let rows: Vec<String> = screen.rows(0, COLS).collect();
    let header = rows.first().map(String::as_str).unwrap_or_default();
    let footer = rows.last().map(String::as_str).unwrap_or_default();
    // The last row is the status line: key hints, or (at start-up, with config warnings) the
    // newest message, which stays there for a few seconds. Either is the frame's last row drawn.
    header.starts_with(" watchfloor ")
        && header.contains("target: babylon-prod")
        && !footer.trim().is_empty()
}
