//! The SLO pane through TestBackend: rows worst first with gauges, burn, badges and sparklines;
//! health endpoints; the detail chart with the exact PromQL.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use watchfloor::app::{Action, App};
use watchfloor::config::{Severity, ThemeName, parse};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::slo::{
    AlertState, HealthCheck, HealthResult, HealthStatus, Reading, SloResult, SloState,
};
use watchfloor::ui::theme::{ColorSupport, Theme};

const CONFIG: &str = r#"
[[targets]]
name = "slo"
[targets.prometheus]
url = "http://127.0.0.1:9"
[[targets.slo]]
name = "api availability"
objective = 0.995
ratio = "x[{{window}}]"
[[targets.health]]
name = "claims-api"
url = "http://127.0.0.1:9/healthz/detailed"
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn slo(name: &str, state: SloState, burn_1h: f64) -> SloResult {
    let now = 1_800_000_000.0;
    let alert = |severity, factor, long: u64, short: u64, firing| AlertState {
        severity,
        factor,
        long: Duration::from_secs(long),
        short: Duration::from_secs(short),
        firing,
    };
    SloResult {
        name: name.into(),
        objective: 0.995,
        period: Duration::from_secs(30 * 86_400),
        burn: vec![
            ("5m".into(), Reading::Value(burn_1h * 1.2)),
            ("1h".into(), Reading::Value(burn_1h)),
            ("6h".into(), Reading::NoTraffic),
        ],
        alerts: vec![
            alert(Severity::Page, 14.4, 3600, 300, Some(burn_1h > 14.4)),
            alert(Severity::Page, 6.0, 21_600, 1800, None),
            alert(Severity::Ticket, 3.0, 86_400, 7200, Some(false)),
        ],
        budget_remaining: Reading::Value(if burn_1h > 10.0 { -0.12 } else { 0.62 }),
        availability: Reading::Value(0.99412),
        exhaustion: (burn_1h > 1.0).then(|| Duration::from_secs(7200)),
        state,
        sparkline: (0..72)
            .map(|i| Reading::Value(f64::from(i) / 72.0 * burn_1h))
            .collect(),
        history: vec![
            (
                "1h burn".into(),
                (0..96)
                    .map(|i| {
                        (
                            now - 86_400.0 + f64::from(i) * 900.0,
                            Reading::Value(f64::from(i) / 4.0),
                        )
                    })
                    .collect(),
            ),
            (
                "5m burn".into(),
                (0..96)
                    .map(|i| {
                        (
                            now - 86_400.0 + f64::from(i) * 900.0,
                            Reading::Value(f64::from(i) / 3.0),
                        )
                    })
                    .collect(),
            ),
        ],
        queries: vec![(
            "errors 1h".into(),
            "sum(rate(http_requests_total{code=~\"5..\"}[1h]))".into(),
        )],
        warnings: vec![],
        error: None,
    }
}

fn app() -> App {
    let config = parse(Path::new("slo.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "slo.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Slo {
        generation,
        results: vec![
            slo("checkout latency", SloState::Ok, 0.4),
            slo("api availability", SloState::Page, 22.0),
        ],
    }));
    let health = HealthResult {
        name: "claims-api".into(),
        url: "http://127.0.0.1:9/healthz/detailed".into(),
        status: HealthStatus::Degraded,
        http_status: Some(200),
        latency_ms: Some(41),
        body_status: Some("degraded".into()),
        checks: vec![
            HealthCheck {
                name: "database".into(),
                status: "ok".into(),
                response_time: Some("4ms".into()),
            },
            HealthCheck {
                name: "queue".into(),
                status: "degraded".into(),
                response_time: Some("900ms".into()),
            },
        ],
        error: None,
        consecutive_failures: 0,
        checked_at: Some(t0() - Duration::from_secs(5)),
    };
    app.update(Action::Backend(SourceEvent::Health {
        generation,
        index: 0,
        result: health,
    }));
    app.update(Action::Key(KeyEvent::from(KeyCode::Char('2'))));
    app.prepare_view();
    app
}

fn text(app: &App, (width, height): (u16, u16)) -> String {
    let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| watchfloor::ui::render(frame, &app.screen(), &theme))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn slos_worst_first_then_endpoints() {
    let app = app();
    let screen = text(&app, (120, 40));
    let page = screen.find("api availability").unwrap();
    let ok = screen.find("checkout latency").unwrap();
    let endpoint = screen.find("ENDPOINT").unwrap();
    assert!(page < ok && ok < endpoint, "{screen}");
    assert!(
        screen.contains("PAGE") && screen.contains("26.4 / 22.0 / no traffic"),
        "{screen}"
    );
    assert!(screen.contains("-12%"), "negative budget shown:\n{screen}");
    assert!(screen.contains("database ok · queue degraded"), "{screen}");
    insta::assert_snapshot!("slo_120x40", screen);
    insta::assert_snapshot!("slo_80x24", text(&app, (80, 24)));
    let mut app = app;
    app.update(Action::Key(KeyEvent::from(KeyCode::Char('1'))));
    let small = text(&app, (80, 24));
    assert!(
        small.contains("2 SLO burn · connecting · 2 SLOs · 1 PAGE"),
        "the one-line summary:\n{small}"
    );
}

