//! The YAML view (`y`): drawn at 80x24 (snapshot), and end to end against the simulated API
//! server: a deployment's YAML as the server has it (no managedFields, hostile text made safe),
//! a refused GET shown in the view, and a GET of one object of every kind the console shows.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent};
use serde_json::json;
use watchfloor::app::pane::PaneId;
use watchfloor::app::{Action, App, Effect};
use watchfloor::config::{KubernetesConfig, parse};
use watchfloor::data::{KubeUpdate, ObjectRef, RowUpdate};
use watchfloor::event::{SourceEvent, SourceState};
use watchfloor::model::deployments::deployment_row;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

use crate::support::headless::{Headless, drawn, key, screen};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The Deployment as an API server answers a GET, in its order (Go's field order: kind and
/// apiVersion, then metadata with the name first), managedFields included.
const DEPLOYMENT: &str = r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"babylon-catalog-api","namespace":"default","uid":"5f0c6a2e-6c1d-4a57-9a55-0b6f3c1f2a11","resourceVersion":"48211","generation":8,"creationTimestamp":"2027-01-01T00:00:00Z","labels":{"app":"babylon-catalog-api"},"annotations":{"deployment.kubernetes.io/revision":"8"},"managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1","time":"2027-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}]},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"babylon-catalog-api"}},"template":{"metadata":{"labels":{"app":"babylon-catalog-api"}},"spec":{"containers":[{"name":"api","image":"quay.io/gpte/babylon-catalog-api:7.0.0","args":["--listen=:8080","--catalog-namespaces=babylon-catalog-prod,babylon-catalog-dev,babylon-catalog-test"],"env":[{"name":"DATABASE_PASSWORD","value":"hunter2"}]}]}},"strategy":{"type":"RollingUpdate"}},"status":{"observedGeneration":8,"replicas":3,"readyReplicas":2,"availableReplicas":2}}"#;

/// A console whose Pods pane lists the deployment, its YAML asked for and answered 3 s ago.
fn yaml_app() -> App {
    let config = parse(
        Path::new("yaml.toml"),
        "[[targets]]\nname = \"babylon\"\n[targets.kubernetes]\nnamespaces = [\"default\"]\n",
    )
    .unwrap();
    let mut app = App::new(
        Arc::new(config),
        "yaml.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::State {
        generation,
        index: 0,
        state: SourceState::Live,
        at: t0(),
    }));
    let deployment = serde_json::from_str(DEPLOYMENT).unwrap();
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Deployments(RowUpdate::Upsert(deployment_row(&deployment))),
    }));
    app.prepare_view();
    let mut effects = Vec::new();
    for c in ['v', 'y'] {
        effects.extend(app.update(Action::Key(KeyEvent::from(KeyCode::Char(c)))));
        app.prepare_view();
    }
    // The deployment's access reviews (asked when `v` selects it) are not this test's business.
    effects.retain(|e| !matches!(e, Effect::CheckPermissions { .. }));
    let object = ObjectRef::deployment("default", "babylon-catalog-api");
    assert_eq!(
        effects,
        [Effect::OpenYaml {
            generation,
            object: object.clone()
        }]
    );
    let text = watchfloor::yaml::object_yaml(DEPLOYMENT).unwrap();
    app.update(Action::Backend(SourceEvent::Yaml {
        generation,
        object,
        yaml: Ok(text),
    }));
    app.update(Action::Tick(t0() + Duration::from_secs(3)));
    app.prepare_view();
    app
}

