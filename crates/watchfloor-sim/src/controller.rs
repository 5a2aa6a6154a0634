//! The ticking controllers: kubelet/scheduler steps, Deployment → ReplicaSet → Pod, GC.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use watchfloor_core::kubectl::{HASH_LABEL, REVISION_ANNOTATION};

use super::behavior::Profile;
use super::events;
use super::pods::{self, PodEvent};
use super::resources::Res;
use super::state::WorldState;
use super::store::{Key, key_of};
use super::templates::{revision_of, template_eq, template_hash};
use super::util::{fnv, fresh_u64, parse_time, rfc3339, safe_string, scaled};

/// Full reconcile at least this often even when nothing changed (progress deadlines).
const RESYNC: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
struct PodInfo {
    key: Key,
    ready: bool,
    created: String,
}

/// The node a DaemonSet pod's required node affinity names (`matchFields metadata.name In
/// [node]`, as the DaemonSet controller writes it).
fn pinned_node(pod: &Value) -> Option<&str> {
    pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"]
        .as_array()?
        .iter()
        .flat_map(|t| t["matchFields"].as_array().into_iter().flatten())
        .find(|f| f["key"] == "metadata.name" && f["operator"] == "In")
        .and_then(|f| f["values"][0].as_str())
}

/// A pod of a StatefulSet or DaemonSet, as their controllers look at it.
#[derive(Debug, Clone)]
struct Member {
    key: Key,
    ready: bool,
    terminating: bool,
    /// The `controller-revision-hash` label.
    revision: String,
    /// StatefulSet pods: the ordinal (`name-N`).
    ordinal: Option<u64>,
    /// DaemonSet pods: the node.
    node: String,
}

pub(super) fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)
        .and_then(|o| o["uid"].as_str())
}

impl WorldState {
    pub fn node_for(&self, name: &str) -> String {
        if self.ctl.nodes.is_empty() {
            return "sim-node-1".into();
        }
        let i = (fnv(&[name]) % self.ctl.nodes.len() as u64) as usize;
        self.ctl.nodes[i].clone()
    }

    /// The node a pod runs on: its `spec.nodeName`, else the node its affinity pins it to (a
    /// DaemonSet's pods), else one picked by name.
    pub fn node_for_pod(&self, pod: &Value) -> String {
        if let Some(node) = pod["spec"]["nodeName"].as_str() {
            return node.to_string();
        }
        match pinned_node(pod) {
            Some(node) => node.to_string(),
            None => self.node_for(pod["metadata"]["name"].as_str().unwrap_or("")),
        }
    }

    pub fn profiles_for(&self, pod: &Value) -> Vec<Profile> {
        let key = key_of(pod);
        let forced = self.overrides.get(&key).copied();
        let replacement = self.is_replacement(pod);
        pods::containers(pod)
            .iter()
            .map(|(_, image)| self.rules.pod_profile(image, forced, replacement))
            .collect()
    }

    /// Was `pod` created after the scenario loaded (not one of the boot pods)?
    pub fn is_replacement(&self, pod: &Value) -> bool {
        self.booted
            && pod["metadata"]["uid"]
                .as_str()
                .is_none_or(|u| !self.boot_pods.contains(u))
    }

    /// The scenario has loaded and settled: remember which pods of `heals_on_restart` images
    /// exist now (they keep misbehaving); every pod created from now on is a replacement.
    pub fn finish_boot(&mut self) {
        let rules = &self.rules;
        self.boot_pods = self
            .store
            .iter(Res::Pod, None, None)
            .filter(|p| {
                pods::containers(p)
                    .iter()
                    .any(|(_, image)| rules.heals_on_restart(image))
            })
            .filter_map(|p| p["metadata"]["uid"].as_str().map(String::from))
            .collect();
        self.booted = true;
    }

    pub fn record_events(&mut self, res: Res, obj: &Value, evs: Vec<PodEvent>) {
        for e in evs {
            events::record(&mut self.store, &mut self.ctl.events, res, obj, e);
        }
    }

