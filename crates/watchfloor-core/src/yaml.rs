//! An API object much as `kubectl get -o yaml` prints it, for the YAML view (`y`): the server's
//! JSON with `metadata.managedFields` left out (kubectl hides them unless
//! `--show-managed-fields`), and nothing secret: a Secret's `data` and `stringData` values and
//! its last-applied annotation, and the values of environment variables whose names say they
//! are secrets ([`crate::redact::is_secret_name`]), are masked.
//!
//! Unlike kubectl, which sorts every mapping's keys (its YAML goes through a Go map), the keys
//! stay in the order the server wrote them: `kind`, `apiVersion`, then `metadata` with the name
//! first, as the API's types declare them.
//!
//! The text is not yet fit for the terminal: whoever draws it sanitises each line
//! ([`crate::text::sanitize`]). The YAML emitter already escapes C0 controls (ESC becomes `\e`
//! in a double-quoted string), but not bidi controls and the like.

use serde_yaml_ng::{Mapping, Value};

use crate::redact::{MASK, is_secret_name};

/// The annotation `kubectl apply` keeps the applied object in: a Secret's holds its data.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The object in `json` (an API server's answer to a GET) as YAML.
pub fn object_yaml(json: &str) -> Result<String, String> {
    // Into YAML's own value: its mappings keep the keys in the order the server wrote them
    // (serde_json's map, built without `preserve_order` here, would sort them).
    let mut object: Value = serde_json::from_str(json)
        .map_err(|e| format!("the server's answer is not a JSON object: {e}"))?;
    if !object.is_mapping() {
        return Err("the server's answer is not a JSON object".into());
    }
    if let Some(Value::Mapping(metadata)) = object.get_mut("metadata") {
        metadata.shift_remove("managedFields");
    }
    if is_secret(&object) {
        mask_secret(&mut object);
    }
    mask_secret_env(&mut object);
    serde_yaml_ng::to_string(&object).map_err(|e| format!("cannot write the object as YAML: {e}"))
}

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// A Secret's values, and the copy of them `kubectl apply` leaves in an annotation.
fn mask_secret(secret: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(Value::Mapping(values)) = secret.get_mut(field) {
            values.values_mut().for_each(mask);
        }
    }
    if let Some(Value::Mapping(annotations)) = secret
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        && let Some(applied) = annotations.get_mut(LAST_APPLIED)
    {
        mask(applied);
    }
}

fn mask(value: &mut Value) {
    *value = Value::String(MASK.into());
}

/// `env: [{name: DB_PASSWORD, value: ...}]` anywhere (pods, templates, custom resources): the
/// value of a variable whose name says it is a secret.
fn mask_secret_env(value: &mut Value) {
    match value {
        Value::Mapping(mapping) => {
            if let Some(Value::Sequence(env)) = mapping.get_mut("env") {
                env.iter_mut()
                    .filter_map(Value::as_mapping_mut)
                    .for_each(mask_env_var);
            }
            mapping.values_mut().for_each(mask_secret_env);
        }
        Value::Sequence(items) => items.iter_mut().for_each(mask_secret_env),
        Value::Tagged(tagged) => mask_secret_env(&mut tagged.value),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

fn mask_env_var(var: &mut Mapping) {
    let secret = var
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(is_secret_name);
    if secret && let Some(value @ Value::String(_)) = var.get_mut("value") {
        mask(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = r#"{"kind":"Deployment","apiVersion":"apps/v1",
        "metadata":{"name":"api","namespace":"shop","uid":"u-1",
            "managedFields":[{"manager":"kubectl","operation":"Update","fieldsV1":{"f:spec":{}}}],
            "labels":{"zeta":"1","alpha":"2"}},
        "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"api","image":"api:1",
            "env":[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"},
                   {"name":"API_TOKEN","valueFrom":{"secretKeyRef":{"name":"s","key":"token"}}}]}]}}},
        "status":{"readyReplicas":2}}"#;

    #[test]
    fn keeps_the_servers_key_order_and_hides_managed_fields() {
        let yaml = object_yaml(DEPLOYMENT).unwrap();
        assert!(!yaml.contains("managedFields"), "{yaml}");
        assert!(!yaml.contains("f:spec"), "{yaml}");
        let order: Vec<&str> = yaml.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(
            order,
            [
                "kind: Deployment",
                "apiVersion: apps/v1",
                "metadata:",
                "spec:",
                "status:"
            ]
        );
        // Not sorted: `zeta` came first from the server.
        let zeta = yaml.find("zeta").unwrap();
        assert!(zeta < yaml.find("alpha").unwrap(), "{yaml}");
        assert!(yaml.contains("\n  replicas: 3\n"), "{yaml}");
        // Lists as kubectl writes them: the dash at the key's indentation.
        assert!(
            yaml.contains("\n      containers:\n      - name: api\n"),
            "{yaml}"
        );
    }

    #[test]
    fn masks_the_values_of_secret_looking_variables() {
        let yaml = object_yaml(DEPLOYMENT).unwrap();
        assert!(!yaml.contains("hunter2"), "{yaml}");
        assert!(yaml.contains("value: '***'"), "{yaml}");
        assert!(yaml.contains("value: debug"), "{yaml}");
        // A reference is not a secret: it stays readable.
        assert!(yaml.contains("secretKeyRef:"), "{yaml}");
    }

    #[test]
    fn never_prints_a_secrets_data() {
        let secret = r#"{"kind":"Secret","apiVersion":"v1","type":"Opaque",
            "metadata":{"name":"db","namespace":"shop","annotations":{
                "kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                "owner":"team-a"}},
            "data":{"password":"aHVudGVyMg==","user":"YWRtaW4="},
            "stringData":{"token":"plain"}}"#;
        let yaml = object_yaml(secret).unwrap();
        for leak in ["aHVudGVyMg==", "YWRtaW4=", "plain"] {
            assert!(!yaml.contains(leak), "{leak} in\n{yaml}");
        }
        // The keys stay: the operator sees what the Secret holds, not the values.
        assert!(
            yaml.contains("  password: '***'\n  user: '***'\n"),
            "{yaml}"
        );
        assert!(yaml.contains("owner: team-a"), "{yaml}");
    }

    #[test]
    fn control_characters_are_escaped_by_the_emitter() {
        let json = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p",
            "annotations":{"note":"\u001b]0;owned\u0007 red \u001b[31mX"}}}"#;
        let yaml = object_yaml(json).unwrap();
        assert!(
            !yaml.chars().any(|c| c.is_control() && c != '\n'),
            "{yaml:?}"
        );
        assert!(
            yaml.contains(r#"note: "\e]0;owned\a red \e[31mX""#),
            "{yaml}"
        );
    }

    #[test]
    fn a_non_object_answer_is_an_error() {
        assert!(object_yaml("not json").is_err());
        assert!(object_yaml("[1, 2]").is_err());
    }
}
