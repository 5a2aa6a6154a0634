use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::parse;
use crate::data::KubeUpdate;

const CONFIG: &str = r#"
[[targets]]
name = "prod"
protected = true
[targets.kubernetes]
context = "prod-ctx"
namespaces = ["a", "b"]
[[targets.postgres]]
name = "main-db"
dsn = "host=db"
[[targets.redis]]
name = "cache"
url = "redis://cache"

[[targets]]
name = "staging"
read_only = true
[[targets.logs]]
source = "file"
path = "/var/log/app.log"
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn app_with(inputs: ReadOnlyInputs) -> App {
    let config = parse(std::path::Path::new("test.toml"), CONFIG).unwrap();
    App::new(Arc::new(config), "test.toml".into(), 0, inputs, t0())
}

fn app() -> App {
    app_with(ReadOnlyInputs::default())
}

fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    keys.chars()
        .flat_map(|c| app.update(Action::Key(KeyEvent::from(KeyCode::Char(c)))))
        .collect()
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::from(code)))
}

#[test]
fn starts_sources_of_the_chosen_target() {
    let app = app();
    // Access reviews wait until a selected row needs them.
    assert_eq!(
        app.start(),
        vec![Effect::StartSources {
            generation: app.data.generation,
            target_index: 0
        }]
    );
    let kinds: Vec<&str> = app.data.sources.iter().map(|s| s.kind).collect();
    // The platform checks' source comes last, so the others keep their indexes.
    assert_eq!(kinds, ["kubernetes", "postgres", "redis", "platform"]);
}

#[test]
fn focus_moves_with_tab_numbers_and_wraps() {
    let mut app = app();
    assert_eq!(app.view.focus, PaneId::Pods);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view.focus, PaneId::Slo);
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.view.focus, PaneId::Logs);
    press(&mut app, "3");
    assert_eq!(app.view.focus, PaneId::Db);
}

#[test]
fn selection_stays_within_rows() {
    let mut app = app();
    press(&mut app, "3jjjj");
    assert_eq!(app.view.panes[PaneId::Db.index()].selected, 1);
    press(&mut app, "g");
    assert_eq!(app.view.panes[PaneId::Db.index()].selected, 0);
    press(&mut app, "G");
    assert_eq!(app.screen().selected_row(PaneId::Db).unwrap().name, "cache");
}

#[test]
fn enter_opens_detail_and_esc_backs_out_in_layers() {
    let mut app = app();
    press(&mut app, "3z");
    key(&mut app, KeyCode::Enter);
    assert!(app.view.panes[PaneId::Db.index()].detail_open);
    key(&mut app, KeyCode::Esc);
    assert!(!app.view.panes[PaneId::Db.index()].detail_open);
    assert!(app.view.zoomed, "first Esc closes the detail only");
    key(&mut app, KeyCode::Esc);
    assert!(!app.view.zoomed);
}

#[test]
fn enter_on_an_empty_pane_opens_nothing() {
    let mut app = app();
    press(&mut app, "2");
    key(&mut app, KeyCode::Enter);
    assert!(!app.view.panes[PaneId::Slo.index()].detail_open);
}

#[test]
fn filter_is_live_and_esc_clears_it() {
    let mut app = app();
    press(&mut app, "3/");
    assert!(app.view.input.is_some());
    press(&mut app, "cach");
    assert_eq!(app.screen().pane_rows(PaneId::Db).len(), 1);
    key(&mut app, KeyCode::Enter);
    assert!(app.view.input.is_none());
    assert_eq!(
        app.view.panes[PaneId::Db.index()]
            .filter
            .as_ref()
            .unwrap()
            .text,
        "cach"
    );
    // Keys go to the pane again after Enter.
    press(&mut app, "/");
    key(&mut app, KeyCode::Esc);
    assert!(app.view.panes[PaneId::Db.index()].filter.is_none());
    assert_eq!(app.screen().pane_rows(PaneId::Db).len(), 2);
}

#[test]
fn invalid_regex_filters_literally() {
    let mut app = app();
    press(&mut app, "3/[x");
    assert!(
        app.view.panes[PaneId::Db.index()]
            .filter
            .as_ref()
            .unwrap()
            .literal
    );
    assert_eq!(app.screen().pane_rows(PaneId::Db).len(), 0);
}

