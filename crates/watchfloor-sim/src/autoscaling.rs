//! HorizontalPodAutoscaler status, as the HPA controller would report it: current replicas
//! from the target workload, CPU utilisation averaged over the target's pods from the
//! simulated metrics (`metrics::pod_usage`), and the desired replicas that implies, clamped to
//! min/max (ScalingLimited when clamped). The simulator does not resize the target: a scenario
//! sets the replicas the story needs (e.g. already at max), and tests' `kubectl scale` is not
//! fought over.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::metrics;
use super::resources::Res;
use super::selectors::LabelSelector;
use super::state::Loads;
use super::state::WorldState;
use super::store::key_of;
use super::util::{rfc3339, scaled};

/// Apiserver defaulting for a new autoscaling/v2 HPA.
pub fn hpa_defaults(h: &mut Value) {
    let spec = &mut h["spec"];
    if spec.get("minReplicas").is_none() {
        spec["minReplicas"] = json!(1);
    }
    if spec.get("metrics").is_none() {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
    if h.get("status").is_none() {
        h["status"] = json!({"currentReplicas": 0, "desiredReplicas": 0});
    }
}

/// Average CPU utilisation (percent of request) of the target's running pods, and their
/// average usage in millicores; `None` without figures.
fn cpu_utilisation(w: &WorldState, loads: &Loads, ns: &str, target: &Value) -> Option<(i64, f64)> {
    let selector = LabelSelector::from_label_selector(&target["spec"]["selector"]);
    let (mut used, mut requested, mut pods) = (0.0, 0.0, 0usize);
    for pod in w.store.iter(Res::Pod, Some(ns), None) {
        if !selector.matches(pod) {
            continue;
        }
        let usage = metrics::pod_usage(loads, pod);
        if usage.is_empty() {
            continue;
        }
        pods += 1;
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            requested += c["resources"]["requests"]["cpu"]
                .as_str()
                .and_then(metrics::cpu_millis)
                .unwrap_or(0.0);
        }
        used += usage.iter().map(|u| u.1).sum::<f64>();
    }
    (pods > 0 && requested > 0.0).then(|| {
        (
            (used / requested * 100.0).round() as i64,
            used / pods as f64,
        )
    })
}

fn condition(ty: &str, ok: bool, reason: &str, message: &str, old: &Value, now: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = old["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty && c["status"] == status))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now)
        .to_string();
    json!({"type": ty, "status": status, "reason": reason, "message": message, "lastTransitionTime": since})
}

/// The status an HPA should have now.
fn status_of(w: &WorldState, h: &Value, now: &str) -> Value {
    let (ns, _) = key_of(h);
    let spec = &h["spec"];
    let old = &h["status"];
    let target_ref = &spec["scaleTargetRef"];
    let res = match target_ref["kind"].as_str() {
        Some("StatefulSet") => Res::StatefulSet,
        _ => Res::Deployment,
    };
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(min);
    let Some(target) = w
        .store
        .get(res, &ns, target_ref["name"].as_str().unwrap_or(""))
    else {
        return json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
            condition("AbleToScale", false, "FailedGetScale",
                &format!("the HPA controller was unable to get the target's current scale: {} \"{}\" not found",
                    res.plural(), target_ref["name"].as_str().unwrap_or("")), old, now)]});
    };
    // The target's desired replicas (what `kubectl get deploy` shows as x/N), not its status
    // count, which includes a stalled rollout's surge pods.
    let current = target["spec"]["replicas"]
        .as_i64()
        .or_else(|| target["status"]["replicas"].as_i64())
        .unwrap_or(0);
    let target_util = spec["metrics"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["resource"]["name"] == "cpu"))
        .and_then(|m| m["resource"]["target"]["averageUtilization"].as_i64())
        .filter(|t| *t > 0);
    let figures = if w.features.metrics {
        cpu_utilisation(w, &w.loads, &ns, &target)
    } else {
        None
    };
    let able = condition(
        "AbleToScale",
        true,
        "ReadyForNewScale",
        "recommended size matches current size",
        old,
        now,
    );
    let (Some(t), Some((util, avg))) = (target_util, figures) else {
        return json!({"currentReplicas": current, "desiredReplicas": current, "conditions": [able,
            condition("ScalingActive", false, "FailedGetResourceMetric",
                "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
                old, now)]});
    };
    let wanted = (current as f64 * util as f64 / t as f64).ceil() as i64;
    let desired = wanted.clamp(min, max);
    let limited = if wanted > max {
        condition(
            "ScalingLimited",
            true,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
            old,
            now,
        )
    } else if wanted < min {
        condition(
            "ScalingLimited",
            true,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
            old,
            now,
        )
    } else {
        condition(
            "ScalingLimited",
            false,
            "DesiredWithinRange",
            "the desired count is within the acceptable range",
            old,
            now,
        )
    };
    let mut status = json!({
        "currentReplicas": current,
        "desiredReplicas": desired,
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": util, "averageValue": format!("{}m", avg.round() as i64)}}}],
        "conditions": [able,
            condition("ScalingActive", true, "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", old, now),
            limited],
    });
    if let Some(t) = old.get("lastScaleTime") {
        status["lastScaleTime"] = t.clone();
    }
    status
}

/// The HPA controller's sync period (world time): status is recomputed this often, or at
/// once when an HPA is added or removed.
const SYNC: Duration = Duration::from_secs(15);

impl WorldState {
    /// Bring every HPA's status up to date (written only when it changed).
    pub(crate) fn reconcile_hpas(&mut self, at: Instant) {
        let count = self.store.count(Res::HorizontalPodAutoscaler);
        let due = self.ctl.hpa_synced.is_none_or(|(last, n)| {
            n != count || at.duration_since(last) >= scaled(SYNC, self.speed)
        });
        if !due {
            return;
        }
        self.ctl.hpa_synced = Some((at, count));
        let now = rfc3339(self.store.clock.wall());
        let changed: Vec<Value> = self
            .store
            .iter(Res::HorizontalPodAutoscaler, None, None)
            .filter_map(|h| {
                let status = status_of(self, h, &now);
                (h["status"] != status).then(|| {
                    let mut n = (**h).clone();
                    n["status"] = status;
                    n
                })
            })
            .collect();
        for h in changed {
            self.store.put(Res::HorizontalPodAutoscaler, h);
        }
    }
}
