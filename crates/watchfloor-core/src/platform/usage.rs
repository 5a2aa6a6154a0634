//! Requests, limits and usage: what a pod asks for (its spec) and what it uses (the metrics
//! API, `metrics.k8s.io/v1beta1`, as `kubectl top` reads it), and how close usage is to the
//! limit.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{Container, Pod};
use serde::Deserialize;

use super::quantity::{cpu_millis, format_cpu, format_memory, memory_bytes};
use crate::model::{Health, parse_time};

use crate::model::resources::is_sidecar;
pub use crate::model::resources::{Resources, container_resources, pod_resources};

/// One container's usage from a PodMetrics item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerUsage {
    pub name: String,
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

/// A pod's usage (PodMetrics): per container, over `window` ending at `timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodUsage {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<ContainerUsage>,
    #[serde(skip)]
    pub window: Option<Duration>,
    #[serde(skip)]
    pub timestamp: Option<SystemTime>,
}

impl PodUsage {
    pub fn cpu_millis(&self) -> u64 {
        self.containers
            .iter()
            .fold(0, |sum, c| sum.saturating_add(c.cpu_millis))
    }

    pub fn memory_bytes(&self) -> u64 {
        self.containers
            .iter()
            .fold(0, |sum, c| sum.saturating_add(c.memory_bytes))
    }
}

/// A node's usage (NodeMetrics).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeUsage {
    pub name: String,
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

// The metrics API's JSON, as far as it is read. Items are decoded one by one so a malformed
// item is skipped, not the whole poll.
/// A list whose items are read one at a time: a malformed item is skipped, and no item is
/// kept as a `serde_json::Value` (10,000 pods' metrics as Values would be tens of MiB at
/// every poll; buffered one by one they are freed as they go).
#[derive(Deserialize)]
struct List<T> {
    items: Vec<Lenient<T>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Item(T),
    Malformed(serde::de::IgnoredAny),
}

impl<T> Lenient<T> {
    fn ok(self) -> Option<T> {
        match self {
            Self::Item(item) => Some(item),
            Self::Malformed(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct Meta {
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize)]
struct Usage {
    cpu: String,
    memory: String,
}

impl Usage {
    fn parse(&self) -> Option<(u64, u64)> {
        Some((cpu_millis(&self.cpu)?, memory_bytes(&self.memory)?))
    }
}

#[derive(Deserialize)]
struct PodItem {
    metadata: Meta,
    timestamp: Option<String>,
    window: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerItem>,
}

#[derive(Deserialize)]
struct ContainerItem {
    name: String,
    usage: Usage,
}

#[derive(Deserialize)]
struct NodeItem {
    metadata: Meta,
    usage: Usage,
}

fn items<T: serde::de::DeserializeOwned>(json: &[u8], kind: &str) -> Result<Vec<T>, String> {
    serde_json::from_slice::<List<T>>(json)
        .map(|list| list.items.into_iter().filter_map(Lenient::ok).collect())
        .map_err(|e| format!("not a {kind}: {e}"))
}

/// A `PodMetricsList`; items without a name or with a usage that does not parse are skipped
/// (a partial sum would understate the pod). Err only when the body is not a list.
pub fn parse_pod_metrics(json: &[u8]) -> Result<Vec<PodUsage>, String> {
    let items: Vec<PodItem> = items(json, "PodMetricsList")?;
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let containers = item
                .containers
                .iter()
                .map(|c| {
                    let (cpu_millis, memory_bytes) = c.usage.parse()?;
                    Some(ContainerUsage {
                        name: c.name.clone(),
                        cpu_millis,
                        memory_bytes,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(PodUsage {
                namespace: item.metadata.namespace,
                name: item.metadata.name,
                containers,
                window: item.window.as_deref().and_then(go_duration),
                timestamp: item.timestamp.as_deref().and_then(parse_time),
            })
        })
        .collect())
}

/// A `NodeMetricsList`, leniently as [`parse_pod_metrics`].
pub fn parse_node_metrics(json: &[u8]) -> Result<Vec<NodeUsage>, String> {
    let items: Vec<NodeItem> = items(json, "NodeMetricsList")?;
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let (cpu_millis, memory_bytes) = item.usage.parse()?;
            Some(NodeUsage {
                name: item.metadata.name,
                cpu_millis,
                memory_bytes,
            })
        })
        .collect())
}

/// A Go duration as the metrics API writes `window` (`30s`, `1m0s`, `10.5s`, `500ms`).
pub(crate) fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let seconds_per_unit = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        let value: f64 = number.parse().ok()?;
        total = total.checked_add(Duration::try_from_secs_f64(value * seconds_per_unit).ok()?)?;
        rest = tail;
    }
    Some(total)
}