#[test]
fn keys_typed_into_an_input_are_not_commands() {
    let mut app = app();
    let effects = press(&mut app, "/qt");
    assert!(effects.is_empty());
    assert!(!app.should_quit());
    assert_eq!(app.data.target_index, 0);
}

#[test]
fn help_overlay_swallows_keys() {
    let mut app = app();
    press(&mut app, "?");
    assert_eq!(app.view.help, Some(0));
    let effects = press(&mut app, "t2jj");
    assert!(effects.is_empty());
    assert_eq!(
        (app.view.focus, app.data.target_index, app.view.help),
        (PaneId::Pods, 0, Some(2))
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view.help, None);
}

#[test]
fn quit_from_q_colon_q_and_ctrl_c() {
    let mut app = app();
    assert_eq!(press(&mut app, "q"), vec![Effect::Quit]);
    let mut app = self::app();
    press(&mut app, ":q");
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Quit]);
    let mut app = self::app();
    press(&mut app, "/");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        app.update(Action::Key(ctrl_c)),
        vec![Effect::Quit],
        "Ctrl-C quits even from an input"
    );
}

#[test]
fn target_switch_restarts_sources_and_applies_target_read_only() {
    let mut app = app();
    assert!(!app.view.policy.is_read_only());
    let old = app.data.generation;
    let effects = press(&mut app, "t");
    assert_eq!(
        effects[0],
        Effect::StartSources {
            generation: old + 1,
            target_index: 1
        }
    );
    assert_eq!(
        effects.len(),
        1,
        "nothing selected, nothing asked: {effects:?}"
    );
    assert_eq!(app.target_name(), "staging");
    assert!(app.view.policy.is_read_only());
    press(&mut app, ":");
    press(&mut app, "target prod");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(
        effects[0],
        Effect::StartSources {
            generation: old + 2,
            target_index: 0
        }
    );
    assert!(!app.view.policy.is_read_only());
}

#[test]
fn unknown_target_and_command_are_toasts_with_suggestions() {
    let mut app = app();
    press(&mut app, ":target prd");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.view
            .toasts
            .last()
            .unwrap()
            .text
            .contains("did you mean prod?")
    );
    press(&mut app, ":qiut");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.view
            .toasts
            .last()
            .unwrap()
            .text
            .contains("did you mean :quit?")
    );
}

#[test]
fn read_only_flag_cannot_be_lifted_by_a_target_switch() {
    let mut app = app_with(ReadOnlyInputs {
        flag: true,
        ..Default::default()
    });
    assert!(app.view.policy.is_read_only());
    press(&mut app, "tt");
    assert!(app.view.policy.is_read_only());
}

#[test]
fn reports_from_an_old_generation_are_ignored() {
    let mut app = app();
    let old = app.data.generation;
    press(&mut app, "t");
    app.update(Action::Backend(SourceEvent::State {
        generation: old,
        index: 0,
        state: SourceState::Live,
        at: t0(),
    }));
    assert_eq!(app.data.sources[0].state, SourceState::Connecting);
    app.update(Action::Backend(SourceEvent::State {
        generation: app.data.generation,
        index: 0,
        state: SourceState::Live,
        at: t0(),
    }));
    assert_eq!(app.data.sources[0].state, SourceState::Live);
    assert_eq!(app.data.sources[0].last_ok, Some(t0()));
}

#[test]
fn freeze_keeps_the_display_while_updates_arrive() {
    let mut app = app();
    press(&mut app, "f");
    app.update(Action::Backend(SourceEvent::State {
        generation: app.data.generation,
        index: 0,
        state: SourceState::Live,
        at: t0(),
    }));
    assert_eq!(
        app.screen().visible_sources()[0].state,
        SourceState::Connecting
    );
    assert_eq!(app.data.sources[0].state, SourceState::Live);
    press(&mut app, "f");
    assert_eq!(app.screen().visible_sources()[0].state, SourceState::Live);
}

