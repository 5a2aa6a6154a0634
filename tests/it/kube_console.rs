//! The console's Kubernetes sources against the simulated API server, through kube's real
//! client: initial sync, changes by watch, the 410 relist, server errors and recovery, a missing
//! CRD, claim classification, and `watchfloor snapshot` agreeing with the cluster.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;
use watchfloor::app::{Action, App};
use watchfloor::config::parse;
use watchfloor::event::SourceState;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::sources::{self, SourceSet};
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

// A bound for failure, not a timing goal: generous so a loaded CI machine does not flake.
const DEADLINE: Duration = Duration::from_secs(90);

struct Console {
    sim: Sim,
    app: App,
    rx: mpsc::Receiver<watchfloor::event::SourceEvent>,
    _sources: SourceSet,
    dir: tempfile::TempDir,
}

/// A console whose target watches the simulator, with `claims` as extra config.
async fn console(scenario: &str, claims: &str) -> Console {
    let sim = Sim::start(
        Scenario::builtin(scenario).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "sim").unwrap();
    let text = format!(
        "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n{claims}",
        kubeconfig.display().to_string()
    );
    std::fs::write(dir.path().join("config.toml"), &text).unwrap();
    let config = Arc::new(parse(Path::new("config.toml"), &text).unwrap());
    let app = App::new(
        Arc::clone(&config),
        "config.toml".into(),
        0,
        ReadOnlyInputs::default(),
        SystemTime::now(),
    );
    let (tx, rx) = mpsc::channel(4096);
    let sources = sources::start(&config.targets[0], app.data.generation, tx);
    Console {
        sim,
        app,
        rx,
        _sources: sources,
        dir,
    }
}

impl Console {
    /// Applies source reports until `done` holds, or panics at the deadline.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&App) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.app.prepare_view();
            if done(&self.app) {
                return;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(action)) => {
                    self.app.update(Action::Backend(action));
                }
                Ok(None) => panic!("sources ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; sources: {:#?}",
                    self.app.data.sources
                ),
            }
        }
    }

    fn state(&self, kind: &str) -> &SourceState {
        &self
            .app
            .data
            .sources
            .iter()
            .find(|s| s.kind == kind)
            .unwrap()
            .state
    }

    /// Runs `watchfloor snapshot --config PATH [extra]` against this console's simulator.
    async fn snapshot(
        &self,
        config: &Path,
        extra: &[&str],
    ) -> (std::process::Output, serde_json::Value) {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .arg("snapshot")
            .args(extra)
            .arg("--config")
            .arg(config)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path())
            .output()
            .await
            .unwrap();
        let doc = serde_json::from_slice(&output.stdout).unwrap();
        (output, doc)
    }

    fn world_pods(&self) -> usize {
        self.sim.world().count(Res::Pod)
    }
}

/// Every source of the target live: the pods' and the platform checks' initial lists are in.
fn all_live(app: &App) -> bool {
    app.data
        .sources
        .iter()
        .all(|s| matches!(s.state, SourceState::Live))
}

