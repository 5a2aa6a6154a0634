//! Kubernetes: a client built exactly as kubectl finds its config (with bounded connects and
//! reads), and watchers for Pods, Deployments and ReplicaSets folded into small rows. After the
//! initial list, every change arrives by watch; a watch that fails is restarted from a fresh
//! list (see [`super::kube_watch`] for how liveness is proven).

use std::time::{Duration, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::mpsc;

use super::kube_watch::{
    ANSWER_WITHIN, Answers, AnswersLayer, CONNECT_WITHIN, WATCH_RENEW_SECS, WatchSet, WatchSpec,
    WatchStream, Watched,
};
use crate::data::{KubeUpdate, ObjectKey, ReplicaSetRow, RowUpdate};
use crate::event::SourceEvent;
use crate::event::SourceState;
use crate::model::{deployments::deployment_row, pods::pod_row};
use watchfloor_core::config::KubernetesConfig;

/// A connected client, the context it came from (for the header), the server it talks to
/// (redacted, for messages) and the record of the server's answers (liveness proof).
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub context: String,
    pub server: String,
    pub answers: Answers,
}

/// What the client is for: requests and watches get a read timeout (a server that stops
/// answering becomes an error); log streams do not (a quiet container is not a fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Requests,
    Streams,
}

/// A connected client and the context it came from (for the header).
pub async fn connect(config: &KubernetesConfig) -> Result<(Client, String), String> {
    connect_for(config, Purpose::Requests)
        .await
        .map(|c| (c.client, c.context))
}

/// Builds a client exactly as kubectl finds its config, with bounded connects and reads.
pub async fn connect_for(
    config: &KubernetesConfig,
    purpose: Purpose,
) -> Result<Connection, String> {
    let (client_config, context) = client_config(config).await?;
    let server = crate::redact::redacted(&client_config.cluster_url.to_string())
        .trim_end_matches('/')
        .to_string();
    let mut client_config = client_config;
    client_config.connect_timeout = Some(CONNECT_WITHIN);
    if purpose == Purpose::Requests {
        client_config.read_timeout = Some(ANSWER_WITHIN);
        // Count the read timeout from each request, not from when a pooled connection idled.
        client_config.reset_reader_on_write = true;
    }
    let answers = Answers::default();
    let client = kube::client::ClientBuilder::try_from(client_config)
        .map_err(|e| describe_error(&server, &e))?
        .with_layer(&AnswersLayer(answers.clone()))
        .build();
    Ok(Connection {
        client,
        context,
        server,
        answers,
    })
}

async fn client_config(config: &KubernetesConfig) -> Result<(kube::Config, String), String> {
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
            Ok((client_config, context))
        }
        // No kubeconfig at all and nothing asked of one: running in a pod, perhaps.
        Err(kubeconfig_error) if config.kubeconfig.is_none() && config.context.is_none() => {
            let client_config = kube::Config::incluster()
                .map_err(|e| format!("{kubeconfig_error}; not in a cluster either: {e}"))?;
            Ok((client_config, "in-cluster".into()))
        }
        Err(e) => Err(e),
    }
}

/// A Kubernetes client error as a sentence that names the server.
pub fn describe_error(server: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = Vec::new();
    let mut api_status = None;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(kube::Error::Api(status)) = e.downcast_ref::<kube::Error>() {
            api_status = Some(status.clone());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::TimedOut => {
                    return format!(
                        "no answer from {server} within {}s",
                        ANSWER_WITHIN.as_secs()
                    );
                }
                std::io::ErrorKind::ConnectionRefused => {
                    return format!("{server} refused the connection");
                }
                std::io::ErrorKind::ConnectionReset => {
                    return format!("{server} reset the connection");
                }
                _ => {}
            }
        }
        chain.push(e.to_string());
        cause = e.source();
    }
    if let Some(status) = api_status {
        let what = match status.code {
            401 => "rejected the credentials".to_string(),
            403 => "forbids this".to_string(),
            404 => "does not know this resource".to_string(),
            // A Kubernetes reason is one CamelCase word (`Expired`, `Timeout`); kube makes up a
            // sentence when the body was not a Status (a proxy's error page): leave that out.
            code if !status.reason.is_empty() && !status.reason.contains(' ') => {
                format!("answered HTTP {code} {}", status.reason)
            }
            code => format!("answered HTTP {code}"),
        };
        let message = crate::text::sanitize_truncated(&status.message, 200);
        return if message.is_empty() {
            format!("{server} {what}")
        } else {
            format!("{server} {what}: {message}")
        };
    }
    let joined = chain.join(": ").to_lowercase();
    if joined.contains("timed out") || joined.contains("deadline has elapsed") {
        return format!(
            "no answer from {server} within {}s",
            ANSWER_WITHIN.as_secs()
        );
    }
    if joined.contains("connection refused") {
        return format!("{server} refused the connection");
    }
    if joined.contains("connection reset") || joined.contains("connection closed") {
        return format!("{server} closed the connection");
    }
    if joined.contains("error decoding")
        || joined.contains("expected value")
        || joined.contains("eof while parsing")
    {
        return format!(
            "{server} sent an answer that is not Kubernetes JSON ({})",
            chain.last().cloned().unwrap_or_default()
        );
    }
    // The innermost cause is usually the one that says what happened.
    let innermost = chain.last().cloned().unwrap_or_default();
    crate::redact::redacted(&format!("{server}: {innermost}"))
}

/// Sends reports for one source, tagged with its generation and index.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub tx: mpsc::Sender<SourceEvent>,
    pub generation: u64,
    pub index: usize,
}

