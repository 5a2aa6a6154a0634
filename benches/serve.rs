//! `watchfloor serve` against the `large` simulated cluster (10,000 pods in 50 namespaces), with
//! 1, 10 and 50 concurrent viewers, each an SSH client of this bench (russh's client, one
//! ed25519 key per viewer, a 200x60 pty, `TERM=xterm-256color`):
//! - time from the server's exec until the first viewer is shown all 10,000 pods;
//! - server RSS (VmRSS, RssAnon, RssFile) at steady state with 1, 10 and 50 viewers, and the
//!   increment per extra viewer (goal: at most 2 MiB per extra viewer, 1→10 and 1→50);
//! - server CPU (utime + stime) idle with 1 and with 50 viewers, and while all 50 scroll (each
//!   sends `j` every 100 ms);
//! - key-to-frame latency of one viewer with 49 others connected, idle and scrolling: the time
//!   from sending `j` until the next channel data arrives (goal: p99 under 30 ms);
//! - bytes sent per idle viewer per second: channel data (what the terminal gets), SSH (the TCP
//!   stream's payload: encrypted packets, keepalives, window adjusts; counted by a wrapper around
//!   the client's socket) and TCP (`ss`: the server sockets' bytes_sent plus 52 bytes of
//!   IPv4 + TCP header with timestamps per segment sent) (goal: under 200 B/s, on the TCP figure
//!   when `ss` is there, else the SSH one);
//! - API requests to the simulator: LIST requests after the first viewer saw the 10,000 pods
//!   (goal 0), and the watches with 50 viewers against 1 (goal: the same). The console renews
//!   each quiet watch every 10 s (`timeoutSeconds=10`), so a watch is a collection watched, and
//!   the watch requests of the two equal idle windows (20 s) are compared: the same collections,
//!   and no more requests with 50 than with 1 plus one renewal per collection (a renewal may fall
//!   either side of a window's edge); a watch per viewer would be 50 times as many.
//!
//! The simulator runs as its own process (`watchfloor sim`) so its cost is not counted; the
//! SSH clients run in this process, on the same machine, so their CPU competes with the server's.
//! A latency sample ends at the first data after the key: a clock redraw that happens to land
//! in between would end it early (rarer than one sample in 500 at a few ms).
//! Run: `cargo bench --bench serve`

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use russh::ChannelMsg;
use russh::client;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

const ROWS: u16 = 60;
const COLS: u16 = 200;
const VIEWERS: usize = 50;
const SYNC_DEADLINE: Duration = Duration::from_secs(120);
/// Settling time after viewers connect, before measuring.
const SETTLE: Duration = Duration::from_secs(5);
/// CPU and bytes windows while idle; CPU window while scrolling.
const IDLE_WINDOW: Duration = Duration::from_secs(20);
const SCROLL_WINDOW: Duration = Duration::from_secs(10);
const SCROLL_EVERY: Duration = Duration::from_millis(100);
const LATENCY_SAMPLES: usize = 300;
/// A key without a frame after this long counts as a sample of this long.
const FRAME_DEADLINE: Duration = Duration::from_secs(2);
/// IPv4 (20) + TCP (20) + timestamps option (12) bytes per segment on loopback.
const TCP_IP_HEADER: u64 = 52;
const TICKS_PER_SECOND: f64 = 100.0; // USER_HZ on Linux

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = runtime.block_on(bench());
    if !ok {
        eprintln!("serve bench: a goal was missed");
        std::process::exit(1);
    }
}

