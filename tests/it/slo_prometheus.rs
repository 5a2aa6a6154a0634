//! SLO evaluation against a real Prometheus (Debian's `prometheus` and `promtool`, 2.42).
//!
//! Each test writes OpenMetrics data with known answers (reference §7.2: `T_end` = now − 1 day,
//! minute-aligned, `T0 = T_end − 7h`, one sample per 60 s, counters far from zero), backfills a
//! TSDB with `promtool tsdb create-blocks-from openmetrics`, starts its own Prometheus on a free
//! loopback port (`--storage.tsdb.retention.time=30d` so the backfilled blocks are kept), waits
//! for `/-/ready` with a deadline, and evaluates at a fixed time inside the data.
//!
//! Counts are integers (2000 requests a minute; 1 error a minute = 0.0005, 40 = 0.02) so every
//! window's ratio is exact, and both code series share timestamps so `rate()` extrapolates them
//! by the same factor: the expected burn rates are Δerrors / Δtotal over the window / budget,
//! computed from the generated data, to 1e-9 relative.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use watchfloor::event::SourceEvent;

use tokio::sync::mpsc;
use watchfloor::config::{Config, PrometheusConfig, Severity, SloConfig};
use watchfloor::event::SourceState;
use watchfloor::slo::{Reading, SloResult, SloState};
use watchfloor::sources::kubernetes::Reporter;
use watchfloor::sources::prometheus::{PromClient, evaluate, run};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";
/// Samples: one a minute for 7 hours, both ends included.
const STEPS: usize = 420;
const MINUTE: i64 = 60;

// ---------------------------------------------------------------------------------------------
// Data

/// `T_end`: now minus one day, minute-aligned (inside default retention, outside the head block).
fn t_end() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - 86_400) / 60 * 60
}

fn t0(t_end: i64) -> i64 {
    t_end - STEPS as i64 * MINUTE
}

/// Cumulative request counters of one job, one value per sample.
struct Requests {
    job: String,
    errors: Vec<f64>,
    ok: Vec<f64>,
}

impl Requests {
    /// `per_step(i)` gives (requests, errors) for the minute that ends at sample `i` (1..=420).
    fn new(job: &str, per_step: impl Fn(usize) -> (u64, u64)) -> Self {
        let (mut ok, mut errors) = (vec![1_000_000.0], vec![1_000.0]);
        for i in 1..=STEPS {
            let (total, err) = per_step(i);
            ok.push(ok[i - 1] + (total - err) as f64);
            errors.push(errors[i - 1] + err as f64);
        }
        Self {
            job: job.to_string(),
            errors,
            ok,
        }
    }

    /// Error ratio over the `minutes` before sample `end` (the window start clamped to `T0`):
    /// Δerrors / Δtotal.
    fn ratio(&self, minutes: usize, end: usize) -> f64 {
        let start = end.saturating_sub(minutes);
        let errors = self.errors[end] - self.errors[start];
        let total = errors + self.ok[end] - self.ok[start];
        errors / total
    }
}

/// Incident steps: the minute ending at `t` is in the incident when `t > T_end − 1h`.
fn in_last_hour(i: usize) -> bool {
    i > STEPS - 60
}

fn steady(job: &str) -> Requests {
    Requests::new(job, |_| (2000, 1))
}

fn spike(job: &str) -> Requests {
    Requests::new(job, |i| (2000, if in_last_hour(i) { 40 } else { 1 }))
}

/// Traffic stops 2 hours before `T_end`: the counters keep being scraped but stay flat.
fn idle(job: &str) -> Requests {
    Requests::new(job, |i| if i > STEPS - 120 { (0, 0) } else { (2000, 1) })
}

fn openmetrics(t_end: i64, jobs: &[&Requests], histogram: Option<&Latency>) -> String {
    let t0 = t0(t_end);
    let mut out = String::new();
    if !jobs.is_empty() {
        out.push_str("# HELP http_requests Total requests.\n# TYPE http_requests counter\n");
        for i in 0..=STEPS {
            let ts = t0 + i as i64 * MINUTE;
            for job in jobs {
                for (code, values) in [("200", &job.ok), ("500", &job.errors)] {
                    out.push_str(&format!(
                        "http_requests_total{{job=\"{}\",code=\"{code}\"}} {} {ts}\n",
                        job.job, values[i]
                    ));
                }
            }
        }
    }
    if let Some(h) = histogram {
        out.push_str(
            "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n",
        );
        for i in 0..=STEPS {
            let ts = t0 + i as i64 * MINUTE;
            let name = "http_request_duration_seconds";
            for (le, values) in [("0.1", &h.fast), ("0.5", &h.good), ("+Inf", &h.count)] {
                out.push_str(&format!(
                    "{name}_bucket{{job=\"api\",le=\"{le}\"}} {} {ts}\n",
                    values[i]
                ));
            }
            out.push_str(&format!(
                "{name}_count{{job=\"api\"}} {} {ts}\n",
                h.count[i]
            ));
            out.push_str(&format!("{name}_sum{{job=\"api\"}} {} {ts}\n", h.sum[i]));
        }
    }
    out.push_str("# EOF\n");
    out
}

