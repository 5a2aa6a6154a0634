//! The platform checks' Kubernetes source: StatefulSets, DaemonSets, Jobs, CronJobs, HPAs,
//! nodes, Warning events and certificates, watched like the Pods pane's kinds (one list, then
//! every change by watch; see [`super::kube_watch`]), and the metrics API polled on an
//! interval as `kubectl top` reads it.
//!
//! Certificates are cert-manager's `Certificate`s when its CRD is served; otherwise the TLS
//! Secrets that Ingresses name (only `type=kubernetes.io/tls` Secrets are watched, and a
//! Secret is folded into its certificate's row at once: no key material is kept).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Node, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Client, Resource};
use tokio::sync::mpsc;

use super::kube_watch::{WatchSet, WatchSpec, Watched};
use super::kubernetes::{Connection, Reporter, connect_with_backoff, describe_error, scoped, spec};
use crate::data::{KubeUpdate, ObjectKey, RowUpdate};
use crate::event::SourceEvent;
use watchfloor_core::config::{KubernetesConfig, PlatformConfig};
use watchfloor_core::platform::certs::{
    CertificateRow, certificate_row, ingress_certificates, ingress_tls_secrets, tls_secret_row,
};
use watchfloor_core::platform::events::event_row;
use watchfloor_core::platform::hpa::hpa_row;
use watchfloor_core::platform::nodes::node_row;
use watchfloor_core::platform::usage::{parse_node_metrics, parse_pod_metrics};
use watchfloor_core::platform::workloads::{cronjob_row, daemonset_row, job_row, statefulset_row};

/// The metrics API's group and version, as `kubectl top` reads it.
const METRICS_API: &str = "/apis/metrics.k8s.io/v1beta1";
/// The first metrics poll waits this long: at start the watches' initial lists (the pods
/// first) matter more than usage, and a 10,000-pod metrics list competes with them.
const METRICS_FIRST_AFTER: Duration = Duration::from_secs(3);
/// After the metrics API answered "not installed", look again this rarely (it may be added).
const METRICS_ABSENT_RETRY: Duration = Duration::from_secs(300);

/// What one watch of this source delivers.
enum Item {
    Kube(KubeUpdate),
    /// An Ingress and the TLS Secrets it names.
    Ingress(RowUpdate<IngressTls>),
    /// A TLS Secret's certificate (its Ingresses filled in when folded).
    TlsSecret(RowUpdate<CertificateRow>),
    /// A cert-manager Certificate.
    Certificate(RowUpdate<MaybeCertificate>),
}

/// An Ingress's name and the Secrets its `spec.tls` names.
struct IngressTls {
    namespace: String,
    name: String,
    secrets: Vec<String>,
}

impl crate::data::Keyed for IngressTls {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// A cert-manager Certificate's row; `None` for an object without a name.
struct MaybeCertificate(Option<CertificateRow>);

impl crate::data::Keyed for MaybeCertificate {
    fn key(&self) -> ObjectKey {
        self.0
            .as_ref()
            .map(crate::data::Keyed::key)
            .unwrap_or_default()
    }
}

/// Runs the platform source until the console drops it.
pub async fn run(config: KubernetesConfig, platform: PlatformConfig, reporter: Reporter) {
    let Some(connection) = connect_with_backoff(&config, &reporter).await else {
        return;
    };
    // The metrics poller reports rows only (never the source's state): a cluster without
    // metrics-server is a normal cluster, said once in the usage columns.
    let _poller = platform.metrics.then(|| {
        AbortOnDrop(tokio::spawn(poll_metrics(
            connection.client.clone(),
            config.namespaces.clone(),
            platform.nodes,
            platform.metrics_interval,
            reporter.tx.clone(),
            reporter.generation,
        )))
    });
    let cert_manager = if platform.certificates {
        match cert_manager_served(&connection, &reporter).await {
            Some(served) => Some(served),
            None => return,
        }
    } else {
        None
    };
    if cert_manager == Some(false) && !reporter.update(KubeUpdate::CertManagerAbsent).await {
        return;
    }
    let specs = watches(&connection, &config, &platform, cert_manager, &reporter).await;
    let mut watches = WatchSet::new(specs, connection.answers.clone(), connection.server.clone());
    let mut tls = TlsFold::default();
    while let Some(watched) = watches.next(&reporter).await {
        let Watched::Item { item, .. } = watched else {
            continue;
        };
        let update = match item {
            Item::Kube(update) => update,
            Item::Ingress(update) => tls.ingress(update),
            Item::TlsSecret(update) => tls.secret(update),
            Item::Certificate(update) => KubeUpdate::Certificates(flatten(update)),
        };
        if !reporter.update(update).await {
            return;
        }
    }
}

/// Aborts the task when dropped (when the source ends or the console drops it).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether cert-manager's `certificates` resource is served; `None` when the console is gone.
/// Any other failure is reported and retried after a back-off.
async fn cert_manager_served(connection: &Connection, reporter: &Reporter) -> Option<bool> {
    let mut backoff = super::backoff::Backoff::STANDARD;
    loop {
        match cert_manager_check(connection).await {
            Ok(served) => return Some(served),
            Err(error) => {
                let reason = describe_error(&connection.server, &error);
                if !backoff.report_and_wait(reporter, reason).await {
                    return None;
                }
            }
        }
    }
}

/// Whether the server serves cert-manager's `certificates` (its group answering 404: no).
pub async fn cert_manager_check(connection: &Connection) -> Result<bool, kube::Error> {
    match connection
        .client
        .list_api_group_resources("cert-manager.io/v1")
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "certificates")),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

