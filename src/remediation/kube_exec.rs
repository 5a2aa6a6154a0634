//! Kubernetes remediations with kubectl's algorithms, on kube-rs.
//!
//! Every function takes a `&kube::Client` and sends what kubectl sends (same verbs, patch types,
//! field manager, selectors, annotation rules); `dry_run` sends the same mutating requests with
//! `dryRun=All`, so the server validates and previews without changing anything. Errors are the
//! server's `Status.message` verbatim ([`Failure::Forbidden`] for a 403, [`Failure::Failed`]
//! otherwise), or kubectl's own error text for the checks kubectl makes on the client side.
//! Objects are read as JSON (`DynamicObject`) so fields newer than the compiled k8s-openapi
//! feature survive a rollback, and nothing here panics on server data.
//!
//! Sources mirrored: kubectl `pkg/polymorphichelpers/{objectrestarter,rollback,history}.go`,
//! `pkg/util/deployment/deployment.go`, `pkg/cmd/{scale,delete}`; `rollout status` is
//! [`crate::model::rollout`].

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::Selector;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Failure, Progress, WorkloadKind};
use crate::model::rollout::{daemonset_rollout, deployment_rollout, statefulset_rollout};
pub use watchfloor_core::remediation::access::{AccessCheck, checks_for, denied_reason};

/// The template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// kubectl's field manager for `rollout restart`.
pub const RESTART_FIELD_MANAGER: &str = "kubectl-rollout";
// kubectl's template, revision and timestamp rules, one copy shared with the simulator.
use crate::kubectl::{
    REVISION_ANNOTATION as REVISION, equal_ignore_hash, revision_of, without_hash,
};
use crate::timestamp::{now_local_rfc3339 as rfc3339_local_now, parse_rfc3339 as parse_time};
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// Deployment annotations `rollout undo` keeps from the Deployment (kubectl `annotationsToSkip`).
const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

pub const PAUSED_RESTART: &str = "can't restart paused deployment (run rollout resume first)";
pub const PAUSED_UNDO: &str = "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again";
pub const FORCE_WITH_GRACE: &str =
    "--force and --grace-period greater than 0 cannot be specified together";

/// What `rollout_restart` changed (or would change, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartOutcome {
    pub kind: WorkloadKind,
    pub name: String,
    /// The pod-template annotation set: always [`RESTARTED_AT`].
    pub annotation: String,
    /// Its new value (RFC 3339, local time, second precision).
    pub restarted_at: String,
    /// `metadata.generation` the server answered with (the rollout to follow).
    pub generation: Option<i64>,
    pub dry_run: bool,
}

/// One entry of `rollout history` (one owned ReplicaSet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub revision: i64,
    /// The ReplicaSet's creationTimestamp.
    pub created: Option<SystemTime>,
    /// Images of the template's containers, in order.
    pub images: Vec<String>,
    /// The ReplicaSet's `kubernetes.io/change-cause` annotation.
    pub change_cause: Option<String>,
    /// Pods the ReplicaSet runs now (`status.replicas`).
    pub replicas: u32,
    /// The ReplicaSet whose template is the Deployment's (kubectl's "new" ReplicaSet).
    pub current: bool,
}

/// What `rollout_undo` did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoOutcome {
    /// The revision rolled back to (the chosen ReplicaSet's revision number).
    pub revision: i64,
    pub images_before: Vec<String>,
    /// The Deployment's images as the server answered the patch (dry run: the preview).
    pub images_after: Vec<String>,
    /// The template already matched: nothing was sent.
    pub skipped: bool,
    /// kubectl's result text: `rolled back`, `rolled back (server dry run)` or
    /// `skipped rollback (current template already matches revision N)`.
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The server's `Status.message` verbatim (otherwise kube's description): a 403 is the server
/// refusing the identity ([`Failure::Forbidden`]), anything else a failure.
fn api_err(e: kube::Error) -> Failure {
    let forbidden = matches!(&e, kube::Error::Api(s) if s.code == 403);
    let message = match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message,
        kube::Error::Api(s) if !s.reason.is_empty() => format!("{} ({})", s.reason, s.code),
        other => other.to_string(),
    };
    if forbidden {
        Failure::Forbidden(message)
    } else {
        Failure::Failed(message)
    }
}

