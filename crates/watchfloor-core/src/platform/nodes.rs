//! Nodes: conditions, cordons, roles, allocatable against what the pods on them request, and
//! usage from NodeMetrics; the node rule and its worst-first order.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Node;

use super::quantity::{cpu_millis, memory_bytes};
use super::usage::NodeUsage;
use crate::model::pods::PodRow;
use crate::model::{Health, system_time};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeCondition {
    /// `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`, ...
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeRow {
    pub name: String,
    /// The Ready condition: `None` when Unknown (the kubelet stopped reporting) or absent.
    pub ready: Option<bool>,
    pub conditions: Vec<NodeCondition>,
    /// The problem conditions that are True, in the API's order.
    pub pressures: Vec<String>,
    /// Cordoned.
    pub unschedulable: bool,
    /// From `node-role.kubernetes.io/ROLE` and `kubernetes.io/role` labels.
    pub roles: Vec<String>,
    /// The kubelet's version.
    pub version: String,
    /// Millicores.
    pub allocatable_cpu: Option<u64>,
    /// Bytes.
    pub allocatable_memory: Option<u64>,
    pub allocatable_pods: Option<u64>,
    #[serde(skip)]
    pub created: Option<SystemTime>,
}

/// The conditions that are problems when True.
pub const PRESSURES: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

pub fn node_row(node: &Node) -> NodeRow {
    let meta = &node.metadata;
    let status = node.status.as_ref();
    let conditions: Vec<NodeCondition> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| NodeCondition {
            kind: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().filter(|r| !r.is_empty()),
            message: c.message.clone().filter(|m| !m.is_empty()),
        })
        .collect();
    let ready =
        conditions
            .iter()
            .find(|c| c.kind == "Ready")
            .and_then(|c| match c.status.as_str() {
                "True" => Some(true),
                "False" => Some(false),
                _ => None,
            });
    let pressures = conditions
        .iter()
        .filter(|c| c.status == "True" && PRESSURES.contains(&c.kind.as_str()))
        .map(|c| c.kind.clone())
        .collect();
    let mut roles: Vec<String> = Vec::new();
    for (key, value) in meta.labels.iter().flatten() {
        let role = match key.strip_prefix(ROLE_PREFIX) {
            Some(role) => role,
            None if key == "kubernetes.io/role" => value.as_str(),
            None => continue,
        };
        if !role.is_empty() && !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    roles.sort();
    let allocatable = status.and_then(|s| s.allocatable.as_ref());
    let quantity = |key: &str, parse: fn(&str) -> Option<u64>| {
        allocatable
            .and_then(|a| a.get(key))
            .and_then(|q| parse(&q.0))
    };
    NodeRow {
        name: meta.name.clone().unwrap_or_default(),
        ready,
        conditions,
        pressures,
        unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true),
        roles,
        version: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.clone())
            .unwrap_or_default(),
        allocatable_cpu: quantity("cpu", cpu_millis),
        allocatable_memory: quantity("memory", memory_bytes),
        allocatable_pods: quantity("pods", memory_bytes),
        created: meta.creation_timestamp.as_ref().and_then(system_time),
    }
}

/// What the pods on a node ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeLoad {
    pub pods: u32,
    /// Millicores.
    pub cpu_requested: u64,
    /// Bytes.
    pub memory_requested: u64,
}

/// Per node name, the pods bound to it that still hold resources (not Succeeded/Failed).
pub fn node_loads<'a>(pods: impl Iterator<Item = &'a PodRow>) -> BTreeMap<String, NodeLoad> {
    let mut loads: BTreeMap<String, NodeLoad> = BTreeMap::new();
    for pod in pods.filter(|p| !p.terminated) {
        let Some(node) = pod.node.as_deref() else {
            continue;
        };
        let load = match loads.get_mut(node) {
            Some(load) => load,
            None => loads.entry(node.to_owned()).or_default(),
        };
        load.pods = load.pods.saturating_add(1);
        load.cpu_requested = load
            .cpu_requested
            .saturating_add(pod.resources.cpu_request.unwrap_or(0));
        load.memory_requested = load
            .memory_requested
            .saturating_add(pod.resources.memory_request.unwrap_or(0));
    }
    loads
}

