//! Big lists and the deployment detail through TestBackend: the sort column marked in the
//! header, unhealthy rows only (said in the title), where the cursor is (`row N/M`), PgDn by
//! the rows the table shows, and a deployment's conditions, ReplicaSets and pods.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use watchfloor::app::{Action, App};
use watchfloor::config::parse;
use watchfloor::data::{KubeUpdate, ReplicaSetRow, RowUpdate};
use watchfloor::event::{SourceEvent, SourceState};
use watchfloor::model::deployments::deployment_row;
use watchfloor::model::pods::pod_row;
use watchfloor::policy::ReadOnlyInputs;

use crate::support::headless::drawn;

const CONFIG: &str = r#"
[[targets]]
name = "platform"
[targets.kubernetes]
namespaces = ["platform-v2-stable"]
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn pod(name: &str, owner: &str, crashing: bool, restarts: u32) -> k8s_openapi::api::core::v1::Pod {
    let state = if crashing {
        json!({"waiting": {"reason": "CrashLoopBackOff"}})
    } else {
        json!({"running": {"startedAt": "2027-01-15T07:00:00Z"}})
    };
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "platform-v2-stable",
            "creationTimestamp": "2027-01-15T07:00:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": "u", "controller": true}]},
        "spec": {"nodeName": "node-a", "containers": [{"name": "api", "image": "quay.io/gpte/platform-v2-api:7.0.0"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "api", "ready": !crashing, "restartCount": restarts, "image": "x", "imageID": "", "state": state}]},
    }))
    .unwrap()
}

fn deployment() -> k8s_openapi::api::apps::v1::Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "platform-v2-api", "namespace": "platform-v2-stable", "generation": 8,
            "creationTimestamp": "2027-01-01T00:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "8"}},
        "spec": {"replicas": 3, "selector": {}, "template": {"spec": {"containers": [{"name": "api", "image": "quay.io/gpte/platform-v2-api:7.0.0"}]}}},
        "status": {"observedGeneration": 8, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastTransitionTime": "2027-01-15T07:40:00Z"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": "ReplicaSet \"platform-v2-api-7d4b9c6f5\" is progressing.",
                 "lastTransitionTime": "2027-01-15T07:55:00Z"}
            ]},
    }))
    .unwrap()
}

fn replicaset(name: &str, revision: i64, replicas: u32, image: &str) -> ReplicaSetRow {
    ReplicaSetRow {
        namespace: "platform-v2-stable".into(),
        name: name.into(),
        deployment: Some("platform-v2-api".into()),
        revision: Some(revision),
        images: vec![image.into()],
        replicas,
    }
}

/// A deployment mid-rollout with two ReplicaSets and their pods, and `extra` healthy pods of
/// another workload.
fn app(extra: usize) -> App {
    let config = parse(Path::new("lists.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "lists.toml".into(),
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
    let mut pods = vec![
        pod(
            "platform-v2-api-7d4b9c6f5-x5xc8",
            "platform-v2-api-7d4b9c6f5",
            true,
            14,
        ),
        pod(
            "platform-v2-api-7d4b9c6f5-k2j4p",
            "platform-v2-api-7d4b9c6f5",
            false,
            0,
        ),
        pod(
            "platform-v2-api-5c8d7b9f4-q9w2e",
            "platform-v2-api-5c8d7b9f4",
            false,
            1,
        ),
        pod(
            "platform-v2-api-5c8d7b9f4-m3n8r",
            "platform-v2-api-5c8d7b9f4",
            false,
            0,
        ),
    ];
    pods.extend((0..extra).map(|i| {
        pod(
            &format!("worker-{i:04}"),
            "worker-6f7d",
            false,
            (i % 5) as u32,
        )
    }));
    for update in [
        KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows: pods.iter().map(pod_row).collect(),
        }),
        KubeUpdate::Deployments(RowUpdate::Replace {
            namespace: None,
            rows: vec![deployment_row(&deployment())],
        }),
        KubeUpdate::ReplicaSets(RowUpdate::Replace {
            namespace: None,
            rows: vec![
                replicaset(
                    "platform-v2-api-7d4b9c6f5",
                    8,
                    2,
                    "quay.io/gpte/platform-v2-api:7.0.0",
                ),
                replicaset(
                    "platform-v2-api-5c8d7b9f4",
                    7,
                    2,
                    "quay.io/gpte/platform-v2-api:6.9.1",
                ),
                replicaset(
                    "platform-v2-api-66b9f7c4d",
                    6,
                    0,
                    "quay.io/gpte/platform-v2-api:6.9.0",
                ),
            ],
        }),
    ] {
        app.update(Action::Backend(SourceEvent::Kube { generation, update }));
    }
    app.prepare_view();
    app
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        app.update(Action::Key(KeyEvent::new(KeyCode::Char(c), modifiers)));
        app.prepare_view();
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::from(code)));
    app.prepare_view();
}

