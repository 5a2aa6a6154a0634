//! HorizontalPodAutoscalers (autoscaling/v2): replicas against their bounds, each metric
//! against its target as kubectl's TARGETS column prints it, and whether scaling is stuck.

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, MetricSpec, MetricStatus, MetricTarget, MetricValueStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::{cpu_millis, format_cpu, format_memory, memory_bytes};
use crate::model::Health;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HpaMetric {
    /// `cpu`, `memory`, a pods/object/external metric's name; `app/cpu` for a container's.
    pub name: String,
    /// `95%`, `1.2Gi`; `None` while unknown (kubectl's `<unknown>`).
    pub current: Option<String>,
    pub target: String,
}

impl HpaMetric {
    /// `cpu: 95%/70%`, `memory: <unknown>/1Gi`.
    pub fn text(&self) -> String {
        let current = self.current.as_deref().unwrap_or("<unknown>");
        format!("{}: {current}/{}", self.name, self.target)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HpaRow {
    pub namespace: String,
    pub name: String,
    /// `Deployment`, `StatefulSet`, ...
    pub target_kind: String,
    pub target_name: String,
    pub current_replicas: u32,
    pub desired_replicas: u32,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub metrics: Vec<HpaMetric>,
    /// Current replicas at the maximum, or the controller says it wants more (ScalingLimited
    /// TooManyReplicas).
    pub at_max: bool,
    pub health: Health,
    pub reason: Option<String>,
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// The row for one HPA. Warn when scaling is inactive (ScalingActive or AbleToScale False: the
/// metrics are missing, the target is gone) or at max replicas (it cannot absorb more load);
/// Ok otherwise.
pub fn hpa_row(hpa: &HorizontalPodAutoscaler) -> HpaRow {
    let meta = &hpa.metadata;
    let spec = hpa.spec.clone().unwrap_or_default();
    let status = hpa.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let condition = |kind: &str, value: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == value)
    };
    let current_metrics = status.current_metrics.unwrap_or_default();
    let metrics = spec
        .metrics
        .iter()
        .flatten()
        .filter_map(|m| metric(m, &current_metrics))
        .collect();
    let current = count(status.current_replicas.unwrap_or(0));
    let max = count(spec.max_replicas);
    let limited = condition("ScalingLimited", "True")
        .is_some_and(|c| c.reason.as_deref() == Some("TooManyReplicas"));
    let at_max = (max > 0 && current >= max) || limited;
    let stuck = condition("ScalingActive", "False").or_else(|| condition("AbleToScale", "False"));
    let (health, reason) = if let Some(c) = stuck {
        let why = [c.reason.as_deref(), c.message.as_deref()]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        let what = if c.type_ == "ScalingActive" {
            "not scaling"
        } else {
            "unable to scale"
        };
        let reason = if why.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {why}")
        };
        (Health::Warn, Some(reason))
    } else if at_max {
        (Health::Warn, Some(format!("at max replicas ({max})")))
    } else {
        (Health::Ok, None)
    };
    HpaRow {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        target_kind: spec.scale_target_ref.kind,
        target_name: spec.scale_target_ref.name,
        current_replicas: current,
        desired_replicas: count(status.desired_replicas),
        // The API server defaults minReplicas to 1.
        min_replicas: count(spec.min_replicas.unwrap_or(1)),
        max_replicas: max,
        metrics,
        at_max,
        health,
        reason,
    }
}

/// Worst first: health, then those at their maximum.
pub fn severity(row: &HpaRow) -> (Health, bool) {
    (row.health, !row.at_max)
}