/// A latency histogram: 1000 requests a minute, 5 slower than 0.5 s (0.5%), 100 (10%) in the
/// last 30 minutes.
struct Latency {
    fast: Vec<f64>,
    good: Vec<f64>,
    count: Vec<f64>,
    sum: Vec<f64>,
}

fn latency() -> Latency {
    let mut h = Latency {
        fast: vec![500_000.0],
        good: vec![900_000.0],
        count: vec![905_000.0],
        sum: vec![100_000.0],
    };
    for i in 1..=STEPS {
        let slow = if i > STEPS - 30 { 100.0 } else { 5.0 };
        h.fast.push(h.fast[i - 1] + 700.0);
        h.good.push(h.good[i - 1] + 1000.0 - slow);
        h.count.push(h.count[i - 1] + 1000.0);
        h.sum.push(h.sum[i - 1] + 150.0 + slow);
    }
    h
}

impl Latency {
    fn ratio(&self, minutes: usize, end: usize) -> f64 {
        let start = end.saturating_sub(minutes);
        let total = self.count[end] - self.count[start];
        let good = self.good[end] - self.good[start];
        1.0 - good / total
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus

fn require_binaries() {
    for bin in [PROMETHEUS, PROMTOOL] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: these tests need a real Prometheus and promtool \
             (Debian: `apt-get install prometheus`)"
        );
    }
}

/// A backfilled TSDB in a temporary directory.
struct Tsdb {
    dir: tempfile::TempDir,
}

impl Tsdb {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn backfill(openmetrics: &str) -> Tsdb {
    require_binaries();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data.om");
    std::fs::write(&input, openmetrics).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let output = Command::new(PROMTOOL)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&data)
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool tsdb create-blocks-from openmetrics failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(
        dir.path().join("prom.yml"),
        "global: {scrape_interval: 15s}\nscrape_configs: []\n",
    )
    .unwrap();
    Tsdb { dir }
}

/// A running Prometheus; killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Prometheus {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(tsdb: &Tsdb, port: u16) -> Prometheus {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    start_with(tsdb, port, &[], "http", http).await
}

