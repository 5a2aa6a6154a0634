//! Backend sources: one task per configured source, reporting to the UI through `SourceEvent`s.
//!
//! Each task owns its connection, timeouts and backoff; the UI task never waits on a backend.

pub mod claims;
pub mod claims_sql;
pub mod health;
pub mod kube_watch;
pub mod kubernetes;
pub mod log_sink;
pub mod logs_file;
pub mod logs_kube;
pub mod pg_connect;
pub mod pod_detail;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod simulated_db;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::event::SourceEvent;
use crate::event::{SourceOrigin, SourceState, source_origins};
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
    // One monitoring connection per real database, shared by the DB pane and the SQL claims
    // entries that read it.
    let links: Vec<Option<std::sync::Arc<postgres::PgLink>>> = target
        .postgres
        .iter()
        .map(|p| {
            simulated_db::simulator(&p.dsn)
                .is_none()
                .then(|| postgres::PgLink::new(p.clone()))
        })
        .collect();
    for (index, origin) in source_origins(target).into_iter().enumerate() {
        let reporter = Reporter {
            tx: tx.clone(),
            generation,
            index,
        };
        let task = match origin {
            SourceOrigin::Kubernetes => tokio::spawn(kubernetes::run(kubernetes.clone(), reporter)),
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
                    Some(entry) => match &links[entry] {
                        Some(link) => {
                            tokio::spawn(claims_sql::run_shared(link.clone(), claims, i, reporter))
                        }
                        None => tokio::spawn(claims_sql::run(
                            target.postgres[entry].clone(),
                            claims,
                            i,
                            reporter,
                        )),
                    },
                    // Config validation rejects this; say so rather than stay silent.
                    None => tokio::spawn(async move {
                        let reason = format!("no [[targets.postgres]] named {name:?}");
                        reporter.state(SourceState::Unavailable { reason }).await;
                    }),
                }
            }
            SourceOrigin::Postgres(i) => {
                let config = target.postgres[i].clone();
                match (simulated_db::simulator(&config.dsn), &links[i]) {
                    (Some(base), _) => {
                        tokio::spawn(simulated_db::run_postgres(base, config, i, reporter))
                    }
                    (None, Some(link)) => {
                        tokio::spawn(postgres::run_shared(link.clone(), i, reporter))
                    }
                    (None, None) => tokio::spawn(postgres::run(config, i, reporter)),
                }
            }
            SourceOrigin::Redis(i) => {
                let config = target.redis[i].clone();
                match simulated_db::simulator(&config.url) {
                    Some(base) => tokio::spawn(simulated_db::run_redis(base, config, i, reporter)),
                    None => tokio::spawn(redis::run(config, i, reporter)),
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
