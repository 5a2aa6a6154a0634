//! Access reviews (SelfSubjectAccessReview) are asked only for what the selected row's
//! remediations need, once per check per minute: a headless console on the simulator, driven
//! through simulated minutes (time enters the console only by `Tick`), counting the reviews the
//! simulator served. Counting requests, not timing them.

use crate::support::headless;

use std::time::{Duration, SystemTime};

use headless::Headless;
use watchfloor::app::{Action, Effect};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

const WAIT: Duration = Duration::from_secs(90);
const REVIEWS: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

struct Bench {
    sim: Sim,
    console: Headless,
    _dir: tempfile::TempDir,
    /// The console's clock: advanced by the test only.
    now: SystemTime,
}

impl Bench {
    async fn start(scenario: &str, read_only: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = Sim::start(
            Scenario::builtin(scenario).expect("scenario"),
            "127.0.0.1:0".parse().expect("addr"),
            SimOptions {
                request_log: Some(dir.path().join("requests.jsonl")),
                speed: 1.0,
            },
        )
        .await
        .expect("sim");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "sim")
            .expect("kubeconfig");
        let text = format!(
            "[audit]\npath = {:?}\n\n[[targets]]\nname = \"sim\"\n\
             [targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n\
             [[targets.operators]]\nname = \"anarchy-operator\"\nnamespace = \"anarchy-operator\"\n\
             selector = \"app=anarchy-operator\"\n",
            dir.path().join("trail.jsonl").display().to_string(),
            kubeconfig.display().to_string()
        );
        let inputs = ReadOnlyInputs {
            flag: read_only,
            ..ReadOnlyInputs::default()
        };
        let console = Headless::start(&text, inputs);
        let now = console.app.view.now;
        Self {
            sim,
            console,
            _dir: dir,
            now,
        }
    }

    /// Waits for every pod of the world and a drawn Pods pane.
    async fn wait_for_rows(&mut self) {
        let pods = self.sim.world().count(Res::Pod);
        self.console
            .settle_until(&format!("all {pods} pods"), WAIT, move |app| {
                app.data.kube.pods.len() == pods
                    && !app.data.kube.deployments.is_empty()
                    && !app.view.visible.pods.is_empty()
            })
            .await;
    }

    /// Every access review question the console asked so far, in order.
    fn asked(&self) -> Vec<String> {
        self.console
            .effects_seen()
            .iter()
            .filter_map(|e| match e {
                Effect::CheckPermissions { checks, .. } => Some(checks),
                _ => None,
            })
            .flatten()
            .map(ToString::to_string)
            .collect()
    }

    /// Reviews the simulator has served so far.
    fn reviews(&self) -> usize {
        self.sim
            .faults()
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == REVIEWS)
            .count()
    }

    /// Waits until every permission question the console asked has its answer, so every review
    /// it caused has reached the simulator.
    async fn answered(&mut self) {
        self.console
            .wait("answers to every permission question", WAIT, |c| {
                let asked = c
                    .effects_seen()
                    .iter()
                    .filter(|e| matches!(e, Effect::CheckPermissions { .. }))
                    .count();
                let answered = c
                    .actions_seen()
                    .iter()
                    .filter(|a| matches!(a, Action::Permissions { .. }))
                    .count();
                answered >= asked
            })
            .await;
    }

    /// `seconds` simulated seconds, one tick each, with nothing pressed; the reviews they
    /// caused.
    async fn idle(&mut self, seconds: u64) -> usize {
        let before = self.reviews();
        for _ in 0..seconds {
            self.now += Duration::from_secs(1);
            self.console.tick(self.now);
            self.console.settle().await;
        }
        self.answered().await;
        self.reviews() - before
    }
}

/// Reviews at start and per simulated minute, for the report.
async fn per_minute(scenario: &str, read_only: bool, minutes: u64) -> (usize, Vec<usize>) {
    let mut b = Bench::start(scenario, read_only).await;
    b.wait_for_rows().await;
    b.answered().await;
    let start = b.reviews();
    let mut each = Vec::new();
    for _ in 0..minutes {
        each.push(b.idle(60).await);
    }
    eprintln!(
        "{scenario} read_only={read_only}: {start} reviews at start, then per simulated minute {each:?}"
    );
    b.sim.shutdown().await;
    (start, each)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_consoles_ask_no_access_reviews() {
    let mut seen = Vec::new();
    for scenario in ["incident", "large"] {
        let (start, each) = per_minute(scenario, true, 3).await;
        seen.push((scenario, start, each.iter().sum::<usize>()));
    }
    for (scenario, start, later) in seen {
        assert_eq!(
            (start, later),
            (0, 0),
            "{scenario}: nothing is offered in read-only mode, so nothing is asked"
        );
    }
}

/// The checks a selected pod of a Deployment needs: patch deployments (restart, undo), list
/// replicasets (undo), patch deployments/scale, delete pods.
const POD_CHECKS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_console_asks_once_per_check_per_minute() {
    let mut seen = Vec::new();
    for scenario in ["incident", "large"] {
        seen.push((scenario, per_minute(scenario, false, 3).await));
    }
    for (scenario, (start, each)) in seen {
        assert!(
            start <= POD_CHECKS + 1,
            "{scenario}: the selected pod's checks, once: {start}"
        );
        for (minute, n) in each.iter().enumerate() {
            assert!(
                *n <= POD_CHECKS + 1,
                "{scenario}: minute {minute}: {n} reviews for an unchanged selection"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_cursor_asks_only_for_new_namespaces_and_nothing_within_the_minute() {
    let mut b = Bench::start("incident", false).await;
    b.wait_for_rows().await;
    b.answered().await;
    let start = b.reviews();
    // Walk every pod row, then every deployment row, within the same minute.
    let rows = b.console.app.view.visible.pods.len();
    let mut namespaces = std::collections::BTreeSet::new();
    for _ in 0..rows {
        if let Some((ns, _)) = b
            .console
            .app
            .view
            .visible
            .pods
            .get(b.console.app.view.panes[0].selected)
        {
            namespaces.insert(ns.clone());
        }
        b.console.press_str("j");
        b.console.settle().await;
    }
    b.console.press_str("v");
    for _ in 0..b.console.app.view.visible.deployments.len() {
        b.console.press_str("j");
        b.console.settle().await;
    }
    b.answered().await;
    let walked = b.reviews() - start;
    eprintln!(
        "walking {rows} pods in {} namespaces and every deployment: {walked} reviews",
        namespaces.len()
    );
    // Each (verb, resource, namespace) once: a pod's four checks per namespace, a
    // StatefulSet's or DaemonSet's restart check where one owns a pod.
    assert!(
        start + walked <= (POD_CHECKS + 2) * namespaces.len(),
        "{} reviews for {} namespaces",
        start + walked,
        namespaces.len()
    );
    // No question twice within the minute.
    let asked = b.asked();
    let distinct: std::collections::BTreeSet<&String> = asked.iter().collect();
    assert_eq!(asked.len(), distinct.len(), "{asked:#?}");
    assert_eq!(asked.len(), start + walked, "one review per question");
    // Walking back over the same rows within the minute asks nothing.
    let before = b.reviews();
    for _ in 0..b.console.app.view.visible.deployments.len() {
        b.console.press_str("k");
        b.console.settle().await;
    }
    b.answered().await;
    assert_eq!(b.reviews(), before, "cached answers are not asked again");
    // Nothing pressed for most of a minute: nothing asked.
    assert_eq!(b.idle(50).await, 0);
    b.sim.shutdown().await;
}
