//! The Redis source against real `redis-server` processes on loopback, one per test, each on its
//! own free port (never 6379), with `--maxclients 8 --maxmemory 2mb` so that the failures the
//! pane exists for (refused clients, evictions, a server that dies) can be staged for real.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use watchfloor::event::SourceEvent;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use watchfloor::config::{RedisConfig, Secret};
use watchfloor::db::{DbUpdate, RedisStatus};
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::sources::kubernetes::Reporter;
use watchfloor::sources::redis::{run, sample_once};

/// Refresh of the source under test: short, so that a test sees several refreshes quickly.
const REFRESH: Duration = Duration::from_millis(300);
/// How long any one expectation may take to come true.
const WAIT: Duration = Duration::from_secs(8);
const MAXCLIENTS: usize = 8;

/// A `redis-server` of the test's own, killed (and reaped) on drop.
struct Server {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            extra: extra.iter().map(|s| (*s).to_string()).collect(),
        };
        server.spawn();
        server
    }

    /// Starts (again) on the same port and waits until it answers PING.
    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(["--maxclients", &MAXCLIENTS.to_string()])
            .args(["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        wait_ready(self.port, self.dir.path());
    }

    /// SIGKILL: no goodbye to the clients.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn config(&self) -> RedisConfig {
        RedisConfig {
            name: "cache".into(),
            url: Secret::Literal(self.url()),
            username: None,
            password: None,
            refresh: REFRESH,
        }
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("test connection")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now (the OS's pick, released again).
fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Polls with PING until the server answers, within a deadline.
fn wait_ready(port: u16, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("client");
    loop {
        let answered = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
        // Asking for a password is an answer too.
        if answered.is_ok() || answered.as_ref().is_err_and(|e| e.code() == Some("NOAUTH")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server on port {port} (dir {}) not ready: {answered:?}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the source; the receiver gets its reports.
fn start_source(config: RedisConfig) -> (mpsc::Receiver<SourceEvent>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let reporter = Reporter {
        tx,
        generation: 1,
        index: 0,
    };
    (rx, tokio::spawn(run(config, 0, reporter)))
}

/// One report of the source.
#[derive(Debug)]
enum Report {
    Status(Box<RedisStatus>),
    State(SourceState),
}

/// The next report of the source, or `None` when `until` comes first.
async fn try_next_report(
    rx: &mut mpsc::Receiver<SourceEvent>,
    until: tokio::time::Instant,
) -> Option<Report> {
    let action = tokio::time::timeout_at(until, rx.recv())
        .await
        .ok()?
        .expect("the source ended");
    Some(match action {
        SourceEvent::Db {
            update: DbUpdate::Redis { index, status },
            ..
        } => {
            assert_eq!(index, 0);
            Report::Status(status)
        }
        SourceEvent::State { index, state, .. } => {
            assert_eq!(index, 0);
            Report::State(state)
        }
        other => panic!("unexpected action {other:?}"),
    })
}

async fn next_report(rx: &mut mpsc::Receiver<SourceEvent>, until: tokio::time::Instant) -> Report {
    try_next_report(rx, until)
        .await
        .expect("no report before the deadline")
}

/// Waits (at most [`WAIT`]) for a status that satisfies `accept`; panics with the last one seen,
/// or at once on an error report.
async fn status_where(
    rx: &mut mpsc::Receiver<SourceEvent>,
    what: &str,
    accept: impl Fn(&RedisStatus) -> bool,
) -> RedisStatus {
    let until = tokio::time::Instant::now() + WAIT;
    let mut last = None;
    while let Some(report) = try_next_report(rx, until).await {
        match report {
            Report::Status(status) if accept(&status) => return *status,
            Report::Status(status) => last = Some(status),
            Report::State(SourceState::Error { reason, .. }) => {
                panic!("source error while waiting for {what}: {reason}")
            }
            Report::State(_) => {}
        }
    }
    panic!("no status with {what} within {WAIT:?}; last: {last:#?}");
}

/// A raw client that holds a connection slot until dropped. `Err` carries the server's refusal.
async fn raw_client(port: u16) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"PING\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = [0u8; 128];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut reply))
        .await
        .map_err(|_| "no reply to PING".to_string())?
        .map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&reply[..n]).into_owned();
    if reply.starts_with("+PONG") {
        Ok(stream)
    } else {
        Err(reply.trim_end().to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_clients_and_shows_blocked_ones() {
    let server = Server::start(&[]);
    let (mut rx, task) = start_source(server.config());
    let first = status_where(&mut rx, "a first refresh", |_| true).await;
    assert_eq!(first.maxclients, Some(MAXCLIENTS as u64));
    assert!(
        first.version.starts_with(|c: char| c.is_ascii_digit()),
        "{}",
        first.version
    );
    assert_eq!(first.name, "cache");
    assert!(first.evicted_per_s.is_none() && first.rejected_per_s.is_none());

    let mut extra = Vec::new();
    for _ in 0..3 {
        extra.push(raw_client(server.port).await.expect("extra client"));
    }
    let mut blocked = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    blocked
        .write_all(b"*3\r\n$5\r\nBLPOP\r\n$7\r\nsomekey\r\n$1\r\n0\r\n")
        .await
        .expect("BLPOP");

    // The source's own connection, three idle clients and the blocked one.
    let status = status_where(&mut rx, "5 clients, 1 blocked", |s| {
        s.connected_clients == 5 && s.blocked_clients == 1
    })
    .await;
    assert_eq!(status.maxclients, Some(MAXCLIENTS as u64));
    assert_eq!(status.clients.len(), 5, "{:#?}", status.clients);
    let blpop: Vec<_> = status
        .clients
        .iter()
        .filter(|c| c.flags.contains('b'))
        .collect();
    assert_eq!(blpop.len(), 1, "{:#?}", status.clients);
    assert_eq!(blpop[0].cmd, "blpop");
    assert!(
        status.clients.iter().any(|c| c.name == "watchfloor"),
        "the console's own connection is named: {:#?}",
        status.clients
    );
    // Most idle first.
    assert!(status.clients.windows(2).all(|w| w[0].idle >= w[1].idle));
    // 5 of 8 is below 80%; nothing was refused or evicted.
    assert_eq!(status.level, Health::Ok);

    // Two more (7 of 8, over 80%) is a warning.
    for _ in 0..2 {
        extra.push(raw_client(server.port).await.expect("extra client"));
    }
    let status = status_where(&mut rx, "7 clients", |s| s.connected_clients == 7).await;
    assert_eq!(status.level, Health::Warn);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evictions_show_as_a_rate() {
    let server = Server::start(&[]);
    let (mut rx, task) = start_source(server.config());
    let first = status_where(&mut rx, "a first refresh", |_| true).await;
    assert_eq!(first.maxmemory, 2 * 1024 * 1024);
    assert_eq!(first.policy, "allkeys-lru");
    assert_eq!(first.evicted_total, 0);

    // 4 MiB of values into 2 MiB.
    let mut con = server.connection().await;
    let value = vec![b'x'; 10 * 1024];
    for chunk in 0..8 {
        let mut pipe = redis::pipe();
        for i in 0..50 {
            pipe.set(format!("key:{chunk}:{i}"), &value).ignore();
        }
        let () = pipe.query_async(&mut con).await.expect("SET");
    }

    let status = status_where(&mut rx, "evictions in the interval", |s| {
        s.evicted_per_s.is_some_and(|r| r > 0.0)
    })
    .await;
    assert!(status.evicted_total > 0);
    assert!(status.used_memory > 0);
    // Evicting is a warning (allkeys-lru makes room; noeviction at the limit would be Crit).
    assert_eq!(status.level, Health::Warn);
    // Once writes stop, the rate falls back to zero while the total stays.
    let quiet = status_where(&mut rx, "no more evictions", |s| {
        s.evicted_per_s == Some(0.0)
    })
    .await;
    assert!(quiet.evicted_total >= status.evicted_total);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_clients_are_critical() {
    let server = Server::start(&[]);
    let (mut rx, task) = start_source(server.config());
    status_where(&mut rx, "a first refresh", |_| true).await;

    // Fill every slot, then one more.
    let mut held = Vec::new();
    let mut refusal = None;
    for _ in 0..MAXCLIENTS + 2 {
        match raw_client(server.port).await {
            Ok(stream) => held.push(stream),
            Err(reason) => {
                refusal = Some(reason);
                break;
            }
        }
    }
    assert_eq!(
        refusal.as_deref(),
        Some("-ERR max number of clients reached")
    );
    assert_eq!(held.len(), MAXCLIENTS - 1, "the source holds one slot");

    // The source kept its connection, so it still sees the server.
    let status = status_where(&mut rx, "rejections in the interval", |s| {
        s.rejected_per_s.is_some_and(|r| r > 0.0)
    })
    .await;
    assert!(status.rejected_total >= 1);
    assert_eq!(status.connected_clients, MAXCLIENTS as u64);
    assert_eq!(status.level, Health::Crit);

    // A new connection (the snapshot's) is refused, with the server's words.
    let reason = sample_once(&server.config())
        .await
        .expect_err("the server is full");
    assert!(
        reason.contains("ERR max number of clients reached"),
        "{reason}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_server_restart() {
    let mut server = Server::start(&[]);
    let (mut rx, task) = start_source(server.config());
    status_where(&mut rx, "a first refresh", |_| true).await;
    let started = tokio::time::Instant::now();

    server.kill();
    let until = tokio::time::Instant::now() + WAIT;
    let reason = loop {
        match next_report(&mut rx, until).await {
            Report::State(SourceState::Error { reason, retry_at }) => {
                assert!(retry_at.is_some());
                break reason;
            }
            Report::State(_) | Report::Status(_) => {}
        }
    };
    let port = server.port;
    assert!(
        reason == format!("127.0.0.1:{port}: connection refused")
            || reason == format!("127.0.0.1:{port}: connection closed by the server"),
        "{reason}"
    );
    let error_after = started.elapsed();

    // While it is down, errors repeat (with growing backoff) and are clear.
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        if let Report::State(SourceState::Error { reason, .. }) = next_report(&mut rx, until).await
        {
            assert_eq!(reason, format!("127.0.0.1:{port}: connection refused"));
            break;
        }
    }

    server.spawn();
    let restarted = tokio::time::Instant::now();
    // At most two failures so far: the next retry is within estimated_backoff(2..3) = 1.6..3.2 s.
    let until = restarted + Duration::from_secs(6);
    let mut live = false;
    let status = loop {
        match next_report(&mut rx, until).await {
            Report::State(SourceState::Live) => live = true,
            Report::State(SourceState::Error { .. }) => {}
            Report::State(other) => panic!("unexpected state {other:?}"),
            Report::Status(status) => break status,
        }
    };
    let recovered = restarted.elapsed();
    assert!(!live, "figures come before Live");
    assert!(!status.version.is_empty());
    assert_eq!(status.maxclients, Some(MAXCLIENTS as u64));
    let until = tokio::time::Instant::now() + WAIT;
    assert!(matches!(
        next_report(&mut rx, until).await,
        Report::State(SourceState::Live)
    ));
    // Figures keep flowing.
    status_where(&mut rx, "a refresh after the restart", |_| true).await;
    eprintln!("error after {error_after:?}, recovered {recovered:?} after the restart");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hit_ratio_comes_from_the_interval() {
    let server = Server::start(&[]);
    let mut con = server.connection().await;
    let () = redis::cmd("SET")
        .arg("present")
        .arg("1")
        .query_async(&mut con)
        .await
        .expect("SET");
    // Lookups before the source starts must not count.
    for _ in 0..10 {
        let _: Option<String> = redis::cmd("GET")
            .arg("absent")
            .query_async(&mut con)
            .await
            .expect("GET");
    }
    let (mut rx, task) = start_source(server.config());
    let first = status_where(&mut rx, "a first refresh", |_| true).await;
    assert_eq!(first.hit_ratio, None, "no interval yet");
    let second = status_where(&mut rx, "a second refresh", |_| true).await;
    assert_eq!(second.hit_ratio, None, "no lookups in the interval");

    // 3 hits and 1 miss, atomically so that they fall in one interval.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .get("present")
        .get("present")
        .get("present")
        .get("absent");
    let _: (String, String, String, Option<String>) =
        pipe.query_async(&mut con).await.expect("GETs");
    let status = status_where(&mut rx, "a hit ratio", |s| s.hit_ratio.is_some()).await;
    assert_eq!(status.hit_ratio, Some(0.75));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_samples_twice_within_the_budget() {
    let server = Server::start(&[]);
    let started = Instant::now();
    let status = sample_once(&server.config()).await.expect("sample");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(3500),
        "{took:?}"
    );
    assert_eq!(status.name, "cache");
    assert_eq!(status.maxclients, Some(MAXCLIENTS as u64));
    assert_eq!(status.evicted_per_s, Some(0.0));
    assert_eq!(status.rejected_per_s, Some(0.0));
    assert_eq!(status.connected_clients, 1);
    assert_eq!(status.level, Health::Ok);

    // Nothing listens: a quick, clear error that names host:port and no secret.
    let port = free_port();
    let mut config = server.config();
    config.url = Secret::Literal(format!("redis://admin:hunter22@127.0.0.1:{port}/0"));
    let started = Instant::now();
    let reason = sample_once(&config).await.expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(reason, format!("127.0.0.1:{port}: connection refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_errors_are_clear_and_secret_free() {
    let server = Server::start(&["--requirepass", "s3cret-pw"]);
    let mut config = server.config();
    let reason = sample_once(&config).await.expect_err("no password");
    assert!(reason.starts_with("NOAUTH"), "{reason}");

    config.password = Some(Secret::Literal("wrong-pw".into()));
    let reason = sample_once(&config).await.expect_err("wrong password");
    assert!(reason.starts_with("WRONGPASS"), "{reason}");
    assert!(!reason.contains("wrong-pw"), "{reason}");

    config.password = Some(Secret::Literal("s3cret-pw".into()));
    let status = sample_once(&config).await.expect("right password");
    assert_eq!(status.maxclients, Some(MAXCLIENTS as u64));

    // The password in the URL works as well, and is not shown either.
    config.password = None;
    config.url = Secret::Literal(format!("redis://:s3cret-pw@127.0.0.1:{}", server.port));
    let status = sample_once(&config).await.expect("password in the URL");
    assert!(!status.version.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_is_reported_within_the_deadline() {
    let mut server = Server::start(&[]);
    let (mut rx, task) = start_source(server.config());
    status_where(&mut rx, "a first refresh", |_| true).await;
    let pid = server.child.as_ref().expect("running").id();
    let stop = Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .expect("kill -STOP");
    assert!(stop.success());
    let stopped = tokio::time::Instant::now();
    let until = stopped + WAIT;
    let reason = loop {
        if let Report::State(SourceState::Error { reason, .. }) = next_report(&mut rx, until).await
        {
            break reason;
        }
    };
    // Deadline 2 s, after at most one refresh interval; the rest is slack for a busy machine.
    assert!(
        stopped.elapsed() < Duration::from_secs(4),
        "{:?}",
        stopped.elapsed()
    );
    assert_eq!(
        reason,
        format!("127.0.0.1:{}: no answer within 2s", server.port)
    );
    let _ = Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
    status_where(&mut rx, "figures once it resumes", |_| true).await;
    task.abort();
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_client_list_still_gets_the_figures() {
    let server = Server::start(&[]);
    let mut con = server.connection().await;
    let () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "mon",
            "on",
            ">mon-pw-123",
            "~*",
            "+@all",
            "-client|list",
        ])
        .query_async(&mut con)
        .await
        .expect("ACL SETUSER");
    let mut config = server.config();
    config.username = Some(Secret::Literal("mon".into()));
    config.password = Some(Secret::Literal("mon-pw-123".into()));
    let (mut rx, task) = start_source(config.clone());
    let until = tokio::time::Instant::now() + WAIT;
    let Report::Status(status) = next_report(&mut rx, until).await else {
        panic!("figures first");
    };
    assert!(status.clients.is_empty());
    assert_eq!(status.connected_clients, 2);
    assert_eq!(status.maxclients, Some(MAXCLIENTS as u64));
    let Report::State(SourceState::Error { reason, .. }) = next_report(&mut rx, until).await else {
        panic!("then why the clients are missing");
    };
    assert!(
        reason.starts_with("CLIENT LIST refused (NOPERM"),
        "{reason}"
    );
    assert!(!reason.contains("mon-pw-123"));
    // And it goes on refreshing.
    assert!(matches!(
        next_report(&mut rx, until).await,
        Report::Status(_)
    ));
    task.abort();

    let snapshot = sample_once(&config).await.expect("figures without clients");
    assert!(snapshot.clients.is_empty());
}