#[test]
fn detail_charts_burn_against_thresholds_and_shows_promql() {
    let mut app = app();
    app.update(Action::Key(KeyEvent::from(KeyCode::Enter)));
    let screen = text(&app, (120, 40));
    assert!(screen.contains("page 14.4× 1h/5m FIRING"), "{screen}");
    assert!(
        screen.contains("page 6× 6h/30m n/a"),
        "no data is not ok:\n{screen}"
    );
    assert!(
        screen.contains("sum(rate(http_requests_total{code=~\"5..\"}[1h]))"),
        "{screen}"
    );
    assert!(
        screen.contains('⡀')
            || screen.contains('⠁')
            || screen
                .chars()
                .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
        "a braille chart:\n{screen}"
    );
    insta::assert_snapshot!("slo_detail_120x40", screen);
}

/// An SLO with many long queries, so the detail is longer than a small pane.
fn with_queries(mut app: App, count: usize) -> App {
    let mut result = slo("api availability", SloState::Page, 22.0);
    result.queries = (0..count)
        .map(|i| {
            (
                format!("q{i}"),
                format!(
                    "sum(rate(http_requests_total{{job=\"platform-v2-api\",code=~\"5..\",route=\"/api/v{i}/claims\"}}[1h])) / sum(rate(http_requests_total{{job=\"platform-v2-api\",route=\"/api/v{i}/claims\"}}[1h]))"
                ),
            )
        })
        .collect();
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Slo {
        generation,
        results: vec![result],
    }));
    app.prepare_view();
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::from(code)));
    app.prepare_view();
}

#[test]
fn detail_legend_labelled_thresholds_and_every_query_at_80x24() {
    let mut app = with_queries(app(), 6);
    key(&mut app, KeyCode::Enter);
    let top = text(&app, (80, 24));
    for needle in [
        "━━ 1h burn",
        "━━ 5m burn",
        "alert thresholds",
        "page 14.4×",
        "-24h",
        "now",
        "24h",
    ] {
        assert!(top.contains(needle), "{needle:?}:\n{top}");
    }
    insta::assert_snapshot!("slo_detail_80x24", top);
    // The queries are below the chart: j/PgDn scroll to them, all six, whole (wrapped).
    key(&mut app, KeyCode::End);
    let bottom = text(&app, (80, 24));
    assert!(bottom.contains("Esc: back to the list"), "{bottom}");
    assert!(bottom.contains("q5"), "{bottom}");
    // Wrapped, not cut: both halves of the ratio, to the closing parentheses.
    assert_eq!(bottom.matches("/api/v5/").count(), 2, "{bottom}");
    assert!(bottom.contains("claims\"}[1h])) /"), "{bottom}");
    insta::assert_snapshot!("slo_detail_queries_80x24", bottom);
    let end = app.view.panes[1].detail_scroll;
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(
        app.view.panes[1].detail_scroll,
        end - 1,
        "one row up at once"
    );
    key(&mut app, KeyCode::Home);
    assert_eq!(app.view.panes[1].detail_scroll, 0);
    text(&app, (80, 24));
    // A page is the detail's height: the first page's last row is the next page's first.
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.view.panes[1].detail_scroll, 16);
}

#[test]
fn the_range_selects_a_window_of_the_history_and_says_when_it_lacks() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    // 24 h is the default: the history the source fetches.
    let day = text(&app, (120, 40));
    assert!(day.contains("-24h") && day.contains("-12h"), "{day}");
    key(&mut app, KeyCode::Char('r'));
    let week = text(&app, (120, 40));
    // The fixture's history spans 95 steps of 15 minutes.
    assert!(
        week.contains("7d asked: the source fetches 23h45m of history; the chart shows all of it"),
        "{week}"
    );
    assert!(!day.contains("asked"), "24h is what there is:\n{day}");
    assert!(week.contains("-24h"), "{week}");
    key(&mut app, KeyCode::Char('r'));
    let hour = text(&app, (120, 40));
    assert!(hour.contains("-60m") && hour.contains("-30m"), "{hour}");
    assert!(!hour.contains("asked"), "{hour}");
    insta::assert_snapshot!("slo_detail_1h_120x40", hour);
    key(&mut app, KeyCode::Char('r'));
    let six = text(&app, (120, 40));
    assert!(six.contains("-6h") && six.contains("-3h"), "{six}");
    // The range is the view's: the list and other views are untouched.
    assert_eq!(
        app.view.panes[1].range,
        watchfloor::app::ChartRange::SixHours
    );
}
