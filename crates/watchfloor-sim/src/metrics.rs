//! The simulated metrics-server: `metrics.k8s.io/v1beta1` PodMetrics and NodeMetrics, read-only,
//! derived from the stored pods and nodes on every request (nothing is stored, so there is no
//! watch). A container's usage is a fraction of its resources: CPU of its request, memory of
//! its limit (request when unlimited); the fractions come from the scenario per workload
//! (`cpu_load`, `memory_load`) or, by default, from a stable hash of the pod's name, so every
//! look at the same world gives the same figures.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::resources::Res;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::{Load, Loads, WorldState};
use super::status::ApiError;
use super::util::fnv;

/// What a CPU request defaults to when a container has none (for the usage figure only).
const DEFAULT_CPU_MILLIS: f64 = 100.0;
/// And memory, likewise (256 MiB).
const DEFAULT_MEMORY_BYTES: f64 = 268_435_456.0;

/// Parse a CPU quantity ("250m", "2", "0.5", "12345n", "15u") into millicores.
pub fn cpu_millis(q: &str) -> Option<f64> {
    let q = q.trim();
    let (num, scale) = match q.char_indices().last()? {
        (i, 'm') => (&q[..i], 1.0),
        (i, 'u') => (&q[..i], 1e-3),
        (i, 'n') => (&q[..i], 1e-6),
        _ => (q, 1000.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * scale)
}

/// Parse a memory quantity ("512Mi", "2Gi", "63754188Ki", "1G", "1000") into bytes.
pub fn bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (num, scale) = SUFFIXES
        .iter()
        .find_map(|(s, f)| q.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((q, 1.0));
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * scale)
}

/// metrics-server's CPU format: whole nanocores.
fn cpu_quantity(millis: f64) -> String {
    format!("{}n", (millis * 1e6).round() as u64)
}

/// metrics-server's memory format: whole KiB.
fn memory_quantity(bytes: f64) -> String {
    format!("{}Ki", (bytes / 1024.0).round() as u64)
}

/// One container's usage: (name, CPU millicores, memory bytes).
pub(crate) type Usage = (String, f64, f64);

fn load_for(loads: &Loads, pod: &Value, container: &str) -> Load {
    let meta = &pod["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or("");
    let name = meta["name"].as_str().unwrap_or("");
    let app = meta["labels"]["app"].as_str().unwrap_or(name);
    if let Some(l) = loads.get(&(ns.to_string(), app.to_string())) {
        return *l;
    }
    // 5–45 % of the CPU request, 30–70 % of the memory limit: a calm cluster.
    let h = fnv(&[ns, name, container]);
    Load {
        cpu: 0.05 + (h % 41) as f64 / 100.0,
        memory: 0.30 + ((h >> 8) % 41) as f64 / 100.0,
    }
}

/// Usage of a pod's running containers; empty for pods that are not running (metrics-server
/// has no figures for them either).
pub(crate) fn pod_usage(loads: &Loads, pod: &Value) -> Vec<Usage> {
    if pod["status"]["phase"] != "Running" || pod["metadata"]["deletionTimestamp"].is_string() {
        return Vec::new();
    }
    let running: Vec<&str> = pod["status"]["containerStatuses"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["state"].get("running").is_some())
                .filter_map(|c| c["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c["name"].as_str()?;
            if !running.contains(&name) {
                return None;
            }
            let res = &c["resources"];
            let cpu_req = res["requests"]["cpu"]
                .as_str()
                .and_then(cpu_millis)
                .unwrap_or(DEFAULT_CPU_MILLIS);
            let mem_cap = res["limits"]["memory"]
                .as_str()
                .or_else(|| res["requests"]["memory"].as_str())
                .and_then(bytes)
                .unwrap_or(DEFAULT_MEMORY_BYTES);
            let load = load_for(loads, pod, name);
            Some((name.to_string(), cpu_req * load.cpu, mem_cap * load.memory))
        })
        .collect()
}

fn pod_metrics(w: &WorldState, pod: &Value, now: &str) -> Option<Value> {
    let usage = pod_usage(&w.loads, pod);
    if usage.is_empty() {
        return None;
    }
    let meta = &pod["metadata"];
    let containers: Vec<Value> = usage
        .iter()
        .map(|(name, cpu, mem)| {
            json!({"name": name, "usage": {"cpu": cpu_quantity(*cpu), "memory": memory_quantity(*mem)}})
        })
        .collect();
    Some(json!({
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": now,
            "labels": meta["labels"]},
        "timestamp": now, "window": "15s", "containers": containers,
    }))
}

/// System daemons' share of a node (kubelet, runtime): a stable few hundred millicores.
fn node_overhead(name: &str) -> (f64, f64) {
    let h = fnv(&[name, "overhead"]);
    (
        250.0 + (h % 200) as f64,
        1_610_612_736.0 + ((h >> 8) % 512) as f64 * 1_048_576.0,
    )
}

/// Usage of every node: overhead plus the usage of the pods on it.
fn node_usage(w: &WorldState) -> HashMap<String, (f64, f64)> {
    let mut out: HashMap<String, (f64, f64)> = w
        .store
        .iter(Res::Node, None, None)
        .filter_map(|n| n["metadata"]["name"].as_str())
        .map(|n| (n.to_string(), node_overhead(n)))
        .collect();
    for pod in w.store.iter(Res::Pod, None, None) {
        let Some(node) = pod["spec"]["nodeName"].as_str() else {
            continue;
        };
        if let Some(total) = out.get_mut(node) {
            for (_, cpu, mem) in pod_usage(&w.loads, pod) {
                total.0 += cpu;
                total.1 += mem;
            }
        }
    }
    out
}

