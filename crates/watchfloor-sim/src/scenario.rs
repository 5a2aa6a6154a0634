//! Scenarios: TOML descriptions of a cluster (assets/scenarios/*.toml) and loading them.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use watchfloor_core::kubectl::HASH_LABEL;

use super::behavior::{Behavior, ImageRule, Rules};
use super::certs;
use super::clock::SimClock;
use super::discovery::Features;
use super::platform::{self, CertificateSpec, CronJobSpec, HpaSpec, NodeConditionSpec};
use super::pods;
use super::resources::Res;
use super::state::ClaimWait;
use super::state::Load;
use super::state::WorldState;
use super::templates::template_hash;
use super::util::{fnv, fresh_uid, rfc3339, safe_string, scaled};
use super::writes::{daemonset_defaults, deployment_defaults, statefulset_defaults};

const BUILTIN: [(&str, &str); 4] = [
    (
        "incident",
        include_str!("../../../assets/scenarios/incident.toml"),
    ),
    ("calm", include_str!("../../../assets/scenarios/calm.toml")),
    (
        "large",
        include_str!("../../../assets/scenarios/large.toml"),
    ),
    (
        "flood",
        include_str!("../../../assets/scenarios/flood.toml"),
    ),
];

const NAMES: [&str; 4] = ["incident", "calm", "large", "flood"];

fn dur(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("bad duration {s:?}: {e}"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentSpec {
    namespace: String,
    name: String,
    #[serde(default = "one")]
    replicas: u64,
    /// Image of the current revision.
    image: String,
    /// Images of older revisions, oldest first.
    #[serde(default)]
    history: Vec<String>,
    /// Revision number of the oldest entry (history first, then `image`).
    #[serde(default = "one")]
    first_revision: u64,
    #[serde(default)]
    age: Option<String>,
    /// When the current revision's rollout began.
    #[serde(default)]
    rollout_age: Option<String>,
    #[serde(default)]
    progress_deadline_seconds: Option<u64>,
    /// A second container (makes the pods multi-container).
    #[serde(default)]
    sidecar: Option<String>,
    #[serde(default)]
    labels: Map<String, Value>,
    #[serde(default)]
    paused: bool,
    /// CPU usage of its pods, a fraction of their request (1.6 = 160 %; default: calm).
    #[serde(default)]
    cpu_load: Option<f64>,
    /// Memory usage of its pods, a fraction of their limit (default: calm).
    #[serde(default)]
    memory_load: Option<f64>,
}

fn one() -> u64 {
    1
}

/// A StatefulSet: pods `name-0..replicas-1`, settled at `age`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatefulSetSpec {
    namespace: String,
    name: String,
    #[serde(default = "one")]
    replicas: u64,
    image: String,
    #[serde(default)]
    age: Option<String>,
    #[serde(default)]
    labels: Map<String, Value>,
    /// The pods' terminationGracePeriodSeconds (30 when unset).
    #[serde(default)]
    termination_grace_seconds: Option<u64>,
}

/// A DaemonSet: one pod per simulated node, settled at `age`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DaemonSetSpec {
    namespace: String,
    name: String,
    image: String,
    #[serde(default)]
    age: Option<String>,
    #[serde(default)]
    labels: Map<String, Value>,
    /// The pods' terminationGracePeriodSeconds (30 when unset).
    #[serde(default)]
    termination_grace_seconds: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodSpec {
    namespace: String,
    name: String,
    image: String,
    #[serde(default)]
    behavior: Option<Behavior>,
    #[serde(default)]
    age: Option<String>,
    #[serde(default)]
    restarts: u64,
    #[serde(default)]
    labels: Map<String, Value>,
    /// As a Deployment's (fractions of request and limit).
    #[serde(default)]
    cpu_load: Option<f64>,
    #[serde(default)]
    memory_load: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimSpec {
    namespace: String,
    name: String,
    catalog_item: String,
    /// AnarchySubject current_state (new, provisioning, started, ...).
    #[serde(default = "started")]
    state: String,
    #[serde(default)]
    desired_state: Option<String>,
    #[serde(default)]
    age: Option<String>,
    /// approved | pending | rejected
    #[serde(default = "approved")]
    approval: String,
    #[serde(default)]
    ready: Option<bool>,
    #[serde(default)]
    healthy: Option<bool>,
    #[serde(default)]
    requester: Option<String>,
    /// `namespace/deployment` of the operator driving this claim: the claim stays as loaded
    /// while that Deployment has no ready, healthy pod, and moves on to `started` (ready)
    /// `resume_after` (world time, default 15s) after it has one.
    #[serde(default)]
    needs_operator: Option<String>,
    #[serde(default)]
    resume_after: Option<String>,
}

/// World time between an operator becoming ready and the claims it held back starting.
const DEFAULT_RESUME_AFTER: Duration = Duration::from_secs(15);

impl ClaimSpec {
    /// The operator Deployment this claim waits for, and the delay once it is ready.
    fn wait(&self) -> Result<Option<ClaimWait>, String> {
        let Some(op) = &self.needs_operator else {
            if self.resume_after.is_some() {
                return Err(format!(
                    "claim {}/{}: resume_after without needs_operator",
                    self.namespace, self.name
                ));
            }
            return Ok(None);
        };
        let operator = match op.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                (ns.to_string(), name.to_string())
            }
            _ => {
                return Err(format!(
                    "claim {}/{}: needs_operator {op:?} is not \"namespace/deployment\"",
                    self.namespace, self.name
                ));
            }
        };
        if self.approval != "approved" {
            return Err(format!(
                "claim {}/{}: needs_operator needs an approved claim (approval is {:?})",
                self.namespace, self.name, self.approval
            ));
        }
        let after = self
            .resume_after
            .as_deref()
            .map(dur)
            .transpose()?
            .unwrap_or(DEFAULT_RESUME_AFTER);
        Ok(Some(ClaimWait {
            claim: (self.namespace.clone(), self.name.clone()),
            operator,
            after,
            ready_since: None,
        }))
    }
}

