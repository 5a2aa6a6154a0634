//! Kubernetes: a client built exactly as kubectl finds its config, and watchers for Pods,
//! Deployments and ReplicaSets folded into small rows. After the initial list, every change
//! arrives by watch; kube's watcher relists only on 410 Expired.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::mpsc;

use crate::app::Action;
use crate::app::data::{KubeUpdate, ObjectKey, ReplicaSetRow, RowUpdate};
use crate::app::status::SourceState;
use crate::config::KubernetesConfig;
use crate::model::{deployments::deployment_row, pods::pod_row};

/// A connected client and the context it came from (for the header).
pub async fn connect(config: &KubernetesConfig) -> Result<(Client, String), String> {
    let options = KubeConfigOptions {
        context: config.context.clone(),
        ..Default::default()
    };
    let kubeconfig = match &config.kubeconfig {
        Some(path) => {
            Kubeconfig::read_from(path).map_err(|e| format!("kubeconfig {}: {e}", path.display()))
        }
        None => Kubeconfig::read().map_err(|e| e.to_string()),
    };
    match kubeconfig {
        Ok(kubeconfig) => {
            let context = options
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone())
                .unwrap_or_default();
            let client_config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| e.to_string())?;
            let client = Client::try_from(client_config).map_err(|e| e.to_string())?;
            Ok((client, context))
        }
        // No kubeconfig at all and nothing asked of one: running in a pod, perhaps.
        Err(kubeconfig_error) if config.kubeconfig.is_none() && config.context.is_none() => {
            let client_config = kube::Config::incluster()
                .map_err(|e| format!("{kubeconfig_error}; not in a cluster either: {e}"))?;
            let client = Client::try_from(client_config).map_err(|e| e.to_string())?;
            Ok((client, "in-cluster".into()))
        }
        Err(e) => Err(e),
    }
}

/// Sends reports for one source, tagged with its generation and index.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub tx: mpsc::Sender<Action>,
    pub generation: u64,
    pub index: usize,
}

impl Reporter {
    /// False when the console is gone and the task should end.
    pub async fn state(&self, state: SourceState) -> bool {
        let at = SystemTime::now();
        self.tx
            .send(Action::Source {
                generation: self.generation,
                index: self.index,
                state,
                at,
            })
            .await
            .is_ok()
    }

    /// Sends one refresh of a database or cache.
    pub async fn db(&self, update: crate::db::DbUpdate) -> bool {
        self.tx
            .send(Action::Db {
                generation: self.generation,
                update,
            })
            .await
            .is_ok()
    }

    pub async fn update(&self, update: KubeUpdate) -> bool {
        self.tx
            .send(Action::Kube {
                generation: self.generation,
                update,
            })
            .await
            .is_ok()
    }

    pub async fn error(&self, reason: String, retry_in: Duration) -> bool {
        self.state(SourceState::Error {
            reason,
            retry_at: Some(SystemTime::now() + retry_in),
        })
        .await
    }
}

/// kube's default watcher backoff (800 ms doubling to 30 s), as an estimate for "retry in".
pub fn estimated_backoff(consecutive_errors: u32) -> Duration {
    let secs = 0.8 * 2f64.powi(consecutive_errors.saturating_sub(1).min(6) as i32);
    Duration::from_secs_f64(secs.min(30.0))
}

/// One watcher's output: `Ok(Some(update))` for a change, `Ok(None)` while an initial list is
/// being buffered, `Err` for a watch error (the stream backs off and retries by itself).
pub type UpdateStream = Pin<Box<dyn Stream<Item = Result<Option<KubeUpdate>, String>> + Send>>;

/// Folds a watcher into row updates: the initial list is buffered and sent as one `Replace`
/// (so a relist never shows a half-empty table), then each change as it comes.
pub fn row_stream<K, R>(
    api: Api<K>,
    config: watcher::Config,
    namespace: Option<String>,
    to_row: fn(&K) -> R,
    wrap: fn(RowUpdate<R>) -> KubeUpdate,
) -> UpdateStream
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    R: Send + 'static,
{
    let stream = watcher::watcher(api, config).default_backoff().scan(
        None::<Vec<R>>,
        move |buffer, event| {
            let out = match event {
                Ok(Event::Init) => {
                    *buffer = Some(Vec::new());
                    Ok(None)
                }
                Ok(Event::InitApply(object)) => {
                    buffer.get_or_insert_with(Vec::new).push(to_row(&object));
                    Ok(None)
                }
                Ok(Event::InitDone) => {
                    let rows = buffer.take().unwrap_or_default();
                    Ok(Some(wrap(RowUpdate::Replace {
                        namespace: namespace.clone(),
                        rows,
                    })))
                }
                Ok(Event::Apply(object)) => Ok(Some(wrap(RowUpdate::Upsert(to_row(&object))))),
                Ok(Event::Delete(object)) => Ok(Some(wrap(RowUpdate::Remove(object_key(&object))))),
                Err(error) => Err(error.to_string()),
            };
            futures::future::ready(Some(out))
        },
    );
    Box::pin(stream)
}

pub fn object_key<K: Resource>(object: &K) -> ObjectKey {
    (
        object.meta().namespace.clone().unwrap_or_default(),
        object.meta().name.clone().unwrap_or_default(),
    )
}