#[test]
fn a_pod_detail_opened_while_frozen_shows_its_answer() {
    let mut app = app();
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c")],
        }),
    }));
    app.prepare_view();
    press(&mut app, "f");
    let effects = key(&mut app, KeyCode::Enter);
    let key = ("a".to_string(), "api-7d4b9c-x5xc8".to_string());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenPodDetail { key: k, .. } if *k == key)),
        "{effects:?}"
    );
    // The answer arrives in the live data; the frozen display still shows it.
    app.update(Action::Backend(SourceEvent::PodDetail {
        generation,
        key: key.clone(),
        detail: Err("forbidden".into()),
    }));
    app.prepare_view();
    assert!(app.view.frozen.is_some());
    assert_eq!(
        app.screen().pod_detail(&key),
        Some(&Err("forbidden".to_string()))
    );
}

#[test]
fn ticks_age_data_and_expire_toasts() {
    let mut app = app();
    app.update(Action::Backend(SourceEvent::State {
        generation: app.data.generation,
        index: 1,
        state: SourceState::Live,
        at: t0(),
    }));
    press(&mut app, "3");
    app.update(Action::Tick(t0() + Duration::from_secs(19)));
    let label = app.data.sources[1].freshness(app.view.now).label();
    assert_eq!(label, "live", "postgres refresh 2s: stale after 20s");
    app.update(Action::Tick(t0() + Duration::from_secs(25)));
    assert!(
        app.view.live_toast().is_none(),
        "expired from the status line"
    );
    let label = app.data.sources[1].freshness(app.view.now).label();
    assert_eq!(label, "stale 25s", "postgres refresh 2s: stale after 20s");
}

#[test]
fn error_text_from_toasts_is_sanitised() {
    let mut app = app();
    press(&mut app, ":target \u{1b}]0;pwned\u{7}x");
    key(&mut app, KeyCode::Enter);
    assert!(!app.view.toasts.last().unwrap().text.contains('\u{1b}'));
}

#[test]
fn restart_operator_with_two_operators_asks_which() {
    let config = parse(
        std::path::Path::new("test.toml"),
        r#"
[[targets]]
name = "babylon"
[targets.kubernetes]
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
[[targets.operators]]
name = "anarchy"
namespace = "anarchy-operator"
selector = "app=anarchy-operator"
[[targets.operators]]
name = "poolboy"
namespace = "poolboy"
selector = "app=poolboy"
"#,
    )
    .unwrap();
    let mut app = App::new(
        Arc::new(config),
        "test.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let row = crate::model::claims::ClaimRow {
        source: "resourceclaims".into(),
        namespace: Some("user-a".into()),
        name: "lab-1".into(),
        state: "provisioning".into(),
        since: Some(t0()),
        stuck: true,
        why: "provisioning for 3h".into(),
        health: crate::model::Health::Crit,
        detail: None,
    };
    app.update(Action::Backend(SourceEvent::Kube {
        generation: app.data.generation,
        update: KubeUpdate::Claims {
            source: 0,
            rows: vec![row],
        },
    }));
    app.prepare_view();
    press(&mut app, "4R");
    assert!(matches!(
        app.view.modal.as_ref().map(|m| &m.stage),
        Some(remediate::Stage::Operators { .. })
    ));
    press(&mut app, "j");
    let effects = key(&mut app, KeyCode::Enter);
    let Some(Effect::Preview { plan, .. }) = effects.first() else {
        panic!("no preview: {effects:?}");
    };
    assert_eq!(
        plan.action,
        crate::remediation::ActionKind::RestartOperator {
            selector: "app=poolboy".into()
        }
    );
    assert!(matches!(
        &plan.place,
        crate::remediation::Place::Kubernetes { namespace, .. } if namespace == "poolboy"
    ));
}

fn pod(namespace: &str, name: &str, owner: &str) -> crate::model::pods::PodRow {
    let (kind, owner) = owner.split_once('/').expect("Kind/name");
    let pod = serde_json::json!({
        "metadata": {"namespace": namespace, "name": name, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": "u", "controller": true}]},
        "status": {"phase": "Running"},
    });
    crate::model::pods::pod_row(&serde_json::from_value(pod).expect("pod"))
}

fn log_event(app: &mut App, source: usize, event: crate::logs::LogEvent) {
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Logs {
        generation,
        source,
        event,
    }));
    app.prepare_view();
}

fn lines_of(stream: u32, texts: &[&str]) -> crate::logs::LogEvent {
    crate::logs::LogEvent::Lines(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                crate::logs::parse_line(
                    stream,
                    t.as_bytes(),
                    false,
                    t0() + Duration::from_millis(i as u64),
                )
            })
            .collect(),
    )
}

