//! Whole-frame render tests through ratatui's TestBackend: text snapshots at three sizes, plus
//! style checks (text snapshots drop colour, and health colours are the product).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use serde_json::json;
use watchfloor::app::{Action, App};
use watchfloor::config::{ThemeName, parse};
use watchfloor::data::{KubeUpdate, RowUpdate};
use watchfloor::event::SourceState;
use watchfloor::model::claims::{ClaimRow, classify_resource_claim};
use watchfloor::model::deployments::deployment_row;
use watchfloor::model::pods::pod_row;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::sources::claims::claim_detail;
use watchfloor::ui::theme::{ColorSupport, Theme};
use watchfloor::ui::{self};

const CONFIG: &str = r#"
[[targets]]
name = "platform"
protected = true
[targets.kubernetes]
context = "platform-admin"
namespaces = ["platform-v2-stable", "platform-v1-exp"]
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "api availability"
objective = 0.999
ratio = 'x[{{window}}]'
[[targets.postgres]]
name = "platform-db"
dsn = "host=db password=hunter2"
[[targets.redis]]
name = "platform-cache"
url = "redis://cache:6379"
[[targets.logs]]
source = "file"
path = "/var/log/platform/*.log"
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"

[[targets]]
name = "empty"
"#;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// An app whose sources are in a mix of states: live, stale, error, not built, connecting.
fn app(read_only: bool) -> App {
    let config = parse(Path::new("test.toml"), CONFIG).unwrap();
    let inputs = ReadOnlyInputs {
        flag: read_only,
        ..Default::default()
    };
    let mut app = App::new(Arc::new(config), "test.toml".into(), 0, inputs, t0());
    let generation = app.data.generation;
    let report = |index, state, at| {
        Action::Backend(SourceEvent::State {
            generation,
            index,
            state,
            at,
        })
    };
    app.update(report(0, SourceState::Live, t0()));
    app.update(report(1, SourceState::NotBuilt, t0()));
    app.update(report(2, SourceState::Live, t0() - Duration::from_secs(40)));
    let refused = SourceState::Error {
        reason: "connection refused \u{1b}]0;owned\u{7}".into(),
        retry_at: Some(t0() + Duration::from_secs(4)),
    };
    app.update(report(3, refused, t0()));
    for update in kube_rows() {
        app.update(Action::Backend(SourceEvent::Kube { generation, update }));
    }
    app.prepare_view();
    app
}

fn pod(name: &str, ns: &str, status: serde_json::Value) -> k8s_openapi::api::core::v1::Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2027-01-15T07:00:00Z"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "registry/app:1"}]},
        "status": status,
    }))
    .unwrap()
}

/// A crash-looping pod, a pending one and a healthy one; two deployments; a stuck claim.
fn kube_rows() -> Vec<KubeUpdate> {
    let running = json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "x", "imageID": "", "state": {"running": {"startedAt": "2027-01-15T07:00:00Z"}}}]});
    let crashing = json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 14, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2027-01-15T07:57:00Z"}}}]});
    let pending = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]});
    let pods = [
        pod("api-7-abc", "platform-v2-stable", crashing),
        pod("web-1", "platform-v1-exp", running),
        pod("batch-9", "platform-v1-exp", pending),
    ];
    let deployment = |name: &str,
                      ready: i32,
                      paused: bool|
     -> k8s_openapi::api::apps::v1::Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "platform-v2-stable", "generation": 3, "annotations": {"deployment.kubernetes.io/revision": "7"}},
            "spec": {"replicas": 3, "paused": paused, "selector": {}, "template": {"spec": {"containers": [{"name": "api", "image": format!("{name}:7.0.0")}]}}},
            "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": ready, "availableReplicas": ready},
        }))
        .unwrap()
    };
    let claim = json!({
        "metadata": {"name": "sandbox-abc12", "namespace": "user-alice", "creationTimestamp": "2027-01-15T05:00:00Z"},
        "spec": {"provider": {"name": "sandbox"}},
        "status": {"resourceHandle": {"name": "guid-1"}, "resources": [{"name": "sandbox", "reference": {"apiVersion": "anarchy.gpte.redhat.com/v1", "kind": "AnarchySubject", "name": "sandbox-abc12", "namespace": "babylon-anarchy"}, "state": {"spec": {"vars": {"current_state": "provisioning", "desired_state": "started"}}}}]},
    });
    vec![
        KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows: pods.iter().map(pod_row).collect(),
        }),
        KubeUpdate::Deployments(RowUpdate::Replace {
            namespace: None,
            rows: vec![
                deployment_row(&deployment("platform-v2-api", 0, false)),
                deployment_row(&deployment("catalog", 3, false)),
            ],
        }),
        KubeUpdate::Claims {
            source: 0,
            rows: vec![ClaimRow {
                detail: Some(claim_detail(&claim)),
                ..classify_resource_claim("resourceclaims", &claim, Duration::from_secs(3600), t0())
            }],
        },
    ]
}

