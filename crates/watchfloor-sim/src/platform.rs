//! The platform part of a scenario (assets/scenarios/*.toml): nodes and their conditions,
//! CronJobs with their Job history, HorizontalPodAutoscalers, cert-manager Certificates with
//! their TLS Secrets and Ingresses, and workloads' resource usage — the specs and loading them
//! into the world.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::autoscaling::hpa_defaults;
use super::certs;
use super::clock::SimClock;
use super::cron::Schedule;
use super::jobs::{self, Outcome};
use super::pods::{self, PodEvent};
use super::resources::Res;
use super::state::WorldState;
use super::util::{fnv, fresh_uid, rfc3339};

fn dur(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("bad duration {s:?}: {e}"))
}

fn opt_dur(s: Option<&str>, default: Duration) -> Result<Duration, String> {
    s.map(dur).transpose().map(|d| d.unwrap_or(default))
}

fn yes() -> bool {
    true
}

/// A node's conditions and scheduling, as the kubelet and an operator left them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeConditionSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub ready: bool,
    #[serde(default)]
    pub memory_pressure: bool,
    #[serde(default)]
    pub disk_pressure: bool,
    #[serde(default)]
    pub pid_pressure: bool,
    #[serde(default)]
    pub network_unavailable: bool,
    /// Cordoned (`kubectl cordon`).
    #[serde(default)]
    pub unschedulable: bool,
    /// How long the condition has held (default 40m).
    #[serde(default)]
    pub since: Option<String>,
}

/// A CronJob and what its last runs did.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CronJobSpec {
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    pub image: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub suspend: bool,
    #[serde(default)]
    pub age: Option<String>,
    /// About how long ago the last successful run finished (default: the last scheduled run
    /// succeeded). The run is the scheduled one at or before then.
    #[serde(default)]
    pub last_success: Option<String>,
    /// The most recent scheduled run failed (its Job and pod are kept, as failedJobsHistoryLimit
    /// keeps one).
    #[serde(default)]
    pub last_failed: bool,
    /// How long a run takes (default 4m).
    #[serde(default)]
    pub run_time: Option<String>,
    /// The node its Jobs' pods ran on (default: one picked by name).
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub labels: Map<String, Value>,
}

/// An HPA on one of the scenario's Deployments (its load comes from the Deployment's
/// `cpu_load`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HpaSpec {
    pub namespace: String,
    pub name: String,
    /// The Deployment it scales.
    pub target: String,
    #[serde(default = "one")]
    pub min_replicas: u64,
    pub max_replicas: u64,
    /// Target CPU utilisation, percent of request.
    #[serde(default = "eighty")]
    pub cpu_target: u64,
    #[serde(default)]
    pub age: Option<String>,
}

fn one() -> u64 {
    1
}

fn eighty() -> u64 {
    80
}

/// A cert-manager Certificate, its TLS Secret (a real certificate) and optionally an Ingress
/// serving it. Without cert-manager only the Secret and Ingress are loaded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateSpec {
    pub namespace: String,
    pub name: String,
    pub dns_names: Vec<String>,
    /// The Secret's name (default `{name}-tls`).
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default = "letsencrypt")]
    pub issuer: String,
    /// Time left until notAfter (e.g. "5d").
    pub expires_in: String,
    /// Validity (default 90d, cert-manager's).
    #[serde(default)]
    pub duration: Option<String>,
    /// An Ingress of this name serving the first DNS name with this certificate (its backend
    /// is the Service of the same name, port 8080).
    #[serde(default)]
    pub ingress: Option<String>,
}

fn letsencrypt() -> String {
    "letsencrypt-prod".into()
}

