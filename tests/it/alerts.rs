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
const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(bin: &str, args: &[String], log: PathBuf, port: u16) -> Server {
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

async fn wait_ready(server: &mut Server, path: &str) {
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
            "route: {receiver: blackhole, group_wait: 0s}\nreceivers: [{name: blackhole}]\n\
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