fn started() -> String {
    "started".into()
}

fn approved() -> String {
    "approved".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    namespaces: usize,
    deployments_per_namespace: usize,
    replicas: u64,
    image: String,
    #[serde(default = "tenant")]
    namespace_prefix: String,
    /// Healthy CronJobs (each with its last Job, no pods), spread over the namespaces.
    #[serde(default)]
    cronjobs: usize,
    /// HPAs on the generated Deployments, spread over the namespaces.
    #[serde(default)]
    hpas: usize,
    /// Certificates (with TLS Secrets), spread over the namespaces.
    #[serde(default)]
    certificates: usize,
}

fn tenant() -> String {
    "tenant".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    description: String,
    #[serde(default)]
    log_rate: Option<f64>,
    #[serde(default)]
    max_backoff: Option<String>,
    #[serde(default = "three")]
    nodes: usize,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    images: Vec<ImageRule>,
    #[serde(default)]
    deployments: Vec<DeploymentSpec>,
    #[serde(default)]
    statefulsets: Vec<StatefulSetSpec>,
    #[serde(default)]
    daemonsets: Vec<DaemonSetSpec>,
    #[serde(default)]
    pods: Vec<PodSpec>,
    #[serde(default)]
    claims: Vec<ClaimSpec>,
    #[serde(default)]
    generate: Option<Generate>,
    /// Whether the metrics API (metrics-server) is installed.
    #[serde(default = "yes")]
    metrics_api: bool,
    /// Whether cert-manager (its CRD and Certificates) is installed.
    #[serde(default = "yes")]
    cert_manager: bool,
    #[serde(default)]
    node_conditions: Vec<NodeConditionSpec>,
    #[serde(default)]
    cronjobs: Vec<CronJobSpec>,
    #[serde(default)]
    hpas: Vec<HpaSpec>,
    #[serde(default)]
    certificates: Vec<CertificateSpec>,
}