    /// Start a graceful pod deletion (or finish it at once for `grace == 0`).
    pub fn delete_pod(&mut self, ns: &str, name: &str, grace: u64) -> Option<Arc<Value>> {
        let pod = self.store.get(Res::Pod, ns, name)?;
        let key = (ns.to_string(), name.to_string());
        if grace == 0 {
            self.ctl.due.remove(&key);
            self.ctl.deleting.remove(&key);
            return self.store.remove(Res::Pod, ns, name);
        }
        if pods::is_terminating(&pod) {
            return Some(pod);
        }
        let mut p = (*pod).clone();
        let at = self.store.clock.wall() + Duration::from_secs(grace);
        p["metadata"]["deletionTimestamp"] = json!(rfc3339(at));
        p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        let p = self.store.put(Res::Pod, p);
        let names: Vec<String> = pods::containers(&p).into_iter().map(|(c, _)| c).collect();
        let evs = names
            .into_iter()
            .map(|c| PodEvent {
                warning: false,
                reason: "Killing",
                message: format!("Stopping container {c}"),
                component: "kubelet",
                field_path: Some(format!("spec.containers{{{c}}}")),
            })
            .collect();
        self.record_events(Res::Pod, &p, evs);
        self.ctl.due.remove(&key);
        let deadline = self.store.clock.instant() + scaled(Duration::from_secs(grace), self.speed);
        self.ctl.deleting.insert(key, deadline);
        Some(p)
    }

    fn step_pod(&mut self, key: &Key, now: Instant) {
        self.ctl.due.remove(key);
        let Some(pod) = self.store.get(Res::Pod, &key.0, &key.1) else {
            return;
        };
        let profiles = self.profiles_for(&pod);
        let node = self.node_for_pod(&pod);
        let mut p = (*pod).clone();
        let (next, evs) = pods::step(
            &mut p,
            &profiles,
            &self.rules,
            &node,
            self.store.clock.wall(),
        );
        let stored = if p != *pod {
            self.store.put(Res::Pod, p)
        } else {
            pod
        };
        self.record_events(Res::Pod, &stored, evs);
        if let Some(d) = next {
            self.ctl
                .due
                .insert(key.clone(), now + scaled(d, self.speed));
        }
    }