/// The watches: the workload kinds and HPAs per namespace, nodes, Warning events and the
/// certificates (cert-manager's, or Ingress TLS Secrets when `cert_manager` is `Some(false)`).
/// A kind the server forbids (namespace-scoped RBAC often forbids nodes and secrets) or does
/// not serve is left out and said once ([`KubeUpdate::KindUnavailable`]), instead of failing
/// the whole source.
async fn watches(
    connection: &Connection,
    config: &KubernetesConfig,
    platform: &PlatformConfig,
    cert_manager: Option<bool>,
    reporter: &Reporter,
) -> Vec<WatchSpec<Item>> {
    let client = &connection.client;
    let server = connection.server.as_str();
    let namespaces = &config.namespaces;
    let base = super::kubernetes::watch_config();
    let warnings = base.clone().fields("type=Warning");
    let tls_only = base.clone().fields("type=kubernetes.io/tls");
    let mut specs = Vec::new();
    let sts = scoped::<StatefulSet>(client, namespaces);
    if probe(&sts, "statefulsets", reporter).await {
        for (api, ns) in sts {
            specs.push(spec(api, base.clone(), ns, server, statefulset_row, |u| {
                Item::Kube(KubeUpdate::StatefulSets(u))
            }));
        }
    }
    let ds = scoped::<DaemonSet>(client, namespaces);
    if probe(&ds, "daemonsets", reporter).await {
        for (api, ns) in ds {
            specs.push(spec(api, base.clone(), ns, server, daemonset_row, |u| {
                Item::Kube(KubeUpdate::DaemonSets(u))
            }));
        }
    }
    let jobs = scoped::<Job>(client, namespaces);
    if probe(&jobs, "jobs", reporter).await {
        for (api, ns) in jobs {
            specs.push(spec(api, base.clone(), ns, server, job_row, |u| {
                Item::Kube(KubeUpdate::Jobs(u))
            }));
        }
    }
    let cronjobs = scoped::<CronJob>(client, namespaces);
    if probe(&cronjobs, "cronjobs", reporter).await {
        for (api, ns) in cronjobs {
            specs.push(spec(api, base.clone(), ns, server, cronjob_row, |u| {
                Item::Kube(KubeUpdate::CronJobs(u))
            }));
        }
    }
    let hpas = scoped::<HorizontalPodAutoscaler>(client, namespaces);
    if probe(&hpas, "horizontalpodautoscalers", reporter).await {
        for (api, ns) in hpas {
            specs.push(spec(api, base.clone(), ns, server, hpa_row, |u| {
                Item::Kube(KubeUpdate::Hpas(u))
            }));
        }
    }
    // Only Warnings: a busy cluster's Normal events are most of the event traffic.
    let events = scoped::<Event>(client, namespaces);
    if platform.events && probe(&events, "events", reporter).await {
        for (api, ns) in events {
            specs.push(spec(api, warnings.clone(), ns, server, event_row, |u| {
                Item::Kube(KubeUpdate::Events(u))
            }));
        }
    }
    let nodes: Vec<(Api<Node>, Option<String>)> = vec![(Api::all(client.clone()), None)];
    if platform.nodes && probe(&nodes, "nodes", reporter).await {
        for (api, ns) in nodes {
            specs.push(spec(api, base.clone(), ns, server, node_row, |u| {
                Item::Kube(KubeUpdate::Nodes(u))
            }));
        }
    }
    match cert_manager {
        Some(true) => {
            let resource = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"),
                "certificates",
            );
            let apis: Vec<(Api<DynamicObject>, Option<String>)> = if namespaces.is_empty() {
                vec![(Api::all_with(client.clone(), &resource), None)]
            } else {
                namespaces
                    .iter()
                    .map(|ns| {
                        (
                            Api::namespaced_with(client.clone(), ns, &resource),
                            Some(ns.clone()),
                        )
                    })
                    .collect()
            };
            if probe(&apis, "certificates", reporter).await {
                for (api, ns) in apis {
                    specs.push(spec(api, base.clone(), ns, server, certificate_of, |u| {
                        Item::Certificate(u)
                    }));
                }
            }
        }
        Some(false) => {
            let ingresses = scoped::<Ingress>(client, namespaces);
            let secrets = scoped::<Secret>(client, namespaces);
            if probe(&ingresses, "ingresses", reporter).await
                && probe(&secrets, "secrets", reporter).await
            {
                for (api, ns) in ingresses {
                    specs.push(spec(api, base.clone(), ns, server, ingress_tls, |u| {
                        Item::Ingress(u)
                    }));
                }
                for (api, ns) in secrets {
                    specs.push(spec(api, tls_only.clone(), ns, server, secret_row, |u| {
                        Item::TlsSecret(u)
                    }));
                }
            }
        }
        None => {}
    }
    specs
}