/// Starts Prometheus with `extra` arguments and waits until `/-/ready` answers through `http`.
async fn start_with(
    tsdb: &Tsdb,
    port: u16,
    extra: &[String],
    scheme: &str,
    http: reqwest::Client,
) -> Prometheus {
    require_binaries();
    let log = tsdb
        .dir
        .path()
        .join(format!("prometheus-{}.log", free_port()));
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(PROMETHEUS)
        .arg(format!(
            "--config.file={}",
            tsdb.dir.path().join("prom.yml").display()
        ))
        .arg(format!("--storage.tsdb.path={}", tsdb.data().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=30d")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("prometheus starts");
    let mut prom = Prometheus { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = prom.child.try_wait() {
            panic!(
                "prometheus exited ({status}) before it was ready:\n{}",
                std::fs::read_to_string(&prom.log).unwrap_or_default()
            );
        }
        if let Ok(response) = http
            .get(format!("{scheme}://127.0.0.1:{port}/-/ready"))
            .send()
            .await
            && response.status().is_success()
        {
            return prom;
        }
        if Instant::now() > deadline {
            prom.stop();
            panic!(
                "prometheus on port {port} not ready within 90 s:\n{}",
                std::fs::read_to_string(&prom.log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Config and assertions

fn config(url: &str, extra_prometheus: &str, slos: &str) -> Config {
    let text = format!(
        "[[targets]]\nname = \"t\"\n[targets.prometheus]\nurl = \"{url}\"\n{extra_prometheus}\n{slos}"
    );
    watchfloor::config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn parts(config: &Config) -> (PrometheusConfig, Vec<SloConfig>) {
    let target = &config.targets[0];
    (target.prometheus.clone().unwrap(), target.slo.clone())
}

/// An availability SLO over `job` in the `errors` + `total` form.
fn availability_slo(name: &str, job: &str) -> String {
    format!(
        r#"
[[targets.slo]]
name = "{name}"
objective = 0.999
errors = 'sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[{{{{window}}}}]))'
total = 'sum(rate(http_requests_total{{job="{job}"}}[{{{{window}}}}]))'
"#
    )
}

fn at(t: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

fn assert_close(got: f64, want: f64, what: &str) {
    let ok = if want == 0.0 {
        got.abs() < 1e-12
    } else {
        ((got - want) / want).abs() <= 1e-9
    };
    assert!(ok, "{what}: got {got}, want {want} (±1e-9 relative)");
}

fn value(reading: Reading, what: &str) -> f64 {
    match reading {
        Reading::Value(v) => v,
        other => panic!("{what}: expected a value, got {other:?}"),
    }
}

const WINDOWS: [(&str, usize); 7] = [
    ("5m", 5),
    ("30m", 30),
    ("1h", 60),
    ("2h", 120),
    ("6h", 360),
    ("1d", 1440),
    ("3d", 4320),
];
const PERIOD_MINUTES: usize = 30 * 1440;

fn burn(result: &SloResult, window: &str) -> Reading {
    result
        .burn
        .iter()
        .find(|(w, _)| w == window)
        .unwrap_or_else(|| panic!("{}: no {window} window in {:?}", result.name, result.burn))
        .1
}

/// Every window's burn rate equals the data's ratio / budget.
fn assert_burns(result: &SloResult, ratio: impl Fn(usize) -> f64, budget: f64) {
    let labels: Vec<&str> = result.burn.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(labels, WINDOWS.map(|(w, _)| w), "{}", result.name);
    for (window, minutes) in WINDOWS {
        let got = value(burn(result, window), &format!("{} {window}", result.name));
        assert_close(
            got,
            ratio(minutes) / budget,
            &format!("{} burn {window}", result.name),
        );
    }
}

fn firing(result: &SloResult) -> Vec<Option<bool>> {
    result.alerts.iter().map(|a| a.firing).collect()
}

fn assert_default_pairs(result: &SloResult) {
    let pairs: Vec<(Severity, f64, u64, u64)> = result
        .alerts
        .iter()
        .map(|a| (a.severity, a.factor, a.long.as_secs(), a.short.as_secs()))
        .collect();
    let want = [
        (Severity::Page, 14.4, 3600, 300),
        (Severity::Page, 6.0, 21600, 1800),
        (Severity::Ticket, 3.0, 86400, 7200),
        (Severity::Ticket, 1.0, 259200, 21600),
    ];
    assert_eq!(pairs.len(), 4);
    for (got, want) in pairs.iter().zip(want) {
        assert_eq!((got.0, got.2, got.3), (want.0, want.2, want.3));
        assert_close(got.1, want.1, "factor");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_low_error_rate() {
    let end = t_end();
    let data = steady("steady");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let prom = start(&tsdb, free_port()).await;
    let slos = availability_slo("availability", "steady")
        + r#"
[[targets.slo]]
name = "broken"
objective = 0.999
ratio = 'sum(rate(http_requests_total[{{window}}])'
"#;
    let config = config(&prom.url(), "", &slos);
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    assert_eq!(results.len(), 2);
    let r = &results[0];
    assert_eq!(r.name, "availability");
    assert_eq!(r.error, None);
    assert_eq!(r.warnings, Vec::<String>::new());
    assert_burns(r, |m| data.ratio(m, STEPS), 1.0 - 0.999);
    for (window, _) in WINDOWS {
        assert_close(value(burn(r, window), window), 0.5, "steady burn");
    }
    assert_default_pairs(r);
    assert_eq!(firing(r), [Some(false); 4]);
    assert_eq!(r.state, SloState::Ok);
    let period = data.ratio(PERIOD_MINUTES, STEPS);
    assert_close(period, 0.0005, "period ratio");
    assert_close(
        value(r.budget_remaining, "budget"),
        1.0 - period / (1.0 - 0.999),
        "budget remaining",
    );
    assert_close(value(r.budget_remaining, "budget"), 0.5, "budget remaining");
    assert_close(
        value(r.availability, "availability"),
        0.9995,
        "availability",
    );
    // r × P / b_1h = 0.5 × 720h / 0.5.
    assert_close(
        r.exhaustion.expect("exhaustion").as_secs_f64(),
        720.0 * 3600.0,
        "exhaustion",
    );
    // The exact PromQL: seven windows and the period.
    let labels: Vec<&str> = r.queries.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(labels, ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]);
    assert!(r.queries[0].1.contains("[5m]") && r.queries[7].1.contains("[30d]"));
    // Sparkline: 1h burn every 5 minutes over 6 hours.
    assert_eq!(r.sparkline.len(), 73);
    for point in &r.sparkline {
        assert_close(value(*point, "sparkline"), 0.5, "sparkline");
    }
    // History: one series per alert window, 97 points over 24h; no data before T0.
    let history_labels: Vec<&str> = r.history.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(history_labels, WINDOWS.map(|(w, _)| w));
    for (window, points) in &r.history {
        assert_eq!(points.len(), 97, "{window}");
        assert_eq!(points[96].0, end as f64);
        assert_eq!(points[0].0, (end - 86_400) as f64);
        assert_eq!(points[0].1, Reading::NoData, "{window} before the data");
        assert_close(value(points[96].1, window), 0.5, "history");
    }
    // At T0 the 5m window holds one sample: no data; 15 minutes later, a value.
    let five = &r.history[0].1;
    assert_eq!(five[68].0, t0(end) as f64);
    assert_eq!(five[68].1, Reading::NoData);
    assert_close(value(five[69].1, "5m history"), 0.5, "5m history");

    // A broken query fails its own SLO only, with Prometheus's reason.
    let broken = &results[1];
    assert_eq!(broken.state, SloState::Error);
    let error = broken.error.as_deref().unwrap();
    assert!(
        error.contains("bad_data") && error.contains("parse error"),
        "{error}"
    );

    // Answers are cached for the refresh interval: the same evaluation sends nothing new.
    let sent = client.requests_sent();
    assert_eq!(
        sent,
        2 * 16,
        "8 instant + 1 sparkline + 7 history queries per SLO"
    );
    let again = evaluate(&client, &slos[..1], at(end)).await.unwrap();
    assert_eq!(client.requests_sent(), sent);
    assert_eq!(again[0], results[0]);

    // Stale: an hour after the last sample, the short windows have no data (not 0, not ok).
    let stale = evaluate(&client, &slos[..1], at(end + 3600)).await.unwrap();
    let s = &stale[0];
    for window in ["5m", "30m", "1h"] {
        assert_eq!(burn(s, window), Reading::NoData, "stale {window}");
    }
    for window in ["2h", "6h", "1d", "3d"] {
        assert_close(value(burn(s, window), window), 0.5, "stale long windows");
    }
    assert_eq!(firing(s), [None, None, Some(false), Some(false)]);
    assert_eq!(s.state, SloState::NoData);
    assert_eq!(s.exhaustion, None);
    drop(prom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_in_the_last_hour_pages() {
    let end = t_end();
    let data = spike("spike");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let prom = start(&tsdb, free_port()).await;
    let config = config(&prom.url(), "", &availability_slo("availability", "spike"));
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    let r = &results[0];
    assert_eq!(r.error, None);
    assert_burns(r, |m| data.ratio(m, STEPS), 1.0 - 0.999);
    // The reference's known answers (§7.2).
    for (window, want) in [
        ("5m", 20.0),
        ("30m", 20.0),
        ("1h", 20.0),
        ("2h", 10.25),
        ("6h", 3.75),
        ("1d", 1380.0 / 420.0),
        ("3d", 1380.0 / 420.0),
    ] {
        assert_close(value(burn(r, window), window), want, window);
    }
    assert_default_pairs(r);
    // 14.4 on 1h/5m fires; 6 on 6h (3.75) does not; 3 on 1d (3.29)/2h (10.25) and 1 on
    // 3d/6h fire.
    assert_eq!(firing(r), [Some(true), Some(false), Some(true), Some(true)]);
    assert_eq!(r.state, SloState::Page);
    let period = data.ratio(PERIOD_MINUTES, STEPS);
    assert_close(period, 2760.0 / 840_000.0, "period ratio");
    assert_close(
        value(r.budget_remaining, "budget"),
        1.0 - 1380.0 / 420.0,
        "budget remaining (overspent, negative)",
    );
    assert_close(
        value(r.availability, "availability"),
        1.0 - 2760.0 / 840_000.0,
        "availability",
    );
    assert_eq!(r.exhaustion, Some(Duration::ZERO), "budget already spent");
    // Sparkline: 0.5 six hours ago, 10.25 half an hour ago (half the window in the incident), 20 now.
    assert_eq!(r.sparkline.len(), 73);
    assert_close(value(r.sparkline[0], "sparkline"), 0.5, "sparkline start");
    assert_close(value(r.sparkline[66], "sparkline"), 10.25, "sparkline −30m");
    assert_close(value(r.sparkline[72], "sparkline"), 20.0, "sparkline now");
    drop(prom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_traffic_is_not_zero() {
    let end = t_end();
    let data = idle("idle");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let prom = start(&tsdb, free_port()).await;
    let config = config(&prom.url(), "", &availability_slo("availability", "idle"));
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    let r = &results[0];
    assert_eq!(r.error, None);
    // The last two hours are 0/0: NaN from Prometheus, no traffic here.
    for window in ["5m", "30m", "1h", "2h"] {
        assert_eq!(burn(r, window), Reading::NoTraffic, "{window}");
    }
    for (window, minutes) in [("6h", 360), ("1d", 1440), ("3d", 4320)] {
        assert_close(
            value(burn(r, window), window),
            data.ratio(minutes, STEPS) / (1.0 - 0.999),
            window,
        );
        assert_close(value(burn(r, window), window), 0.5, window);
    }
    assert_eq!(firing(r), [None, None, None, Some(false)]);
    assert_eq!(r.state, SloState::NoTraffic);
    assert_close(value(r.budget_remaining, "budget"), 0.5, "budget remaining");
    assert_close(
        value(r.availability, "availability"),
        0.9995,
        "availability",
    );
    assert_eq!(r.exhaustion, None, "nothing burns");
    assert_eq!(r.sparkline.last(), Some(&Reading::NoTraffic));
    drop(prom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_series_is_no_data() {
    let end = t_end();
    let data = steady("steady");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let prom = start(&tsdb, free_port()).await;
    let slos = availability_slo("ghost", "ghost")
        + r#"
[[targets.slo]]
name = "ghost ratio"
objective = 0.99
ratio = 'slo:sli_error:ratio_rate{{window}}{slo="ghost"}'
"#;
    let config = config(&prom.url(), "", &slos);
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    for r in &results {
        assert_eq!(r.error, None, "{}", r.name);
        for (window, _) in WINDOWS {
            assert_eq!(burn(r, window), Reading::NoData, "{} {window}", r.name);
        }
        assert_eq!(firing(r), [None; 4], "{}", r.name);
        assert_eq!(r.state, SloState::NoData, "{}", r.name);
        assert_eq!(r.budget_remaining, Reading::NoData);
        assert_eq!(r.availability, Reading::NoData);
        assert_eq!(r.exhaustion, None);
        assert_eq!(r.sparkline.len(), 73);
        assert!(r.sparkline.iter().all(|p| *p == Reading::NoData));
    }
    drop(prom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_slo_from_histogram_buckets() {
    let end = t_end();
    let h = latency();
    let tsdb = backfill(&openmetrics(end, &[], Some(&h)));
    let prom = start(&tsdb, free_port()).await;
    let slo = r#"
[[targets.slo]]
name = "latency"
objective = 0.99
good = 'sum(rate(http_request_duration_seconds_bucket{job="api",le="0.5"}[{{window}}]))'
total = 'sum(rate(http_request_duration_seconds_count{job="api"}[{{window}}]))'
"#;
    let config = config(&prom.url(), "", slo);
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    let r = &results[0];
    assert_eq!(r.error, None);
    assert_burns(r, |m| h.ratio(m, STEPS), 1.0 - 0.99);
    for (window, want) in [
        ("5m", 10.0),
        ("30m", 10.0),
        ("1h", 5.25),
        ("2h", 2.875),
        ("6h", 4.65 / 3.6),
        ("1d", 4.95 / 4.2),
        ("3d", 4.95 / 4.2),
    ] {
        assert_close(value(burn(r, window), window), want, window);
    }
    // Only the slow ticket (1 on 3d/6h) fires.
    assert_eq!(
        firing(r),
        [Some(false), Some(false), Some(false), Some(true)]
    );
    assert_eq!(r.state, SloState::Ticket);
    assert_close(
        value(r.budget_remaining, "budget"),
        1.0 - 4.95 / 4.2,
        "budget remaining",
    );
    assert_close(
        value(r.availability, "availability"),
        1.0 - 4.95 / 420.0,
        "availability",
    );
    drop(prom);
}

/// Receives actions until `pick` accepts one, with a deadline.
async fn wait_for<T>(
    rx: &mut mpsc::Receiver<SourceEvent>,
    what: &str,
    seen: &mut Vec<String>,
    mut pick: impl FnMut(&SourceEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let action = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 60 s; saw {seen:#?}"))
            .expect("the source task ended");
        if let SourceEvent::Slo { results, .. } = &action {
            assert!(!results.is_empty(), "empty results sent");
        }
        seen.push(format!("{action:?}").chars().take(300).collect());
        if let Some(t) = pick(&action) {
            return t;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reports_an_outage_and_recovers() {
    let end = t_end();
    let data = steady("steady");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let port = free_port();
    let mut prom = start(&tsdb, port).await;
    let config = config(
        &prom.url(),
        "refresh = \"1s\"\ntimeout = \"2s\"",
        &availability_slo("availability", "steady"),
    );
    let (prometheus, slos) = parts(&config);
    let (tx, mut rx) = mpsc::channel(64);
    let reporter = Reporter {
        tx,
        generation: 7,
        index: 3,
    };
    let task = tokio::spawn(run(prometheus, slos, reporter));
    let mut seen = Vec::new();

    // Evaluated at "now": the data ended a day ago, so the 3d window holds it (0.5) and the
    // short windows are stale (no data).
    let fresh = |action: &SourceEvent| match action {
        SourceEvent::Slo {
            generation: 7,
            results,
        } => Some(results.clone()),
        _ => None,
    };
    let results = wait_for(&mut rx, "SLO results", &mut seen, fresh).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].error, None);
    assert_close(value(burn(&results[0], "3d"), "3d"), 0.5, "3d burn now");
    assert_eq!(burn(&results[0], "5m"), Reading::NoData);
    let live = |action: &SourceEvent| match action {
        SourceEvent::State {
            generation: 7,
            index: 3,
            state: SourceState::Live,
            ..
        } => Some(()),
        _ => None,
    };
    wait_for(&mut rx, "Live", &mut seen, live).await;

    // Prometheus goes away: an error with the reason, and no empty results.
    prom.stop();
    let reason = wait_for(
        &mut rx,
        "an error state",
        &mut seen,
        |action| match action {
            SourceEvent::State {
                generation: 7,
                index: 3,
                state: SourceState::Error { reason, retry_at },
                ..
            } => {
                assert!(retry_at.is_some());
                Some(reason.clone())
            }
            _ => None,
        },
    )
    .await;
    assert!(
        reason.contains("cannot connect to Prometheus")
            && reason.contains(&format!("127.0.0.1:{port}")),
        "{reason}"
    );

    // A new Prometheus on the same port with the same data: live again, fresh results.
    let prom2 = start(&tsdb, port).await;
    wait_for(&mut rx, "Live after recovery", &mut seen, live).await;
    let results = wait_for(&mut rx, "results after recovery", &mut seen, fresh).await;
    assert_close(value(burn(&results[0], "3d"), "3d"), 0.5, "3d burn after");
    task.abort();
    drop(prom2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_prometheus_is_an_error() {
    let port = free_port();
    let config = config(
        &format!("http://127.0.0.1:{port}"),
        "timeout = \"2s\"",
        &availability_slo("availability", "x"),
    );
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let err = evaluate(&client, &slos, SystemTime::now())
        .await
        .unwrap_err();
    eprintln!("unreachable: {err}");
    assert!(err.contains("cannot connect to Prometheus"), "{err}");
    // No SLOs, no queries, no error.
    assert_eq!(evaluate(&client, &[], SystemTime::now()).await, Ok(vec![]));
}

// ---------------------------------------------------------------------------------------------
// A fake Prometheus, for what a real one does not produce: warnings, auth, proxies' error
// pages, the request parameters and the concurrency bound.

mod fake {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::body::Body;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::Response;

    pub type Reply = fn(&str, &str) -> (u16, String);

    pub struct Fake {
        pub reply: Reply,
        pub requests: Mutex<Vec<(String, String, HeaderMap)>>,
        pub in_flight: AtomicUsize,
        pub max_in_flight: AtomicUsize,
    }

    async fn handle(
        State(fake): State<Arc<Fake>>,
        headers: HeaderMap,
        uri: Uri,
        body: String,
    ) -> Response {
        let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        fake.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        fake.in_flight.fetch_sub(1, Ordering::SeqCst);
        let (status, text) = (fake.reply)(uri.path(), &body);
        fake.requests
            .lock()
            .unwrap()
            .push((uri.path().to_string(), body, headers));
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .body(Body::from(text))
            .unwrap()
    }

    /// Serves `reply` on a loopback port; returns the URL and the shared state.
    pub async fn serve(reply: Reply) -> (String, Arc<Fake>) {
        let fake = Arc::new(Fake {
            reply,
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, fake)
    }
}

fn fake_ok(path: &str, _body: &str) -> (u16, String) {
    let data = if path.ends_with("query_range") {
        r#"{"resultType":"matrix","result":[]}"#
    } else {
        r#"{"resultType":"vector","result":[{"metric":{},"value":[1795258140,"1e-03"]}]}"#
    };
    (
        200,
        format!(
            r#"{{"status":"success","data":{data},"warnings":["PromQL warning: something odd"],"infos":["PromQL info: metric might not be a counter"]}}"#
        ),
    )
}

fn form_value(body: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_time_timeout_and_credentials() {
    let (url, fake) = fake::serve(fake_ok).await;
    let config = config(
        &format!("{url}/prom/"),
        "token = \"s3cret\"\ntimeout = \"5s\"\n[targets.prometheus.headers]\nX-Scope-OrgID = \"tenant-1\"",
        &(availability_slo("a", "x") + &availability_slo("b", "y")),
    );
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    let when = at(1_795_258_140);
    let results = evaluate(&client, &slos, when).await.unwrap();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.error, None);
        assert_eq!(r.state, SloState::Ok);
        // 1e-03 / (1 − 0.999) = 1.
        assert_close(value(burn(r, "5m"), "5m"), 1.0, "burn");
        assert_eq!(
            r.warnings,
            [
                "PromQL warning: something odd",
                "PromQL info: metric might not be a counter"
            ]
        );
        // An empty matrix: every sparkline point is no data, none is 0.
        assert_eq!(r.sparkline, vec![Reading::NoData; 73]);
    }
    let requests = fake.requests.lock().unwrap();
    assert_eq!(requests.len(), 32);
    for (path, body, headers) in requests.iter() {
        assert!(path.starts_with("/prom/api/v1/query"), "{path}");
        assert_eq!(headers["authorization"], "Bearer s3cret");
        assert_eq!(headers["x-scope-orgid"], "tenant-1");
        assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(form_value(body, "timeout").as_deref(), Some("4500ms"));
        assert!(form_value(body, "query").is_some());
        if path.ends_with("query_range") {
            assert_eq!(form_value(body, "end").as_deref(), Some("1795258140.000"));
            let start = form_value(body, "start").unwrap();
            let step = form_value(body, "step").unwrap();
            assert!(
                (start == "1795236540.000" && step == "300")
                    || (start == "1795171740.000" && step == "900"),
                "{start} {step}"
            );
        } else {
            assert_eq!(form_value(body, "time").as_deref(), Some("1795258140.000"));
        }
    }
    let max = fake.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=8).contains(&max), "{max} queries in flight at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_sent() {
    let (url, fake) = fake::serve(fake_ok).await;
    let config = config(
        &url,
        "username = \"ops\"\npassword = \"pw\"",
        &availability_slo("a", "x"),
    );
    let (prometheus, slos) = parts(&config);
    let client = PromClient::new(&prometheus).unwrap();
    evaluate(&client, &slos, SystemTime::now()).await.unwrap();
    let requests = fake.requests.lock().unwrap();
    // base64("ops:pw")
    assert_eq!(requests[0].2["authorization"], "Basic b3BzOnB3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_errors_and_api_errors_read_well() {
    // A proxy's HTML error page on every request: Prometheus as a whole is unreachable.
    let (url, _fake) =
        fake::serve(|_, _| (502, "<html><h1>502 Bad Gateway</h1></html>".into())).await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let (prometheus, slos) = parts(&cfg);
    let client = PromClient::new(&prometheus).unwrap();
    let err = evaluate(&client, &slos, SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        err.contains("HTTP 502 Bad Gateway") && err.contains("<h1>502"),
        "{err}"
    );

    // 200 with something that is not the API (a UI behind the url).
    let (url, _fake) = fake::serve(|_, _| (200, "<html>grafana</html>".into())).await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let client = PromClient::new(&parts(&cfg).0).unwrap();
    let err = evaluate(&client, &slos, SystemTime::now())
        .await
        .unwrap_err();
    assert!(err.contains("not Prometheus API JSON"), "{err}");

    // API errors fail the SLO, not the source.
    let (url, _fake) = fake::serve(|_, _| {
        (
            422,
            r#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}"#.into(),
        )
    })
    .await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let client = PromClient::new(&parts(&cfg).0).unwrap();
    let results = evaluate(&client, &slos, SystemTime::now()).await.unwrap();
    assert_eq!(results[0].state, SloState::Error);
    assert_eq!(
        results[0].error.as_deref(),
        Some(
            "5m window: the query failed in Prometheus (execution): found duplicate series for the match group"
        )
    );

    // Server-side timeouts likewise.
    let (url, _fake) = fake::serve(|_, _| {
        (
            503,
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#.into(),
        )
    })
    .await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let client = PromClient::new(&parts(&cfg).0).unwrap();
    let results = evaluate(&client, &slos, SystemTime::now()).await.unwrap();
    let error = results[0].error.as_deref().unwrap();
    assert!(
        error.contains("timed out in Prometheus (timeout)"),
        "{error}"
    );

    // `unavailable` everywhere is an outage.
    let (url, _fake) = fake::serve(|_, _| {
        (
            503,
            r#"{"status":"error","errorType":"unavailable","error":"TSDB not ready"}"#.into(),
        )
    })
    .await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let client = PromClient::new(&parts(&cfg).0).unwrap();
    let err = evaluate(&client, &slos, SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        err.contains("unavailable") && err.contains("TSDB not ready"),
        "{err}"
    );

    // Garbage in a success envelope fails the SLO without panicking.
    let (url, _fake) = fake::serve(|_, _| {
        (
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,7]}]}}"#.into(),
        )
    })
    .await;
    let cfg = config(&url, "", &availability_slo("a", "x"));
    let client = PromClient::new(&parts(&cfg).0).unwrap();
    let results = evaluate(&client, &slos, SystemTime::now()).await.unwrap();
    assert!(
        results[0]
            .error
            .as_deref()
            .unwrap()
            .contains("malformed sample"),
        "{:?}",
        results[0].error
    );
}

#[test]
fn client_config_errors() {
    let bad_ca = config(
        "http://127.0.0.1:1",
        "ca_file = \"/nonexistent/ca.pem\"",
        "",
    );
    let err = PromClient::new(&parts(&bad_ca).0).unwrap_err();
    assert!(
        err.contains("ca_file") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let c = config(
        "http://127.0.0.1:1",
        &format!("ca_file = \"{}\"", not_pem.display()),
        "",
    );
    let err = PromClient::new(&parts(&c).0).unwrap_err();
    assert!(err.contains("no PEM certificate"), "{err}");
    let c = config(
        "http://127.0.0.1:1",
        "token = { env = \"WATCHFLOOR_TEST_UNSET_TOKEN\" }",
        "",
    );
    let err = PromClient::new(&parts(&c).0).unwrap_err();
    assert!(err.contains("WATCHFLOOR_TEST_UNSET_TOKEN"), "{err}");
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (needed to make a test CA)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Prometheus serving HTTPS with a certificate from a private CA: the client trusts it only
/// through `ca_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ca_over_https() {
    let end = t_end();
    let data = steady("steady");
    let tsdb = backfill(&openmetrics(end, &[&data], None));
    let dir = tsdb.dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=watchfloor test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        ),
    )
    .unwrap();
    let ca_pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let ready_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .tls_certs_merge([reqwest::Certificate::from_pem(&ca_pem).unwrap()])
        .build()
        .unwrap();
    let port = free_port();
    let web = format!("--web.config.file={}", dir.join("web.yml").display());
    let prom = start_with(&tsdb, port, &[web], "https", ready_client).await;

    let url = format!("https://127.0.0.1:{port}");
    let slo = availability_slo("availability", "steady");
    let trusted = config(
        &url,
        &format!("ca_file = \"{}\"", dir.join("ca.pem").display()),
        &slo,
    );
    let (prometheus, slos) = parts(&trusted);
    let client = PromClient::new(&prometheus).unwrap();
    let results = evaluate(&client, &slos, at(end)).await.unwrap();
    assert_eq!(results[0].error, None);
    assert_close(value(burn(&results[0], "5m"), "5m"), 0.5, "burn over https");
    assert_eq!(results[0].state, SloState::Ok);

    // Without the CA the certificate is not trusted: an error naming the cause, not a panic.
    let untrusted = config(&url, "", &slo);
    let client = PromClient::new(&parts(&untrusted).0).unwrap();
    let err = evaluate(&client, &slos, at(end)).await.unwrap_err();
    eprintln!("untrusted: {err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    drop(prom);
}
