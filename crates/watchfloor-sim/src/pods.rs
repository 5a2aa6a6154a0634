//! Pod objects: creation from a template, the kubelet/scheduler state machine, steady states.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::behavior::{Behavior, Profile, Rules};
use super::util::{fnv, rfc3339};

/// An event the pod state machine wants recorded against the pod.
#[derive(Debug, Clone)]
pub struct PodEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
    pub component: &'static str,
    pub field_path: Option<String>,
}

fn ev(warning: bool, reason: &'static str, message: String, component: &'static str) -> PodEvent {
    PodEvent {
        warning,
        reason,
        message,
        component,
        field_path: None,
    }
}

fn kubelet(warning: bool, reason: &'static str, message: String, container: &str) -> PodEvent {
    PodEvent {
        warning,
        reason,
        message,
        component: "kubelet",
        field_path: Some(format!("spec.containers{{{container}}}")),
    }
}

pub const UNSCHEDULABLE_MSG: &str = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";

/// Build a new Pending pod from a pod template.
pub fn from_template(ns: &str, name: &str, template: &Value, owner: Option<Value>) -> Value {
    let mut spec = template["spec"].clone();
    if !spec.is_object() {
        spec = json!({});
    }
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("serviceAccountName", json!("default")),
        ("securityContext", json!({})),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    let mut meta = json!({"name": name, "namespace": ns});
    if let Some(l) = template["metadata"].get("labels") {
        meta["labels"] = l.clone();
    }
    if let Some(a) = template["metadata"].get("annotations") {
        meta["annotations"] = a.clone();
    }
    if let Some(o) = owner {
        meta["ownerReferences"] = json!([o]);
        if let Some(base) = name.rsplit_once('-').map(|(b, _)| b) {
            meta["generateName"] = json!(format!("{base}-"));
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    })
}

pub fn containers(pod: &Value) -> Vec<(String, String)> {
    pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_string(),
                        c["image"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hex_id(parts: &[&str]) -> String {
    format!(
        "{:016x}{:016x}",
        fnv(parts),
        fnv(&[parts.concat().as_str(), "x"])
    )
}

fn container_id(pod_uid: &str, name: &str, restarts: u64) -> String {
    format!(
        "containerd://{}{}",
        hex_id(&[pod_uid, name, &restarts.to_string()]),
        hex_id(&[name, pod_uid])
    )
}

fn image_id(image: &str) -> String {
    let repo = image.split(':').next().unwrap_or(image);
    format!(
        "{repo}@sha256:{}{}",
        hex_id(&[image]),
        hex_id(&[image, "2"])
    )
}

fn running_cs(
    pod_uid: &str,
    name: &str,
    image: &str,
    started: &str,
    ready: bool,
    restarts: u64,
    last: Value,
) -> Value {
    json!({
        "name": name,
        "image": image,
        "imageID": image_id(image),
        "containerID": container_id(pod_uid, name, restarts),
        "ready": ready,
        "started": true,
        "restartCount": restarts,
        "state": {"running": {"startedAt": started}},
        "lastState": last,
    })
}

fn waiting_cs(
    name: &str,
    image: &str,
    reason: &str,
    message: &str,
    restarts: u64,
    last: Value,
) -> Value {
    json!({
        "name": name,
        "image": image,
        "imageID": "",
        "ready": false,
        "started": false,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason, "message": message}},
        "lastState": last,
    })
}

fn terminated(
    b: Behavior,
    pod_uid: &str,
    name: &str,
    restarts: u64,
    started: &str,
    finished: &str,
) -> Value {
    let (code, reason) = if b == Behavior::OomKilled {
        (137, "OOMKilled")
    } else {
        (1, "Error")
    };
    json!({"terminated": {
        "exitCode": code,
        "reason": reason,
        "startedAt": started,
        "finishedAt": finished,
        "containerID": container_id(pod_uid, name, restarts),
    }})
}

pub(crate) fn pod_ip(pod_uid: &str) -> String {
    let h = fnv(&[pod_uid]);
    format!("10.244.{}.{}", (h >> 8) % 250 + 1, h % 250 + 2)
}

