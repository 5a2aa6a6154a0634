//! Pod rows: what the Pods pane shows of a pod.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{Health, system_time};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// Ready containers.
    pub ready: u32,
    /// All (non-init) containers.
    pub total: u32,
    /// The real reason: CrashLoopBackOff, OOMKilled, ImagePullBackOff, ErrImagePull,
    /// `Pending: <scheduling reason>`, Terminating, Completed, Evicted, NotReady, Running, ...
    pub status: String,
    pub health: Health,
    /// Sum of container restart counts.
    pub restarts: u32,
    /// When the most recent restart happened (the latest `lastState.terminated.finishedAt`).
    #[serde(skip)]
    pub last_restart: Option<SystemTime>,
    #[serde(skip)]
    pub created: Option<SystemTime>,
    pub node: Option<String>,
    /// The controlling owner, e.g. `ReplicaSet/web-7d4b9c`.
    pub owner: Option<String>,
    /// Requests and limits, summed as the scheduler counts them.
    pub resources: super::resources::Resources,
    /// Phase Succeeded or Failed: it holds no resources on its node any more.
    pub terminated: bool,
}

/// Counts for the Pods pane title and the per-namespace breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PodSummary {
    pub total: usize,
    pub crit: usize,
    pub warn: usize,
    /// `(namespace, crit, warn, total)`, sorted by namespace.
    pub per_namespace: Vec<(String, usize, usize, usize)>,
}

/// One container of a pod, for the pod detail view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerDetail {
    pub name: String,
    pub image: String,
    /// An init container (sidecars included); these come first, in start order.
    pub init: bool,
    pub ready: bool,
    pub restarts: u32,
    /// e.g. `running since 2024-05-01T10:00:00Z`, `waiting: CrashLoopBackOff — back-off 5m0s
    /// restarting failed container`, `terminated: Error (exit 1)`.
    pub state: String,
    /// When the current state began (running or terminated), for a relative display.
    #[serde(skip)]
    pub since: Option<SystemTime>,
    pub last_termination: Option<Termination>,
    /// e.g. `cpu 100m, memory 128Mi`, or `-`.
    pub requests: String,
    pub limits: String,
}

/// How a container last ended (`lastState.terminated`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Termination {
    pub reason: String,
    pub exit_code: i32,
    #[serde(skip)]
    pub finished: Option<SystemTime>,
    pub message: Option<String>,
}

/// The row for one pod; missing fields give empty or default values, never a panic.
pub fn pod_row(pod: &Pod) -> PodRow {
    let view = PodView::new(pod);
    let status = view.status();
    let (restarts, last_restart) = view.restarts();
    let meta = &pod.metadata;
    PodRow {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        ready: view.ready(),
        total: view.total(),
        health: status_health(&status),
        status,
        restarts,
        last_restart,
        created: meta.creation_timestamp.as_ref().and_then(system_time),
        node: pod.spec.as_ref().and_then(|spec| spec.node_name.clone()),
        owner: meta
            .owner_references
            .iter()
            .flatten()
            .find(|owner| owner.controller == Some(true))
            .map(|owner| format!("{}/{}", owner.kind, owner.name)),
        resources: super::resources::pod_resources(pod),
        terminated: matches!(view.phase(), "Succeeded" | "Failed"),
    }
}