/// Conditions of a node: Ready plus the kubelet's pressure conditions.
fn node_conditions(spec: &NodeConditionSpec, clock: SimClock) -> Result<Vec<Value>, String> {
    let since = opt_dur(spec.since.as_deref(), Duration::from_secs(2400))?;
    let heartbeat = clock.ago_rfc3339(Duration::from_secs(10));
    let booted = clock.ago_rfc3339(Duration::from_secs(86400 * 90));
    let c = |ty: &str, on: bool, yes: (&str, &str), no: (&str, &str)| {
        let (reason, message) = if on { yes } else { no };
        let at = if on == (ty == "Ready") {
            booted.clone()
        } else {
            clock.ago_rfc3339(since)
        };
        json!({"type": ty, "status": if on {"True"} else {"False"}, "reason": reason, "message": message,
            "lastHeartbeatTime": heartbeat, "lastTransitionTime": at})
    };
    Ok(vec![
        c(
            "NetworkUnavailable",
            spec.network_unavailable,
            ("NoRouteCreated", "RouteController failed to create a route"),
            ("RouteCreated", "RouteController created a route"),
        ),
        c(
            "MemoryPressure",
            spec.memory_pressure,
            (
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available",
            ),
            (
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
        ),
        c(
            "DiskPressure",
            spec.disk_pressure,
            ("KubeletHasDiskPressure", "kubelet has disk pressure"),
            ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ),
        c(
            "PIDPressure",
            spec.pid_pressure,
            (
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available",
            ),
            (
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
        ),
        c(
            "Ready",
            spec.ready,
            ("KubeletReady", "kubelet is posting ready status"),
            (
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
            ),
        ),
    ])
}

/// A Node object: capacity, allocatable, addresses, conditions and the taints they imply.
pub(crate) fn node(
    name: &str,
    spec: Option<&NodeConditionSpec>,
    clock: SimClock,
) -> Result<Value, String> {
    let default = NodeConditionSpec {
        name: name.to_string(),
        ready: true,
        ..NodeConditionSpec::default()
    };
    let spec = spec.unwrap_or(&default);
    let mut taints = Vec::new();
    let since = clock.ago_rfc3339(opt_dur(spec.since.as_deref(), Duration::from_secs(2400))?);
    for (on, key) in [
        (spec.unschedulable, "node.kubernetes.io/unschedulable"),
        (spec.disk_pressure, "node.kubernetes.io/disk-pressure"),
        (spec.memory_pressure, "node.kubernetes.io/memory-pressure"),
        (spec.pid_pressure, "node.kubernetes.io/pid-pressure"),
        (
            spec.network_unavailable,
            "node.kubernetes.io/network-unavailable",
        ),
    ] {
        if on {
            taints.push(json!({"key": key, "effect": "NoSchedule", "timeAdded": since}));
        }
    }
    if !spec.ready {
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": since}));
    }
    let mut node_spec = json!({});
    if spec.unschedulable {
        node_spec["unschedulable"] = json!(true);
    }
    if !taints.is_empty() {
        node_spec["taints"] = json!(taints);
    }
    Ok(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": fresh_uid(), "creationTimestamp": clock.ago_rfc3339(Duration::from_secs(86400 * 90)),
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/worker": ""}},
        "spec": node_spec,
        "status": {
            "capacity": {"cpu": "16", "memory": "65851340Ki", "pods": "250", "ephemeral-storage": "209124332Ki"},
            "allocatable": {"cpu": "15500m", "memory": "63754188Ki", "pods": "250", "ephemeral-storage": "192733394020"},
            "addresses": [{"type": "InternalIP", "address": pods::node_ip(name)}, {"type": "Hostname", "address": name}],
            "conditions": node_conditions(spec, clock)?,
            "nodeInfo": {"kubeletVersion": "v1.33.1", "containerRuntimeVersion": "containerd://1.7.27", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "architecture": "amd64", "operatingSystem": "linux", "kernelVersion": "6.1.0-31-amd64", "kubeProxyVersion": "v1.33.1",
                "machineID": "", "systemUUID": "", "bootID": ""}
        }
    }))
}

/// The kubelet's warning for a node under pressure (what `kubectl get events` shows).
pub(crate) fn pressure_event(spec: &NodeConditionSpec) -> Option<PodEvent> {
    let resource = if spec.disk_pressure {
        "ephemeral-storage"
    } else if spec.memory_pressure {
        "memory"
    } else {
        return None;
    };
    Some(PodEvent {
        warning: true,
        reason: "EvictionThresholdMet",
        message: format!("Attempting to reclaim {resource}"),
        component: "kubelet",
        field_path: None,
    })
}

fn cronjob_object(c: &CronJobSpec, age: Duration, clock: SimClock) -> Value {
    let mut labels = c.labels.clone();
    labels.insert("app".into(), json!(c.name));
    let mut cj = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": c.name, "namespace": c.namespace, "uid": fresh_uid(), "generation": 1,
            "creationTimestamp": clock.ago_rfc3339(age), "labels": labels},
        "spec": {
            "schedule": c.schedule, "suspend": c.suspend,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": c.name, "image": c.image, "imagePullPolicy": "IfNotPresent",
                    "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}},
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]}}}},
        },
    });
    if let Some(tz) = &c.time_zone {
        cj["spec"]["timeZone"] = json!(tz);
    }
    jobs::cronjob_defaults(&mut cj);
    cj
}