fn resource_of(kind: WorkloadKind) -> ApiResource {
    match kind {
        WorkloadKind::Deployment => ApiResource::erase::<Deployment>(&()),
        WorkloadKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        WorkloadKind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
    }
}

fn dynamic(client: &kube::Client, ns: &str, ar: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, ar)
}

fn deployments(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    dynamic(client, ns, &ApiResource::erase::<Deployment>(&()))
}

fn to_json(o: &DynamicObject) -> Result<Value, String> {
    serde_json::to_value(o).map_err(|e| format!("cannot read the server's object: {e}"))
}

async fn get_json(api: &Api<DynamicObject>, name: &str) -> Result<Value, Failure> {
    let o = api.get(name).await.map_err(api_err)?;
    Ok(to_json(&o)?)
}

/// Every object of a list, following `continue` tokens.
async fn list_all(api: &Api<DynamicObject>, selector: &str) -> Result<Vec<Value>, Failure> {
    let mut lp = ListParams::default();
    if !selector.is_empty() {
        lp = lp.labels(selector);
    }
    let mut out = Vec::new();
    loop {
        let page = api.list(&lp).await.map_err(api_err)?;
        for item in &page.items {
            out.push(to_json(item)?);
        }
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp.continue_token = Some(c),
            _ => return Ok(out),
        }
    }
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn int_of(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_i64()
}

