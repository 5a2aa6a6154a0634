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
