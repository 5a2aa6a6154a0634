//! The platform checks (issue 16) in the console, against the simulator through kube's real
//! client: objects created with stock `kubectl apply` (JSON and YAML) appear in the views and
//! the snapshot with the right verdict; without the metrics API or cert-manager the console
//! says so once and the rest works; Enter on an event goes to its object.

use std::time::Duration;

use crate::sim_kubectl::Kubectl;
use crate::support::headless::{Headless, char_key, key, screen};
use crossterm::event::KeyCode;
use watchfloor::app::App;
use watchfloor::app::pane::PodsMode;
use watchfloor::data::MetricsState;
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor_sim::Scenario;

// A bound for failure, not a timing goal.
const DEADLINE: Duration = Duration::from_secs(90);

/// A console watching `kubectl`'s simulator, with the incident's backup named.
fn console(kubectl: &Kubectl) -> Headless {
    let kubeconfig = kubectl.dir.path().join("console-kubeconfig");
    kubectl.sim.write_kubeconfig(&kubeconfig, "sim").unwrap();
    Headless::start(
        &format!(
            "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n\
             [targets.platform]\nmetrics_interval = \"1s\"\n\
             [[targets.backups]]\nnamespace = \"babylon-backup\"\ncronjob = \"babylon-db-backup\"\n",
            kubeconfig.display().to_string()
        ),
        ReadOnlyInputs::default(),
    )
}

fn platform_live(app: &App) -> bool {
    app.data
        .sources
        .iter()
        .any(|s| s.kind == "platform" && matches!(s.state, SourceState::Live))
}

