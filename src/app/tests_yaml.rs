//! The YAML view (`y`): which object it asks for, when its answer shows, how keys behave over
//! it, and that Esc returns to the row it was opened on.

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::parse;
use crate::data::{KubeUpdate, ObjectRef, RowUpdate};
use crate::model::Health;
use crate::model::claims::ClaimRow;
use crate::model::pods::PodRow;

const CONFIG: &str = r#"
[[targets]]
name = "prod"
[targets.kubernetes]
namespaces = ["shop"]
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
[[targets.logs]]
source = "file"
path = "/var/log/app.log"
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn pod(name: &str, health: Health) -> PodRow {
    PodRow {
        namespace: "shop".into(),
        name: name.into(),
        ready: u32::from(health == Health::Ok),
        total: 1,
        status: format!("{health:?}"),
        health,
        restarts: 0,
        last_restart: None,
        created: Some(t0()),
        node: None,
        owner: None,
        resources: Default::default(),
        terminated: false,
    }
}

fn app_with(inputs: ReadOnlyInputs) -> App {
    let config = parse(std::path::Path::new("t.toml"), CONFIG).unwrap();
    let mut app = App::new(Arc::new(config), "t.toml".into(), 0, inputs, t0());
    set_pods(
        &mut app,
        vec![
            pod("api-1", Health::Ok),
            pod("api-2", Health::Ok),
            pod("api-3", Health::Ok),
        ],
    );
    app
}

fn app() -> App {
    app_with(ReadOnlyInputs::default())
}

fn set_pods(app: &mut App, rows: Vec<PodRow>) {
    backend(
        app,
        crate::event::SourceEvent::Kube {
            generation: 0,
            update: KubeUpdate::Pods(RowUpdate::Replace {
                namespace: None,
                rows,
            }),
        },
    );
}

/// A report stamped with the app's generation.
fn backend(app: &mut App, mut event: SourceEvent) {
    let current = app.data.generation;
    match &mut event {
        SourceEvent::Kube { generation, .. } | SourceEvent::Yaml { generation, .. } => {
            *generation = current;
        }
        other => panic!("not used here: {other:?}"),
    }
    app.update(Action::Backend(event));
    app.prepare_view();
}

fn answer(app: &mut App, object: ObjectRef, yaml: Result<&str, &str>) {
    backend(
        app,
        SourceEvent::Yaml {
            generation: 0,
            object,
            yaml: yaml.map(String::from).map_err(String::from),
        },
    );
}

fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        effects.extend(app.update(Action::Key(KeyEvent::new(KeyCode::Char(c), modifiers))));
        app.prepare_view();
    }
    effects
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let effects = app.update(Action::Key(KeyEvent::from(code)));
    app.prepare_view();
    effects
}

/// The effects that fetch an object for a YAML view.
fn fetches(effects: &[Effect]) -> Vec<ObjectRef> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::OpenYaml { object, .. } => Some(object.clone()),
            _ => None,
        })
        .collect()
}

fn shown_lines(app: &App) -> Option<Vec<String>> {
    let (_, answer) = app.screen().yaml(PaneId::Pods)?;
    answer?.lines.clone().ok()
}

fn selected(app: &App) -> String {
    app.screen().selected_pod().unwrap().name.clone()
}

#[test]
fn y_on_a_pod_fetches_it_and_its_answer_opens_the_view() {
    let mut app = app();
    press(&mut app, "j");
    assert_eq!(selected(&app), "api-2");
    let effects = press(&mut app, "y");
    let pod = ObjectRef::pod("shop", "api-2");
    assert_eq!(
        effects,
        vec![Effect::OpenYaml {
            generation: app.data.generation,
            object: pod.clone()
        }]
    );
    // Open at once, loading until the answer comes.
    let (open, loading) = app.screen().yaml(PaneId::Pods).expect("a YAML view");
    assert_eq!((&open.object, loading.is_none()), (&pod, true));

    answer(
        &mut app,
        pod,
        Ok("kind: Pod\nmetadata:\n  name: api-2\n  annotations:\n    x: \"\u{202e}evil\"\n"),
    );
    let lines = shown_lines(&app).expect("the answer is shown");
    assert_eq!(lines[0], "kind: Pod");
    assert_eq!(lines[2], "  name: api-2");
    // Every line sanitised as it arrived: no bidi override survives.
    assert_eq!(lines[4], "    x: \"evil\"");
}

