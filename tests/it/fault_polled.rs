//! The polled sources (PostgreSQL, Redis, Prometheus, an HTTP health endpoint), each behind its
//! own fault proxy, in a headless console that refreshes every second. For every fault the
//! source stops saying live within the stale bound (max(2 refreshes, 20 s)), with an error that
//! says why (sanitised) and how old the data is, never says live while the fault lasts (no
//! success is reported: `last_ok` does not move), and is live again after the fault, within one
//! back-off and one interval. Detection and recovery times are printed, one table per backend
//! (`--nocapture`), for BENCHMARKS.md.
//!
//! PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) are the machine's; the
//! Prometheus (`/usr/bin/prometheus`, empty TSDB) and the health endpoint (axum) are started by
//! the tests. One test per backend, so they run in parallel.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use watchfloor::app::App;
use watchfloor::app::status::{Freshness, SourceOrigin, SourceStatus, stale_bound};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::slo::{HealthResult, HealthStatus};

use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::headless::Headless;

/// Every source refreshes this often (`refresh` / `interval` in the config below).
const REFRESH: Duration = Duration::from_secs(1);
/// Client-side timeouts where the source has one to configure (Prometheus, health).
const TIMEOUT: &str = "2s";
/// The goal for recovery is one back-off and one interval (a few seconds here); asserted with
/// slack for a loaded two-core machine. The measured value is printed.
const RECOVER_WITHIN: Duration = Duration::from_secs(45);
/// First data through the proxy, Prometheus' start included.
const START_WITHIN: Duration = Duration::from_secs(60);
/// How long each fault is held after it was detected, every step checked.
const HOLD: Duration = Duration::from_secs(3);
/// The console is ticked and looked at this often (reports are applied as they arrive).
const STEP: Duration = Duration::from_millis(50);
/// The OSC sequence in the proxy's garbage body retitles the window to this.
const GARBAGE_MARK: &str = "pwned";

/// One backend behind its proxy, watched by a headless console.
struct Rig {
    backend: &'static str,
    origin: SourceOrigin,
    proxy: FaultProxy,
    console: Headless,
    rows: Vec<String>,
}

/// One fault's figures.
struct Measured {
    detected: Duration,
    recovered: Duration,
    shown: String,
}

fn source(app: &App, origin: SourceOrigin) -> &SourceStatus {
    app.screen()
        .visible_sources()
        .iter()
        .find(|s| s.origin == origin)
        .unwrap_or_else(|| panic!("no source {origin:?}"))
}

fn freshness(app: &App, origin: SourceOrigin) -> Freshness {
    source(app, origin).freshness(app.view.now)
}

/// No control character (ESC, BEL, C1...) and nothing of the garbage's escape sequence.
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.chars().any(char::is_control) && !text.contains(GARBAGE_MARK),
        "{what} is not sanitised: {text:?}"
    );
}

impl Rig {
    async fn start(
        backend: &'static str,
        origin: SourceOrigin,
        proxy: FaultProxy,
        config: &str,
    ) -> Self {
        let console = Headless::start(config, ReadOnlyInputs::default());
        let mut rig = Self {
            backend,
            origin,
            proxy,
            console,
            rows: Vec::new(),
        };
        let origin = rig.origin;
        rig.until("live through the proxy", START_WITHIN, move |app| {
            freshness(app, origin) == Freshness::Live
        })
        .await;
        rig
    }

    fn freshness(&self) -> Freshness {
        freshness(&self.console.app, self.origin)
    }

    fn live(&self) -> impl Fn(&App) -> bool + use<> {
        let origin = self.origin;
        move |app| freshness(app, origin) == Freshness::Live
    }

    /// Applies reports for one step, returning early when `pred` holds; `check` is asserted on
    /// every state seen.
    async fn step(&mut self, pred: &impl Fn(&App) -> bool, check: &impl Fn(&App)) {
        let end = Instant::now() + STEP;
        // Never times out: the predicate holds once the step is over.
        self.console
            .wait("the end of a step", STEP * 20, |console| {
                check(&console.app);
                Instant::now() >= end || pred(&console.app)
            })
            .await;
    }