pub(crate) fn node_ip(node: &str) -> String {
    format!("192.168.49.{}", fnv(&[node]) % 200 + 10)
}

fn cond(t: &str, ok: bool, at: &str, reason: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({"type": t, "status": if ok {"True"} else {"False"}, "lastProbeTime": null, "lastTransitionTime": at});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// Recompute phase and the Ready/ContainersReady conditions from the container statuses.
fn finish_status(pod: &mut Value, now: &str) {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let all_ready = !statuses.is_empty() && statuses.iter().all(|c| c["ready"] == true);
    let any_running = statuses
        .iter()
        .any(|c| c["state"].get("running").is_some() || c["lastState"].get("terminated").is_some());
    pod["status"]["phase"] = json!(if any_running { "Running" } else { "Pending" });
    let not_ready: Vec<String> = statuses
        .iter()
        .filter(|c| c["ready"] != true)
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    let msg = format!("containers with unready status: [{}]", not_ready.join(" "));
    let old = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let keep_time = |t: &str, ok: bool| -> String {
        old.iter()
            .find(|c| c["type"] == t && c["status"] == if ok { "True" } else { "False" })
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(now)
            .to_string()
    };
    let mut conds = Vec::new();
    for (t, ok) in [("PodReadyToStartContainers", true), ("Initialized", true)] {
        conds.push(cond(t, ok, &keep_time(t, ok), None, None));
    }
    for t in ["Ready", "ContainersReady"] {
        let (r, m) = if all_ready {
            (None, None)
        } else {
            (Some("ContainersNotReady"), Some(msg.as_str()))
        };
        conds.push(cond(t, all_ready, &keep_time(t, all_ready), r, m));
    }
    conds.push(cond(
        "PodScheduled",
        true,
        &keep_time("PodScheduled", true),
        None,
        None,
    ));
    pod["status"]["conditions"] = json!(conds);
}

fn schedule(pod: &mut Value, node: &str, now: &str) {
    pod["spec"]["nodeName"] = json!(node);
    pod["status"]["hostIP"] = json!(node_ip(node));
    pod["status"]["hostIPs"] = json!([{"ip": node_ip(node)}]);
    pod["status"]["conditions"] = json!([cond("PodScheduled", true, now, None, None)]);
}

fn mark_unschedulable(pod: &mut Value, now: &str) {
    pod["status"]["phase"] = json!("Pending");
    pod["status"]["conditions"] = json!([cond(
        "PodScheduled",
        false,
        now,
        Some("Unschedulable"),
        Some(UNSCHEDULABLE_MSG)
    )]);
}

fn uid_of(pod: &Value) -> String {
    pod["metadata"]["uid"].as_str().unwrap_or("").to_string()
}

fn pod_ref(pod: &Value) -> String {
    format!(
        "{}_{}({})",
        pod["metadata"]["name"].as_str().unwrap_or(""),
        pod["metadata"]["namespace"].as_str().unwrap_or(""),
        uid_of(pod)
    )
}

/// Advance one pod by one step. Returns the world time until its next step (if any) and events.
pub fn step(
    pod: &mut Value,
    profiles: &[Profile],
    rules: &Rules,
    node: &str,
    now: OffsetDateTime,
) -> (Option<Duration>, Vec<PodEvent>) {
    let now_s = rfc3339(now);
    let mut events = Vec::new();
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let uid = uid_of(pod);
    if pod["metadata"].get("deletionTimestamp").is_some() {
        return (None, events);
    }
    if pod["spec"]["nodeName"].as_str().is_none() {
        if profiles
            .iter()
            .any(|p| p.behavior == Behavior::Unschedulable)
        {
            mark_unschedulable(pod, &now_s);
            events.push(ev(
                true,
                "FailedScheduling",
                UNSCHEDULABLE_MSG.into(),
                "default-scheduler",
            ));
            return (Some(Duration::from_secs(300)), events);
        }
        schedule(pod, node, &now_s);
        events.push(ev(
            false,
            "Scheduled",
            format!("Successfully assigned {ns}/{name} to {node}"),
            "default-scheduler",
        ));
        return (Some(Duration::from_millis(700)), events);
    }
    let specs = containers(pod);
    if pod["status"].get("containerStatuses").is_none() {
        let mut statuses = Vec::new();
        for ((cname, image), prof) in specs.iter().zip(profiles) {
            if prof.behavior == Behavior::ImagePull {
                events.push(kubelet(
                    false,
                    "Pulling",
                    format!("Pulling image \"{image}\""),
                    cname,
                ));
                events.push(kubelet(true, "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"), cname));
                events.push(kubelet(true, "Failed", "Error: ErrImagePull".into(), cname));
                statuses.push(waiting_cs(cname, image, "ErrImagePull", &format!("rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"), 0, json!({})));
            } else {
                events.push(kubelet(
                    false,
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                    cname,
                ));
                events.push(kubelet(
                    false,
                    "Created",
                    format!("Created container: {cname}"),
                    cname,
                ));
                events.push(kubelet(
                    false,
                    "Started",
                    format!("Started container {cname}"),
                    cname,
                ));
                statuses.push(running_cs(&uid, cname, image, &now_s, false, 0, json!({})));
            }
        }
        pod["status"]["containerStatuses"] = json!(statuses);
        pod["status"]["podIP"] = json!(pod_ip(&uid));
        pod["status"]["podIPs"] = json!([{"ip": pod_ip(&uid)}]);
        pod["status"]["startTime"] = json!(now_s);
        finish_status(pod, &now_s);
        return (Some(Duration::from_secs(2)), events);
    }
    let mut next: Option<f64> = None;
    let mut want = |secs: f64| next = Some(next.map_or(secs, |n: f64| n.min(secs)));
    let mut statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (cs, ((cname, image), prof)) in statuses.iter_mut().zip(specs.iter().zip(profiles)) {
        let restarts = cs["restartCount"].as_u64().unwrap_or(0);
        let running = cs["state"].get("running").is_some();
        let waiting = cs["state"]["waiting"]["reason"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match prof.behavior {
            Behavior::Healthy | Behavior::Unschedulable => {
                if running && cs["ready"] != true {
                    cs["ready"] = json!(true);
                }
            }
            Behavior::NeverReady => {
                if running {
                    events.push(kubelet(
                        true,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                        cname,
                    ));
                    want(30.0);
                }
            }
            Behavior::CrashLoop | Behavior::OomKilled => {
                if running {
                    let started = cs["state"]["running"]["startedAt"]
                        .as_str()
                        .unwrap_or(&now_s)
                        .to_string();
                    let last = terminated(prof.behavior, &uid, cname, restarts, &started, &now_s);
                    let restarts = restarts + 1;
                    let backoff = rules.backoff_secs(restarts);
                    let msg = format!(
                        "back-off {} restarting failed container={cname} pod={}",
                        fmt_backoff(backoff),
                        pod_ref(pod)
                    );
                    *cs = waiting_cs(cname, image, "CrashLoopBackOff", &msg, restarts, last);
                    cs["imageID"] = json!(image_id(image));
                    if prof.behavior == Behavior::OomKilled {
                        events.push(ev(true, "OOMKilling", format!("Memory cgroup out of memory: Killed process {} ({cname}) total-vm:2104512kB, anon-rss:524288kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:1220kB oom_score_adj:999", 1000 + restarts), "kernel-monitor"));
                    }
                    events.push(kubelet(
                        true,
                        "BackOff",
                        format!(
                            "Back-off restarting failed container {cname} in pod {}",
                            pod_ref(pod)
                        ),
                        cname,
                    ));
                    want(backoff);
                } else if waiting == "CrashLoopBackOff" {
                    let last = cs["lastState"].clone();
                    *cs = running_cs(&uid, cname, image, &now_s, false, restarts, last);
                    events.push(kubelet(
                        false,
                        "Pulled",
                        format!("Container image \"{image}\" already present on machine"),
                        cname,
                    ));
                    events.push(kubelet(
                        false,
                        "Started",
                        format!("Started container {cname}"),
                        cname,
                    ));
                    want(3.0);
                }
            }
            Behavior::ImagePull => {
                if waiting == "ErrImagePull" {
                    cs["state"]["waiting"] = json!({"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")});
                }
                events.push(kubelet(
                    false,
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    cname,
                ));
                want(60.0);
            }
        }
    }
    pod["status"]["containerStatuses"] = json!(statuses);
    finish_status(pod, &now_s);
    (next.map(Duration::from_secs_f64), events)
}

