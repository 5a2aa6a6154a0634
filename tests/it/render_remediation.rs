//! The remediation flow through TestBackend, driven by real keys: the revision picker, the scale
//! input, the confirmation dialog (dry run loading, ready, failed, audit failed, protected
//! typing), the running / following line and the result toasts. Text snapshots, plus style checks
//! for what text cannot show (the focused button is in reverse video).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;
use serde_json::json;
use watchfloor::app::{Action, App};
use watchfloor::config::{ThemeName, parse};
use watchfloor::data::{KubeUpdate, RowUpdate};
use watchfloor::event::SourceState;
use watchfloor::model::deployments::deployment_row;
use watchfloor::model::pods::pod_row;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::remediation::{Failure, HistoryEntry, Preview, PreviewSession, Progress};
use watchfloor::ui::remediation::offer_hints;
use watchfloor::ui::theme::{ColorSupport, Theme};
use watchfloor::ui::{self};

const POD: &str = "platform-v2-api-7c9d5-abc12";
const FORBIDDEN: &str = "deployments.apps \"catalog\" is forbidden: User \"alice@example.com\" \
    cannot patch resource \"deployments\" in API group \"apps\" in the namespace \
    \"platform-v2-stable\"";

fn config(protected: bool) -> String {
    format!(
        r#"
[[targets]]
name = "platform-prod"
protected = {protected}
[targets.kubernetes]
context = "prod-admin"
namespaces = ["platform-v2-stable"]
"#
    )
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn app_with(protected: bool, read_only: bool) -> App {
    app_from(&config(protected), read_only)
}

fn app_from(text: &str, read_only: bool) -> App {
    let config = parse(Path::new("test.toml"), text).unwrap();
    let inputs = ReadOnlyInputs {
        flag: read_only,
        ..Default::default()
    };
    let mut app = App::new(Arc::new(config), "test.toml".into(), 0, inputs, t0());
    let generation = app.data.generation;
    for index in 0..4 {
        app.update(Action::Backend(SourceEvent::State {
            generation,
            index,
            state: SourceState::Live,
            at: t0(),
        }));
    }
    app.update(Action::Backend(SourceEvent::KubeContext {
        generation,
        name: "prod-admin".into(),
    }));
    for update in kube_rows() {
        app.update(Action::Backend(SourceEvent::Kube { generation, update }));
    }
    // The Pods pane, focused.
    press(&mut app, &[KeyCode::Char('1')]);
    app
}

fn app(protected: bool) -> App {
    app_with(protected, false)
}

fn pod(name: &str, status: serde_json::Value) -> k8s_openapi::api::core::v1::Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "platform-v2-stable", "creationTimestamp": "2027-01-15T07:00:00Z"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "api", "image": "platform-v2-api:7.0.0"}]},
        "status": status,
    }))
    .unwrap()
}

/// A crash-looping pod and a healthy one; two deployments, one of them unavailable.
fn kube_rows() -> Vec<KubeUpdate> {
    let running = json!({"phase": "Running", "containerStatuses": [{"name": "api", "ready": true, "restartCount": 0, "image": "x", "imageID": "", "state": {"running": {"startedAt": "2027-01-15T07:00:00Z"}}}]});
    let crashing = json!({"phase": "Running", "containerStatuses": [{"name": "api", "ready": false, "restartCount": 14, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2027-01-15T07:57:00Z"}}}]});
    let deployment = |name: &str, ready: i32| -> k8s_openapi::api::apps::v1::Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "platform-v2-stable", "generation": 3, "annotations": {"deployment.kubernetes.io/revision": "7"}},
            "spec": {"replicas": 3, "selector": {}, "template": {"spec": {"containers": [{"name": "api", "image": format!("{name}:7.0.0")}]}}},
            "status": {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": ready, "availableReplicas": ready},
        }))
        .unwrap()
    };
    vec![
        KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows: [pod(POD, crashing), pod("catalog-5f6b7-zz9k1", running)]
                .iter()
                .map(pod_row)
                .collect(),
        }),
        KubeUpdate::Deployments(RowUpdate::Replace {
            namespace: None,
            rows: vec![
                deployment_row(&deployment("platform-v2-api", 0)),
                deployment_row(&deployment("catalog", 3)),
            ],
        }),
    ]
}