fn yes() -> bool {
    true
}

fn three() -> usize {
    3
}

/// A parsed scenario, ready to load into a simulator.
#[derive(Debug, Clone)]
pub struct Scenario {
    name: String,
    spec: Spec,
}

impl Scenario {
    /// A scenario shipped in assets/scenarios.
    pub fn builtin(name: &str) -> Result<Scenario, String> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("unknown scenario {name:?}; known: {}", NAMES.join(", ")))?;
        Scenario::from_toml(name, text)
    }

    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    /// Parse a scenario from TOML text.
    pub fn from_toml(name: &str, text: &str) -> Result<Scenario, String> {
        let spec: Spec = toml::from_str(text).map_err(|e| format!("scenario {name}: {e}"))?;
        let s = Scenario {
            name: name.to_string(),
            spec,
        };
        s.rules()?;
        for c in &s.spec.claims {
            if let Some(wait) = c.wait()?
                && !s
                    .spec
                    .deployments
                    .iter()
                    .any(|d| (&d.namespace, &d.name) == (&wait.operator.0, &wait.operator.1))
            {
                return Err(format!(
                    "scenario {name}: claim {}/{} needs_operator {}/{}, which is not one of its deployments",
                    c.namespace, c.name, wait.operator.0, wait.operator.1
                ));
            }
        }
        for d in &s.spec.deployments {
            for a in [&d.age, &d.rollout_age].into_iter().flatten() {
                dur(a)?;
            }
        }
        for n in &s.spec.node_conditions {
            let known = n
                .name
                .strip_prefix("sim-node-")
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i >= 1 && i <= s.spec.nodes.max(1));
            if !known {
                return Err(format!(
                    "scenario {name}: node_conditions names {:?}, not one of sim-node-1..{}",
                    n.name, s.spec.nodes
                ));
            }
        }
        for h in &s.spec.hpas {
            if !s
                .spec
                .deployments
                .iter()
                .any(|d| d.namespace == h.namespace && d.name == h.target)
            {
                return Err(format!(
                    "scenario {name}: hpa {}/{} targets {}, which is not one of its deployments",
                    h.namespace, h.name, h.target
                ));
            }
        }
        let ages = s.spec.statefulsets.iter().map(|w| &w.age);
        for a in ages
            .chain(s.spec.daemonsets.iter().map(|w| &w.age))
            .flatten()
        {
            dur(a)?;
        }
        Ok(s)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same cluster with or without the metrics API (metrics.k8s.io absent: 404 and not
    /// in discovery).
    pub fn with_metrics_api(mut self, on: bool) -> Scenario {
        self.spec.metrics_api = on;
        self
    }

    /// The same cluster with or without cert-manager (its group absent: 404 and not in
    /// discovery; the TLS Secrets stay).
    pub fn with_cert_manager(mut self, on: bool) -> Scenario {
        self.spec.cert_manager = on;
        self
    }

    pub fn description(&self) -> &str {
        &self.spec.description
    }

    pub(crate) fn rules(&self) -> Result<Rules, String> {
        let mut r = Rules {
            images: self.spec.images.clone(),
            ..Rules::default()
        };
        if let Some(rate) = self.spec.log_rate {
            r.default_rate = rate;
        }
        if let Some(b) = &self.spec.max_backoff {
            r.max_backoff = dur(b)?.as_secs_f64();
        }
        Ok(r)
    }

    /// Fill `w` (rules already set) with the scenario's objects.
    pub(crate) fn load(&self, w: &mut WorldState) -> Result<(), String> {
        let s = &self.spec;
        w.features = Features {
            metrics: s.metrics_api,
            cert_manager: s.cert_manager,
        };
        w.ctl.nodes = (1..=s.nodes.max(1))
            .map(|i| format!("sim-node-{i}"))
            .collect();
        for n in w.ctl.nodes.clone() {
            let conditions = s.node_conditions.iter().find(|c| c.name == n);
            let obj = platform::node(&n, conditions, w.store.clock)?;
            if let Some(e) = conditions.and_then(platform::pressure_event) {
                w.record_events(Res::Node, &obj, vec![e]);
            }
            w.store.load(Res::Node, obj);
        }
        if s.cert_manager {
            w.store
                .load(Res::CustomResourceDefinition, certs::crd(w.store.clock));
        }
        for d in &s.deployments {
            set_load(w, &d.namespace, &d.name, d.cpu_load, d.memory_load);
        }
        for p in &s.pods {
            let app = p
                .labels
                .get("app")
                .and_then(Value::as_str)
                .unwrap_or(&p.name);
            set_load(w, &p.namespace, app, p.cpu_load, p.memory_load);
        }
        let mut namespaces: Vec<String> = vec!["default".into(), "kube-system".into()];
        namespaces.extend(s.namespaces.iter().cloned());
        namespaces.extend(s.deployments.iter().map(|d| d.namespace.clone()));
        namespaces.extend(s.statefulsets.iter().map(|w| w.namespace.clone()));
        namespaces.extend(s.daemonsets.iter().map(|w| w.namespace.clone()));
        namespaces.extend(s.pods.iter().map(|p| p.namespace.clone()));
        namespaces.extend(s.claims.iter().map(|c| c.namespace.clone()));
        namespaces.extend(s.cronjobs.iter().map(|c| c.namespace.clone()));
        namespaces.extend(s.hpas.iter().map(|h| h.namespace.clone()));
        namespaces.extend(s.certificates.iter().map(|c| c.namespace.clone()));
        let mut cronjobs: Vec<(CronJobSpec, bool)> =
            s.cronjobs.iter().map(|c| (c.clone(), true)).collect();
        let mut hpas = s.hpas.clone();
        let mut certificates = s.certificates.clone();
        let mut deployments = s.deployments.clone();
        if let Some(g) = &s.generate {
            for n in 0..g.namespaces {
                let ns = format!("{}-{:02}", g.namespace_prefix, n + 1);
                namespaces.push(ns.clone());
                for d in 0..g.deployments_per_namespace {
                    deployments.push(DeploymentSpec {
                        namespace: ns.clone(),
                        name: format!("svc-{:02}", d + 1),
                        replicas: g.replicas,
                        image: g.image.clone(),
                        history: vec![],
                        first_revision: 1,
                        age: Some("20d".into()),
                        rollout_age: None,
                        progress_deadline_seconds: None,
                        sidecar: None,
                        labels: Map::new(),
                        paused: false,
                        cpu_load: None,
                        memory_load: None,
                    });
                }
            }
            let ns_of =
                |i: usize| format!("{}-{:02}", g.namespace_prefix, i % g.namespaces.max(1) + 1);
            for i in 0..g.cronjobs {
                cronjobs.push((platform::generated_cronjob(i, &ns_of(i)), false));
            }
            for i in 0..g.hpas.min(g.namespaces * g.deployments_per_namespace) {
                let target = format!("svc-{:02}", i / g.namespaces.max(1) + 1);
                hpas.push(HpaSpec {
                    namespace: ns_of(i),
                    name: target.clone(),
                    target,
                    min_replicas: 2,
                    max_replicas: g.replicas * 2,
                    cpu_target: 80,
                    age: None,
                });
            }
            for i in 0..g.certificates {
                certificates.push(platform::generated_certificate(i, &ns_of(i)));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for ns in namespaces {
            if seen.insert(ns.clone()) {
                w.store.load(
                    Res::Namespace,
                    json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": ns, "uid": fresh_uid(), "creationTimestamp": w.store.clock.ago_rfc3339(Duration::from_secs(86400 * 60)),
                            "labels": {"kubernetes.io/metadata.name": ns}},
                        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
                );
            }
        }
        for d in &deployments {
            load_deployment(w, d)?;
        }
        for st in &s.statefulsets {
            load_statefulset(w, st)?;
        }
        for ds in &s.daemonsets {
            load_daemonset(w, ds)?;
        }
        for p in &s.pods {
            let age = p
                .age
                .as_deref()
                .map(dur)
                .transpose()?
                .unwrap_or(Duration::from_secs(3600));
            let mut labels = p.labels.clone();
            labels.entry("run").or_insert(json!(p.name));
            let template = json!({"metadata": {"labels": labels}, "spec": {"containers": [container(&p.name, &p.image)]}});
            let mut pod = pods::from_template(&p.namespace, &p.name, &template, None);
            pod["metadata"]["uid"] = json!(fresh_uid());
            if let Some(b) = p.behavior {
                w.overrides.insert((p.namespace.clone(), p.name.clone()), b);
            }
            load_pod(w, pod, age, p.restarts);
        }
        for c in &s.claims {
            w.store.load(Res::ResourceClaim, claim(c, w.store.clock)?);
            if let Some(wait) = c.wait()? {
                w.claim_waits.push(wait);
            }
        }
        for (c, with_pods) in &cronjobs {
            w.load_cronjob(c, *with_pods)?;
        }
        for h in &hpas {
            w.load_hpa(h)?;
        }
        for c in &certificates {
            w.load_certificate(c)?;
        }
        w.store.compact();
        Ok(())
    }
}

/// Record a workload's scenario-given usage (both fractions default to the calm figures).
fn set_load(w: &mut WorldState, ns: &str, app: &str, cpu: Option<f64>, memory: Option<f64>) {
    if cpu.is_none() && memory.is_none() {
        return;
    }
    let load = Load {
        cpu: cpu.unwrap_or(0.25).max(0.0),
        memory: memory.unwrap_or(0.5).max(0.0),
    };
    w.loads.insert((ns.to_string(), app.to_string()), load);
}

fn container(name: &str, image: &str) -> Value {
    json!({
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
    })
}

fn load_pod(w: &mut WorldState, mut pod: Value, age: Duration, restarts: u64) {
    let profiles = w.profiles_for(&pod);
    let node = w.node_for_pod(&pod);
    let (next, evs) = pods::settle(
        &mut pod,
        &profiles,
        &w.rules,
        &node,
        age,
        restarts,
        w.store.clock.wall(),
    );
    let key = super::store::key_of(&pod);
    w.store.load(Res::Pod, pod.clone());
    if !evs.is_empty() {
        w.record_events(Res::Pod, &pod, evs);
    }
    if let Some(d) = next {
        w.ctl
            .due
            .insert(key, w.store.clock.instant() + scaled(d, w.speed));
    }
}

fn load_deployment(w: &mut WorldState, d: &DeploymentSpec) -> Result<(), String> {
    let age = d
        .age
        .as_deref()
        .map(dur)
        .transpose()?
        .unwrap_or(Duration::from_secs(86400 * 30));
    let mut labels = d.labels.clone();
    labels.insert("app".into(), json!(d.name));
    let uid = fresh_uid();
    let mut images = d.history.clone();
    images.push(d.image.clone());
    let templates: Vec<Value> = images
        .iter()
        .map(|img| {
            let mut containers = vec![container(&d.name, img)];
            if let Some(sc) = &d.sidecar {
                let mut c = container("oauth-proxy", sc);
                c["ports"] = json!([{"containerPort": 8443, "protocol": "TCP", "name": "https"}]);
                containers.push(c);
            }
            let mut t = json!({"metadata": {"labels": labels, "creationTimestamp": null}, "spec": {"containers": containers}});
            let mut holder = json!({"spec": {"template": t}});
            deployment_defaults(&mut holder);
            t = holder["spec"]["template"].take();
            t
        })
        .collect();
    let current_rev = d.first_revision + images.len() as u64 - 1;
    let profiles_ok = |t: &Value| {
        let probe =
            json!({"metadata": {"name": "probe", "namespace": d.namespace}, "spec": t["spec"]});
        w.profiles_for(&probe)
            .iter()
            .all(|p| p.behavior == Behavior::Healthy)
    };
    let healthy_current = templates.last().is_some_and(profiles_ok);
    let surge = d.replicas.div_ceil(4).max(1);
    let rollout_age = d
        .rollout_age
        .as_deref()
        .map(dur)
        .transpose()?
        .unwrap_or(age / 2);
    let n = templates.len();
    let mut status_pods: Vec<(String, bool)> = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let rev = d.first_revision + i as u64;
        let hash = template_hash(t);
        let rs_name = format!("{}-{hash}", d.name);
        let replicas = match (i + 1 == n, i + 2 == n, healthy_current) {
            (true, _, true) => d.replicas,
            (true, _, false) => surge.min(d.replicas),
            (false, true, false) => d.replicas,
            _ => 0,
        };
        let mut tt = t.clone();
        tt["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let mut rs_labels = labels.clone();
        rs_labels.insert("pod-template-hash".into(), json!(hash));
        let rs_uid = fresh_uid();
        let created = if i + 1 == n {
            rollout_age
        } else {
            age.saturating_sub(Duration::from_secs(3600 * 24 * i as u64))
                .max(rollout_age + Duration::from_secs(3600))
        };
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name, "namespace": d.namespace, "uid": rs_uid, "generation": 1 + i as u64,
                "creationTimestamp": w.store.clock.ago_rfc3339(created), "labels": rs_labels,
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": d.replicas.to_string(),
                    "deployment.kubernetes.io/max-replicas": (d.replicas + surge).to_string(),
                    "deployment.kubernetes.io/revision": rev.to_string(),
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name, "uid": uid, "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": d.name, "pod-template-hash": hash}}, "template": tt},
            "status": {"replicas": replicas, "observedGeneration": 1 + i as u64},
        });
        w.store.load(Res::ReplicaSet, rs);
        let owner = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid, "controller": true, "blockOwnerDeletion": true});
        for k in 0..replicas {
            let pname = format!(
                "{rs_name}-{}",
                safe_string(fnv(&[&rs_name, &k.to_string()]), 5)
            );
            let mut pod = pods::from_template(&d.namespace, &pname, &tt, Some(owner.clone()));
            pod["metadata"]["uid"] = json!(fresh_uid());
            let pod_age = if i + 1 == n { rollout_age } else { created };
            let restarts = (pod_age.as_secs() / 300).max(1);
            let ready = i + 1 < n || healthy_current;
            status_pods.push((pname.clone(), ready));
            load_pod(w, pod, pod_age, restarts);
        }
    }
    let mut dep = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": d.name, "namespace": d.namespace, "uid": uid, "generation": current_rev,
            "creationTimestamp": w.store.clock.ago_rfc3339(age), "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": current_rev.to_string()},
        },
        "spec": {
            "replicas": d.replicas,
            "selector": {"matchLabels": {"app": d.name}},
            "template": templates.last().cloned().unwrap_or(Value::Null),
            "paused": d.paused,
            "progressDeadlineSeconds": d.progress_deadline_seconds.unwrap_or(600),
        },
    });
    if !d.paused
        && let Some(m) = dep["spec"].as_object_mut()
    {
        m.remove("paused");
    }
    deployment_defaults(&mut dep);
    let since = rfc3339(w.store.clock.wall() - rollout_age);
    let new_rs = format!(
        "{}-{}",
        d.name,
        templates.last().map(template_hash).unwrap_or_default()
    );
    let (reason, msg) = if healthy_current {
        (
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{new_rs}\" has successfully progressed."),
        )
    } else {
        (
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{new_rs}\" is progressing."),
        )
    };
    let ready = status_pods.iter().filter(|(_, r)| *r).count();
    dep["status"] = json!({
        "observedGeneration": current_rev,
        "replicas": status_pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": "True", "lastUpdateTime": since, "lastTransitionTime": since, "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "lastUpdateTime": since, "lastTransitionTime": since, "reason": reason, "message": msg},
        ],
    });
    w.store.load(Res::Deployment, dep);
    Ok(())
}