#[test]
fn esc_closes_the_view_on_the_row_it_was_opened_on() {
    let mut app = app();
    press(&mut app, "jy");
    assert_eq!(selected(&app), "api-2");
    // Meanwhile a crashing pod sorts first: api-2 moves down a row.
    set_pods(
        &mut app,
        vec![
            pod("api-1", Health::Ok),
            pod("api-2", Health::Ok),
            pod("api-3", Health::Ok),
            pod("zz-crashing", Health::Crit),
        ],
    );
    assert_eq!(app.view.visible.pods[0].1, "zz-crashing");
    assert_eq!(key(&mut app, KeyCode::Esc), vec![Effect::CloseYaml]);
    assert!(app.view.panes[PaneId::Pods.index()].yaml.is_none());
    assert_eq!(selected(&app), "api-2", "the selection is kept by identity");
    // A second Esc is the pane's again (nothing else to close here).
    assert!(key(&mut app, KeyCode::Esc).is_empty());
}

#[test]
fn keys_over_the_view_scroll_it_and_the_panes_own_keys_wait() {
    let mut app = app();
    press(&mut app, "y");
    answer(
        &mut app,
        ObjectRef::pod("shop", "api-1"),
        Ok(&"line\n".repeat(100)),
    );
    press(&mut app, "jjj");
    let yaml = |app: &App| app.view.panes[PaneId::Pods.index()].yaml.clone().unwrap();
    assert_eq!(yaml(&app).scroll, 3, "j scrolls the YAML");
    assert_eq!(selected(&app), "api-1", "not the list");
    key(&mut app, KeyCode::PageDown);
    assert_eq!(yaml(&app).scroll, 3 + drawn::FALLBACK_PAGE);
    press(&mut app, "g");
    assert_eq!(yaml(&app).scroll, 0);
    // The pane's keys do nothing over it: no deployments view, filter, detail or dialog.
    press(&mut app, "v/D");
    key(&mut app, KeyCode::Enter);
    let pods = &app.view.panes[PaneId::Pods.index()];
    assert!(
        pods.mode == crate::app::pane::PodsMode::Pods && !pods.detail_open && pods.filter.is_none()
    );
    assert!(app.view.input.is_none() && app.view.modal.is_none());
    // Global keys still work, and the view waits in its pane.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view.focus, PaneId::Slo);
    key(&mut app, KeyCode::BackTab);
    assert!(app.view.panes[PaneId::Pods.index()].yaml.is_some());
}

#[test]
fn y_again_fetches_again_and_older_answers_are_not_shown() {
    let mut app = app();
    press(&mut app, "y");
    let pod = ObjectRef::pod("shop", "api-1");
    // An answer about another object (an earlier question) is not this view's.
    answer(&mut app, ObjectRef::pod("shop", "api-3"), Ok("kind: Pod\n"));
    assert!(app.screen().yaml(PaneId::Pods).unwrap().1.is_none());
    answer(&mut app, pod.clone(), Ok("generation: 1\n"));
    assert_eq!(shown_lines(&app).unwrap(), ["generation: 1"]);
    assert_eq!(fetches(&press(&mut app, "y")), std::slice::from_ref(&pod));
    assert!(
        app.screen().yaml(PaneId::Pods).unwrap().1.is_none(),
        "loading again: the old answer is not shown as fresh"
    );
    answer(&mut app, pod, Ok("generation: 2\n"));
    assert_eq!(shown_lines(&app).unwrap(), ["generation: 2"]);
}