/// How close memory usage is to the limit: Crit at or over the limit (the OOM killer's
/// line), Warn from `warn_fraction` of it (config `memory_warn`, default 0.9), Ok below or
/// without a limit (nothing to be killed against; the node's pressure covers that).
pub fn memory_level(used: u64, limit: Option<u64>, warn_fraction: f64) -> Health {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return Health::Ok;
    };
    if used >= limit {
        Health::Crit
    } else if used as f64 >= limit as f64 * warn_fraction {
        Health::Warn
    } else {
        Health::Ok
    }
}

/// One container's usage against its own requests and limits, for the pod detail: the OOM
/// killer acts per container, so a container near its limit shows here even when the pod's
/// sum does not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerUsageRow {
    pub name: String,
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub resources: Resources,
    pub memory_level: Health,
}

/// The sampled containers of `pod` (app containers and sidecars, in spec order), each with
/// its figures; a sampled container the spec does not name (a stale sample) comes last,
/// without requests or limits.
pub fn container_usage_rows(
    pod: &Pod,
    usage: &PodUsage,
    memory_warn: f64,
) -> Vec<ContainerUsageRow> {
    let spec = pod.spec.as_ref();
    let containers = spec.map_or(&[][..], |s| &s.containers);
    let sidecars = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| is_sidecar(c));
    let known: Vec<&Container> = sidecars.chain(containers).collect();
    let row = |sample: &ContainerUsage, resources: Resources| ContainerUsageRow {
        name: sample.name.clone(),
        cpu_millis: sample.cpu_millis,
        memory_bytes: sample.memory_bytes,
        memory_level: memory_level(sample.memory_bytes, resources.memory_limit, memory_warn),
        resources,
    };
    let mut rows: Vec<ContainerUsageRow> = known
        .iter()
        .filter_map(|c| {
            let sample = usage.containers.iter().find(|u| u.name == c.name)?;
            Some(row(sample, container_resources(c)))
        })
        .collect();
    rows.extend(
        usage
            .containers
            .iter()
            .filter(|u| !known.iter().any(|c| c.name == u.name))
            .map(|u| row(u, Resources::default())),
    );
    rows
}

/// `used/limit pct%` with `format`, or `used` alone without a limit.
fn cell(used: u64, limit: Option<u64>, format: fn(u64) -> String) -> String {
    match limit.filter(|l| *l > 0) {
        Some(limit) => {
            let percent = u128::from(used) * 100 / u128::from(limit);
            format!("{}/{} {percent}%", format(used), format(limit))
        }
        None => format(used),
    }
}

/// `1.9Gi/2Gi 95%`, or `1.9Gi` without a limit.
pub fn memory_cell(used: u64, limit: Option<u64>) -> String {
    cell(used, limit, format_memory)
}

