//! The Kubernetes sources (Pods pane and CRD claims) against the simulated API server behind a
//! fault proxy: a frozen server (accept and never answer), a refusing server, a server that
//! comes back with a different world. No pane, header or snapshot says live while faulted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use watchfloor::app::App;
use watchfloor::app::status::{Freshness, SourceOrigin};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::headless::Headless;

/// The detection goal: no proof for 20 s is stale (2 refresh intervals do not apply: watches).
const DETECT_WITHIN: Duration = Duration::from_secs(20);
/// Deadlines for failure, with slack for a loaded machine; the measured times are printed.
const DEADLINE: Duration = Duration::from_secs(60);

struct Rig {
    sim: Sim,
    proxy: FaultProxy,
    console: Headless,
    dir: tempfile::TempDir,
}

async fn sim(scenario: &str) -> Sim {
    Sim::start(
        Scenario::builtin(scenario).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::default(),
    )
    .await
    .unwrap()
}

/// A console watching pods and Poolboy claims of the simulator, through a fault proxy.
async fn rig(scenario: &str) -> Rig {
    rig_from(scenario, Fault::Pass).await
}

/// As [`rig`], with `fault` in place before the console starts.
async fn rig_from(scenario: &str, fault: Fault) -> Rig {
    let sim = sim(scenario).await;
    let proxy = FaultProxy::start(sim.addr).await;
    proxy.set(fault);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let yaml = sim
        .kubeconfig_yaml("sim")
        .replace(&sim.addr.to_string(), &proxy.host_port());
    std::fs::write(&kubeconfig, yaml).unwrap();
    let text = format!(
        r#"
[[targets]]
name = "sim"
[targets.kubernetes]
kubeconfig = {:?}
context = "sim"
[[targets.claims]]
name = "resourceclaims"
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
"#,
        kubeconfig.display().to_string()
    );
    std::fs::write(dir.path().join("config.toml"), &text).unwrap();
    let console = Headless::start(&text, ReadOnlyInputs::default());
    Rig {
        sim,
        proxy,
        console,
        dir,
    }
}

fn freshness(app: &App, origin: SourceOrigin) -> Freshness {
    app.data
        .sources
        .iter()
        .find(|s| s.origin == origin)
        .unwrap_or_else(|| panic!("no source {origin:?}"))
        .freshness(app.view.now)
}

const KUBE: SourceOrigin = SourceOrigin::Kubernetes;
const CLAIMS: SourceOrigin = SourceOrigin::Claims(0);

fn both_live(app: &App) -> bool {
    freshness(app, KUBE) == Freshness::Live && freshness(app, CLAIMS) == Freshness::Live
}

fn neither_live(app: &App) -> bool {
    freshness(app, KUBE) != Freshness::Live && freshness(app, CLAIMS) != Freshness::Live
}