/// The pod template of a StatefulSet or DaemonSet of the scenario (one container).
fn workload_template(
    labels: &Map<String, Value>,
    name: &str,
    image: &str,
    grace: Option<u64>,
) -> Value {
    let mut t = json!({"metadata": {"labels": labels, "creationTimestamp": null},
        "spec": {"containers": [container(name, image)]}});
    if let Some(grace) = grace {
        t["spec"]["terminationGracePeriodSeconds"] = json!(grace);
    }
    t
}

fn owner_ref(kind: &str, name: &str, uid: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true})
}

/// A StatefulSet and its settled pods `name-0..n-1` at the current revision (the controller
/// writes its status on the first tick).
fn load_statefulset(w: &mut WorldState, st: &StatefulSetSpec) -> Result<(), String> {
    let age = st
        .age
        .as_deref()
        .map(dur)
        .transpose()?
        .unwrap_or(Duration::from_secs(86400 * 30));
    let mut labels = st.labels.clone();
    labels.insert("app".into(), json!(st.name));
    let uid = fresh_uid();
    let mut sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {
            "name": st.name, "namespace": st.namespace, "uid": uid, "generation": 1,
            "creationTimestamp": w.store.clock.ago_rfc3339(age), "labels": labels,
        },
        "spec": {
            "replicas": st.replicas,
            "serviceName": st.name,
            "selector": {"matchLabels": {"app": st.name}},
            "template": workload_template(&labels, &st.name, &st.image, st.termination_grace_seconds),
        },
    });
    statefulset_defaults(&mut sts);
    let revision = format!("{}-{}", st.name, template_hash(&sts["spec"]["template"]));
    let owner = owner_ref("StatefulSet", &st.name, &uid);
    for ordinal in 0..st.replicas {
        let pname = format!("{}-{ordinal}", st.name);
        let mut template = sts["spec"]["template"].clone();
        let pod_labels = &mut template["metadata"]["labels"];
        pod_labels["controller-revision-hash"] = json!(revision);
        pod_labels["statefulset.kubernetes.io/pod-name"] = json!(pname);
        pod_labels["apps.kubernetes.io/pod-index"] = json!(ordinal.to_string());
        let mut pod = pods::from_template(&st.namespace, &pname, &template, Some(owner.clone()));
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.remove("generateName");
        }
        pod["metadata"]["uid"] = json!(fresh_uid());
        pod["spec"]["hostname"] = json!(pname);
        pod["spec"]["subdomain"] = json!(st.name);
        load_pod(w, pod, age, 0);
    }
    w.store.load(Res::StatefulSet, sts);
    Ok(())
}