const POOLBOY: &str = r#"
[[targets.claims]]
name = "resourceclaims"
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_then_changes_arrive_by_watch_only() {
    let mut c = console("incident", "").await;
    let pods = c.world_pods();
    // Every source's initial lists: the pods' and the platform checks' (workloads, nodes,
    // events, certificates), which list beside them.
    c.until("initial sync", |app| {
        app.data.kube.pods.len() == pods && all_live(app)
    })
    .await;
    assert_eq!(c.app.data.kube_context.as_deref(), Some("sim"));
    let crash = c
        .app
        .data
        .kube
        .pods
        .values()
        .find(|p| p.name.starts_with("anarchy-operator"))
        .unwrap();
    assert_eq!(crash.status, "CrashLoopBackOff");
    assert!(
        c.app
            .data
            .kube
            .deployments
            .values()
            .any(|d| d.name == "platform-v2-api" && d.revision == Some(7))
    );
    let lists_after_sync = c.sim.faults().list_count();

    // One change in the cluster reaches the pane's state as one watch event.
    c.sim
        .world()
        .add_pod("poolboy", "watch-me", "quay.io/x:1", &[("app", "watch-me")]);
    c.until("the new pod", |app| {
        app.data
            .kube
            .pods
            .contains_key(&("poolboy".into(), "watch-me".into()))
    })
    .await;
    c.sim.world().remove(Res::Pod, "poolboy", "watch-me");
    c.until("the pod's removal", |app| {
        !app.data
            .kube
            .pods
            .contains_key(&("poolboy".into(), "watch-me".into()))
    })
    .await;
    assert_eq!(
        c.sim.faults().list_count(),
        lists_after_sync,
        "no LIST after the initial sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_history_relists_and_loses_nothing() {
    let mut c = console("incident", "").await;
    let pods = c.world_pods();
    c.until("initial sync", |app| app.data.kube.pods.len() == pods)
        .await;
    let lists = c.sim.faults().list_count();
    c.sim.faults().compact_history();
    c.sim
        .world()
        .add_pod("poolboy", "after-compaction", "quay.io/x:1", &[]);
    c.sim.faults().drop_watches();
    c.until("the relist to bring the new pod", |app| {
        app.data
            .kube
            .pods
            .contains_key(&("poolboy".into(), "after-compaction".into()))
    })
    .await;
    assert!(c.sim.faults().list_count() > lists, "the 410 path relists");
    c.until("every pod", |app| app.data.kube.pods.len() == pods + 1)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_show_in_the_pane_and_recover() {
    let mut c = console("calm", "").await;
    let pods = c.world_pods();
    c.until("initial sync", |app| {
        app.data.kube.pods.len() == pods && all_live(app)
    })
    .await;
    // Enough failures for every watch that comes back: the platform checks' source re-watches
    // its kinds too and would otherwise take the few failures before the pods' watches do.
    c.sim.faults().fail_next(500, 40);
    c.sim.faults().drop_watches();
    c.until("an error state", |app| {
        matches!(app.data.sources[0].state, SourceState::Error { .. })
    })
    .await;
    let SourceState::Error { reason, retry_at } = c.state("kubernetes").clone() else {
        unreachable!()
    };
    assert!(!reason.is_empty() && retry_at.is_some(), "{reason}");
    assert_eq!(
        c.app.data.kube.pods.len(),
        pods,
        "the last good data is kept while failing"
    );
    c.sim
        .world()
        .add_pod("default", "after-outage", "quay.io/x:1", &[]);
    c.until("recovery with the change", |app| {
        app.data
            .kube
            .pods
            .contains_key(&("default".into(), "after-outage".into()))
    })
    .await;
    c.until("live again", |app| {
        matches!(app.data.sources[0].state, SourceState::Live)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_is_reported() {
    let mut c = console("calm", "").await;
    c.sim.faults().fail_next(403, 200);
    c.until("a forbidden error", |app| {
        matches!(&app.data.sources[0].state, SourceState::Error { reason, .. } if reason.contains("403") || reason.to_lowercase().contains("forbidden"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_classified_with_why() {
    let mut c = console("incident", POOLBOY).await;
    c.until("claims", |app| {
        app.data
            .kube
            .claims
            .get(&0)
            .is_some_and(|rows| !rows.is_empty())
    })
    .await;
    let rows = &c.app.data.kube.claims[&0];
    let stuck: Vec<_> = rows.iter().filter(|r| r.stuck).collect();
    assert!(
        stuck
            .iter()
            .any(|r| r.state == "provisioning" && r.why.contains("provisioning for 3h")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.why.contains("approval pending")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| !r.stuck),
        "healthy claims are not stuck: {rows:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_crd_is_said_so_without_error_looping() {
    let missing = POOLBOY.replace("poolboy.gpte.redhat.com", "nothing.example.com");
    let mut c = console("calm", &missing).await;
    c.until("the claims source to say the CRD is missing", |app| {
        app.data.sources.iter().any(|s| matches!(&s.state, SourceState::Unavailable { reason } if reason.contains("not installed")))
    })
    .await;
    let discovery = |c: &Console| {
        c.sim
            .faults()
            .requests()
            .iter()
            .filter(|r| r.path.contains("nothing.example.com"))
            .count()
    };
    let before = discovery(&c);
    // Let the other sources run for a while: the missing CRD is not asked about again soon.
    let pods = c.world_pods();
    c.until("pods", |app| app.data.kube.pods.len() == pods)
        .await;
    assert!(
        discovery(&c) <= before + 1,
        "no error loop against a missing CRD"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_initial_list_of_a_large_cluster() {
    let mut c = console("large", "").await;
    let pods = c.world_pods();
    assert_eq!(pods, 10_000);
    c.until("all 10,000 pods", |app| app.data.kube.pods.len() == pods)
        .await;
    let pages = c
        .sim
        .faults()
        .requests()
        .iter()
        .filter(|r| r.is_list() && r.path.ends_with("/pods"))
        .count();
    assert!(pages >= 20, "pages of 500: {pages}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_agrees_with_the_cluster() {
    let c = console("incident", POOLBOY).await;
    let config = c.dir.path().join("config.toml");
    let (output, doc) = c.snapshot(&config, &[]).await;
    assert_eq!(doc["pods"]["state"], "ok", "{doc:#}");
    let items = doc["pods"]["items"].as_array().unwrap();
    assert_eq!(items.len(), c.world_pods());
    assert_eq!(items[0]["health"], "crit", "worst first");
    assert!(
        items
            .iter()
            .any(|p| p["status"] == "CrashLoopBackOff" && p["restarts"].as_u64().unwrap() > 0)
    );
    for key in [
        "namespace",
        "name",
        "status",
        "reason",
        "restarts",
        "ready",
        "age_seconds",
    ] {
        assert!(items[0].get(key).is_some(), "pods items have {key}");
    }
    let deployments = doc["deployments"]["items"].as_array().unwrap();
    assert_eq!(deployments.len(), c.sim.world().count(Res::Deployment));
    let v2 = deployments
        .iter()
        .find(|d| d["name"] == "platform-v2-api")
        .unwrap();
    assert_eq!(v2["revision"], 7);
    assert_eq!(v2["rollout"], "stalled");
    assert_eq!(doc["claims"]["state"], "ok");
    let claims = doc["claims"]["items"].as_array().unwrap();
    assert!(
        claims
            .iter()
            .any(|c| c["stuck"] == true && c["why"].as_str().unwrap().contains("provisioning"))
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "every configured kube source answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_flag_overrides_the_target() {
    let c = console("calm", "").await;
    let (output, doc) = c
        .snapshot(
            &c.dir.path().join("config.toml"),
            &["--context", "no-such-context"],
        )
        .await;
    assert_eq!(doc["pods"]["state"], "error");
    assert!(
        doc["pods"]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-context"),
        "{doc:#}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_reports_log_sources() {
    let logs = r#"
[[targets.logs]]
source = "kubernetes"
namespace = "platform-v2-stable"
workload = "deploy/platform-v2-api"
[[targets.logs]]
source = "file"
path = "/nonexistent/watchfloor/*.log"
"#;
    let c = console("incident", logs).await;
    let (_, doc) = c.snapshot(&c.dir.path().join("config.toml"), &[]).await;
    let items = doc["logs"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{doc:#}");
    let pods = &items[0];
    assert_eq!(pods["state"], "ok", "{doc:#}");
    assert!(
        pods["streams"].as_u64().unwrap() >= 3 && pods["lines_seen"].as_u64().unwrap() > 0,
        "{doc:#}"
    );
    assert!(
        pods["last_line_at"]
            .as_str()
            .is_some_and(|t| t.contains('T')),
        "{doc:#}"
    );
    // A glob that matches nothing opens no stream: the section says so.
    assert_eq!(items[1]["state"], "error");
    assert_eq!(doc["logs"]["state"], "error");
    assert!(
        doc["logs"]["error"]
            .as_str()
            .unwrap()
            .contains("no stream opened"),
        "{doc:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_reports_slo_burn_and_health_from_the_simulator() {
    let c = console("incident", "").await;
    let addr = c.sim.addr;
    let extra = format!(
        r#"
[targets.prometheus]
url = "http://{addr}"
[[targets.slo]]
name = "platform-v2-api availability"
objective = 0.995
errors = 'sum(rate(http_requests_total{{namespace="platform-v2-stable",code=~"5.."}}[{{{{window}}}}]))'
total = 'sum(rate(http_requests_total{{namespace="platform-v2-stable"}}[{{{{window}}}}]))'
[[targets.health]]
name = "platform-v2-api"
url = "http://{addr}/healthz/detailed"
"#
    );
    let path = c.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&extra);
    std::fs::write(&path, text).unwrap();
    let (_, doc) = c.snapshot(&path, &[]).await;
    assert_eq!(doc["slo"]["state"], "ok", "{doc:#}");
    let slo = &doc["slo"]["items"][0];
    assert_eq!(slo["name"], "platform-v2-api availability");
    assert_eq!(slo["state"], "page", "the bad rollout pages: {slo:#}");
    assert!(
        slo["burn"]["5m"].as_f64().unwrap() > 14.4 && slo["burn"]["1h"].as_f64().unwrap() > 14.4,
        "{slo:#}"
    );
    let page = slo["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["severity"] == "page" && a["factor"] == 14.4)
        .unwrap();
    assert_eq!(page["firing"], true);
    assert!(slo["budget_remaining"].is_number() && slo["availability"].is_number());
    let health = &doc["health"]["items"][0];
    assert_eq!(health["status"], "degraded", "{health:#}");
    assert_eq!(health["http_status"], 200);
    assert!(health["checks"].as_array().unwrap().len() >= 2);
}
