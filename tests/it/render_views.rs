//! Shared data, per-viewer view: one `Data` fed by backend events, any number of `View`s over
//! it, each with its own focus, filters and frozen copy, drawn through ratatui's TestBackend.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent};
use serde_json::json;
use watchfloor::app::pane::PaneId;
use watchfloor::app::{Action, App, Data, View};
use watchfloor::config::parse;
use watchfloor::data::{KubeUpdate, RowUpdate};
use watchfloor::db::DbUpdate;
use watchfloor::db::postgres::{PgSample, PgStatus, Thresholds};
use watchfloor::event::{SourceEvent, SourceState};
use watchfloor::logs::{LogEvent, parse_line};
use watchfloor::model::Health;
use watchfloor::model::claims::classify_resource_claim;
use watchfloor::model::pods::pod_row;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::slo::{Reading, SloResult, SloState};

use crate::support::headless::drawn;

const CONFIG: &str = r#"
[[targets]]
name = "shared"
[targets.kubernetes]
context = "shared-admin"
namespaces = ["shop"]
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "checkout"
objective = 0.999
ratio = 'x[{{window}}]'
[[targets.postgres]]
name = "orders-db"
dsn = "host=db"
[[targets.logs]]
source = "file"
path = "/var/log/shop/*.log"
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
"#;

/// Tiled: all five panes on screen at once.
const SIZE: (u16, u16) = (200, 60);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A console with every source live and no rows yet.
fn app() -> App {
    let config = parse(Path::new("views.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "views.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    for index in 0..app.data.sources.len() {
        backend(
            &mut app,
            SourceEvent::State {
                generation: 0,
                index,
                state: SourceState::Live,
                at: t0(),
            },
        );
    }
    app
}

/// A report for the app's data, stamped with its generation (`generation` here is ignored).
fn backend(app: &mut App, mut event: SourceEvent) {
    let current = app.data.generation;
    match &mut event {
        SourceEvent::State { generation, .. }
        | SourceEvent::KubeContext { generation, .. }
        | SourceEvent::Kube { generation, .. }
        | SourceEvent::Logs { generation, .. }
        | SourceEvent::PodDetail { generation, .. }
        | SourceEvent::Yaml { generation, .. }
        | SourceEvent::Slo { generation, .. }
        | SourceEvent::Alerts { generation, .. }
        | SourceEvent::Health { generation, .. }
        | SourceEvent::Db { generation, .. } => *generation = current,
    }
    app.update(Action::Backend(event));
}

fn pods(names: &[&str]) -> SourceEvent {
    let pod = |name: &str| -> k8s_openapi::api::core::v1::Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": "2027-01-15T07:00:00Z"},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "x", "imageID": "", "state": {"running": {}}}]},
        }))
        .unwrap()
    };
    let rows = names.iter().map(|n| pod_row(&pod(n))).collect();
    SourceEvent::Kube {
        generation: 0,
        update: KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows,
        }),
    }
}

fn slo(name: &str) -> SourceEvent {
    let result = SloResult {
        name: name.into(),
        objective: 0.999,
        period: Duration::from_secs(30 * 86_400),
        burn: Vec::new(),
        alerts: Vec::new(),
        budget_remaining: Reading::Value(0.5),
        availability: Reading::Value(0.9995),
        exhaustion: None,
        state: SloState::Ok,
        sparkline: Vec::new(),
        history: Vec::new(),
        queries: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    SourceEvent::Slo {
        generation: 0,
        results: vec![result],
    }
}

/// `orders-db` with `used` of 100 connections in use.
fn db(used: u32) -> SourceEvent {
    let status = PgStatus {
        name: "orders".into(),
        sample: PgSample::default(),
        used,
        usable: 100,
        level: Health::Ok,
        by_state: BTreeMap::new(),
        long_running: Vec::new(),
        idle_in_transaction: Vec::new(),
        blocking: Vec::new(),
        top_clients: Vec::new(),
        thresholds: Thresholds::default(),
    };
    SourceEvent::Db {
        generation: 0,
        update: DbUpdate::Postgres {
            index: 0,
            status: Box::new(status),
        },
    }
}

fn claim(name: &str) -> SourceEvent {
    let claim = json!({
        "metadata": {"name": name, "namespace": "user-alice", "creationTimestamp": "2027-01-15T05:00:00Z"},
        "spec": {"provider": {"name": "sandbox"}},
        "status": {"resources": [{"name": "sandbox", "state": {"spec": {"vars": {"current_state": "provisioning", "desired_state": "started"}}}}]},
    });
    let row = classify_resource_claim("resourceclaims", &claim, Duration::from_secs(3600), t0());
    SourceEvent::Kube {
        generation: 0,
        update: KubeUpdate::Claims {
            source: 0,
            rows: vec![row],
        },
    }
}

fn log_line(text: &str) -> SourceEvent {
    SourceEvent::Logs {
        generation: 0,
        source: 0,
        event: LogEvent::Lines(vec![parse_line(0, text.as_bytes(), false, t0())]),
    }
}

fn log_stream() -> SourceEvent {
    SourceEvent::Logs {
        generation: 0,
        source: 0,
        event: LogEvent::StreamOpened {
            id: 0,
            label: "/var/log/shop/api.log".into(),
        },
    }
}

fn keys(view: &mut View, data: &Data, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            c => KeyCode::Char(c),
        };
        view.key(data, KeyEvent::from(code));
    }
}