fn fmt_backoff(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Put a freshly loaded scenario pod straight into its steady state, as if `age` old.
/// Returns the time until its next step and the events a real cluster would show.
pub fn settle(
    pod: &mut Value,
    profiles: &[Profile],
    rules: &Rules,
    node: &str,
    age: Duration,
    restarts: u64,
    now: OffsetDateTime,
) -> (Option<Duration>, Vec<PodEvent>) {
    let created = rfc3339(now - age);
    pod["metadata"]["creationTimestamp"] = json!(created);
    let uid = uid_of(pod);
    let mut events = Vec::new();
    if profiles
        .iter()
        .any(|p| p.behavior == Behavior::Unschedulable)
    {
        mark_unschedulable(pod, &created);
        events.push(ev(
            true,
            "FailedScheduling",
            UNSCHEDULABLE_MSG.into(),
            "default-scheduler",
        ));
        return (Some(Duration::from_secs(300)), events);
    }
    schedule(pod, node, &created);
    pod["status"]["podIP"] = json!(pod_ip(&uid));
    pod["status"]["podIPs"] = json!([{"ip": pod_ip(&uid)}]);
    pod["status"]["startTime"] = json!(created);
    let mut next = None;
    let mut statuses = Vec::new();
    for ((cname, image), prof) in containers(pod).iter().zip(profiles) {
        let cs = match prof.behavior {
            Behavior::Healthy | Behavior::Unschedulable | Behavior::NeverReady => {
                let ready = prof.behavior != Behavior::NeverReady;
                if !ready {
                    events.push(kubelet(
                        true,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                        cname,
                    ));
                    next = Some(Duration::from_secs(30));
                }
                running_cs(&uid, cname, image, &created, ready, 0, json!({}))
            }
            Behavior::CrashLoop | Behavior::OomKilled => {
                let restarts = restarts.max(1);
                let backoff = rules.backoff_secs(restarts);
                let since = (backoff * 0.3).max(1.0);
                let finished = rfc3339(now - Duration::from_secs_f64(since));
                let started = rfc3339(now - Duration::from_secs_f64(since + 3.0));
                let last = terminated(
                    prof.behavior,
                    &uid,
                    cname,
                    restarts - 1,
                    &started,
                    &finished,
                );
                let msg = format!(
                    "back-off {} restarting failed container={cname} pod={}",
                    fmt_backoff(backoff),
                    pod_ref(pod)
                );
                next = Some(Duration::from_secs_f64(backoff - since));
                if prof.behavior == Behavior::OomKilled {
                    events.push(ev(true, "OOMKilling", format!("Memory cgroup out of memory: Killed process 4242 ({cname}) total-vm:2104512kB, anon-rss:524288kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:1220kB oom_score_adj:999"), "kernel-monitor"));
                }
                for _ in 0..restarts.min(3) {
                    events.push(kubelet(
                        true,
                        "BackOff",
                        format!(
                            "Back-off restarting failed container {cname} in pod {}",
                            pod_ref(pod)
                        ),
                        cname,
                    ));
                }
                let mut cs = waiting_cs(cname, image, "CrashLoopBackOff", &msg, restarts, last);
                cs["imageID"] = json!(image_id(image));
                cs
            }
            Behavior::ImagePull => {
                events.push(kubelet(true, "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"), cname));
                events.push(kubelet(
                    false,
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    cname,
                ));
                next = Some(Duration::from_secs(60));
                waiting_cs(
                    cname,
                    image,
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\""),
                    0,
                    json!({}),
                )
            }
        };
        statuses.push(cs);
    }
    pod["status"]["containerStatuses"] = json!(statuses);
    finish_status(pod, &created);
    (next, events)
}

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

pub fn is_terminating(pod: &Value) -> bool {
    pod["metadata"].get("deletionTimestamp").is_some()
}