fn shown_lines(app: &App) -> Vec<String> {
    let data = &app.data.logs;
    app.view
        .logs
        .visible
        .iter()
        .filter_map(|seq| data.buffer.get(*seq))
        .map(|l| l.raw.to_string())
        .collect()
}

#[test]
fn l_on_a_pod_shows_its_logs_alone_reuses_streams_and_esc_returns() {
    let mut app = app();
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![
                pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c"),
                pod("a", "web-5c8d7b-q9w2e", "ReplicaSet/web-5c8d7b"),
            ],
        }),
    }));
    app.prepare_view();
    // A configured source already follows web's pod; the api pod is not followed.
    for (id, label) in [(1, "web-5c8d7b-q9w2e/web"), (2, "other-pod/main")] {
        log_event(
            &mut app,
            0,
            crate::logs::LogEvent::StreamOpened {
                id,
                label: label.into(),
            },
        );
    }
    log_event(&mut app, 0, lines_of(1, &["web line"]));
    log_event(&mut app, 0, lines_of(2, &["other line"]));

    // The selected (first) row is the api pod: a stream is opened for it alone.
    let selected = app.screen().selected_pod().map(|p| p.name.clone());
    assert_eq!(selected.as_deref(), Some("api-7d4b9c-x5xc8"));
    let effects = press(&mut app, "l");
    let source = match effects.as_slice() {
        [Effect::OpenLogs { source, .. }] => *source,
        other => panic!("one stream opened: {other:?}"),
    };
    assert_eq!(app.view.focus, PaneId::Logs);
    assert!(shown_lines(&app).is_empty(), "{:?}", shown_lines(&app));
    log_event(
        &mut app,
        source,
        crate::logs::LogEvent::StreamOpened {
            id: 1,
            label: "api-7d4b9c-x5xc8/api".into(),
        },
    );
    log_event(&mut app, source, lines_of(1, &["api line"]));
    assert_eq!(shown_lines(&app), ["api line"]);

    // `l` on the same pod again opens nothing.
    key(&mut app, KeyCode::Esc);
    press(&mut app, "1");
    assert!(press(&mut app, "l").is_empty(), "no duplicate stream");
    assert_eq!(shown_lines(&app), ["api line"]);

    // Esc returns to the shared view: every live stream.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view.logs.scope, super::logs_view::LogsScope::Shared);
    assert_eq!(shown_lines(&app).len(), 3, "{:?}", shown_lines(&app));

    // The web pod is followed by the configured source: `l` scopes to it, opening nothing.
    press(&mut app, "1");
    press(&mut app, "j");
    assert!(press(&mut app, "l").is_empty(), "already followed");
    assert_eq!(shown_lines(&app), ["web line"]);
}