async fn bench() -> bool {
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    let request_log = dir.path().join("requests.jsonl");

    let sim = Command::new(bin)
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
    let mut sim = Killed(sim);
    let mut lines = BufReader::new(sim.0.stdout.take().expect("sim stdout")).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.starts_with("kubeconfig:"));
    assert!(ready, "the simulator did not start");
    std::thread::spawn(move || for _ in lines {});

    // One observer per viewer, each with a key of its own (throwaway keys: fixed seeds).
    let keys: Vec<Arc<PrivateKey>> = (0..VIEWERS)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[0] = 0x5e;
            seed[1] = i as u8 + 1;
            Arc::new(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
        })
        .collect();
    let mut users = String::new();
    for (i, key) in keys.iter().enumerate() {
        let line = key.public_key().to_openssh().expect("public key line");
        users.push_str(&format!(
            "[[serve.users]]\nname = \"viewer{}\"\nrole = \"observer\"\nkeys = [{line:?}]\n",
            i + 1
        ));
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[targets]]\nname = \"large\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"watchfloor-sim\"\n\n\
             [serve]\nhost_key = {:?}\nmax_viewers = {}\nidle_timeout = \"1h\"\n\n{users}",
            kubeconfig.display().to_string(),
            dir.path().join("host/ssh_host_ed25519_key").display().to_string(),
            VIEWERS + 4,
        ),
    )
    .expect("config");

    let server_err = std::fs::File::create(dir.path().join("serve.stderr")).expect("stderr file");
    let start = Instant::now();
    let server = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(server_err)
        .spawn()
        .expect("start watchfloor serve");
    let mut server = Killed(server);
    let pid = server.0.id();
    let mut out = BufReader::new(server.0.stdout.take().expect("serve stdout")).lines();
    let port: u16 = out
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split("listening on 127.0.0.1:").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "serve did not start listening:\n{}",
                std::fs::read_to_string(dir.path().join("serve.stderr")).unwrap_or_default()
            )
        });
    std::thread::spawn(move || for _ in out {});

    // 1. Exec until the first viewer is shown all 10,000 pods.
    let mut viewers = vec![Viewer::connect(port, Arc::clone(&keys[0])).await];
    let shown = viewers[0].wait_synced().await - start;
    let lists_at_sync = requests(&request_log, "list");

    // 2, 3, 5: one viewer at steady state.
    tokio::time::sleep(SETTLE).await;
    let mem_one = Memory::of(pid);
    let from = watches(&request_log).len();
    let idle_one = Window::measure(pid, port, &viewers, IDLE_WINDOW).await;
    let watches_one = watches(&request_log).split_off(from);

    // Ten, then fifty viewers, each shown the 10,000 pods before the next phase.
    let mut mem = Vec::new();
    for target in [10, VIEWERS] {
        let connecting: Vec<_> = (viewers.len()..target)
            .map(|i| tokio::spawn(Viewer::connect(port, Arc::clone(&keys[i]))))
            .collect();
        for handle in connecting {
            viewers.push(handle.await.expect("connect task"));
        }
        for viewer in &viewers {
            viewer.wait_synced().await;
        }
        tokio::time::sleep(SETTLE).await;
        mem.push(Memory::of(pid));
    }
    let (mem_ten, mem_fifty) = (mem[0], mem[1]);
    let from = watches(&request_log).len();
    let idle_fifty = Window::measure(pid, port, &viewers, IDLE_WINDOW).await;
    let watches_fifty = watches(&request_log).split_off(from);

    // 4. Key-to-frame latency, the others idle.
    let latency_idle = latency(&viewers[0]).await;

    // 3. All fifty scroll.
    let (stop, stopped) = watch::channel(false);
    let scrollers: Vec<_> = viewers
        .iter()
        .enumerate()
        .map(|(i, v)| tokio::spawn(scroll(v.writer.clone(), i, stopped.clone())))
        .collect();
    tokio::time::sleep(SCROLL_EVERY * 5).await;
    let scrolling = Window::measure(pid, port, &viewers, SCROLL_WINDOW).await;
    // 4. Key-to-frame latency of the first viewer, the 49 others scrolling.
    let mut scrollers = scrollers.into_iter();
    if let Some(first) = scrollers.next() {
        first.abort();
    }
    tokio::time::sleep(SCROLL_EVERY * 2).await;
    let latency_scrolling = latency(&viewers[0]).await;
    stop.send_replace(true);
    for scroller in scrollers {
        let _ = scroller.await;
    }

    // 6. API requests.
    let lists_after_sync = requests(&request_log, "list") - lists_at_sync;

    drop(viewers);
    drop(server);
    drop(sim);

    let per_viewer = |from: Memory, to: Memory, n: usize| {
        (to.rss as f64 - from.rss as f64) / 1024.0 / (n - 1) as f64
    };
    let per_ten = per_viewer(mem_one, mem_ten, 10);
    let per_fifty = per_viewer(mem_one, mem_fifty, VIEWERS);
    let idle_bytes = |w: &Window| w.tcp_per_viewer().unwrap_or(w.wire_per_viewer());
    let collections = |requests: &[String]| {
        let mut c: Vec<&str> = requests.iter().map(String::as_str).collect();
        c.sort_unstable();
        c.dedup();
        c.join(", ")
    };
    let (watched_one, watched_fifty) = (collections(&watches_one), collections(&watches_fifty));
    let watches_same = watched_one == watched_fifty
        && watches_fifty.len() <= watches_one.len() + watched_one.split(", ").count();

    println!(
        "watchfloor serve, large cluster (10,000 pods in 50 namespaces), viewers at {COLS}x{ROWS} (xterm-256color)"
    );
    println!(
        "  exec until the first viewer is shown 10,000 pods: {:.0} ms",
        shown.as_secs_f64() * 1000.0
    );
    println!("  server memory at steady state (MiB):");
    println!("    viewers    VmRSS  RssAnon  RssFile");
    for (n, m) in [(1, mem_one), (10, mem_ten), (VIEWERS, mem_fifty)] {
        println!(
            "    {n:>7}  {:>7.1}  {:>7.1}  {:>7.1}",
            m.rss as f64 / 1024.0,
            m.anon as f64 / 1024.0,
            m.file as f64 / 1024.0
        );
    }
    println!(
        "    per extra viewer: 1→10 {per_ten:.2} MiB, 1→{VIEWERS} {per_fifty:.2} MiB (goal <= 2 MiB)"
    );
    println!("  server CPU (% of one core):");
    println!(
        "    1 viewer idle ({IDLE_WINDOW:?}): {:.2}%",
        idle_one.cpu_percent
    );
    println!(
        "    {VIEWERS} viewers idle ({IDLE_WINDOW:?}): {:.2}%",
        idle_fifty.cpu_percent
    );
    println!(
        "    {VIEWERS} viewers scrolling, a key each every {SCROLL_EVERY:?} ({SCROLL_WINDOW:?}): {:.1}% ({:.0} data messages/s received in all)",
        scrolling.cpu_percent,
        scrolling.data_packets as f64 / scrolling.seconds
    );
    println!("  key-to-frame latency, one viewer, {LATENCY_SAMPLES} samples (goal p99 < 30 ms):");
    for (what, l) in [
        ("49 others idle", &latency_idle),
        ("49 others scrolling", &latency_scrolling),
    ] {
        println!(
            "    {what:<20} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
            l.p50,
            l.p99,
            l.max,
            if l.missed > 0 {
                format!(" ({} keys without a frame)", l.missed)
            } else {
                String::new()
            }
        );
    }
    println!("  bytes sent per idle viewer per second (goal < 200 B/s):");
    for (n, w) in [(1, &idle_one), (VIEWERS, &idle_fifty)] {
        println!(
            "    {n:>2} viewer{} idle: channel data {:.0} B/s (max {:.0}), SSH {:.0} B/s, TCP {}",
            if n == 1 { " " } else { "s" },
            w.data_per_viewer(),
            w.data_max_viewer,
            w.wire_per_viewer(),
            w.tcp_per_viewer()
                .map_or_else(|| "n/a (no ss)".to_string(), |b| format!("{b:.0} B/s")),
        );
        println!(
            "                    client to server: SSH {:.0} B/s",
            w.wire_out_per_viewer()
        );
    }
    println!("  API requests to the simulator:");
    println!(
        "    LIST after the initial sync: {lists_after_sync} (goal 0); for the sync: {lists_at_sync}"
    );
    println!(
        "    watch requests in {IDLE_WINDOW:?} idle: {} with 1 viewer, {} with {VIEWERS} (goal: the same)",
        watches_one.len(),
        watches_fifty.len()
    );
    println!("      collections watched with 1 viewer: {watched_one}");
    println!("      collections watched with {VIEWERS} viewers: {watched_fifty}");

    let goals = [
        ("RSS per extra viewer 1→10", per_ten <= 2.0),
        ("RSS per extra viewer 1→50", per_fifty <= 2.0),
        ("p99 latency, others idle", latency_idle.p99 < 30.0),
        (
            "p99 latency, others scrolling",
            latency_scrolling.p99 < 30.0,
        ),
        ("bytes per idle viewer (1)", idle_bytes(&idle_one) < 200.0),
        (
            "bytes per idle viewer (50)",
            idle_bytes(&idle_fifty) < 200.0,
        ),
        ("LIST after sync", lists_after_sync == 0),
        ("watches 50 vs 1", watches_same),
    ];
    let mut ok = true;
    for (what, met) in goals {
        if !met {
            println!("  MISSED: {what}");
            ok = false;
        }
    }
    ok
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Bench;

