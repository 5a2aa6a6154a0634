//! The Logs pane through ratatui's TestBackend: hostile lines never put a control character in
//! the buffer, and the pane's views (follow, pause, filter, level, wrap, raw JSON) render.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use watchfloor::app::{Action, App};
use watchfloor::config::{ThemeName, parse};
use watchfloor::logs::{LogEvent, parse_line};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::ui::theme::{ColorSupport, Theme};

const CONFIG: &str = r#"
[[targets]]
name = "logs"
[[targets.logs]]
source = "file"
path = "/var/log/app/*.log"
fields = ["request_id"]
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Escape sequences of every family, NULs, invalid UTF-8, bidi controls, a 1 MiB line.
fn hostile() -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = [
        "\x1b[2J\x1b[H\x1b[31mcleared the screen and moved home\x1b[0m",
        "\x1b]0;pwned title\x07window title via OSC 0",
        "\x1b]2;pwned title\x1b\\window title via OSC 2 with ST",
        "\x1b]52;c;cm0gLXJmIH4=\x07clipboard write via OSC 52",
        "\x1b]8;;http://evil.example/\x1b\\hyperlink\x1b]8;;\x1b\\ via OSC 8",
        "\x1b]4;1;rgb:ff/00/00\x07palette change via OSC 4",
        "\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\sixel via DCS",
        "\x1b_Gf=100;AAAA\x1b\\kitty graphics via APC",
        "\x1b^privacy message\x1b\\PM and \x1bXsos string\x1b\\SOS",
        "\u{9b}31m8-bit CSI and \u{9d}0;eight-bit OSC\u{9c} done",
        "NUL\0in\0the\0middle and a bell\x07 and backspace\x08",
        "bidi \u{202e}txt.exe\u{202c} and \u{2067}isolate\u{2069}",
        "tab\tseparated\tcolumns",
        "{\"level\":\"error\",\"msg\":\"json \\u001b]0;title\\u0007 inside\",\"request_id\":\"r-1\\u001b[2J\"}",
        "ends with a lone escape \x1b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    lines.push(b"invalid utf-8: \xff\xfe\xc3\x28 end".to_vec());
    let mut huge = b"a 1 MiB line: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 1 << 20));
    lines.push(huge);
    lines
}

fn app_with(lines: &[Vec<u8>]) -> App {
    let config = parse(Path::new("logs.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "logs.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: 0,
        event: LogEvent::StreamOpened {
            id: 7,
            label: "/var/log/app/api.log".into(),
        },
    }));
    let parsed = lines
        .iter()
        .enumerate()
        .map(|(i, bytes)| parse_line(7, bytes, false, t0() + Duration::from_millis(i as u64)))
        .collect();
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: 0,
        event: LogEvent::Lines(parsed),
    }));
    app.update(Action::Key(KeyEvent::from(KeyCode::Char('5'))));
    app.prepare_view();
    app
}

fn draw(app: &App, (width, height): (u16, u16)) -> Buffer {
    let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| watchfloor::ui::render(frame, &app.screen(), &theme))
        .unwrap();
    terminal.backend().buffer().clone()
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

fn assert_clean(buffer: &Buffer) {
    for cell in buffer.content() {
        for c in cell.symbol().chars() {
            assert!(!c.is_control(), "control character {c:?} in the buffer");
            assert!(
                !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
                "bidi control {c:?} in the buffer"
            );
        }
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::from(code)));
    app.prepare_view();
}

#[test]
fn hostile_lines_never_reach_the_terminal() {
    let mut app = app_with(&hostile());
    for size in [(80, 24), (120, 40), (200, 60)] {
        for toggle in [None, Some('w'), Some('r'), Some('T')] {
            if let Some(c) = toggle {
                key(&mut app, KeyCode::Char(c));
            }
            assert_clean(&draw(&app, size));
        }
    }
    key(&mut app, KeyCode::Char('w'));
    let screen = text(&draw(&app, (200, 60)));
    assert!(
        !screen.contains("pwned"),
        "no OSC payload is shown as text:\n{screen}"
    );
    assert!(screen.contains("window title via OSC 0"), "{screen}");
}

#[test]
fn long_lines_are_truncated_with_a_marker() {
    let line = parse_line(1, &hostile().pop().unwrap(), false, t0());
    assert!(line.raw.len() <= 64 * 1024 + 64, "{}", line.raw.len());
    assert!(line.raw.ends_with("[truncated]"));
}

