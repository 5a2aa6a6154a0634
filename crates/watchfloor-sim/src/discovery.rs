//! Legacy discovery documents: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::resources::Res;

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "gitVersion": "v1.33.1-watchfloor-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// The media type of a protobuf `/openapi/v2` (client-go asks for the `@v1.0` spelling,
/// which Go cannot parse back as a Content-Type).
pub const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// An OpenAPI v2 document describing no kinds: clients that validate against it (kubectl
/// apply) skip what it does not describe, as they do for CRDs without a schema.
pub fn openapi_v2() -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.1"}, "paths": {}, "definitions": {}})
}

pub fn core_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}]
    })
}

/// Which optional APIs the simulated cluster has installed (scenario flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// metrics.k8s.io/v1beta1 (metrics-server).
    pub metrics: bool,
    /// cert-manager.io/v1 Certificates and their CRD.
    pub cert_manager: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            metrics: true,
            cert_manager: true,
        }
    }
}

impl Features {
    /// Whether `group` is served at all (unserved groups answer a plain `404 page not found`).
    pub fn serves_group(self, group: &str) -> bool {
        match group {
            "cert-manager.io" => self.cert_manager,
            "metrics.k8s.io" => self.metrics,
            _ => true,
        }
    }
}

/// Groups served under `/apis` (besides core), with their one served version.
const GROUPS: [(&str, &str); 10] = [
    ("apps", "v1"),
    ("authorization.k8s.io", "v1"),
    ("autoscaling", "v2"),
    ("batch", "v1"),
    ("networking.k8s.io", "v1"),
    ("policy", "v1"),
    ("apiextensions.k8s.io", "v1"),
    ("poolboy.gpte.redhat.com", "v1"),
    ("cert-manager.io", "v1"),
    ("metrics.k8s.io", "v1beta1"),
];

fn group_entry(name: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn groups(features: Features) -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .filter(|(g, _)| features.serves_group(g))
        .map(|(g, v)| group_entry(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: the APIGroup document, `None` for groups not served.
pub fn group(name: &str, features: Features) -> Option<Value> {
    let (g, v) = GROUPS
        .iter()
        .find(|(g, _)| *g == name && features.serves_group(g))?;
    let mut doc = group_entry(g, v);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn verbs_for(res: Res) -> &'static [&'static str] {
    match res {
        Res::Namespace | Res::Node => &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        _ => &ALL_VERBS,
    }
}

fn entry(res: Res) -> Value {
    let mut e = json!({
        "name": res.plural(),
        "singularName": res.singular(),
        "namespaced": res.namespaced(),
        "kind": res.kind(),
        "verbs": verbs_for(res),
        "shortNames": res.short_names(),
    });
    match res {
        Res::Pod
        | Res::Deployment
        | Res::ReplicaSet
        | Res::StatefulSet
        | Res::DaemonSet
        | Res::Job
        | Res::CronJob
        | Res::HorizontalPodAutoscaler => e["categories"] = json!(["all"]),
        Res::ResourceClaim => e["categories"] = json!(["poolboy"]),
        Res::Certificate => e["categories"] = json!(["cert-manager"]),
        _ => {}
    }
    e
}

fn sub(name: &str, namespaced: bool, kind: &str, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs})
}

/// A kind's entry followed by its `/status` subresource.
fn with_status(res: Res) -> [Value; 2] {
    [
        entry(res),
        sub(
            &format!("{}/status", res.plural()),
            res.namespaced(),
            res.kind(),
            &["get", "patch", "update"],
        ),
    ]
}

fn resource_list(group_version: &str, resources: Vec<Value>) -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// `/api/v1` or `/apis/{group}/{version}`; `None` for groups or versions not served.
pub fn resources(group: &str, version: &str, features: Features) -> Option<Value> {
    let served = if group.is_empty() {
        version == "v1"
    } else {
        GROUPS
            .iter()
            .any(|(g, v)| *g == group && *v == version && features.serves_group(g))
    };
    if !served {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let list: Vec<Value> = match group {
        "" => {
            let mut eviction = sub("pods/eviction", true, "Eviction", &["create"]);
            eviction["group"] = json!("policy");
            eviction["version"] = json!("v1");
            let mut l = vec![entry(Res::Event)];
            l.extend(with_status(Res::Namespace));
            l.push(entry(Res::Node));
            l.push(entry(Res::Pod));
            l.push(eviction);
            l.push(sub("pods/log", true, "Pod", &["get"]));
            l.push(sub("pods/status", true, "Pod", &["get", "patch", "update"]));
            l.push(entry(Res::Secret));
            l
        }
        "apps" => {
            let mut scale = sub(
                "deployments/scale",
                true,
                "Scale",
                &["get", "patch", "update"],
            );
            scale["group"] = json!("autoscaling");
            scale["version"] = json!("v1");
            let mut l = vec![entry(Res::Deployment), scale];
            l.push(sub(
                "deployments/status",
                true,
                "Deployment",
                &["get", "patch", "update"],
            ));
            for r in [Res::ReplicaSet, Res::StatefulSet, Res::DaemonSet] {
                l.extend(with_status(r));
            }
            l
        }
        "authorization.k8s.io" => vec![sub(
            "selfsubjectaccessreviews",
            false,
            "SelfSubjectAccessReview",
            &["create"],
        )],
        "metrics.k8s.io" => vec![
            sub("nodes", false, "NodeMetrics", &["get", "list"]),
            sub("pods", true, "PodMetrics", &["get", "list"]),
        ],
        _ => Res::ALL
            .into_iter()
            .filter(|r| r.group() == group && r.version() == version)
            .flat_map(|r| {
                if r.has_status_subresource() {
                    with_status(r).to_vec()
                } else {
                    vec![entry(r)]
                }
            })
            .collect(),
    };
    Some(resource_list(&gv, list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_groups_leave_discovery() {
        let none = Features {
            metrics: false,
            cert_manager: false,
        };
        let names = |f| {
            groups(f)["groups"]
                .as_array()
                .map(|gs| gs.iter().map(|g| g["name"].to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert!(names(Features::default()).contains(&"\"cert-manager.io\"".to_string()));
        assert!(!names(none).contains(&"\"cert-manager.io\"".to_string()));
        assert!(!names(none).contains(&"\"metrics.k8s.io\"".to_string()));
        assert!(resources("cert-manager.io", "v1", none).is_none());
        assert!(resources("metrics.k8s.io", "v1beta1", none).is_none());
        assert!(resources("batch", "v1", none).is_some());
        assert!(resources("autoscaling", "v1", none).is_none());
    }

    #[test]
    fn new_kinds_are_discoverable_with_short_names() {
        let f = Features::default();
        let batch = resources("batch", "v1", f).unwrap_or_default();
        let cj = &batch["resources"][2];
        assert_eq!(cj["name"], "cronjobs");
        assert_eq!(cj["shortNames"], json!(["cj"]));
        let certs = resources("cert-manager.io", "v1", f).unwrap_or_default();
        assert_eq!(
            certs["resources"][0]["shortNames"],
            json!(["cert", "certs"])
        );
        let hpa = resources("autoscaling", "v2", f).unwrap_or_default();
        assert_eq!(hpa["resources"][0]["kind"], "HorizontalPodAutoscaler");
    }
}
