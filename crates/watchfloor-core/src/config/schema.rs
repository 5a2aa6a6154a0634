//! The config file's schema. Every struct denies unknown keys so a typo is an error, not a silent
//! default. Semantic rules that serde cannot express live in `validate`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::secret::Secret;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Read-only for every target (an observer's install).
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// `watchfloor serve`: the console over SSH. Absent: `serve` refuses to start.
    #[serde(default)]
    pub serve: Option<ServeConfig>,
}

/// `[serve]`: who may attach to `watchfloor serve` over SSH, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address and port to listen on, e.g. `127.0.0.1:2222` or `[::]:2222`.
    #[serde(default = "default_serve_listen")]
    pub listen: String,
    /// The server's ed25519 host key (OpenSSH format); generated with mode 0600 when missing.
    /// Default `$XDG_STATE_HOME/watchfloor/ssh_host_ed25519_key`.
    pub host_key: Option<PathBuf>,
    /// Sessions served at once; the next one is told so and closed.
    #[serde(default = "default_max_viewers")]
    pub max_viewers: usize,
    /// A session that sends no input for this long is closed.
    #[serde(default = "default_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
    #[serde(default)]
    pub users: Vec<ServeUser>,
}

impl ServeConfig {
    /// `listen` as an address, when it is one (checked when the config is loaded).
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }
}

fn default_serve_listen() -> String {
    "127.0.0.1:2222".to_string()
}
fn default_max_viewers() -> usize {
    32
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(30 * 60)
}

/// `[[serve.users]]`: a person, known by their SSH keys (the SSH user name is ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeUser {
    pub name: String,
    #[serde(default)]
    pub role: ServeRole,
    /// OpenSSH public key lines (`ssh-ed25519 AAAA… comment`).
    #[serde(default)]
    pub keys: Vec<String>,
    /// An OpenSSH `authorized_keys` file, read when `serve` starts (options are ignored).
    pub authorized_keys: Option<PathBuf>,
}

/// What a served session may do: an observer's is read-only whatever the rest of the config says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServeRole {
    #[default]
    Observer,
    Operator,
}

impl ServeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Observer => "observer",
            Self::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Upper bound on redraws per second.
    #[serde(default = "default_max_fps")]
    pub max_fps: u32,
    #[serde(default)]
    pub theme: ThemeName,
    /// Command name -> key or keys, replacing that command's default keys; dialog and text
    /// input commands too (see `app::keymap::COMMANDS`).
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<KeyList>>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            max_fps: default_max_fps(),
            theme: ThemeName::default(),
            keys: BTreeMap::new(),
        }
    }
}

fn default_max_fps() -> u32 {
    30
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Self::One(key) => vec![key.as_str()],
            Self::Many(keys) => keys.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// JSON-lines audit trail of remediations; default `$XDG_STATE_HOME/watchfloor/audit.jsonl`.
    pub path: Option<PathBuf>,
    /// A `[[targets.postgres]]` entry (of any target; `TARGET/ENTRY` when the name is not
    /// unique) whose database gets a best-effort copy of the trail.
    pub postgres: Option<String>,
}

