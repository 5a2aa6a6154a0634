//! The simulated world as plain data: everything behind the one world lock.
//!
//! Only data lives here; the systems that move it (the controllers, claim progression, the
//! traffic model, the leaking database) are functions in their own modules that take the state,
//! so no subsystem depends on another through the world.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::behavior::{Behavior, Rules};
use super::discovery::Features;
use super::events::EventIndex;
use super::policy::Policy;
use super::store::{Key, Store};

/// Request rates of one Deployment's series: codes 200, 500, 503.
pub(crate) type Rates = [f64; 3];

/// Everything behind the one world lock.
#[derive(Debug, Default)]
pub(crate) struct WorldState {
    pub(crate) store: Store,
    pub(crate) ctl: ControllerState,
    pub(crate) policy: Policy,
    /// Per-pod behaviour overrides set by tests.
    pub(crate) overrides: HashMap<Key, Behavior>,
    pub(crate) rules: Rules,
    pub(crate) speed: f64,
    /// The simulated Prometheus' request-rate history.
    pub(crate) traffic: Traffic,
    /// The simulated database's leaked sessions.
    pub(crate) db: SimDb,
    /// Set once the scenario has loaded and settled; from then on new pods are replacements.
    pub(crate) booted: bool,
    /// UIDs of the pods present at boot whose images heal on restart (they keep misbehaving).
    pub(crate) boot_pods: HashSet<String>,
    /// Claims held back until an operator Deployment has a ready, healthy pod.
    pub(crate) claim_waits: Vec<ClaimWait>,
    /// The simulated Alertmanager's silences, as its API shows them (without `status`).
    pub(crate) silences: Vec<serde_json::Value>,
    /// Silences created so far (their ids count up).
    pub(crate) silence_count: u64,
    /// Optional APIs installed (metrics-server, cert-manager).
    pub(crate) features: Features,
    /// Scenario-given usage of workloads, for the metrics API and HPAs.
    pub(crate) loads: Loads,
}

/// Controller bookkeeping that is not part of any object.
#[derive(Debug, Default)]
pub(crate) struct ControllerState {
    /// Pods whose next kubelet/scheduler step is due at the instant.
    pub(crate) due: HashMap<Key, Instant>,
    /// Terminating pods and when they disappear.
    pub(crate) deleting: HashMap<Key, Instant>,
    pub(crate) events: EventIndex,
    /// Last progress fingerprint per Deployment.
    pub(crate) progress: HashMap<Key, String>,
    pub(crate) nodes: Vec<String>,
    /// Running Jobs and when their pod finishes.
    pub(crate) jobs_due: HashMap<Key, Instant>,
    /// When HPA status was last computed, and for how many HPAs.
    pub(crate) hpa_synced: Option<(Instant, usize)>,
    /// Store RV after the last full reconcile, and when it ran (skip idle passes).
    pub(crate) reconciled_rv: u64,
    pub(crate) reconciled_at: Option<Instant>,
}

/// One claim held back by an operator.
#[derive(Debug, Clone)]
pub(crate) struct ClaimWait {
    /// The ResourceClaim (namespace, name).
    pub(crate) claim: Key,
    /// The operator's Deployment (namespace, name).
    pub(crate) operator: Key,
    /// World time between the operator's first ready pod and the claim starting.
    pub(crate) after: Duration,
    /// When the operator was first seen with a ready, healthy pod (this stretch).
    pub(crate) ready_since: Option<Instant>,
}

/// The request-rate model's recorded history (lives in `WorldState`).
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    pub(crate) clock: Option<Clock>,
    pub(crate) rv: Option<u64>,
    /// When the last sample was taken and how long it took (for the tick's throttle).
    pub(crate) sampled: Option<(Instant, std::time::Duration)>,
    pub(crate) series: BTreeMap<(String, String), Timeline>,
}

#[derive(Debug, Clone, Copy)]
/// The traffic model's time: world time sped up by `speed` after `start_unix`.
pub(crate) struct Clock {
    pub(crate) start_unix: f64,
    pub(crate) speed: f64,
}

/// Piecewise-constant rates of one Deployment's three series, with prefix integrals.
#[derive(Debug)]
pub(crate) struct Timeline {
    /// Segment starts (model unix seconds), strictly ascending; `t[0]` is the epoch.
    pub(crate) t: Vec<f64>,
    pub(crate) rate: Vec<Rates>,
    /// Integral of the rates from `t[0]` to `t[i]`.
    pub(crate) cum: Vec<Rates>,
}

/// The simulated database's memory of leaked sessions.
#[derive(Debug, Default)]
pub(crate) struct SimDb {
    pub(crate) leaks: Vec<Leak>,
    pub(crate) next_pid: i32,
    pub(crate) seeded: bool,
    pub(crate) last_leak: f64,
}

/// One leaked session: idle in transaction since `since` (unix seconds).
#[derive(Debug, Clone)]
pub(crate) struct Leak {
    pub(crate) pid: i32,
    pub(crate) since: f64,
    pub(crate) client: String,
}

/// Usage fractions of one workload's containers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Load {
    /// Of the CPU request (1.6 = 160 %, what an HPA's utilisation reads).
    pub(crate) cpu: f64,
    /// Of the memory limit (or request when there is no limit).
    pub(crate) memory: f64,
}

/// Scenario-given loads, by `(namespace, app)`: a pod's `app` label, else its name.
pub(crate) type Loads = HashMap<(String, String), Load>;