    /// Ticks the console with the real clock until `pred` holds; returns how long it took.
    async fn until(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&App) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            self.console.tick(SystemTime::now());
            if pred(&self.console.app) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < deadline,
                "{}: timed out after {deadline:?} waiting for {what} (fault {:?}); now {:?}\n{:#?}",
                self.backend,
                self.proxy.fault(),
                self.freshness(),
                source(&self.console.app, self.origin)
            );
            self.step(&pred, &|_| {}).await;
        }
    }

    /// Keeps the console running for `window`, asserting `check` on every state seen.
    async fn hold(&mut self, window: Duration, check: impl Fn(&App)) {
        let until = Instant::now() + window;
        loop {
            self.console.tick(SystemTime::now());
            check(&self.console.app);
            if Instant::now() >= until {
                return;
            }
            self.step(&|_| false, &check).await;
        }
    }

    /// Sets `fault`, measures how long until the source is not live, checks what is shown
    /// while the fault lasts, then ends the fault and measures how long until it is live.
    async fn fault(&mut self, fault: Fault) -> Measured {
        let (backend, origin) = (self.backend, self.origin);
        let bound = stale_bound(REFRESH);
        assert_eq!(
            self.freshness(),
            Freshness::Live,
            "{backend}: live before {fault:?}"
        );
        self.proxy.set(fault);
        let set_at = Instant::now();
        let detected = self
            .until(&format!("not live under {fault:?}"), bound, |app| {
                freshness(app, origin) != Freshness::Live
            })
            .await;
        let detected_at = SystemTime::now();

        // Every poll has a deadline: within the bound the source is in error, not just quiet.
        let remaining = bound.saturating_sub(set_at.elapsed());
        self.until(&format!("an error under {fault:?}"), remaining, |app| {
            matches!(freshness(app, origin), Freshness::Error { .. })
        })
        .await;

        // While the fault lasts: never live, and no success reported (`last_ok` stays put).
        self.hold(HOLD, |app| {
            let status = source(app, origin);
            let now = status.freshness(app.view.now);
            assert_ne!(now, Freshness::Live, "{backend}: live under {fault:?}");
            assert!(
                status.last_ok.is_some_and(|at| at <= detected_at),
                "{backend}: a success reported under {fault:?}: {status:#?}"
            );
        })
        .await;

        let freshness = self.freshness();
        let label = freshness.label();
        match &freshness {
            Freshness::Error { reason, age, .. } => {
                assert!(!reason.trim().is_empty(), "{backend} {fault:?}: a reason");
                assert_clean(&format!("{backend} {fault:?}: the reason"), reason);
                assert!(age.is_some(), "{backend} {fault:?}: data was seen: {label}");
                assert!(
                    label.contains(" old")
                        && (label.contains("retry in ") || label.contains("retrying…")),
                    "{backend} {fault:?}: the data age and the retry in the label: {label}"
                );
            }
            Freshness::Stale { .. } => assert!(label.starts_with("stale "), "{label}"),
            other => panic!("{backend} {fault:?}: {other:?}"),
        }
        let shown = crate::support::headless::screen(&self.console.app, (160, 40));
        assert_clean(
            &format!("{backend} {fault:?}: the screen"),
            &shown.replace('\n', ""),
        );
        // Prometheus feeds two sources: the SLOs and, without an Alertmanager, the alerts.
        let errors = if backend == "prometheus" {
            "2 source errors"
        } else {
            "1 source error"
        };
        assert!(
            shown.contains(errors) && !shown.contains("all live"),
            "{backend} {fault:?}: the header counts the error:\n{shown}"
        );

        self.proxy.set(Fault::Pass);
        let recovered = self
            .until(
                &format!("live again after {fault:?}"),
                RECOVER_WITHIN,
                self.live(),
            )
            .await;
        let measured = Measured {
            detected,
            recovered,
            shown: label,
        };
        self.record(fault, &measured);
        measured
    }

    fn record(&mut self, fault: Fault, measured: &Measured) {
        let line = format!(
            "| {} | {fault:?} | {:.1} | {:.1} | {} |",
            self.backend,
            measured.detected.as_secs_f64(),
            measured.recovered.as_secs_f64(),
            short(&measured.shown)
        );
        println!("fault case {line}");
        self.rows.push(line);
    }

    /// Every fault in turn, then the table.
    async fn run(mut self, faults: &[Fault]) {
        for &fault in faults {
            self.fault(fault).await;
        }
        self.print();
    }

    fn print(&self) {
        println!(
            "\nfault table {}: refresh {REFRESH:?}, stale bound {:?}\n| backend | fault | detection s | recovery s | shown while faulted |\n|---|---|---|---|---|\n{}\n",
            self.backend,
            stale_bound(REFRESH),
            self.rows.join("\n")
        );
    }
}