impl WorldState {
    /// A CronJob with its last successful Job and, when the last run failed, that Job; with
    /// their pods unless `with_pods` is off (large scenarios keep their pod count).
    pub(crate) fn load_cronjob(&mut self, c: &CronJobSpec, with_pods: bool) -> Result<(), String> {
        let schedule = Schedule::parse(&c.schedule).ok_or_else(|| {
            format!(
                "cronjob {}/{}: bad schedule {:?}",
                c.namespace, c.name, c.schedule
            )
        })?;
        let clock = self.store.clock;
        let now = clock.wall();
        let age = opt_dur(c.age.as_deref(), Duration::from_secs(86400 * 90))?;
        let run = opt_dur(c.run_time.as_deref(), Duration::from_secs(240))?;
        let mut cj = cronjob_object(c, age, clock);
        let node = c.node.clone().unwrap_or_else(|| self.node_for(&c.name));
        let created = now - age;
        // The scheduled run of the last success: at or before the given time, else the last
        // run that has finished by now.
        let success_anchor = match &c.last_success {
            Some(ago) => now - dur(ago)? + run + Duration::from_secs(1),
            None if c.last_failed => OffsetDateTime::UNIX_EPOCH,
            None => now - run,
        };
        let mut runs: Vec<(OffsetDateTime, Outcome)> = Vec::new();
        if let Some(at) = schedule
            .last_before(success_anchor)
            .filter(|t| *t >= created)
        {
            runs.push((at, Outcome::Succeeded));
        }
        if c.last_failed {
            let at = schedule
                .last_before(now - run)
                .filter(|t| *t >= created)
                .ok_or_else(|| {
                    format!(
                        "cronjob {}/{}: last_failed, but it never ran",
                        c.namespace, c.name
                    )
                })?;
            runs.retain(|(t, _)| *t < at);
            runs.push((at, Outcome::Failed));
        }
        if let Some((at, _)) = runs.last() {
            cj["status"]["lastScheduleTime"] = json!(rfc3339(*at));
        }
        if let Some((at, _)) = runs.iter().rev().find(|(_, o)| *o == Outcome::Succeeded) {
            cj["status"]["lastSuccessfulTime"] = json!(rfc3339(*at + run));
        }
        for (at, outcome) in runs {
            let (job, pod) = jobs::history_job(&cj, at, run, outcome, &node);
            if with_pods {
                self.store.load(Res::Pod, pod);
            }
            if outcome == Outcome::Failed {
                self.record_events(
                    Res::Job,
                    &job,
                    vec![PodEvent {
                        warning: true,
                        reason: "BackoffLimitExceeded",
                        message: "Job has reached the specified backoff limit".into(),
                        component: "job-controller",
                        field_path: None,
                    }],
                );
            }
            self.store.load(Res::Job, job);
        }
        self.store.load(Res::CronJob, cj);
        Ok(())
    }

