//! Backend sources: one task per configured source, reporting to the UI through `SourceEvent`s.
//!
//! Each task owns its connection, timeouts and backoff; the UI task never waits on a backend.

pub mod alerts;
pub mod backends;
pub mod backoff;
pub mod claims;
pub mod claims_sql;
pub mod health;
pub mod http_client;
pub mod kube_watch;
pub mod kubernetes;
pub mod log_sink;
pub mod logs_file;
pub mod logs_kube;
pub mod pg_connect;
pub mod pg_signal;
pub mod platform;
pub mod pod_detail;
pub mod postgres;
pub mod prometheus;
pub mod redis;
#[cfg(feature = "demo")]
pub mod simulated;
pub mod yaml;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::event::SourceEvent;
use crate::event::{SourceOrigin, SourceState, source_origins};
use backends::PgProbe;
use kubernetes::Reporter;
use watchfloor_core::config::{ClaimSource, LogSource, TargetConfig};

/// The running source tasks of one target. Dropping it stops them all.
#[derive(Debug, Default)]
pub struct SourceSet {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SourceSet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the sources of `target`, tagging their reports with `generation`.
pub fn start(target: &TargetConfig, generation: u64, tx: mpsc::Sender<SourceEvent>) -> SourceSet {
    let mut tasks = Vec::new();
    let kubernetes = target.kubernetes.clone().unwrap_or_default();
    // One probe per database: for a real server one monitoring connection, shared by the DB
    // pane and the SQL claims entries that read it.
    let probes: Vec<Result<Arc<dyn PgProbe>, String>> =
        target.postgres.iter().map(backends::pg_probe).collect();
    for (index, origin) in source_origins(target).into_iter().enumerate() {
        let reporter = Reporter {
            tx: tx.clone(),
            generation,
            index,
        };
        let task = match origin {
            SourceOrigin::Kubernetes => tokio::spawn(kubernetes::run(kubernetes.clone(), reporter)),
            SourceOrigin::Platform => {
                // The backups' namespaces are watched even when the target does not list them.
                let mut config = kubernetes.clone();
                config.namespaces = target.watched_namespaces();
                tokio::spawn(platform::run(config, target.platform(), reporter))
            }
            SourceOrigin::Claims(i) if *target.claims[i].source.get_ref() == ClaimSource::Crd => {
                tokio::spawn(claims::run(
                    kubernetes.clone(),
                    target.claims[i].clone(),
                    i,
                    reporter,
                ))
            }
            SourceOrigin::Claims(i) => {
                let claims = target.claims[i].clone();
                let name = claims.database.clone().unwrap_or_default();
                match target.postgres.iter().position(|p| p.name == name) {
                    Some(entry) => match &probes[entry] {
                        Ok(probe) => match probe.clone().sql_link() {
                            Some(link) => {
                                tokio::spawn(claims_sql::run_shared(link, claims, i, reporter))
                            }
                            None => unavailable(
                                reporter,
                                format!("database {name:?} is simulated: it runs no SQL query"),
                            ),
                        },
                        Err(reason) => unavailable(reporter, reason.clone()),
                    },
                    // Config validation rejects this; say so rather than stay silent.
                    None => {
                        unavailable(reporter, format!("no [[targets.postgres]] named {name:?}"))
                    }
                }
            }
            SourceOrigin::Postgres(i) => match &probes[i] {
                Ok(probe) => tokio::spawn(postgres::run_probe(
                    probe.clone(),
                    target.postgres[i].clone(),
                    i,
                    reporter,
                )),
                Err(reason) => unavailable(reporter, reason.clone()),
            },
            SourceOrigin::Redis(i) => {
                let config = target.redis[i].clone();
                match backends::redis_probe(&config) {
                    Ok(probe) => tokio::spawn(redis::run_probe(probe, config, i, reporter)),
                    Err(reason) => unavailable(reporter, reason),
                }
            }
            SourceOrigin::Prometheus => match &target.prometheus {
                Some(config) => tokio::spawn(prometheus::run(
                    config.clone(),
                    target.slo.clone(),
                    reporter,
                )),
                None => continue,
            },
            SourceOrigin::Alerts => {
                match alerts::AlertsSource::new(
                    target.alertmanager.as_ref(),
                    target.prometheus.as_ref(),
                ) {
                    Some(source) => tokio::spawn(alerts::run(source, reporter)),
                    None => continue,
                }
            }
            SourceOrigin::Health(i) => {
                tokio::spawn(health::run(target.health[i].clone(), i, reporter))
            }
            SourceOrigin::Logs(i) => {
                let sink = crate::sources::log_sink::LogSink::new(tx.clone(), generation, i);
                let config = target.logs[i].clone();
                match config.source.get_ref() {
                    LogSource::Kubernetes => {
                        tokio::spawn(logs_kube::run(kubernetes.clone(), config, sink))
                    }
                    LogSource::File => tokio::spawn(logs_file::run(config, sink)),
                }
            }
        };
        tasks.push(task);
    }
    SourceSet { tasks }
}

/// A source that cannot run: says why once (the config check rejects most such entries).
fn unavailable(reporter: Reporter, reason: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = reporter.state(SourceState::Unavailable { reason }).await;
    })
}
