//! `watchfloor demo`: a simulated platform served in-process on loopback, a private kubeconfig
//! pointing at it, and a config whose target watches it like a real cluster.

use std::path::PathBuf;

use crate::config::{
    ClaimSource, ClaimsConfig, Config, KubernetesConfig, LoadedConfig, TargetConfig,
};
use watchfloor_sim::{Scenario, Sim, SimOptions};

/// The kubeconfig context the demo writes.
pub const CONTEXT: &str = "watchfloor-demo";

pub struct Demo {
    sim: Sim,
    dir: PathBuf,
    scenario: String,
}

impl Demo {
    /// Starts the simulator on a free loopback port and writes its kubeconfig to a private
    /// directory (removed by `stop`).
    pub async fn start(scenario: Scenario) -> color_eyre::Result<Self> {
        let name = scenario.name().to_string();
        let sim = Sim::start(scenario, ([127, 0, 0, 1], 0).into(), SimOptions::default()).await?;
        let dir = std::env::temp_dir().join(format!("watchfloor-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        sim.write_kubeconfig(&dir.join("kubeconfig"), CONTEXT)?;
        tracing::info!(addr = %sim.addr, scenario = %name, "demo simulator started");
        Ok(Self {
            sim,
            dir,
            scenario: name,
        })
    }

    /// A config with one target watching the simulator (and `local` servers, if given).
    pub fn loaded_config(&self, local: &LocalServers) -> LoadedConfig {
        let kubernetes = KubernetesConfig {
            kubeconfig: Some(self.dir.join("kubeconfig")),
            context: Some(CONTEXT.into()),
            namespaces: Vec::new(),
            label_selector: None,
        };
        let claims = ClaimsConfig {
            name: Some("resourceclaims".into()),
            source: toml::Spanned::new(0..0, ClaimSource::Crd),
            stuck_after: std::time::Duration::from_secs(3600),
            group: Some("poolboy.gpte.redhat.com".into()),
            version: Some("v1".into()),
            kind: Some("ResourceClaim".into()),
            plural: Some("resourceclaims".into()),
            namespaces: Vec::new(),
            state_path: None,
            ready_path: None,
            stuck_states: None,
            database: None,
            query: None,
            backlog_over: None,
        };
        let later = demo_sources(self.sim.addr, local).unwrap_or_else(|e| {
            tracing::error!(error = %e, "demo sources");
            DemoSources::default()
        });
        let target = TargetConfig {
            name: toml::Spanned::new(0..0, format!("demo ({})", self.scenario)),
            protected: false,
            read_only: false,
            kubernetes: Some(kubernetes),
            prometheus: later.prometheus,
            alertmanager: later.alertmanager,
            slo: later.slo,
            health: later.health,
            postgres: later.postgres,
            redis: later.redis,
            platform: None,
            backups: demo_backups(),
            claims: vec![claims],
            logs: later.logs,
            operators: vec![
                crate::config::OperatorConfig {
                    name: "anarchy-operator".into(),
                    namespace: "anarchy-operator".into(),
                    selector: "app=anarchy-operator".into(),
                },
                crate::config::OperatorConfig {
                    name: "poolboy".into(),
                    namespace: "poolboy".into(),
                    selector: "app=poolboy".into(),
                },
            ],
        };
        let config = Config {
            targets: vec![target],
            ..Config::default()
        };
        LoadedConfig {
            path: PathBuf::from(format!("<built-in demo: {}>", self.scenario)),
            config,
        }
    }

    /// `[serve]` for `demo --serve`: listening on `listen`, the default host key, and two users
    /// whose key pairs are generated now in the demo's private directory (printed, to try it).
    pub fn serve_config(
        &self,
        listen: std::net::SocketAddr,
    ) -> Result<crate::config::ServeConfig, String> {
        use crate::config::{ServeConfig, ServeRole, ServeUser};
        let mut users = Vec::new();
        for (name, role) in [
            ("demo-operator", ServeRole::Operator),
            ("demo-observer", ServeRole::Observer),
        ] {
            let path = self.dir.join(name);
            let line = crate::serve::keys::generate_user_key(&path, name)?;
            let port = listen.port();
            let host = listen.ip();
            println!(
                "watchfloor demo: {} key: ssh -t -p {port} -i {} -o IdentitiesOnly=yes {host}",
                role.as_str(),
                path.display()
            );
            users.push(ServeUser {
                name: name.to_string(),
                role,
                keys: vec![line],
                authorized_keys: None,
            });
        }
        Ok(ServeConfig {
            listen: listen.to_string(),
            host_key: None,
            max_viewers: 64,
            idle_timeout: std::time::Duration::from_secs(30 * 60),
            users,
        })
    }

    pub async fn stop(self) {
        self.sim.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Real servers to show in the demo's DB pane instead of the simulated ones.
#[derive(Debug, Clone, Default)]
pub struct LocalServers {
    /// A libpq DSN or URL.
    pub postgres: Option<String>,
    /// A `redis://` URL.
    pub redis: Option<String>,
}

/// The demo's sources beside Kubernetes, all served by the simulator unless `LocalServers` says
/// otherwise.
#[derive(Debug, Default, serde::Deserialize)]
struct DemoSources {
    prometheus: Option<crate::config::PrometheusConfig>,
    alertmanager: Option<crate::config::AlertmanagerConfig>,
    #[serde(default)]
    slo: Vec<crate::config::SloConfig>,
    #[serde(default)]
    health: Vec<crate::config::HealthConfig>,
    #[serde(default)]
    postgres: Vec<crate::config::PostgresConfig>,
    #[serde(default)]
    redis: Vec<crate::config::RedisConfig>,
    #[serde(default)]
    logs: Vec<crate::config::LogsConfig>,
}

/// The demo's Prometheus, SLO, health endpoint, database, cache and logs. Without local servers
/// the DB pane reads the simulator's figures, which the pane labels as simulated.
fn demo_sources(addr: std::net::SocketAddr, local: &LocalServers) -> Result<DemoSources, String> {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let (pg_name, pg_dsn) = match &local.postgres {
        Some(dsn) => ("local-postgres", quote(dsn)),
        None => ("platform-db", quote(&format!("simulated+http://{addr}"))),
    };
    let (redis_name, redis_url) = match &local.redis {
        Some(url) => ("local-redis", quote(url)),
        None => ("platform-cache", quote(&format!("simulated+http://{addr}"))),
    };
    let text = format!(
        r#"
[prometheus]
url = "http://{addr}"
[alertmanager]
url = "http://{addr}"
refresh = "5s"
[[slo]]
name = "platform-v2-api availability"
objective = 0.995
errors = 'sum(rate(http_requests_total{{namespace="platform-v2-stable",code=~"5.."}}[{{{{window}}}}]))'
total = 'sum(rate(http_requests_total{{namespace="platform-v2-stable"}}[{{{{window}}}}]))'
[[health]]
name = "platform-v2-api"
url = "http://{addr}/healthz/detailed"
[[postgres]]
name = "{pg_name}"
dsn = {pg_dsn}
long_running_after = "1m"
idle_in_transaction_after = "5m"
[[redis]]
name = "{redis_name}"
url = {redis_url}
[[logs]]
source = "kubernetes"
namespace = "platform-v2-stable"
workload = "deploy/platform-v2-api"
fields = ["request_id", "status", "duration_ms"]
"#
    );
    toml::from_str(&text).map_err(|e| e.to_string())
}

/// The demo's backup CronJobs (the simulated platform's `babylon-backup` namespace).
fn demo_backups() -> Vec<watchfloor_core::config::BackupConfig> {
    vec![watchfloor_core::config::BackupConfig {
        namespace: "babylon-backup".into(),
        cronjob: "babylon-db-backup".into(),
        description: Some("nightly PostgreSQL dump".into()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_sources_parse() {
        let later = demo_sources(([127, 0, 0, 1], 9).into(), &LocalServers::default()).unwrap();
        assert!(later.prometheus.is_some());
        assert_eq!(
            (
                later.slo.len(),
                later.health.len(),
                later.postgres.len(),
                later.redis.len(),
                later.logs.len()
            ),
            (1, 1, 1, 1, 1)
        );
    }
}