/// The frame a view draws over `data`, as text.
fn draw(view: &mut View, data: &mut Data) -> String {
    data.prepare();
    view.prepare(data);
    drawn(&view.screen(data), SIZE)
}

/// The app's own view, drawn.
fn draw_app(app: &mut App) -> String {
    draw(&mut app.view, &mut app.data)
}

/// Whether `pane` has the focused (thick) border in the drawn text.
fn focused(screen: &str, pane: PaneId) -> bool {
    screen.contains(&format!("┏ {} {}", pane.number(), pane.title()))
}

#[test]
fn two_views_over_one_data_keep_their_own_focus_and_filters() {
    let mut app = app();
    backend(&mut app, pods(&["api-1", "web-1"]));
    backend(&mut app, slo("checkout"));
    // A second viewer over the same data, with its own view state.
    let mut other = View::new(
        "views.toml".into(),
        app.view.keymap.clone(),
        app.view.policy.clone(),
        t0(),
    );
    // The app's view filters the Pods pane; the other focuses the SLO pane.
    keys(&mut app.view, &app.data, "/api\n");
    keys(&mut other, &app.data, "2");
    assert_eq!(app.view.focus, PaneId::Pods);
    assert_eq!(other.focus, PaneId::Slo);

    let first = draw_app(&mut app);
    let second = draw(&mut other, &mut app.data);
    assert!(focused(&first, PaneId::Pods) && !focused(&first, PaneId::Slo));
    assert!(focused(&second, PaneId::Slo) && !focused(&second, PaneId::Pods));
    assert!(first.contains("/api/ 1 match") && !first.contains("web-1"));
    assert!(second.contains("api-1") && second.contains("web-1"));

    // New data, fed once to the one Data: both views see it, each through its own filter.
    backend(&mut app, pods(&["api-1", "api-2", "web-1", "web-2"]));
    backend(&mut app, slo("search"));
    other.observe(&app.data);
    let first = draw_app(&mut app);
    let second = draw(&mut other, &mut app.data);
    assert!(
        first.contains("api-2") && !first.contains("web-2"),
        "{first}"
    );
    assert!(first.contains("/api/ 2 matches"), "{first}");
    assert!(
        second.contains("api-2") && second.contains("web-2"),
        "{second}"
    );
    assert!(first.contains("search") && second.contains("search"));
    assert!(!first.contains("checkout") && !second.contains("checkout"));
    assert!(focused(&second, PaneId::Slo) && focused(&first, PaneId::Pods));
}

#[test]
fn freeze_holds_every_pane_until_unfrozen() {
    struct Case {
        pane: PaneId,
        before: fn() -> Vec<SourceEvent>,
        after: fn() -> SourceEvent,
        old: &'static str,
        new: &'static str,
    }
    let cases = [
        Case {
            pane: PaneId::Pods,
            before: || vec![pods(&["api-1"])],
            after: || pods(&["api-1", "fresh-pod"]),
            old: "api-1",
            new: "fresh-pod",
        },
        Case {
            pane: PaneId::Slo,
            before: || vec![slo("checkout")],
            after: || slo("search"),
            old: "checkout",
            new: "search",
        },
        Case {
            pane: PaneId::Db,
            before: || vec![db(12)],
            after: || db(87),
            old: "12/100",
            new: "87/100",
        },
        Case {
            pane: PaneId::Claims,
            before: || vec![claim("sandbox-old")],
            after: || claim("sandbox-new"),
            old: "sandbox-old",
            new: "sandbox-new",
        },
        Case {
            pane: PaneId::Logs,
            before: || vec![log_stream(), log_line("first line")],
            after: || log_line("second line"),
            old: "first line",
            new: "second line",
        },
    ];
    for case in cases {
        let pane = case.pane.title();
        let mut app = app();
        for event in (case.before)() {
            backend(&mut app, event);
        }
        keys(&mut app.view, &app.data, "f");
        assert!(app.view.frozen.is_some());
        backend(&mut app, (case.after)());
        let frozen = draw_app(&mut app);
        assert!(frozen.contains("FROZEN"), "{pane}:\n{frozen}");
        assert!(frozen.contains(case.old), "{pane}:\n{frozen}");
        assert!(
            !frozen.contains(case.new),
            "{pane} moved while frozen:\n{frozen}"
        );

        keys(&mut app.view, &app.data, "f");
        let live = draw_app(&mut app);
        assert!(!live.contains("FROZEN"), "{pane}:\n{live}");
        assert!(live.contains(case.new), "{pane} after unfreezing:\n{live}");
    }
}
