//! Read-only means nothing changes, whatever is pressed: a headless console on the simulator
//! (with a request log) and a private PostgreSQL (logging every statement), in read-only mode by
//! the flag and by the target's `read_only = true`, walked through every pane, with and without
//! its detail view, and the deployments view, pressing every key. No remediation may be planned,
//! previewed or executed, no dialog may open, and neither server may see a mutating request.

use crate::support::headless;
use crate::support::pg_server;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use headless::{Headless, char_key, ctrl, key};
use pg_server::PgServer;
use serde_json::Value;
use watchfloor::app::Effect;
use watchfloor::app::pane::PaneId;
use watchfloor::policy::{ReadOnlyInputs, ReadOnlyPolicy};
use watchfloor::remediation::exec::{self, Backends};
use watchfloor::remediation::{ActionKind, Failure, Place, Plan};
use watchfloor_sim::{Scenario, Sim, SimOptions};

const WAIT: Duration = Duration::from_secs(30);

const CONFIG: &str = r#"[audit]
path = "@DIR@/trail.jsonl"

[[targets]]
name = "walk"
@TARGET@
[targets.kubernetes]
kubeconfig = "@DIR@/kubeconfig"
context = "sim"
[targets.prometheus]
url = "http://@ADDR@"
refresh = "1s"
[[targets.slo]]
name = "platform-v2-api availability"
objective = 0.995
errors = 'sum(rate(http_requests_total{namespace="platform-v2-stable",code=~"5.."}[{{window}}]))'
total = 'sum(rate(http_requests_total{namespace="platform-v2-stable"}[{{window}}]))'
[[targets.health]]
name = "platform-v2-api"
url = "http://@ADDR@/healthz/detailed"
interval = "1s"
[[targets.postgres]]
name = "pg"
dsn = "@DSN@"
idle_in_transaction_after = "1s"
refresh = "300ms"
[[targets.claims]]
name = "resourceclaims"
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
[[targets.logs]]
source = "kubernetes"
namespace = "platform-v2-stable"
workload = "deploy/platform-v2-api"
[[targets.operators]]
name = "anarchy-operator"
namespace = "anarchy-operator"
selector = "app=anarchy-operator"
"#;

/// Every key the walk presses: printable ASCII but `q`, and the special keys. Ctrl-C and `q`
/// quit, and `:q` cannot be typed without `q`.
fn keys() -> Vec<KeyEvent> {
    let mut keys: Vec<KeyEvent> = (' '..='~').filter(|c| *c != 'q').map(char_key).collect();
    keys.extend(
        [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::F(1),
            KeyCode::F(5),
        ]
        .map(key),
    );
    keys.extend(['d', 'f', 'b', 'r', 'u', 'k', 'x', 'y'].map(ctrl));
    keys
}

/// Where a key is pressed from: a pane, its deployments view (Pods), its detail view.
#[derive(Debug, Clone, Copy)]
struct Spot {
    pane: PaneId,
    alt: bool,
    detail: bool,
}

fn spots() -> Vec<Spot> {
    let mut spots = Vec::new();
    for pane in PaneId::ALL {
        for alt in [false, true] {
            if alt && pane != PaneId::Pods {
                continue;
            }
            for detail in [false, true] {
                spots.push(Spot { pane, alt, detail });
            }
        }
    }
    spots
}

struct Walk {
    sim: Sim,
    pg: PgServer,
    dir: tempfile::TempDir,
    console: Headless,
    /// Sessions a remediation would hit, held open by the test.
    _sessions: Vec<tokio_postgres::Client>,
    pids: Vec<i32>,
}

impl Walk {
    async fn start(inputs: ReadOnlyInputs, target: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = Sim::start(
            Scenario::builtin("incident").expect("scenario"),
            "127.0.0.1:0".parse().expect("addr"),
            SimOptions {
                request_log: Some(dir.path().join("requests.jsonl")),
                speed: 20.0,
            },
        )
        .await
        .expect("sim");
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
            .expect("kubeconfig");
        let pg = PgServer::start_with(&[("log_statement", "all")]);
        // Targets for every PostgreSQL remediation: idle in transaction, and a long query.
        let idle = pg.connect("postgres", "wf-idle").await;
        idle.batch_execute("BEGIN; SELECT 1").await.expect("begin");
        let busy = pg.connect("postgres", "wf-busy").await;
        let busy_pid: i32 = busy
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("pid")
            .get(0);
        let sleeper = pg.connect("postgres", "wf-busy").await;
        tokio::spawn(async move {
            let _ = sleeper.simple_query("SELECT pg_sleep(600)").await;
        });
        let idle_pid: i32 = idle
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("pid")
            .get(0);
        let text = CONFIG
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@ADDR@", &sim.addr.to_string())
            .replace("@DSN@", &pg.dsn("postgres"))
            .replace("@TARGET@", target);
        let console = Headless::start(&text, inputs);
        assert!(console.app.view.policy.is_read_only());
        Self {
            sim,
            pg,
            dir,
            console,
            _sessions: vec![idle, busy],
            pids: vec![idle_pid, busy_pid],
        }
    }