fn count(v: &Value, path: &[&str]) -> u32 {
    int_of(v, path)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

/// Images of a pod template's containers.
fn images(template: &Value) -> Vec<String> {
    template["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| c["image"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn is_paused(d: &Value) -> bool {
    d["spec"]["paused"] == true
}

// ---------------------------------------------------------------------------------------------
// ReplicaSets of a Deployment (kubectl `GetAllReplicaSets`)

/// The label selector of `spec.selector` as a query string ("" = everything).
fn selector_string(selector: &Value) -> Result<String, String> {
    if selector.is_null() {
        return Ok(String::new());
    }
    let ls: LabelSelector = serde_json::from_value(selector.clone())
        .map_err(|e| format!("invalid spec.selector: {e}"))?;
    let sel = Selector::try_from(ls).map_err(|e| format!("invalid spec.selector: {e}"))?;
    Ok(sel.to_string())
}

/// `metav1.IsControlledBy`: the first controller reference carries the owner's uid.
fn controlled_by(obj: &Value, uid: &str) -> bool {
    !uid.is_empty()
        && obj["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
            .is_some_and(|r| r["uid"] == uid)
}

/// ReplicaSets the Deployment controls: the old ones (oldest first) and the new one.
async fn replica_sets(
    client: &kube::Client,
    ns: &str,
    d: &Value,
) -> Result<(Vec<Value>, Option<Value>), Failure> {
    let selector = selector_string(&d["spec"]["selector"])?;
    let api = dynamic(client, ns, &ApiResource::erase::<ReplicaSet>(&()));
    let uid = str_of(d, &["metadata", "uid"]);
    let mut owned: Vec<Value> = list_all(&api, &selector)
        .await?
        .into_iter()
        .filter(|rs| controlled_by(rs, uid))
        .collect();
    // ReplicaSetsByCreationTimestamp: creation time, then name.
    owned.sort_by(|a, b| {
        let ta = parse_time(str_of(a, &["metadata", "creationTimestamp"]));
        let tb = parse_time(str_of(b, &["metadata", "creationTimestamp"]));
        ta.cmp(&tb)
            .then_with(|| str_of(a, &["metadata", "name"]).cmp(str_of(b, &["metadata", "name"])))
    });
    let template = &d["spec"]["template"];
    let new_at = owned
        .iter()
        .position(|rs| equal_ignore_hash(&rs["spec"]["template"], template));
    let new = new_at.map(|i| owned.remove(i));
    Ok((owned, new))
}

fn revision_not_found(n: i64) -> String {
    format!("unable to find specified revision {n} in history")
}

/// kubectl `deploymentRevision`: the ReplicaSet to roll back to.
fn pick_revision<'a>(
    olds: &'a [Value],
    new: Option<&'a Value>,
    to_revision: i64,
    name: &str,
) -> Result<&'a Value, String> {
    let mut latest: (i64, Option<&Value>) = (-1, None);
    let mut previous: (i64, Option<&Value>) = (-1, None);
    for rs in olds.iter().chain(new) {
        let Some(v) = revision_of(rs) else {
            continue;
        };
        if to_revision == 0 {
            if latest.0 < v {
                previous = latest;
                latest = (v, Some(rs));
            } else if previous.0 < v {
                previous = (v, Some(rs));
            }
        } else if to_revision == v {
            return Ok(rs);
        }
    }
    if to_revision > 0 {
        return Err(revision_not_found(to_revision));
    }
    previous
        .1
        .ok_or_else(|| format!("no rollout history found for deployment \"{name}\""))
}

// ---------------------------------------------------------------------------------------------
// Remediations

/// `kubectl rollout restart`: set the restartedAt template annotation with a strategic merge
/// patch (field manager `kubectl-rollout`). A paused Deployment is refused.
pub async fn rollout_restart(
    client: &kube::Client,
    ns: &str,
    kind: WorkloadKind,
    name: &str,
    dry_run: bool,
) -> Result<RestartOutcome, Failure> {
    let api = dynamic(client, ns, &resource_of(kind));
    let obj = get_json(&api, name).await?;
    if kind == WorkloadKind::Deployment && is_paused(&obj) {
        return Err(PAUSED_RESTART.into());
    }
    let value = rfc3339_local_now();
    let current = &obj["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT];
    if current == value.as_str() {
        // The two-way patch would be empty.
        return Err(Failure::Failed(format!(
            "failed to create patch for {name}: if restart has already been triggered within the past second, please wait before attempting to trigger another"
        )));
    }
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: value}}}}});
    let pp = PatchParams {
        field_manager: Some(RESTART_FIELD_MANAGER.into()),
        dry_run,
        ..Default::default()
    };
    let out = api
        .patch(name, &pp, &Patch::Strategic(&patch))
        .await
        .map_err(api_err)?;
    Ok(RestartOutcome {
        kind,
        name: name.to_string(),
        annotation: RESTARTED_AT.to_string(),
        restarted_at: value,
        generation: out.metadata.generation,
        dry_run,
    })
}

