//! kubectl's rules about Deployments' pod templates and revisions, shared by the product (rollout
//! history and undo) and the simulator's Deployment controller, so the two cannot disagree.
//! The rollout status rules are in [`crate::model::rollout`].

use serde_json::{Map, Value};

/// The ReplicaSet/Deployment annotation holding the revision number.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller adds to a ReplicaSet's template and selector.
pub const HASH_LABEL: &str = "pod-template-hash";

/// kubectl `deploymentutil.Revision` on an annotation value: missing = 0, unparsable = `None`
/// (kubectl skips such ReplicaSets).
pub fn parse_revision(annotation: Option<&str>) -> Option<i64> {
    match annotation {
        None => Some(0),
        Some(text) => text.parse().ok(),
    }
}

/// [`parse_revision`] of an object as JSON (`metadata.annotations`).
pub fn revision_of(obj: &Value) -> Option<i64> {
    match obj["metadata"]["annotations"].get(REVISION_ANNOTATION) {
        None | Some(Value::Null) => Some(0),
        Some(v) => parse_revision(Some(v.as_str()?)),
    }
}

/// Drops nulls, empty maps and empty lists: what Go's typed round trip and `Semantic.DeepEqual`
/// treat as equal to absent.
fn normalize(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let out: Map<String, Value> = m
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

/// The template without the hash label: what `rollout undo` writes back (kubectl
/// `SetFromReplicaSetTemplate` drops `pod-template-hash`).
pub fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .get_mut("metadata")
        .and_then(|m| m.get_mut("labels"))
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    t
}

/// A pod template without the hash label (and the always-zero `creationTimestamp`), normalised:
/// the form kubectl compares and the controller hashes.
pub fn canonical_template(template: &Value) -> Value {
    let mut t = without_hash(template);
    if let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("creationTimestamp");
    }
    normalize(&t).unwrap_or(Value::Null)
}

/// kubectl `EqualIgnoreHash`: pod templates equal once the hash label is removed.
pub fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    canonical_template(a) == canonical_template(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revision_like_kubectl() {
        assert_eq!(revision_of(&json!({"metadata": {}})), Some(0));
        let rs = |v: Value| json!({"metadata": {"annotations": {REVISION_ANNOTATION: v}}});
        assert_eq!(revision_of(&rs(json!("7"))), Some(7));
        assert_eq!(revision_of(&rs(json!("seven"))), None);
        assert_eq!(revision_of(&rs(json!(7))), None);
        assert_eq!(parse_revision(None), Some(0));
    }

    #[test]
    fn template_equality_ignores_hash_and_empties() {
        let a = json!({"metadata": {"labels": {"app": "x", HASH_LABEL: "abc"}},
                       "spec": {"containers": [{"name": "c", "image": "i:1", "env": []}]}});
        let b = json!({"metadata": {"labels": {"app": "x"}, "creationTimestamp": null},
                       "spec": {"containers": [{"name": "c", "image": "i:1"}], "volumes": null}});
        assert!(equal_ignore_hash(&a, &b));
        let c = json!({"metadata": {"labels": {"app": "x"}},
                       "spec": {"containers": [{"name": "c", "image": "i:2"}]}});
        assert!(!equal_ignore_hash(&a, &c));
    }
}