/// The label, cut to a table cell.
fn short(label: &str) -> String {
    let mut cell = label.replace('|', "/");
    if cell.chars().count() > 100 {
        cell = cell.chars().take(99).collect::<String>() + "…";
    }
    format!("`{cell}`")
}

fn one_target(sections: &str) -> String {
    format!("[[targets]]\nname = \"faults\"\n{sections}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_under_faults() {
    let proxy = FaultProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let config = one_target(&format!(
        r#"
[[targets.postgres]]
name = "pg"
dsn = "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable"
refresh = "1s"
"#,
        proxy.addr.port()
    ));
    Rig::start("postgres", SourceOrigin::Postgres(0), proxy, &config)
        .await
        .run(&[
            Fault::Refuse,
            Fault::Reset,
            Fault::Hang,
            Fault::Drip,
            Fault::Garbage,
        ])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_under_faults() {
    let proxy = FaultProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let config = one_target(&format!(
        r#"
[[targets.redis]]
name = "cache"
url = "redis://{}"
refresh = "1s"
"#,
        proxy.host_port()
    ));
    Rig::start("redis", SourceOrigin::Redis(0), proxy, &config)
        .await
        .run(&[
            Fault::Refuse,
            Fault::Reset,
            Fault::Hang,
            Fault::Drip,
            Fault::Garbage,
        ])
        .await;
}

/// A real Prometheus on a free loopback port, empty (the SLO queries answer "no data", which
/// is an answer); killed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    async fn start() -> Self {
        const BINARY: &str = "/usr/bin/prometheus";
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: the fault suite needs a real Prometheus (Debian: `apt-get install prometheus`)"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            "global: {scrape_interval: 15s}\nscrape_configs: []\n",
        )
        .expect("prometheus.yml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("prometheus starts");
        let mut prometheus = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                panic!("prometheus exited ({status}) before it was ready");
            }
            let ready = http
                .get(format!("http://{}/-/ready", prometheus.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prometheus;
            }
            assert!(
                started.elapsed() < START_WITHIN,
                "prometheus not ready within {START_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_under_faults() {
    let prometheus = Prometheus::start().await;
    let proxy = FaultProxy::start(prometheus.addr).await;
    let config = one_target(&format!(
        r#"
[targets.prometheus]
url = "http://{}"
timeout = "{TIMEOUT}"
refresh = "1s"

[[targets.slo]]
name = "api availability"
objective = 0.999
errors = 'sum(rate(prometheus_http_requests_total{{code=~"5.."}}[{{{{window}}}}]))'
total = 'sum(rate(prometheus_http_requests_total[{{{{window}}}}]))'
alerts = [{{ severity = "page", factor = 14.4, long = "1h", short = "5m" }}]
"#,
        proxy.host_port()
    ));
    Rig::start("prometheus", SourceOrigin::Prometheus, proxy, &config)
        .await
        .run(&[
            Fault::Refuse,
            Fault::Reset,
            Fault::Hang,
            Fault::Drip,
            Fault::Http500,
            Fault::Garbage,
        ])
        .await;
    drop(prometheus);
}

/// A `/healthz/detailed` endpoint: healthy, with two checks.
async fn health_endpoint() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/healthz/detailed",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({
                "status": "ok",
                "checks": {"db": {"status": "ok", "response_time": "3ms"}, "cache": "ok"}
            }))
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn health_row(app: &App) -> Option<&HealthResult> {
    app.data.slo.health.get(&0)
}