/// Keys, then the view preparation the runtime does before each frame.
fn press(app: &mut App, codes: &[KeyCode]) {
    for code in codes {
        app.update(Action::Key(KeyEvent::from(*code)));
    }
    app.prepare_view();
}

/// `:pods` Enter: the Pods pane's pods view again (`v` cycles on to the other workloads).
fn back_to_pods(app: &mut App) {
    press(app, &[KeyCode::Char(':')]);
    type_text(app, "pods");
    press(app, &[KeyCode::Enter]);
}

fn type_text(app: &mut App, text: &str) {
    let codes: Vec<KeyCode> = text.chars().map(KeyCode::Char).collect();
    press(app, &codes);
}

fn attempt(app: &App) -> u64 {
    app.view.modal.as_ref().expect("a dialog is open").attempt
}

fn preview(app: &mut App, result: Result<Preview, String>, audit: Result<(), String>) {
    let (generation, attempt) = (app.data.generation, attempt(app));
    app.update(Action::Previewed {
        generation,
        attempt,
        result,
        audit,
    });
}

fn ready(summary: &str, lines: &[&str]) -> Result<Preview, String> {
    Ok(Preview {
        summary: summary.into(),
        lines: lines.iter().map(ToString::to_string).collect(),
        ..Preview::default()
    })
}

fn history() -> Vec<HistoryEntry> {
    let entry = |revision, hours: u64, image: &str, cause: Option<&str>, current| HistoryEntry {
        revision,
        created: Some(t0() - Duration::from_secs(hours * 3600)),
        images: vec![format!("quay.io/platform/platform-v2-api:{image}")],
        change_cause: cause.map(Into::into),
        current,
    };
    vec![
        entry(7, 2, "7.0.0", Some("deploy 7.0.0 (CHG-2291)"), true),
        entry(6, 26, "6.3.1", Some("deploy 6.3.1"), false),
        entry(5, 80, "6.3.0", None, false),
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

fn screen(app: &App, size: (u16, u16)) -> String {
    text(draw(app, size).backend().buffer())
}

/// The cell where `needle` starts on screen.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buffer);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{screen}");
}

fn reversed(buffer: &Buffer, needle: &str) -> bool {
    let (x, y) = find(buffer, needle);
    buffer[(x + 2, y)].modifier.contains(Modifier::REVERSED)
}

#[test]
fn undo_picks_a_revision_then_confirms_with_no_focused() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('u')]);
    let loading = screen(&app, (120, 40));
    assert!(
        loading.contains("rollout undo · pick a revision")
            && loading.contains("loading revisions…"),
        "{loading}"
    );
    insta::assert_snapshot!("history_loading_120x40", loading);

    let (generation, attempt) = (app.data.generation, attempt(&app));
    app.update(Action::History {
        generation,
        attempt,
        result: Ok(history()),
    });
    let loaded = screen(&app, (120, 40));
    assert!(loaded.contains("7 (current)"), "{loaded}");
    assert!(
        loaded.contains("▸ 6"),
        "the newest revision that is not the current one is selected:\n{loaded}"
    );
    insta::assert_snapshot!("history_loaded_120x40", loaded);

    press(&mut app, &[KeyCode::Enter]);
    let dry_run = screen(&app, (120, 40));
    assert!(
        dry_run.contains("roll back to revision 6") && dry_run.contains("⠋ dry run…"),
        "{dry_run}"
    );
    insta::assert_snapshot!("confirm_loading_120x40", dry_run);

    preview(
        &mut app,
        ready(
            "revision 6: images quay.io/platform/platform-v2-api:7.0.0 -> quay.io/platform/platform-v2-api:6.3.1",
            &["dry run: deployment.apps/platform-v2-api rolled back (server dry run)"],
        ),
        Ok(()),
    );
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let confirm = text(buffer);
    for needle in [
        " rollout undo ",
        "target  platform-prod",
        "where   prod-admin / platform-v2-stable",
        "object  deployment/platform-v2-api",
        "change  roll back to revision 6",
        "y confirm · n/Esc cancel · Tab switch",
    ] {
        assert!(confirm.contains(needle), "{needle:?}:\n{confirm}");
    }
    assert!(!confirm.contains("force delete"), "{confirm}");
    assert!(reversed(buffer, "[ No ]"), "No is focused");
    assert!(!reversed(buffer, "[ Yes ]"), "Yes is not");
    insta::assert_snapshot!("confirm_ready_120x40", confirm);

    // Tab moves the focus to Yes.
    press(&mut app, &[KeyCode::Tab]);
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    assert!(reversed(buffer, "[ Yes ]") && !reversed(buffer, "[ No ]"));
}