fn draw(app: &App, (width, height): (u16, u16)) -> Terminal<TestBackend> {
    let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ui::render(frame, &app.screen(), &theme))
        .unwrap();
    terminal
}

/// Keys, then the view preparation the runtime does before each frame.
fn press(app: &mut App, codes: &[KeyCode]) {
    keys(app, codes);
    app.prepare_view();
}

fn keys(app: &mut App, keys: &[KeyCode]) {
    for key in keys {
        app.update(Action::Key(KeyEvent::from(*key)));
    }
}

fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The first cell whose row contains `needle`, at the needle's start.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buffer);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{screen}");
}

#[test]
fn initial_console_at_three_sizes() {
    let app = app(false);
    for size in SIZES {
        let terminal = draw(&app, size);
        insta::assert_snapshot!(
            format!("initial_{}x{}", size.0, size.1),
            text(terminal.backend().buffer())
        );
    }
}

#[test]
fn help_overlay_at_three_sizes() {
    let mut app = app(true);
    press(&mut app, &[KeyCode::Char('?')]);
    for size in SIZES {
        let terminal = draw(&app, size);
        insta::assert_snapshot!(
            format!("help_{}x{}", size.0, size.1),
            text(terminal.backend().buffer())
        );
    }
}

#[test]
fn help_overlay_outside_read_only_lists_the_remediation_keys() {
    use watchfloor::app::keymap::Command;
    use watchfloor::remediation::plan::Verb;
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('?')]);
    // Tall enough for the whole overlay.
    let screen = text(draw(&app, (120, 160)).backend().buffer());
    for verb in Verb::ALL {
        let command = Command::Remediate(verb);
        let row = format!(
            "  {:<14}{}",
            app.view.keymap.label(command),
            command.description()
        );
        assert!(screen.contains(&row), "{verb:?}: {row:?}\n{screen}");
    }
    for needle in [
        "Remediations (selected row; dry run, then confirm)",
        "Confirmation dialog",
        "  y             run it (once the dry run is ready)",
        "  n/Esc/q       cancel: nothing runs",
        "  F             delete pod: ask again, forced",
        "Picking (revision, operator)",
        "  Enter         pick the selected entry",
        "Text input (filter, :, scale, typed name)",
        "Help overlay",
    ] {
        assert!(screen.contains(needle), "{needle:?}\n{screen}");
    }
    assert!(!screen.contains("none in this build"), "{screen}");
    assert!(!screen.contains("disabled: read-only"), "{screen}");
    insta::assert_snapshot!("help_not_read_only_120x160", screen);

    // On a normal terminal the section is a few pages down.
    press(&mut app, &[KeyCode::PageDown; 5]);
    let scrolled = text(draw(&app, (120, 40)).backend().buffer());
    assert!(
        scrolled.contains("rollout restart (deployment)"),
        "{scrolled}"
    );

    // Read-only: no remediation key and no dialog is listed, only why.
    let mut read_only = self::app(true);
    press(&mut read_only, &[KeyCode::Char('?')]);
    let screen = text(draw(&read_only, (120, 100)).backend().buffer());
    assert!(
        screen.contains("disabled: read-only (--read-only)"),
        "{screen}"
    );
    for absent in [
        "rollout restart",
        "Confirmation dialog",
        "Picking",
        "none in this build",
    ] {
        assert!(!screen.contains(absent), "{absent:?}\n{screen}");
    }
}