impl Reporter {
    /// False when the console is gone and the task should end.
    pub async fn state(&self, state: SourceState) -> bool {
        let at = SystemTime::now();
        self.tx
            .send(SourceEvent::State {
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
            .send(SourceEvent::Db {
                generation: self.generation,
                update,
            })
            .await
            .is_ok()
    }

    pub async fn update(&self, update: KubeUpdate) -> bool {
        self.tx
            .send(SourceEvent::Kube {
                generation: self.generation,
                update,
            })
            .await
            .is_ok()
    }

    /// The source proved itself at `at` (a successful read, or a watch's latest proof).
    pub async fn live_at(&self, at: SystemTime) -> bool {
        self.tx
            .send(SourceEvent::State {
                generation: self.generation,
                index: self.index,
                state: SourceState::Live,
                at,
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

/// Back-off for retrying a failed connect or poll: 1 s doubling to 30 s
/// ([`super::backoff::Backoff::STANDARD`]).
pub fn estimated_backoff(consecutive_errors: u32) -> Duration {
    super::backoff::Backoff::STANDARD.after(consecutive_errors)
}

/// Watcher settings every Kubernetes source uses: a server-side timeout so that a quiet watch
/// is renewed (and so proven) every [`WATCH_RENEW_SECS`].
pub fn watch_config() -> watcher::Config {
    watcher::Config::default().timeout(WATCH_RENEW_SECS)
}

/// Folds a watcher into row updates: the initial list is buffered and sent as one `Replace`
/// (so a relist never shows a half-empty table), then each change as it comes. Failures come
/// out as sentences naming `server`; the [`WatchSet`] restarts the watch from a fresh list.
pub fn row_stream<K, R, U>(
    api: Api<K>,
    config: watcher::Config,
    namespace: Option<String>,
    server: String,
    to_row: fn(&K) -> R,
    wrap: fn(RowUpdate<R>) -> U,
) -> WatchStream<U>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    R: Send + 'static,
    U: Send + 'static,
{
    let stream = watcher::watcher(api, config).scan(None::<Vec<R>>, move |buffer, event| {
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
            // 410 Expired: kube's watcher relists by itself; not a fault.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => Ok(None),
            Err(error) => Err(describe_error(&server, &error)),
        };
        futures::future::ready(Some(out))
    });
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
        .get(crate::kubectl::REVISION_ANNOTATION)
        .and_then(|r| crate::kubectl::parse_revision(Some(r)));
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
pub fn scoped<K>(client: &Client, namespaces: &[String]) -> Vec<(Api<K>, Option<String>)>
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

/// The watches of the Pods pane: Pods, Deployments and ReplicaSets per namespace.
pub fn pane_watches(
    connection: &Connection,
    config: &KubernetesConfig,
) -> Vec<WatchSpec<KubeUpdate>> {
    let mut base = watch_config();
    if let Some(selector) = &config.label_selector {
        base = base.labels(selector);
    }
    let client = &connection.client;
    let mut specs = Vec::new();
    for (api, ns) in scoped::<Pod>(client, &config.namespaces) {
        specs.push(spec(
            api,
            base.clone(),
            ns,
            &connection.server,
            pod_row,
            KubeUpdate::Pods,
        ));
    }
    for (api, ns) in scoped::<Deployment>(client, &config.namespaces) {
        specs.push(spec(
            api,
            base.clone(),
            ns,
            &connection.server,
            deployment_row,
            KubeUpdate::Deployments,
        ));
    }
    for (api, ns) in scoped::<ReplicaSet>(client, &config.namespaces) {
        specs.push(spec(
            api,
            base.clone(),
            ns,
            &connection.server,
            replicaset_row,
            KubeUpdate::ReplicaSets,
        ));
    }
    specs
}

/// A restartable watch of `api` folded into rows.
pub fn spec<K, R, U>(
    api: Api<K>,
    config: watcher::Config,
    namespace: Option<String>,
    server: &str,
    to_row: fn(&K) -> R,
    wrap: fn(RowUpdate<R>) -> U,
) -> WatchSpec<U>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    R: Send + 'static,
    U: Send + 'static,
{
    let path = api.resource_url().to_string();
    let server = server.to_string();
    WatchSpec {
        path,
        start: Box::new(move || {
            row_stream(
                api.clone(),
                config.clone(),
                namespace.clone(),
                server.clone(),
                to_row,
                wrap,
            )
        }),
    }
}

/// Connects for requests, reporting each failure and retrying after a back-off; `None` when
/// the console is gone.
pub async fn connect_with_backoff(
    config: &KubernetesConfig,
    reporter: &Reporter,
) -> Option<Connection> {
    let mut backoff = super::backoff::Backoff::STANDARD;
    loop {
        match connect_for(config, Purpose::Requests).await {
            Ok(connection) => return Some(connection),
            Err(reason) => {
                if !backoff.report_and_wait(reporter, reason).await {
                    return None;
                }
            }
        }
    }
}

/// Runs the Kubernetes source of the Pods pane until the console drops it.
pub async fn run(config: KubernetesConfig, reporter: Reporter) {
    let Some(connection) = connect_with_backoff(&config, &reporter).await else {
        return;
    };
    let action = SourceEvent::KubeContext {
        generation: reporter.generation,
        name: connection.context.clone(),
    };
    if reporter.tx.send(action).await.is_err() {
        return;
    }
    let specs = pane_watches(&connection, &config);
    let mut watches = WatchSet::new(specs, connection.answers.clone(), connection.server.clone());
    while let Some(watched) = watches.next(&reporter).await {
        if let Watched::Item { item, .. } = watched
            && !reporter.update(item).await
        {
            return;
        }
    }
}
