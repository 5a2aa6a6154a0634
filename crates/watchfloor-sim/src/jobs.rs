//! Jobs and CronJobs, simply and deterministically: a new Job gets one pod that runs for
//! `JOB_RUN` (world time) and then succeeds, or fails when an image rule makes its container
//! misbehave; the Job's status (active, succeeded/failed, completionTime, Complete/Failed
//! conditions) and its CronJob's (active, lastSuccessfulTime) follow. CronJobs do not fire on
//! the simulated clock (a test would otherwise change with the time of day); a scenario gives
//! their history instead (`history_job`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::behavior::Behavior;
use super::controller::controller_uid;
use super::pods::{self, PodEvent};
use super::resources::Res;
use super::state::WorldState;
use super::store::{Key, key_of};
use super::util::{fnv, fresh_uid, rfc3339, safe_string, scaled};

/// How long a Job's pod runs (world time).
pub const JOB_RUN: Duration = Duration::from_secs(30);

/// Apiserver defaulting for a new Job (batch/v1 `SetDefaults_Job`), including the selector and
/// template labels the apiserver generates from the Job's uid.
pub fn job_defaults(j: &mut Value) {
    if !j["metadata"]["uid"].is_string() {
        j["metadata"]["uid"] = json!(fresh_uid());
    }
    let uid = j["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let name = j["metadata"]["name"].as_str().unwrap_or("").to_string();
    let spec = &mut j["spec"];
    for (k, v) in [
        ("parallelism", json!(1)),
        ("completions", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ("manualSelector", json!(false)),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if spec["manualSelector"] != true {
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        let labels = &mut spec["template"]["metadata"]["labels"];
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            labels[k] = json!(v);
        }
    }
    let tspec = &mut spec["template"]["spec"];
    if tspec.get("restartPolicy").is_none() {
        tspec["restartPolicy"] = json!("Never");
    }
    if j.get("status").is_none() {
        j["status"] = json!({});
    }
}

/// Apiserver defaulting for a new CronJob (batch/v1 `SetDefaults_CronJob`).
pub fn cronjob_defaults(c: &mut Value) {
    let spec = &mut c["spec"];
    for (k, v) in [
        ("concurrencyPolicy", json!("Allow")),
        ("suspend", json!(false)),
        ("successfulJobsHistoryLimit", json!(3)),
        ("failedJobsHistoryLimit", json!(1)),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if c.get("status").is_none() {
        c["status"] = json!({});
    }
}

/// How a Job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
}

fn cond(ty: &str, reason: &str, message: &str, at: &str) -> Value {
    json!({"type": ty, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": at, "lastTransitionTime": at})
}

/// A finished Job's status.
fn finished_status(start: &str, end: &str, outcome: Outcome) -> Value {
    match outcome {
        Outcome::Succeeded => {
            let msg = "Reached expected number of succeeded pods";
            json!({"startTime": start, "completionTime": end, "succeeded": 1, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": [cond("SuccessCriteriaMet", "CompletionsReached", msg, end),
                    cond("Complete", "CompletionsReached", msg, end)]})
        }
        Outcome::Failed => {
            let msg = "Job has reached the specified backoff limit";
            json!({"startTime": start, "failed": 1, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": [cond("FailureTarget", "BackoffLimitExceeded", msg, end),
                    cond("Failed", "BackoffLimitExceeded", msg, end)]})
        }
    }
}

/// A Job's pod as the kubelet reports it: running since `start`, or finished at `end`.
fn job_pod(job: &Value, node: &str, start: &str, end: Option<(&str, Outcome)>) -> Value {
    let (ns, name) = key_of(job);
    let pname = format!("{name}-{}", safe_string(fnv(&[&ns, &name, "pod"]), 5));
    let owner = json!({"apiVersion": "batch/v1", "kind": "Job", "name": name,
        "uid": job["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true});
    let mut pod = pods::from_template(&ns, &pname, &job["spec"]["template"], Some(owner));
    pod["metadata"]["uid"] = json!(fresh_uid());
    pod["metadata"]["creationTimestamp"] = json!(start);
    pod["spec"]["nodeName"] = json!(node);
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let ip = pods::pod_ip(&uid);
    let cstatus = |c: &Value| {
        let state = match end {
            None => json!({"running": {"startedAt": start}}),
            Some((at, Outcome::Succeeded)) => {
                json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": at}})
            }
            Some((at, Outcome::Failed)) => {
                json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": start, "finishedAt": at}})
            }
        };
        json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": end.is_none(),
            "started": end.is_none(), "restartCount": 0, "state": state, "lastState": {}})
    };
    let statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().map(cstatus).collect())
        .unwrap_or_default();
    let (phase, ready, reason) = match end {
        None => ("Running", "True", None),
        Some((_, Outcome::Succeeded)) => ("Succeeded", "False", Some("PodCompleted")),
        Some((_, Outcome::Failed)) => ("Failed", "False", Some("PodFailed")),
    };
    let at = end.map_or(start, |(at, _)| at);
    let mut ready_cond =
        json!({"type": "Ready", "status": ready, "lastProbeTime": null, "lastTransitionTime": at});
    if let Some(r) = reason {
        ready_cond["reason"] = json!(r);
    }
    pod["status"] = json!({
        "phase": phase, "qosClass": "Burstable", "startTime": start,
        "hostIP": pods::node_ip(node), "hostIPs": [{"ip": pods::node_ip(node)}],
        "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": start},
            ready_cond.clone(),
            {"type": "ContainersReady", "status": ready, "lastProbeTime": null, "lastTransitionTime": at},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": start},
        ],
        "containerStatuses": statuses,
    });
    pod
}

