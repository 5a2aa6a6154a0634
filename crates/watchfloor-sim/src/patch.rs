//! Patch application: JSON merge (RFC 7386), JSON patch (RFC 6902) and a strict subset of
//! strategic merge (maps, plus lists merged by `name` for the well-known keys).

use serde_json::Value;

use super::status::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Strategic,
    Json,
}

pub fn kind_from_content_type(ct: &str) -> Result<PatchKind, ApiError> {
    let media = ct.split(';').next().unwrap_or("").trim();
    match media {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/json-patch+json" => Ok(PatchKind::Json),
        other => Err(ApiError::unsupported_media(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
        ))),
    }
}

/// Lists the strategic merge understands, all merged by their `name` field.
const NAMED_LISTS: [&str; 7] = [
    "containers",
    "initContainers",
    "env",
    "volumes",
    "volumeMounts",
    "imagePullSecrets",
    "ephemeralContainers",
];

/// Lists strategic merge replaces whole (no merge key: `listType=atomic` or no patch strategy)
/// that the platform kinds' manifests carry: Ingress rules/paths/tls, an HPA's metrics, a
/// container's command and args.
const REPLACED_LISTS: [&str; 7] = [
    "rules", "paths", "tls", "hosts", "metrics", "command", "args",
];

fn strategic(target: &mut Value, patch: &Value, path: &str) -> Result<(), String> {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    for (k, v) in pm {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" {
            continue;
        }
        if k.starts_with('$') {
            return Err(format!(
                "unsupported strategic merge directive {k} at {path}"
            ));
        }
        let Some(tm) = target.as_object_mut() else {
            return Err(format!("cannot patch non-object at {path}"));
        };
        match v {
            Value::Null => {
                tm.remove(k);
            }
            Value::Object(_) => {
                let slot = tm.entry(k.clone()).or_insert(Value::Null);
                strategic(slot, v, &format!("{path}.{k}"))?;
            }
            Value::Array(_) if REPLACED_LISTS.contains(&k.as_str()) => {
                tm.insert(k.clone(), v.clone());
            }
            Value::Array(items) => {
                if !NAMED_LISTS.contains(&k.as_str()) {
                    return Err(format!(
                        "strategic merge of list {path}.{k} is not supported"
                    ));
                }
                let slot = tm.entry(k.clone()).or_insert(Value::Array(vec![]));
                let Value::Array(existing) = slot else {
                    return Err(format!("{path}.{k} is not a list"));
                };
                for item in items {
                    let name = item["name"]
                        .as_str()
                        .ok_or_else(|| format!("{path}.{k}: items need a name"))?;
                    let delete = item["$patch"] == "delete";
                    let pos = existing.iter().position(|e| e["name"] == name);
                    match (pos, delete) {
                        (Some(i), true) => {
                            existing.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => {
                            strategic(&mut existing[i], item, &format!("{path}.{k}[{name}]"))?
                        }
                        (None, false) => existing.push(item.clone()),
                    }
                }
            }
            other => {
                tm.insert(k.clone(), other.clone());
            }
        }
    }
    Ok(())
}

/// Apply a patch body to `target`, returning the patched document.
pub fn apply(kind: PatchKind, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let mut doc = target.clone();
    match kind {
        PatchKind::Merge | PatchKind::Strategic => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("patch body must be a JSON object"));
            }
            if kind == PatchKind::Merge {
                json_patch::merge(&mut doc, &patch);
            } else {
                strategic(&mut doc, &patch, "").map_err(|m| ApiError::new(422, "Invalid", m))?;
            }
        }
        PatchKind::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding json patch: {e}")))?;
            json_patch::patch(&mut doc, &patch).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn atomic_lists_are_replaced_and_unknown_lists_refused() {
        let ing = json!({"spec": {"rules": [{"host": "a"}], "tls": [{"secretName": "a"}]}});
        let patch = json!({"spec": {"rules": [{"host": "b"}]}});
        let out = apply(PatchKind::Strategic, &ing, patch.to_string().as_bytes());
        let out = out.unwrap_or_default();
        assert_eq!(out["spec"]["rules"], json!([{"host": "b"}]));
        assert_eq!(out["spec"]["tls"], ing["spec"]["tls"]);
        let ports = json!({"spec": {"ports": [{"port": 80}]}});
        assert!(apply(PatchKind::Strategic, &ing, ports.to_string().as_bytes()).is_err());
    }
}
