//! The PostgreSQL source against a real, private PostgreSQL cluster (one per test): staged
//! sessions (long-running, idle in transaction, aborted, a three-deep blocking chain), what an
//! unprivileged role sees, slot exhaustion, and the `run` loop through a fault-injecting TCP
//! proxy (cut, stall, restore).

use crate::support::pg_server;

use std::time::{Duration, Instant, SystemTime};
use watchfloor::event::SourceEvent;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_postgres::Client;

use pg_server::PgServer;
use watchfloor::config::PostgresConfig;
use watchfloor::db::DbUpdate;
use watchfloor::db::postgres::{PgStatus, Thresholds, UNKNOWN_STATE, analyse};
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::sources::kubernetes::{Reporter, estimated_backoff};
use watchfloor::sources::postgres::{self, Monitor};

/// Waiting for a staged condition (a lock wait, an age past a threshold).
const STAGE_DEADLINE: Duration = Duration::from_secs(15);
/// How often a deadline loop looks again.
const POLL: Duration = Duration::from_millis(50);

fn config(name: &str, dsn: &str, refresh: &str) -> PostgresConfig {
    toml::from_str(&format!(
        "name = {name:?}\ndsn = {dsn:?}\nrefresh = {refresh:?}\n\
         long_running_after = \"1s\"\nidle_in_transaction_after = \"1s\"\n"
    ))
    .expect("postgres config")
}

async fn pid_of(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pg_backend_pid")
        .get(0)
}

