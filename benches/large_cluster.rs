//! The console against the `large` simulated cluster (10,000 pods in 50 namespaces):
//! - time from exec until all 10,000 pods are shown (the pane title reads `10000 pods`);
//! - console RSS at steady state (goal: at most 80 MiB);
//! - console CPU while idle (goal: under 2% of a core);
//! - LIST requests after the initial sync (goal: 0), read from the simulator's request log;
//! - metrics API polls while idle (goal: at most one per `metrics_interval`, 15 s).
//!
//! The large scenario also has 50 nodes, 500 CronJobs, 200 HPAs and 300 certificates, which
//! the platform checks' source watches beside the pods.
//!
//! The simulator runs as its own process (`watchfloor sim`) so its cost is not counted.
//! Run: `cargo bench --bench large_cluster`

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 60;
const COLS: u16 = 200;
const SYNC_DEADLINE: Duration = Duration::from_secs(120);
/// Settling time after the sync before measuring, and the CPU measurement window.
const SETTLE: Duration = Duration::from_secs(5);
const CPU_WINDOW: Duration = Duration::from_secs(20);

fn main() {
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    let request_log = dir.path().join("requests.jsonl");

    let mut sim = Command::new(bin)
        .args([
            "sim",
            "--scenario",
            "large",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .arg("--request-log")
        .arg(&request_log)
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start watchfloor sim");
    let mut lines = BufReader::new(sim.stdout.take().expect("sim stdout")).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.starts_with("kubeconfig:"));
    assert!(ready, "the simulator did not start");
    // Keep draining the simulator's stdout so it never blocks.
    std::thread::spawn(move || for _ in lines {});

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[targets]]\nname = \"large\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"watchfloor-sim\"\n",
            kubeconfig.display().to_string()
        ),
    )
    .expect("config");

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(bin);
    cmd.arg("--config");
    cmd.arg(&config);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir.path());
    cmd.env("XDG_STATE_HOME", dir.path().join("state"));
    let mut reader = pty.master.try_clone_reader().expect("pty reader");
    let mut writer = pty.master.take_writer().expect("pty writer");
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });

    let start = Instant::now();
    let mut console = pty.slave.spawn_command(cmd).expect("spawn console");
    drop(pty.slave);
    let pid = console.process_id().expect("console pid");
    let mut screen = vt100::Parser::new(ROWS, COLS, 0);
    let shown = loop {
        let timeout = (start + SYNC_DEADLINE).saturating_duration_since(Instant::now());
        let Ok((at, bytes)) = rx.recv_timeout(timeout) else {
            let _ = console.kill();
            let _ = sim.kill();
            panic!(
                "10,000 pods not shown within {SYNC_DEADLINE:?}:\n{}",
                screen.screen().contents()
            );
        };
        screen.process(&bytes);
        if screen.screen().contents().contains("10000 pods") {
            break at - start;
        }
    };
    // Drain the pty in the background from now on.
    std::thread::spawn(move || for _ in rx {});

    // The platform checks' lists (CronJobs, HPAs, certificates, nodes, ...) run beside the
    // pods' and may end a little after them: the sync is counted as over after the settle.
    std::thread::sleep(SETTLE);
    let lists_at_sync = list_requests(&request_log);
    let metrics_before = requests(&request_log, "metrics");
    let rss_kib = rss_kib(pid);
    let (anon_kib, file_kib) = (status_kib(pid, "RssAnon:"), status_kib(pid, "RssFile:"));
    let cpu_before = cpu_ticks(pid);
    let window_start = Instant::now();
    std::thread::sleep(CPU_WINDOW);
    let cpu_after = cpu_ticks(pid);
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu_percent =
        (cpu_after - cpu_before) as f64 / ticks_per_second / window_start.elapsed().as_secs_f64()
            * 100.0;
    let lists_after_sync = list_requests(&request_log) - lists_at_sync;
    let metrics_in_window = requests(&request_log, "metrics") - metrics_before;

    let _ = writer.write_all(b"q");
    let _ = writer.flush();
    let deadline = Instant::now() + Duration::from_secs(10);
    while console.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = console.kill();
    let _ = sim.kill();
    let _ = sim.wait();

    println!("large cluster: 10,000 pods in 50 namespaces, console at {COLS}x{ROWS}");
    println!(
        "  exec until all 10,000 pods shown: {:.0} ms",
        shown.as_secs_f64() * 1000.0
    );
    println!(
        "  RSS at steady state: {:.1} MiB (goal <= 80 MiB)",
        rss_kib as f64 / 1024.0
    );
    println!(
        "    of which anonymous (heap, stacks) {:.1} MiB, file-backed (the binary's pages) {:.1} MiB",
        anon_kib as f64 / 1024.0,
        file_kib as f64 / 1024.0
    );
    println!("  CPU while idle ({CPU_WINDOW:?} window): {cpu_percent:.2}% of a core (goal < 2%)");
    println!("  LIST requests after the initial sync: {lists_after_sync} (goal 0)");
    println!("  LIST requests for the initial sync: {lists_at_sync}");
    // One poll is two requests (all pods' metrics, all nodes'); a 20 s window holds at most
    // two 15 s polls.
    let max_metrics = 2 * CPU_WINDOW.as_secs().div_ceil(15);
    println!(
        "  metrics API requests in the {CPU_WINDOW:?} window: {metrics_in_window} (goal <= {max_metrics}: one poll of pods and nodes per 15 s)"
    );
    let ok = rss_kib <= 80 * 1024
        && cpu_percent < 2.0
        && lists_after_sync == 0
        && metrics_in_window <= max_metrics as usize;
    if !ok {
        eprintln!("large cluster bench: a goal was missed");
        std::process::exit(1);
    }
}

/// LIST requests (GETs on collections without watch) in the simulator's request log.
fn list_requests(path: &Path) -> usize {
    requests(path, "list")
}

/// Requests with `verb` (`list`, `metrics`, ...) in the simulator's request log.
fn requests(path: &Path, verb: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|r| r["verb"] == verb)
        .count()
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
