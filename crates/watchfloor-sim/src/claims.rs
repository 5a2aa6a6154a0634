//! Claim progression: a Poolboy ResourceClaim held back by a broken operator.
//!
//! A scenario claim with `needs_operator = "namespace/deployment"` stays exactly as loaded while
//! that Deployment has no ready, healthy pod (the incident's anarchy-operator crash-loops on an
//! expired service-account token). Once one of its pods is ready and healthy (e.g. the
//! replacement of a deleted pod, see `heals_on_restart`), the claim waits `resume_after` of world
//! time, then moves on to `started` and ready, like the scenario's other started claims (one
//! MODIFIED event, a new resourceVersion). A wait whose operator loses its ready pod starts over;
//! a wait whose claim is deleted is dropped.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::behavior::Behavior;
use super::controller::controller_uid;
use super::pods;
use super::resources::Res;
use super::state::WorldState;
use super::store::Key;
use super::util::{rfc3339, scaled};

impl WorldState {
    /// Advance the claims whose operator has been ready long enough.
    pub(crate) fn tick_claims(&mut self, now: Instant) {
        if self.claim_waits.is_empty() {
            return;
        }
        let mut waits = std::mem::take(&mut self.claim_waits);
        waits.retain_mut(|wait| {
            let Some(claim) = self
                .store
                .get(Res::ResourceClaim, &wait.claim.0, &wait.claim.1)
            else {
                return false;
            };
            if !self.operator_ready(&wait.operator) {
                wait.ready_since = None;
                return true;
            }
            let since = *wait.ready_since.get_or_insert(now);
            if now.duration_since(since) < scaled(wait.after, self.speed) {
                return true;
            }
            let mut c = (*claim).clone();
            start_claim(&mut c, self.store.clock.wall());
            if c != *claim {
                self.store.put(Res::ResourceClaim, c);
            }
            false
        });
        self.claim_waits = waits;
    }

    /// Does the Deployment have a pod that is ready, not terminating, and whose containers all
    /// behave (not crash-looping, OOM-killed or never ready)?
    fn operator_ready(&self, (ns, name): &Key) -> bool {
        let Some(d) = self.store.get(Res::Deployment, ns, name) else {
            return false;
        };
        let Some(uid) = d["metadata"]["uid"].as_str() else {
            return false;
        };
        let replicasets: HashSet<&str> = self
            .store
            .iter(Res::ReplicaSet, Some(ns), None)
            .filter(|rs| controller_uid(rs) == Some(uid))
            .filter_map(|rs| rs["metadata"]["uid"].as_str())
            .collect();
        self.store.iter(Res::Pod, Some(ns), None).any(|p| {
            !pods::is_terminating(p)
                && pods::is_ready(p)
                && controller_uid(p).is_some_and(|u| replicasets.contains(u))
                && self.profiles_for(p).iter().all(|prof| {
                    !matches!(
                        prof.behavior,
                        Behavior::CrashLoop | Behavior::OomKilled | Behavior::NeverReady
                    )
                })
        })
    }
}

/// Move a claim's status to `started`, ready and healthy (summary, lifespan, AnarchySubject
/// state). Leaves a claim whose status is not an object alone.
pub fn start_claim(claim: &mut Value, now: OffsetDateTime) {
    let Some(status) = claim.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    status.insert("ready".into(), json!(true));
    status.insert("healthy".into(), json!(true));
    if let Some(summary) = object_at(status, "summary") {
        summary.insert("state".into(), json!("started"));
    }
    if let Some(lifespan) = status.get_mut("lifespan").and_then(Value::as_object_mut)
        && !lifespan.contains_key("firstReady")
    {
        lifespan.insert("firstReady".into(), json!(rfc3339(now)));
    }
    let resources = status
        .get_mut("resources")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for r in resources {
        let Some(r) = r.as_object_mut() else {
            continue;
        };
        r.insert("ready".into(), json!(true));
        r.insert("healthy".into(), json!(true));
        let vars = r
            .get_mut("state")
            .and_then(|s| s.get_mut("spec"))
            .and_then(|s| s.get_mut("vars"))
            .and_then(Value::as_object_mut);
        if let Some(vars) = vars {
            vars.insert("current_state".into(), json!("started"));
            vars.insert("healthy".into(), json!(true));
        }
    }
}

/// `map[key]` as an object, created when missing; `None` when it holds something else.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_claim_marks_everything_started() {
        let mut c = json!({"status": {
            "ready": false, "healthy": true,
            "lifespan": {"start": "2025-01-01T00:00:00Z"},
            "summary": {"state": "provisioning"},
            "resources": [{"ready": false, "healthy": true,
                "state": {"spec": {"vars": {"current_state": "provisioning", "desired_state": "started"}}}}],
        }});
        start_claim(&mut c, OffsetDateTime::UNIX_EPOCH);
        let s = &c["status"];
        assert_eq!(s["ready"], true);
        assert_eq!(s["summary"]["state"], "started");
        assert_eq!(s["lifespan"]["firstReady"], "1970-01-01T00:00:00Z");
        assert_eq!(s["resources"][0]["ready"], true);
        assert_eq!(
            s["resources"][0]["state"]["spec"]["vars"]["current_state"],
            "started"
        );
        assert_eq!(
            s["resources"][0]["state"]["spec"]["vars"]["desired_state"],
            "started"
        );
    }

    #[test]
    fn scenarios_check_needs_operator() {
        let base = r#"
[[deployments]]
namespace = "ops"
name = "op"
image = "op:1"

[[claims]]
namespace = "user-a"
name = "c"
catalog_item = "x.prod"
"#;
        let ok = format!("{base}needs_operator = \"ops/op\"\nresume_after = \"5s\"\n");
        assert!(super::super::Scenario::from_toml("t", &ok).is_ok());
        for bad in [
            "needs_operator = \"op\"\n",
            "needs_operator = \"ops/\"\n",
            "needs_operator = \"ops/op/x\"\n",
            "needs_operator = \"ops/other\"\n",
            "resume_after = \"5s\"\n",
            "needs_operator = \"ops/op\"\nresume_after = \"soon\"\n",
            "needs_operator = \"ops/op\"\napproval = \"pending\"\n",
        ] {
            let text = format!("{base}{bad}");
            assert!(
                super::super::Scenario::from_toml("t", &text).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn start_claim_tolerates_odd_shapes() {
        for mut c in [
            json!({}),
            json!({"status": "weird"}),
            json!({"status": {"summary": 3, "resources": [1, {"state": []}]}}),
        ] {
            start_claim(&mut c, OffsetDateTime::UNIX_EPOCH);
        }
    }
}
