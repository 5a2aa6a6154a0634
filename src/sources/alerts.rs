//! The alerts source: Alertmanager's API v2 (alerts in every state, silences), or, without an
//! Alertmanager, Prometheus' own `/api/v1/alerts`; the alerting rules (`for`, expression) from
//! Prometheus' `/api/v1/rules` when there is a Prometheus. Polled every `refresh`, with the
//! same freshness and back-off as every other source.

use std::time::Duration;

use super::backoff::Backoff;
use super::http_client::{Access, build};
use super::kubernetes::Reporter;
use super::prometheus::{error_chain, read_body};
use crate::alerts::{self, AlertOrigin, AlertsReport};
use crate::event::SourceEvent;
use crate::event::SourceState;
use watchfloor_core::config::{AlertmanagerConfig, PrometheusConfig};
use watchfloor_core::remediation::Failure;

/// A body larger than this is refused.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Where a target's alerts are read.
pub struct AlertsSource {
    alertmanager: Option<Endpoint>,
    prometheus: Option<Endpoint>,
    refresh: Duration,
    /// Alertmanager's `receiver` filter (a regex), when configured.
    receiver: Option<String>,
}

/// One HTTP API: its client and base URL (no trailing slash).
pub struct Endpoint {
    http: reqwest::Client,
    base: String,
}

impl Endpoint {
    /// The target's Alertmanager, with its auth (shared by the source and the silence
    /// executor).
    pub fn alertmanager(config: &AlertmanagerConfig) -> Result<Self, String> {
        let http = build(&Access {
            what: "Alertmanager",
            token: config.token.as_ref(),
            username: config.username.as_deref(),
            password: config.password.as_ref(),
            headers: &config.headers,
            ca_file: config.ca_file.as_deref(),
            insecure_skip_verify: config.insecure_skip_verify,
            timeout: config.timeout,
        })?;
        Ok(Self {
            http,
            base: config.url.trim().trim_end_matches('/').to_string(),
        })
    }

    fn prometheus(config: &PrometheusConfig) -> Result<Self, String> {
        let http = build(&Access {
            what: "Prometheus",
            token: config.token.as_ref(),
            username: config.username.as_deref(),
            password: config.password.as_ref(),
            headers: &config.headers,
            ca_file: config.ca_file.as_deref(),
            insecure_skip_verify: false,
            timeout: config.timeout,
        })?;
        Ok(Self {
            http,
            base: config.url.trim().trim_end_matches('/').to_string(),
        })
    }

    /// GET `path`: the body of a 2xx answer, or what went wrong (with the server's words).
    pub async fn get(&self, what: &str, path: &str) -> Result<Vec<u8>, String> {
        self.send(what, reqwest::Method::GET, path, None)
            .await
            .map_err(|e| e.to_string())
    }

    /// `method` on `path` with an optional JSON body: the body of a 2xx answer, or what went
    /// wrong in the server's words — a 401 or 403 (Alertmanager's auth proxy) as
    /// [`Failure::Forbidden`], so the console can disable what it was refused.
    pub async fn send(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(json) = json {
            request = request.json(json);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Failed(format!("{what}: {}", error_chain(&e))))?;
        let status = response.status();
        let body = read_body(response)
            .await
            .map_err(|e| Failure::Failed(format!("{what}: {}", error_chain(&e))))?;
        if body.len() > MAX_BODY {
            return Err(format!("{what}: the answer is larger than 16 MiB").into());
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            let text = crate::text::sanitize(text.trim());
            let reason = format!("{what}: HTTP {status}: {text}");
            return Err(match status.as_u16() {
                401 | 403 => Failure::Forbidden(reason),
                _ => Failure::Failed(reason),
            });
        }
        Ok(body)
    }
}

impl AlertsSource {
    /// `None` when the target has neither an Alertmanager nor a Prometheus.
    pub fn new(
        alertmanager: Option<&AlertmanagerConfig>,
        prometheus: Option<&PrometheusConfig>,
    ) -> Option<Result<Self, String>> {
        let refresh = alertmanager
            .map(|a| a.refresh)
            .or(prometheus.map(|p| p.refresh))?;
        let build = || -> Result<Self, String> {
            Ok(Self {
                alertmanager: alertmanager.map(Endpoint::alertmanager).transpose()?,
                prometheus: prometheus.map(Endpoint::prometheus).transpose()?,
                refresh: refresh.max(Duration::from_secs(1)),
                receiver: alertmanager.and_then(|a| a.receiver.clone()),
            })
        };
        Some(build())
    }

    /// One refresh: alerts (and silences) from Alertmanager, else from Prometheus; rules from
    /// Prometheus when there is one (best effort: they only add detail).
    pub async fn fetch(&self) -> Result<AlertsReport, String> {
        let rules = async {
            match &self.prometheus {
                Some(prometheus) => prometheus
                    .get("Prometheus rules", "/api/v1/rules?type=alert")
                    .await
                    .and_then(|body| alerts::parse_prometheus_rules(&body))
                    .unwrap_or_default(),
                None => Vec::new(),
            }
        };
        match (&self.alertmanager, &self.prometheus) {
            (Some(am), _) => {
                let path = format!(
                    "/api/v2/alerts?{}",
                    alerts::list_query(self.receiver.as_deref())
                );
                let alerts = am.get("Alertmanager alerts", &path);
                let silences = am.get("Alertmanager silences", "/api/v2/silences");
                // Best effort, as the rules: it only adds detail.
                let status = async {
                    am.get("Alertmanager status", "/api/v2/status")
                        .await
                        .and_then(|body| alerts::parse_status(&body))
                        .ok()
                };
                let (alerts, silences, rules, status) =
                    tokio::join!(alerts, silences, rules, status);
                Ok(AlertsReport {
                    origin: AlertOrigin::Alertmanager,
                    alerts: alerts::parse_alertmanager_alerts(&alerts?)?,
                    silences: alerts::parse_silences(&silences?)?,
                    rules,
                    status,
                })
            }
            (None, Some(prometheus)) => {
                let alerts = prometheus.get("Prometheus alerts", "/api/v1/alerts");
                let (alerts, rules) = tokio::join!(alerts, rules);
                Ok(AlertsReport {
                    origin: AlertOrigin::Prometheus,
                    alerts: alerts::parse_prometheus_alerts(&alerts?)?,
                    silences: Vec::new(),
                    rules,
                    status: None,
                })
            }
            (None, None) => Err("no Alertmanager or Prometheus configured".into()),
        }
    }
}

/// The source task: every `refresh`, the report and `Live`; on failure the reason and a retry
/// with back-off (the console keeps the last good report and shows its age).
pub async fn run(source: Result<AlertsSource, String>, reporter: Reporter) {
    let source = match source {
        Ok(source) => source,
        Err(reason) => {
            // A configuration problem (a secret, a CA file): said once, not retried.
            let _ = reporter.state(SourceState::Unavailable { reason }).await;
            return;
        }
    };
    let mut backoff = Backoff::new(Duration::from_secs(1), source.refresh);
    loop {
        match source.fetch().await {
            Ok(report) => {
                backoff.succeeded();
                let event = SourceEvent::Alerts {
                    generation: reporter.generation,
                    report,
                };
                if reporter.tx.send(event).await.is_err()
                    || !reporter.state(SourceState::Live).await
                {
                    return;
                }
                tokio::time::sleep(source.refresh).await;
            }
            Err(reason) => {
                if !backoff.report_and_wait(&reporter, reason).await {
                    return;
                }
            }
        }
    }
}