fn replicaset_row(rs: &ReplicaSet) -> ReplicaSetRow {
    let deployment = rs
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "Deployment")
        .map(|o| o.name.clone());
    let revision = rs
        .annotations()
        .get("deployment.kubernetes.io/revision")
        .and_then(|r| r.parse().ok());
    let images = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default();
    let replicas = rs
        .status
        .as_ref()
        .map_or(0, |s| u32::try_from(s.replicas).unwrap_or(0));
    ReplicaSetRow {
        namespace: rs.namespace().unwrap_or_default(),
        name: rs.name_any(),
        deployment,
        revision,
        images,
        replicas,
    }
}

/// Namespaced APIs, one per configured namespace, or one cluster-wide.
fn scoped<K>(client: &Client, namespaces: &[String]) -> Vec<(Api<K>, Option<String>)>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    if namespaces.is_empty() {
        vec![(Api::all(client.clone()), None)]
    } else {
        namespaces
            .iter()
            .map(|ns| (Api::namespaced(client.clone(), ns), Some(ns.clone())))
            .collect()
    }
}

/// The watchers of the Pods pane: Pods, Deployments and ReplicaSets per namespace.
pub fn pane_watchers(client: &Client, config: &KubernetesConfig) -> Vec<UpdateStream> {
    let mut watch_config = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        watch_config = watch_config.labels(selector);
    }
    let mut streams = Vec::new();
    for (api, ns) in scoped::<Pod>(client, &config.namespaces) {
        streams.push(row_stream(
            api,
            watch_config.clone(),
            ns,
            pod_row,
            KubeUpdate::Pods,
        ));
    }
    for (api, ns) in scoped::<Deployment>(client, &config.namespaces) {
        streams.push(row_stream(
            api,
            watch_config.clone(),
            ns,
            deployment_row,
            KubeUpdate::Deployments,
        ));
    }
    for (api, ns) in scoped::<ReplicaSet>(client, &config.namespaces) {
        streams.push(row_stream(
            api,
            watch_config.clone(),
            ns,
            replicaset_row,
            KubeUpdate::ReplicaSets,
        ));
    }
    streams
}

/// How often a healthy source says it is still live (watches are quiet when nothing changes).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Runs the Kubernetes source of the Pods pane until the console drops it.
pub async fn run(config: KubernetesConfig, reporter: Reporter) {
    let mut failures = 0;
    let client = loop {
        match connect(&config).await {
            Ok((client, context)) => {
                let action = Action::KubeContext {
                    generation: reporter.generation,
                    name: context,
                };
                if reporter.tx.send(action).await.is_err() {
                    return;
                }
                break client;
            }
            Err(reason) => {
                failures += 1;
                let delay = estimated_backoff(failures);
                if !reporter.error(reason, delay).await {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    };
    let streams = pane_watchers(&client, &config);
    drive(streams, &reporter).await;
}

/// Forwards updates from many watchers, and the source's health: live while every watcher is
/// fine, the latest error while any is failing.
pub async fn drive(streams: Vec<UpdateStream>, reporter: &Reporter) {
    let mut health = WatchHealth::new(streams.len());
    let tagged = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| s.map(move |item| (id, item)).boxed());
    let mut merged = futures::stream::select_all(tagged);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            item = merged.next() => {
                let Some((id, item)) = item else { return };
                match item {
                    Ok(update) => {
                        let was_fine = health.all_fine();
                        let recovered = health.ok(id, update.is_some()) || !was_fine;
                        if let Some(update) = update
                            && !reporter.update(update).await
                        {
                            return;
                        }
                        if recovered && health.all_fine() && !reporter.state(SourceState::Live).await {
                            return;
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(%reason, "kubernetes watch error");
                        let retry_in = health.failed(id);
                        if !reporter.error(reason, retry_in).await {
                            return;
                        }
                    }
                }
            }
            _ = heartbeat.tick() => {
                health.forget_old_errors();
                if health.all_fine() && !reporter.state(SourceState::Live).await {
                    return;
                }
            }
        }
    }
}

/// Per-watcher health. A watcher that failed is fine again after its next event, or once its
/// retry time has passed without a new error: a re-watch that succeeds with nothing to report
/// yields no event at all.
struct WatchHealth {
    synced: Vec<bool>,
    errors: Vec<u32>,
    quiet_after: Vec<Option<std::time::Instant>>,
}

impl WatchHealth {
    fn new(count: usize) -> Self {
        Self {
            synced: vec![false; count],
            errors: vec![0; count],
            quiet_after: vec![None; count],
        }
    }

    /// Returns whether the watcher was failing before.
    fn ok(&mut self, id: usize, had_update: bool) -> bool {
        self.synced[id] |= had_update;
        let was_failing = self.errors[id] > 0;
        self.errors[id] = 0;
        self.quiet_after[id] = None;
        was_failing
    }

    /// Records a failure; returns the expected retry delay.
    fn failed(&mut self, id: usize) -> Duration {
        self.errors[id] += 1;
        let retry_in = estimated_backoff(self.errors[id]);
        self.quiet_after[id] = Some(std::time::Instant::now() + retry_in + Duration::from_secs(3));
        retry_in
    }

    fn forget_old_errors(&mut self) {
        let now = std::time::Instant::now();
        for id in 0..self.errors.len() {
            if self.quiet_after[id].is_some_and(|at| now > at) {
                self.errors[id] = 0;
                self.quiet_after[id] = None;
            }
        }
    }

    fn all_fine(&self) -> bool {
        self.errors.iter().all(|e| *e == 0) && self.synced.iter().all(|s| *s)
    }
}