impl client::Handler for Bench {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Bytes through a client's socket, both ways.
#[derive(Default)]
struct Counters {
    wire_in: AtomicU64,
    wire_out: AtomicU64,
    data: AtomicU64,
    packets: AtomicU64,
}

/// The client's TCP stream, counting what goes through.
struct Counted {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.counters.wire_in.fetch_add(n, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.counters
                .wire_out
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One SSH viewer: its session, its channel's write half, what it received.
struct Viewer {
    _handle: client::Handle<Bench>,
    writer: Arc<russh::ChannelWriteHalf<client::Msg>>,
    counters: Arc<Counters>,
    /// When the screen first showed `10000 pods`.
    synced: watch::Receiver<Option<Instant>>,
    /// The number of data messages received and when the last one arrived.
    arrivals: watch::Receiver<(u64, Instant)>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Viewer {
    async fn connect(port: u16, key: Arc<PrivateKey>) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to serve");
        stream.set_nodelay(true).expect("nodelay");
        let counters = Arc::new(Counters::default());
        let counted = Counted {
            inner: stream,
            counters: Arc::clone(&counters),
        };
        let config = Arc::new(client::Config::default());
        let mut handle = client::connect_stream(config, counted, Bench)
            .await
            .expect("SSH handshake");
        let auth = handle
            .authenticate_publickey("bench", PrivateKeyWithHashAlg::new(key, None))
            .await
            .expect("authenticate");
        assert!(auth.success(), "the server refused the bench's key");
        let channel = handle
            .channel_open_session()
            .await
            .expect("session channel");
        channel
            .request_pty(
                true,
                "xterm-256color",
                u32::from(COLS),
                u32::from(ROWS),
                0,
                0,
                &[],
            )
            .await
            .expect("pty-req");
        channel.request_shell(true).await.expect("shell");
        let (mut read, write) = channel.split();
        let (synced_tx, synced) = watch::channel(None);
        let (arrivals_tx, arrivals) = watch::channel((0, Instant::now()));
        let data_counters = Arc::clone(&counters);
        let reader = tokio::spawn(async move {
            // The screen is parsed until it shows all the pods, then only counted.
            let mut screen = Some(vt100::Parser::new(ROWS, COLS, 0));
            while let Some(msg) = read.wait().await {
                let ChannelMsg::Data { data } = msg else {
                    continue;
                };
                let at = Instant::now();
                data_counters
                    .data
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                data_counters.packets.fetch_add(1, Ordering::Relaxed);
                arrivals_tx.send_modify(|(n, last)| {
                    *n += 1;
                    *last = at;
                });
                if let Some(parser) = &mut screen {
                    parser.process(&data);
                    if parser.screen().contents().contains("10000 pods") {
                        synced_tx.send_replace(Some(at));
                        screen = None;
                    }
                }
            }
        });
        Self {
            _handle: handle,
            writer: Arc::new(write),
            counters,
            synced,
            arrivals,
            reader,
        }
    }

    /// When this viewer was first shown all 10,000 pods.
    async fn wait_synced(&self) -> Instant {
        let mut synced = self.synced.clone();
        let at = tokio::time::timeout(SYNC_DEADLINE, synced.wait_for(Option::is_some))
            .await
            .expect("10,000 pods not shown in time")
            .expect("viewer reader ended");
        at.expect("checked")
    }
}

/// Sends `j` every [`SCROLL_EVERY`] until told to stop (viewers start out of phase).
async fn scroll(
    writer: Arc<russh::ChannelWriteHalf<client::Msg>>,
    i: usize,
    mut stop: watch::Receiver<bool>,
) {
    tokio::time::sleep(SCROLL_EVERY * (i as u32 % 10) / 10 + Duration::from_millis(i as u64)).await;
    let mut tick = tokio::time::interval(SCROLL_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if writer.data(&b"j"[..]).await.is_err() {
                    return;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Server memory, KiB.
#[derive(Clone, Copy)]
struct Memory {
    rss: u64,
    anon: u64,
    file: u64,
}

impl Memory {
    fn of(pid: u32) -> Self {
        Self {
            rss: status_kib(pid, "VmRSS:"),
            anon: status_kib(pid, "RssAnon:"),
            file: status_kib(pid, "RssFile:"),
        }
    }
}

/// What the server did and sent over a window of time.
struct Window {
    seconds: f64,
    viewers: usize,
    cpu_percent: f64,
    data: u64,
    data_max_viewer: f64,
    data_packets: u64,
    wire_in: u64,
    wire_out: u64,
    /// bytes_sent and segs_out of the server's sockets, from `ss`.
    tcp: Option<(u64, u64)>,
}

impl Window {
    async fn measure(pid: u32, port: u16, viewers: &[Viewer], length: Duration) -> Self {
        let snapshot = |v: &Viewer| {
            (
                v.counters.data.load(Ordering::Relaxed),
                v.counters.packets.load(Ordering::Relaxed),
                v.counters.wire_in.load(Ordering::Relaxed),
                v.counters.wire_out.load(Ordering::Relaxed),
            )
        };
        let before: Vec<_> = viewers.iter().map(snapshot).collect();
        let tcp_before = tcp_sent(port);
        let cpu_before = cpu_ticks(pid);
        let started = Instant::now();
        tokio::time::sleep(length).await;
        let cpu_after = cpu_ticks(pid);
        let seconds = started.elapsed().as_secs_f64();
        let tcp_after = tcp_sent(port);
        let after: Vec<_> = viewers.iter().map(snapshot).collect();
        let deltas: Vec<_> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| (a.0 - b.0, a.1 - b.1, a.2 - b.2, a.3 - b.3))
            .collect();
        Self {
            seconds,
            viewers: viewers.len(),
            cpu_percent: (cpu_after - cpu_before) as f64 / TICKS_PER_SECOND / seconds * 100.0,
            data: deltas.iter().map(|d| d.0).sum(),
            data_max_viewer: deltas.iter().map(|d| d.0).max().unwrap_or(0) as f64 / seconds,
            data_packets: deltas.iter().map(|d| d.1).sum(),
            wire_in: deltas.iter().map(|d| d.2).sum(),
            wire_out: deltas.iter().map(|d| d.3).sum(),
            tcp: tcp_before
                .zip(tcp_after)
                .map(|(b, a)| (a.0.saturating_sub(b.0), a.1.saturating_sub(b.1))),
        }
    }

    fn per_viewer_second(&self, bytes: u64) -> f64 {
        bytes as f64 / self.viewers as f64 / self.seconds
    }

    fn data_per_viewer(&self) -> f64 {
        self.per_viewer_second(self.data)
    }

    fn wire_per_viewer(&self) -> f64 {
        self.per_viewer_second(self.wire_in)
    }

    fn wire_out_per_viewer(&self) -> f64 {
        self.per_viewer_second(self.wire_out)
    }

    fn tcp_per_viewer(&self) -> Option<f64> {
        self.tcp
            .map(|(bytes, segments)| self.per_viewer_second(bytes + segments * TCP_IP_HEADER))
    }
}

/// Sum of bytes_sent and segs_out over the server's established sockets (`ss -ti`).
fn tcp_sent(port: u16) -> Option<(u64, u64)> {
    let out = Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            "sport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u64> {
        let mut found = false;
        let sum = text
            .split_whitespace()
            .filter_map(|t| t.strip_prefix(name))
            .filter_map(|v| v.parse::<u64>().ok())
            .inspect(|_| found = true)
            .sum();
        found.then_some(sum)
    };
    Some((field("bytes_sent:")?, field("segs_out:")?))
}

/// Key-to-frame latency percentiles, ms.
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    missed: usize,
}

/// Sends `j` [`LATENCY_SAMPLES`] times, each time measuring until the next data arrives; waits
/// 20–50 ms between samples (out of step with the scrollers' 100 ms).
async fn latency(viewer: &Viewer) -> Latency {
    let mut arrivals = viewer.arrivals.clone();
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    let mut missed = 0;
    let mut jitter: u64 = 0x2545_f491;
    for _ in 0..LATENCY_SAMPLES {
        arrivals.borrow_and_update();
        let sent = Instant::now();
        viewer.writer.data(&b"j"[..]).await.expect("send a key");
        let got = tokio::time::timeout(FRAME_DEADLINE, arrivals.changed()).await;
        let took = match got {
            Ok(Ok(())) => arrivals
                .borrow_and_update()
                .1
                .saturating_duration_since(sent),
            _ => {
                missed += 1;
                FRAME_DEADLINE
            }
        };
        samples.push(took);
        jitter ^= jitter << 13;
        jitter ^= jitter >> 7;
        jitter ^= jitter << 17;
        tokio::time::sleep(Duration::from_millis(20 + jitter % 31)).await;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    Latency {
        p50: ms(samples[n / 2]),
        p99: ms(samples[(n * 99 / 100).min(n - 1)]),
        max: ms(samples[n - 1]),
        missed,
    }
}

/// The watch requests in the simulator's request log, in order, each as the collection watched
/// (path and query, without the resourceVersion and the watch's own parameters).
fn watches(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|r| r["verb"] == "watch")
        .map(|r| {
            let query: Vec<&str> = r["query"]
                .as_str()
                .unwrap_or_default()
                .split('&')
                .filter(|p| {
                    !p.is_empty()
                        && ![
                            "watch=",
                            "timeoutSeconds=",
                            "allowWatchBookmarks=",
                            "resourceVersion=",
                        ]
                        .iter()
                        .any(|k| p.starts_with(k))
                })
                .collect();
            let path = r["path"].as_str().unwrap_or_default();
            if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", query.join("&"))
            }
        })
        .collect()
}

/// Requests of `verb` in the simulator's request log.
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
