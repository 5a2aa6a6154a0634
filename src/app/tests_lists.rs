//! Big lists: the order a viewer picks, unhealthy rows only, moving a page at a time, and the
//! selection kept by identity when the rows are rebuilt.

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::parse;
use crate::data::{KubeUpdate, RowUpdate};
use crate::model::Health;
use crate::model::pods::PodRow;

const CONFIG: &str = r#"
[[targets]]
name = "prod"
[targets.kubernetes]
namespaces = ["a"]
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn pod(i: usize, health: Health, restarts: u32) -> PodRow {
    PodRow {
        namespace: "a".into(),
        name: format!("web-{i:03}"),
        ready: u32::from(health == Health::Ok),
        total: 1,
        status: format!("{health:?}"),
        health,
        restarts,
        last_restart: None,
        created: Some(t0() - Duration::from_secs(60 * i as u64)),
        node: None,
        owner: None,
        resources: Default::default(),
        terminated: false,
    }
}

/// 100 pods: every tenth critical, every seventh warning, restarts growing with the number.
fn app() -> App {
    let config = parse(std::path::Path::new("t.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "t.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let rows = (0..100)
        .map(|i| {
            let health = if i % 10 == 0 {
                Health::Crit
            } else if i % 7 == 0 {
                Health::Warn
            } else {
                Health::Ok
            };
            pod(i, health, i as u32)
        })
        .collect();
    let generation = app.data.generation;
    app.update(Action::Backend(crate::event::SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows,
        }),
    }));
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

fn pods(app: &App) -> Vec<String> {
    app.view
        .visible
        .pods
        .iter()
        .map(|(_, name)| name.clone())
        .collect()
}

fn selected(app: &App) -> String {
    app.screen().selected_pod().unwrap().name.clone()
}

#[test]
fn o_sorts_by_the_next_column_and_capital_o_reverses() {
    let mut app = app();
    // Worst first: the critical pods (every tenth) lead, most restarted first.
    assert_eq!(&pods(&app)[..2], ["web-090", "web-080"]);
    press(&mut app, "oooo");
    let pods_view = &app.view.panes[PaneId::Pods.index()];
    assert_eq!(pods_view.sort.describe(sort::Table::Pods), "restarts ↓");
    assert_eq!(&pods(&app)[..3], ["web-099", "web-098", "web-097"]);
    press(&mut app, "O");
    assert_eq!(&pods(&app)[..3], ["web-000", "web-001", "web-002"]);
    // The order is the viewer's: the data is untouched.
    assert_eq!(app.data.kube.pods_order[0].1, "web-090");
    assert!(app.toast_text().contains("pods sorted by restarts ↑"));
    // Deployments have their own order.
    press(&mut app, "v");
    assert!(app.view.panes[PaneId::Pods.index()].alt_sort.is_default());
}

#[test]
fn the_sort_keeps_the_selected_pod_selected() {
    let mut app = app();
    press(&mut app, "jjj");
    let before = selected(&app);
    press(&mut app, "oooo");
    assert_eq!(selected(&app), before);
    press(&mut app, "O");
    assert_eq!(selected(&app), before);
}

#[test]
fn bang_shows_only_unhealthy_rows_and_back() {
    let mut app = app();
    press(&mut app, "jj");
    let before = selected(&app);
    press(&mut app, "!");
    let shown = pods(&app);
    // 10 critical, and the multiples of 7 that are not multiples of 10: 13 of them.
    assert_eq!(shown.len(), 10 + 13, "{shown:?}");
    assert!(app.view.panes[PaneId::Pods.index()].unhealthy);
    assert!(app.toast_text().contains("only unhealthy pods"));
    for (_, name) in app.view.visible.pods.iter() {
        let row = app
            .data
            .kube
            .pods
            .get(&("a".to_string(), name.clone()))
            .unwrap();
        assert!(matches!(row.health, Health::Crit | Health::Warn), "{name}");
    }
    // A selected unhealthy pod stays selected through the toggle.
    assert_eq!(selected(&app), before);
    press(&mut app, "!");
    assert_eq!(pods(&app).len(), 100);
    assert_eq!(selected(&app), before);
    // Panes without health say where it works.
    press(&mut app, "5!");
    assert!(app.toast_text().contains("Pods and Stuck claims"));
}

#[test]
fn pages_move_by_the_rows_the_table_shows() {
    let mut app = app();
    // Nothing drawn yet: a fallback page.
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].selected, drawn::FALLBACK_PAGE);
    // The table showed 37 rows: a page is 37.
    app.view.drawn.set_page(PaneId::Pods, 37);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].selected, drawn::FALLBACK_PAGE + 37);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.view.panes[0].selected, drawn::FALLBACK_PAGE);
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].selected, 99, "never past the last row");
}

#[test]
fn esc_on_a_filter_keeps_the_selected_pod_selected() {
    let mut app = app();
    // Esc while typing: the filter goes, the pod the cursor was on stays selected.
    press(&mut app, "/web-04");
    let chosen = selected(&app);
    assert_eq!(chosen, "web-040", "the worst match first");
    key(&mut app, KeyCode::Esc);
    assert!(app.view.panes[0].filter.is_none());
    assert_eq!(pods(&app).len(), 100);
    assert_eq!(selected(&app), chosen);
    assert_eq!(app.view.panes[0].selected, 5, "by identity, not by index");

    // Esc on a kept filter (Enter, then Esc in the list): the same.
    press(&mut app, "/web-08");
    key(&mut app, KeyCode::Enter);
    press(&mut app, "j");
    let chosen = selected(&app);
    key(&mut app, KeyCode::Esc);
    assert!(app.view.panes[0].filter.is_none());
    assert_eq!(selected(&app), chosen);
}

#[test]
fn a_detail_scrolls_within_what_was_drawn() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    // As drawing found it: 12 rows high, 30 rows of content.
    app.view.drawn.set_detail(PaneId::Pods, 12, 18);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].detail_scroll, 12);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[0].detail_scroll, 18, "the last page");
    press(&mut app, "k");
    assert_eq!(app.view.panes[0].detail_scroll, 17);
    press(&mut app, "G");
    assert_eq!(app.view.panes[0].detail_scroll, 18);
    press(&mut app, "g");
    assert_eq!(app.view.panes[0].detail_scroll, 0);
    // Another detail opens unmeasured.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.drawn.detail(PaneId::Pods), None);
}

impl App {
    /// The newest message's text.
    fn toast_text(&self) -> String {
        self.view
            .toasts
            .last()
            .map(|t| t.text.clone())
            .unwrap_or_default()
    }
}