/// `kubectl rollout history deployment/NAME`, newest revision first.
pub async fn rollout_history(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Vec<Revision>, Failure> {
    let d = get_json(&deployments(client, ns), name).await?;
    let (olds, new) = replica_sets(client, ns, &d).await?;
    // A map keyed by revision, as kubectl's (a duplicate revision: the later one wins).
    let mut by_rev: BTreeMap<i64, Revision> = BTreeMap::new();
    let entries = olds
        .iter()
        .map(|rs| (rs, false))
        .chain(new.iter().map(|rs| (rs, true)));
    for (rs, current) in entries {
        let Some(revision) = revision_of(rs) else {
            continue;
        };
        let change_cause = rs["metadata"]["annotations"][CHANGE_CAUSE]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        by_rev.insert(
            revision,
            Revision {
                revision,
                created: parse_time(str_of(rs, &["metadata", "creationTimestamp"]))
                    .map(SystemTime::from),
                images: images(&rs["spec"]["template"]),
                change_cause,
                replicas: count(rs, &["status", "replicas"]),
                current,
            },
        );
    }
    Ok(by_rev.into_values().rev().collect())
}

/// `kubectl rollout undo deployment/NAME [--to-revision=N] [--dry-run=server]`.
/// `to_revision` 0 = the previous revision (the second highest).
pub async fn rollout_undo(
    client: &kube::Client,
    ns: &str,
    name: &str,
    to_revision: i64,
    dry_run: bool,
) -> Result<UndoOutcome, Failure> {
    if to_revision < 0 {
        return Err(revision_not_found(to_revision).into());
    }
    let api = deployments(client, ns);
    let d = get_json(&api, name).await?;
    let (olds, new) = replica_sets(client, ns, &d).await?;
    let rs = pick_revision(&olds, new.as_ref(), to_revision, name)?;
    let revision = revision_of(rs).unwrap_or(0);
    if is_paused(&d) {
        return Err(PAUSED_UNDO.into());
    }
    let images_before = images(&d["spec"]["template"]);
    if equal_ignore_hash(&rs["spec"]["template"], &d["spec"]["template"]) {
        return Ok(UndoOutcome {
            revision,
            images_after: images_before.clone(),
            images_before,
            skipped: true,
            // kubectl prints the requested revision (0 for "previous").
            message: format!(
                "skipped rollback (current template already matches revision {to_revision})"
            ),
        });
    }
    let template = without_hash(&rs["spec"]["template"]);
    let mut annotations = Map::new();
    let deployment_ann = &d["metadata"]["annotations"];
    for k in ANNOTATIONS_TO_SKIP {
        if let Some(v) = deployment_ann.get(k).filter(|v| !v.is_null()) {
            annotations.insert(k.to_string(), v.clone());
        }
    }
    if let Some(rs_ann) = rs["metadata"]["annotations"].as_object() {
        for (k, v) in rs_ann {
            if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    let ops = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    let patch: json_patch::Patch =
        serde_json::from_value(ops).map_err(|e| format!("cannot build the patch: {e}"))?;
    let pp = PatchParams {
        dry_run,
        ..Default::default()
    };
    let out = api
        .patch(name, &pp, &Patch::Json::<()>(patch))
        .await
        .map_err(api_err)?;
    let out = to_json(&out)?;
    Ok(UndoOutcome {
        revision,
        images_before,
        images_after: images(&out["spec"]["template"]),
        skipped: false,
        message: if dry_run {
            "rolled back (server dry run)".into()
        } else {
            "rolled back".into()
        },
    })
}

/// The Deployment's `spec.replicas` (1 when unset, as the apiserver defaults).
pub async fn deployment_replicas(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<u32, Failure> {
    let d = get_json(&deployments(client, ns), name).await?;
    match &d["spec"]["replicas"] {
        Value::Null => Ok(1),
        v => v
            .as_i64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                Failure::Failed(format!(
                    "deployment \"{name}\" has an invalid spec.replicas: {v}"
                ))
            }),
    }
}

/// `kubectl scale deployment/NAME --replicas=N`: a merge patch on the `scale` subresource.
/// Returns (replicas before, replicas the server answered with).
pub async fn scale(
    client: &kube::Client,
    ns: &str,
    name: &str,
    replicas: u32,
    dry_run: bool,
) -> Result<(u32, u32), Failure> {
    let from = deployment_replicas(client, ns, name).await?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pp = PatchParams {
        dry_run,
        ..Default::default()
    };
    let patch = json!({"spec": {"replicas": replicas}});
    let out = api
        .patch_scale(name, &pp, &Patch::Merge(&patch))
        .await
        .map_err(api_err)?;
    let to = out
        .spec
        .and_then(|s| s.replicas)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(replicas);
    Ok((from, to))
}

/// kubectl's grace-period rules: `None` = the server default; `--force` means 0; a grace of 0
/// without `--force` becomes 1; `--force` with a positive grace is an error.
fn grace_for(grace: Option<i64>, force: bool) -> Result<Option<u32>, String> {
    let g = grace.filter(|g| *g >= 0);
    let g = match (g, force) {
        (Some(g), true) if g > 0 => return Err(FORCE_WITH_GRACE.to_string()),
        (_, true) => Some(0),
        (Some(0), false) => Some(1),
        (g, false) => g,
    };
    g.map(|g| u32::try_from(g).map_err(|_| format!("invalid grace period {g}")))
        .transpose()
}

/// DELETE one pod; a dry run also carries `dryRun=All` in the query (kubectl sends it in the
/// DeleteOptions body, which kube does too; the query makes it visible in request logs).
async fn delete_request(
    client: &kube::Client,
    ns: &str,
    name: &str,
    dp: &DeleteParams,
) -> Result<Value, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut req = kube::core::Request::new(api.resource_url())
        .delete(name, dp)
        .map_err(kube::Error::BuildRequest)?;
    if dp.dry_run {
        let uri = req.uri().to_string();
        let sep = if uri.ends_with('?') || uri.ends_with('&') {
            ""
        } else if uri.contains('?') {
            "&"
        } else {
            "?"
        };
        *req.uri_mut() = format!("{uri}{sep}dryRun=All").parse().map_err(|e| {
            kube::Error::BuildRequest(kube::core::request::Error::Validation(format!("{e}")))
        })?;
    }
    req.extensions_mut().insert("delete");
    client.request::<Value>(req).await
}

/// `kubectl delete pod NAME [--grace-period=N] [--force]` (background propagation). Returns
/// kubectl's line: `pod "x" deleted`, `pod "x" force deleted`, with ` (server dry run)`.
pub async fn delete_pod(
    client: &kube::Client,
    ns: &str,
    name: &str,
    grace: Option<i64>,
    force: bool,
    dry_run: bool,
) -> Result<String, Failure> {
    let grace = grace_for(grace, force)?;
    let mut dp = DeleteParams::background();
    dp.grace_period_seconds = grace;
    dp.dry_run = dry_run;
    delete_request(client, ns, name, &dp)
        .await
        .map_err(api_err)?;
    let verb = if grace == Some(0) {
        "force deleted"
    } else {
        "deleted"
    };
    let suffix = if dry_run { " (server dry run)" } else { "" };
    Ok(format!("pod \"{name}\" {verb}{suffix}"))
}

/// Names of the pods matching a label selector, in the server's order.
pub async fn pods_for_selector(
    client: &kube::Client,
    ns: &str,
    selector: &str,
) -> Result<Vec<String>, Failure> {
    if selector.trim().is_empty() {
        return Err("a label selector is required".into());
    }
    let api = dynamic(client, ns, &ApiResource::erase::<Pod>(&()));
    Ok(list_all(&api, selector)
        .await?
        .iter()
        .map(|p| str_of(p, &["metadata", "name"]).to_string())
        .filter(|n| !n.is_empty())
        .collect())
}

/// Restart an operator: gracefully delete every pod matching `selector` (its controller makes
/// new ones). Returns the names deleted (dry run: that would be deleted); a pod already gone is
/// skipped.
pub async fn delete_pods(
    client: &kube::Client,
    ns: &str,
    selector: &str,
    dry_run: bool,
) -> Result<Vec<String>, Failure> {
    let names = pods_for_selector(client, ns, selector).await?;
    let mut dp = DeleteParams::background();
    dp.dry_run = dry_run;
    let mut deleted = Vec::with_capacity(names.len());
    for name in names {
        match delete_request(client, ns, &name, &dp).await {
            Ok(_) => deleted.push(name),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_err(e)),
        }
    }
    Ok(deleted)
}