impl Config {
    /// The target and `[[targets.postgres]]` entry `[audit] postgres` names: an entry name
    /// unique across targets, or `TARGET/ENTRY`. Ok(None) when no mirror is configured; Err
    /// when the name matches no entry or several.
    pub fn audit_postgres(&self) -> Result<Option<(&TargetConfig, &PostgresConfig)>, String> {
        let Some(name) = self.audit.postgres.as_deref() else {
            return Ok(None);
        };
        let matches: Vec<(&TargetConfig, &PostgresConfig)> = self
            .targets
            .iter()
            .flat_map(|t| t.postgres.iter().map(move |p| (t, p)))
            .filter(|(_, p)| p.name == name)
            .collect();
        match matches.as_slice() {
            [one] => return Ok(Some(*one)),
            [] => {}
            several => {
                let targets: Vec<&str> = several.iter().map(|(t, _)| t.name()).collect();
                return Err(format!(
                    "{name:?} names a [[targets.postgres]] entry of several targets ({}); write TARGET/{name}",
                    targets.join(", ")
                ));
            }
        }
        let qualified = name.split_once('/').and_then(|(target, entry)| {
            let target = self.targets.iter().find(|t| t.name() == target)?;
            let entry = target.postgres.iter().find(|p| p.name == entry)?;
            Some((target, entry))
        });
        match qualified {
            Some(found) => Ok(Some(found)),
            None => Err(format!(
                "{name:?} names no [[targets.postgres]] entry of any target"
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub name: Spanned<String>,
    /// Production: remediations need the object's name typed before confirmation.
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub read_only: bool,
    pub kubernetes: Option<KubernetesConfig>,
    pub prometheus: Option<PrometheusConfig>,
    /// Alerts and silences; without it the alerts come from `prometheus` (no silences).
    pub alertmanager: Option<AlertmanagerConfig>,
    #[serde(default)]
    pub slo: Vec<SloConfig>,
    #[serde(default)]
    pub health: Vec<HealthConfig>,
    #[serde(default)]
    pub postgres: Vec<PostgresConfig>,
    #[serde(default)]
    pub redis: Vec<RedisConfig>,
    #[serde(default)]
    pub claims: Vec<ClaimsConfig>,
    #[serde(default)]
    pub logs: Vec<LogsConfig>,
    /// Operators whose pods the runbooks restart (delete) when claims get stuck.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// `[targets.platform]`: which platform checks run and their thresholds. Absent: the
    /// defaults (every check on).
    pub platform: Option<PlatformConfig>,
    /// `[[targets.backups]]`: the CronJobs that are backups, shown in the summary line.
    #[serde(default)]
    pub backups: Vec<BackupConfig>,
}

/// `[targets.platform]`: the platform checks (resource usage, workloads, certificates, nodes,
/// events) of a target with `[targets.kubernetes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// Poll the metrics API (`metrics.k8s.io`) for pod and node usage.
    #[serde(default = "yes")]
    pub metrics: bool,
    #[serde(default = "default_metrics_interval", with = "humantime_serde")]
    pub metrics_interval: Duration,
    /// Memory usage from this fraction of the limit is a warning.
    #[serde(default = "default_memory_warn")]
    pub memory_warn: Spanned<f64>,
    /// A CronJob whose last success is older than its interval × this is stale.
    #[serde(default = "default_stale_factor")]
    pub cronjob_stale_factor: Spanned<f64>,
    /// Certificates expiring within this are a warning.
    #[serde(default = "default_cert_warn", with = "humantime_serde")]
    pub cert_warn: Duration,
    /// Certificates expiring within this (or not ready) are critical.
    #[serde(default = "default_cert_crit", with = "humantime_serde")]
    pub cert_crit: Duration,
    /// Watch Warning events.
    #[serde(default = "yes")]
    pub events: bool,
    /// Watch nodes (cluster-scoped: needs list/watch on nodes).
    #[serde(default = "yes")]
    pub nodes: bool,
    /// Watch cert-manager Certificates, else Ingress TLS Secrets.
    #[serde(default = "yes")]
    pub certificates: bool,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            metrics: true,
            metrics_interval: default_metrics_interval(),
            memory_warn: default_memory_warn(),
            cronjob_stale_factor: default_stale_factor(),
            cert_warn: default_cert_warn(),
            cert_crit: default_cert_crit(),
            events: true,
            nodes: true,
            certificates: true,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_metrics_interval() -> Duration {
    Duration::from_secs(15)
}
fn default_memory_warn() -> Spanned<f64> {
    Spanned::new(0..0, 0.9)
}
fn default_stale_factor() -> Spanned<f64> {
    Spanned::new(0..0, 1.5)
}
fn default_cert_warn() -> Duration {
    Duration::from_secs(14 * 86_400)
}
fn default_cert_crit() -> Duration {
    Duration::from_secs(3 * 86_400)
}

/// `[[targets.backups]]`: a CronJob that is a backup. Its namespace is watched for CronJobs
/// and Jobs even when `[targets.kubernetes] namespaces` does not list it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    pub namespace: String,
    pub cronjob: String,
    /// Shown beside it, e.g. "nightly PostgreSQL dump".
    pub description: Option<String>,
}

/// An operator restarted by deleting its pods (poolboy, anarchy, agnosticv, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    pub name: String,
    pub namespace: String,
    /// Label selector of its pods, e.g. `app.kubernetes.io/name=poolboy`.
    pub selector: String,
}

impl TargetConfig {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// The platform checks' settings: `[targets.platform]`, or the defaults.
    pub fn platform(&self) -> PlatformConfig {
        self.platform.clone().unwrap_or_default()
    }

    /// The namespaces to watch: `[targets.kubernetes] namespaces` plus those of the
    /// `[[targets.backups]]` (a backup's namespace is watched even when not listed), each
    /// once. Empty means all namespaces (the backups are in them anyway).
    pub fn watched_namespaces(&self) -> Vec<String> {
        let mut namespaces = self
            .kubernetes
            .as_ref()
            .map(|k| k.namespaces.clone())
            .unwrap_or_default();
        if namespaces.is_empty() {
            return namespaces;
        }
        for backup in &self.backups {
            if !namespaces.contains(&backup.namespace) {
                namespaces.push(backup.namespace.clone());
            }
        }
        namespaces
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// kubeconfig file; default as kubectl finds it (`KUBECONFIG`, then `~/.kube/config`), then
    /// in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context; the current context when absent.
    pub context: Option<String>,
    /// Namespaces to watch; empty means all namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
    pub label_selector: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub url: String,
    pub token: Option<Secret>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_prometheus_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default = "default_prometheus_refresh", with = "humantime_serde")]
    pub refresh: Duration,
}

/// `[targets.alertmanager]`: Alertmanager's API v2, with the same kinds of credentials as
/// Prometheus (usually a reverse proxy in front of it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub url: String,
    pub token: Option<Secret>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (a warning at start and in check-config).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default = "default_prometheus_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How often alerts and silences are read.
    #[serde(default = "default_alerts_refresh", with = "humantime_serde")]
    pub refresh: Duration,
    /// Only the alerts routed to receivers whose name matches this regex (Alertmanager's own
    /// `receiver` filter), e.g. the on-call team's pager; all alerts when absent.
    pub receiver: Option<String>,
}