/// Memory in use from this fraction of allocatable is a warning (the kubelet's eviction
/// threshold is close).
pub const NODE_MEMORY_WARN: f64 = 0.95;

/// The node rule. Crit: NotReady, or Ready Unknown (the kubelet stopped reporting); any
/// pressure condition (Memory/Disk/PID pressure: the kubelet is evicting pods) or
/// NetworkUnavailable (its pods have no network). Warn: cordoned, full of pods, or memory in
/// use at [`NODE_MEMORY_WARN`] of allocatable. Every problem is listed, worst first.
pub fn node_check(
    row: &NodeRow,
    load: Option<&NodeLoad>,
    usage: Option<&NodeUsage>,
) -> (Health, String) {
    let mut crit: Vec<String> = Vec::new();
    let mut warn: Vec<String> = Vec::new();
    let ready_condition = row.conditions.iter().find(|c| c.kind == "Ready");
    match row.ready {
        Some(true) => {}
        Some(false) => crit.push(with_reason("NotReady", ready_condition)),
        None => crit.push(with_reason("Unknown", ready_condition)),
    }
    for pressure in &row.pressures {
        let condition = row.conditions.iter().find(|c| &c.kind == pressure);
        crit.push(with_reason(pressure, condition));
    }
    if row.unschedulable {
        warn.push("cordoned".into());
    }
    if let (Some(load), Some(max)) = (load, row.allocatable_pods)
        && max > 0
        && u64::from(load.pods) >= max
    {
        warn.push(format!("{}/{max} pods", load.pods));
    }
    if let (Some(usage), Some(allocatable)) = (usage, row.allocatable_memory)
        && allocatable > 0
        && usage.memory_bytes as f64 >= allocatable as f64 * NODE_MEMORY_WARN
    {
        let percent = u128::from(usage.memory_bytes) * 100 / u128::from(allocatable);
        warn.push(format!("memory {percent}% of allocatable in use"));
    }
    let health = if !crit.is_empty() {
        Health::Crit
    } else if !warn.is_empty() {
        Health::Warn
    } else {
        Health::Ok
    };
    crit.extend(warn);
    let text = if crit.is_empty() {
        "Ready".to_owned()
    } else {
        crit.join("; ")
    };
    (health, text)
}

fn with_reason(what: &str, condition: Option<&NodeCondition>) -> String {
    match condition.and_then(|c| c.message.as_deref().or(c.reason.as_deref())) {
        Some(why) => format!("{what}: {why}"),
        None => what.to_owned(),
    }
}

/// The node's problems as short names, for the summary line (`NotReady`, `Unknown`,
/// `DiskPressure`, `cordoned`).
pub fn node_problems(row: &NodeRow) -> Vec<&str> {
    let mut problems = Vec::new();
    match row.ready {
        Some(true) => {}
        Some(false) => problems.push("NotReady"),
        None => problems.push("Unknown"),
    }
    problems.extend(row.pressures.iter().map(String::as_str));
    if row.unschedulable {
        problems.push("cordoned");
    }
    problems
}