    /// One controller pass.
    pub fn tick(&mut self) {
        let now = self.store.clock.instant();
        // Graceful deletions that are due.
        let gone: Vec<Key> = self
            .ctl
            .deleting
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            self.ctl.deleting.remove(&k);
            self.store.remove(Res::Pod, &k.0, &k.1);
        }
        // Kubelet / scheduler steps.
        let due: Vec<Key> = self
            .ctl
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.step_pod(&k, now);
        }
        self.tick_claims(now);
        self.tick_traffic();
        // Jobs start and finish on their own clock, like pod steps.
        self.reconcile_jobs(now);
        let idle = self.store.rv() == self.ctl.reconciled_rv
            && self
                .ctl
                .reconciled_at
                .is_some_and(|t| now.duration_since(t) < RESYNC);
        if idle {
            return;
        }
        self.reconcile_all(now);
        // The platform kinds' status: HPAs, cert-manager issuing; Jobs of deleted CronJobs.
        self.reconcile_hpas(now);
        self.collect_orphan_jobs();
        if self.features.cert_manager {
            self.reconcile_certificates();
        }
        self.ctl.reconciled_rv = self.store.rv();
        self.ctl.reconciled_at = Some(now);
    }

    fn reconcile_all(&mut self, now: Instant) {
        // Index pods by controlling owner; pick up pods nobody has started.
        let mut by_owner: HashMap<String, Vec<PodInfo>> = HashMap::new();
        let mut orphans_check: Vec<(String, Key)> = Vec::new();
        let mut fresh: Vec<Key> = Vec::new();
        for pod in self.store.iter(Res::Pod, None, None) {
            let key = key_of(pod);
            if pods::is_terminating(pod) {
                continue;
            }
            if pod["status"].get("conditions").is_none() && !self.ctl.due.contains_key(&key) {
                fresh.push(key.clone());
            }
            if let Some(uid) = controller_uid(pod) {
                orphans_check.push((uid.to_string(), key.clone()));
                by_owner.entry(uid.to_string()).or_default().push(PodInfo {
                    key,
                    ready: pods::is_ready(pod),
                    created: pod["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                });
            }
        }
        for k in fresh {
            self.ctl.due.insert(k, now);
        }
        // ReplicaSets by owner.
        let mut rs_by_owner: HashMap<String, Vec<Arc<Value>>> = HashMap::new();
        let mut rs_uids = HashSet::new();
        let mut rs_orphans = Vec::new();
        for rs in self.store.iter(Res::ReplicaSet, None, None) {
            if let Some(u) = rs["metadata"]["uid"].as_str() {
                rs_uids.insert(u.to_string());
            }
            if let Some(uid) = controller_uid(rs) {
                rs_by_owner
                    .entry(uid.to_string())
                    .or_default()
                    .push(rs.clone());
                rs_orphans.push((uid.to_string(), key_of(rs)));
            }
        }
        let deployments: Vec<Arc<Value>> = self
            .store
            .iter(Res::Deployment, None, None)
            .cloned()
            .collect();
        let mut dep_uids = HashSet::new();
        for d in &deployments {
            let uid = d["metadata"]["uid"].as_str().unwrap_or("").to_string();
            dep_uids.insert(uid.clone());
            let owned = rs_by_owner.remove(&uid).unwrap_or_default();
            self.reconcile_deployment(d, owned, &by_owner);
        }
        // StatefulSets and DaemonSets own their pods directly.
        let workloads: Vec<(Res, Arc<Value>)> = [Res::StatefulSet, Res::DaemonSet]
            .into_iter()
            .flat_map(|res| {
                self.store
                    .iter(res, None, None)
                    .map(move |o| (res, o.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut workload_uids = HashSet::new();
        for (res, w) in &workloads {
            if let Some(uid) = w["metadata"]["uid"].as_str() {
                workload_uids.insert(uid.to_string());
            }
            match res {
                Res::StatefulSet => self.reconcile_statefulset(w),
                _ => self.reconcile_daemonset(w),
            }
        }
        // Jobs own their pods directly too.
        workload_uids.extend(
            self.store
                .iter(Res::Job, None, None)
                .filter_map(|j| j["metadata"]["uid"].as_str().map(String::from)),
        );
        let all_rs: Vec<Arc<Value>> = self
            .store
            .iter(Res::ReplicaSet, None, None)
            .cloned()
            .collect();
        for rs in &all_rs {
            let uid = rs["metadata"]["uid"].as_str().unwrap_or("");
            let pods = by_owner.get(uid).cloned().unwrap_or_default();
            self.reconcile_replicaset(rs, pods);
        }
        // Garbage collection of orphans.
        for (owner, k) in rs_orphans {
            if !dep_uids.contains(&owner) {
                self.store.remove(Res::ReplicaSet, &k.0, &k.1);
            }
        }
        for (owner, k) in orphans_check {
            if !rs_uids.contains(&owner)
                && !dep_uids.contains(&owner)
                && !workload_uids.contains(&owner)
            {
                self.delete_pod(&k.0, &k.1, 30);
            }
        }
    }

    fn reconcile_deployment(
        &mut self,
        d: &Arc<Value>,
        mut owned: Vec<Arc<Value>>,
        by_owner: &HashMap<String, Vec<PodInfo>>,
    ) {
        let (ns, name) = key_of(d);
        let spec = &d["spec"];
        let template = &spec["template"];
        let paused = spec["paused"] == true;
        let desired = spec["replicas"].as_u64().unwrap_or(1);
        owned.sort_by(|a, b| {
            let ka = (
                a["metadata"]["creationTimestamp"].as_str(),
                a["metadata"]["name"].as_str(),
            );
            let kb = (
                b["metadata"]["creationTimestamp"].as_str(),
                b["metadata"]["name"].as_str(),
            );
            ka.cmp(&kb)
        });
        let max_rev = owned.iter().map(|r| revision_of(r)).max().unwrap_or(0);
        let mut new_rs = owned
            .iter()
            .find(|r| template_eq(&r["spec"]["template"], template))
            .cloned();
        if paused {
            if new_rs.is_none() {
                new_rs = owned.iter().max_by_key(|r| revision_of(r)).cloned();
            }
        } else {
            match &new_rs {
                None => {
                    let rs = self.create_replicaset(d, max_rev + 1);
                    if let Some(rs) = rs {
                        owned.push(rs.clone());
                        new_rs = Some(rs);
                    }
                }
                Some(rs) if revision_of(rs) < max_rev => {
                    let old = revision_of(rs);
                    let mut r = (**rs).clone();
                    let ann = &mut r["metadata"]["annotations"];
                    let hist = ann["deployment.kubernetes.io/revision-history"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let hist = if hist.is_empty() {
                        old.to_string()
                    } else {
                        format!("{hist},{old}")
                    };
                    ann["deployment.kubernetes.io/revision-history"] = json!(hist);
                    ann[REVISION_ANNOTATION] = json!((max_rev + 1).to_string());
                    let r = self.store.put(Res::ReplicaSet, r);
                    for o in owned.iter_mut() {
                        if o["metadata"]["name"] == r["metadata"]["name"] {
                            *o = r.clone();
                        }
                    }
                    new_rs = Some(r);
                }
                Some(_) => {}
            }
        }
        let Some(new_rs) = new_rs else {
            return;
        };
        let new_name = new_rs["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let pods_of = |rs: &Value| -> Vec<PodInfo> {
            rs["metadata"]["uid"]
                .as_str()
                .and_then(|u| by_owner.get(u))
                .cloned()
                .unwrap_or_default()
        };
        let new_pods = pods_of(&new_rs);
        let new_ready = new_pods.iter().filter(|p| p.ready).count() as u64;
        let olds: Vec<&Arc<Value>> = owned
            .iter()
            .filter(|r| r["metadata"]["name"] != new_name.as_str())
            .collect();
        let old_total: u64 = olds
            .iter()
            .map(|r| r["spec"]["replicas"].as_u64().unwrap_or(0))
            .sum();
        // Rolling update: surge new pods as they become ready, drain old ones behind them.
        let surge = desired.div_ceil(4).max(1);
        let new_cur = new_rs["spec"]["replicas"].as_u64().unwrap_or(0);
        let new_target = if paused || old_total == 0 {
            if paused {
                desired.saturating_sub(old_total)
            } else {
                desired
            }
        } else {
            desired.min(new_cur.max(new_ready + surge))
        };
        let mut remaining = if paused {
            old_total
        } else {
            desired.saturating_sub(new_ready)
        };
        let mut scale_to: Vec<(Arc<Value>, u64)> = vec![(new_rs.clone(), new_target)];
        for r in olds.iter().rev() {
            let cur = r["spec"]["replicas"].as_u64().unwrap_or(0);
            let keep = cur.min(remaining);
            remaining -= keep;
            scale_to.push(((*r).clone(), keep));
        }
        for (r, n) in scale_to {
            if r["spec"]["replicas"].as_u64() != Some(n) {
                let mut r2 = (*r).clone();
                r2["spec"]["replicas"] = json!(n);
                r2["metadata"]["generation"] =
                    json!(r2["metadata"]["generation"].as_u64().unwrap_or(1) + 1);
                r2["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                    json!(desired.to_string());
                self.store.put(Res::ReplicaSet, r2);
            }
        }
        // Status.
        let all: Vec<PodInfo> = owned.iter().flat_map(|r| pods_of(r)).collect();
        let replicas = all.len() as u64;
        let ready = all.iter().filter(|p| p.ready).count() as u64;
        let updated = new_pods.len() as u64;
        let max_unavailable = desired / 4;
        let available_ok = ready + max_unavailable >= desired;
        let complete = updated == desired && new_ready >= desired && replicas == desired;
        let key = (ns.clone(), name.clone());
        let fingerprint = format!("{new_name}/{new_ready}/{desired}/{updated}");
        let old_conds = d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let old_prog = old_conds
            .iter()
            .find(|c| c["type"] == "Progressing")
            .cloned();
        let now_s = self.store.clock.rfc3339();
        let progressed = match self.ctl.progress.insert(key, fingerprint.clone()) {
            Some(prev) => prev != fingerprint,
            None => old_prog.is_none(),
        };
        let last_update = if progressed {
            now_s.clone()
        } else {
            old_prog
                .as_ref()
                .and_then(|c| c["lastUpdateTime"].as_str())
                .unwrap_or(&now_s)
                .to_string()
        };
        let deadline = spec["progressDeadlineSeconds"].as_u64().unwrap_or(600) as f64;
        let elapsed = parse_time(&last_update)
            .map(|t| (self.store.clock.wall() - t).as_seconds_f64() * self.speed)
            .unwrap_or(0.0);
        let (pstatus, preason, pmsg) = if paused {
            (
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".to_string(),
            )
        } else if complete {
            (
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            )
        } else if elapsed > deadline {
            (
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            )
        } else {
            (
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{new_name}\" is progressing."),
            )
        };
        let transition = |t: &str, st: &str| -> String {
            old_conds
                .iter()
                .find(|c| c["type"] == t && c["status"] == st)
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(&now_s)
                .to_string()
        };
        let (ast, areason, amsg) = if available_ok {
            (
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        } else {
            (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        };
        let old_avail_update = old_conds
            .iter()
            .find(|c| c["type"] == "Available" && c["status"] == ast)
            .and_then(|c| c["lastUpdateTime"].as_str())
            .unwrap_or(&now_s)
            .to_string();
        let conditions = json!([
            {"type": "Available", "status": ast, "lastUpdateTime": old_avail_update, "lastTransitionTime": transition("Available", ast), "reason": areason, "message": amsg},
            {"type": "Progressing", "status": pstatus, "lastUpdateTime": last_update, "lastTransitionTime": transition("Progressing", pstatus), "reason": preason, "message": pmsg},
        ]);
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"].as_u64().unwrap_or(1),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": conditions,
        });
        if desired > ready {
            status["unavailableReplicas"] = json!(desired - ready);
        }
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| {
                !(v == 0
                    && matches!(
                        k.as_str(),
                        "readyReplicas" | "availableReplicas" | "updatedReplicas" | "replicas"
                    ))
            });
        }
        let rev = revision_of(&new_rs).to_string();
        let rev_changed =
            !paused && d["metadata"]["annotations"][REVISION_ANNOTATION] != rev.as_str();
        if status != d["status"] || rev_changed {
            let mut d2 = (**d).clone();
            d2["status"] = status;
            if rev_changed {
                d2["metadata"]["annotations"][REVISION_ANNOTATION] = json!(rev);
            }
            self.store.put(Res::Deployment, d2);
        }
    }

    fn create_replicaset(&mut self, d: &Value, revision: u64) -> Option<Arc<Value>> {
        let (ns, dname) = key_of(d);
        let mut template = d["spec"]["template"].clone();
        let hash = template_hash(&template);
        template["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let mut selector = d["spec"]["selector"].clone();
        selector["matchLabels"][HASH_LABEL] = json!(hash);
        let mut labels = template["metadata"]["labels"].clone();
        labels[HASH_LABEL] = json!(hash);
        let mut name = format!("{dname}-{hash}");
        if self.store.get(Res::ReplicaSet, &ns, &name).is_some() {
            name = format!("{dname}-{}", safe_string(fresh_u64(), 10));
        }
        let desired = d["spec"]["replicas"].as_u64().unwrap_or(1);
        let rs = json!({
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                    "deployment.kubernetes.io/max-replicas": (desired + desired.div_ceil(4)).to_string(),
                    (REVISION_ANNOTATION): revision.to_string(),
                },
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": dname,
                    "uid": d["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
                }],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0},
        });
        let rs = self.store.create(Res::ReplicaSet, rs).ok()?;
        self.record_events(
            Res::Deployment,
            d,
            vec![PodEvent {
                warning: false,
                reason: "ScalingReplicaSet",
                message: format!(
                    "Scaled up replica set {} from 0 to 1",
                    rs["metadata"]["name"].as_str().unwrap_or("")
                ),
                component: "deployment-controller",
                field_path: None,
            }],
        );
        Some(rs)
    }

    fn reconcile_replicaset(&mut self, rs: &Arc<Value>, mut pods: Vec<PodInfo>) {
        let (ns, name) = key_of(rs);
        let target = rs["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let owner = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name,
            "uid": rs["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
        });
        while pods.len() < target {
            let pname = format!("{name}-{}", safe_string(fresh_u64(), 5));
            let pod =
                pods::from_template(&ns, &pname, &rs["spec"]["template"], Some(owner.clone()));
            if let Ok(p) = self.store.create(Res::Pod, pod) {
                let key = key_of(&p);
                self.ctl.due.insert(key.clone(), self.store.clock.instant());
                pods.push(PodInfo {
                    key,
                    ready: false,
                    created: self.store.clock.rfc3339(),
                });
            } else {
                break;
            }
        }
        if pods.len() > target {
            // Unready first, then newest first.
            pods.sort_by(|a, b| a.ready.cmp(&b.ready).then(b.created.cmp(&a.created)));
            let victims: Vec<Key> = pods.drain(..pods.len() - target).map(|p| p.key).collect();
            for k in victims {
                self.delete_pod(&k.0, &k.1, 30);
            }
        }
        let ready = pods.iter().filter(|p| p.ready).count();
        let mut status = json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"].as_u64().unwrap_or(1),
        });
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| k == "replicas" || k == "observedGeneration" || v != 0);
        }
        if status != rs["status"] {
            let mut r = (**rs).clone();
            r["status"] = status;
            self.store.put(Res::ReplicaSet, r);
        }
    }
}