/// One `kubectl rollout status KIND/NAME` observation, by that kind's rule
/// ([`crate::model::rollout`], the one the Pods pane shows rollouts with).
pub async fn rollout_status(
    client: &kube::Client,
    ns: &str,
    kind: WorkloadKind,
    name: &str,
) -> Result<Progress, Failure> {
    let status = match kind {
        WorkloadKind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            deployment_rollout(&api.get(name).await.map_err(api_err)?).kubectl(name)
        }
        WorkloadKind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            statefulset_rollout(&api.get(name).await.map_err(api_err)?).kubectl()
        }
        WorkloadKind::DaemonSet => {
            let api: Api<DaemonSet> = Api::namespaced(client.clone(), ns);
            daemonset_rollout(&api.get(name).await.map_err(api_err)?).kubectl(name)
        }
    };
    Ok(Progress {
        done: status.done,
        failed: status.error,
        message: status.message,
    })
}

// ---------------------------------------------------------------------------------------------
// Permissions

async fn review(api: &Api<SelfSubjectAccessReview>, check: &AccessCheck) -> Result<bool, Failure> {
    let ssar = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: (!check.namespace.is_empty()).then(|| check.namespace.clone()),
                verb: Some(check.verb.clone()),
                group: Some(check.group.clone()),
                resource: Some(check.resource.clone()),
                subresource: check.subresource.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    // A review that could not be made is not a denial: the server decides at the dry run.
    let out = api
        .create(&PostParams::default(), &ssar)
        .await
        .map_err(|e| Failure::Failed(api_err(e).reason().to_string()))?;
    let Some(status) = out.status else {
        return Ok(false);
    };
    if status.allowed {
        return Ok(true);
    }
    let reason = [status.reason, status.evaluation_error]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if reason.is_empty() {
        Ok(false)
    } else {
        Err(Failure::Forbidden(reason))
    }
}