#[test]
fn many_dry_run_lines_are_cut_with_a_count() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    let lines: Vec<String> = (1..=14)
        .map(|i| format!("pod platform-v2-api-7c9d5-{i:05} would be replaced"))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    preview(
        &mut app,
        ready(
            "dry run ok: deployments platform-v2-api rolls out new pods (kubectl.kubernetes.io/restartedAt = 2027-01-15T08:00:00Z)",
            &lines,
        ),
        Ok(()),
    );
    let big = screen(&app, (80, 24));
    assert!(big.contains(" of 14 · j/k scroll"), "{big}");
    assert!(big.contains("[ No ]") && big.contains("y confirm"), "{big}");
    insta::assert_snapshot!("confirm_truncated_80x24", big);
    let tall = screen(&app, (120, 40));
    assert!(
        tall.contains("00009 would be replaced")
            && !tall.contains("00010 would be replaced")
            && tall.contains("… 1–9 of 14 · j/k scroll"),
        "at most 10 lines:\n{tall}"
    );
    // The rest is a scroll away; the last page stays full.
    press(&mut app, &[KeyCode::Char('G'), KeyCode::Char('j')]);
    press(&mut app, &[KeyCode::Down; 20]);
    let end = screen(&app, (120, 40));
    assert!(
        end.contains("00014 would be replaced")
            && end.contains("… 6–14 of 14")
            && !end.contains("00005 would be replaced"),
        "{end}"
    );
    press(&mut app, &[KeyCode::Char('k'), KeyCode::Up]);
    assert!(screen(&app, (120, 40)).contains("… 4–12 of 14"));
}

#[test]
fn protected_target_needs_the_name_typed() {
    let mut app = app(true);
    press(&mut app, &[KeyCode::Char('D')]);
    preview(
        &mut app,
        ready(
            &format!("pod {POD} would go"),
            &[&format!("pod \"{POD}\" deleted (server dry run)")],
        ),
        Ok(()),
    );
    type_text(&mut app, "platform-v2-api");
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let partial = text(buffer);
    assert!(
        partial.contains(&format!("type {POD} to confirm: platform-v2-api"))
            && partial.contains("protected target")
            && partial.contains("Enter confirm (when it matches) · Esc cancel")
            && !partial.contains("y confirm")
            && !partial.contains("F force"),
        "{partial}"
    );
    assert!(!partial.contains('✓'), "{partial}");
    assert!(!reversed(buffer, "[ Yes ]"), "Yes is not active yet");
    insta::assert_snapshot!("protected_partial_120x40", partial);

    // `y` is text here, not a confirmation.
    type_text(&mut app, "-7c9d5-abc12");
    assert!(app.view.modal.is_some());
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let typed = text(buffer);
    assert!(typed.contains(&format!("{POD}  ✓")), "{typed}");
    assert!(reversed(buffer, "[ Yes ]"), "Enter confirms now");
    insta::assert_snapshot!("protected_typed_120x40", typed);
    insta::assert_snapshot!("protected_typed_80x24", screen(&app, (80, 24)));

    // A typo says so.
    press(&mut app, &[KeyCode::Char('x')]);
    assert!(screen(&app, (120, 40)).contains(&format!("{POD}x  ✗")));
}

#[test]
fn a_failed_dry_run_executes_nothing() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    preview(
        &mut app,
        Err("admission webhook \"validate.kyverno.svc-fail\" denied the request: restarts are frozen during the change window CHG-2291".into()),
        Ok(()),
    );
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let failed = text(buffer);
    assert!(
        failed.contains("dry run failed: admission webhook")
            && failed.contains("nothing will be executed"),
        "{failed}"
    );
    let (x, y) = find(buffer, "dry run failed");
    assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD), "crit");
    insta::assert_snapshot!("confirm_dry_run_failed_120x40", failed);
    press(
        &mut app,
        &[KeyCode::Char('y'), KeyCode::Tab, KeyCode::Enter],
    );
    assert!(app.view.running.is_empty(), "nothing runs");
}