/// A DaemonSet and one settled pod per node, pinned as the controller pins them.
fn load_daemonset(w: &mut WorldState, ds: &DaemonSetSpec) -> Result<(), String> {
    let age = ds
        .age
        .as_deref()
        .map(dur)
        .transpose()?
        .unwrap_or(Duration::from_secs(86400 * 30));
    let mut labels = ds.labels.clone();
    labels.insert("app".into(), json!(ds.name));
    let uid = fresh_uid();
    let mut daemon = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {
            "name": ds.name, "namespace": ds.namespace, "uid": uid, "generation": 1,
            "creationTimestamp": w.store.clock.ago_rfc3339(age), "labels": labels,
        },
        "spec": {
            "selector": {"matchLabels": {"app": ds.name}},
            "template": workload_template(&labels, &ds.name, &ds.image, ds.termination_grace_seconds),
        },
    });
    daemonset_defaults(&mut daemon);
    let hash = template_hash(&daemon["spec"]["template"]);
    let owner = owner_ref("DaemonSet", &ds.name, &uid);
    for node in w.ctl.nodes.clone() {
        let pname = format!("{}-{}", ds.name, safe_string(fnv(&[&ds.name, &node]), 5));
        let mut template = daemon["spec"]["template"].clone();
        template["metadata"]["labels"]["controller-revision-hash"] = json!(hash);
        template["metadata"]["labels"]["pod-template-generation"] = json!("1");
        let mut pod = pods::from_template(&ds.namespace, &pname, &template, Some(owner.clone()));
        pod["metadata"]["uid"] = json!(fresh_uid());
        pod["spec"]["affinity"] = json!({"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
            ]}
        }});
        load_pod(w, pod, age, 0);
    }
    w.store.load(Res::DaemonSet, daemon);
    Ok(())
}