/// A finished Job of a CronJob (and its pod), scheduled at `scheduled` and ending after `ran`.
/// Named as the CronJob controller names them: `{cronjob}-{scheduled unix minutes}`.
pub fn history_job(
    cj: &Value,
    scheduled: OffsetDateTime,
    ran: Duration,
    outcome: Outcome,
    node: &str,
) -> (Value, Value) {
    let (ns, cj_name) = key_of(cj);
    let name = format!("{cj_name}-{}", scheduled.unix_timestamp() / 60);
    let start = rfc3339(scheduled);
    let end = rfc3339(scheduled + ran);
    let mut job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": start,
            "labels": cj["spec"]["jobTemplate"]["metadata"]["labels"].clone(),
            "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": start},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj_name,
                "uid": cj["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": cj["spec"]["jobTemplate"]["spec"].clone(),
    });
    if !job["metadata"]["labels"].is_object() {
        job["metadata"]["labels"] = json!({});
    }
    job_defaults(&mut job);
    job["status"] = finished_status(&start, &end, outcome);
    let pod = job_pod(&job, node, &start, Some((&end, outcome)));
    (job, pod)
}

impl WorldState {
    /// Start new Jobs and finish the ones whose pod has run its course.
    pub(crate) fn reconcile_jobs(&mut self, now: Instant) {
        let wall = rfc3339(self.store.clock.wall());
        let fresh: Vec<Value> = self
            .store
            .iter(Res::Job, None, None)
            .filter(|j| j["status"]["startTime"].is_null() && j["spec"]["suspend"] != true)
            .map(|j| (**j).clone())
            .collect();
        for mut job in fresh {
            let node = self.node_for(job["metadata"]["name"].as_str().unwrap_or(""));
            let pod = job_pod(&job, &node, &wall, None);
            let pname = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
            if self.store.create(Res::Pod, pod).is_err() {
                continue;
            }
            job["status"]["startTime"] = json!(wall);
            job["status"]["active"] = json!(1);
            job["status"]["ready"] = json!(1);
            let job = self.store.put(Res::Job, job);
            self.record_events(
                Res::Job,
                &job,
                vec![PodEvent {
                    warning: false,
                    reason: "SuccessfulCreate",
                    message: format!("Created pod: {pname}"),
                    component: "job-controller",
                    field_path: None,
                }],
            );
            self.ctl
                .jobs_due
                .insert(key_of(&job), now + scaled(JOB_RUN, self.speed));
        }
        let due: Vec<Key> = self
            .ctl
            .jobs_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.ctl.jobs_due.remove(&k);
            self.finish_job(&k, &wall);
        }
    }

    /// The Job's pod ends: succeeded unless an image rule makes a container misbehave.
    fn finish_job(&mut self, key: &Key, at: &str) {
        let Some(job) = self.store.get(Res::Job, &key.0, &key.1) else {
            return;
        };
        let fails = pods::containers(&job["spec"]["template"])
            .iter()
            .any(|(_, image)| {
                self.rules.pod_profile(image, None, false).behavior != Behavior::Healthy
            });
        let outcome = if fails {
            Outcome::Failed
        } else {
            Outcome::Succeeded
        };
        let start = job["status"]["startTime"]
            .as_str()
            .unwrap_or(at)
            .to_string();
        let uid = job["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let pods: Vec<Value> = self
            .store
            .iter(Res::Pod, Some(&key.0), None)
            .filter(|p| controller_uid(p) == Some(uid.as_str()))
            .map(|p| (**p).clone())
            .collect();
        for p in pods {
            let node = p["spec"]["nodeName"].as_str().unwrap_or("").to_string();
            let mut done = job_pod(&job, &node, &start, Some((at, outcome)));
            done["metadata"] = p["metadata"].clone();
            self.store.put(Res::Pod, done);
        }
        let mut j = (*job).clone();
        j["status"] = finished_status(&start, at, outcome);
        let j = self.store.put(Res::Job, j);
        let (reason, warning, message) = match outcome {
            Outcome::Succeeded => ("Completed", false, "Job completed"),
            Outcome::Failed => (
                "BackoffLimitExceeded",
                true,
                "Job has reached the specified backoff limit",
            ),
        };
        self.record_events(
            Res::Job,
            &j,
            vec![PodEvent {
                warning,
                reason,
                message: message.into(),
                component: "job-controller",
                field_path: None,
            }],
        );
        self.cronjob_saw_finish(&j, at, outcome);
    }

    /// A CronJob's status after one of its Jobs finished.
    fn cronjob_saw_finish(&mut self, job: &Value, at: &str, outcome: Outcome) {
        let Some(owner) = job["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|os| {
                os.iter()
                    .find(|o| o["kind"] == "CronJob" && o["controller"] == true)
            })
        else {
            return;
        };
        let ns = job["metadata"]["namespace"].as_str().unwrap_or("");
        let Some(cj) = self
            .store
            .get(Res::CronJob, ns, owner["name"].as_str().unwrap_or(""))
        else {
            return;
        };
        let mut c = (*cj).clone();
        if let Some(active) = c["status"]["active"].as_array_mut() {
            active.retain(|r| r["uid"] != job["metadata"]["uid"]);
            if active.is_empty()
                && let Some(st) = c["status"].as_object_mut()
            {
                st.remove("active");
            }
        }
        if outcome == Outcome::Succeeded {
            c["status"]["lastSuccessfulTime"] = json!(at);
        }
        if c != *cj {
            self.store.put(Res::CronJob, c);
        }
    }

    /// Jobs whose controlling CronJob is gone are deleted (their pods follow, as orphans).
    pub(crate) fn collect_orphan_jobs(&mut self) {
        let cronjobs: std::collections::HashSet<String> = self
            .store
            .iter(Res::CronJob, None, None)
            .filter_map(|c| c["metadata"]["uid"].as_str().map(String::from))
            .collect();
        let orphans: Vec<Key> = self
            .store
            .iter(Res::Job, None, None)
            .filter(|j| {
                j["metadata"]["ownerReferences"]
                    .as_array()
                    .and_then(|os| os.iter().find(|o| o["kind"] == "CronJob"))
                    .and_then(|o| o["uid"].as_str())
                    .is_some_and(|u| !cronjobs.contains(u))
            })
            .map(|j| key_of(j))
            .collect();
        for k in orphans {
            self.ctl.jobs_due.remove(&k);
            self.store.remove(Res::Job, &k.0, &k.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_select_the_jobs_own_pods() {
        let mut j = json!({"metadata": {"name": "backup", "namespace": "b"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        job_defaults(&mut j);
        let uid = j["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            uid.as_str()
        );
        assert_eq!(
            j["spec"]["template"]["metadata"]["labels"]["job-name"],
            "backup"
        );
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
    }

    #[test]
    fn history_jobs_carry_their_outcome() {
        let cj = json!({"metadata": {"name": "db-backup", "namespace": "b", "uid": "u1"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}}});
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let (job, pod) = history_job(&cj, at, Duration::from_secs(240), Outcome::Failed, "n1");
        assert_eq!(
            job["metadata"]["name"],
            format!("db-backup-{}", 1_800_000_000 / 60)
        );
        assert_eq!(job["status"]["conditions"][1]["type"], "Failed");
        assert!(job["status"]["completionTime"].is_null());
        assert_eq!(pod["status"]["phase"], "Failed");
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["uid"],
            job["metadata"]["uid"]
        );
        let (ok, _) = history_job(&cj, at, Duration::from_secs(240), Outcome::Succeeded, "n1");
        assert_eq!(ok["status"]["succeeded"], 1);
        assert_eq!(ok["status"]["conditions"][1]["type"], "Complete");
    }
}