/// Worst health first, then the most restarts, then by namespace and name.
pub fn sort_worst_first(rows: &mut [PodRow]) {
    rows.sort_by(|a, b| {
        severity(a)
            .cmp(&severity(b))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The worst-first key without the name tie-break: a stable sort by it of rows already in
/// namespace/name order gives the same order as `sort_worst_first`, much faster.
pub fn severity(row: &PodRow) -> (Health, std::cmp::Reverse<u32>) {
    (row.health, std::cmp::Reverse(row.restarts))
}

pub fn pod_summary<'a>(rows: impl IntoIterator<Item = &'a PodRow>) -> PodSummary {
    let mut summary = PodSummary::default();
    // Rows come grouped by namespace (the pods table is keyed by namespace, then name), so the
    // counts are a run per namespace: no map lookup per pod. Any other order is merged below.
    let mut runs: Vec<(&str, (usize, usize, usize))> = Vec::new();
    for row in rows {
        if runs.last().is_none_or(|(ns, _)| *ns != row.namespace) {
            runs.push((&row.namespace, (0, 0, 0)));
        }
        let Some((_, counts)) = runs.last_mut() else {
            continue;
        };
        summary.total += 1;
        counts.2 += 1;
        match row.health {
            Health::Crit => {
                summary.crit += 1;
                counts.0 += 1;
            }
            Health::Warn => {
                summary.warn += 1;
                counts.1 += 1;
            }
            Health::Ok | Health::Done => {}
        }
    }
    runs.sort_by_key(|(namespace, _)| *namespace);
    let mut per_namespace: Vec<(String, usize, usize, usize)> = Vec::with_capacity(runs.len());
    for (namespace, (crit, warn, total)) in runs {
        match per_namespace.last_mut() {
            Some(last) if last.0 == namespace => {
                last.1 += crit;
                last.2 += warn;
                last.3 += total;
            }
            _ => per_namespace.push((namespace.to_owned(), crit, warn, total)),
        }
    }
    summary.per_namespace = per_namespace;
    summary
}

/// Init containers first (in start order), then the app containers.
pub fn container_details(pod: &Pod) -> Vec<ContainerDetail> {
    let view = PodView::new(pod);
    let init = view
        .init_containers
        .iter()
        .map(|c| container_detail(c, find_status(view.init_statuses, &c.name), true));
    let app = view
        .containers
        .iter()
        .map(|c| container_detail(c, find_status(view.statuses, &c.name), false));
    init.chain(app).collect()
}

/// Borrowed slices of a pod with every `Option` resolved to empty.
struct PodView<'a> {
    pod: &'a Pod,
    containers: &'a [Container],
    init_containers: &'a [Container],
    statuses: &'a [ContainerStatus],
    init_statuses: &'a [ContainerStatus],
    conditions: &'a [PodCondition],
}

impl<'a> PodView<'a> {
    fn new(pod: &'a Pod) -> Self {
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        Self {
            pod,
            containers: spec.map_or(&[], |s| &s.containers),
            init_containers: spec
                .and_then(|s| s.init_containers.as_deref())
                .unwrap_or(&[]),
            statuses: status
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or(&[]),
            init_statuses: status
                .and_then(|s| s.init_container_statuses.as_deref())
                .unwrap_or(&[]),
            conditions: status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]),
        }
    }

    fn phase(&self) -> &'a str {
        // The API server defaults an absent phase to Pending on create.
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending")
    }

    fn pod_reason(&self) -> Option<&'a str> {
        let reason = self.pod.status.as_ref()?.reason.as_deref()?;
        (!reason.is_empty()).then_some(reason)
    }

    fn condition(&self, type_: &str) -> Option<&'a PodCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    fn condition_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == "True")
    }

    fn is_sidecar(&self, name: &str) -> bool {
        self.init_containers
            .iter()
            .any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    }

    /// App containers plus sidecars, as kubectl counts them.
    fn total(&self) -> u32 {
        let sidecars = self
            .init_containers
            .iter()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .count();
        count(self.containers.len() + sidecars)
    }

    fn ready(&self) -> u32 {
        let sidecars = self
            .init_statuses
            .iter()
            .filter(|cs| self.is_sidecar(&cs.name) && cs.started == Some(true) && cs.ready);
        let containers = self.statuses.iter().filter(|cs| cs.ready && is_running(cs));
        count(sidecars.count() + containers.count())
    }

    /// Restarts of app containers and sidecars; while initializing, of all init containers.
    fn restarts(&self) -> (u32, Option<SystemTime>) {
        let initializing = self.init_reason().is_some();
        let init = self
            .init_statuses
            .iter()
            .filter(|cs| initializing || self.is_sidecar(&cs.name));
        init.chain(self.statuses)
            .fold((0, None), |(sum, last), cs| {
                let restarts = u32::try_from(cs.restart_count).unwrap_or(0);
                (sum.saturating_add(restarts), last.max(last_finished(cs)))
            })
    }

    /// kubectl's STATUS column, plus the refinements documented on [`PodRow::status`].
    fn status(&self) -> String {
        let init = self.init_reason();
        let mut status = init.clone().unwrap_or_else(|| self.pod_level_status());
        // A Failed pod's own reason (Evicted, DeadlineExceeded, OutOfcpu, ...) is the real cause;
        // its containers only show the kill that followed.
        let failed_with_reason = self.phase() == "Failed" && self.pod_reason().is_some();
        if (init.is_none() || self.condition_true("Initialized")) && !failed_with_reason {
            status = self.container_status(status);
        }
        if self.pod.metadata.deletion_timestamp.is_none() {
            status
        } else if self.pod_reason() == Some("NodeLost") {
            "Unknown".into()
        } else if matches!(self.phase(), "Succeeded" | "Failed") {
            status
        } else {
            "Terminating".into()
        }
    }

    /// The pod's reason or phase, with why a pod is pending or not ready (not in kubectl).
    fn pod_level_status(&self) -> String {
        let scheduled = self.condition("PodScheduled");
        let unscheduled_reason = scheduled
            .filter(|c| c.status == "False")
            .and_then(|c| c.reason.as_deref())
            .filter(|r| !r.is_empty());
        match (
            self.pod_reason().unwrap_or_else(|| self.phase()),
            unscheduled_reason,
        ) {
            (_, Some(gate @ "SchedulingGated")) => gate.into(),
            ("Pending", Some(reason)) => format!("Pending: {reason}"),
            ("Running", _) if self.ready() < self.total() => "NotReady".into(),
            (status, _) => status.into(),
        }
    }

    /// The first container's waiting or terminated reason overrides the pod-level status.
    fn container_status(&self, status: String) -> String {
        let Some(reason) = self.statuses.iter().find_map(container_reason) else {
            return status;
        };
        let any_running = self.statuses.iter().any(|cs| cs.ready && is_running(cs));
        match reason.as_str() {
            "Completed" if any_running && self.condition_true("Ready") => "Running".into(),
            "Completed" if any_running => "NotReady".into(),
            _ => reason,
        }
    }

    /// `Init:...` while the first unfinished init container blocks the pod, else `None`.
    fn init_reason(&self) -> Option<String> {
        let total = self.init_containers.len();
        self.init_statuses.iter().enumerate().find_map(|(i, cs)| {
            let state = cs.state.as_ref();
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if terminated.is_some_and(|t| t.exit_code == 0)
                || (self.is_sidecar(&cs.name) && cs.started == Some(true))
            {
                return None;
            }
            let waiting = waiting_reason(state).filter(|r| *r != "PodInitializing");
            let reason = match (terminated, waiting) {
                (Some(t), _) => terminated_reason(t),
                (None, Some(reason)) => with_oom_hint(reason, cs),
                (None, None) => format!("{i}/{total}"),
            };
            Some(format!("Init:{reason}"))
        })
    }
}