#[test]
fn an_error_is_shown_in_the_view_and_redacted() {
    let mut app = app();
    press(&mut app, "y");
    answer(
        &mut app,
        ObjectRef::pod("shop", "api-1"),
        Err("https://admin:hunter2@k8s:6443 forbids this: pods \"api-1\" is forbidden"),
    );
    let (_, answer) = app.screen().yaml(PaneId::Pods).unwrap();
    let reason = answer.unwrap().lines.clone().unwrap_err();
    assert!(reason.contains("forbids this"), "{reason}");
    assert!(!reason.contains("hunter2"), "{reason}");
}

#[test]
fn y_works_in_read_only_mode() {
    let mut app = app_with(ReadOnlyInputs {
        flag: true,
        ..Default::default()
    });
    assert!(app.view.policy.is_read_only());
    assert_eq!(
        fetches(&press(&mut app, "y")),
        [ObjectRef::pod("shop", "api-1")]
    );
}

#[test]
fn y_in_a_detail_the_deployments_view_and_the_claims_pane() {
    let mut app = app();
    // The pod detail: its pod.
    key(&mut app, KeyCode::Enter);
    let effects = press(&mut app, "y");
    assert_eq!(fetches(&effects), [ObjectRef::pod("shop", "api-1")]);
    // Esc closes the YAML first, then the detail below it.
    key(&mut app, KeyCode::Esc);
    assert!(app.view.panes[PaneId::Pods.index()].detail_open);
    key(&mut app, KeyCode::Esc);
    assert!(!app.view.panes[PaneId::Pods.index()].detail_open);

    let deployment: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "api", "namespace": "shop"}, "spec": {"selector": {}, "template": {}}}),
    )
    .unwrap();
    backend(
        &mut app,
        SourceEvent::Kube {
            generation: 0,
            update: KubeUpdate::Deployments(RowUpdate::Upsert(
                crate::model::deployments::deployment_row(&deployment),
            )),
        },
    );
    assert_eq!(
        fetches(&press(&mut app, "vy")),
        [ObjectRef::deployment("shop", "api")]
    );
    key(&mut app, KeyCode::Esc);

    let claim = ClaimRow {
        source: "resourceclaims.poolboy.gpte.redhat.com".into(),
        namespace: Some("user-alice".into()),
        name: "sandbox-abc12".into(),
        state: "provisioning".into(),
        since: None,
        stuck: true,
        why: "provisioning for 3h".into(),
        health: Health::Crit,
        detail: None,
    };
    backend(
        &mut app,
        SourceEvent::Kube {
            generation: 0,
            update: KubeUpdate::Claims {
                source: 0,
                rows: vec![claim],
            },
        },
    );
    assert_eq!(
        fetches(&press(&mut app, "4y")),
        [ObjectRef {
            group: "poolboy.gpte.redhat.com".into(),
            version: "v1".into(),
            kind: "ResourceClaim".into(),
            plural: "resourceclaims".into(),
            namespace: Some("user-alice".into()),
            name: "sandbox-abc12".into(),
        }]
    );
}

#[test]
fn y_elsewhere_keeps_its_meaning_there() {
    let mut app = app();
    // The SLO pane has no Kubernetes objects: `y` is not bound there.
    assert!(fetches(&press(&mut app, "2y")).is_empty());
    assert!(app.view.panes.iter().all(|p| p.yaml.is_none()));
    // In the Logs pane `y` copies a line, as before.
    assert_eq!(
        app.view.keymap.lookup(
            &app.view.key_contexts(),
            keymap::KeyChord::plain(keymap::KeyCodeKey::Char('y'))
        ),
        None,
        "the SLO pane binds no y"
    );
    press(&mut app, "5");
    assert_eq!(
        app.view.keymap.lookup(
            &app.view.key_contexts(),
            keymap::KeyChord::plain(keymap::KeyCodeKey::Char('y'))
        ),
        Some(keymap::Command::Copy)
    );
    // With no pod selected, `y` says what it would show.
    let mut empty = self::app();
    set_pods(&mut empty, Vec::new());
    assert!(fetches(&press(&mut empty, "y")).is_empty());
    assert!(
        empty
            .view
            .toasts
            .last()
            .unwrap()
            .text
            .contains("y shows the YAML"),
        "{:?}",
        empty.view.toasts
    );
}
