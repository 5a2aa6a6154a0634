//! The Pods pane's platform views (StatefulSets .. certificates, see [`PodsMode`]): which rows
//! each shows, worst first, after the filter (`/`) and the unhealthy toggle (`!`), and what
//! each row is called. Pure: the UI draws the rows, the view keeps the cursor on them.

use super::Filter;
use super::pane::PodsMode;
use crate::data::{KubeData, ObjectKey, ObjectRef};
use crate::model::Health;
use watchfloor_core::platform::events::EventGroup;

/// A row's health, and the text `/` matches it by (namespace, name, state, reason).
struct Verdict {
    health: Health,
    haystack: String,
}

/// The key of an event group: its namespace, and `Kind/name reason`.
pub fn event_group_key(group: &EventGroup) -> ObjectKey {
    (
        group.namespace.clone(),
        format!(
            "{}/{} {}",
            group.involved_kind, group.involved_name, group.reason
        ),
    )
}

/// The event group with `key`.
pub fn event_group<'a>(kube: &'a KubeData, key: &ObjectKey) -> Option<&'a EventGroup> {
    kube.event_groups
        .iter()
        .find(|g| g.namespace == key.0 && event_group_key(g) == *key)
}

/// The rows of a platform view, worst first (events: newest first). Empty for pods and
/// deployments, which the view builds itself.
pub fn visible_rows(
    kube: &KubeData,
    mode: PodsMode,
    filter: Option<&Filter>,
    unhealthy: bool,
) -> Vec<ObjectKey> {
    let rows: Vec<(ObjectKey, Verdict)> = match mode {
        PodsMode::Pods | PodsMode::Deployments => return Vec::new(),
        PodsMode::StatefulSets => kube
            .statefulsets_order
            .iter()
            .filter_map(|k| kube.statefulsets.get(k))
            .map(|s| {
                let haystack = format!("{} {} {}", s.namespace, s.name, s.rollout);
                (key(&s.namespace, &s.name), verdict(s.health, haystack))
            })
            .collect(),
        PodsMode::DaemonSets => kube
            .daemonsets_order
            .iter()
            .filter_map(|k| kube.daemonsets.get(k))
            .map(|d| {
                let haystack = format!("{} {} {}", d.namespace, d.name, d.rollout);
                (key(&d.namespace, &d.name), verdict(d.health, haystack))
            })
            .collect(),
        PodsMode::Jobs => kube
            .jobs_order
            .iter()
            .filter_map(|k| kube.jobs.get(k))
            .map(|j| {
                let haystack = format!(
                    "{} {} {:?} {} {}",
                    j.namespace,
                    j.name,
                    j.state,
                    j.owner_cronjob.as_deref().unwrap_or_default(),
                    j.reason.as_deref().unwrap_or_default()
                );
                (key(&j.namespace, &j.name), verdict(j.health, haystack))
            })
            .collect(),
        PodsMode::CronJobs => kube
            .cronjobs_order
            .iter()
            .filter_map(|k| kube.cronjobs.get(k).map(|c| (k, c)))
            .map(|(k, c)| {
                let check = kube.cronjob_checks.get(k);
                let haystack = format!(
                    "{} {} {} {}",
                    c.namespace,
                    c.name,
                    c.schedule,
                    check.map(|c| c.reason.as_str()).unwrap_or_default()
                );
                let health = check.map_or(Health::Ok, |c| c.health);
                (k.clone(), verdict(health, haystack))
            })
            .collect(),
        PodsMode::Hpas => kube
            .hpas_order
            .iter()
            .filter_map(|k| kube.hpas.get(k))
            .map(|h| {
                let haystack = format!(
                    "{} {} {}/{} {}",
                    h.namespace,
                    h.name,
                    h.target_kind,
                    h.target_name,
                    h.reason.as_deref().unwrap_or_default()
                );
                (key(&h.namespace, &h.name), verdict(h.health, haystack))
            })
            .collect(),
        PodsMode::Nodes => kube
            .nodes_order
            .iter()
            .filter_map(|k| kube.nodes.get(k).map(|n| (k, n)))
            .map(|(k, n)| {
                let check = kube.node_checks.get(&n.name);
                let haystack = format!(
                    "{} {} {}",
                    n.name,
                    n.roles.join(","),
                    check.map(|c| c.1.as_str()).unwrap_or_default()
                );
                (
                    k.clone(),
                    verdict(check.map_or(Health::Ok, |c| c.0), haystack),
                )
            })
            .collect(),
        PodsMode::Certificates => kube
            .certificates_order
            .iter()
            .filter_map(|k| kube.certificates.get(k).map(|c| (k, c)))
            .map(|(k, c)| {
                let check = kube.cert_checks.get(k);
                let haystack = format!(
                    "{} {} {} {} {}",
                    c.namespace,
                    c.name,
                    c.secret.as_deref().unwrap_or_default(),
                    c.dns_names.join(" "),
                    check.map(|c| c.1.as_str()).unwrap_or_default()
                );
                (
                    k.clone(),
                    verdict(check.map_or(Health::Ok, |c| c.0), haystack),
                )
            })
            .collect(),
        PodsMode::Events => kube
            .event_groups
            .iter()
            .map(|g| {
                let haystack = format!(
                    "{} {}/{} {} {}",
                    g.namespace, g.involved_kind, g.involved_name, g.reason, g.message
                );
                let health = if g.warning { Health::Warn } else { Health::Ok };
                (event_group_key(g), verdict(health, haystack))
            })
            .collect(),
    };
    rows.into_iter()
        .filter(|(_, v)| !unhealthy || super::sort::unhealthy(v.health))
        .filter(|(_, v)| filter.is_none_or(|f| f.matches(&v.haystack)))
        .map(|(key, _)| key)
        .collect()
}

