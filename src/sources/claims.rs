//! Stuck claims from custom resources: discovery first (a CRD that is not installed is said so,
//! and checked again slowly), then `DynamicObject` watchers, classified into claim rows.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};

use super::kube_watch::{WatchSet, WatchSpec, WatchStream, Watched};
use super::kubernetes::{Purpose, Reporter, connect_for, describe_error, object_key, watch_config};
use crate::data::{KubeUpdate, ObjectKey, RowUpdate};
use crate::event::SourceState;
use crate::model::claims::{ClaimRow, classify_generic, classify_resource_claim};
use watchfloor_core::config::{ClaimsConfig, KubernetesConfig};

/// How often a missing CRD is looked for again.
const REDISCOVER: Duration = Duration::from_secs(60);
/// Claims turn stuck as time passes, so they are classified again this often even when quiet.
const RECLASSIFY: Duration = Duration::from_secs(15);

const POOLBOY_GROUP: &str = "poolboy.gpte.redhat.com";

/// The claim kind a config entry watches.
#[derive(Debug, Clone)]
pub struct ClaimKind {
    pub resource: ApiResource,
    pub plural: String,
}

impl ClaimKind {
    pub fn from_config(claims: &ClaimsConfig) -> Self {
        let gvk = GroupVersionKind::gvk(
            claims.group.as_deref().unwrap_or_default(),
            claims.version.as_deref().unwrap_or_default(),
            claims.kind.as_deref().unwrap_or_default(),
        );
        let plural = claims.plural.clone().unwrap_or_default();
        Self {
            resource: ApiResource::from_gvk_with_plural(&gvk, &plural),
            plural,
        }
    }

    fn describe(&self) -> String {
        format!("{}.{}", self.plural, self.resource.group)
    }
}

/// Whether the API server serves the claim kind.
pub async fn installed(client: &Client, kind: &ClaimKind) -> Result<bool, kube::Error> {
    match client
        .list_api_group_resources(&kind.resource.api_version)
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == kind.plural)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Classifies one claim with the rule its config asks for.
pub fn classify(
    name: &str,
    claims: &ClaimsConfig,
    object: &serde_json::Value,
    now: SystemTime,
) -> ClaimRow {
    let poolboy = claims.group.as_deref() == Some(POOLBOY_GROUP)
        && claims.kind.as_deref() == Some("ResourceClaim")
        && claims.state_path.is_none();
    if poolboy {
        return classify_resource_claim(name, object, claims.stuck_after, now);
    }
    let default_states = ["Pending".to_string(), "Provisioning".to_string()];
    let stuck_states = claims.stuck_states.as_deref().unwrap_or(&default_states);
    classify_generic(
        name,
        object,
        claims.state_path.as_deref().unwrap_or("status.phase"),
        claims.ready_path.as_deref(),
        stuck_states,
        claims.stuck_after,
        now,
    )
}

/// The claim's status and the objects it refers to, pretty-printed for the detail view.
pub fn claim_detail(object: &serde_json::Value) -> String {
    let mut references: Vec<serde_json::Value> = Vec::new();
    if let Some(handle) = object.pointer("/status/resourceHandle") {
        references.push(handle.clone());
    }
    if let Some(resources) = object
        .pointer("/status/resources")
        .and_then(|r| r.as_array())
    {
        references.extend(resources.iter().filter_map(|r| r.get("reference").cloned()));
    }
    if let Some(owners) = object
        .pointer("/metadata/ownerReferences")
        .and_then(|o| o.as_array())
    {
        references.extend(owners.iter().cloned());
    }
    let detail = serde_json::json!({
        "references": references,
        "status": object.get("status").cloned().unwrap_or(serde_json::Value::Null),
    });
    serde_json::to_string_pretty(&detail).unwrap_or_default()
}

/// Keeps only what classification reads, so a claim costs little memory.
fn slim(object: &DynamicObject) -> serde_json::Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(metadata) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        metadata.remove("managedFields");
        if let Some(annotations) = metadata
            .get_mut("annotations")
            .and_then(|a| a.as_object_mut())
        {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    value
}

/// One claim object as kept for classification: its key and its slimmed JSON.
type Kept = (ObjectKey, serde_json::Value);

fn kept(object: &DynamicObject) -> Kept {
    (object_key(object), slim(object))
}

