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

pub fn core_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}]
    })
}

/// Groups served under `/apis` (besides core).
pub const GROUPS: [&str; 4] = [
    "apps",
    "authorization.k8s.io",
    "policy",
    "poolboy.gpte.redhat.com",
];

pub fn groups() -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| {
            let gv = json!({"groupVersion": format!("{g}/v1"), "version": "v1"});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn verbs_for(res: Res) -> Vec<&'static str> {
    match res {
        Res::Event
        | Res::Pod
        | Res::Deployment
        | Res::ReplicaSet
        | Res::StatefulSet
        | Res::DaemonSet
        | Res::ResourceClaim
        | Res::PodDisruptionBudget => vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        Res::Namespace | Res::Node => {
            vec![
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        }
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
        Res::Pod => e["categories"] = json!(["all"]),
        Res::Deployment | Res::ReplicaSet | Res::StatefulSet | Res::DaemonSet => {
            e["categories"] = json!(["all"]);
        }
        Res::ResourceClaim => e["categories"] = json!(["poolboy"]),
        _ => {}
    }
    e
}

fn sub(name: &str, namespaced: bool, kind: &str, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs})
}

fn resource_list(group_version: &str, resources: Vec<Value>) -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// `/api/v1` or `/apis/{group}/v1`; `None` for unknown groups.
pub fn resources(group: &str, version: &str) -> Option<Value> {
    if version != "v1" {
        return None;
    }
    let gv = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    let list = match group {
        "" => vec![
            entry(Res::Event),
            entry(Res::Namespace),
            sub(
                "namespaces/status",
                false,
                "Namespace",
                &["get", "patch", "update"],
            ),
            entry(Res::Node),
            entry(Res::Pod),
            {
                let mut e = sub("pods/eviction", true, "Eviction", &["create"]);
                e["group"] = json!("policy");
                e["version"] = json!("v1");
                e
            },
            sub("pods/log", true, "Pod", &["get"]),
            sub("pods/status", true, "Pod", &["get", "patch", "update"]),
        ],
        "apps" => vec![
            entry(Res::Deployment),
            {
                let mut e = sub(
                    "deployments/scale",
                    true,
                    "Scale",
                    &["get", "patch", "update"],
                );
                e["group"] = json!("autoscaling");
                e["version"] = json!("v1");
                e
            },
            sub(
                "deployments/status",
                true,
                "Deployment",
                &["get", "patch", "update"],
            ),
            entry(Res::ReplicaSet),
            sub(
                "replicasets/status",
                true,
                "ReplicaSet",
                &["get", "patch", "update"],
            ),
            entry(Res::StatefulSet),
            sub(
                "statefulsets/status",
                true,
                "StatefulSet",
                &["get", "patch", "update"],
            ),
            entry(Res::DaemonSet),
            sub(
                "daemonsets/status",
                true,
                "DaemonSet",
                &["get", "patch", "update"],
            ),
        ],
        "authorization.k8s.io" => vec![sub(
            "selfsubjectaccessreviews",
            false,
            "SelfSubjectAccessReview",
            &["create"],
        )],
        "policy" => vec![
            entry(Res::PodDisruptionBudget),
            sub(
                "poddisruptionbudgets/status",
                true,
                "PodDisruptionBudget",
                &["get", "patch", "update"],
            ),
        ],
        "poolboy.gpte.redhat.com" => vec![
            entry(Res::ResourceClaim),
            sub(
                "resourceclaims/status",
                true,
                "ResourceClaim",
                &["get", "patch", "update"],
            ),
        ],
        _ => return None,
    };
    Some(resource_list(&gv, list))
}