fn key(namespace: &str, name: &str) -> ObjectKey {
    (namespace.to_string(), name.to_string())
}

fn verdict(health: Health, haystack: String) -> Verdict {
    Verdict { health, haystack }
}

/// The API object of a platform view's row, for `y` (events: the involved object).
pub fn object_of(kube: &KubeData, mode: PodsMode, key: &ObjectKey) -> Option<ObjectRef> {
    let (namespace, name) = key;
    let namespaced = |group: &str, version: &str, kind: &str, plural: &str| ObjectRef {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespace: Some(namespace.clone()),
        name: name.clone(),
    };
    Some(match mode {
        PodsMode::Pods => ObjectRef::pod(namespace, name),
        PodsMode::Deployments => ObjectRef::deployment(namespace, name),
        PodsMode::StatefulSets => namespaced("apps", "v1", "StatefulSet", "statefulsets"),
        PodsMode::DaemonSets => namespaced("apps", "v1", "DaemonSet", "daemonsets"),
        PodsMode::Jobs => namespaced("batch", "v1", "Job", "jobs"),
        PodsMode::CronJobs => namespaced("batch", "v1", "CronJob", "cronjobs"),
        PodsMode::Hpas => namespaced(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        ),
        PodsMode::Nodes => ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "Node".into(),
            plural: "nodes".into(),
            namespace: None,
            name: name.clone(),
        },
        PodsMode::Certificates => match &kube.certificates.get(key)?.source {
            watchfloor_core::platform::certs::CertSource::CertManager => {
                namespaced("cert-manager.io", "v1", "Certificate", "certificates")
            }
            // The Secret holds a private key: its YAML is not shown.
            watchfloor_core::platform::certs::CertSource::IngressSecret { .. } => return None,
        },
        PodsMode::Events => {
            let group = event_group(kube, key)?;
            return involved_object(kube, group).map(|(mode, key)| {
                object_of(kube, mode, &key).unwrap_or_else(|| ObjectRef::pod(&key.0, &key.1))
            });
        }
    })
}

/// Where Enter on an event group goes: the view and row of its involved object, when the
/// console shows that kind and has the object.
pub fn involved_object(kube: &KubeData, group: &EventGroup) -> Option<(PodsMode, ObjectKey)> {
    // An event lives in its involved object's namespace.
    let key = (group.namespace.clone(), group.involved_name.clone());
    let node_key = (String::new(), group.involved_name.clone());
    let (mode, present) = match group.involved_kind.as_str() {
        "Pod" => (PodsMode::Pods, kube.pods.contains_key(&key)),
        "Deployment" => (PodsMode::Deployments, kube.deployments.contains_key(&key)),
        "StatefulSet" => (PodsMode::StatefulSets, kube.statefulsets.contains_key(&key)),
        "DaemonSet" => (PodsMode::DaemonSets, kube.daemonsets.contains_key(&key)),
        "Job" => (PodsMode::Jobs, kube.jobs.contains_key(&key)),
        "CronJob" => (PodsMode::CronJobs, kube.cronjobs.contains_key(&key)),
        "HorizontalPodAutoscaler" => (PodsMode::Hpas, kube.hpas.contains_key(&key)),
        "Certificate" => (PodsMode::Certificates, kube.certificates.contains_key(&key)),
        "Node" => {
            return kube
                .nodes
                .contains_key(&node_key)
                .then_some((PodsMode::Nodes, node_key));
        }
        _ => return None,
    };
    present.then_some((mode, key))
}