#[test]
fn follow_pause_filter_and_level() {
    let lines: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            let level = ["info", "warn", "error", "debug"][i % 4];
            format!("{{\"level\":\"{level}\",\"msg\":\"request {i} done\",\"request_id\":\"req-{i:03}\"}}").into_bytes()
        })
        .collect();
    let mut app = app_with(&lines);
    let screen = text(&draw(&app, (120, 30)));
    assert!(
        screen.contains("request 99 done") && screen.contains("following"),
        "the tail is shown:\n{screen}"
    );
    assert!(
        screen.contains("request_id=req-099"),
        "chosen JSON fields are shown:\n{screen}"
    );
    insta::assert_snapshot!("logs_follow_120x30", screen);

    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Char('k'));
    let screen = text(&draw(&app, (120, 30)));
    assert!(
        screen.contains("PAUSED") && !screen.contains("request 99 done"),
        "paused two lines up:\n{screen}"
    );
    // New lines arrive: the paused view keeps its place.
    let generation = app.data.generation;
    let more = (100..110)
        .map(|i| {
            parse_line(
                7,
                format!("{{\"level\":\"info\",\"msg\":\"late {i}\"}}").as_bytes(),
                false,
                // Received after the first hundred: they go at the end in time order.
                t0() + std::time::Duration::from_secs(1),
            )
        })
        .collect();
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: 0,
        event: LogEvent::Lines(more),
    }));
    app.prepare_view();
    let after = text(&draw(&app, (120, 30)));
    assert!(
        after.contains("request 97 done") && !after.contains("late 109"),
        "{after}"
    );
    key(&mut app, KeyCode::Char('G'));
    assert!(
        text(&draw(&app, (120, 30))).contains("late 109"),
        "G returns to the tail"
    );

    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Char('l'));
    let screen = text(&draw(&app, (120, 30)));
    assert!(
        screen.contains("level >= warn") && !screen.contains(" INF "),
        "{screen}"
    );
    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Char('l'));
    for c in "/request 4 !44".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let screen = text(&draw(&app, (120, 30)));
    assert!(
        screen.contains("request 4 done") && screen.contains("request 49 done"),
        "{screen}"
    );
    assert!(
        !screen.contains("request 44 done"),
        "excluded by !44:\n{screen}"
    );
    insta::assert_snapshot!("logs_filtered_120x30", screen);
}

#[test]
fn copy_and_save_are_effects() {
    let mut app = app_with(&[b"first".to_vec(), b"second \x1b]0;x\x07line".to_vec()]);
    let copy = app.update(Action::Key(KeyEvent::from(KeyCode::Char('y'))));
    assert_eq!(
        copy,
        vec![watchfloor::app::Effect::CopyToClipboard(
            "second line".into()
        )]
    );
    let save = app.update(Action::Key(KeyEvent::from(KeyCode::Char('S'))));
    let [watchfloor::app::Effect::SaveLogs { text, lines }] = save.as_slice() else {
        panic!("{save:?}")
    };
    assert_eq!(*lines, 2);
    assert_eq!(
        text,
        "/var/log/app/api.log first\n/var/log/app/api.log second line\n"
    );
}

#[test]
fn enter_lists_streams_and_p_asks_for_previous_logs() {
    let mut app = app_with(&[b"one".to_vec()]);
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: 0,
        event: LogEvent::StreamOpened {
            id: 8,
            label: "api-7d9f/api".into(),
        },
    }));
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: 0,
        event: LogEvent::Lines(vec![parse_line(8, b"from the pod", false, t0())]),
    }));
    app.prepare_view();
    key(&mut app, KeyCode::Enter);
    let screen = text(&draw(&app, (100, 30)));
    assert!(
        screen.contains("2 streams") && screen.contains("api-7d9f/api following"),
        "{screen}"
    );
    key(&mut app, KeyCode::Esc);
    assert!(text(&draw(&app, (100, 30))).contains("from the pod"));
    // The file source has no namespace: `p` on a file line asks for nothing.
    let effects = app.update(Action::Key(KeyEvent::from(KeyCode::Char('k'))));
    assert!(effects.is_empty());
    assert!(
        app.update(Action::Key(KeyEvent::from(KeyCode::Char('p'))))
            .is_empty()
    );
}

