//! core/v1 Events recorded against pods and other objects (deduplicated with `count`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::pods::PodEvent;
use super::resources::Res;
use super::store::Store;
use super::util::fresh_u64;

/// (involved uid, reason, message) → event name.
pub type EventIndex = HashMap<(String, &'static str, String), (String, String)>;

/// Record `e` against `involved`, bumping `count` of an identical earlier event.
pub fn record(store: &mut Store, index: &mut EventIndex, res: Res, involved: &Value, e: PodEvent) {
    let meta = &involved["metadata"];
    let uid = meta["uid"].as_str().unwrap_or("").to_string();
    let ns = meta["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let name = meta["name"].as_str().unwrap_or("").to_string();
    let now = store.clock.rfc3339();
    let key = (uid.clone(), e.reason, e.message.clone());
    if let Some((ens, ename)) = index.get(&key)
        && let Some(old) = store.get(Res::Event, ens, ename)
    {
        let mut ev = (*old).clone();
        ev["count"] = json!(ev["count"].as_u64().unwrap_or(1) + 1);
        ev["lastTimestamp"] = json!(now);
        store.put(Res::Event, ev);
        return;
    }
    let ename = format!("{name}.{:016x}", fresh_u64());
    let mut involved_ref = json!({
        "kind": res.kind(),
        "namespace": meta["namespace"],
        "name": name,
        "uid": uid,
        "apiVersion": res.api_version(),
        "resourceVersion": meta["resourceVersion"],
    });
    if let Some(fp) = &e.field_path {
        involved_ref["fieldPath"] = json!(fp);
    }
    let host = involved["spec"]["nodeName"].as_str().unwrap_or("");
    let mut source = json!({"component": e.component});
    if e.component == "kubelet" && !host.is_empty() {
        source["host"] = json!(host);
    }
    let ev = json!({
        "metadata": {"name": ename, "namespace": ns},
        "involvedObject": involved_ref,
        "reason": e.reason,
        "message": e.message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": if e.warning { "Warning" } else { "Normal" },
        "eventTime": null,
        "reportingComponent": e.component,
        "reportingInstance": host,
    });
    if store.create(Res::Event, ev).is_ok() {
        index.insert(key, (ns, ename));
    }
}