#[test]
fn previous_container_logs_are_a_view_of_their_own() {
    let mut app = app();
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c")],
        }),
    }));
    app.prepare_view();
    log_event(
        &mut app,
        0,
        crate::logs::LogEvent::StreamOpened {
            id: 1,
            label: "api-7d4b9c-x5xc8/api".into(),
        },
    );
    log_event(&mut app, 0, lines_of(1, &["live line"]));
    let source = match press(&mut app, "p").as_slice() {
        [Effect::PreviousLogs { source, .. }] => *source,
        other => panic!("{other:?}"),
    };
    log_event(
        &mut app,
        source,
        crate::logs::LogEvent::StreamOpened {
            id: 0,
            label: "api-7d4b9c-x5xc8/api (previous)".into(),
        },
    );
    log_event(&mut app, source, lines_of(0, &["before the crash"]));
    assert_eq!(shown_lines(&app), ["before the crash"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(
        shown_lines(&app),
        ["live line"],
        "never mixed into the live view"
    );
}

#[test]
fn messages_collapse_repeats_and_stay_for_the_messages_page() {
    let mut app = app();
    for _ in 0..3 {
        app.view
            .toast(ToastLevel::Warn, "read-only mode: remediations are off");
    }
    app.view.toast(ToastLevel::Info, "frozen");
    let live = app.view.live_toast().expect("live");
    assert_eq!((live.text.as_str(), live.repeats), ("frozen", 1));
    assert_eq!(app.view.toasts.len(), 2);
    assert_eq!(app.view.toasts[0].repeats, 3);
    app.update(Action::Tick(t0() + Duration::from_secs(60)));
    assert!(app.view.live_toast().is_none());
    press(&mut app, ":");
    for c in "messages".chars() {
        press(&mut app, &c.to_string());
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.help_page, HelpPage::Messages);
    assert!(app.view.help.is_some());
}

#[test]
fn y_copies_the_incident_report_of_what_is_shown() {
    let mut app = app();
    let generation = app.data.generation;
    let mut crashing = pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c");
    crashing.status = "CrashLoopBackOff".into();
    crashing.health = crate::model::Health::Crit;
    crashing.restarts = 7;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![
                crashing,
                pod("a", "web-5c8d7b-q9w2e", "ReplicaSet/web-5c8d7b"),
            ],
        }),
    }));
    for (index, state) in [
        (0, SourceState::Live),
        (
            1,
            SourceState::Error {
                reason: "connection refused".into(),
                retry_at: None,
            },
        ),
    ] {
        app.update(Action::Backend(SourceEvent::State {
            generation,
            index,
            state,
            at: t0(),
        }));
    }
    let effects = press(&mut app, "Y");
    let [Effect::CopyToClipboard(text)] = effects.as_slice() else {
        panic!("Y copies one text: {effects:?}");
    };
    assert!(text.starts_with("watchfloor · target prod · "), "{text}");
    assert!(
        text.contains("CRIT  pods a/api: 1 pod CrashLoopBackOff, 7 restarts"),
        "the crashing workload is a headline:\n{text}"
    );
    assert!(
        text.contains("ERROR postgres not read: postgres main-db: error: connection refused"),
        "the failed source says why:\n{text}"
    );
    assert!(
        !text.contains("web-5c8d7b"),
        "healthy pods are counted, not listed:\n{text}"
    );
    assert!(!text.contains('{'), "no JSON:\n{text}");
    assert!(
        app.view
            .live_toast()
            .is_some_and(|t| t.text.contains("incident report"))
    );
}

#[test]
fn esc_and_a_key_read_together_as_alt_key_are_esc_then_the_key() {
    let mut app = app();
    press(&mut app, "3z");
    key(&mut app, KeyCode::Enter);
    assert!(app.view.panes[PaneId::Db.index()].detail_open);
    // Esc (closes the detail) and `j` arrived together: the parser says Alt-j.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('j'),
        KeyModifiers::ALT,
    )));
    assert!(
        !app.view.panes[PaneId::Db.index()].detail_open,
        "Esc closed the detail"
    );
    assert_eq!(
        app.view.panes[PaneId::Db.index()].selected,
        1,
        "then j moved down"
    );
    // In a text input, Alt-b is a word motion, not Esc then b.
    press(&mut app, "/");
    press(&mut app, "cache");
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('b'),
        KeyModifiers::ALT,
    )));
    assert!(app.view.input.is_some(), "the filter input stays open");
}