/// Whether the first of `apis` may be listed: a 403 or 404 is said once (by `plural`) and
/// the kind left out; any other failure is left to the watch (retried, shown as an error).
async fn probe<K>(apis: &[(Api<K>, Option<String>)], plural: &str, reporter: &Reporter) -> bool
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let Some((api, _)) = apis.first() else {
        return true;
    };
    let why = match api.list(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if status.code == 403 => format!(
            "forbidden: {}",
            crate::text::sanitize_truncated(&status.message, 200)
        ),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            "this cluster does not serve them".to_string()
        }
        _ => return true,
    };
    tracing::info!(plural, %why, "platform checks: kind left out");
    let _ = reporter
        .update(KubeUpdate::KindUnavailable {
            plural: plural.to_string(),
            why,
        })
        .await;
    false
}

fn certificate_of(object: &DynamicObject) -> MaybeCertificate {
    MaybeCertificate(
        serde_json::to_value(object)
            .ok()
            .and_then(|value| certificate_row(&value)),
    )
}

fn ingress_tls(ingress: &Ingress) -> IngressTls {
    IngressTls {
        namespace: ingress.metadata.namespace.clone().unwrap_or_default(),
        name: ingress.metadata.name.clone().unwrap_or_default(),
        secrets: ingress_tls_secrets(ingress),
    }
}

fn secret_row(secret: &Secret) -> CertificateRow {
    tls_secret_row(secret, Vec::new())
}

/// A watch of cert-manager Certificates as row updates, dropping objects without a name.
fn flatten(update: RowUpdate<MaybeCertificate>) -> RowUpdate<CertificateRow> {
    match update {
        RowUpdate::Replace { namespace, rows } => RowUpdate::Replace {
            namespace,
            rows: rows.into_iter().filter_map(|row| row.0).collect(),
        },
        RowUpdate::Upsert(MaybeCertificate(Some(row))) => RowUpdate::Upsert(row),
        RowUpdate::Upsert(MaybeCertificate(None)) => RowUpdate::Remove(ObjectKey::default()),
        RowUpdate::Remove(key) => RowUpdate::Remove(key),
    }
}

/// Without cert-manager, the certificates are the TLS Secrets that Ingresses name: the two
/// watches are folded here, and every change sends the whole (small) set of such rows.
#[derive(Default)]
struct TlsFold {
    ingresses: BTreeMap<ObjectKey, IngressTls>,
    secrets: BTreeMap<ObjectKey, CertificateRow>,
}