    /// Waits until every pane shows data.
    async fn wait_for_data(&mut self) {
        self.console
            .settle_until("data in every pane", WAIT, |app| {
                app.data.kube_context.is_some()
                    && !app.view.visible.pods.is_empty()
                    && !app.view.visible.deployments.is_empty()
                    && !app.data.slo.results.is_empty()
                    && !app.data.slo.health.is_empty()
                    && app
                        .data
                        .db
                        .postgres
                        .get(&0)
                        .is_some_and(|s| !s.idle_in_transaction.is_empty())
                    && !app.view.visible.claims.is_empty()
                    && !app.data.logs.buffer.is_empty()
            })
            .await;
    }

    /// Presses one key and checks that no dialog opened and the console did not quit.
    async fn press(&mut self, key: KeyEvent) {
        let c = &mut self.console;
        c.press(key);
        assert!(c.app.view.modal.is_none(), "{key:?} opened a dialog");
        assert!(!c.app.should_quit(), "{key:?} quit");
        c.settle().await;
        assert!(c.app.view.modal.is_none(), "{key:?} opened a dialog");
    }

    /// Closes inputs and overlays a key may have opened.
    async fn close_layers(&mut self) {
        for _ in 0..3 {
            let app = &self.console.app;
            if app.view.input.is_none() && app.view.help.is_none() {
                break;
            }
            self.press(key(KeyCode::Esc)).await;
        }
        if self.console.app.view.frozen.is_some() {
            self.press(char_key('f')).await;
        }
        if self.console.app.view.zoomed {
            self.press(char_key('z')).await;
        }
    }

    /// Gets to `place` by keys.
    async fn go(&mut self, place: Spot) {
        self.close_layers().await;
        let digit = char::from_digit(place.pane.number() as u32, 10).expect("digit");
        self.press(char_key(digit)).await;
        let index = place.pane.index();
        for _ in 0..4 {
            let view = &self.console.app.view.panes[index];
            let logs_filtered =
                place.pane == PaneId::Logs && self.console.app.view.logs.filter.is_active();
            if !view.detail_open && view.filter.is_none() && !logs_filtered {
                break;
            }
            self.press(key(KeyCode::Esc)).await;
        }
        // `v` cycles the workload views; `alt` is the deployments view.
        let wanted = if place.alt {
            watchfloor::app::pane::PodsMode::Deployments
        } else {
            watchfloor::app::pane::PodsMode::Pods
        };
        for _ in 0..6 {
            if place.pane != PaneId::Pods || self.console.app.view.panes[index].mode == wanted {
                break;
            }
            self.press(char_key('v')).await;
        }
        if place.detail {
            self.press(key(KeyCode::Enter)).await;
        }
        let app = &self.console.app;
        assert_eq!(app.view.focus, place.pane, "{place:?}");
        assert_eq!(app.view.panes[index].detail_open, place.detail, "{place:?}");
        assert_eq!(
            app.view.panes[index].mode == watchfloor::app::pane::PodsMode::Deployments,
            place.alt,
            "{place:?}"
        );
    }

    /// Every key from every place, each from a fresh start; then all keys in a row per place.
    async fn walk(&mut self) {
        let keys = keys();
        for place in spots() {
            for k in &keys {
                self.go(place).await;
                self.press(*k).await;
            }
        }
        for place in spots() {
            self.go(place).await;
            for k in &keys {
                self.press(*k).await;
            }
        }
        self.close_layers().await;
    }

    fn requests(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a request log line"))
            .collect()
    }