    /// An HPA on a Deployment (its status is the HPA controller's, on the first tick).
    pub(crate) fn load_hpa(&mut self, h: &HpaSpec) -> Result<(), String> {
        let age = opt_dur(h.age.as_deref(), Duration::from_secs(86400 * 30))?;
        let mut hpa = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": h.name, "namespace": h.namespace, "uid": fresh_uid(), "generation": 1,
                "creationTimestamp": self.store.clock.ago_rfc3339(age)},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": h.target},
                "minReplicas": h.min_replicas, "maxReplicas": h.max_replicas,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": h.cpu_target}}}],
            },
        });
        hpa_defaults(&mut hpa);
        self.store.load(Res::HorizontalPodAutoscaler, hpa);
        Ok(())
    }

    /// A certificate: the Secret with a real PEM always; the Certificate with cert-manager; an
    /// Ingress when asked.
    pub(crate) fn load_certificate(&mut self, c: &CertificateSpec) -> Result<(), String> {
        let now = self.store.clock.wall();
        let not_after = now + dur(&c.expires_in)?;
        let validity = opt_dur(c.duration.as_deref(), certs::DEFAULT_DURATION)?;
        let not_before = not_after - validity;
        let secret_name = c
            .secret
            .clone()
            .unwrap_or_else(|| format!("{}-tls", c.name));
        let pem = certs::issue(&c.dns_names, not_before, not_after).ok_or_else(|| {
            format!(
                "certificate {}/{}: cannot issue for {:?}",
                c.namespace, c.name, c.dns_names
            )
        })?;
        let created = rfc3339(not_before);
        let mut spec = json!({"secretName": secret_name, "dnsNames": c.dns_names,
            "issuerRef": {"name": c.issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}});
        if let Some(d) = &c.duration {
            spec["duration"] = json!(d);
        }
        let cert = json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": c.name, "namespace": c.namespace, "uid": fresh_uid(), "generation": 1,
                "creationTimestamp": created},
            "status": certs::issued_status(&spec, not_before, not_after, now),
            "spec": spec,
        });
        let managed = self.features.cert_manager.then_some(&cert);
        self.store.load(
            Res::Secret,
            certs::tls_secret(&c.namespace, &secret_name, &pem, managed, &created),
        );
        if let Some(ing) = &c.ingress {
            let host = c.dns_names.first().cloned().unwrap_or_default();
            let mut annotations = json!({});
            if self.features.cert_manager {
                annotations["cert-manager.io/cluster-issuer"] = json!(c.issuer);
            }
            self.store.load(Res::Ingress, json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": ing, "namespace": c.namespace, "uid": fresh_uid(), "generation": 1,
                    "creationTimestamp": created, "annotations": annotations},
                "spec": {"ingressClassName": "openshift-default",
                    "tls": [{"hosts": c.dns_names, "secretName": secret_name}],
                    "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                        "backend": {"service": {"name": ing, "port": {"number": 8080}}}}]}}]},
                "status": {"loadBalancer": {"ingress": [{"hostname": "router-default.apps.sim.example.com"}]}},
            }));
        }
        if self.features.cert_manager {
            self.store.load(Res::Certificate, cert);
        }
        Ok(())
    }
}

/// The `i`-th generated CronJob of a large scenario: a spread of common schedules, all healthy.
pub(crate) fn generated_cronjob(i: usize, namespace: &str) -> CronJobSpec {
    const SCHEDULES: [&str; 6] = [
        "*/15 * * * *",
        "0 * * * *",
        "30 3 * * *",
        "@daily",
        "0 2 * * *",
        "0 4 * * 0",
    ];
    CronJobSpec {
        namespace: namespace.to_string(),
        name: format!("job-{:03}", i + 1),
        schedule: SCHEDULES[i % SCHEDULES.len()].to_string(),
        image: "registry.example.com/shop/batch:1.0.0".into(),
        time_zone: None,
        suspend: false,
        age: Some("60d".into()),
        last_success: None,
        last_failed: false,
        run_time: Some("1m".into()),
        node: None,
        labels: Map::new(),
    }
}