/// A pod in the Pods pane, `p` pressed on it: the previous container's logs, read once, with
/// lines of every level.
fn previous_view() -> App {
    use watchfloor::data::{KubeUpdate, RowUpdate};
    let text = r#"
[[targets]]
name = "prod"
[targets.kubernetes]
context = "prod-admin"
"#;
    let config = parse(Path::new("logs.toml"), text).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "logs.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "platform-v2-api-7c9d5-abc12", "namespace": "platform-v2-stable"},
        "spec": {"containers": [{"name": "api", "image": "api:7"}]},
        "status": {"phase": "Running"},
    }))
    .unwrap();
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows: vec![watchfloor::model::pods::pod_row(&pod)],
        }),
    }));
    app.prepare_view();
    key(&mut app, KeyCode::Char('1'));
    let effects = app.update(Action::Key(KeyEvent::from(KeyCode::Char('p'))));
    let [watchfloor::app::Effect::PreviousLogs { source, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let source = *source;
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source,
        event: LogEvent::StreamOpened {
            id: 0,
            label: "platform-v2-api-7c9d5-abc12/api (previous)".into(),
        },
    }));
    let lines = [
        r#"{"level":"info","msg":"starting"}"#,
        r#"{"level":"warn","msg":"db slow: timeout 2s"}"#,
        r#"{"level":"error","msg":"db timeout: giving up"}"#,
        r#"{"level":"info","msg":"shutting down"}"#,
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| {
        parse_line(
            0,
            l.as_bytes(),
            false,
            t0() + Duration::from_millis(i as u64),
        )
    })
    .collect();
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source,
        event: LogEvent::Lines(lines),
    }));
    // The toast that opened the view has gone: the footer shows the keys.
    app.update(Action::Tick(t0() + Duration::from_secs(10)));
    app.prepare_view();
    app
}

/// The Logs pane's header line (its first row inside the border).
fn header(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("previous logs"))
        .unwrap_or_else(|| panic!("no header:\n{screen}"))
        .to_string()
}

#[test]
fn previous_logs_say_which_filters_are_on() {
    let mut app = previous_view();
    let none = header(&text(&draw(&app, (120, 30))));
    assert!(
        none.contains(
            "previous logs of platform-v2-stable/platform-v2-api-7c9d5-abc12 (Esc: all) · no filters · 4 lines"
        ),
        "{none}"
    );

    // Level >= warn, then a text filter, then the one stream: each is named, in that order.
    key(&mut app, KeyCode::Char('l'));
    key(&mut app, KeyCode::Char('l'));
    for c in "/timeout".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('s'));
    let screen = text(&draw(&app, (120, 30)));
    let on = header(&screen);
    assert!(
        on.contains(" · filters: level >= warn · source api (previous) · /timeout/ · 2 lines of 4")
            && on.contains("previous logs of platf…-abc12 (Esc: all)"),
        "{on}"
    );
    assert!(
        screen.contains("db slow: timeout 2s") && !screen.contains("starting"),
        "{screen}"
    );
    insta::assert_snapshot!("previous_logs_filtered_120x30", screen);

    // At 80 columns the pod's name gives way, never the filters.
    let narrow = header(&text(&draw(&app, (80, 24))));
    assert!(
        narrow
            .contains("previous logs · filters: level >= warn · source api (previous) · /timeout/"),
        "{narrow}"
    );

    // The text filter cleared (`/` then Esc), the header says which are left.
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Esc);
    let cleared = header(&text(&draw(&app, (120, 30))));
    assert!(
        cleared
            .contains("(Esc: all) · filters: level >= warn · source api (previous) · 2 lines of 4"),
        "{cleared}"
    );
}

#[test]
fn the_footer_offers_x_only_while_the_view_has_ad_hoc_streams() {
    let configured = app_with(&[b"one".to_vec()]);
    let footer = |app: &App| {
        text(&draw(app, (250, 30)))
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        !footer(&configured).contains("stop streams"),
        "{}",
        footer(&configured)
    );
    let mut previous = previous_view();
    assert!(
        footer(&previous).contains(" x stop streams "),
        "{}",
        footer(&previous)
    );
    let effects = previous.update(Action::Key(KeyEvent::from(KeyCode::Char('x'))));
    let [watchfloor::app::Effect::CloseLogs { sources, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let generation = previous.data.generation;
    previous.update(Action::Backend(SourceEvent::Logs {
        generation,
        source: sources[0],
        event: LogEvent::Closed {
            reason: "stopped by the operator".into(),
        },
    }));
    previous.update(Action::Tick(t0() + Duration::from_secs(30)));
    previous.prepare_view();
    assert!(!footer(&previous).contains("stop streams"));
    // Its lines stay, its stream says why it ended.
    key(&mut previous, KeyCode::Enter);
    let streams = text(&draw(&previous, (120, 30)));
    assert!(
        streams.contains("(previous) ended: stopped by the operator"),
        "{streams}"
    );
}