/// A container's waiting or terminated reason, as kubectl shows it.
fn container_reason(cs: &ContainerStatus) -> Option<String> {
    let state = cs.state.as_ref();
    if let Some(reason) = waiting_reason(state) {
        return Some(with_oom_hint(reason, cs));
    }
    state?.terminated.as_ref().map(terminated_reason)
}

fn waiting_reason(state: Option<&ContainerState>) -> Option<&str> {
    let reason = state?.waiting.as_ref()?.reason.as_deref()?;
    (!reason.is_empty()).then_some(reason)
}

fn terminated_reason(t: &ContainerStateTerminated) -> String {
    match t.reason.as_deref() {
        Some(reason) if !reason.is_empty() => reason.to_owned(),
        _ => exit_text(t),
    }
}

fn exit_text(t: &ContainerStateTerminated) -> String {
    match t.signal {
        Some(signal) if signal != 0 => format!("Signal:{signal}"),
        _ => format!("ExitCode:{}", t.exit_code),
    }
}

/// A crash loop caused by the OOM killer looks like any other crash loop in kubectl.
fn with_oom_hint(reason: &str, cs: &ContainerStatus) -> String {
    let oom = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"));
    if reason == "CrashLoopBackOff" && oom {
        format!("{reason} (OOMKilled)")
    } else {
        reason.to_owned()
    }
}

fn is_running(cs: &ContainerStatus) -> bool {
    cs.state.as_ref().is_some_and(|s| s.running.is_some())
}

fn last_finished(cs: &ContainerStatus) -> Option<SystemTime> {
    let terminated = cs.last_state.as_ref()?.terminated.as_ref()?;
    terminated.finished_at.as_ref().and_then(system_time)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn status_health(status: &str) -> Health {
    match status {
        "Running" => Health::Ok,
        "Completed" | "Succeeded" => Health::Done,
        _ if is_failure(status) => Health::Crit,
        _ => Health::Warn,
    }
}

/// Statuses that mean something is broken, as opposed to not settled yet.
fn is_failure(status: &str) -> bool {
    const BROKEN: &[&str] = &[
        "OOMKilled",
        "Evicted",
        "Failed",
        "Unknown",
        "NodeLost",
        "DeadlineExceeded",
        "ContainerStatusUnknown",
        "ContainerCannotRun",
        "InvalidImageName",
    ];
    let reason = status.strip_prefix("Init:").unwrap_or(status);
    BROKEN.contains(&reason)
        || reason.contains("BackOff")
        || reason.starts_with("Err")
        || reason.ends_with("Error")
        || reason.starts_with("Signal:")
        || reason.starts_with("ExitCode:")
}

fn find_status<'a>(statuses: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    statuses.iter().find(|cs| cs.name == name)
}