    /// Everything the console did, checked.
    fn assert_nothing_changed(&self) {
        let c = &self.console;
        let forbidden: Vec<&Effect> = c
            .effects_seen()
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Preview { .. }
                        | Effect::Execute { .. }
                        | Effect::LoadHistory { .. }
                        | Effect::AuditNote { .. }
                )
            })
            .collect();
        assert!(forbidden.is_empty(), "{forbidden:#?}");
        let requests = self.requests();
        assert_eq!(requests.len(), self.sim.faults().requests().len());
        // Lists and watches of every resource the panes show, and log streams.
        assert!(
            requests.iter().any(|r| r["verb"] == "watch")
                && requests.iter().any(|r| r["verb"] == "logs"),
            "the console did talk to the simulator: {requests:#?}"
        );
        // Nothing is offered in read-only mode, so nothing needs an access review.
        let reviews = requests
            .iter()
            .filter(|r| r["path"] == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
            .count();
        assert_eq!(reviews, 0, "access reviews in read-only mode");
        let mutating: Vec<&Value> = requests
            .iter()
            .filter(|r| {
                let verb = r["verb"].as_str().unwrap_or_default();
                let path = r["path"].as_str().unwrap_or_default();
                let reads = matches!(
                    verb,
                    "get" | "list" | "watch" | "logs" | "discovery" | "metrics"
                );
                let review = verb == "create"
                    && path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
                !(reads || review)
            })
            .collect();
        assert!(mutating.is_empty(), "{mutating:#?}");
        assert!(
            requests
                .iter()
                .all(|r| r["method"] == "GET" || r["method"] == "POST")
        );
        let log = self.pg.log();
        assert!(log.contains("statement:"), "log_statement = all is on");
        for signal in ["pg_cancel_backend", "pg_terminate_backend"] {
            assert!(!log.contains(signal), "{signal} in the server log");
        }
        for pid in &self.pids {
            let alive = self.pg.psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"
            ));
            assert_eq!(alive, "1", "session {pid} is still there");
        }
        let trail =
            std::fs::read_to_string(self.dir.path().join("trail.jsonl")).unwrap_or_default();
        assert!(
            trail.is_empty(),
            "nothing was attempted, nothing audited:\n{trail}"
        );
    }
}

async fn walk(inputs: ReadOnlyInputs, target: &str) {
    let mut w = Walk::start(inputs, target).await;
    w.wait_for_data().await;
    // A remediation key says why nothing happens.
    w.go(Spot {
        pane: PaneId::Pods,
        alt: false,
        detail: false,
    })
    .await;
    w.press(char_key('D')).await;
    assert!(
        w.console
            .toast_texts()
            .iter()
            .any(|t| t == "read-only mode: remediations are off"),
        "{:?}",
        w.console.toast_texts()
    );
    w.walk().await;
    // Answers to anything in flight arrive before the logs are read.
    w.console.settle().await;
    w.assert_nothing_changed();
    direct_execution_is_refused(&w).await;
}

/// The executor itself refuses in read-only mode, before any request.
async fn direct_execution_is_refused(w: &Walk) {
    let target = w.console.config.targets[0].clone();
    let flag = ReadOnlyPolicy::new(
        ReadOnlyInputs {
            flag: true,
            ..ReadOnlyInputs::default()
        },
        false,
    );
    let policies = [flag, w.console.app.view.policy.clone()];
    let kube = |namespace: &str| Place::Kubernetes {
        context: "sim".into(),
        namespace: namespace.into(),
    };
    let pg = Place::Postgres {
        entry: 0,
        database: "pg".into(),
    };
    let plans = [
        (
            kube("platform-v2-stable"),
            ActionKind::Scale {
                name: "platform-v2-api".into(),
                from: Some(3),
                to: 0,
            },
        ),
        (
            kube("platform-v2-stable"),
            ActionKind::RolloutUndo {
                name: "platform-v2-api".into(),
                to_revision: 6,
            },
        ),
        (
            kube("anarchy-operator"),
            ActionKind::RestartOperator {
                selector: "app=anarchy-operator".into(),
            },
        ),
        (pg.clone(), ActionKind::PgTerminate { pid: w.pids[0] }),
        (pg, ActionKind::PgTerminateIdle { older_than_secs: 1 }),
    ];
    let before = w.sim.faults().requests().len();
    let log_before = w.pg.log().len();
    for (place, action) in plans {
        let plan = Plan {
            target: target.name().to_string(),
            place,
            action,
            object: "direct".into(),
            change: "direct".into(),
            confirm_text: None,
        };
        for policy in &policies {
            let backends = Backends::new(target.clone());
            let signature = exec::Signature::test();
            let error = exec::execute(&backends, &plan, policy, &signature)
                .await
                .unwrap_err();
            let Failure::ReadOnly(error) = error else {
                panic!("not a read-only refusal: {error:?}");
            };
            assert!(error.starts_with("read-only mode ("), "{error}");
            assert!(error.ends_with("remediation refused"), "{error}");
        }
    }
    assert_eq!(
        w.sim.faults().requests().len(),
        before,
        "no request for a refused execution"
    );
    let log = w.pg.log();
    assert!(!log[log_before..].contains("pg_terminate_backend"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_flag_nothing_changes_whatever_is_pressed() {
    walk(
        ReadOnlyInputs {
            flag: true,
            ..ReadOnlyInputs::default()
        },
        "",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_target_nothing_changes_whatever_is_pressed() {
    walk(ReadOnlyInputs::default(), "read_only = true").await;
}