#[test]
fn an_audit_trail_that_cannot_be_written_blocks_the_action() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('D')]);
    preview(
        &mut app,
        ready(
            &format!("pod {POD} would go"),
            &[&format!("pod \"{POD}\" deleted (server dry run)")],
        ),
        Err("/var/log/watchfloor/audit.jsonl: Permission denied (os error 13)".into()),
    );
    let audit = screen(&app, (120, 40));
    assert!(
        audit.contains("cannot write the audit trail: /var/log/watchfloor/audit.jsonl")
            && audit.contains("the action cannot run")
            && audit.contains(&format!("pod {POD} would go"))
            && audit.contains("F force delete (second choice)"),
        "{audit}"
    );
    insta::assert_snapshot!("confirm_audit_failed_120x40", audit);
    press(&mut app, &[KeyCode::Char('y')]);
    assert!(app.view.running.is_empty() && app.view.modal.is_some());
}

#[test]
fn scale_input_with_a_value_and_with_an_error() {
    let mut app = app(false);
    press(
        &mut app,
        &[KeyCode::Char('v'), KeyCode::Char('s'), KeyCode::Backspace],
    );
    type_text(&mut app, "5");
    let typed = screen(&app, (80, 24));
    assert!(
        typed.contains("deployment/platform-v2-api  replicas 3 -> 5")
            && typed.contains("Enter preview · Esc cancel"),
        "{typed}"
    );
    insta::assert_snapshot!("scale_typed_80x24", typed);

    type_text(&mut app, "0000");
    press(&mut app, &[KeyCode::Enter]);
    let error = screen(&app, (80, 24));
    assert!(
        error.contains("a replica count from 0 to 10000, not \"50000\""),
        "{error}"
    );
    insta::assert_snapshot!("scale_error_80x24", error);
}

#[test]
fn scale_input_starts_with_the_current_count_selected() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('s')]);
    let terminal = draw(&app, (80, 24));
    let buffer = terminal.backend().buffer();
    let open = text(buffer);
    assert!(
        open.contains("deployment/platform-v2-api  replicas 3 -> 3"),
        "{open}"
    );
    // The count in the field is selected (reverse video), the arrow before it is not.
    let (x, y) = find(buffer, "replicas 3 -> 3");
    let field = x + "replicas 3 -> ".len() as u16;
    assert!(buffer[(field, y)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(field - 2, y)].modifier.contains(Modifier::REVERSED));
    // Typing replaces it.
    type_text(&mut app, "5");
    assert!(screen(&app, (80, 24)).contains("replicas 3 -> 5 "));
    type_text(&mut app, "0");
    assert!(screen(&app, (80, 24)).contains("replicas 3 -> 50"));
    // An arrow first keeps it, and the digits go after it.
    let mut app = app_with(false, false);
    press(
        &mut app,
        &[KeyCode::Char('v'), KeyCode::Char('s'), KeyCode::End],
    );
    type_text(&mut app, "0");
    assert!(screen(&app, (80, 24)).contains("replicas 3 -> 30"));
    press(&mut app, &[KeyCode::Enter]);
    assert!(
        screen(&app, (80, 24)).contains("change  replicas 3 -> 30"),
        "{}",
        screen(&app, (80, 24))
    );
}