impl Rig {
    /// `watchfloor snapshot --format json` of the same config, as a document.
    async fn snapshot(&self) -> serde_json::Value {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(["snapshot", "--format", "json", "--timeout", "5s"])
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path())
            .output()
            .await
            .unwrap();
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
    }

    /// Waits (ticking the console with the real clock) until `pred` holds; returns how long.
    async fn until(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&App) -> bool,
    ) -> Duration {
        let started = Instant::now();
        let until = started + deadline;
        loop {
            self.console.tick(SystemTime::now());
            self.console.settle().await;
            self.console.tick(SystemTime::now());
            if pred(&self.console.app) {
                return started.elapsed();
            }
            assert!(
                Instant::now() < until,
                "timed out after {deadline:?} waiting for {what}; sources: {:#?}",
                self.console.app.data.sources
            );
            // Time must pass for staleness to show: look again in a moment (a poll with a
            // deadline, not a sleep standing in for synchronisation).
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keeps the console running for `window`, asserting `invariant` at every step.
    async fn hold(&mut self, what: &str, window: Duration, invariant: impl Fn(&App) -> bool) {
        let until = Instant::now() + window;
        while Instant::now() < until {
            self.console.tick(SystemTime::now());
            self.console.settle().await;
            self.console.tick(SystemTime::now());
            assert!(
                invariant(&self.console.app),
                "{what} broke; sources: {:#?}",
                self.console.app.data.sources
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pods_in_world(&self) -> BTreeSet<(String, String)> {
        pods_of(&self.sim.world())
    }
}

fn pods_of(world: &watchfloor_sim::World) -> BTreeSet<(String, String)> {
    world
        .list(Res::Pod, None)
        .iter()
        .map(|pod| {
            let meta = &pod["metadata"];
            (
                meta["namespace"].as_str().unwrap_or_default().to_string(),
                meta["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pods_shown(app: &App) -> BTreeSet<(String, String)> {
    app.data.kube.pods.keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_api_server_turns_stale_then_error_and_recovers() {
    let mut rig = rig("incident").await;
    rig.until("pods and claims live", DEADLINE, both_live).await;

    rig.proxy.set(Fault::Hang);
    let stale = rig
        .until(
            "pods and claims not live",
            DETECT_WITHIN + Duration::from_secs(5),
            neither_live,
        )
        .await;
    let screen_text = crate::support::headless::screen(&rig.console.app, (160, 40));
    assert!(
        !screen_text.contains("all live") && !screen_text.contains(" live "),
        "no pane or header says live while the server is frozen:\n{screen_text}"
    );
    let error = rig
        .until("an error naming the server", DEADLINE, |app| {
            matches!(freshness(app, KUBE), Freshness::Error { ref reason, .. } if reason.contains("no answer from"))
        })
        .await;
    let Freshness::Error { reason, age, .. } = freshness(&rig.console.app, KUBE) else {
        unreachable!()
    };
    assert!(
        reason.contains(&rig.proxy.host_port()),
        "the reason names the server: {reason}"
    );
    assert!(age.is_some(), "the age of the last good data is shown");
    rig.hold(
        "not live while frozen",
        Duration::from_secs(5),
        neither_live,
    )
    .await;
    let snapshot = rig.snapshot().await;
    for section in ["pods", "deployments", "claims"] {
        assert_eq!(
            snapshot[section]["state"], "error",
            "the snapshot agrees: {section} is not ok while frozen: {snapshot:#}"
        );
    }

    rig.proxy.set(Fault::Pass);
    let recovered = rig
        .until("live again after the freeze", DEADLINE, both_live)
        .await;
    println!(
        "fault kubernetes hang: stale after {:.1}s, error after {:.1}s more, live {:.1}s after the fault ended",
        stale.as_secs_f64(),
        error.as_secs_f64(),
        recovered.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_an_error_not_connecting_for_ever() {
    let mut rig = rig_from("calm", Fault::Hang).await;
    let detected = rig
        .until(
            "an error saying the server does not answer",
            DETECT_WITHIN + Duration::from_secs(10),
            |app| {
                [KUBE, CLAIMS].iter().all(|origin| {
                    matches!(freshness(app, *origin), Freshness::Error { ref reason, .. } if reason.contains("no answer from"))
                })
            },
        )
        .await;
    rig.proxy.set(Fault::Pass);
    let recovered = rig.until("live once it answers", DEADLINE, both_live).await;
    println!(
        "fault kubernetes hang from the start: error after {:.1}s, live {:.1}s after the fault ended",
        detected.as_secs_f64(),
        recovered.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_api_server_never_flaps_back_to_live() {
    let mut rig = rig("calm").await;
    rig.until("pods and claims live", DEADLINE, both_live).await;

    rig.proxy.set(Fault::Refuse);
    let detected = rig
        .until("pods and claims in error", DETECT_WITHIN, |app| {
            matches!(freshness(app, KUBE), Freshness::Error { .. })
                && matches!(freshness(app, CLAIMS), Freshness::Error { .. })
        })
        .await;
    // Longer than several back-offs: an error is never forgotten on a timer.
    rig.hold(
        "no live while refused",
        Duration::from_secs(20),
        neither_live,
    )
    .await;
    let Freshness::Error { reason, .. } = freshness(&rig.console.app, KUBE) else {
        unreachable!()
    };
    assert!(
        reason.contains("refused") && reason.contains(&rig.proxy.host_port()),
        "{reason}"
    );

    rig.proxy.set(Fault::Pass);
    let recovered = rig.until("live again", DEADLINE, both_live).await;
    println!(
        "fault kubernetes refuse: error after {:.1}s, live {:.1}s after the fault ended",
        detected.as_secs_f64(),
        recovered.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_back_with_a_different_world_is_shown_as_it_is() {
    let mut rig = rig("incident").await;
    rig.until("pods and claims live", DEADLINE, both_live).await;
    let world = rig.sim.world();
    rig.until("every pod of the first world shown", DEADLINE, |app| {
        pods_shown(app) == pods_of(&world)
    })
    .await;
    let before = rig.pods_in_world();

    // The server goes away and another one, with another world, takes its place.
    rig.proxy.set(Fault::Refuse);
    rig.until("pods in error", DETECT_WITHIN, |app| {
        matches!(freshness(app, KUBE), Freshness::Error { .. })
    })
    .await;
    let old = std::mem::replace(&mut rig.sim, sim("calm").await);
    old.shutdown().await;
    rig.proxy.set_upstream(rig.sim.addr);
    assert_ne!(
        before,
        rig.pods_in_world(),
        "the test needs two different worlds"
    );
    rig.proxy.set(Fault::Pass);
    let world = rig.sim.world();
    let recovered = rig
        .until("the new world shown, live", DEADLINE, |app| {
            both_live(app) && pods_shown(app) == pods_of(&world)
        })
        .await;
    assert!(
        pods_shown(&rig.console.app)
            .is_disjoint(&before.difference(&pods_of(&world)).cloned().collect()),
        "no pod of the old world is left"
    );
    println!(
        "fault kubernetes restart (different world): new world live {:.1}s after the server came back",
        recovered.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_500_answers_are_errors_with_reasons() {
    let mut rig = rig("calm").await;
    rig.until("pods and claims live", DEADLINE, both_live).await;
    for fault in [Fault::Http500, Fault::Garbage, Fault::Reset] {
        rig.proxy.set(fault);
        let detected = rig
            .until(
                &format!("pods in error ({fault:?})"),
                DETECT_WITHIN,
                |app| matches!(freshness(app, KUBE), Freshness::Error { .. }),
            )
            .await;
        let Freshness::Error { reason, .. } = freshness(&rig.console.app, KUBE) else {
            unreachable!()
        };
        assert!(
            !reason.contains('\u{1b}') && reason.contains(&rig.proxy.host_port()),
            "{fault:?}: a clean reason naming the server: {reason:?}"
        );
        rig.hold("no live while faulted", Duration::from_secs(3), |app| {
            freshness(app, KUBE) != Freshness::Live
        })
        .await;
        rig.proxy.set(Fault::Pass);
        let recovered = rig.until("live again", DEADLINE, both_live).await;
        println!(
            "fault kubernetes {fault:?}: error after {:.1}s, live {:.1}s after the fault ended",
            detected.as_secs_f64(),
            recovered.as_secs_f64()
        );
    }
}