fn container_detail(c: &Container, cs: Option<&ContainerStatus>, init: bool) -> ContainerDetail {
    let state = cs.and_then(|cs| cs.state.as_ref());
    let resources = c.resources.as_ref();
    ContainerDetail {
        name: c.name.clone(),
        image: c
            .image
            .clone()
            .or_else(|| cs.map(|cs| cs.image.clone()))
            .unwrap_or_default(),
        init,
        ready: cs.is_some_and(|cs| cs.ready),
        restarts: cs.map_or(0, |cs| u32::try_from(cs.restart_count).unwrap_or(0)),
        state: state_text(state),
        since: state.and_then(state_since),
        last_termination: cs
            .and_then(|cs| cs.last_state.as_ref())
            .and_then(|s| s.terminated.as_ref())
            .map(termination),
        requests: resource_text(resources.and_then(|r| r.requests.as_ref())),
        limits: resource_text(resources.and_then(|r| r.limits.as_ref())),
    }
}

fn state_text(state: Option<&ContainerState>) -> String {
    let Some(state) = state else {
        return "waiting".into();
    };
    if let Some(running) = &state.running {
        return match &running.started_at {
            Some(started) => format!("running since {}", started.0),
            None => "running".into(),
        };
    }
    if let Some(t) = &state.terminated {
        let reason = t.reason.as_deref().filter(|r| !r.is_empty());
        let head = reason.map_or_else(|| "terminated".into(), |r| format!("terminated: {r}"));
        let exit = match t.signal {
            Some(signal) if signal != 0 => format!("exit {}, signal {signal}", t.exit_code),
            _ => format!("exit {}", t.exit_code),
        };
        return with_message(format!("{head} ({exit})"), t.message.as_deref());
    }
    let waiting = state.waiting.as_ref();
    let head = match waiting.and_then(|w| w.reason.as_deref()) {
        Some(reason) if !reason.is_empty() => format!("waiting: {reason}"),
        _ => "waiting".into(),
    };
    with_message(head, waiting.and_then(|w| w.message.as_deref()))
}

fn state_since(state: &ContainerState) -> Option<SystemTime> {
    let started = state.running.as_ref().and_then(|r| r.started_at.as_ref());
    let finished = state
        .terminated
        .as_ref()
        .and_then(|t| t.finished_at.as_ref());
    started.or(finished).and_then(system_time)
}

/// Appends the first line of a kubelet message, without the `container=… pod=…` tail that
/// only repeats what the detail view already shows.
fn with_message(head: String, message: Option<&str>) -> String {
    let Some(line) = message.and_then(|m| m.lines().next()) else {
        return head;
    };
    let line = match line.split_once("container=") {
        Some((before, _)) => format!("{before}container"),
        None => line.to_owned(),
    };
    let line = line.trim();
    if line.is_empty() {
        head
    } else {
        format!("{head} — {line}")
    }
}

fn termination(t: &ContainerStateTerminated) -> Termination {
    Termination {
        reason: terminated_reason(t),
        exit_code: t.exit_code,
        finished: t.finished_at.as_ref().and_then(system_time),
        message: t.message.clone().filter(|m| !m.trim().is_empty()),
    }
}