#[test]
fn n_and_esc_say_the_action_was_aborted() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    preview(&mut app, ready("dry run ok", &[]), Ok(()));
    press(&mut app, &[KeyCode::Char('n')]);
    assert!(app.view.modal.is_none());
    let toast =
        "aborted rollout restart of deployment/platform-v2-api on platform-prod: nothing was done";
    assert!(
        screen(&app, (120, 40)).contains(toast),
        "{}",
        screen(&app, (120, 40))
    );

    // Esc, on a dialog whose dry run failed, and on a forced delete: named as such.
    back_to_pods(&mut app);
    press(&mut app, &[KeyCode::Char('D')]);
    preview(&mut app, Err("denied".into()), Ok(()));
    press(&mut app, &[KeyCode::Esc]);
    let last = app
        .view
        .toasts
        .last()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(
        last,
        format!("aborted delete pod of pod/{POD} on platform-prod: nothing was done")
    );
    press(&mut app, &[KeyCode::Char('D')]);
    let count = |app: &App| {
        (
            app.view.toasts.len(),
            app.view.toasts.last().map(|t| t.repeats),
        )
    };
    let before = count(&app);
    press(&mut app, &[KeyCode::Char('F')]);
    assert_eq!(
        count(&app),
        before,
        "moving on to force is not an abort: {:?}",
        app.view.toasts.last()
    );
    press(&mut app, &[KeyCode::Esc]);
    let last = app
        .view
        .toasts
        .last()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(
        last,
        format!("aborted force delete pod of pod/{POD} on platform-prod: nothing was done")
    );
}

fn db_config(protected: bool) -> String {
    format!(
        "{}[[targets.postgres]]\nname = \"platform-db\"\ndsn = \"host=platform-db\"\n",
        config(protected)
    )
}

/// Fourteen sessions idle in transaction for 1h01 to 1h14, one of them aborted, with their last
/// queries (one long, one spread over lines with an escape sequence in it).
fn idle_sessions() -> Vec<PreviewSession> {
    (1..=14)
        .map(|i| PreviewSession {
            pid: 4200 + i,
            user: Some(if i % 3 == 0 { "billing" } else { "platform" }.into()),
            application: Some(format!("platform-v2-api-{i}")),
            state: Some(
                if i == 2 {
                    "idle in transaction (aborted)"
                } else {
                    "idle in transaction"
                }
                .into(),
            ),
            age_secs: Some(3600 + 60 * (15 - i) as u64),
            query: match i {
                1 => format!(
                    "UPDATE orders SET state = 'paid' WHERE id IN ({})",
                    "1234, ".repeat(40)
                ),
                4 => "SELECT *\n  FROM ledger\u{1b}[2J\n WHERE id = 7".into(),
                _ => format!("SELECT * FROM carts WHERE id = {i} FOR UPDATE"),
            },
        })
        .collect()
}

/// The DB pane on the database, `X` pressed, and the dry run in.
fn idle_dialog(protected: bool) -> App {
    use watchfloor::db::DbUpdate;
    use watchfloor::db::postgres::{PgSample, Privileges, Session, Thresholds, analyse};
    let mut app = app_from(&db_config(protected), false);
    let session = |s: &PreviewSession| Session {
        pid: s.pid,
        usename: s.user.clone(),
        application_name: s.application.clone(),
        client_addr: None,
        datname: Some("platform".into()),
        state: s.state.clone(),
        wait_event_type: None,
        wait_event: None,
        backend_type: Some("client backend".into()),
        query_age: s.age_secs.map(|a| a as f64),
        state_age: s.age_secs.map(|a| a as f64),
        xact_age: s.age_secs.map(|a| a as f64),
        backend_age: None,
        query: Some(s.query.clone()),
        blocked_by: Vec::new(),
        own: false,
        role_superuser: Some(false),
        role_privileges: Some(false),
    };
    let sample = PgSample {
        max_connections: 100,
        privileges: Privileges {
            superuser: false,
            read_all_stats: true,
            signal_backend: true,
        },
        database: Some("platform".into()),
        sessions: idle_sessions().iter().map(session).collect(),
        ..PgSample::default()
    };
    let status = analyse("platform-db", sample, Thresholds::default());
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Db {
        generation,
        update: DbUpdate::Postgres {
            index: 0,
            status: Box::new(status),
        },
    }));
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Char('X')]);
    assert!(app.view.modal.is_some(), "{}", screen(&app, (120, 40)));
    let sessions = idle_sessions();
    let pids: Vec<String> = sessions.iter().map(|s| s.pid.to_string()).collect();
    preview(
        &mut app,
        Ok(Preview {
            summary: format!(
                "14 sessions would be hit: pids {} and 2 more",
                pids[..12].join(", ")
            ),
            lines: pids.iter().map(|p| format!("pid {p}")).collect(),
            sessions,
        }),
        Ok(()),
    );
    app.prepare_view();
    app
}