/// Worst first, by the node rule's health, then by name.
pub fn severity(health: Health, row: &NodeRow) -> (Health, &str) {
    (health, row.name.as_str())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::platform::usage::Resources;

    fn node(conditions: Value, spec: Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "node-1", "labels": {
                "node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/infra": "",
                "kubernetes.io/hostname": "node-1"}},
            "spec": spec,
            "status": {
                "conditions": conditions,
                "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                "nodeInfo": {"kubeletVersion": "v1.33.1", "architecture": "", "bootID": "",
                    "containerRuntimeVersion": "", "kernelVersion": "", "kubeProxyVersion": "",
                    "machineID": "", "operatingSystem": "", "osImage": "", "systemUUID": ""},
            },
        }))
        .unwrap()
    }

    fn ready(status: &str) -> Value {
        json!({"type": "Ready", "status": status, "reason": "KubeletReady"})
    }

    #[test]
    fn a_healthy_node() {
        let row = node_row(&node(
            json!([ready("True"), {"type": "DiskPressure", "status": "False"}]),
            json!({}),
        ));
        assert_eq!(row.ready, Some(true));
        assert_eq!(row.roles, ["infra", "worker"]);
        assert_eq!(row.version, "v1.33.1");
        assert_eq!(row.allocatable_cpu, Some(3920));
        assert_eq!(row.allocatable_memory, Some(15 << 30));
        assert_eq!(row.allocatable_pods, Some(110));
        assert!(row.pressures.is_empty());
        assert_eq!(node_check(&row, None, None), (Health::Ok, "Ready".into()));
        assert!(node_problems(&row).is_empty());
    }

    #[test]
    fn conditions_and_cordons() {
        let pressure = node_row(&node(
            json!([ready("True"), {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure",
                "message": "kubelet has disk pressure"}]),
            json!({}),
        ));
        assert_eq!(pressure.pressures, ["DiskPressure"]);
        assert_eq!(
            node_check(&pressure, None, None),
            (
                Health::Crit,
                "DiskPressure: kubelet has disk pressure".into()
            )
        );
        assert_eq!(node_problems(&pressure), ["DiskPressure"]);
        let not_ready = node_row(&node(
            json!([{"type": "Ready", "status": "False", "message": "container runtime is down"}]),
            json!({"unschedulable": true}),
        ));
        assert_eq!(
            node_check(&not_ready, None, None),
            (
                Health::Crit,
                "NotReady: container runtime is down; cordoned".into()
            )
        );
        assert_eq!(node_problems(&not_ready), ["NotReady", "cordoned"]);
        let unknown = node_row(&node(
            json!([{"type": "Ready", "status": "Unknown",
            "reason": "NodeStatusUnknown"}]),
            json!({}),
        ));
        assert_eq!(unknown.ready, None);
        assert_eq!(
            node_check(&unknown, None, None).1,
            "Unknown: NodeStatusUnknown"
        );
        let cordoned = node_row(&node(
            json!([ready("True")]),
            json!({"unschedulable": true}),
        ));
        assert_eq!(
            node_check(&cordoned, None, None),
            (Health::Warn, "cordoned".into())
        );
        let network = node_row(&node(
            json!([ready("True"), {"type": "NetworkUnavailable", "status": "True"}]),
            json!({}),
        ));
        assert_eq!(node_check(&network, None, None).0, Health::Crit);
        let bare = node_row(&Node::default());
        assert_eq!(
            node_check(&bare, None, None).0,
            Health::Crit,
            "no Ready condition"
        );
    }

    #[test]
    fn loads_and_usage() {
        let row = node_row(&node(json!([ready("True")]), json!({})));
        let usage = NodeUsage {
            name: "node-1".into(),
            cpu_millis: 100,
            memory_bytes: (15 << 30) / 100 * 96,
        };
        assert_eq!(
            node_check(&row, None, Some(&usage)),
            (Health::Warn, "memory 95% of allocatable in use".into())
        );
        let full = NodeLoad {
            pods: 110,
            ..Default::default()
        };
        assert_eq!(node_check(&row, Some(&full), None).1, "110/110 pods");
        let pod = |name: &str, node: Option<&str>, terminated: bool| PodRow {
            namespace: "ns".into(),
            name: name.into(),
            ready: 1,
            total: 1,
            status: "Running".into(),
            health: Health::Ok,
            restarts: 0,
            last_restart: None,
            created: None,
            node: node.map(str::to_owned),
            owner: None,
            resources: Resources {
                cpu_request: Some(250),
                memory_request: Some(1 << 30),
                ..Default::default()
            },
            terminated,
        };
        let pods = [
            pod("a", Some("node-1"), false),
            pod("b", Some("node-1"), false),
            pod("c", Some("node-1"), true),
            pod("d", None, false),
            pod("e", Some("node-2"), false),
        ];
        let loads = node_loads(pods.iter());
        assert_eq!(
            loads.get("node-1"),
            Some(&NodeLoad {
                pods: 2,
                cpu_requested: 500,
                memory_requested: 2 << 30
            })
        );
        assert_eq!(loads.get("node-2").map(|l| l.pods), Some(1));
        assert_eq!(loads.len(), 2);
    }
}