fn screen(app: &App, size: (u16, u16)) -> String {
    drawn(&app.screen(), size)
}

#[test]
fn deployment_detail_shows_conditions_replicasets_and_pods() {
    let mut app = app(0);
    press(&mut app, "v");
    key(&mut app, KeyCode::Enter);
    let wide = screen(&app, (120, 40));
    for needle in [
        "deployment  platform-v2-stable/platform-v2-api",
        "2/3   updated 2   available 2   revision 8",
        "progressing",
        "Conditions (2)",
        "Available    False  MinimumReplicasUnavailable  for 20m00s",
        "Deployment does not have minimum availability.",
        "Progressing  True   ReplicaSetUpdated  for 5m00s",
        "ReplicaSets (3)",
        "▸    8  platform-v2-api-7d4b9c6f5         2  quay.io/gpte/platform-v2-api:7.0.0",
        "     7  platform-v2-api-5c8d7b9f4         2  quay.io/gpte/platform-v2-api:6.9.1",
        "Pods (4)",
        "platform-v2-api-7d4b9c6f5-x5xc8  CrashLoopBackOff",
        "Events",
        "not collected for deployments",
    ] {
        assert!(wide.contains(needle), "{needle:?}:\n{wide}");
    }
    insta::assert_snapshot!("deployment_detail_120x40", wide);
    let narrow = screen(&app, (80, 24));
    assert!(
        narrow.contains("platform-v2-stable/platform-v2-api"),
        "{narrow}"
    );
    insta::assert_snapshot!("deployment_detail_80x24", narrow);
    // It scrolls by screen rows to its end.
    key(&mut app, KeyCode::End);
    let end = screen(&app, (80, 24));
    assert!(end.contains("Esc: back to the list"), "{end}");
    assert!(end.contains("not collected for deployments"), "{end}");
    // Esc: the deployments list again.
    key(&mut app, KeyCode::Esc);
    assert!(screen(&app, (80, 24)).contains("DEPLOYMENT"));
}

#[test]
fn the_sort_column_is_marked_and_the_order_follows() {
    let mut app = app(0);
    let worst_first = screen(&app, (120, 40));
    assert!(
        !worst_first.contains('↓') && !worst_first.contains('↑'),
        "{worst_first}"
    );
    press(&mut app, "oooo");
    let by_restarts = screen(&app, (120, 40));
    assert!(by_restarts.contains("RESTARTS↓"), "{by_restarts}");
    let first = by_restarts.find("7d4b9c6f5-x5xc8").unwrap();
    let second = by_restarts.find("5c8d7b9f4-q9w2e").unwrap();
    assert!(first < second, "{by_restarts}");
    press(&mut app, "O");
    let reversed = screen(&app, (120, 40));
    assert!(reversed.contains("RESTARTS↑"), "{reversed}");
    assert!(
        reversed.find("7d4b9c6f5-x5xc8").unwrap() > reversed.find("5c8d7b9f4-q9w2e").unwrap(),
        "{reversed}"
    );
    // The deployments view has its own order: o marks its column.
    press(&mut app, "vooooo");
    let deployments = screen(&app, (120, 40));
    assert!(deployments.contains("ROLLOUT↑"), "{deployments}");
}

#[test]
fn unhealthy_only_is_said_in_the_title() {
    let mut app = app(30);
    press(&mut app, "!");
    let screen = screen(&app, (120, 40));
    assert!(screen.contains("only unhealthy (!)"), "{screen}");
    assert!(screen.contains("7d4b9c6f5-x5xc8"), "{screen}");
    assert!(!screen.contains("worker-0001"), "{screen}");
    insta::assert_snapshot!("pods_unhealthy_120x40", screen);
}

#[test]
fn a_long_list_says_where_the_cursor_is_and_pages_by_what_it_shows() {
    let mut app = app(300);
    let first = screen(&app, (80, 24));
    // 16 rows inside the pane: the summary line, the header, 14 pods.
    assert!(first.contains("row 1/304"), "{first}");
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].selected, 14);
    let second = screen(&app, (80, 24));
    assert!(second.contains("row 15/304"), "{second}");
    insta::assert_snapshot!("pods_page_two_80x24", second);
    // A taller terminal shows more rows: a page is more.
    screen(&app, (120, 40));
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].selected, 14 + 30);
    key(&mut app, KeyCode::End);
    assert!(screen(&app, (120, 40)).contains("row 304/304"));
    // A list that fits says nothing.
    let short = self::app(0);
    assert!(!screen(&short, (120, 40)).contains("row 1/"));
}