#[test]
fn terminate_idle_lists_every_session_and_scrolls() {
    let mut app = idle_dialog(false);
    let buffer = draw(&app, (120, 40)).backend().buffer().clone();
    let dialog = text(&buffer);
    for needle in [
        " terminate idle-in-transaction ",
        "where   postgres platform-db",
        "object  14 idle-in-transaction sessions",
        "PID   USER      APPLICATION         STATE       AGE    QUERY",
        "4201  platform  platform-v2-api-1   idle in tx  1h14m  UPDATE orders SET state = 'paid' WHERE… ║",
        "4202  platform  platform-v2-api-2   aborted tx  1h13m  SELECT * FROM carts WHERE id = 2",
        "4209  billing   platform-v2-api-9   idle in tx  1h06m",
        "… 1–9 of 14 · j/k scroll",
        "y confirm · n/Esc cancel · Tab switch · j/k scroll",
    ] {
        assert!(dialog.contains(needle), "{needle:?}:\n{dialog}");
    }
    assert!(!dialog.contains("4210  "), "{dialog}");
    // The multi-line query is one line, its escape sequence gone.
    assert!(
        dialog.contains("SELECT * FROM ledger WHERE id = 7 "),
        "{dialog}"
    );
    assert!(
        buffer
            .content
            .iter()
            .all(|c| !c.symbol().chars().any(char::is_control)),
        "{dialog}"
    );
    insta::assert_snapshot!("terminate_idle_120x40", dialog);

    // j/k and the arrows scroll through the keymap; the window never runs past the end.
    press(
        &mut app,
        &[KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::Down],
    );
    let scrolled = screen(&app, (120, 40));
    assert!(
        scrolled.contains("… 4–12 of 14")
            && scrolled.contains("4212  ")
            && !scrolled.contains("4203  "),
        "{scrolled}"
    );
    press(&mut app, &[KeyCode::Char('j'); 30]);
    let end = screen(&app, (120, 40));
    assert!(
        end.contains("… 6–14 of 14") && end.contains("4214  "),
        "{end}"
    );
    press(&mut app, &[KeyCode::Char('k'), KeyCode::Up]);
    assert!(screen(&app, (120, 40)).contains("… 4–12 of 14"));
    insta::assert_snapshot!("terminate_idle_scrolled_80x24", screen(&app, (80, 24)));

    // n: nothing runs, and the toast says so.
    press(&mut app, &[KeyCode::Char('n')]);
    assert!(app.view.modal.is_none() && app.view.running.is_empty());
    assert!(
        screen(&app, (160, 40)).contains(
            "aborted terminate idle-in-transaction of 14 idle-in-transaction sessions on \
             platform-prod: nothing was done"
        ),
        "{}",
        screen(&app, (160, 40))
    );
}

#[test]
fn a_protected_targets_list_scrolls_with_the_arrows_while_its_name_is_typed() {
    let mut app = idle_dialog(true);
    let dialog = screen(&app, (120, 40));
    assert!(dialog.contains("… 1–9 of 14 · ↓/↑ scroll"), "{dialog}");
    // j is text here; the arrows scroll.
    type_text(&mut app, "j");
    press(&mut app, &[KeyCode::Down, KeyCode::Down]);
    let scrolled = screen(&app, (120, 40));
    assert!(
        scrolled.contains("… 3–11 of 14") && scrolled.contains("to confirm: j"),
        "{scrolled}"
    );
    press(&mut app, &[KeyCode::Up]);
    assert!(screen(&app, (120, 40)).contains("… 2–10 of 14"));
}

