//! Lists (paging) and writes: create, replace, patch, scale, delete.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Shared;
use super::patch::{self, PatchKind};
use super::resources::Res;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::WorldState;
use super::status::ApiError;
use super::store::{Key, key_of, rv_of};
use super::table::{self, Include};
use super::templates::canonical;
use super::util::{fresh_u64, fresh_uid, safe_string};

fn hex(s: &str) -> String {
    s.bytes().fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    })
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn encode_continue(rv: u64, key: &Key) -> String {
    hex(&format!("{rv}\u{0}{}\u{0}{}", key.0, key.1))
}

fn decode_continue(token: &str) -> Result<(u64, Key), ApiError> {
    let bad =
        || ApiError::bad_request("continue key is not valid: illegal base64 data at input byte 0");
    let s = unhex(token).ok_or_else(bad)?;
    let mut parts = s.split('\u{0}');
    let rv = parts.next().and_then(|r| r.parse().ok()).ok_or_else(bad)?;
    let ns = parts.next().ok_or_else(bad)?.to_string();
    let name = parts.next().ok_or_else(bad)?.to_string();
    Ok((rv, (ns, name)))
}

/// A list response body (serialised directly; items are not cloned): a `{Kind}List`, or a
/// meta.k8s.io Table when `table` says which part of each object its rows carry.
#[allow(clippy::too_many_arguments)]
pub fn list(
    sh: &Arc<Shared>,
    res: Res,
    ns: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
    limit: Option<usize>,
    cont: Option<&str>,
    table: Option<Include>,
) -> Result<String, ApiError> {
    let start = cont
        .filter(|c| !c.is_empty())
        .map(decode_continue)
        .transpose()?;
    Ok(sh.with(|w| {
        let rv = start.as_ref().map_or(w.store.rv(), |(rv, _)| *rv);
        let now = w.store.clock.wall();
        let after = start.as_ref().map(|(_, k)| k);
        let mut items = String::new();
        let mut count = 0usize;
        let mut last: Option<Key> = None;
        let mut more = false;
        let pinned = fields.pinned_name();
        for o in w.store.iter(res, ns, after) {
            if pinned.is_some_and(|n| o["metadata"]["name"] != n)
                || !labels.matches(o)
                || !fields.matches(o)
            {
                continue;
            }
            if limit.is_some_and(|l| count >= l) {
                more = true;
                break;
            }
            if count > 0 {
                items.push(',');
            }
            match table {
                Some(include) => items.push_str(&table::row(res, o, now, include)),
                None => items.push_str(&o.to_string()),
            }
            count += 1;
            last = Some(key_of(o));
        }
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if more && let Some(k) = &last {
            meta["continue"] = json!(encode_continue(rv, k));
        }
        if table.is_some() {
            return table::table(res, &meta, &items);
        }
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{meta},\"items\":[{items}]}}",
            res.kind(),
            res.api_version()
        )
    }))
}