/// One spec metric and its current value, matched by type and name (not by position, which
/// the controller does not promise).
fn metric(spec: &MetricSpec, current: &[MetricStatus]) -> Option<HpaMetric> {
    let found = |pred: &dyn Fn(&MetricStatus) -> bool| current.iter().find(|s| pred(s));
    match spec.type_.as_str() {
        "Resource" => {
            let source = spec.resource.as_ref()?;
            let status = found(&|s| s.resource.as_ref().is_some_and(|r| r.name == source.name))
                .and_then(|s| s.resource.as_ref())
                .map(|r| &r.current);
            Some(resource_metric(
                source.name.clone(),
                &source.name,
                &source.target,
                status,
            ))
        }
        "ContainerResource" => {
            let source = spec.container_resource.as_ref()?;
            let status = found(&|s| {
                s.container_resource
                    .as_ref()
                    .is_some_and(|r| r.name == source.name && r.container == source.container)
            })
            .and_then(|s| s.container_resource.as_ref())
            .map(|r| &r.current);
            let name = format!("{}/{}", source.container, source.name);
            Some(resource_metric(name, &source.name, &source.target, status))
        }
        "Pods" => {
            let source = spec.pods.as_ref()?;
            let status = found(&|s| {
                s.pods
                    .as_ref()
                    .is_some_and(|p| p.metric.name == source.metric.name)
            })
            .and_then(|s| s.pods.as_ref())
            .map(|p| &p.current);
            Some(value_metric(
                source.metric.name.clone(),
                &source.target,
                status,
            ))
        }
        "Object" => {
            let source = spec.object.as_ref()?;
            let status = found(&|s| {
                s.object
                    .as_ref()
                    .is_some_and(|o| o.metric.name == source.metric.name)
            })
            .and_then(|s| s.object.as_ref())
            .map(|o| &o.current);
            Some(value_metric(
                source.metric.name.clone(),
                &source.target,
                status,
            ))
        }
        "External" => {
            let source = spec.external.as_ref()?;
            let status = found(&|s| {
                s.external
                    .as_ref()
                    .is_some_and(|e| e.metric.name == source.metric.name)
            })
            .and_then(|s| s.external.as_ref())
            .map(|e| &e.current);
            Some(value_metric(
                source.metric.name.clone(),
                &source.target,
                status,
            ))
        }
        _ => None,
    }
}

/// A cpu/memory metric: utilization as `95%`, values in kubectl top's units.
fn resource_metric(
    name: String,
    resource: &str,
    target: &MetricTarget,
    current: Option<&MetricValueStatus>,
) -> HpaMetric {
    if let Some(utilization) = target.average_utilization {
        return HpaMetric {
            name,
            current: current
                .and_then(|c| c.average_utilization)
                .map(|u| format!("{u}%")),
            target: format!("{utilization}%"),
        };
    }
    let show = |q: &Quantity| resource_quantity(resource, q);
    HpaMetric {
        name,
        current: current
            .and_then(|c| c.average_value.as_ref().or(c.value.as_ref()))
            .map(show),
        target: target
            .average_value
            .as_ref()
            .or(target.value.as_ref())
            .map_or_else(|| "<unset>".to_owned(), show),
    }
}

fn resource_quantity(resource: &str, q: &Quantity) -> String {
    let formatted = match resource {
        "cpu" => cpu_millis(&q.0).map(format_cpu),
        "memory" => memory_bytes(&q.0).map(format_memory),
        _ => None,
    };
    formatted.unwrap_or_else(|| q.0.clone())
}

/// A custom metric: its value or average value as the API writes it.
fn value_metric(
    name: String,
    target: &MetricTarget,
    current: Option<&MetricValueStatus>,
) -> HpaMetric {
    let average = target.average_value.is_some();
    let target_text = match (
        &target.average_value,
        &target.value,
        target.average_utilization,
    ) {
        (Some(q), _, _) | (None, Some(q), _) => q.0.clone(),
        (None, None, Some(u)) => format!("{u}%"),
        (None, None, None) => "<unset>".into(),
    };
    let current = current.and_then(|c| {
        let value = if average {
            c.average_value.as_ref().or(c.value.as_ref())
        } else {
            c.value.as_ref().or(c.average_value.as_ref())
        };
        value
            .map(|q| q.0.clone())
            .or_else(|| c.average_utilization.map(|u| format!("{u}%")))
    });
    HpaMetric {
        name,
        current,
        target: target_text,
    }
}

