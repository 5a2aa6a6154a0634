//! Stuck claims from custom resources: discovery first (a CRD that is not installed is said so,
//! and checked again slowly), then `DynamicObject` watchers, classified into claim rows.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::kubernetes::{Reporter, connect, estimated_backoff, object_key};
use crate::app::data::{KubeUpdate, ObjectKey};
use crate::app::status::SourceState;
use crate::config::{ClaimsConfig, KubernetesConfig};
use crate::model::claims::{ClaimRow, classify_generic, classify_resource_claim};

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
pub async fn installed(client: &Client, kind: &ClaimKind) -> Result<bool, String> {
    match client
        .list_api_group_resources(&kind.resource.api_version)
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == kind.plural)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(e.to_string()),
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

/// Runs one `source = "crd"` claims entry until the console drops it.
pub async fn run(
    kubernetes: KubernetesConfig,
    claims: ClaimsConfig,
    source: usize,
    reporter: Reporter,
) {
    let name = claims.display_name();
    let kind = ClaimKind::from_config(&claims);
    let mut failures = 0;
    let client = loop {
        let outcome = match connect(&kubernetes).await {
            Ok((client, _)) => installed(&client, &kind).await.map(|found| (client, found)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((client, true)) => break client,
            Ok((_, false)) => {
                let reason = format!("CRD {} is not installed on this cluster", kind.describe());
                if !reporter.state(SourceState::Unavailable { reason }).await {
                    return;
                }
                tokio::time::sleep(REDISCOVER).await;
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

    let apis: Vec<Api<DynamicObject>> = if claims.namespaces.is_empty() {
        vec![Api::all_with(client.clone(), &kind.resource)]
    } else {
        claims
            .namespaces
            .iter()
            .map(|ns| Api::namespaced_with(client.clone(), ns, &kind.resource))
            .collect()
    };
    let streams = apis.into_iter().enumerate().map(|(scope, api)| {
        watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .map(move |event| (scope, event))
            .boxed()
    });
    let mut merged = futures::stream::select_all(streams);
    // Per scope: the claims as last seen, plus the buffer of a relist in progress.
    let mut objects: BTreeMap<(usize, ObjectKey), serde_json::Value> = BTreeMap::new();
    let mut relisting: BTreeMap<usize, Vec<(ObjectKey, serde_json::Value)>> = BTreeMap::new();
    let mut reclassify = tokio::time::interval(RECLASSIFY);
    let mut synced = false;
    let mut errors = 0;
    loop {
        let changed = tokio::select! {
            item = merged.next() => {
                let Some((scope, event)) = item else { return };
                match event {
                    Ok(Event::Init) => {
                        relisting.insert(scope, Vec::new());
                        false
                    }
                    Ok(Event::InitApply(object)) => {
                        relisting.entry(scope).or_default().push((object_key(&object), slim(&object)));
                        false
                    }
                    Ok(Event::InitDone) => {
                        objects.retain(|(s, _), _| *s != scope);
                        for (key, value) in relisting.remove(&scope).unwrap_or_default() {
                            objects.insert((scope, key), value);
                        }
                        synced = true;
                        true
                    }
                    Ok(Event::Apply(object)) => {
                        objects.insert((scope, object_key(&object)), slim(&object));
                        true
                    }
                    Ok(Event::Delete(object)) => {
                        objects.remove(&(scope, object_key(&object)));
                        true
                    }
                    Err(error) => {
                        errors += 1;
                        if !reporter.error(error.to_string(), estimated_backoff(errors)).await {
                            return;
                        }
                        false
                    }
                }
            }
            _ = reclassify.tick() => synced,
        };
        if changed {
            errors = 0;
            let now = SystemTime::now();
            let rows = objects
                .values()
                .map(|object| ClaimRow {
                    detail: Some(claim_detail(object)),
                    ..classify(&name, &claims, object, now)
                })
                .collect();
            if !reporter.update(KubeUpdate::Claims { source, rows }).await
                || !reporter.state(SourceState::Live).await
            {
                return;
            }
        }
    }
}