#[test]
fn running_following_and_result_toasts() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    preview(
        &mut app,
        ready(
            "dry run ok: deployments platform-v2-api rolls out new pods",
            &[],
        ),
        Ok(()),
    );
    let first = attempt(&app);
    press(&mut app, &[KeyCode::Char('y')]);
    assert!(app.view.modal.is_none() && app.view.running.len() == 1);
    app.update(Action::Tick(t0() + Duration::from_secs(12)));
    let running = screen(&app, (120, 40));
    assert!(
        running.contains(" rollout restart deployment/platform-v2-api … 12s"),
        "{running}"
    );
    insta::assert_snapshot!("running_120x40", running);

    app.update(Action::Executed {
        generation: app.data.generation,
        attempt: first,
        result: Ok("deployment.apps/platform-v2-api restarted".into()),
        follow: Some(watchfloor::remediation::Rollout {
            namespace: "platform-v2-stable".into(),
            kind: watchfloor::remediation::WorkloadKind::Deployment,
            name: "platform-v2-api".into(),
        }),
    });
    app.update(Action::Tick(t0() + Duration::from_secs(15)));
    let following = screen(&app, (120, 40));
    assert!(
        following.contains("· following deployment platform-v2-stable/platform-v2-api · 15s")
            && following.contains("done: deployment.apps/platform-v2-api restarted"),
        "{following}"
    );
    insta::assert_snapshot!("following_and_success_toast_120x40", following);

    app.update(Action::Progress {
        generation: app.data.generation,
        attempt: first,
        progress: Progress {
            done: false,
            failed: None,
            message: "Waiting for deployment \"platform-v2-api\" rollout to finish: 2 of 3 updated replicas are available...".into(),
        },
    });
    // The other deployment: restarted, and refused by the server.
    press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('r')]);
    preview(
        &mut app,
        ready("dry run ok: deployments catalog rolls out new pods", &[]),
        Ok(()),
    );
    let second = attempt(&app);
    press(&mut app, &[KeyCode::Char('y')]);
    app.update(Action::Executed {
        generation: app.data.generation,
        attempt: second,
        result: Err(Failure::Forbidden(FORBIDDEN.into())),
        follow: None,
    });
    let error = screen(&app, (120, 40));
    assert!(
        error.contains("failed: deployments.apps \"catalog\" is forbidden")
            && error.contains(
                "deployment/platform-v2-api · Waiting for rollout: 2 of 3 updated replicas are available · 15s"
            ),
        "{error}"
    );
    assert!(app.view.running.len() == 1, "the failed one no longer runs");
    insta::assert_snapshot!("following_and_error_toast_120x40", error);
}

#[test]
fn a_rebound_confirm_key_is_the_one_that_confirms_and_the_hint_says_so() {
    let text = format!(
        "[ui.keys]\nconfirm = \"Y\"\nforce_delete = \"ctrl-f\"\n{}",
        config(false)
    );
    let mut app = app_from(&text, false);
    assert!(
        app.view.keymap.warnings.is_empty(),
        "{:?}",
        app.view.keymap.warnings
    );
    press(&mut app, &[KeyCode::Char('D')]);
    preview(&mut app, ready(&format!("pod {POD} would go"), &[]), Ok(()));
    let dialog = screen(&app, (120, 40));
    let hints = "Y confirm · n/Esc cancel · Tab switch · Ctrl-f force delete (second choice)";
    assert!(dialog.contains(hints), "{dialog}");
    assert!(!dialog.contains("y confirm"), "{dialog}");
    // The footer repeats the dialog's keys.
    let footer = dialog.lines().last().unwrap_or_default();
    assert!(footer.contains(hints), "{footer}");

    // The old keys do nothing now.
    press(&mut app, &[KeyCode::Char('y'), KeyCode::Char('F')]);
    assert!(app.view.modal.is_some() && app.view.running.is_empty());
    assert!(
        !screen(&app, (120, 40)).contains("force delete pod"),
        "F no longer asks for a forced delete"
    );
    press(&mut app, &[KeyCode::Char('Y')]);
    assert!(app.view.modal.is_none(), "Y confirms");
    assert_eq!(app.view.running.len(), 1);
}

#[test]
fn offer_hints_name_keys_and_read_only() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v')]);
    let hints = offer_hints(&app.screen());
    let keys: Vec<(&str, &str, bool)> = hints
        .iter()
        .map(|(k, l, e, _)| (k.as_str(), l.as_str(), *e))
        .collect();
    assert_eq!(
        keys,
        [
            ("r", "rollout restart", true),
            ("u", "rollout undo", true),
            ("s", "scale", true),
        ]
    );
    back_to_pods(&mut app);
    let hints = offer_hints(&app.screen());
    assert!(
        hints
            .iter()
            .any(|(k, l, e, r)| k == "D" && l == "delete pod" && *e && r.is_none()),
        "{hints:?}"
    );

    let mut read_only = app_with(false, true);
    press(&mut read_only, &[KeyCode::Char('v')]);
    let hints = offer_hints(&read_only.screen());
    assert_eq!(hints.len(), 1, "{hints:?}");
    let (key, label, enabled, reason) = &hints[0];
    assert!(key.is_empty() && label == "read-only" && !enabled && reason.is_some());
    // And no dialog opens.
    press(&mut read_only, &[KeyCode::Char('r'), KeyCode::Char('s')]);
    assert!(read_only.view.modal.is_none());
}