#[test]
fn render_yaml_view_80x24() {
    let mut app = yaml_app();
    let first = drawn(&app.screen(), (80, 24));
    assert!(
        first.contains("YAML · deployment/default/babylon-catalog-api · fetched 3s ago · top"),
        "{first}"
    );
    assert!(
        first.contains("kind: Deployment") && first.contains("spec:"),
        "{first}"
    );
    assert!(
        !first.contains("managedFields") && !first.contains("hunter2"),
        "{first}"
    );
    insta::assert_snapshot!("yaml_view_80x24", first);

    // The long `args` line wraps; scrolling counts its rows and stops at the last page.
    app.update(Action::Key(KeyEvent::from(KeyCode::End)));
    app.prepare_view();
    let end = drawn(&app.screen(), (80, 24));
    assert!(
        end.contains("availableReplicas: 2") && end.contains("· end"),
        "{end}"
    );
    // Cut at the width, the rest indented under the value it continues.
    let rows: Vec<&str> = end.lines().collect();
    let long = rows
        .iter()
        .position(|r| r.contains("- --catalog-namespaces=babylon-catalog-prod"))
        .unwrap_or_else(|| panic!("the long line:\n{end}"));
    assert!(
        rows[long + 1].starts_with("┃            ") && rows[long + 1].contains("test"),
        "the rest of the long line:\n{end}"
    );
    app.update(Action::Key(KeyEvent::from(KeyCode::PageUp)));
    app.prepare_view();
    let back = drawn(&app.screen(), (80, 24));
    assert!(back.contains('%') || back.contains("· top"), "{back}");

    // Esc: the deployments list again, the deployment still selected.
    assert_eq!(
        app.update(Action::Key(KeyEvent::from(KeyCode::Esc))),
        [Effect::CloseYaml]
    );
    app.prepare_view();
    let list = drawn(&app.screen(), (80, 24));
    assert!(
        !list.contains("YAML ·") && list.contains("babylon-catalog-api"),
        "{list}"
    );
}

/// The simulator, a kubeconfig for it, and a headless console watching it.
struct Fixture {
    sim: Sim,
    dir: tempfile::TempDir,
}

async fn start_sim() -> Fixture {
    let sim = Sim::start(
        Scenario::builtin("incident").expect("scenario"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: None,
            speed: 1.0,
        },
    )
    .await
    .expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    sim.write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
        .expect("kubeconfig");
    Fixture { sim, dir }
}

const NS: &str = "platform-v2-stable";
const API: &str = "platform-v2-api";