/// The `i`-th generated certificate: expiring 10–89 days out, spread by a stable hash.
pub(crate) fn generated_certificate(i: usize, namespace: &str) -> CertificateSpec {
    let name = format!("cert-{:03}", i + 1);
    let days = 10 + fnv(&[namespace, &name]) % 80;
    CertificateSpec {
        dns_names: vec![format!("{name}.{namespace}.apps.sim.example.com")],
        namespace: namespace.to_string(),
        secret: None,
        issuer: letsencrypt(),
        expires_in: format!("{days}d"),
        duration: None,
        ingress: None,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_makes_conditions_and_taints() {
        let spec = NodeConditionSpec {
            name: "n".into(),
            ready: true,
            disk_pressure: true,
            ..NodeConditionSpec::default()
        };
        let n = node("n", Some(&spec), SimClock::default()).unwrap_or_default();
        let conds = n["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let status = |t: &str| {
            conds
                .iter()
                .find(|c| c["type"] == t)
                .map(|c| c["status"].clone())
        };
        assert_eq!(status("DiskPressure"), Some(json!("True")));
        assert_eq!(status("MemoryPressure"), Some(json!("False")));
        assert_eq!(status("Ready"), Some(json!("True")));
        assert_eq!(
            n["spec"]["taints"][0]["key"],
            "node.kubernetes.io/disk-pressure"
        );
        assert!(pressure_event(&spec).is_some());
        let calm = node("m", None, SimClock::default()).unwrap_or_default();
        assert!(calm["spec"].get("taints").is_none());
    }
}

#[cfg(test)]
mod story {
    use super::*;
    use crate::Scenario;
    use crate::selectors::{FieldSelector, LabelSelector};

    fn booted(name: &str, f: impl FnOnce(Scenario) -> Scenario) -> WorldState {
        let scenario = f(Scenario::builtin(name).unwrap_or_else(|e| panic!("{e}")));
        let mut w = WorldState {
            rules: scenario.rules().unwrap_or_default(),
            speed: 1.0,
            ..WorldState::default()
        };
        scenario.load(&mut w).unwrap_or_else(|e| panic!("{e}"));
        w.tick();
        w
    }

    fn get(w: &WorldState, res: Res, ns: &str, name: &str) -> Value {
        w.store
            .get(res, ns, name)
            .map(|v| (*v).clone())
            .unwrap_or_else(|| panic!("{res:?} {ns}/{name} missing"))
    }

    #[test]
    fn the_incident_has_its_platform_problems() {
        let w = booted("incident", |s| s);
        let now = w.store.clock.wall();
        let cj = get(&w, Res::CronJob, "babylon-backup", "babylon-db-backup");
        let last_ok = cj["status"]["lastSuccessfulTime"]
            .as_str()
            .and_then(crate::util::parse_time);
        let age = now - last_ok.unwrap_or(now);
        assert!(
            age > time::Duration::hours(48) && age < time::Duration::hours(80),
            "{age}"
        );
        let failed: Vec<Value> = w
            .store
            .iter(Res::Job, Some("babylon-backup"), None)
            .filter(|j| j["status"]["failed"] == 1)
            .map(|j| (**j).clone())
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            cj["status"]["lastScheduleTime"], failed[0]["status"]["startTime"],
            "the last run is the failed one"
        );
        let hpa = get(
            &w,
            Res::HorizontalPodAutoscaler,
            "platform-v2-stable",
            "platform-v2-api",
        );
        assert_eq!(hpa["status"]["currentReplicas"], 3);
        assert_eq!(hpa["status"]["desiredReplicas"], 3);
        assert_eq!(hpa["status"]["conditions"][2]["reason"], "TooManyReplicas");
        let cert = get(
            &w,
            Res::Certificate,
            "babylon-catalog",
            "babylon-catalog-ui",
        );
        let not_after = cert["status"]["notAfter"]
            .as_str()
            .and_then(crate::util::parse_time);
        let left = not_after.unwrap_or(now) - now;
        assert!(
            left > time::Duration::days(4) && left <= time::Duration::days(5),
            "{left}"
        );
        let secret = get(&w, Res::Secret, "babylon-catalog", "babylon-catalog-ui-tls");
        assert_eq!(secret["type"], "kubernetes.io/tls");
        let ing = get(&w, Res::Ingress, "babylon-catalog", "babylon-catalog-ui");
        assert_eq!(
            ing["spec"]["tls"][0]["secretName"],
            "babylon-catalog-ui-tls"
        );
        let node = get(&w, Res::Node, "", "sim-node-2");
        assert!(node["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "DiskPressure" && c["status"] == "True")
        }));
        let on_node = w
            .store
            .iter(Res::Pod, None, None)
            .filter(|p| p["spec"]["nodeName"] == "sim-node-2")
            .count();
        assert!(on_node > 0, "pods run on the DiskPressure node");
        let nodes = crate::metrics::serve(
            &w,
            &crate::metrics::Query::Nodes { name: None },
            &LabelSelector::parse("").unwrap_or_else(|e| panic!("{e}")),
            &FieldSelector::parse("").unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(nodes["items"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn without_cert_manager_the_tls_secrets_stay() {
        let w = booted("incident", |s| s.with_cert_manager(false));
        assert_eq!(w.store.count(Res::Certificate), 0);
        assert_eq!(w.store.count(Res::CustomResourceDefinition), 0);
        get(&w, Res::Secret, "babylon-catalog", "babylon-catalog-ui-tls");
    }

    #[test]
    fn calm_is_healthy_and_large_has_its_scale() {
        let w = booted("calm", |s| s);
        let cj = get(&w, Res::CronJob, "babylon-backup", "babylon-db-backup");
        assert!(cj["status"]["lastSuccessfulTime"].is_string());
        let hpa = get(
            &w,
            Res::HorizontalPodAutoscaler,
            "platform-v2-stable",
            "platform-v2-api",
        );
        assert_eq!(
            hpa["status"]["conditions"][2]["reason"],
            "DesiredWithinRange"
        );
        let large = booted("large", |s| s);
        assert_eq!(large.store.count(Res::Pod), 10_000);
        assert_eq!(large.store.count(Res::Node), 50);
        assert_eq!(large.store.count(Res::CronJob), 500);
        assert_eq!(large.store.count(Res::HorizontalPodAutoscaler), 200);
        assert_eq!(large.store.count(Res::Certificate), 300);
    }
}