/// `250m/500m 50%`, or `250m` without a limit.
pub fn cpu_cell(used: u64, limit: Option<u64>) -> String {
    cell(used, limit, format_cpu)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    #[test]
    fn pod_resources_sum_containers_and_lose_a_limit_one_lacks() {
        let p = pod(json!({"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                        "limits": {"cpu": "1", "memory": "256Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "50m"},
                                        "limits": {"memory": "256Mi"}}},
        ]}));
        assert_eq!(
            pod_resources(&p),
            Resources {
                cpu_request: Some(150),
                cpu_limit: None,
                memory_request: Some(128 << 20),
                memory_limit: Some(512 << 20),
            }
        );
        assert_eq!(
            pod_resources(&pod(json!({"containers": []}))),
            Resources::default()
        );
        assert_eq!(
            pod_resources(&pod(json!({"containers": [{"name": "a"}]}))),
            Resources::default()
        );
    }

    #[test]
    fn init_containers_count_as_the_scheduler_counts_them() {
        let p = pod(json!({
            "initContainers": [
                {"name": "migrate", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "2", "memory": "64Mi"}}},
                {"name": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "100m", "memory": "64Mi"}}},
            ],
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
            ],
        }));
        let r = pod_resources(&p);
        assert_eq!(r.cpu_request, Some(2000), "the init container needs more");
        assert_eq!(r.memory_request, Some(1 << 30));
        assert_eq!(
            r.cpu_limit,
            Some(1100),
            "app + sidecar, not the finished init container"
        );
        assert_eq!(
            r.memory_limit,
            Some((1 << 30) + (64 << 20)),
            "app + sidecar"
        );
    }

    #[test]
    fn pod_metrics_parse_leniently() {
        let body = json!({
            "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
            "items": [
                {"metadata": {"name": "api-1", "namespace": "shop"},
                 "timestamp": "2024-05-01T10:00:00Z", "window": "1m0.5s",
                 "containers": [
                    {"name": "app", "usage": {"cpu": "250123456n", "memory": "1992294Ki"}},
                    {"name": "proxy", "usage": {"cpu": "1m", "memory": "10Mi"}}]},
                {"metadata": {"namespace": "shop"}, "containers": []},
                {"metadata": {"name": "bad", "namespace": "shop"},
                 "containers": [{"name": "app", "usage": {"cpu": "lots", "memory": "1Mi"}}]},
                {"metadata": {"name": "odd", "namespace": "shop"}, "containers": 7},
                "junk",
            ]
        });
        let pods = parse_pod_metrics(body.to_string().as_bytes()).unwrap();
        assert_eq!(pods.len(), 1);
        let p = &pods[0];
        assert_eq!((p.namespace.as_str(), p.name.as_str()), ("shop", "api-1"));
        assert_eq!(p.cpu_millis(), 252);
        assert_eq!(p.memory_bytes(), 1_992_294 * 1024 + (10 << 20));
        assert_eq!(p.window, Some(Duration::from_millis(60_500)));
        assert!(p.timestamp.is_some());
        assert!(parse_pod_metrics(b"{\"kind\": \"Status\"}").is_err());
        assert!(parse_pod_metrics(b"not json").is_err());
        assert_eq!(parse_pod_metrics(b"{\"items\": []}"), Ok(vec![]));
    }

    #[test]
    fn node_metrics_parse_leniently() {
        let body = json!({"items": [
            {"metadata": {"name": "n1"}, "usage": {"cpu": "1500m", "memory": "8Gi"}},
            {"metadata": {"name": "n2"}, "usage": {"cpu": "1"}},
        ]});
        let nodes = parse_node_metrics(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            nodes,
            vec![NodeUsage {
                name: "n1".into(),
                cpu_millis: 1500,
                memory_bytes: 8 << 30
            }]
        );
        assert!(parse_node_metrics(b"[]").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(go_duration("500ms"), Some(Duration::from_millis(500)));
        for junk in ["", "s", "5", "5x", "1.2.3s"] {
            assert_eq!(go_duration(junk), None, "{junk}");
        }
    }

    #[test]
    fn memory_near_the_limit() {
        let gi = 1u64 << 30;
        assert_eq!(memory_level(gi, None, 0.9), Health::Ok);
        assert_eq!(memory_level(gi, Some(0), 0.9), Health::Ok);
        assert_eq!(memory_level(gi, Some(2 * gi), 0.9), Health::Ok);
        assert_eq!(
            memory_level(gi * 181 / 100, Some(2 * gi), 0.9),
            Health::Warn
        );
        assert_eq!(memory_level(gi * 19 / 10, Some(2 * gi), 0.9), Health::Warn);
        assert_eq!(memory_level(2 * gi, Some(2 * gi), 0.9), Health::Crit);
        assert_eq!(memory_level(3 * gi, Some(2 * gi), 0.9), Health::Crit);
        assert_eq!(memory_level(gi, Some(2 * gi), 0.5), Health::Warn);
    }

    #[test]
    fn per_container_figures_against_their_own_limits() {
        let p = pod(json!({
            "initContainers": [{"name": "proxy", "restartPolicy": "Always",
                "resources": {"limits": {"memory": "100Mi"}}}],
            "containers": [
                {"name": "app", "resources": {"limits": {"memory": "1Gi"}}},
                {"name": "idle", "resources": {"limits": {"memory": "1Gi"}}},
            ],
        }));
        let sample = |name: &str, memory: u64| ContainerUsage {
            name: name.into(),
            cpu_millis: 5,
            memory_bytes: memory,
        };
        let usage = PodUsage {
            namespace: "ns".into(),
            name: "p".into(),
            containers: vec![
                sample("app", 950 << 20),
                sample("proxy", 10 << 20),
                sample("gone", 1),
            ],
            window: None,
            timestamp: None,
        };
        let rows = container_usage_rows(&p, &usage, 0.9);
        let levels: Vec<(&str, Health)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.memory_level))
            .collect();
        assert_eq!(
            levels,
            [
                ("proxy", Health::Ok),
                ("app", Health::Warn),
                ("gone", Health::Ok)
            ]
        );
        assert_eq!(rows[1].resources.memory_limit, Some(1 << 30));
        // The pod's sum (960Mi of 2.1Gi) is not near its limit; the app container is.
        let pod_limit = pod_resources(&p).memory_limit;
        assert_eq!(
            memory_level(usage.memory_bytes(), pod_limit, 0.9),
            Health::Ok
        );
    }

    #[test]
    fn cells() {
        let gi = 1u64 << 30;
        assert_eq!(memory_cell(gi * 19 / 10 + 1, Some(2 * gi)), "1.9Gi/2Gi 95%");
        assert_eq!(memory_cell(gi * 19 / 10 + 1, None), "1.9Gi");
        assert_eq!(cpu_cell(250, Some(500)), "250m/500m 50%");
        assert_eq!(cpu_cell(250, None), "250m");
        assert_eq!(
            cpu_cell(u64::MAX, Some(1)),
            format!("{}m/1m {}%", u64::MAX, u128::from(u64::MAX) * 100)
        );
    }
}