/// Waits (polling within a deadline) until `pid` waits on a heavyweight lock.
async fn wait_until_lock_wait(observer: &Client, pid: i32) {
    let deadline = Instant::now() + STAGE_DEADLINE;
    loop {
        let row = observer
            .query_opt(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .expect("pg_stat_activity");
        let wait: Option<String> = row.and_then(|r| r.get(0));
        if wait.as_deref() == Some("Lock") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never waited on a lock"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Refreshes until `done` holds for the analysis (ages grow past the 1 s thresholds).
async fn status_when(
    monitor: &Monitor,
    name: &str,
    thresholds: Thresholds,
    done: impl Fn(&PgStatus) -> bool,
) -> PgStatus {
    let deadline = Instant::now() + STAGE_DEADLINE;
    loop {
        let sample = monitor.refresh().await.expect("refresh");
        let status = analyse(name, sample, thresholds);
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "condition never held; last status: {status:#?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

fn count(status: &PgStatus, state: &str) -> u32 {
    status.by_state.get(state).copied().unwrap_or(0)
}

/// The staged scenario, sampled as the superuser, as a role without pg_read_all_stats, and as
/// a role with it.
#[tokio::test]
async fn staged_sessions_are_counted_listed_and_chained() {
    let server = PgServer::start();
    let setup = server.connect("postgres", "setup").await;
    setup
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0);
             CREATE ROLE nobody LOGIN;
             CREATE ROLE mon LOGIN IN ROLE pg_read_all_stats;",
        )
        .await
        .expect("setup");

    // D: a long query.
    let sleeper = server.connect("postgres", "stage-sleep").await;
    let d = pid_of(&sleeper).await;
    tokio::spawn(async move {
        let _ = sleeper.simple_query("SELECT pg_sleep(60)").await;
    });
    // A: holds the row lock, idle in transaction.
    let holder = server.connect("postgres", "stage-holder").await;
    let a = pid_of(&holder).await;
    holder
        .batch_execute("BEGIN; UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .expect("A locks the row");
    // B waits for A, then C waits behind B (same application: grouped in top clients).
    let mut writers = Vec::new();
    for _ in 0..2 {
        let writer = server.connect("postgres", "stage-writers").await;
        let pid = pid_of(&writer).await;
        tokio::spawn(async move {
            let _ = writer
                .simple_query("UPDATE t SET v = v + 1 WHERE id = 1")
                .await;
        });
        wait_until_lock_wait(&setup, pid).await;
        writers.push(pid);
    }
    let (b, c) = (writers[0], writers[1]);
    // E: idle in transaction.
    let idle_tx = server.connect("postgres", "stage-idle-tx").await;
    let e = pid_of(&idle_tx).await;
    idle_tx
        .batch_execute("BEGIN; SELECT 1")
        .await
        .expect("E begins");
    // F: idle in transaction (aborted).
    let aborted = server.connect("postgres", "stage-aborted").await;
    let f = pid_of(&aborted).await;
    aborted.batch_execute("BEGIN").await.expect("F begins");
    assert!(aborted.batch_execute("SELECT 1/0").await.is_err());

    // As the superuser. Everyone's ages pass 1 s by waiting on the condition.
    let su_config = config("staged", &server.dsn("postgres"), "2s");
    let thresholds = Thresholds::from_config(&su_config);
    let su = Monitor::open(&su_config)
        .await
        .expect("monitor as postgres");
    assert!(su.info().privileges.superuser && su.info().privileges.sees_all());
    assert_eq!(su.info().max_connections, 20);
    assert_eq!(su.info().superuser_reserved, 3);
    assert!(
        su.info()
            .server_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    );
    let status = status_when(&su, "staged", thresholds, |s| {
        s.long_running.len() == 3 && s.idle_in_transaction.len() == 3
    })
    .await;

    // own + setup + D + A + B + C + E + F
    assert_eq!(status.used, 8, "{status:#?}");
    assert_eq!(status.usable, 17);
    assert_eq!(status.level, Health::Ok);
    assert_eq!(count(&status, "active"), 4, "own, B, C, D");
    assert_eq!(count(&status, "idle"), 1, "setup");
    assert_eq!(count(&status, "idle in transaction"), 2, "A, E");
    assert_eq!(count(&status, "idle in transaction (aborted)"), 1, "F");
    assert_eq!(count(&status, UNKNOWN_STATE), 0);
    let own: Vec<i32> = status
        .sample
        .sessions
        .iter()
        .filter(|s| s.own)
        .map(|s| s.pid)
        .collect();
    assert_eq!(own, vec![su.info().own_pid]);

    let long: Vec<(i32, Option<&str>)> = status
        .long_running
        .iter()
        .map(|l| (l.pid, l.wait.as_deref()))
        .collect();
    assert_eq!(
        long,
        vec![
            (d, Some("Timeout:PgSleep")),
            (b, Some("Lock:transactionid")),
            (c, Some("Lock:tuple")),
        ]
    );
    assert!(status.long_running[0].query.contains("pg_sleep(60)"));
    assert!(
        status
            .long_running
            .windows(2)
            .all(|w| w[0].seconds >= w[1].seconds)
    );

    let idle: Vec<(i32, bool)> = status
        .idle_in_transaction
        .iter()
        .map(|i| (i.pid, i.aborted))
        .collect();
    assert_eq!(idle, vec![(a, false), (e, false), (f, true)]);
    assert!(status.idle_in_transaction[2].query.contains("1/0"));

    assert_eq!(status.blocking.len(), 1, "{:#?}", status.blocking);
    let chain = &status.blocking[0];
    assert_eq!(chain.root, a);
    assert_eq!(chain.root_state, "idle in transaction");
    assert!(chain.root_seconds.is_some_and(|s| s > 1.0));
    assert!(chain.root_query.contains("UPDATE t"));
    let blocked: Vec<(i32, u32, i32)> = chain
        .blocked
        .iter()
        .map(|n| (n.pid, n.depth, n.waits_for))
        .collect();
    assert_eq!(blocked, vec![(b, 1, a), (c, 2, b)]);
    assert_eq!(chain.depth, 2);

    assert_eq!(
        status.top_clients[0].label,
        "stage-writers · postgres · 127.0.0.1"
    );
    assert_eq!(status.top_clients[0].sessions, 2);
    assert_eq!(status.top_clients.len(), 5);

    // As `nobody` (no pg_read_all_stats): the others' sessions are there, state unknown.
    let nobody = Monitor::open(&config("staged", &server.dsn("nobody"), "2s"))
        .await
        .expect("monitor as nobody");
    assert!(!nobody.info().privileges.sees_all());
    assert!(!nobody.info().privileges.can_signal());
    let hidden = analyse(
        "staged",
        nobody.refresh().await.expect("refresh"),
        thresholds,
    );
    // the 8 above, plus nobody's own session
    assert_eq!(hidden.used, 9, "{hidden:#?}");
    assert_eq!(count(&hidden, UNKNOWN_STATE), 8);
    assert_eq!(count(&hidden, "active"), 1, "its own session");
    assert_eq!(hidden.by_state.values().sum::<u32>(), 9);
    assert!(hidden.long_running.is_empty() && hidden.idle_in_transaction.is_empty());
    assert!(
        hidden
            .sample
            .sessions
            .iter()
            .filter(|s| !s.own)
            .all(|s| s.query.is_none() && s.state.is_none())
    );
    // The chain is still found: hidden waiters are checked through pg_locks.
    assert_eq!(hidden.blocking.len(), 1, "{:#?}", hidden.blocking);
    assert_eq!(hidden.blocking[0].root, a);
    assert_eq!(hidden.blocking[0].root_state, UNKNOWN_STATE);
    let hidden_blocked: Vec<(i32, u32)> = hidden.blocking[0]
        .blocked
        .iter()
        .map(|n| (n.pid, n.depth))
        .collect();
    assert_eq!(hidden_blocked, vec![(b, 1), (c, 2)]);

    // As `mon` (pg_read_all_stats, not superuser): sees everything.
    let mon = Monitor::open(&config("staged", &server.dsn("mon"), "2s"))
        .await
        .expect("monitor as mon");
    let privileges = mon.info().privileges;
    assert!(!privileges.superuser && privileges.read_all_stats && !privileges.can_signal());
    let full = analyse("staged", mon.refresh().await.expect("refresh"), thresholds);
    assert_eq!(full.used, 10);
    assert_eq!(count(&full, UNKNOWN_STATE), 0);
    assert_eq!(
        count(&full, "active"),
        4,
        "B, C, D and mon's own; the others are idle"
    );
    assert_eq!(full.long_running.len(), 3);

    // sample_once: connect, one refresh, analysed.
    let once = postgres::sample_once(&su_config)
        .await
        .expect("sample_once");
    assert_eq!(once.name, "staged");
    assert_eq!(once.used, 11);
    assert_eq!(once.blocking.len(), 1);
    assert!(once.sample.query_ms >= 0.0 && once.sample.query_ms < 5000.0);

    // The free `refresh` works with any client.
    let plain = postgres::refresh(su.client(), su.info())
        .await
        .expect("refresh");
    // 10, plus sample_once's session while its backend exits.
    assert!(
        (10..=11).contains(&plain.sessions.len()),
        "{}",
        plain.sessions.len()
    );
}

/// Slots run out: past max_connections - reserved the gauge is critical; at max_connections the
/// server refuses even the superuser, and the source says so. Also a refused login.
#[tokio::test]
async fn exhausted_slots_and_refused_logins_are_clear() {
    let server = PgServer::start_with(&[("max_connections", "6")]);
    let ghost = postgres::sample_once(&config("db", &server.dsn("ghost"), "1s"))
        .await
        .expect_err("no such role");
    assert!(
        ghost.contains("ghost") && ghost.contains("28000"),
        "{ghost}"
    );

    let mut held = Vec::new();
    for i in 0..4 {
        held.push(server.connect("postgres", &format!("hog{i}")).await);
    }
    let su = config("db", &server.dsn("postgres"), "1s");
    // 4 held + own = 5 of 6; usable = 6 - 3 = 3.
    let status = postgres::sample_once(&su).await.expect("a slot is left");
    assert_eq!((status.used, status.usable), (5, 3));
    assert_eq!(status.level, Health::Crit);
    assert_eq!(status.top_clients.len(), 5);

    held.push(server.connect("postgres", "hog4").await);
    // Wait until the previous sample_once's backend has exited, so all 6 slots are taken.
    let deadline = Instant::now() + STAGE_DEADLINE;
    loop {
        let n: i64 = held[0]
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        if n == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} client backends");
        tokio::time::sleep(POLL).await;
    }
    held.push(server.connect("postgres", "hog5").await);
    let refused = postgres::sample_once(&su).await.expect_err("no slot left");
    assert!(
        refused.contains("too many clients already (53300)"),
        "{refused}"
    );

    // Nothing listens: refused.
    drop(held);
    let closed = format!(
        "host=127.0.0.1 port={} user=postgres sslmode=disable",
        unused_port()
    );
    let refused = postgres::sample_once(&config("db", &closed, "1s"))
        .await
        .expect_err("nothing listens");
    assert_eq!(refused, "connection refused");
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

// ---------------------------------------------------------------------------------------------
// A fault-injecting proxy.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forward both ways.
    Pass,
    /// Close every connection and refuse new ones (the listener is closed).
    Cut,
    /// Keep connections (and accept new ones) but forward nothing; bytes are held, and sent
    /// on when the mode returns to `Pass`.
    Stall,
}

struct Proxy {
    port: u16,
    mode: watch::Sender<Mode>,
}

impl Proxy {
    async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let (mode, rx) = watch::channel(Mode::Pass);
        tokio::spawn(accept_loop(listener, port, upstream, rx));
        Self { port, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

async fn accept_loop(
    first: TcpListener,
    port: u16,
    upstream: u16,
    mut mode: watch::Receiver<Mode>,
) {
    let mut listener = Some(first);
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Cut {
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        if listener.is_none() {
            // Rebinding the same port (SO_REUSEADDR is set by tokio on Unix).
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => listener = Some(l),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(active) = listener.as_ref() else {
            continue;
        };
        tokio::select! {
            accepted = active.accept() => {
                if let Ok((socket, _)) = accepted {
                    tokio::spawn(forward(socket, upstream, mode.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

async fn forward(client: TcpStream, upstream: u16, mode: watch::Receiver<Mode>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Either direction ending (EOF, error, cut) drops both sockets.
    tokio::select! {
        _ = pump(client_read, server_write, mode.clone()) => {}
        _ = pump(server_read, client_write, mode) => {}
    }
}

/// Waits while stalled; false when cut (or the proxy is gone).
async fn passing(mode: &mut watch::Receiver<Mode>) -> bool {
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Pass => return true,
            Mode::Cut => return false,
            Mode::Stall => {
                if mode.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if !passing(&mut mode).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        // Read just before a stall: hold it until restored.
        if !passing(&mut mode).await || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run loop.

#[derive(Debug)]
enum Seen {
    Db(Box<PgStatus>),
    Live,
    Error {
        reason: String,
        retry_at: Option<SystemTime>,
        at: SystemTime,
    },
}

const GENERATION: u64 = 7;
const SOURCE_INDEX: usize = 5;
const ENTRY_INDEX: usize = 2;

/// The next report of the source, within `deadline`; checks the tags.
async fn next(rx: &mut mpsc::Receiver<SourceEvent>, deadline: Instant) -> Option<Seen> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let action = tokio::time::timeout(left, rx.recv()).await.ok()??;
        match action {
            SourceEvent::Db { generation, update } => {
                assert_eq!(generation, GENERATION);
                match update {
                    DbUpdate::Postgres { index, status } => {
                        assert_eq!(index, ENTRY_INDEX);
                        return Some(Seen::Db(status));
                    }
                    other => panic!("unexpected update {other:?}"),
                }
            }
            SourceEvent::State {
                generation,
                index,
                state,
                at,
            } => {
                assert_eq!((generation, index), (GENERATION, SOURCE_INDEX));
                match state {
                    SourceState::Live => return Some(Seen::Live),
                    SourceState::Error { reason, retry_at } => {
                        return Some(Seen::Error {
                            reason,
                            retry_at,
                            at,
                        });
                    }
                    SourceState::Connecting => continue,
                    other => panic!("unexpected state {other:?}"),
                }
            }
            other => panic!("unexpected action {other:?}"),
        }
    }
}

/// Reports until one matches `want`, within `within`; returns it, the time it took and the
/// errors seen on the way (counted, for the backoff).
async fn wait_for(
    rx: &mut mpsc::Receiver<SourceEvent>,
    within: Duration,
    what: &str,
    want: impl Fn(&Seen) -> bool,
) -> (Seen, Duration, Vec<String>) {
    let started = Instant::now();
    let deadline = started + within;
    let mut errors = Vec::new();
    loop {
        match next(rx, deadline).await {
            Some(seen) if want(&seen) => return (seen, started.elapsed(), errors),
            Some(Seen::Error { reason, .. }) => errors.push(reason),
            Some(_) => {}
            None => panic!("no {what} within {within:?}; errors on the way: {errors:?}"),
        }
    }
}

fn is_live(seen: &Seen) -> bool {
    matches!(seen, Seen::Live)
}

fn is_error(seen: &Seen) -> bool {
    matches!(seen, Seen::Error { .. })
}

fn reason(seen: &Seen) -> &str {
    match seen {
        Seen::Error { reason, .. } => reason,
        _ => "",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reports_and_recovers_from_cuts_and_stalls() {
    let server = PgServer::start();
    let proxy = Proxy::start(server.port).await;
    let refresh = Duration::from_millis(300);
    let dsn = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable connect_timeout=2",
        proxy.port
    );
    let (tx, mut rx) = mpsc::channel(256);
    let reporter = Reporter {
        tx,
        generation: GENERATION,
        index: SOURCE_INDEX,
    };
    let task = tokio::spawn(postgres::run(
        config("proxied", &dsn, "300ms"),
        ENTRY_INDEX,
        reporter,
    ));

    // Live: a refresh, then the state.
    let (first, _, errors) = wait_for(&mut rx, Duration::from_secs(10), "first refresh", |s| {
        matches!(s, Seen::Db(_))
    })
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let Seen::Db(status) = first else {
        unreachable!()
    };
    assert_eq!(status.name, "proxied");
    assert!(status.used >= 1 && status.sample.sessions.iter().any(|s| s.own));
    assert_eq!(status.usable, 17);
    assert!(!status.sample.simulated);
    let (_, took, _) = wait_for(&mut rx, Duration::from_secs(2), "live", is_live).await;
    assert!(took < Duration::from_secs(1));
    // Refreshes keep coming, one per interval.
    let started = Instant::now();
    for _ in 0..3 {
        wait_for(&mut rx, Duration::from_secs(3), "refresh", |s| {
            matches!(s, Seen::Db(_))
        })
        .await;
    }
    let three = started.elapsed();
    assert!(three >= refresh * 2, "3 refreshes in {three:?}");

    // Cut: the next refresh fails.
    proxy.set(Mode::Cut);
    let (error, took, _) =
        wait_for(&mut rx, Duration::from_secs(5), "error after cut", is_error).await;
    let intervals = took.as_secs_f64() / refresh.as_secs_f64();
    eprintln!(
        "cut → error after {took:?} ({intervals:.2} refresh intervals): {}",
        reason(&error)
    );
    assert!(
        took <= refresh * 2 + Duration::from_millis(700),
        "error after {took:?} ({intervals:.2} intervals)"
    );
    assert!(
        [
            "connection closed",
            "connection refused",
            "connection reset by peer"
        ]
        .contains(&reason(&error)),
        "{}",
        reason(&error)
    );
    if let Seen::Error { retry_at, at, .. } = &error {
        let retry_in = retry_at.and_then(|r| r.duration_since(*at).ok());
        assert!(
            retry_in.is_some_and(|d| d >= Duration::from_millis(700)),
            "{retry_in:?}"
        );
    }
    // Reconnecting is refused while cut.
    let (refused, _, _) = wait_for(&mut rx, Duration::from_secs(5), "refused", |s| {
        reason(s) == "connection refused"
    })
    .await;
    assert!(is_error(&refused));

    // Restore: live again within one backoff. The source may be sleeping the backoff of its
    // second failure, or have failed once more just before the restore: allow for the third.
    while let Ok(action) = rx.try_recv() {
        drop(action);
    }
    proxy.set(Mode::Pass);
    let bound = estimated_backoff(3) + refresh + Duration::from_secs(1);
    let (_, took, _) = wait_for(&mut rx, bound, "live after restore", is_live).await;
    eprintln!("restore → live after {took:?} (bound {bound:?})");

    // Stall: the refresh gets no answer and the deadline says so.
    wait_for(&mut rx, Duration::from_secs(3), "refresh", |s| {
        matches!(s, Seen::Db(_))
    })
    .await;
    proxy.set(Mode::Stall);
    let deadline = postgres::refresh_deadline(refresh);
    let (error, took, _) = wait_for(
        &mut rx,
        Duration::from_secs(6),
        "error after stall",
        is_error,
    )
    .await;
    eprintln!("stall → error after {took:?}: {}", reason(&error));
    assert_eq!(
        reason(&error),
        format!("no answer within {:.1}s", deadline.as_secs_f64())
    );
    assert!(
        took <= refresh + deadline + Duration::from_millis(700),
        "{took:?}"
    );
    // Reconnecting through the stall gets no answer either.
    let (error, _, _) = wait_for(
        &mut rx,
        Duration::from_secs(8),
        "second stall error",
        is_error,
    )
    .await;
    assert!(
        reason(&error).starts_with("no answer within"),
        "{}",
        reason(&error)
    );

    // Restore: live again within one backoff (a connect held by the stall completes at once).
    proxy.set(Mode::Pass);
    let bound = estimated_backoff(3) + refresh + Duration::from_secs(1);
    let (_, took, _) = wait_for(&mut rx, bound, "live after stall", is_live).await;
    eprintln!("restore → live after {took:?} (bound {bound:?})");

    // The console goes away: run returns.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run ends once the console is gone")
        .expect("run does not panic");
    drop(server);
}