fn lines_shown(app: &App) -> Option<Result<Vec<String>, String>> {
    let (_, answer) = app.screen().yaml(PaneId::Pods)?;
    Some(answer?.lines.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_on_a_deployment_shows_the_servers_yaml_made_safe() {
    let fx = start_sim().await;
    let world = fx.sim.world();
    // As a real API server has it: managedFields, and an annotation (any text is valid there)
    // carrying an OSC title change, a colour and a right-to-left override.
    world
        .mutate(Res::Deployment, NS, API, |d| {
            d["metadata"]["managedFields"] = json!([{"manager": "kube-controller-manager",
                "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:replicas": {}}}}]);
            d["metadata"]["annotations"]["note"] =
                json!("\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{202e}txet");
        })
        .expect("the deployment exists");
    let config = format!(
        "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = \"{}\"\ncontext = \"sim\"\n",
        fx.dir.path().join("kubeconfig").display()
    );
    let mut console = Headless::start(&config, ReadOnlyInputs::default());
    let key_of = (NS.to_string(), API.to_string());
    console
        .settle_until("the deployment's row", Duration::from_secs(60), |app| {
            app.data.kube.deployments.contains_key(&key_of)
        })
        .await;
    // The deployments view, filtered to this one deployment.
    console.press_str("v/^platform-v2-stable platform-v2-api ");
    console.press(key(KeyCode::Enter));
    assert_eq!(
        console.app.screen().yaml_target(PaneId::Pods),
        Ok(ObjectRef::deployment(NS, API))
    );
    console.press_str("y");
    console
        .settle_until("the YAML", Duration::from_secs(30), |app| {
            lines_shown(app).is_some()
        })
        .await;
    let lines = lines_shown(&console.app)
        .unwrap()
        .expect("the YAML, not an error");
    let has = |line: &str| lines.iter().any(|l| l == line);
    assert!(
        has("kind: Deployment") && has("apiVersion: apps/v1"),
        "{lines:#?}"
    );
    assert!(has(&format!("  name: {API}")) && has("spec:"), "{lines:#?}");
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("managedFields") || l.contains("f:status")),
        "{lines:#?}"
    );
    // The emitter escapes the controls; the sanitiser drops the override.
    let note = lines
        .iter()
        .find(|l| l.contains("note:"))
        .expect("the annotation");
    assert!(note.contains("red") && note.contains("txet"), "{note:?}");
    assert!(
        !note.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{note:?}"
    );
    let drawn = screen(&console.app, (120, 40));
    assert!(
        drawn.contains(&format!("YAML · deployment/{NS}/{API} · fetched")),
        "{drawn}"
    );
    assert!(
        !drawn.contains('\u{1b}') && !drawn.contains('\u{202e}'),
        "{drawn:?}"
    );

    // Refused: the reason is shown in the view, nothing panics.
    world.deny("get", "apps", "deployments", "*");
    console.press_str("y");
    console
        .settle_until("the refusal", Duration::from_secs(30), |app| {
            matches!(lines_shown(app), Some(Err(_)))
        })
        .await;
    let Some(Err(reason)) = lines_shown(&console.app) else {
        unreachable!()
    };
    assert!(reason.contains("forbid"), "{reason}");
    let drawn = screen(&console.app, (120, 40));
    assert!(drawn.contains("cannot show deployment/"), "{drawn}");

    // Esc: back to the deployments list, the deployment selected.
    console.press(key(KeyCode::Esc));
    assert!(console.app.view.panes[PaneId::Pods.index()].yaml.is_none());
    assert_eq!(
        console.app.screen().yaml_target(PaneId::Pods),
        Ok(ObjectRef::deployment(NS, API))
    );
    assert_eq!(console.effects_seen().last(), Some(&Effect::CloseYaml));
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_serves_one_object_of_every_kind_the_console_shows() {
    let fx = start_sim().await;
    let world = fx.sim.world();
    let config = KubernetesConfig {
        kubeconfig: Some(fx.dir.path().join("kubeconfig")),
        context: Some("sim".into()),
        namespaces: Vec::new(),
        label_selector: None,
    };
    let kinds = [
        (Res::Pod, "", "pods"),
        (Res::Deployment, "apps", "deployments"),
        (Res::ReplicaSet, "apps", "replicasets"),
        (Res::StatefulSet, "apps", "statefulsets"),
        (Res::DaemonSet, "apps", "daemonsets"),
        (
            Res::ResourceClaim,
            "poolboy.gpte.redhat.com",
            "resourceclaims",
        ),
    ];
    for (res, group, plural) in kinds {
        let objects = world.list(res, None);
        let first = objects
            .first()
            .unwrap_or_else(|| panic!("the incident scenario has no {plural}"));
        let object = ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: res.kind().into(),
            plural: plural.into(),
            namespace: first["metadata"]["namespace"].as_str().map(String::from),
            name: first["metadata"]["name"].as_str().unwrap().into(),
        };
        let yaml = watchfloor::sources::yaml::fetch(&config, &object)
            .await
            .unwrap_or_else(|e| panic!("GET {}: {e}", object.label()));
        assert!(
            yaml.contains(&format!("kind: {}\n", res.kind()))
                && yaml.contains(&format!("  name: {}\n", object.name)),
            "{}:\n{yaml}",
            object.label()
        );
    }
    // A missing object: the server's 404, said.
    let missing = ObjectRef::pod(NS, "no-such-pod");
    let error = watchfloor::sources::yaml::fetch(&config, &missing)
        .await
        .unwrap_err();
    assert!(error.contains("not found"), "{error}");
    fx.sim.shutdown().await;
}
