//! Alerts from a real Alertmanager (Debian's `prometheus-alertmanager`) fed by a real
//! Prometheus whose rules fire at once (`vector(1)` with labels; one `for: 1h` stays pending),
//! with an inhibition rule and a silence: what the alerts source reads, in every state, and
//! Prometheus' own view when there is no Alertmanager.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use watchfloor::alerts::{AlertOrigin, AlertState, AlertsReport, SilenceState};
use watchfloor::config::{AlertmanagerConfig, PrometheusConfig};
use watchfloor::sources::alerts::AlertsSource;

const PROMETHEUS: &str = "/usr/bin/prometheus";
pub(crate) const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Server {
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn spawn(bin: &str, args: &[String], log: PathBuf, port: u16) -> Server {
    assert!(
        Path::new(bin).exists(),
        "{bin} is missing: `apt-get install prometheus prometheus-alertmanager` (scripts/test does)"
    );
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    Server { child, port, log }
}

pub(crate) async fn wait_ready(server: &mut Server, path: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "exited ({status}) before it was ready:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        if let Ok(r) = http.get(format!("{}{path}", server.url())).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready in 90 s:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const RULES: &str = r#"groups:
- name: watchfloor-test
  interval: 1s
  rules:
  - alert: HighErrorRate
    expr: vector(1)
    labels: {severity: critical, service: api}
    annotations:
      summary: "5% of requests fail"
      runbook_url: "https://runbooks.example/high-error-rate"
  - alert: PodRestarts
    expr: label_replace(vector(1), "pod", "api-1", "", "") or label_replace(vector(2), "pod", "api-2", "", "")
    labels: {severity: warning, namespace: shop}
    annotations: {summary: "a pod restarts"}
  - alert: DiskLow
    expr: vector(1)
    labels: {severity: info}
  - alert: Slow
    expr: vector(1)
    for: 1h
    labels: {severity: warning}
"#;

/// Alertmanager and a Prometheus that sends it its alerts.
struct Alerting {
    _dir: tempfile::TempDir,
    alertmanager: Server,
    prometheus: Server,
}

impl Alerting {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let am_port = free_port();
        std::fs::write(
            dir.path().join("am.yml"),
            "route: {receiver: blackhole, group_wait: 0s, routes: [{receiver: pager, matchers: ['severity=\"critical\"']}]}\n\
             receivers: [{name: blackhole}, {name: pager}]\n\
             inhibit_rules:\n- source_matchers: [alertname=\"HighErrorRate\"]\n  target_matchers: [alertname=\"DiskLow\"]\n",
        )
        .unwrap();
        let mut alertmanager = spawn(
            ALERTMANAGER,
            &[
                format!("--config.file={}", dir.path().join("am.yml").display()),
                format!("--storage.path={}", dir.path().join("am").display()),
                format!("--web.listen-address=127.0.0.1:{am_port}"),
                "--cluster.listen-address=".into(),
            ],
            dir.path().join("am.log"),
            am_port,
        );
        wait_ready(&mut alertmanager, "/-/ready").await;
        std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
        std::fs::write(
            dir.path().join("prom.yml"),
            format!(
                "global: {{evaluation_interval: 1s}}\nrule_files: [{:?}]\n\
                 alerting: {{alertmanagers: [{{static_configs: [{{targets: [\"127.0.0.1:{am_port}\"]}}]}}]}}\n",
                dir.path().join("rules.yml").display().to_string()
            ),
        )
        .unwrap();
        let prom_port = free_port();
        let mut prometheus = spawn(
            PROMETHEUS,
            &[
                format!("--config.file={}", dir.path().join("prom.yml").display()),
                format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                format!("--web.listen-address=127.0.0.1:{prom_port}"),
                "--rules.alert.resend-delay=1s".into(),
            ],
            dir.path().join("prom.log"),
            prom_port,
        );
        wait_ready(&mut prometheus, "/-/ready").await;
        Self {
            _dir: dir,
            alertmanager,
            prometheus,
        }
    }

    fn alertmanager_config(&self) -> AlertmanagerConfig {
        toml::from_str(&format!("url = {:?}", self.alertmanager.url())).unwrap()
    }

    fn prometheus_config(&self) -> PrometheusConfig {
        toml::from_str(&format!("url = {:?}", self.prometheus.url())).unwrap()
    }

    /// Silences `PodRestarts` of pod api-2 for an hour; returns the silence id.
    async fn silence_api_2(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        let body = serde_json::json!({
            "matchers": [
                {"name": "alertname", "value": "PodRestarts", "isRegex": false, "isEqual": true},
                {"name": "pod", "value": "api-2", "isRegex": false, "isEqual": true},
            ],
            "startsAt": watchfloor::timestamp::rfc3339(now),
            "endsAt": watchfloor::timestamp::rfc3339(now + time::Duration::hours(1)),
            "createdBy": "test",
            "comment": "known",
        });
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v2/silences", self.alertmanager.url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["silenceID"].as_str().unwrap().to_string()
    }
}

/// Fetches until `holds` accepts a report (alerts reach Alertmanager within seconds).
async fn fetch_until(
    source: &AlertsSource,
    what: &str,
    holds: impl Fn(&AlertsReport) -> bool,
) -> AlertsReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = source.fetch().await;
        if let Ok(report) = &got
            && holds(report)
        {
            return report.clone();
        }
        assert!(Instant::now() < deadline, "{what}: last fetch {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn states(report: &AlertsReport) -> Vec<(String, Option<String>, AlertState)> {
    report
        .alerts
        .iter()
        .map(|a| (a.name.clone(), a.labels.get("pod").cloned(), a.state))
        .collect()
}

#[tokio::test]
async fn alertmanager_alerts_in_every_state_with_silences_and_rules() {
    let alerting = Alerting::start().await;
    let silence = alerting.silence_api_2().await;
    let am = alerting.alertmanager_config();
    let prom = alerting.prometheus_config();
    let source = AlertsSource::new(Some(&am), Some(&prom)).unwrap().unwrap();
    let report = fetch_until(&source, "firing, silenced and inhibited alerts", |r| {
        r.alerts.len() == 4 && r.alerts.iter().any(|a| a.state == AlertState::Inhibited)
    })
    .await;
    assert_eq!(report.origin, AlertOrigin::Alertmanager);
    // What Alertmanager says of itself: its version, no cluster (the test runs one alone).
    let status = report.status.as_ref().expect("/api/v2/status read");
    assert!(
        status.summary().starts_with("Alertmanager 0.") && status.summary().ends_with("no cluster"),
        "{status:?}"
    );
    assert_eq!(
        states(&report),
        vec![
            ("HighErrorRate".into(), None, AlertState::Firing),
            (
                "PodRestarts".into(),
                Some("api-1".into()),
                AlertState::Firing
            ),
            (
                "PodRestarts".into(),
                Some("api-2".into()),
                AlertState::Silenced
            ),
            ("DiskLow".into(), None, AlertState::Inhibited),
        ]
    );
    let high = &report.alerts[0];
    assert_eq!(
        high.runbook(),
        Some("https://runbooks.example/high-error-rate")
    );
    assert!(high.generator_url.is_some());
    assert!(high.starts_at.is_some());
    assert_eq!(report.alerts[2].silenced_by, vec![silence.clone()]);
    let silences: Vec<(&str, SilenceState, &str)> = report
        .silences
        .iter()
        .map(|s| (s.id.as_str(), s.state, s.created_by.as_str()))
        .collect();
    assert_eq!(
        silences,
        vec![(silence.as_str(), SilenceState::Active, "test")]
    );
    assert_eq!(
        report
            .silences_of(&report.alerts[2])
            .map(|s| s.comment.as_str())
            .collect::<Vec<_>>(),
        vec!["known"]
    );
    // The rules come from Prometheus: the pending one's `for` among them.
    let slow = report.rules.iter().find(|r| r.name == "Slow").unwrap();
    assert_eq!(slow.for_secs, 3600.0);
    let groups = watchfloor::alerts::groups(&report.alerts);
    assert_eq!(groups[1].name, "PodRestarts");
    assert_eq!(groups[1].varying, vec!["pod".to_string()]);

    // `receiver`: only what is routed to the pager (the critical alert), by Alertmanager.
    let mut paged = am.clone();
    paged.receiver = Some("pag.r".into());
    let pager = AlertsSource::new(Some(&paged), Some(&prom))
        .unwrap()
        .unwrap();
    let report = pager.fetch().await.unwrap();
    assert_eq!(
        report
            .alerts
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        vec!["HighErrorRate"]
    );

    // Without an Alertmanager: Prometheus' own view, pending included, no silences.
    let prometheus_only = AlertsSource::new(None, Some(&prom)).unwrap().unwrap();
    let report = fetch_until(&prometheus_only, "Prometheus' alerts", |r| {
        r.alerts.len() == 5
    })
    .await;
    assert_eq!(report.origin, AlertOrigin::Prometheus);
    let slow = report.alerts.iter().find(|a| a.name == "Slow").unwrap();
    assert_eq!(slow.state, AlertState::Pending);
    assert!(report.silences.is_empty());
}

#[tokio::test]
async fn alertmanager_down_or_answering_garbage_is_an_error_with_its_reason() {
    let alerting = Alerting::start().await;
    let mut am = alerting.alertmanager_config();
    // Garbage: Prometheus' address answers /api/v2/alerts with a 404 page.
    am.url = alerting.prometheus.url();
    let wrong = AlertsSource::new(Some(&am), None).unwrap().unwrap();
    let error = wrong.fetch().await.unwrap_err();
    assert!(error.contains("Alertmanager alerts: HTTP 404"), "{error}");
    // Nothing listens.
    am.url = format!("http://127.0.0.1:{}", free_port());
    let down = AlertsSource::new(Some(&am), None).unwrap().unwrap();
    let error = down.fetch().await.unwrap_err();
    assert!(error.contains("Alertmanager alerts"), "{error}");
    // A bad secret is a configuration error, said at once.
    let bad: AlertmanagerConfig = toml::from_str(
        "url = \"http://127.0.0.1:1\"\ntoken = { env = \"WATCHFLOOR_TEST_UNSET_TOKEN\" }",
    )
    .unwrap();
    assert!(AlertsSource::new(Some(&bad), None).unwrap().is_err());
}

// ---------------------------------------------------------------------------------------------
// Silencing from the console: the headless console drives the real flow (keys -> form -> plan
// -> Alertmanager's own matching as the preview -> confirm -> POST / DELETE), audited.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::KeyCode;
use watchfloor::app::remediate::{PreviewState, Stage};
use watchfloor::app::{App, SloRow};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::remediation::Failure;
use watchfloor::remediation::plan::{Selection, Verb};

use crate::support::headless::{Headless, char_key, key};

/// Records the methods and paths of what goes through it to Alertmanager, and refuses writes
/// (POST, DELETE) with a 403 as an auth proxy would when `deny_writes` is set.
struct RecordingProxy {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    deny_writes: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingProxy {
    async fn start(upstream: String) -> Self {
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let deny_writes = Arc::new(AtomicBool::new(false));
        let (record, deny) = (seen.clone(), deny_writes.clone());
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (record, deny, http, upstream) =
                (record.clone(), deny.clone(), http.clone(), upstream.clone());
            async move {
                let method = request.method().clone();
                let path = request
                    .uri()
                    .path_and_query()
                    .map_or("/".to_string(), |p| p.to_string());
                record
                    .lock()
                    .unwrap()
                    .push((method.to_string(), path.clone()));
                let write =
                    method == axum::http::Method::POST || method == axum::http::Method::DELETE;
                if write && deny.load(Ordering::SeqCst) {
                    return (
                        axum::http::StatusCode::FORBIDDEN,
                        "403 Forbidden: user bob is not in group oncall".to_string(),
                    );
                }
                let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
                let answer = http
                    .request(method, format!("{upstream}{path}"))
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await;
                match answer {
                    Ok(r) => (
                        axum::http::StatusCode::from_u16(r.status().as_u16()).unwrap(),
                        r.text().await.unwrap_or_default(),
                    ),
                    Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            seen,
            deny_writes,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// (method, path) of every request that was not a read.
    fn writes(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m != "GET" && m != "HEAD")
            .cloned()
            .collect()
    }

    fn reads(&self) -> usize {
        let writes = self.writes().len();
        self.seen.lock().unwrap().len() - writes
    }
}

/// A console on the test's Prometheus and an Alertmanager at `alertmanager`, auditing to `dir`.
fn console(
    alerting: &Alerting,
    alertmanager: &str,
    dir: &Path,
    inputs: ReadOnlyInputs,
) -> Headless {
    let text = format!(
        r#"
[audit]
path = {audit:?}

[[targets]]
name = "alerts"
[targets.prometheus]
url = {prometheus:?}
refresh = "1s"
[targets.alertmanager]
url = {alertmanager:?}
refresh = "1s"
"#,
        audit = dir.join("audit.jsonl").display().to_string(),
        prometheus = alerting.prometheus.url(),
    );
    Headless::start(&text, inputs)
}

/// The alert group named `name` as the console shows it: (firing, silenced).
fn group(app: &App, name: &str) -> Option<(usize, usize)> {
    app.screen()
        .slo_rows()
        .into_iter()
        .find_map(|row| match row {
            SloRow::Alert(data, group) if group.name == name => Some((
                group.firing,
                data.members(group)
                    .filter(|a| a.state == AlertState::Silenced)
                    .count(),
            )),
            _ => None,
        })
}

/// Focuses the SLO pane and moves the cursor to the alert group `name`.
fn select_group(console: &mut Headless, name: &str) {
    console.press(char_key('2'));
    console.press(char_key('g'));
    for _ in 0..20 {
        if matches!(console.app.screen().selection(), Selection::Alert(a) if a.name == name) {
            return;
        }
        console.press(char_key('j'));
    }
    panic!("no row for alert group {name}");
}

fn type_text(console: &mut Headless, text: &str) {
    for c in text.chars() {
        console.press(char_key(c));
    }
}

fn preview_of(app: &App) -> Option<Result<watchfloor::remediation::Preview, String>> {
    match &app.view.modal.as_ref()?.stage {
        Stage::Confirm {
            preview: PreviewState::Ready(p),
            ..
        } => Some(Ok(p.clone())),
        Stage::Confirm {
            preview: PreviewState::Failed(e),
            ..
        } => Some(Err(e.clone())),
        _ => None,
    }
}

async fn am_json(url: &str, path: &str) -> serde_json::Value {
    reqwest::get(format!("{url}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until Alertmanager's alerts satisfy `holds`.
async fn am_alerts_until(url: &str, what: &str, holds: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = am_json(url, "/api/v2/alerts").await;
        let list = alerts.as_array().cloned().unwrap_or_default();
        if holds(&list) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {alerts:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `(state, silencedBy)` of the PodRestarts alert of pod `pod`.
fn pod_alert(alerts: &[serde_json::Value], pod: &str) -> Option<(String, Vec<String>)> {
    alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "PodRestarts" && a["labels"]["pod"] == pod)
        .map(|a| {
            (
                a["status"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["status"]["silencedBy"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_from_the_console_mutes_what_it_previewed_and_expiring_it_works() {
    let alerting = Alerting::start().await;
    let am = alerting.alertmanager.url();
    let dir = tempfile::tempdir().unwrap();
    let mut c = console(&alerting, &am, dir.path(), ReadOnlyInputs::default());
    c.wait(
        "both PodRestarts alerts firing",
        Duration::from_secs(60),
        |c| group(&c.app, "PodRestarts") == Some((2, 0)),
    )
    .await;
    select_group(&mut c, "PodRestarts");

    // S: the form starts from what both alerts share (the pod varies, so it is not a matcher).
    c.press(char_key('S'));
    let Some(Stage::Silence { form, .. }) = c.app.view.modal.as_ref().map(|m| &m.stage) else {
        panic!("no silence dialog: {:?}", c.app.view.modal);
    };
    let texts: Vec<String> = form.matchers.iter().map(|m| m.text()).collect();
    assert_eq!(texts, [r#"alertname="PodRestarts""#, r#"namespace="shop""#]);
    // Narrow it to pod api-1 (BackTab twice: comment -> duration -> add), 1h, a comment.
    c.press(key(KeyCode::BackTab));
    c.press(key(KeyCode::BackTab));
    type_text(&mut c, r#"pod="api-1""#);
    c.press(key(KeyCode::Enter));
    c.press(key(KeyCode::Tab));
    c.press(key(KeyCode::Left));
    c.press(key(KeyCode::Tab));
    type_text(&mut c, "known crash loop, INC-7");
    c.press(key(KeyCode::Enter));

    // The preview is Alertmanager's own matching: api-1 only.
    c.wait("the silence preview", Duration::from_secs(30), |c| {
        preview_of(&c.app).is_some()
    })
    .await;
    let preview = preview_of(&c.app).unwrap().expect("preview");
    assert!(
        preview
            .summary
            .starts_with("1 alert would be silenced for 1h"),
        "{preview:?}"
    );
    assert_eq!(preview.lines.len(), 1, "{preview:?}");
    assert!(preview.lines[0].contains("PodRestarts"), "{preview:?}");
    c.press(char_key('y'));
    c.wait("the silence is created", Duration::from_secs(30), |c| {
        c.toast_texts()
            .iter()
            .any(|t| t.contains("silence") && t.contains("created"))
    })
    .await;

    // In Alertmanager: the exact matchers, one hour, the operator, the comment with the
    // attempt id of the audit lines.
    let silences = am_json(&am, "/api/v2/silences").await;
    let silences = silences.as_array().unwrap();
    assert_eq!(silences.len(), 1, "{silences:#?}");
    let silence = &silences[0];
    let id = silence["id"].as_str().unwrap().to_string();
    let mut matchers: Vec<(String, String, bool, bool)> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().into(),
                m["value"].as_str().unwrap().into(),
                m["isRegex"].as_bool().unwrap(),
                m["isEqual"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    matchers.sort();
    assert_eq!(
        matchers,
        [
            ("alertname".into(), "PodRestarts".into(), false, true),
            ("namespace".into(), "shop".into(), false, true),
            ("pod".into(), "api-1".into(), false, true),
        ]
    );
    let at = |k: &str| watchfloor::timestamp::parse_rfc3339(silence[k].as_str().unwrap()).unwrap();
    let length = (at("endsAt") - at("startsAt")).whole_seconds();
    assert!((3598..=3602).contains(&length), "{silence:#}");
    let audit = audit_lines(dir.path());
    let created = audit
        .iter()
        .find(|l| l["action"]["action"] == "silence" && l["outcome"] == "succeeded")
        .unwrap_or_else(|| panic!("no succeeded silence line: {audit:#?}"));
    let attempt = created["attempt"].as_str().unwrap();
    assert_eq!(
        silence["comment"],
        format!("known crash loop, INC-7 (watchfloor attempt {attempt})")
    );
    let operator: watchfloor::remediation::audit::Operator =
        serde_json::from_value(created["operator"].clone()).unwrap();
    assert_eq!(silence["createdBy"], operator.display());
    assert!(
        audit
            .iter()
            .any(|l| l["attempt"] == attempt && l["outcome"] == "planned"),
        "the planned line comes first: {audit:#?}"
    );

    // It silences what was previewed and nothing else.
    am_alerts_until(&am, "api-1 silenced, api-2 firing", |alerts| {
        pod_alert(alerts, "api-1") == Some(("suppressed".into(), vec![id.clone()]))
            && pod_alert(alerts, "api-2")
                .is_some_and(|(state, by)| state == "active" && by.is_empty())
            && alerts
                .iter()
                .filter(|a| a["status"]["state"] == "suppressed")
                .filter(|a| !a["status"]["silencedBy"].as_array().unwrap().is_empty())
                .count()
                == 1
    })
    .await;

    // E: the console shows the silence on the group; expiring it says who fires again.
    c.wait(
        "the console shows the silenced alert",
        Duration::from_secs(30),
        |c| group(&c.app, "PodRestarts") == Some((1, 1)),
    )
    .await;
    select_group(&mut c, "PodRestarts");
    c.press(char_key('E'));
    c.wait("the expire preview", Duration::from_secs(30), |c| {
        preview_of(&c.app).is_some()
    })
    .await;
    let preview = preview_of(&c.app).unwrap().expect("preview");
    assert_eq!(preview.summary, "1 alert would notify again", "{preview:?}");
    assert!(
        preview
            .lines
            .iter()
            .any(|l| l.starts_with("notifies again:")),
        "{preview:?}"
    );
    c.press(char_key('y'));
    c.wait("the silence is expired", Duration::from_secs(30), |c| {
        c.toast_texts().iter().any(|t| t.contains("expired"))
    })
    .await;
    let silences = am_json(&am, "/api/v2/silences").await;
    assert_eq!(silences[0]["status"]["state"], "expired", "{silences:#}");
    am_alerts_until(&am, "api-1 fires again", |alerts| {
        pod_alert(alerts, "api-1").is_some_and(|(state, by)| state == "active" && by.is_empty())
    })
    .await;
    let audit = audit_lines(dir.path());
    assert!(
        audit
            .iter()
            .any(|l| l["action"]["action"] == "expire_silence"
                && l["action"]["id"] == id.as_str()
                && l["outcome"] == "succeeded"),
        "{audit:#?}"
    );
    // `watchfloor audit` lists both like any other action: who, what, on which alerts.
    let (records, unparsable) =
        watchfloor::remediation::audit::read(&dir.path().join("audit.jsonl"), None).unwrap();
    assert_eq!(unparsable, 0);
    let text = watchfloor::remediation::audit::to_text(&records);
    for action in ["silence", "expire_silence"] {
        assert!(
            text.lines().any(|l| l.contains(&format!(" {action} "))
                && l.contains("succeeded")
                && l.contains(&operator.display())),
            "{action} in:\n{text}"
        );
    }
    assert!(
        text.contains("PodRestarts"),
        "the silenced alert is named:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sends_no_silence_write_and_a_403_disables_silencing_with_its_reason() {
    let alerting = Alerting::start().await;
    let proxy = RecordingProxy::start(alerting.alertmanager.url()).await;
    let dir = tempfile::tempdir().unwrap();

    // Read-only: every key of the dialogs pressed on the alert; nothing opens, nothing writes.
    let read_only = ReadOnlyInputs {
        flag: true,
        ..ReadOnlyInputs::default()
    };
    let mut c = console(&alerting, &proxy.url(), dir.path(), read_only);
    c.wait("alerts through the proxy", Duration::from_secs(60), |c| {
        group(&c.app, "PodRestarts").is_some()
    })
    .await;
    select_group(&mut c, "PodRestarts");
    assert!(
        c.app.screen().offers().is_empty(),
        "read-only offers nothing"
    );
    for k in ['S', 'E', 'y', 'x'] {
        c.press(char_key(k));
        c.press(key(KeyCode::Enter));
        assert!(
            c.app.view.modal.is_none(),
            "{k} opened a dialog in read-only mode"
        );
    }
    // The executor refuses too, whoever calls it.
    let target = c.config.targets[0].clone();
    let backends = watchfloor::remediation::exec::Backends::new(target);
    for action in [
        watchfloor::remediation::ActionKind::Silence {
            matchers: vec![watchfloor::alerts::Matcher::equal(
                "alertname",
                "PodRestarts",
            )],
            duration_secs: 3600,
            comment: "direct".into(),
        },
        watchfloor::remediation::ActionKind::ExpireSilence { id: "x".into() },
    ] {
        let plan = watchfloor::remediation::Plan {
            target: "alerts".into(),
            place: watchfloor::remediation::Place::Alertmanager,
            action,
            object: "direct".into(),
            change: "direct".into(),
            confirm_text: None,
        };
        let policy = c.app.view.policy.clone();
        let signature = watchfloor::remediation::exec::Signature::test();
        let error = watchfloor::remediation::exec::execute(&backends, &plan, &policy, &signature)
            .await
            .unwrap_err();
        assert!(matches!(error, Failure::ReadOnly(_)), "{error:?}");
    }
    c.settle().await;
    assert!(proxy.reads() > 0, "the alerts were read through the proxy");
    assert_eq!(
        proxy.writes(),
        Vec::<(String, String)>::new(),
        "no POST or DELETE"
    );
    drop(c);

    // An operator whose proxy refuses writes: the silence fails with the proxy's words, and
    // silencing is then offered disabled with that reason.
    proxy.deny_writes.store(true, Ordering::SeqCst);
    let mut c = console(
        &alerting,
        &proxy.url(),
        dir.path(),
        ReadOnlyInputs::default(),
    );
    c.wait("alerts through the proxy", Duration::from_secs(60), |c| {
        group(&c.app, "HighErrorRate").is_some()
    })
    .await;
    select_group(&mut c, "HighErrorRate");
    c.press(char_key('S'));
    type_text(&mut c, "page ack");
    c.press(key(KeyCode::Enter));
    c.wait("the preview", Duration::from_secs(30), |c| {
        preview_of(&c.app).is_some()
    })
    .await;
    c.press(char_key('y'));
    c.wait("the refusal", Duration::from_secs(30), |c| {
        c.toast_texts()
            .iter()
            .any(|t| t.contains("not in group oncall"))
    })
    .await;
    let offers = c.app.screen().offers();
    let silence = offers.iter().find(|o| o.verb == Verb::Silence).unwrap();
    assert!(
        silence
            .enabled
            .as_ref()
            .is_err_and(|why| why.contains("403") && why.contains("not in group oncall")),
        "{offers:?}"
    );
    assert_eq!(
        proxy.writes().len(),
        1,
        "one refused POST: {:?}",
        proxy.writes()
    );
    let audit = audit_lines(dir.path());
    assert!(
        audit
            .iter()
            .any(|l| l["action"]["action"] == "silence" && l["outcome"] == "denied"),
        "a 403 is audited as denied: {audit:#?}"
    );
}

/// The demo: its simulated Alertmanager fires the incident's alerts, and a silence made in the
/// console silences them there.
#[cfg(feature = "demo")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_alerts_and_can_silence_one() {
    let demo =
        watchfloor::demo::Demo::start(watchfloor_sim::Scenario::builtin("incident").unwrap())
            .await
            .unwrap();
    let mut loaded = demo.loaded_config(&watchfloor::demo::LocalServers::default());
    let dir = tempfile::tempdir().unwrap();
    loaded.config.audit.path = Some(dir.path().join("audit.jsonl"));
    let mut c = Headless::with_config(Arc::new(loaded.config), ReadOnlyInputs::default());
    c.wait("the incident's page", Duration::from_secs(60), |c| {
        group(&c.app, "HighErrorRate").is_some_and(|(firing, _)| firing > 0)
    })
    .await;
    select_group(&mut c, "HighErrorRate");
    c.press(char_key('S'));
    type_text(&mut c, "rolling back platform-v2-api");
    c.press(key(KeyCode::Enter));
    c.wait("the preview", Duration::from_secs(30), |c| {
        preview_of(&c.app).is_some()
    })
    .await;
    let preview = preview_of(&c.app).unwrap().expect("preview");
    assert!(
        preview.summary.contains("would be silenced for 2h"),
        "{preview:?}"
    );
    assert!(!preview.lines.is_empty(), "{preview:?}");
    c.press(char_key('y'));
    c.wait(
        "the page silenced in the console",
        Duration::from_secs(60),
        |c| {
            group(&c.app, "HighErrorRate")
                .is_some_and(|(firing, silenced)| firing == 0 && silenced > 0)
        },
    )
    .await;
    drop(c);
    demo.stop().await;
}