impl TlsFold {
    fn ingress(&mut self, update: RowUpdate<IngressTls>) -> KubeUpdate {
        crate::data::apply_update(&mut self.ingresses, update);
        self.rows()
    }

    fn secret(&mut self, update: RowUpdate<CertificateRow>) -> KubeUpdate {
        crate::data::apply_update(&mut self.secrets, update);
        self.rows()
    }

    /// Every Secret some Ingress names, with the Ingresses that name it.
    fn rows(&self) -> KubeUpdate {
        let rows = ingress_certificates(
            self.ingresses.values().map(|ingress| {
                (
                    ingress.namespace.as_str(),
                    ingress.name.as_str(),
                    ingress.secrets.as_slice(),
                )
            }),
            self.secrets.values(),
        );
        KubeUpdate::Certificates(RowUpdate::Replace {
            namespace: None,
            rows,
        })
    }
}

/// Polls PodMetrics (per namespace, or all) and NodeMetrics every `interval`, at most once
/// per interval; an absent metrics API is said once and looked for again rarely.
async fn poll_metrics(
    client: Client,
    namespaces: Vec<String>,
    nodes: bool,
    interval: Duration,
    tx: mpsc::Sender<SourceEvent>,
    generation: u64,
) {
    let send = |update: KubeUpdate| {
        let tx = tx.clone();
        async move {
            tx.send(SourceEvent::Kube { generation, update })
                .await
                .is_ok()
        }
    };
    let mut told_missing: Option<String> = None;
    tokio::time::sleep(METRICS_FIRST_AFTER.min(interval)).await;
    loop {
        let wait = match read_metrics(&client, &namespaces, nodes).await {
            Ok((pods, node_usage)) => {
                told_missing = None;
                if !send(KubeUpdate::PodMetrics(pods)).await {
                    return;
                }
                if let Some(node_usage) = node_usage
                    && !send(KubeUpdate::NodeMetrics(node_usage)).await
                {
                    return;
                }
                interval
            }
            Err((why, absent)) => {
                if told_missing.as_deref() != Some(why.as_str()) {
                    tracing::info!("metrics API: {why}");
                    if !send(KubeUpdate::MetricsUnavailable(why.clone())).await {
                        return;
                    }
                    told_missing = Some(why);
                }
                if absent {
                    METRICS_ABSENT_RETRY.max(interval)
                } else {
                    interval
                }
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// One poll: the pods' usage and, when nodes are watched, the nodes'. The error says why and
/// whether the API is absent (not installed) rather than failing.
pub async fn read_metrics(
    client: &Client,
    namespaces: &[String],
    nodes: bool,
) -> Result<
    (
        Vec<watchfloor_core::platform::usage::PodUsage>,
        Option<Vec<watchfloor_core::platform::usage::NodeUsage>>,
    ),
    (String, bool),
> {
    let paths: Vec<String> = if namespaces.is_empty() {
        vec![format!("{METRICS_API}/pods")]
    } else {
        namespaces
            .iter()
            .map(|ns| format!("{METRICS_API}/namespaces/{ns}/pods"))
            .collect()
    };
    let mut pods = Vec::new();
    for path in paths {
        let body = get(client, &path).await?;
        pods.extend(parse_pod_metrics(body.as_bytes()).map_err(|e| (e, false))?);
    }
    let node_usage = if nodes {
        let body = get(client, &format!("{METRICS_API}/nodes")).await?;
        Some(parse_node_metrics(body.as_bytes()).map_err(|e| (e, false))?)
    } else {
        None
    };
    Ok((pods, node_usage))
}

async fn get(client: &Client, path: &str) -> Result<String, (String, bool)> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| (e.to_string(), false))?;
    match client.request_text(request).await {
        Ok(body) => Ok(body),
        // 404: not installed; 503: the APIService is registered but metrics-server is down.
        Err(kube::Error::Api(status)) if status.code == 404 => Err((
            "the metrics API (metrics.k8s.io) is not installed".into(),
            true,
        )),
        Err(kube::Error::Api(status)) if status.code == 503 => Err((
            "the metrics API (metrics.k8s.io) is unavailable".into(),
            false,
        )),
        Err(error) => Err((
            format!(
                "metrics API: {}",
                crate::text::sanitize_truncated(&error.to_string(), 200)
            ),
            false,
        )),
    }
}