#[test]
fn detail_filter_zoom_and_read_only() {
    let mut app = app(true);
    keys(
        &mut app,
        &[KeyCode::Char('3'), KeyCode::Char('j'), KeyCode::Enter],
    );
    insta::assert_snapshot!(
        "db_detail_80x24",
        text(draw(&app, (80, 24)).backend().buffer())
    );
    keys(
        &mut app,
        &[
            KeyCode::Esc,
            KeyCode::Char('z'),
            KeyCode::Char('/'),
            KeyCode::Char('d'),
            KeyCode::Char('b'),
        ],
    );
    insta::assert_snapshot!(
        "db_zoomed_filter_typing_120x40",
        text(draw(&app, (120, 40)).backend().buffer())
    );
    press(&mut app, &[KeyCode::Enter, KeyCode::Char('f')]);
    insta::assert_snapshot!(
        "db_filtered_frozen_200x60",
        text(draw(&app, (200, 60)).backend().buffer())
    );
}

#[test]
fn target_without_sources_says_not_configured_everywhere() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('t')]);
    let terminal = draw(&app, (200, 60));
    let screen = text(terminal.backend().buffer());
    assert_eq!(
        screen.matches("not configured").count(),
        10,
        "five titles and five bodies:\n{screen}"
    );
    insta::assert_snapshot!("empty_target_200x60", screen);
}

#[test]
fn tiny_terminal_says_so() {
    let terminal = draw(&app(false), (30, 6));
    assert!(text(terminal.backend().buffer()).contains("terminal too small"));
}

#[test]
fn no_escape_sequence_reaches_the_buffer() {
    let app = app(false);
    for size in SIZES {
        let terminal = draw(&app, size);
        let buffer = terminal.backend().buffer();
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(char::is_control),
                "control char in {:?}",
                cell.symbol()
            );
        }
    }
}

#[test]
fn styles_carry_health() {
    let app = app(true);
    let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
    let terminal = draw(&app, (200, 60));
    let buffer = terminal.backend().buffer();
    // The READ-ONLY badge uses the read-only style.
    let badge = find(buffer, "READ-ONLY");
    assert_eq!(buffer[badge].bg, theme.read_only.bg.unwrap());
    assert!(buffer[badge].modifier.contains(Modifier::BOLD));
    // An error is critical, live is ok, stale and not-connected use the stale style.
    let error = find(buffer, "error: connection refused");
    assert_eq!(buffer[error].fg, theme.crit.fg.unwrap());
    let live = find(buffer, " live");
    assert_eq!(buffer[(live.0 + 1, live.1)].fg, theme.ok.fg.unwrap());
    let stale = find(buffer, "stale 40s");
    assert_eq!(buffer[stale].fg, theme.stale.fg.unwrap());
    // The focused pane's border is the focus colour; others are muted.
    let pods_title = find(buffer, "1 Pods");
    assert_eq!(
        buffer[(pods_title.0 - 2, pods_title.1)].fg,
        theme.border_focused.fg.unwrap()
    );
    let db_title = find(buffer, "3 DB connections");
    assert_eq!(
        buffer[(db_title.0 - 2, db_title.1)].fg,
        theme.border.fg.unwrap()
    );
    // The header has its own background.
    assert_eq!(buffer[(1, 0)].bg, theme.header.bg.unwrap());
}

#[test]
fn no_color_theme_draws_without_colour() {
    let app = app(false);
    let theme = Theme::new(ThemeName::Dark, ColorSupport::None);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|frame| ui::render(frame, &app.screen(), &theme))
        .unwrap();
    for cell in terminal.backend().buffer().content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "colour at {:?}",
            cell.symbol()
        );
    }
}

#[test]
fn secrets_never_reach_the_screen() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Enter]);
    for size in SIZES {
        assert!(!text(draw(&app, size).backend().buffer()).contains("hunter2"));
    }
}