fn resource_text(map: Option<&BTreeMap<String, Quantity>>) -> String {
    let parts: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(name, quantity)| format!("{name} {}", quantity.0))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::parse_time;

    fn parse_pod(value: Value) -> Pod {
        serde_json::from_value(value).expect("a valid Pod")
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).expect("a valid timestamp")
    }

    /// A pod in `phase` with one container per status, named after the status's `name`.
    fn pod_with(phase: &str, statuses: Value) -> Pod {
        let containers: Vec<Value> = statuses
            .as_array()
            .expect("statuses array")
            .iter()
            .map(|s| json!({"name": s["name"], "image": "registry.example/app:1"}))
            .collect();
        parse_pod(json!({
            "metadata": {"name": "web-0", "namespace": "shop"},
            "spec": {"containers": containers},
            "status": {"phase": phase, "containerStatuses": statuses},
        }))
    }

    fn running(name: &str, ready: bool) -> Value {
        json!({
            "name": name, "image": "registry.example/app:1", "imageID": "", "ready": ready,
            "restartCount": 0, "started": true,
            "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}},
        })
    }

    fn waiting(name: &str, reason: &str) -> Value {
        json!({
            "name": name, "image": "registry.example/app:1", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"waiting": {"reason": reason}},
        })
    }

    fn terminated(name: &str, terminated: Value) -> Value {
        json!({
            "name": name, "image": "registry.example/app:1", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"terminated": terminated},
        })
    }

    fn status_of(pod: &Pod) -> (String, Health) {
        let row = pod_row(pod);
        (row.status, row.health)
    }

    #[test]
    fn healthy_running_pod_fills_every_column() {
        let pod = parse_pod(json!({
            "metadata": {
                "name": "web-7d4b9c-x2x9z", "namespace": "shop",
                "creationTimestamp": "2024-05-01T09:00:00Z",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "1"},
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c",
                     "uid": "2", "controller": true},
                ],
            },
            "spec": {"nodeName": "node-a", "containers": [{"name": "app"}, {"name": "proxy"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [running("app", true), running("proxy", true)],
            },
        }));
        let row = pod_row(&pod);
        assert_eq!(
            row,
            PodRow {
                namespace: "shop".into(),
                name: "web-7d4b9c-x2x9z".into(),
                ready: 2,
                total: 2,
                status: "Running".into(),
                health: Health::Ok,
                restarts: 0,
                last_restart: None,
                created: Some(at("2024-05-01T09:00:00Z")),
                node: Some("node-a".into()),
                owner: Some("ReplicaSet/web-7d4b9c".into()),
                resources: Default::default(),
                terminated: false,
            }
        );
    }

    #[test]
    fn running_pod_with_an_unready_container_is_not_ready() {
        let pod = pod_with(
            "Running",
            json!([running("app", true), running("proxy", false)]),
        );
        let row = pod_row(&pod);
        assert_eq!((row.ready, row.total), (1, 2));
        assert_eq!(
            (row.status.as_str(), row.health),
            ("NotReady", Health::Warn)
        );
    }

    #[test]
    fn waiting_reasons_are_shown_and_failures_are_critical() {
        for reason in [
            "CrashLoopBackOff",
            "ImagePullBackOff",
            "ErrImagePull",
            "CreateContainerConfigError",
            "CreateContainerError",
            "InvalidImageName",
        ] {
            let pod = pod_with("Pending", json!([waiting("app", reason)]));
            assert_eq!(
                status_of(&pod),
                (reason.to_owned(), Health::Crit),
                "{reason}"
            );
        }
        for reason in ["ContainerCreating", "PodInitializing"] {
            let pod = pod_with("Pending", json!([waiting("app", reason)]));
            assert_eq!(
                status_of(&pod),
                (reason.to_owned(), Health::Warn),
                "{reason}"
            );
        }
    }

    #[test]
    fn first_container_with_a_reason_wins_like_kubectl() {
        let pod = pod_with(
            "Running",
            json!([
                waiting("app", "ImagePullBackOff"),
                waiting("proxy", "CrashLoopBackOff")
            ]),
        );
        assert_eq!(status_of(&pod).0, "ImagePullBackOff");
    }

    #[test]
    fn crash_loop_counts_restarts_and_the_latest_restart() {
        let mut app = waiting("app", "CrashLoopBackOff");
        app["restartCount"] = json!(7);
        app["lastState"] = json!({"terminated": {
            "exitCode": 1, "reason": "Error", "finishedAt": "2024-05-01T10:05:00Z"}});
        let mut proxy = running("proxy", true);
        proxy["restartCount"] = json!(2);
        proxy["lastState"] = json!({"terminated": {
            "exitCode": 2, "reason": "Error", "finishedAt": "2024-05-01T10:07:00Z"}});
        let row = pod_row(&pod_with("Running", json!([app, proxy])));
        assert_eq!(
            (row.status.as_str(), row.health),
            ("CrashLoopBackOff", Health::Crit)
        );
        assert_eq!(row.restarts, 9);
        assert_eq!(row.last_restart, Some(at("2024-05-01T10:07:00Z")));
    }

    #[test]
    fn crash_loop_after_oom_kill_names_the_oom() {
        let mut app = waiting("app", "CrashLoopBackOff");
        app["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        let pod = pod_with("Running", json!([app]));
        assert_eq!(
            status_of(&pod),
            ("CrashLoopBackOff (OOMKilled)".into(), Health::Crit)
        );
    }

    #[test]
    fn terminated_reasons_signals_and_exit_codes() {
        let cases = [
            (
                json!({"exitCode": 137, "reason": "OOMKilled"}),
                "OOMKilled",
                Health::Crit,
            ),
            (
                json!({"exitCode": 1, "reason": "Error"}),
                "Error",
                Health::Crit,
            ),
            (
                json!({"exitCode": 143, "signal": 15}),
                "Signal:15",
                Health::Crit,
            ),
            (json!({"exitCode": 3}), "ExitCode:3", Health::Crit),
            (
                json!({"exitCode": 0, "reason": "Completed"}),
                "Completed",
                Health::Done,
            ),
        ];
        for (state, status, health) in cases {
            let pod = pod_with("Running", json!([terminated("app", state)]));
            assert_eq!(status_of(&pod), (status.to_owned(), health), "{status}");
        }
    }

    #[test]
    fn succeeded_pods_are_done() {
        let done = json!({"exitCode": 0, "reason": "Completed"});
        let pod = pod_with("Succeeded", json!([terminated("job", done)]));
        assert_eq!(status_of(&pod), ("Completed".into(), Health::Done));
        let bare = parse_pod(json!({"status": {"phase": "Succeeded"}}));
        assert_eq!(status_of(&bare), ("Succeeded".into(), Health::Done));
    }

    #[test]
    fn completed_container_beside_a_running_one_is_running_or_not_ready() {
        let done = terminated("migrate", json!({"exitCode": 0, "reason": "Completed"}));
        let mut pod = pod_with("Running", json!([done, running("app", true)]));
        assert_eq!(status_of(&pod), ("NotReady".into(), Health::Warn));
        let status = pod.status.as_mut().expect("status");
        status.conditions = Some(vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..PodCondition::default()
        }]);
        assert_eq!(status_of(&pod), ("Running".into(), Health::Ok));
    }

    #[test]
    fn failed_pods() {
        let error = terminated("app", json!({"exitCode": 1, "reason": "Error"}));
        assert_eq!(
            status_of(&pod_with("Failed", json!([error]))),
            ("Error".into(), Health::Crit)
        );
        let bare = parse_pod(json!({"status": {"phase": "Failed"}}));
        assert_eq!(status_of(&bare), ("Failed".into(), Health::Crit));
    }

    #[test]
    fn evicted_comes_from_the_pod_reason_not_the_killed_container() {
        let pod = parse_pod(json!({
            "metadata": {"name": "web-0", "namespace": "shop"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {
                "phase": "Failed", "reason": "Evicted",
                "message": "The node was low on resource: memory.",
                "containerStatuses": [terminated("app", json!({
                    "exitCode": 137, "reason": "ContainerStatusUnknown"}))],
            },
        }));
        assert_eq!(status_of(&pod), ("Evicted".into(), Health::Crit));
    }

    #[test]
    fn unschedulable_pending_pod_names_the_reason() {
        let pod = parse_pod(json!({
            "metadata": {"name": "web-0", "namespace": "shop"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            }]},
        }));
        let row = pod_row(&pod);
        assert_eq!(
            (row.status.as_str(), row.health),
            ("Pending: Unschedulable", Health::Warn)
        );
        assert_eq!((row.ready, row.total), (0, 1));
        let plain = pod_with("Pending", json!([]));
        assert_eq!(status_of(&plain), ("Pending".into(), Health::Warn));
    }

    #[test]
    fn scheduling_gated_pod_shows_the_gate() {
        let pod = parse_pod(json!({"status": {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}));
        assert_eq!(status_of(&pod), ("SchedulingGated".into(), Health::Warn));
    }

    fn init_pod(init_statuses: Value) -> Pod {
        parse_pod(json!({
            "metadata": {"name": "db-0", "namespace": "data"},
            "spec": {
                "initContainers": [{"name": "wait-dns"}, {"name": "migrate"}],
                "containers": [{"name": "db"}],
            },
            "status": {
                "phase": "Pending",
                "initContainerStatuses": init_statuses,
                "containerStatuses": [waiting("db", "PodInitializing")],
            },
        }))
    }

    #[test]
    fn init_progress_and_failures() {
        let done = terminated("wait-dns", json!({"exitCode": 0, "reason": "Completed"}));
        let running_init = running("migrate", false);
        let cases = [
            (
                json!([
                    running("wait-dns", false),
                    waiting("migrate", "PodInitializing")
                ]),
                "Init:0/2",
                Health::Warn,
            ),
            (
                json!([done.clone(), running_init]),
                "Init:1/2",
                Health::Warn,
            ),
            (
                json!([done.clone(), waiting("migrate", "CrashLoopBackOff")]),
                "Init:CrashLoopBackOff",
                Health::Crit,
            ),
            (
                json!([done.clone(), waiting("migrate", "ImagePullBackOff")]),
                "Init:ImagePullBackOff",
                Health::Crit,
            ),
            (
                json!([done.clone(), waiting("migrate", "ErrImagePull")]),
                "Init:ErrImagePull",
                Health::Crit,
            ),
            (
                json!([
                    done.clone(),
                    terminated("migrate", json!({"exitCode": 1, "reason": "Error"}))
                ]),
                "Init:Error",
                Health::Crit,
            ),
            (
                json!([done.clone(), terminated("migrate", json!({"exitCode": 2}))]),
                "Init:ExitCode:2",
                Health::Crit,
            ),
            (
                json!([
                    done,
                    terminated("migrate", json!({"exitCode": 137, "signal": 9}))
                ]),
                "Init:Signal:9",
                Health::Crit,
            ),
        ];
        for (statuses, status, health) in cases {
            assert_eq!(
                status_of(&init_pod(statuses)),
                (status.to_owned(), health),
                "{status}"
            );
        }
    }

    #[test]
    fn init_restarts_count_while_initializing() {
        let done = terminated("wait-dns", json!({"exitCode": 0, "reason": "Completed"}));
        let mut crashing = waiting("migrate", "CrashLoopBackOff");
        crashing["restartCount"] = json!(4);
        crashing["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "finishedAt": "2024-05-01T11:00:00Z"}});
        let row = pod_row(&init_pod(json!([done, crashing])));
        assert_eq!(row.status, "Init:CrashLoopBackOff (OOMKilled)");
        assert_eq!(row.restarts, 4);
        assert_eq!(row.last_restart, Some(at("2024-05-01T11:00:00Z")));
    }

    #[test]
    fn sidecars_count_as_containers() {
        let mut sidecar = running("mesh", true);
        sidecar["restartCount"] = json!(1);
        let pod = parse_pod(json!({
            "metadata": {"name": "api-0", "namespace": "shop"},
            "spec": {
                "initContainers": [{"name": "mesh", "restartPolicy": "Always"}],
                "containers": [{"name": "api"}],
            },
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [sidecar],
                "containerStatuses": [running("api", true)],
            },
        }));
        let row = pod_row(&pod);
        assert_eq!((row.ready, row.total, row.restarts), (2, 2, 1));
        assert_eq!((row.status.as_str(), row.health), ("Running", Health::Ok));
    }

    #[test]
    fn deletion_shows_terminating_or_unknown_for_lost_nodes() {
        let mut pod = pod_with("Running", json!([running("app", true)]));
        pod.metadata.deletion_timestamp = pod_with_deletion().metadata.deletion_timestamp;
        assert_eq!(status_of(&pod), ("Terminating".into(), Health::Warn));
        pod.status.as_mut().expect("status").reason = Some("NodeLost".into());
        assert_eq!(status_of(&pod), ("Unknown".into(), Health::Crit));

        let mut done = pod_with("Succeeded", json!([]));
        done.metadata.deletion_timestamp = pod_with_deletion().metadata.deletion_timestamp;
        assert_eq!(status_of(&done).0, "Succeeded");
    }

    fn pod_with_deletion() -> Pod {
        parse_pod(json!({"metadata": {"deletionTimestamp": "2024-05-01T12:00:00Z"}}))
    }

    #[test]
    fn empty_and_odd_pods_do_not_panic() {
        let row = pod_row(&Pod::default());
        assert_eq!((row.name.as_str(), row.status.as_str()), ("", "Pending"));
        assert_eq!((row.ready, row.total, row.restarts), (0, 0, 0));
        assert_eq!((row.node, row.owner, row.created), (None, None, None));

        let mut odd = running("app", true);
        odd["restartCount"] = json!(-3);
        odd["state"] = json!({});
        let row = pod_row(&pod_with("Running", json!([odd, {"name": "ghost"}])));
        assert_eq!(row.restarts, 0);
        assert_eq!(row.status, "NotReady");
        assert!(container_details(&Pod::default()).is_empty());
    }

    fn row(namespace: &str, name: &str, health: Health, restarts: u32) -> PodRow {
        PodRow {
            namespace: namespace.into(),
            name: name.into(),
            ready: 0,
            total: 1,
            status: String::new(),
            health,
            restarts,
            last_restart: None,
            created: None,
            node: None,
            owner: None,
            resources: Default::default(),
            terminated: false,
        }
    }

    #[test]
    fn sorts_worst_first_then_restarts_then_name() {
        let mut rows = vec![
            row("b", "done", Health::Done, 0),
            row("b", "ok", Health::Ok, 9),
            row("b", "warn", Health::Warn, 0),
            row("b", "crit-few", Health::Crit, 1),
            row("b", "crit-many", Health::Crit, 5),
            row("a", "crit-few", Health::Crit, 1),
        ];
        sort_worst_first(&mut rows);
        let order: Vec<_> = rows
            .iter()
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        assert_eq!(
            order,
            [
                "b/crit-many",
                "a/crit-few",
                "b/crit-few",
                "b/warn",
                "b/ok",
                "b/done"
            ]
        );
    }

    #[test]
    fn summary_counts_per_namespace() {
        let rows = [
            row("shop", "a", Health::Crit, 0),
            row("shop", "b", Health::Ok, 0),
            row("data", "c", Health::Warn, 0),
            row("data", "d", Health::Done, 0),
            row("shop", "e", Health::Warn, 0),
        ];
        let summary = pod_summary(&rows);
        assert_eq!(
            summary,
            PodSummary {
                total: 5,
                crit: 1,
                warn: 2,
                per_namespace: vec![("data".into(), 0, 1, 2), ("shop".into(), 1, 1, 3)],
            }
        );
        assert_eq!(pod_summary(&[]), PodSummary::default());
    }

    #[test]
    fn container_details_describe_state_history_and_resources() {
        let pod = parse_pod(json!({
            "metadata": {"name": "api-0", "namespace": "shop"},
            "spec": {
                "initContainers": [{"name": "migrate", "image": "registry.example/migrate:3"}],
                "containers": [
                    {"name": "api", "image": "registry.example/api:2",
                     "resources": {"requests": {"memory": "128Mi", "cpu": "100m"},
                                   "limits": {"memory": "256Mi"}}},
                    {"name": "worker", "image": "registry.example/worker:2"},
                    {"name": "batch", "image": "registry.example/batch:2"},
                    {"name": "new"},
                ],
            },
            "status": {
                "phase": "Running",
                "initContainerStatuses": [terminated("migrate", json!({
                    "exitCode": 0, "reason": "Completed",
                    "finishedAt": "2024-05-01T09:59:00Z"}))],
                "containerStatuses": [
                    {"name": "api", "image": "registry.example/api:2", "ready": false,
                     "restartCount": 5,
                     "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": "back-off 5m0s restarting failed container=api pod=api-0_shop(0b1c)"}},
                     "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                        "finishedAt": "2024-05-01T10:04:00Z", "message": ""}}},
                    running("worker", true),
                    terminated("batch", json!({"exitCode": 1, "reason": "Error",
                        "message": "panic: boom\ngoroutine 1"})),
                ],
            },
        }));
        let details = container_details(&pod);
        let names: Vec<_> = details.iter().map(|d| (d.name.as_str(), d.init)).collect();
        assert_eq!(
            names,
            [
                ("migrate", true),
                ("api", false),
                ("worker", false),
                ("batch", false),
                ("new", false)
            ]
        );

        let migrate = &details[0];
        assert_eq!(migrate.state, "terminated: Completed (exit 0)");
        assert_eq!(migrate.since, Some(at("2024-05-01T09:59:00Z")));

        let api = &details[1];
        assert_eq!(api.image, "registry.example/api:2");
        assert_eq!((api.ready, api.restarts), (false, 5));
        assert_eq!(
            api.state,
            "waiting: CrashLoopBackOff — back-off 5m0s restarting failed container"
        );
        assert_eq!(api.since, None);
        assert_eq!(
            api.last_termination,
            Some(Termination {
                reason: "OOMKilled".into(),
                exit_code: 137,
                finished: Some(at("2024-05-01T10:04:00Z")),
                message: None,
            })
        );
        assert_eq!(api.requests, "cpu 100m, memory 128Mi");
        assert_eq!(api.limits, "memory 256Mi");

        let worker = &details[2];
        assert_eq!(worker.state, "running since 2024-05-01T10:00:00Z");
        assert_eq!(worker.since, Some(at("2024-05-01T10:00:00Z")));
        assert!(worker.ready);
        assert_eq!(
            (worker.requests.as_str(), worker.limits.as_str()),
            ("-", "-")
        );

        assert_eq!(details[3].state, "terminated: Error (exit 1) — panic: boom");
        assert_eq!(details[4].state, "waiting");
        assert_eq!(details[4].image, "");
    }

    #[test]
    fn terminated_state_without_reason_shows_exit_and_signal() {
        let pod = pod_with(
            "Running",
            json!([terminated(
                "app",
                json!({
            "exitCode": 137, "signal": 9})
            )]),
        );
        assert_eq!(
            container_details(&pod)[0].state,
            "terminated (exit 137, signal 9)"
        );
        let last = json!({"terminated": {"exitCode": 2}});
        let mut app = running("app", true);
        app["lastState"] = last;
        let pod = pod_with("Running", json!([app]));
        let termination = container_details(&pod)[0].last_termination.clone();
        assert_eq!(termination.map(|t| t.reason), Some("ExitCode:2".into()));
    }
}
