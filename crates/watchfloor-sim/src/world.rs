//! The handle tests and the demo driver use to change the simulated world.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Shared;
use super::behavior::Behavior;
use super::policy::Rule;
use super::resources::Res;
use super::state::WorldState;
use super::store::Store;

/// A handle to mutate the simulated world from tests or the demo driver.
#[derive(Clone)]
pub struct World {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").finish_non_exhaustive()
    }
}

impl World {
    pub fn get(&self, kind: Res, ns: &str, name: &str) -> Option<Value> {
        self.shared
            .with(|w| w.store.get(kind, ns, name).map(|v| (*v).clone()))
    }

    /// All objects of `kind`, in one namespace or everywhere.
    pub fn list(&self, kind: Res, ns: Option<&str>) -> Vec<Value> {
        self.shared.with(|w| {
            w.store
                .iter(kind, ns, None)
                .map(|v| (**v).clone())
                .collect()
        })
    }

    pub fn count(&self, kind: Res) -> usize {
        self.shared.with(|w| w.store.count(kind))
    }

    pub fn resource_version(&self) -> u64 {
        self.shared.with(|w| w.store.rv())
    }

    /// Create `obj`, or replace it when it exists (emits ADDED or MODIFIED).
    pub fn upsert(&self, kind: Res, obj: Value) -> Value {
        self.shared.with(|w| {
            let key = super::store::key_of(&obj);
            match w.store.get(kind, &key.0, &key.1) {
                Some(old) => {
                    let mut obj = obj;
                    obj["kind"] = json!(kind.kind());
                    obj["apiVersion"] = json!(kind.api_version());
                    for k in ["uid", "creationTimestamp"] {
                        if obj["metadata"].get(k).is_none() {
                            obj["metadata"][k] = old["metadata"][k].clone();
                        }
                    }
                    (*w.store.put(kind, obj)).clone()
                }
                None => match w.store.create(kind, obj.clone()) {
                    Ok(v) => (*v).clone(),
                    Err(_) => obj,
                },
            }
        })
    }

    /// Change an object in place (emits MODIFIED when it changed).
    pub fn mutate(
        &self,
        kind: Res,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        self.shared.with(|w| {
            let old = w.store.get(kind, ns, name)?;
            let mut v = (*old).clone();
            f(&mut v);
            if v == *old {
                return Some(v);
            }
            Some((*w.store.put(kind, v)).clone())
        })
    }

    /// Remove at once (emits DELETED).
    pub fn remove(&self, kind: Res, ns: &str, name: &str) -> Option<Value> {
        self.shared.with(|w| {
            w.ctl.due.remove(&(ns.to_string(), name.to_string()));
            w.store.remove(kind, ns, name).map(|v| (*v).clone())
        })
    }

    /// Add a bare single-container pod; the kubelet simulation takes it from Pending.
    pub fn add_pod(&self, ns: &str, name: &str, image: &str, labels: &[(&str, &str)]) -> Value {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        let container = image
            .rsplit('/')
            .next()
            .and_then(|s| s.split(':').next())
            .unwrap_or("main")
            .to_string();
        let template = json!({
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": container, "image": image, "imagePullPolicy": "IfNotPresent"}]}
        });
        let pod = super::pods::from_template(ns, name, &template, None);
        self.shared.with(|w| {
            let created = w.store.create(Res::Pod, pod.clone());
            match created {
                Ok(p) => {
                    w.ctl
                        .due
                        .insert((ns.to_string(), name.to_string()), w.store.clock.instant());
                    (*p).clone()
                }
                Err(_) => pod,
            }
        })
    }

    /// Force a pod's behaviour (all containers); its next step happens now.
    pub fn set_pod_behavior(&self, ns: &str, name: &str, behavior: Behavior) {
        self.shared.with(|w| {
            let key = (ns.to_string(), name.to_string());
            w.overrides.insert(key.clone(), behavior);
            w.ctl.due.insert(key, w.store.clock.instant());
            w.tick();
        });
    }

    /// Start a graceful delete (grace 0 removes at once).
    pub fn delete_pod(&self, ns: &str, name: &str, grace_seconds: u64) -> Option<Value> {
        self.shared
            .with(|w| w.delete_pod(ns, name, grace_seconds).map(|v| (*v).clone()))
    }

    /// The "kubelet" finishes every pending graceful deletion now.
    pub fn finish_deletions(&self) {
        self.shared.with(|w| {
            let now = w.store.clock.instant();
            for at in w.ctl.deleting.values_mut() {
                *at = now;
            }
            w.tick();
        });
    }

    /// Moves the world's clock `by` ahead (world time moves `by` × the simulator's speed), in
    /// steps with a controller pass after each, so chains of scheduled steps (image pull, start,
    /// ready; grace periods; claim waits) happen as they would have over that much wall time.
    /// Tests use it instead of waiting on the wall clock.
    pub fn advance(&self, by: Duration) {
        const STEP: Duration = Duration::from_millis(250);
        let mut left = by;
        while !left.is_zero() {
            let step = left.min(STEP);
            left -= step;
            self.shared.with(|w| {
                w.store.clock.skip(step);
                w.tick();
            });
        }
    }

    /// Run one controller pass now (the background task also ticks on its own).
    pub fn tick(&self) {
        self.shared.with(WorldState::tick);
    }

    /// Add a policy rule (first match wins; no match allows).
    pub fn add_rule(&self, rule: Rule) {
        self.shared.with(|w| w.policy.rules.insert(0, rule));
    }

    /// Deny `verb` on `group`/`resource` (`res/sub` allowed) in `namespace` ("*" = any).
    pub fn deny(&self, verb: &str, group: &str, resource: &str, namespace: &str) {
        self.add_rule(Rule::deny(verb, group, resource, namespace));
    }

    pub fn clear_policy(&self) {
        self.shared.with(|w| w.policy.rules.clear());
    }

    /// Remove the event history (as `Faults::compact_history`).
    pub fn compact(&self) {
        self.shared
            .with(|w: &mut WorldState| Store::compact(&mut w.store));
    }
}