/// The `maxUnavailable` of a DaemonSet's rolling update against `desired` nodes (an int or a
/// percentage rounded up, at least 1), as the DaemonSet controller reads it.
fn max_unavailable(rolling: &Value, desired: u64) -> u64 {
    let n = match &rolling["maxUnavailable"] {
        Value::Number(n) => n.as_u64().unwrap_or(1),
        Value::String(p) => match p
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<u64>().ok())
        {
            Some(pct) => (desired * pct).div_ceil(100),
            None => 1,
        },
        _ => 1,
    };
    n.max(1)
}

impl WorldState {
    /// The pods controlled by the object with `uid` in `ns`, terminating ones included.
    fn members(&self, ns: &str, uid: &str, owner: &str) -> Vec<Member> {
        self.store
            .iter(Res::Pod, Some(ns), None)
            .filter(|p| controller_uid(p) == Some(uid))
            .map(|p| {
                let key = key_of(p);
                let ordinal = key
                    .1
                    .strip_prefix(owner)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .and_then(|n| n.parse().ok());
                Member {
                    ready: pods::is_ready(p),
                    terminating: pods::is_terminating(p),
                    revision: p["metadata"]["labels"]["controller-revision-hash"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    ordinal,
                    node: self.node_for_pod(p),
                    key,
                }
            })
            .collect()
    }

    /// Create a pod of a StatefulSet or DaemonSet from its template (the kubelet picks it up).
    fn create_member(
        &mut self,
        owner: &Value,
        res: Res,
        name: &str,
        extra_labels: &[(&str, String)],
        adjust: impl FnOnce(&mut Value),
    ) -> bool {
        let (ns, owner_name) = key_of(owner);
        let kind = res.kind();
        let mut template = owner["spec"]["template"].clone();
        for (k, v) in extra_labels {
            template["metadata"]["labels"][*k] = json!(v);
        }
        let reference = json!({
            "apiVersion": "apps/v1", "kind": kind, "name": owner_name,
            "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
        });
        let mut pod = pods::from_template(&ns, name, &template, Some(reference));
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.remove("generateName");
        }
        adjust(&mut pod);
        match self.store.create(Res::Pod, pod) {
            Ok(p) => {
                self.ctl.due.insert(key_of(&p), self.store.clock.instant());
                self.record_events(
                    res,
                    owner,
                    vec![PodEvent {
                        warning: false,
                        reason: "SuccessfulCreate",
                        message: format!("create Pod {name} in {kind} {owner_name} successful"),
                        component: match res {
                            Res::DaemonSet => "daemonset-controller",
                            _ => "statefulset-controller",
                        },
                        field_path: None,
                    }],
                );
                true
            }
            Err(_) => false,
        }
    }