fn default_alerts_refresh() -> Duration {
    Duration::from_secs(15)
}

fn default_prometheus_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_prometheus_refresh() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    pub name: String,
    /// Target fraction of good events, e.g. 0.999.
    pub objective: Spanned<f64>,
    #[serde(default = "default_slo_period", with = "humantime_serde")]
    pub period: Duration,
    /// PromQL templates; `{{window}}` is replaced by the window, e.g. `5m`.
    pub errors: Option<String>,
    pub good: Option<String>,
    pub total: Option<String>,
    pub ratio: Option<String>,
    /// Overrides the four default multiwindow alert pairs.
    pub alerts: Option<Vec<AlertPairConfig>>,
}

fn default_slo_period() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertPairConfig {
    pub severity: Severity,
    pub factor: f64,
    #[serde(with = "humantime_serde")]
    pub long: Duration,
    #[serde(with = "humantime_serde")]
    pub short: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    pub name: String,
    pub url: String,
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    #[serde(default = "default_health_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default = "default_health_interval", with = "humantime_serde")]
    pub interval: Duration,
}

fn default_expect_status() -> u16 {
    200
}
fn default_health_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_health_interval() -> Duration {
    Duration::from_secs(15)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    pub name: String,
    /// libpq key/value string or URL; may hold a password, so it is a secret.
    pub dsn: Secret,
    pub password: Option<Secret>,
    #[serde(default = "default_long_running", with = "humantime_serde")]
    pub long_running_after: Duration,
    #[serde(default = "default_idle_in_tx", with = "humantime_serde")]
    pub idle_in_transaction_after: Duration,
    #[serde(default = "default_warn_at")]
    pub warn_at: Spanned<f64>,
    #[serde(default = "default_crit_at")]
    pub crit_at: Spanned<f64>,
    #[serde(default = "default_db_refresh", with = "humantime_serde")]
    pub refresh: Duration,
}