/// Types `:command` and Enter.
fn command(console: &mut Headless, text: &str) {
    console.press(char_key(':'));
    console.press_str(text);
    console.press(key(KeyCode::Enter));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applied_objects_appear_in_the_views_and_the_snapshot_with_their_verdicts() {
    let Some(kubectl) = Kubectl::start("incident").await else {
        return;
    };
    let mut console = console(&kubectl);
    console
        .settle_until("the platform's first lists", DEADLINE, |app| {
            platform_live(app) && !app.data.kube.cronjobs.is_empty()
        })
        .await;
    // A node under DiskPressure, as YAML (a Node has no status subresource: apply keeps it).
    let node_yaml = kubectl.dir.path().join("node.yaml");
    std::fs::write(
        &node_yaml,
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: applied-node\n  labels:\n    node-role.kubernetes.io/worker: \"\"\n\
         status:\n  conditions:\n  - type: Ready\n    status: \"True\"\n  - type: DiskPressure\n    status: \"True\"\n    reason: KubeletHasDiskPressure\n    message: kubelet has disk pressure\n  allocatable:\n    cpu: \"4\"\n    memory: 16Gi\n    pods: \"110\"\n",
    )
    .unwrap();
    kubectl
        .ok(&["apply", "-f", node_yaml.to_str().unwrap()])
        .await;
    // A CronJob that runs every 15 minutes, as JSON; and an HPA whose maximum its target
    // already has (the incident's platform-v2-api runs 3 replicas).
    let json_file = kubectl.dir.path().join("objects.json");
    std::fs::write(
        &json_file,
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "batch/v1", "kind": "CronJob",
             "metadata": {"name": "cache-warmer", "namespace": "platform-v2-stable"},
             "spec": {"schedule": "*/15 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                 "restartPolicy": "OnFailure",
                 "containers": [{"name": "warm", "image": "registry.example.com/warm:1"}]}}}}}},
            {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": {"name": "applied-hpa", "namespace": "platform-v2-stable"},
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": "platform-v2-api"},
                      "minReplicas": 1, "maxReplicas": 3,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                          "target": {"type": "Utilization", "averageUtilization": 70}}}]}}
        ]})
        .to_string(),
    )
    .unwrap();
    kubectl
        .ok(&["apply", "-f", json_file.to_str().unwrap()])
        .await;
    let node = (String::new(), "applied-node".to_string());
    let cronjob = ("platform-v2-stable".to_string(), "cache-warmer".to_string());
    let hpa = ("platform-v2-stable".to_string(), "applied-hpa".to_string());
    console
        .settle_until("the applied objects, by watch", DEADLINE, |app| {
            let kube = &app.data.kube;
            kube.nodes.contains_key(&node)
                && kube.cronjobs.contains_key(&cronjob)
                && kube.hpas.get(&hpa).is_some_and(|h| h.at_max)
        })
        .await;
    let kube = &console.app.data.kube;
    let (health, why) = &kube.node_checks["applied-node"];
    assert_eq!(*health, Health::Crit, "{why}");
    assert!(why.contains("DiskPressure"), "{why}");
    // Just created: not stale, it has had no chance to run yet.
    let check = &kube.cronjob_checks[&cronjob];
    assert_eq!(check.health, Health::Ok, "{check:?}");
    assert!(!check.stale);
    assert_eq!(kube.hpas[&hpa].health, Health::Warn);
    // The incident's backup is stale; the summary line says so for every view.
    assert!(
        kube.platform
            .headline()
            .contains(&"backups: 1 stale".to_string())
    );
    assert_eq!(kube.platform.nodes_by_problem.get("DiskPressure"), Some(&2));

    // The views: `:nodes` worst first, `:cronjobs`, `:hpa`.
    command(&mut console, "nodes");
    console.press(char_key('z'));
    assert_eq!(console.app.view.panes[0].mode, PodsMode::Nodes);
    let text = screen(&console.app, (200, 40));
    assert!(text.contains("Pods › nodes"), "{text}");
    assert!(text.contains("applied-node"), "{text}");
    assert!(text.contains("nodes: 2 DiskPressure"), "{text}");
    command(&mut console, "cronjobs");
    let text = screen(&console.app, (200, 40));
    assert!(text.contains("babylon-db-backup (backup)"), "{text}");
    assert!(text.contains("stale: last job"), "{text}");
    assert!(text.contains("cache-warmer"), "{text}");
    command(&mut console, "hpa");
    let text = screen(&console.app, (200, 40));
    assert!(text.contains("applied-hpa"), "{text}");
    assert!(text.contains("at max replicas"), "{text}");

    // The snapshot (`Y`'s) says the same.
    let snapshot = watchfloor::app::incident::snapshot_of(
        &console.app.data,
        false,
        std::time::SystemTime::now(),
    );
    let doc = serde_json::to_value(&snapshot).unwrap();
    let nodes = doc["nodes"]["items"].as_array().unwrap();
    let applied = nodes.iter().find(|n| n["name"] == "applied-node").unwrap();
    assert_eq!(applied["health"], "crit", "{applied}");
    let workloads = doc["workloads"]["items"].as_array().unwrap();
    let warmer = workloads
        .iter()
        .find(|w| w["name"] == "cache-warmer")
        .unwrap();
    assert_eq!(warmer["stale"], false, "{warmer}");
    let hpa_item = workloads
        .iter()
        .find(|w| w["name"] == "applied-hpa")
        .unwrap();
    assert_eq!(hpa_item["at_max"], true, "{hpa_item}");
    kubectl.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_or_cert_manager_the_console_says_so_once_and_the_rest_works() {
    let scenario = Scenario::builtin("incident")
        .unwrap()
        .with_metrics_api(false)
        .with_cert_manager(false);
    let Some(kubectl) = Kubectl::start_with(scenario).await else {
        return;
    };
    let mut console = console(&kubectl);
    console
        .settle_until(
            "the platform without metrics or cert-manager",
            DEADLINE,
            |app| {
                let kube = &app.data.kube;
                platform_live(app)
                    && matches!(kube.metrics, MetricsState::Missing(_))
                    && kube.cert_manager == Some(false)
                    && !kube.certificates.is_empty()
                    && !kube.pods.is_empty()
            },
        )
        .await;
    let kube = &console.app.data.kube;
    // Without cert-manager, the Ingress TLS Secrets are the certificates, parsed from PEM.
    let catalog = kube
        .certificates
        .values()
        .find(|c| c.name == "babylon-catalog-ui-tls")
        .unwrap_or_else(|| panic!("{:#?}", kube.certificates));
    assert_eq!(catalog.ready, Some(true), "{catalog:?}");
    assert!(catalog.not_after.is_some());
    // Said once: in the summary, not per pod; the usage columns stay empty.
    console.press(char_key('z'));
    let text = screen(&console.app, (200, 40));
    assert_eq!(text.matches("metrics: unavailable").count(), 1, "{text}");
    assert!(
        !text.contains("CPU "),
        "no usage column without usage: {text}"
    );
    // Every source live: a missing API is not an error of the pane.
    assert!(
        console
            .app
            .data
            .sources
            .iter()
            .all(|s| matches!(s.state, SourceState::Live)),
        "{:#?}",
        console.app.data.sources
    );
    command(&mut console, "certs");
    let text = screen(&console.app, (200, 40));
    assert!(text.contains("babylon-catalog-ui-tls"), "{text}");
    assert!(text.contains("ingress "), "{text}");
    kubectl.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_on_a_warning_event_goes_to_its_object() {
    let Some(kubectl) = Kubectl::start("incident").await else {
        return;
    };
    let mut console = console(&kubectl);
    console
        .settle_until("warning events", DEADLINE, |app| {
            app.data
                .kube
                .event_groups
                .iter()
                .any(|g| g.involved_kind == "Node")
                && !app.data.kube.nodes.is_empty()
        })
        .await;
    command(&mut console, "events");
    console.press(char_key('/'));
    console.press_str("Node/");
    console.press(key(KeyCode::Enter));
    console.app.prepare_view();
    assert_eq!(console.app.view.visible.platform.len(), 1);
    console.press(key(KeyCode::Enter));
    console.app.prepare_view();
    let view = &console.app.view.panes[0];
    assert_eq!(view.mode, PodsMode::Nodes);
    let selected = &console.app.view.visible.platform[view.selected];
    assert_eq!(selected.1, "sim-node-2", "the node the event is about");
    kubectl.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_kind_is_left_out_and_said_once_while_the_rest_stays_live() {
    let Some(kubectl) = Kubectl::start("incident").await else {
        return;
    };
    // Namespace-scoped RBAC: nodes may not be listed.
    kubectl
        .sim
        .world()
        .add_rule(watchfloor_sim::Rule::deny("list", "", "nodes", ""));
    let mut console = console(&kubectl);
    console
        .settle_until("the platform without nodes", DEADLINE, |app| {
            platform_live(app)
                && app.data.kube.unavailable.contains_key("nodes")
                && !app.data.kube.cronjobs.is_empty()
        })
        .await;
    assert!(console.app.data.kube.nodes.is_empty());
    assert!(
        console.app.data.kube.unavailable["nodes"].starts_with("forbidden"),
        "{:?}",
        console.app.data.kube.unavailable
    );
    command(&mut console, "nodes");
    let text = screen(&console.app, (160, 40));
    assert!(text.contains("nodes are not watched: forbidden"), "{text}");
    assert!(text.contains("Pods › nodes · live"), "{text}");
    kubectl.sim.shutdown().await;
}
