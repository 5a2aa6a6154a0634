//! What a pod asks for: requests and limits from its spec, in millicores and bytes (the
//! Pods pane's usage columns compare the metrics API's figures against them).

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::{cpu_millis, memory_bytes};

/// Requests and limits in millicores and bytes. For a pod, requests as the scheduler counts
/// them (the running containers, sidecars included, summed, or the largest plain init
/// container when that is more: what its node must have free); limits summed over the running
/// containers only, as usage is measured once init is over, and `None` when any of them lacks
/// one (the pod is then unbounded).
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Resources {
    pub cpu_request: Option<u64>,
    pub cpu_limit: Option<u64>,
    pub memory_request: Option<u64>,
    pub memory_limit: Option<u64>,
}

type QuantityMap = std::collections::BTreeMap<String, Quantity>;

fn quantity(map: Option<&QuantityMap>, key: &str, parse: fn(&str) -> Option<u64>) -> Option<u64> {
    map?.get(key).and_then(|q| parse(&q.0))
}

/// One container's requests and limits; unparsable quantities count as absent.
pub fn container_resources(c: &Container) -> Resources {
    let Some(resources) = c.resources.as_ref() else {
        return Resources::default();
    };
    let (requests, limits) = (resources.requests.as_ref(), resources.limits.as_ref());
    Resources {
        cpu_request: quantity(requests, "cpu", cpu_millis),
        cpu_limit: quantity(limits, "cpu", cpu_millis),
        memory_request: quantity(requests, "memory", memory_bytes),
        memory_limit: quantity(limits, "memory", memory_bytes),
    }
}

/// A pod's effective requests and limits (see [`Resources`]).
pub fn pod_resources(pod: &Pod) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let init = spec.init_containers.as_deref().unwrap_or_default();
    // Sidecars (init containers that keep running) run beside the app containers.
    let running = spec
        .containers
        .iter()
        .chain(init.iter().filter(|c| is_sidecar(c)))
        .map(container_resources);
    let mut sum = Sum::default();
    for r in running {
        sum.add(r);
    }
    let mut total = sum.finish();
    // A plain init container runs alone, before the others: the node must have room for the
    // larger of the two.
    for r in init
        .iter()
        .filter(|c| !is_sidecar(c))
        .map(container_resources)
    {
        total.cpu_request = max_some(total.cpu_request, r.cpu_request);
        total.memory_request = max_some(total.memory_request, r.memory_request);
    }
    total
}

pub(crate) fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn max_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Summing containers: requests add up over those that have one; a limit survives only if
/// every container has one.
#[derive(Default)]
struct Sum {
    any: bool,
    cpu_request: Option<u64>,
    memory_request: Option<u64>,
    cpu_limit: Option<Option<u64>>,
    memory_limit: Option<Option<u64>>,
}

impl Sum {
    fn add(&mut self, r: Resources) {
        self.any = true;
        let add = |sum: Option<u64>, x: Option<u64>| match (sum, x) {
            (Some(s), Some(x)) => Some(s.saturating_add(x)),
            (s, x) => s.or(x),
        };
        self.cpu_request = add(self.cpu_request, r.cpu_request);
        self.memory_request = add(self.memory_request, r.memory_request);
        let all = |sum: Option<Option<u64>>, x: Option<u64>| match sum {
            None => Some(x),
            Some(s) => Some(s.zip(x).map(|(s, x)| s.saturating_add(x))),
        };
        self.cpu_limit = all(self.cpu_limit, r.cpu_limit);
        self.memory_limit = all(self.memory_limit, r.memory_limit);
    }

    fn finish(self) -> Resources {
        if !self.any {
            return Resources::default();
        }
        Resources {
            cpu_request: self.cpu_request,
            memory_request: self.memory_request,
            cpu_limit: self.cpu_limit.flatten(),
            memory_limit: self.memory_limit.flatten(),
        }
    }
}
