//! Pod template comparison and hashing for the Deployment controller.

use serde_json::Value;

use super::util::{fnv, safe_string};

/// Drop nulls, empty maps and empty lists (what Go's encoders add or omit freely).
fn normalize(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let out: serde_json::Map<String, Value> = m
                .iter()
                .filter_map(|(k, v)| normalize(v).map(|v| (k.clone(), v)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let out: Vec<Value> = a
                .iter()
                .map(|v| normalize(v).unwrap_or(Value::Null))
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// The template without `pod-template-hash`, normalised.
pub fn canonical(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    if let Some(meta) = t["metadata"].as_object_mut() {
        meta.remove("creationTimestamp");
    }
    normalize(&t).unwrap_or(Value::Null)
}

/// Equal ignoring the hash label (kubectl's `EqualIgnoreHash`).
pub fn template_eq(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

pub fn template_hash(template: &Value) -> String {
    let s = canonical(template).to_string();
    safe_string(fnv(&[&s]), 10)
}

/// `deployment.kubernetes.io/revision` as a number (missing or bad = 0).
pub fn revision_of(obj: &Value) -> u64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