/// Our endpoint's healthy answer, as shown.
fn healthy(app: &App) -> bool {
    health_row(app).is_some_and(|r| r.status == HealthStatus::Ok && r.checks.len() == 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoint_under_faults() {
    let upstream = health_endpoint().await;
    let proxy = FaultProxy::start(upstream).await;
    let config = one_target(&format!(
        r#"
[[targets.health]]
name = "claims-api"
url = "http://{}/healthz/detailed"
timeout = "{TIMEOUT}"
interval = "1s"
"#,
        proxy.host_port()
    ));
    let mut rig = Rig::start("health", SourceOrigin::Health(0), proxy, &config).await;
    rig.until("the healthy answer shown", START_WITHIN, healthy)
        .await;
    // No answer: the source is in error.
    for fault in [Fault::Refuse, Fault::Reset, Fault::Hang, Fault::Drip] {
        rig.fault(fault).await;
        rig.until("the healthy answer shown again", RECOVER_WITHIN, healthy)
            .await;
    }
    // An answer, however bad, is data: the source stays live and the row says what came back.
    let origin = rig.origin;
    let bound = stale_bound(REFRESH);

    rig.proxy.set(Fault::Http500);
    let detected = rig
        .until("the row failing with HTTP 500", bound, |app| {
            health_row(app).is_some_and(|r| {
                matches!(r.status, HealthStatus::Down | HealthStatus::Critical)
                    && r.error.as_deref() == Some("HTTP 500 (expected 200)")
            })
        })
        .await;
    rig.until("the row critical (2 failures)", bound, |app| {
        health_row(app).is_some_and(|r| r.status == HealthStatus::Critical)
    })
    .await;
    rig.hold(HOLD, |app| {
        assert_eq!(freshness(app, origin), Freshness::Live, "an answer is data");
        let row = health_row(app).expect("a row");
        assert!(
            row.status == HealthStatus::Critical && row.http_status == Some(500),
            "{row:#?}"
        );
    })
    .await;
    let shown = crate::support::headless::screen(&rig.console.app, (160, 40));
    assert!(shown.contains("HTTP 500"), "the row says why:\n{shown}");
    rig.proxy.set(Fault::Pass);
    let recovered = rig
        .until("the healthy answer after HTTP 500", RECOVER_WITHIN, healthy)
        .await;
    rig.record(
        Fault::Http500,
        &Measured {
            detected,
            recovered,
            shown: "live; row: critical, HTTP 500 (expected 200)".into(),
        },
    );

    // 200 with a body that is not JSON: judged by the status code (as `tests/health.rs` pins):
    // healthy, without checks; nothing of the body reaches the screen raw.
    rig.proxy.set(Fault::Garbage);
    let detected = rig
        .until("the garbage answer shown", bound, |app| {
            health_row(app).is_some_and(|r| r.http_status == Some(200) && r.checks.is_empty())
        })
        .await;
    rig.hold(HOLD, |app| {
        assert_eq!(freshness(app, origin), Freshness::Live, "an answer is data");
        let row = health_row(app).expect("a row");
        assert!(
            row.checks.is_empty() && row.body_status.is_none(),
            "{row:#?}"
        );
        for text in [&row.name, &row.url].into_iter().chain(row.error.iter()) {
            assert_clean("the health row", text);
        }
    })
    .await;
    assert_clean(
        "health Garbage: the screen",
        &crate::support::headless::screen(&rig.console.app, (160, 40)).replace('\n', ""),
    );
    rig.proxy.set(Fault::Pass);
    let recovered = rig
        .until("the healthy answer after garbage", RECOVER_WITHIN, healthy)
        .await;
    rig.record(
        Fault::Garbage,
        &Measured {
            detected,
            recovered,
            shown: "live; row: ok (HTTP 200), no checks".into(),
        },
    );
    rig.print();
}

/// A console whose very first answers are garbage: every source is in error with a clean
/// reason and no data age (nothing was ever read), the panes say there is nothing yet and why,
/// and nothing of the garbage reaches the screen raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_start_is_an_error_without_data() {
    // The proxy answers by itself under Garbage: the upstream is never contacted.
    let proxy = FaultProxy::start("127.0.0.1:9".parse().unwrap()).await;
    proxy.set(Fault::Garbage);
    let config = one_target(&format!(
        r#"
[targets.prometheus]
url = "http://{addr}"
timeout = "{TIMEOUT}"
refresh = "1s"

[[targets.slo]]
name = "api availability"
objective = 0.999
ratio = 'x[{{{{window}}}}]'

[[targets.postgres]]
name = "pg"
dsn = "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
refresh = "1s"

[[targets.redis]]
name = "cache"
url = "redis://{addr}"
refresh = "1s"
"#,
        addr = proxy.host_port(),
        port = proxy.addr.port()
    ));
    let origins = [
        SourceOrigin::Prometheus,
        SourceOrigin::Postgres(0),
        SourceOrigin::Redis(0),
    ];
    let mut rig = Rig {
        backend: "garbage from the start",
        origin: SourceOrigin::Prometheus,
        proxy,
        console: Headless::start(&config, ReadOnlyInputs::default()),
        rows: Vec::new(),
    };
    let detected = rig
        .until("every source in error", stale_bound(REFRESH), |app| {
            origins
                .iter()
                .all(|o| matches!(freshness(app, *o), Freshness::Error { .. }))
        })
        .await;
    rig.hold(HOLD, |app| {
        for origin in origins {
            let status = source(app, origin);
            assert_eq!(status.last_ok, None, "{origin:?}: nothing was ever read");
            let Freshness::Error { reason, age, .. } = status.freshness(app.view.now) else {
                panic!("{origin:?} not in error: {status:#?}");
            };
            assert_eq!(age, None, "{origin:?}");
            assert_clean(&format!("{origin:?}: the reason"), &reason);
        }
    })
    .await;
    let shown = crate::support::headless::screen(&rig.console.app, (160, 40));
    assert_clean("the screen", &shown.replace('\n', ""));
    assert!(
        shown.contains("4 source errors") && shown.contains("no SLO results yet"),
        "{shown}"
    );
    println!(
        "fault case garbage from the start: all three sources in error after {:.1}s",
        detected.as_secs_f64()
    );
}

/// A real Alertmanager (Debian's `prometheus-alertmanager`), no alerts: its empty answers are
/// live data; its address and temporary directory.
async fn alertmanager() -> (crate::alerts::Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = crate::alerts::free_port();
    std::fs::write(
        dir.path().join("am.yml"),
        "route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n",
    )
    .expect("am.yml");
    let mut server = crate::alerts::spawn(
        crate::alerts::ALERTMANAGER,
        &[
            format!("--config.file={}", dir.path().join("am.yml").display()),
            format!("--storage.path={}", dir.path().join("am").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".into(),
        ],
        dir.path().join("am.log"),
        port,
    );
    crate::alerts::wait_ready(&mut server, "/-/ready").await;
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_under_faults() {
    let (alertmanager, _dir) = alertmanager().await;
    let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], alertmanager.port))).await;
    let config = one_target(&format!(
        r#"
[targets.alertmanager]
url = "http://{}"
timeout = "{TIMEOUT}"
refresh = "1s"
"#,
        proxy.host_port()
    ));
    Rig::start("alertmanager", SourceOrigin::Alerts, proxy, &config)
        .await
        .run(&[
            Fault::Refuse,
            Fault::Reset,
            Fault::Hang,
            Fault::Drip,
            Fault::Http500,
            Fault::Garbage,
        ])
        .await;
    drop(alertmanager);
}