fn claim(c: &ClaimSpec, clock: SimClock) -> Result<Value, String> {
    let age = c
        .age
        .as_deref()
        .map(dur)
        .transpose()?
        .unwrap_or(Duration::from_secs(86400));
    let now = clock.wall();
    let created = now - age;
    let guid = safe_string(fnv(&[&c.namespace, &c.name]), 5);
    let ready = c.ready.unwrap_or(c.state == "started");
    let healthy = c.healthy.unwrap_or(!c.state.ends_with("-failed"));
    let requester = c.requester.clone().unwrap_or_else(|| {
        c.namespace
            .strip_prefix("user-")
            .unwrap_or(&c.namespace)
            .to_string()
    });
    let params = json!({"purpose": "Development", "region": "na"});
    let mut status = json!({"approval": {"state": c.approval}});
    if c.approval == "approved" {
        let end = rfc3339(created + Duration::from_secs(86400 * 7));
        let mut lifespan = json!({"start": rfc3339(created), "end": end, "maximum": "14d", "relativeMaximum": "7d"});
        if ready {
            lifespan["firstReady"] = json!(rfc3339(created + Duration::from_secs(2400).min(age)));
        }
        let subject = format!("{}-{guid}", c.catalog_item.replace('.', "-"));
        status["healthy"] = json!(healthy);
        status["ready"] = json!(ready);
        status["lifespan"] = lifespan;
        status["provider"] = json!({"name": c.catalog_item, "parameterValues": params});
        status["resourceHandle"] = json!({"apiVersion": "poolboy.gpte.redhat.com/v1", "kind": "ResourceHandle", "name": format!("guid-{guid}"), "namespace": "poolboy", "detached": false});
        status["summary"] = json!({"state": c.state, "runtime_default": "4h", "runtime_maximum": "8h", "provision_data": {}});
        status["resources"] = json!([{
            "name": "babylon",
            "provider": {"apiVersion": "poolboy.gpte.redhat.com/v1", "kind": "ResourceProvider", "name": "babylon", "namespace": "poolboy"},
            "reference": {"apiVersion": "anarchy.gpte.redhat.com/v1", "kind": "AnarchySubject", "name": subject, "namespace": "babylon-anarchy"},
            "healthy": healthy,
            "ready": ready,
            "state": {
                "apiVersion": "anarchy.gpte.redhat.com/v1", "kind": "AnarchySubject",
                "metadata": {"name": subject, "namespace": "babylon-anarchy", "creationTimestamp": rfc3339(created)},
                "spec": {"governor": c.catalog_item, "vars": {
                    "current_state": c.state,
                    "desired_state": c.desired_state.clone().unwrap_or_else(|| "started".into()),
                    "healthy": healthy,
                }}
            }
        }]);
    }
    Ok(json!({
        "apiVersion": "poolboy.gpte.redhat.com/v1", "kind": "ResourceClaim",
        "metadata": {
            "name": c.name, "namespace": c.namespace, "uid": fresh_uid(), "generation": 1,
            "creationTimestamp": rfc3339(created),
            "finalizers": ["poolboy.gpte.redhat.com"],
            "labels": {"babylon.gpte.redhat.com/catalogItemName": c.catalog_item, "babylon.gpte.redhat.com/catalogItemNamespace": "babylon-catalog-prod"},
            "annotations": {"babylon.gpte.redhat.com/requester": requester},
        },
        "spec": {"provider": {"name": c.catalog_item, "parameterValues": params}},
        "status": status,
    }))
}