fn default_long_running() -> Duration {
    Duration::from_secs(300)
}
fn default_idle_in_tx() -> Duration {
    Duration::from_secs(3600)
}
fn default_warn_at() -> Spanned<f64> {
    Spanned::new(0..0, 0.8)
}
fn default_crit_at() -> Spanned<f64> {
    Spanned::new(0..0, 0.95)
}
fn default_db_refresh() -> Duration {
    Duration::from_secs(2)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub name: String,
    /// `redis://` or `rediss://`.
    pub url: Secret,
    pub username: Option<Secret>,
    pub password: Option<Secret>,
    #[serde(default = "default_db_refresh", with = "humantime_serde")]
    pub refresh: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimSource {
    Crd,
    Sql,
}

/// A source of "work that should have finished by now": a CRD or a SQL query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConfig {
    pub name: Option<String>,
    pub source: Spanned<ClaimSource>,
    #[serde(default = "default_stuck_after", with = "humantime_serde")]
    pub stuck_after: Duration,
    // source = "crd"
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub plural: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    pub state_path: Option<String>,
    pub ready_path: Option<String>,
    pub stuck_states: Option<Vec<String>>,
    // source = "sql"
    pub database: Option<String>,
    pub query: Option<String>,
    pub backlog_over: Option<u64>,
}

fn default_stuck_after() -> Duration {
    Duration::from_secs(3600)
}

impl ClaimsConfig {
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.source.get_ref() {
            ClaimSource::Crd => format!(
                "{}.{}",
                self.plural.as_deref().unwrap_or("?"),
                self.group.as_deref().unwrap_or("?")
            ),
            ClaimSource::Sql => format!("sql:{}", self.database.as_deref().unwrap_or("?")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    Kubernetes,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    pub name: Option<String>,
    pub source: Spanned<LogSource>,
    // source = "kubernetes"
    pub namespace: Option<String>,
    pub selector: Option<String>,
    /// `deploy/NAME`, `sts/NAME`, `ds/NAME` or `job/NAME`.
    pub workload: Option<String>,
    pub container: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub since: Option<Duration>,
    pub tail: Option<u64>,
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
    // source = "file"
    pub path: Option<String>,
    /// JSON fields shown beside the message.
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default = "default_buffer_lines")]
    pub buffer_lines: usize,
}

fn default_max_streams() -> usize {
    50
}
fn default_buffer_lines() -> usize {
    20_000
}

impl LogsConfig {
    /// A source opened from the Pods pane: a workload (`deploy/NAME`) or one pod (`pod/NAME`).
    pub fn ad_hoc(name: &str, namespace: &str, workload: &str) -> Self {
        Self {
            name: Some(name.to_string()),
            source: Spanned::new(0..0, LogSource::Kubernetes),
            namespace: Some(namespace.to_string()),
            selector: None,
            workload: Some(workload.to_string()),
            container: None,
            since: None,
            tail: None,
            max_streams: default_max_streams(),
            path: None,
            fields: Vec::new(),
            buffer_lines: default_buffer_lines(),
        }
    }

    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.source.get_ref() {
            LogSource::Kubernetes => {
                let ns = self.namespace.as_deref().unwrap_or("?");
                let what = self
                    .workload
                    .as_deref()
                    .or(self.selector.as_deref())
                    .unwrap_or("?");
                format!("{ns}/{what}")
            }
            LogSource::File => self.path.clone().unwrap_or_default(),
        }
    }
}

impl AsRef<KeyList> for KeyList {
    fn as_ref(&self) -> &KeyList {
        self
    }
}