    /// Gracefully delete a pod with its own termination grace period.
    fn delete_member(&mut self, key: &Key) {
        let grace = self
            .store
            .get(Res::Pod, &key.0, &key.1)
            .and_then(|p| p["spec"]["terminationGracePeriodSeconds"].as_u64())
            .unwrap_or(30);
        self.delete_pod(&key.0, &key.1, grace);
    }

    /// The StatefulSet controller (OrderedReady, RollingUpdate with a partition): pods
    /// `name-0..n-1`, created in order once the lower ordinals are ready, removed from the
    /// highest; a template change replaces the pods from the highest ordinal down to the
    /// partition, one at a time, each once all are ready. Revisions are
    /// `name-<template hash>` (the controller-revision-hash label).
    fn reconcile_statefulset(&mut self, s: &Arc<Value>) {
        let (ns, name) = key_of(s);
        let uid = s["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let spec = &s["spec"];
        let desired = spec["replicas"].as_u64().unwrap_or(1);
        let strategy = &spec["updateStrategy"];
        let rolling = strategy["type"]
            .as_str()
            .is_none_or(|t| t == "RollingUpdate");
        let partition = strategy["rollingUpdate"]["partition"].as_u64().unwrap_or(0);
        let update_rev = format!("{name}-{}", template_hash(&spec["template"]));
        let current_rev = s["status"]["currentRevision"]
            .as_str()
            .filter(|r| !r.is_empty())
            .unwrap_or(&update_rev)
            .to_string();
        let members = self.members(&ns, &uid, &name);
        let busy = members.iter().any(|m| m.terminating);
        let live: std::collections::BTreeMap<u64, &Member> = members
            .iter()
            .filter(|m| !m.terminating)
            .filter_map(|m| m.ordinal.map(|o| (o, m)))
            .collect();
        // Strays (no ordinal) go at once.
        let strays: Vec<Key> = members
            .iter()
            .filter(|m| !m.terminating && m.ordinal.is_none())
            .map(|m| m.key.clone())
            .collect();
        for k in &strays {
            self.delete_member(k);
        }
        if !busy && strays.is_empty() {
            let all_ready = live.values().all(|m| m.ready);
            if let Some((_, m)) = live.range(desired..).next_back() {
                // Scale down, highest ordinal first, once the others are ready.
                if all_ready {
                    let key = m.key.clone();
                    self.delete_member(&key);
                }
            } else if let Some(missing) = (0..desired).find(|o| !live.contains_key(o)) {
                // Scale up (or replace) in order: the lower ordinals must be ready first.
                if (0..missing).all(|o| live.get(&o).is_some_and(|m| m.ready)) {
                    let pod_name = format!("{name}-{missing}");
                    let service = spec["serviceName"].as_str().map(str::to_string);
                    self.create_member(
                        s,
                        Res::StatefulSet,
                        &pod_name,
                        &[
                            ("controller-revision-hash", update_rev.clone()),
                            ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                            ("apps.kubernetes.io/pod-index", missing.to_string()),
                        ],
                        |pod| {
                            pod["spec"]["hostname"] = json!(pod_name);
                            if let Some(service) = service {
                                pod["spec"]["subdomain"] = json!(service);
                            }
                        },
                    );
                }
            } else if rolling && all_ready {
                // Rolling update: the highest ordinal at or above the partition that is not
                // at the update revision.
                let stale = live
                    .range(partition..)
                    .rev()
                    .find(|(_, m)| m.revision != update_rev)
                    .map(|(_, m)| m.key.clone());
                if let Some(key) = stale {
                    self.delete_member(&key);
                }
            }
        }
        // Status, from the pods as they are now.
        let members = self.members(&ns, &uid, &name);
        let live: Vec<&Member> = members.iter().filter(|m| !m.terminating).collect();
        let count = |f: &dyn Fn(&Member) -> bool| live.iter().filter(|m| f(m)).count() as u64;
        let replicas = live.len() as u64;
        let ready = count(&|m| m.ready);
        let updated = count(&|m| m.revision == update_rev);
        let mut current_rev = current_rev;
        let mut current = count(&|m| m.revision == current_rev);
        if updated == replicas && ready == replicas && replicas == desired {
            current_rev = update_rev.clone();
            current = updated;
        }
        let status = json!({
            "observedGeneration": s["metadata"]["generation"].as_u64().unwrap_or(1),
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": current,
            "updatedReplicas": updated,
            "currentRevision": current_rev,
            "updateRevision": update_rev,
            "collisionCount": 0,
        });
        if status != s["status"] {
            let mut s2 = (**s).clone();
            s2["status"] = status;
            self.store.put(Res::StatefulSet, s2);
        }
    }

    /// The DaemonSet controller (RollingUpdate with maxUnavailable, no surge): one pod per
    /// node, pinned by node affinity; a template change deletes old pods (unready ones at once,
    /// ready ones while no more than maxUnavailable nodes lack an available pod) and a new pod
    /// replaces each once the old one is gone.
    fn reconcile_daemonset(&mut self, d: &Arc<Value>) {
        let (ns, name) = key_of(d);
        let uid = d["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let spec = &d["spec"];
        let generation = d["metadata"]["generation"].as_u64().unwrap_or(1);
        let hash = template_hash(&spec["template"]);
        let strategy = &spec["updateStrategy"];
        let rolling = strategy["type"]
            .as_str()
            .is_none_or(|t| t == "RollingUpdate");
        let nodes = if self.ctl.nodes.is_empty() {
            vec!["sim-node-1".to_string()]
        } else {
            self.ctl.nodes.clone()
        };
        let desired = nodes.len() as u64;
        let members = self.members(&ns, &uid, &name);
        for node in &nodes {
            let on_node: Vec<&Member> = members.iter().filter(|m| &m.node == node).collect();
            let live: Vec<&Member> = on_node.iter().copied().filter(|m| !m.terminating).collect();
            if on_node.is_empty() {
                let pod_name = format!("{name}-{}", safe_string(fresh_u64(), 5));
                let pinned = node.clone();
                self.create_member(
                    d,
                    Res::DaemonSet,
                    &pod_name,
                    &[
                        ("controller-revision-hash", hash.clone()),
                        ("pod-template-generation", generation.to_string()),
                    ],
                    |pod| {
                        pod["spec"]["affinity"] = json!({"nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [pinned]}]}
                            ]}
                        }});
                    },
                );
            } else if live.len() > 1 {
                // More than one: keep the oldest.
                let extra: Vec<Key> = live[1..].iter().map(|m| m.key.clone()).collect();
                for k in &extra {
                    self.delete_member(k);
                }
            }
        }
        // Pods on nodes that are gone.
        let misplaced: Vec<Key> = members
            .iter()
            .filter(|m| !m.terminating && !nodes.contains(&m.node))
            .map(|m| m.key.clone())
            .collect();
        for k in &misplaced {
            self.delete_member(k);
        }
        if rolling {
            let old: Vec<&Member> = members
                .iter()
                .filter(|m| !m.terminating && m.revision != hash)
                .collect();
            let available = members.iter().filter(|m| !m.terminating && m.ready).count() as u64;
            let budget = max_unavailable(&strategy["rollingUpdate"], desired)
                .saturating_sub(desired.saturating_sub(available));
            let unready: Vec<Key> = old
                .iter()
                .filter(|m| !m.ready)
                .map(|m| m.key.clone())
                .collect();
            let ready: Vec<Key> = old
                .iter()
                .filter(|m| m.ready)
                .take(usize::try_from(budget).unwrap_or(usize::MAX))
                .map(|m| m.key.clone())
                .collect();
            for k in unready.iter().chain(&ready) {
                self.delete_member(k);
            }
        }
        // Status.
        let members = self.members(&ns, &uid, &name);
        let live: Vec<&Member> = members
            .iter()
            .filter(|m| !m.terminating && nodes.contains(&m.node))
            .collect();
        let scheduled = nodes
            .iter()
            .filter(|n| live.iter().any(|m| &m.node == *n))
            .count() as u64;
        let ready = live.iter().filter(|m| m.ready).count() as u64;
        let updated = live.iter().filter(|m| m.revision == hash).count() as u64;
        let mut status = json!({
            "observedGeneration": generation,
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": scheduled,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": updated,
        });
        if desired > ready {
            status["numberUnavailable"] = json!(desired - ready);
        }
        if status != d["status"] {
            let mut d2 = (**d).clone();
            d2["status"] = status;
            self.store.put(Res::DaemonSet, d2);
        }
    }
}