/// The HPA scaling `kind/namespace/name` (the scale dialog says so; the workload view shows it).
pub fn hpa_for<'a>(
    hpas: impl IntoIterator<Item = &'a HpaRow>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Option<&'a HpaRow> {
    hpas.into_iter()
        .find(|h| h.namespace == namespace && h.target_kind == kind && h.target_name == name)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn hpa(current: i32, max: i32, metrics: Value, status_extra: Value) -> HorizontalPodAutoscaler {
        let mut status = json!({"currentReplicas": current, "desiredReplicas": current});
        if let (Some(base), Some(extra)) = (status.as_object_mut(), status_extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": max, "metrics": metrics},
            "status": status,
        }))
        .unwrap()
    }

    fn cpu_and_memory() -> Value {
        json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}},
        ])
    }

    #[test]
    fn at_max_replicas_is_a_warning() {
        let row = hpa_row(&hpa(
            10,
            10,
            cpu_and_memory(),
            json!({"currentMetrics": [
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "1288490188"}}},
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 95, "averageValue": "950m"}}},
            ]}),
        ));
        assert_eq!(
            (row.current_replicas, row.min_replicas, row.max_replicas),
            (10, 2, 10)
        );
        assert_eq!(
            (row.target_kind.as_str(), row.target_name.as_str()),
            ("Deployment", "web")
        );
        let texts: Vec<String> = row.metrics.iter().map(HpaMetric::text).collect();
        assert_eq!(texts, ["cpu: 95%/70%", "memory: 1.2Gi/1Gi"]);
        assert!(row.at_max);
        assert_eq!(row.health, Health::Warn);
        assert_eq!(row.reason.as_deref(), Some("at max replicas (10)"));
    }

    #[test]
    fn scaling_limited_and_inactive() {
        let limited = hpa_row(&hpa(
            8,
            10,
            cpu_and_memory(),
            json!({"conditions": [{"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas"}]}),
        ));
        assert!(limited.at_max);
        let texts: Vec<String> = limited.metrics.iter().map(HpaMetric::text).collect();
        assert_eq!(texts, ["cpu: <unknown>/70%", "memory: <unknown>/1Gi"]);
        let inactive = hpa_row(&hpa(
            3,
            10,
            cpu_and_memory(),
            json!({"conditions": [{"type": "AbleToScale", "status": "True"},
                {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                 "message": "the HPA was unable to compute the replica count: no metrics returned from resource metrics API"}]}),
        ));
        assert!(!inactive.at_max);
        assert_eq!(inactive.health, Health::Warn);
        assert_eq!(
            inactive.reason.as_deref(),
            Some(
                "not scaling: FailedGetResourceMetric: the HPA was unable to compute the replica count: no metrics returned from resource metrics API"
            )
        );
        let fine = hpa_row(&hpa(3, 10, cpu_and_memory(), json!({})));
        assert_eq!((fine.health, fine.reason), (Health::Ok, None));
        assert_eq!(
            hpa_row(&HorizontalPodAutoscaler::default()).health,
            Health::Ok
        );
    }

    #[test]
    fn custom_metrics_print_their_values() {
        let row = hpa_row(&hpa(
            2,
            5,
            json!([
                {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                    "target": {"type": "AverageValue", "averageValue": "100"}}},
                {"type": "External", "external": {"metric": {"name": "queue_depth"},
                    "target": {"type": "Value", "value": "30"}}},
                {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                    "target": {"type": "Utilization", "averageUtilization": 60}}},
                {"type": "Mystery"},
            ]),
            json!({"currentMetrics": [
                {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"}, "current": {"averageValue": "250"}}},
                {"type": "External", "external": {"metric": {"name": "queue_depth"}, "current": {"value": "12"}}},
            ]}),
        ));
        let texts: Vec<String> = row.metrics.iter().map(HpaMetric::text).collect();
        assert_eq!(
            texts,
            [
                "requests_per_second: 250/100",
                "queue_depth: 12/30",
                "app/cpu: <unknown>/60%"
            ]
        );
    }

    #[test]
    fn finds_the_hpa_of_a_workload() {
        let row = hpa_row(&hpa(3, 10, cpu_and_memory(), json!({})));
        let rows = [row];
        assert!(hpa_for(&rows, "Deployment", "shop", "web").is_some());
        assert!(hpa_for(&rows, "StatefulSet", "shop", "web").is_none());
        assert!(hpa_for(&rows, "Deployment", "other", "web").is_none());
    }
}