fn node_metrics(node: &Value, usage: (f64, f64), now: &str) -> Value {
    json!({
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": node["metadata"]["name"], "creationTimestamp": now, "labels": node["metadata"]["labels"]},
        "timestamp": now, "window": "20s",
        "usage": {"cpu": cpu_quantity(usage.0), "memory": memory_quantity(usage.1)},
    })
}

/// A metrics API path below `/apis/metrics.k8s.io/v1beta1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Pods {
        ns: Option<String>,
        name: Option<String>,
    },
    Nodes {
        name: Option<String>,
    },
}

impl Query {
    /// The path's segments after the group version; `None` when it names no metrics resource.
    pub fn parse(rest: &[&str]) -> Option<Query> {
        let s = |x: &&str| Some((*x).to_string());
        match rest {
            ["pods"] => Some(Query::Pods {
                ns: None,
                name: None,
            }),
            ["namespaces", ns, "pods"] => Some(Query::Pods {
                ns: s(ns),
                name: None,
            }),
            ["namespaces", ns, "pods", n] => Some(Query::Pods {
                ns: s(ns),
                name: s(n),
            }),
            ["nodes"] => Some(Query::Nodes { name: None }),
            ["nodes", n] => Some(Query::Nodes { name: s(n) }),
            _ => None,
        }
    }
}

fn not_found(what: &str, name: &str) -> ApiError {
    let mut e = ApiError::new(
        404,
        "NotFound",
        format!("{what}.metrics.k8s.io \"{name}\" not found"),
    );
    e.details = Some(json!({"name": name, "group": "metrics.k8s.io", "kind": what}));
    e
}

/// Answer a metrics query (GET only; the caller checked the method and that the API is on).
pub fn serve(
    w: &WorldState,
    q: &Query,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Result<Value, ApiError> {
    let now = w.store.clock.rfc3339();
    match q {
        Query::Pods { ns, name: Some(n) } => {
            let ns = ns.as_deref().unwrap_or("");
            let pod = w
                .store
                .get(Res::Pod, ns, n)
                .ok_or_else(|| not_found("pods", n))?;
            pod_metrics(w, &pod, &now).ok_or_else(|| not_found("pods", n))
        }
        Query::Pods { ns, name: None } => {
            let items: Vec<Value> = w
                .store
                .iter(Res::Pod, ns.as_deref(), None)
                .filter(|p| labels.matches(p) && fields.matches(p))
                .filter_map(|p| pod_metrics(w, p, &now))
                .collect();
            Ok(
                json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {}, "items": items}),
            )
        }
        Query::Nodes { name } => {
            let usage = node_usage(w);
            let nodes: Vec<Value> = w
                .store
                .iter(Res::Node, None, None)
                .filter(|n| {
                    name.as_deref()
                        .is_none_or(|want| n["metadata"]["name"] == want)
                })
                .filter(|n| labels.matches(n) && fields.matches(n))
                .filter_map(|n| {
                    let u = usage.get(n["metadata"]["name"].as_str()?)?;
                    Some(node_metrics(n, *u, &now))
                })
                .collect();
            match name {
                Some(n) => nodes
                    .into_iter()
                    .next()
                    .ok_or_else(|| not_found("nodes", n)),
                None => Ok(
                    json!({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {}, "items": nodes}),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(cpu_millis("250m"), Some(250.0));
        assert_eq!(cpu_millis("2"), Some(2000.0));
        assert_eq!(cpu_millis("0.5"), Some(500.0));
        assert_eq!(cpu_millis("1500000n"), Some(1.5));
        assert_eq!(cpu_millis("x"), None);
        assert_eq!(bytes("512Mi"), Some(536_870_912.0));
        assert_eq!(bytes("1G"), Some(1e9));
        assert_eq!(bytes("100"), Some(100.0));
        assert_eq!(bytes("-1Ki"), None);
    }

    fn running_pod(app: &str) -> Value {
        json!({"metadata": {"name": format!("{app}-x"), "namespace": "ns", "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "200m"}, "limits": {"memory": "1Gi"}}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "state": {"running": {}}}]}})
    }

    #[test]
    fn a_scenario_load_sets_usage_against_request_and_limit() {
        let mut loads = Loads::new();
        loads.insert(
            ("ns".into(), "hot".into()),
            Load {
                cpu: 1.5,
                memory: 0.95,
            },
        );
        let u = pod_usage(&loads, &running_pod("hot"));
        assert_eq!(u.len(), 1);
        assert!((u[0].1 - 300.0).abs() < 1e-9);
        assert!((u[0].2 - 0.95 * 1_073_741_824.0).abs() < 1.0);
        let calm = pod_usage(&loads, &running_pod("calm"));
        assert_eq!(calm, pod_usage(&loads, &running_pod("calm")), "stable");
        assert!(calm[0].1 < 200.0 * 0.5);
    }

    #[test]
    fn pods_not_running_have_no_metrics() {
        let mut p = running_pod("a");
        p["status"]["phase"] = json!("Pending");
        assert!(pod_usage(&Loads::new(), &p).is_empty());
    }

    #[test]
    fn paths() {
        assert_eq!(
            Query::parse(&["namespaces", "a", "pods"]),
            Some(Query::Pods {
                ns: Some("a".into()),
                name: None
            })
        );
        assert_eq!(Query::parse(&["services"]), None);
    }
}