/// Ask the server, by SelfSubjectAccessReview, whether each check is allowed. Per check:
/// `Ok(true)` allowed; `Ok(false)` denied without a reason; `Err(Failure::Forbidden)` denied
/// with the server's reason (`status.reason` / `evaluationError`); `Err(Failure::Failed)` the
/// review itself failed (the server's message). Anything but `Ok(true)` means "not allowed".
pub async fn access(
    client: &kube::Client,
    checks: &[AccessCheck],
) -> Vec<(AccessCheck, Result<bool, Failure>)> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let reviews = checks.iter().map(|c| {
        let api = &api;
        async move { (c.clone(), review(api, c).await) }
    });
    futures::future::join_all(reviews).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::ActionKind;

    #[test]
    fn grace_rules() {
        assert_eq!(grace_for(None, false), Ok(None));
        assert_eq!(grace_for(Some(-1), false), Ok(None));
        assert_eq!(grace_for(Some(0), false), Ok(Some(1)));
        assert_eq!(grace_for(Some(7), false), Ok(Some(7)));
        assert_eq!(grace_for(None, true), Ok(Some(0)));
        assert_eq!(grace_for(Some(0), true), Ok(Some(0)));
        assert_eq!(grace_for(Some(5), true), Err(FORCE_WITH_GRACE.to_string()));
    }

    fn rs(rev: Option<&str>) -> Value {
        match rev {
            Some(r) => json!({"metadata": {"annotations": {REVISION: r}}}),
            None => json!({"metadata": {}}),
        }
    }

    #[test]
    fn revision_choice_like_kubectl() {
        let olds = vec![rs(Some("5")), rs(Some("x")), rs(Some("6"))];
        let new = rs(Some("7"));
        let pick = |n| pick_revision(&olds, Some(&new), n, "web").map(revision_of);
        assert_eq!(pick(0), Ok(Some(6)));
        assert_eq!(pick(5), Ok(Some(5)));
        assert_eq!(
            pick(9),
            Err("unable to find specified revision 9 in history".into())
        );
        let lone = [rs(None)];
        assert_eq!(
            pick_revision(&lone, None, 0, "web").map(|_| ()),
            Err("no rollout history found for deployment \"web\"".into())
        );
    }

    #[test]
    fn checks_and_reasons() {
        let c = checks_for(
            &ActionKind::Scale {
                name: "w".into(),
                from: Some(1),
                to: 2,
            },
            "ns",
        );
        assert_eq!(c[0].to_string(), "patch deployments.apps/scale in ns");
        assert!(checks_for(&ActionKind::RedisKill { id: 1 }, "ns").is_empty());
        let undo = checks_for(
            &ActionKind::RolloutUndo {
                name: "w".into(),
                to_revision: 0,
            },
            "ns",
        );
        let results = vec![(undo[0].clone(), Ok(true)), (undo[1].clone(), Ok(false))];
        assert_eq!(
            denied_reason(&results).as_deref(),
            Some("not allowed: patch deployments.apps in ns")
        );
        assert_eq!(denied_reason(&results[..1]), None);
    }
}