/// Secrets: `stringData` is write-only, merged into `data` (base64) as the apiserver does.
pub fn secret_defaults(s: &mut Value) {
    use base64::Engine as _;
    if s.get("type").is_none_or(Value::is_null) {
        s["type"] = json!("Opaque");
    }
    let Some(Value::Object(plain)) = s.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    if !s["data"].is_object() {
        s["data"] = json!({});
    }
    for (k, v) in plain {
        let text = v.as_str().map_or_else(|| v.to_string(), String::from);
        s["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

fn pod_spec_defaults(spec: &mut Value) {
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("securityContext", json!({})),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if let Some(cs) = spec["containers"].as_array_mut() {
        for c in cs {
            for (k, v) in [
                ("imagePullPolicy", json!("IfNotPresent")),
                ("terminationMessagePath", json!("/dev/termination-log")),
                ("terminationMessagePolicy", json!("File")),
                ("resources", json!({})),
            ] {
                if c.get(k).is_none() {
                    c[k] = v;
                }
            }
        }
    }
}

/// Apiserver defaulting for a new Deployment.
pub fn deployment_defaults(d: &mut Value) {
    let spec = &mut d["spec"];
    for (k, v) in [
        ("replicas", json!(1)),
        ("revisionHistoryLimit", json!(10)),
        ("progressDeadlineSeconds", json!(600)),
        (
            "strategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        ),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    pod_spec_defaults(&mut spec["template"]["spec"]);
    if d["metadata"].get("annotations").is_none() {
        d["metadata"]["annotations"] = json!({});
    }
    if d.get("status").is_none() {
        d["status"] = json!({});
    }
}

/// Apiserver defaulting for a new StatefulSet (apps/v1 `SetDefaults_StatefulSet`).
pub fn statefulset_defaults(s: &mut Value) {
    let spec = &mut s["spec"];
    for (k, v) in [
        ("replicas", json!(1)),
        ("podManagementPolicy", json!("OrderedReady")),
        ("revisionHistoryLimit", json!(10)),
        (
            "persistentVolumeClaimRetentionPolicy",
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
        ),
        ("updateStrategy", json!({"type": "RollingUpdate"})),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if spec["updateStrategy"]["type"] == "RollingUpdate"
        && spec["updateStrategy"].get("rollingUpdate").is_none()
    {
        spec["updateStrategy"]["rollingUpdate"] = json!({"partition": 0});
    }
    pod_spec_defaults(&mut spec["template"]["spec"]);
    if s.get("status").is_none() {
        s["status"] = json!({"replicas": 0, "availableReplicas": 0});
    }
}

/// Apiserver defaulting for a new DaemonSet (apps/v1 `SetDefaults_DaemonSet`).
pub fn daemonset_defaults(d: &mut Value) {
    let spec = &mut d["spec"];
    for (k, v) in [
        ("revisionHistoryLimit", json!(10)),
        ("updateStrategy", json!({"type": "RollingUpdate"})),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if spec["updateStrategy"]["type"] == "RollingUpdate"
        && spec["updateStrategy"].get("rollingUpdate").is_none()
    {
        spec["updateStrategy"]["rollingUpdate"] = json!({"maxUnavailable": 1, "maxSurge": 0});
    }
    pod_spec_defaults(&mut spec["template"]["spec"]);
    if d.get("status").is_none() {
        d["status"] = json!({
            "currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0,
        });
    }
}

pub fn create(
    sh: &Arc<Shared>,
    res: Res,
    ns: Option<&str>,
    mut obj: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if res.namespaced() {
        let ns = ns.ok_or_else(|| ApiError::bad_request("a namespace is required"))?;
        match obj["metadata"]["namespace"].as_str() {
            Some(o) if !o.is_empty() && o != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
    }
    if obj["metadata"]["name"].as_str().is_none_or(str::is_empty)
        && let Some(g) = obj["metadata"]["generateName"].as_str()
    {
        obj["metadata"]["name"] = json!(format!("{g}{}", safe_string(fresh_u64(), 5)));
    }
    match res {
        Res::Deployment => deployment_defaults(&mut obj),
        Res::StatefulSet => statefulset_defaults(&mut obj),
        Res::DaemonSet => daemonset_defaults(&mut obj),
        Res::Pod => {
            pod_spec_defaults(&mut obj["spec"]);
            obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        }
        Res::Namespace => obj["status"] = json!({"phase": "Active"}),
        Res::Job => super::jobs::job_defaults(&mut obj),
        Res::CronJob => super::jobs::cronjob_defaults(&mut obj),
        Res::HorizontalPodAutoscaler => super::autoscaling::hpa_defaults(&mut obj),
        Res::Secret => secret_defaults(&mut obj),
        _ => {}
    }
    sh.with(|w| {
        if res.namespaced() {
            let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
            if w.store.get(Res::Namespace, "", ns).is_none() {
                return Err(ApiError::not_found(Res::Namespace, ns));
            }
        }
        if dry_run {
            let (ns, name) = key_of(&obj);
            if w.store.get(res, &ns, &name).is_some() {
                return Err(ApiError::already_exists(res, &name));
            }
            obj["metadata"]["uid"] = json!(fresh_uid());
            obj["metadata"]["creationTimestamp"] = json!(w.store.clock.rfc3339());
            obj["kind"] = json!(res.kind());
            obj["apiVersion"] = json!(res.api_version());
            return Ok(obj);
        }
        w.store.create(res, obj).map(|v| (*v).clone())
    })
}

/// Merge a client-sent object over the stored one, keeping server-owned fields.
fn finalize_update(
    res: Res,
    current: &Value,
    mut new: Value,
    sub: Option<&str>,
) -> Result<Value, ApiError> {
    let name = current["metadata"]["name"].as_str().unwrap_or("");
    if !new.is_object() || !new["metadata"].is_object() {
        return Err(ApiError::bad_request(
            "the body must be a JSON object with metadata",
        ));
    }
    if new["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new["metadata"]["name"].as_str().unwrap_or("")
        )));
    }
    if sub == Some("status") {
        let mut out = current.clone();
        out["status"] = new["status"].clone();
        return Ok(out);
    }
    new["kind"] = json!(res.kind());
    new["apiVersion"] = json!(res.api_version());
    for k in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
    ] {
        match current["metadata"].get(k) {
            Some(v) => new["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    if res == Res::Secret {
        secret_defaults(&mut new);
    }
    if res.has_status_subresource() {
        match current.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if res.tracks_generation() && canonical(&new["spec"]) != canonical(&current["spec"]) {
        new["metadata"]["generation"] =
            json!(current["metadata"]["generation"].as_u64().unwrap_or(1) + 1);
    }
    Ok(new)
}

fn commit(w: &mut WorldState, res: Res, current: &Value, new: Value, dry_run: bool) -> Value {
    if new == *current || dry_run {
        return new;
    }
    (*w.store.put(res, new)).clone()
}

fn check_rv(res: Res, name: &str, sent: &Value, current: &Value) -> Result<(), ApiError> {
    match sent["metadata"]["resourceVersion"].as_str() {
        Some(rv)
            if !rv.is_empty()
                && rv
                    != current["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or("") =>
        {
            Err(ApiError::conflict(
                res,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ))
        }
        _ => Ok(()),
    }
}

/// The autoscaling/v1 Scale view of a Deployment.
pub fn scale_of(d: &Value) -> Value {
    let sel = LabelSelector::from_label_selector(&d["spec"]["selector"]).to_string_form();
    let m = &d["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]
        },
        "spec": {"replicas": d["spec"]["replicas"].as_u64().unwrap_or(1)},
        "status": {"replicas": d["status"]["replicas"].as_u64().unwrap_or(0), "selector": sel}
    })
}

fn set_replicas(
    w: &mut WorldState,
    d: &Value,
    replicas: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let name = d["metadata"]["name"].as_str().unwrap_or("");
    let n = replicas.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::invalid(
            Res::Deployment,
            name,
            "spec.replicas: Invalid value: must be greater than or equal to 0",
        )
    })?;
    let mut new = d.clone();
    new["spec"]["replicas"] = json!(n);
    if new != *d {
        new["metadata"]["generation"] =
            json!(d["metadata"]["generation"].as_u64().unwrap_or(1) + 1);
    }
    let stored = commit(w, Res::Deployment, d, new, dry_run);
    Ok(scale_of(&stored))
}

pub fn replace(
    sh: &Arc<Shared>,
    res: Res,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    obj: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    sh.with(|w| {
        let current = w
            .store
            .get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(res, name))?;
        check_rv(res, name, &obj, &current)?;
        match sub {
            Some("scale") if res == Res::Deployment => {
                set_replicas(w, &current, &obj["spec"]["replicas"], dry_run)
            }
            None | Some("status") => {
                let new = finalize_update(res, &current, obj, sub)?;
                Ok(commit(w, res, &current, new, dry_run))
            }
            Some(_) => Err(ApiError::page_not_found()),
        }
    })
}

#[allow(clippy::too_many_arguments)]
pub fn patch(
    sh: &Arc<Shared>,
    res: Res,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    kind: PatchKind,
    body: &[u8],
    dry_run: bool,
) -> Result<Value, ApiError> {
    sh.with(|w| {
        let current = w
            .store
            .get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(res, name))?;
        match sub {
            Some("scale") if res == Res::Deployment => {
                let scale = scale_of(&current);
                let patched = patch::apply(kind, &scale, body)?;
                check_rv(res, name, &patched, &current)?;
                set_replicas(w, &current, &patched["spec"]["replicas"], dry_run)
            }
            None | Some("status") => {
                let patched = patch::apply(kind, &current, body)?;
                check_rv(res, name, &patched, &current)?;
                let new = finalize_update(res, &current, patched, sub)?;
                Ok(commit(w, res, &current, new, dry_run))
            }
            Some(_) => Err(ApiError::page_not_found()),
        }
    })
}

pub enum Deleted {
    Object(Value),
    Gone(String),
}

pub fn delete(
    sh: &Arc<Shared>,
    res: Res,
    ns: &str,
    name: &str,
    grace: Option<i64>,
    preconditions: &Value,
    dry_run: bool,
) -> Result<Deleted, ApiError> {
    sh.with(|w| {
        let current = w.store.get(res, ns, name).ok_or_else(|| ApiError::not_found(res, name))?;
        let uid = current["metadata"]["uid"].as_str().unwrap_or("").to_string();
        if let Some(p) = preconditions["uid"].as_str()
            && p != uid
        {
            return Err(ApiError::conflict(res, name, &format!("Precondition failed: UID in precondition: {p}, UID in object meta: {uid}")));
        }
        if let Some(p) = preconditions["resourceVersion"].as_str()
            && p.parse::<u64>().ok() != Some(rv_of(&current))
        {
            return Err(ApiError::conflict(res, name, &format!("Precondition failed: ResourceVersion in precondition: {p}, ResourceVersion in object meta: {}", rv_of(&current))));
        }
        if dry_run {
            return Ok(Deleted::Object((*current).clone()));
        }
        match res {
            Res::Pod => {
                let default = current["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
                let grace = grace.filter(|g| *g >= 0).map_or(default, |g| g as u64);
                let out = w.delete_pod(ns, name, grace).map_or_else(|| (*current).clone(), |v| (*v).clone());
                Ok(Deleted::Object(out))
            }
            Res::Namespace => {
                for r in Res::ALL.into_iter().filter(|r| r.namespaced()) {
                    let keys: Vec<Key> = w.store.iter(r, Some(name), None).map(|o| key_of(o)).collect();
                    for k in keys {
                        w.store.remove(r, &k.0, &k.1);
                    }
                }
                w.store.remove(res, ns, name);
                Ok(Deleted::Gone(uid))
            }
            _ => {
                w.store.remove(res, ns, name);
                Ok(Deleted::Gone(uid))
            }
        }
    })
}