/// Runs one `source = "crd"` claims entry until the console drops it.
pub async fn run(
    kubernetes: KubernetesConfig,
    claims: ClaimsConfig,
    source: usize,
    reporter: Reporter,
) {
    let name = claims.display_name();
    let kind = ClaimKind::from_config(&claims);
    let mut backoff = super::backoff::Backoff::STANDARD;
    let connection = loop {
        let outcome = match connect_for(&kubernetes, Purpose::Requests).await {
            Ok(connection) => installed(&connection.client, &kind)
                .await
                .map_err(|e| describe_error(&connection.server, &e))
                .map(|found| (connection, found)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((connection, true)) => break connection,
            Ok((_, false)) => {
                let reason = format!("CRD {} is not installed on this cluster", kind.describe());
                if !reporter.state(SourceState::Unavailable { reason }).await {
                    return;
                }
                tokio::time::sleep(REDISCOVER).await;
            }
            Err(reason) => {
                if !backoff.report_and_wait(&reporter, reason).await {
                    return;
                }
            }
        }
    };

    let client = &connection.client;
    let apis: Vec<(Api<DynamicObject>, Option<String>)> = if claims.namespaces.is_empty() {
        vec![(Api::all_with(client.clone(), &kind.resource), None)]
    } else {
        claims
            .namespaces
            .iter()
            .map(|ns| {
                (
                    Api::namespaced_with(client.clone(), ns, &kind.resource),
                    Some(ns.clone()),
                )
            })
            .collect()
    };
    let specs = apis
        .into_iter()
        .map(|(api, ns)| {
            let path = api.resource_url().to_string();
            let server = connection.server.clone();
            WatchSpec {
                path,
                start: Box::new(move || {
                    let watcher = watcher::watcher(api.clone(), watch_config());
                    fold_rows(watcher, ns.clone(), server.clone())
                }),
            }
        })
        .collect();
    let mut watches = WatchSet::new(specs, connection.answers.clone(), connection.server.clone());
    // Per scope (watch): the claims as last seen.
    let mut objects: BTreeMap<(usize, ObjectKey), serde_json::Value> = BTreeMap::new();
    let mut reclassify = tokio::time::interval(RECLASSIFY);
    let mut synced = false;
    loop {
        let changed = tokio::select! {
            watched = watches.next(&reporter) => match watched {
                None => return,
                Some(Watched::Restarting { .. }) => false,
                Some(Watched::Item { watch, item }) => {
                    match item {
                        RowUpdate::Replace { rows, .. } => {
                            objects.retain(|(s, _), _| *s != watch);
                            for (key, value) in rows {
                                objects.insert((watch, key), value);
                            }
                            synced = true;
                        }
                        RowUpdate::Upsert((key, value)) => {
                            objects.insert((watch, key), value);
                        }
                        RowUpdate::Remove(key) => {
                            objects.remove(&(watch, key));
                        }
                    }
                    true
                }
            },
            // Claims turn stuck as time passes: classify again, without claiming freshness.
            _ = reclassify.tick() => synced,
        };
        if changed {
            let now = SystemTime::now();
            let rows = objects
                .values()
                .map(|object| ClaimRow {
                    detail: Some(claim_detail(object)),
                    ..classify(&name, &claims, object, now)
                })
                .collect();
            if !reporter.update(KubeUpdate::Claims { source, rows }).await {
                return;
            }
        }
    }
}

/// Claim objects folded into row updates like the Pods pane's watches.
fn fold_rows(
    watcher: impl futures::Stream<Item = Result<Event<DynamicObject>, watcher::Error>> + Send + 'static,
    namespace: Option<String>,
    server: String,
) -> WatchStream<RowUpdate<Kept>> {
    watcher
        .scan(None::<Vec<Kept>>, move |buffer, event| {
            let out = match event {
                Ok(Event::Init) => {
                    *buffer = Some(Vec::new());
                    Ok(None)
                }
                Ok(Event::InitApply(object)) => {
                    buffer.get_or_insert_with(Vec::new).push(kept(&object));
                    Ok(None)
                }
                Ok(Event::InitDone) => Ok(Some(RowUpdate::Replace {
                    namespace: namespace.clone(),
                    rows: buffer.take().unwrap_or_default(),
                })),
                Ok(Event::Apply(object)) => Ok(Some(RowUpdate::Upsert(kept(&object)))),
                Ok(Event::Delete(object)) => Ok(Some(RowUpdate::Remove(object_key(&object)))),
                Err(watcher::Error::WatchError(status)) if status.code == 410 => Ok(None),
                Err(error) => Err(describe_error(&server, &error)),
            };
            futures::future::ready(Some(out))
        })
        .boxed()
}