#[test]
fn pods_worst_first_deployments_and_claims() {
    let mut app = app(false);
    let screen = text(draw(&app, (120, 40)).backend().buffer());
    let crash = screen
        .find("CrashLoopBackOff")
        .expect("crash-looping pod shown");
    let pending = screen
        .find("Pending: Unschedulable")
        .expect("pending pod shown");
    let running = screen.find("web-1").expect("running pod shown");
    assert!(
        crash < pending && pending < running,
        "worst first:\n{screen}"
    );
    assert!(
        screen.contains("14 (3m00s ago)"),
        "restarts with the age of the last one:\n{screen}"
    );
    insta::assert_snapshot!("pods_120x40", screen);
    press(&mut app, &[KeyCode::Char('v')]);
    let screen = text(draw(&app, (120, 40)).backend().buffer());
    assert!(
        screen.contains("DEPLOYMENT") && screen.contains("platform-v2-api"),
        "{screen}"
    );
    insta::assert_snapshot!("deployments_120x40", screen);
    press(&mut app, &[KeyCode::Char('4')]);
    let screen = text(draw(&app, (120, 40)).backend().buffer());
    assert!(
        screen.contains("STUCK") && screen.contains("provisioning for 3h"),
        "{screen}"
    );
    insta::assert_snapshot!("claims_120x40", screen);
}

#[test]
fn pod_detail_shows_containers_and_events() {
    use watchfloor::event::{EventRow, PodDetail};
    use watchfloor::model::pods::container_details;
    let mut app = app(false);
    let effects: Vec<_> = [KeyCode::Enter]
        .iter()
        .flat_map(|k| app.update(Action::Key(KeyEvent::from(*k))))
        // The selected pod's access reviews are asked too; not this test's business.
        .filter(|e| !matches!(e, watchfloor::app::Effect::CheckPermissions { .. }))
        .collect();
    let key = ("platform-v2-stable".to_string(), "api-7-abc".to_string());
    assert_eq!(
        effects,
        vec![watchfloor::app::Effect::OpenPodDetail {
            generation: app.data.generation,
            key: key.clone()
        }]
    );
    let loading = text(draw(&app, (100, 30)).backend().buffer());
    assert!(
        loading.contains("loading containers and events"),
        "{loading}"
    );
    let crashing = pod(
        "api-7-abc",
        "platform-v2-stable",
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 14, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2027-01-15T07:57:00Z"}}}]}),
    );
    let detail = PodDetail {
        containers: container_details(&crashing),
        events: vec![EventRow {
            warning: true,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container app".into(),
            count: 40,
            last_seen: Some(t0() - Duration::from_secs(20)),
        }],
    };
    app.update(Action::Backend(SourceEvent::PodDetail {
        generation: app.data.generation,
        key,
        detail: Ok(detail),
    }));
    let screen = text(draw(&app, (100, 30)).backend().buffer());
    assert!(
        screen.contains("Error (exit 1)") && screen.contains("BackOff x40"),
        "{screen}"
    );
    insta::assert_snapshot!("pod_detail_100x30", screen);
    assert_eq!(
        app.update(Action::Key(KeyEvent::from(KeyCode::Esc))),
        vec![watchfloor::app::Effect::ClosePodDetail]
    );
}

#[test]
fn claim_detail_shows_status_and_references() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('4'), KeyCode::Enter]);
    let screen = text(draw(&app, (100, 30)).backend().buffer());
    assert!(screen.contains("user-alice/sandbox-abc12"), "{screen}");
    assert!(screen.contains("provisioning for 3h00m"), "{screen}");
    assert!(
        screen.contains("\"references\"") && screen.contains("AnarchySubject"),
        "{screen}"
    );
    insta::assert_snapshot!("claim_detail_100x30", screen);
    press(&mut app, &[KeyCode::Char('G')]);
    let scrolled = text(draw(&app, (100, 30)).backend().buffer());
    assert!(
        scrolled.contains("Esc: back to the list"),
        "scrolled to the end:\n{scrolled}"
    );
}