#[test]
fn x_stops_the_views_ad_hoc_streams_and_never_a_configured_source() {
    let mut app = app();
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![
                pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c"),
                pod("a", "web-5c8d7b-q9w2e", "ReplicaSet/web-5c8d7b"),
            ],
        }),
    }));
    app.prepare_view();
    // A configured source (0) follows another pod.
    log_event(
        &mut app,
        0,
        crate::logs::LogEvent::StreamOpened {
            id: 1,
            label: "other-pod/main".into(),
        },
    );
    // Nothing opened yet: x says so and asks for nothing.
    press(&mut app, "5");
    assert!(press(&mut app, "x").is_empty());
    assert!(
        app.view
            .toasts
            .last()
            .unwrap()
            .text
            .starts_with("no ad-hoc streams")
    );

    // `l` on the api pod, then `p` on it: two ad-hoc sources.
    press(&mut app, "1");
    let live = match press(&mut app, "l").as_slice() {
        [Effect::OpenLogs { source, .. }] => *source,
        other => panic!("{other:?}"),
    };
    press(&mut app, "1");
    let previous = match press(&mut app, "p").as_slice() {
        [Effect::PreviousLogs { source, .. }] => *source,
        other => panic!("{other:?}"),
    };
    for (source, label) in [
        (live, "api-7d4b9c-x5xc8/api"),
        (previous, "api-7d4b9c-x5xc8/api (previous)"),
    ] {
        log_event(
            &mut app,
            source,
            crate::logs::LogEvent::StreamOpened {
                id: 1,
                label: label.into(),
            },
        );
        log_event(&mut app, source, lines_of(1, &["a line"]));
    }
    assert_eq!(app.view.adhoc_sources(&app.data), [live, previous]);

    // x in the Logs pane: one effect closing both, never source 0.
    assert_eq!(app.view.focus, PaneId::Logs);
    let effects = press(&mut app, "x");
    assert_eq!(
        effects,
        [Effect::CloseLogs {
            generation,
            sources: vec![live, previous],
        }]
    );
    assert_eq!(
        app.view.toasts.last().unwrap().text,
        "stopped 2 ad-hoc streams (l, p); configured sources keep running"
    );
    // The runtime cancels the tasks and reports each source closed: the data ends the streams.
    for source in [live, previous] {
        log_event(
            &mut app,
            source,
            crate::logs::LogEvent::Closed {
                reason: "stopped by the operator".into(),
            },
        );
    }
    let states: Vec<(usize, bool)> = app
        .data
        .logs
        .streams
        .values()
        .map(|s| {
            (
                s.source,
                matches!(s.state, crate::logs::StreamState::Ended { .. }),
            )
        })
        .collect();
    assert_eq!(states, [(0, false), (live, true), (previous, true)]);
    assert!(app.view.adhoc_sources(&app.data).is_empty());
    // Their lines stay; a second x asks for nothing.
    assert_eq!(shown_lines(&app), ["a line"]);
    assert!(press(&mut app, "x").is_empty());

    // `l` on the pod again opens new streams (the stopped ones are not reused).
    press(&mut app, "1");
    match press(&mut app, "l").as_slice() {
        [Effect::OpenLogs { source, .. }] => assert!(*source > previous.min(live)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn enter_in_an_alert_detail_goes_to_the_pod_its_labels_name() {
    let config = parse(
        std::path::Path::new("test.toml"),
        "[[targets]]\nname = \"prod\"\n[targets.kubernetes]\n[targets.alertmanager]\nurl = \"http://am\"\n",
    )
    .unwrap();
    let mut app = App::new(
        Arc::new(config),
        "test.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(crate::data::RowUpdate::Replace {
            namespace: None,
            rows: vec![
                pod("a", "api-7d4b9c-x5xc8", "ReplicaSet/api-7d4b9c"),
                pod("a", "web-5c8d7b-q9w2e", "ReplicaSet/web-5c8d7b"),
            ],
        }),
    }));
    let body = r#"[
      {"labels":{"alertname":"KubePodCrashLooping","severity":"warning","namespace":"a","pod":"web-5c8d7b-q9w2e"},
       "annotations":{},"startsAt":"2026-12-06T06:00:00Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
      {"labels":{"alertname":"Elsewhere","severity":"critical","namespace":"z","pod":"gone"},
       "annotations":{},"startsAt":"2026-12-06T06:00:00Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}
    ]"#;
    let report = crate::alerts::AlertsReport {
        origin: crate::alerts::AlertOrigin::Alertmanager,
        alerts: crate::alerts::parse_alertmanager_alerts(body.as_bytes()).unwrap(),
        silences: Vec::new(),
        rules: Vec::new(),
        status: None,
    };
    app.update(Action::Backend(SourceEvent::Alerts { generation, report }));
    app.prepare_view();
    // The SLO pane: the critical alert first; its labels name nothing this target shows.
    press(&mut app, "2");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.focus, PaneId::Slo);
    assert!(
        app.view
            .toasts
            .last()
            .is_some_and(|t| t.text.contains("name no pod or deployment"))
    );
    // The crash-looping pod's alert goes to its row.
    key(&mut app, KeyCode::Esc);
    press(&mut app, "j");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    app.prepare_view();
    assert_eq!(app.view.focus, PaneId::Pods);
    assert_eq!(
        app.screen().selected_pod().map(crate::data::Keyed::key),
        Some(("a".to_string(), "web-5c8d7b-q9w2e".to_string()))
    );
}