#[test]
fn escape_sequences_in_server_text_never_reach_the_buffer() {
    let mut app = app(false);
    press(&mut app, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    preview(
        &mut app,
        Err("denied \u{1b}]52;c;b3duZWQ=\u{7}\u{1b}[2J by policy".into()),
        Ok(()),
    );
    let buffer = draw(&app, (120, 40)).backend().buffer().clone();
    let screen = text(&buffer);
    assert!(screen.contains("dry run failed: denied"), "{screen}");
    assert!(
        buffer
            .content
            .iter()
            .all(|c| !c.symbol().chars().any(char::is_control)),
        "{screen}"
    );
}

/// Every stage at small and odd sizes: no panic, no overflow, and the buttons stay visible as
/// long as there is any room.
#[test]
fn tiny_terminals_never_panic() {
    let sizes = [
        (1, 1),
        (30, 8),
        (40, 8),
        (41, 9),
        (50, 10),
        (60, 12),
        (80, 24),
        (250, 70),
    ];
    let mut states: Vec<(&str, App)> = Vec::new();

    let mut history = app(true);
    press(&mut history, &[KeyCode::Char('v'), KeyCode::Char('u')]);
    states.push(("history loading", history));
    let mut history = app(true);
    press(&mut history, &[KeyCode::Char('v'), KeyCode::Char('u')]);
    let (generation, attempt_no) = (history.data.generation, attempt(&history));
    history.update(Action::History {
        generation,
        attempt: attempt_no,
        result: Ok(history_many()),
    });
    states.push(("history loaded", history));
    let mut failed = app(false);
    press(&mut failed, &[KeyCode::Char('v'), KeyCode::Char('u')]);
    let (generation, attempt_no) = (failed.data.generation, attempt(&failed));
    failed.update(Action::History {
        generation,
        attempt: attempt_no,
        result: Err(
            "deployments.apps \"platform-v2-api\" is forbidden: cannot list replicasets".into(),
        ),
    });
    states.push(("history error", failed));
    let mut scale = app(false);
    press(&mut scale, &[KeyCode::Char('v'), KeyCode::Char('s')]);
    type_text(&mut scale, "99999");
    press(&mut scale, &[KeyCode::Enter]);
    states.push(("scale error", scale));
    let mut protected = app(true);
    press(&mut protected, &[KeyCode::Char('D')]);
    preview(
        &mut protected,
        ready(&"x".repeat(300), &["a"; 40]),
        Err("e".repeat(200)),
    );
    type_text(&mut protected, &"y".repeat(120));
    states.push(("protected", protected));
    let mut running = app(false);
    press(&mut running, &[KeyCode::Char('v'), KeyCode::Char('r')]);
    preview(&mut running, ready("ok", &[]), Ok(()));
    press(&mut running, &[KeyCode::Char('y')]);
    states.push(("running", running));

    for (name, app) in &states {
        for size in sizes {
            let screen = screen(app, size);
            if app.view.modal.is_some() && size.0 >= 40 && size.1 >= 9 {
                let keys = ["[ No ]", "Esc cancel", "Esc"];
                assert!(
                    keys.iter().any(|k| screen.contains(k)),
                    "{name} at {size:?}:\n{screen}"
                );
            }
        }
    }
}

fn history_many() -> Vec<HistoryEntry> {
    (1..=30)
        .rev()
        .map(|revision| HistoryEntry {
            revision,
            created: None,
            images: vec![
                "registry.example.com/a/very/long/image/path/platform-v2-api:1.2.3".into();
                3
            ],
            change_cause: Some("x".repeat(200)),
            current: revision == 30,
        })
        .collect()
}
