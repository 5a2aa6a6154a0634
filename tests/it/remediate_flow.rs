//! The remediation flow end to end, through a headless console: keys -> plan -> server-side
//! preview -> confirm -> execution -> followed rollout, against the simulated Kubernetes API, a
//! private PostgreSQL cluster and a redis-server of the test's own. Every test also reads the
//! audit trail: each outcome is one complete JSON line, with the right outcome and error.

use crate::support::headless;
use crate::support::pg_server;
use crate::support::wait::fast_forward;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crossterm::event::KeyCode;
use headless::{Headless, key};
use pg_server::PgServer;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use watchfloor::app::Action;
use watchfloor::app::remediate::{PreviewState, Stage};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::remediation::audit::{self, AuditRecord};
use watchfloor::remediation::kube_exec::{PAUSED_RESTART, PAUSED_UNDO};
use watchfloor::remediation::plan::{Selection, Verb};
use watchfloor::remediation::{ActionKind, Failure, Outcome, Preview, WorkloadKind};
use watchfloor_sim::{RequestRecord, Res, Scenario, Sim, SimOptions};

const WAIT: Duration = Duration::from_secs(30);
const NS: &str = "platform-v2-stable";
const API: &str = "platform-v2-api";
const IMG: &str = "quay.io/gpte/platform-v2-api:";
const CATALOG: &str = "babylon-catalog";
const OPERATOR_NS: &str = "anarchy-operator";

/// A simulator of the incident (20x world speed) and the files of one console.
struct Env {
    sim: Sim,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Self {
        let sim = Sim::start(
            Scenario::builtin("incident").expect("scenario"),
            "127.0.0.1:0".parse().expect("addr"),
            SimOptions {
                request_log: None,
                speed: 20.0,
            },
        )
        .await
        .expect("sim");
        let dir = tempfile::tempdir().expect("tempdir");
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
            .expect("kubeconfig");
        Self { sim, dir }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit").join("trail.jsonl")
    }

    /// A console on the simulator; `target` goes under `[[targets]]`, `kube` under
    /// `[targets.kubernetes]`.
    fn console(&self, target: &str, kube: &str) -> Headless {
        self.console_with("", target, kube)
    }

    /// As `console`, with `top` (e.g. `[ui.keys]`) at the top of the file.
    fn console_with(&self, top: &str, target: &str, kube: &str) -> Headless {
        let text = format!(
            r#"{top}
[audit]
path = {audit:?}

[[targets]]
name = "sim"
{target}
[targets.kubernetes]
kubeconfig = {kubeconfig:?}
context = "sim"
{kube}
[[targets.claims]]
name = "resourceclaims"
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
[[targets.operators]]
name = "anarchy-operator"
namespace = "anarchy-operator"
selector = "app=anarchy-operator"
"#,
            audit = self.audit_path().display().to_string(),
            kubeconfig = self.dir.path().join("kubeconfig").display().to_string(),
        );
        Headless::start(&text, ReadOnlyInputs::default())
    }

    /// Requests that may change something (SelfSubjectAccessReviews only ask).
    fn mutating(&self) -> Vec<RequestRecord> {
        self.sim
            .faults()
            .requests()
            .into_iter()
            .filter(|r| {
                !matches!(
                    r.verb.as_str(),
                    "get" | "list" | "watch" | "logs" | "discovery" | "metrics"
                )
            })
            .filter(|r| !r.path.ends_with("/selfsubjectaccessreviews"))
            .collect()
    }

    fn get(&self, res: Res, ns: &str, name: &str) -> Option<Value> {
        self.sim.world().get(res, ns, name)
    }

    fn pods(&self, ns: &str, prefix: &str) -> Vec<Value> {
        self.sim
            .world()
            .list(Res::Pod, Some(ns))
            .into_iter()
            .filter(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .collect()
    }
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn dry_run(r: &RequestRecord) -> bool {
    r.query.split('&').any(|kv| kv == "dryRun=All")
}

// ---------------------------------------------------------------------------------------------
// The audit trail

/// The trail, checked line by line: every line whole (newline-terminated) and parsable.
fn trail(path: &Path) -> Vec<AuditRecord> {
    // The writer task may append between two reads: take the records and the text of one
    // unchanged file (read before and after the records are parsed).
    let (text, records, unparsable) = loop {
        let Ok(before) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let (records, unparsable) = audit::read(path, None).expect("read the trail");
        if std::fs::read_to_string(path).is_ok_and(|after| after == before) {
            break (before, records, unparsable);
        }
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn last line:\n{text}"
    );
    assert_eq!(unparsable, 0, "unparsable lines in the trail:\n{text}");
    assert_eq!(records.len(), text.lines().count(), "{text}");
    records
}

async fn trail_of(c: &mut Headless, path: &Path, lines: usize) -> Vec<AuditRecord> {
    let p = path.to_path_buf();
    c.wait(&format!("{lines} audit lines"), WAIT, move |_| {
        trail(&p).len() >= lines
    })
    .await;
    let records = trail(path);
    assert_eq!(records.len(), lines, "{records:#?}");
    records
}

fn outcomes(records: &[AuditRecord]) -> Vec<Outcome> {
    records.iter().map(|r| r.outcome).collect()
}

/// `planned` then `succeeded` for one attempt, without errors.
fn assert_succeeded_attempt(pair: &[AuditRecord], action: &str) {
    assert_eq!(
        outcomes(pair),
        [Outcome::Planned, Outcome::Succeeded],
        "{pair:#?}"
    );
    assert_eq!(pair[0].attempt, pair[1].attempt, "{pair:#?}");
    assert!(
        pair.iter().all(|r| r.action["action"] == action),
        "{pair:#?}"
    );
    assert!(pair.iter().all(|r| r.error.is_none()), "{pair:#?}");
    assert!(pair[1].duration_ms.is_some(), "{pair:#?}");
}

// ---------------------------------------------------------------------------------------------
// Driving the console

/// Waits for the Pods, Deployments and claims, and for the first access review answers.
async fn ready(c: &mut Headless) {
    c.wait(
        "the cluster's rows and the first permission answers",
        WAIT,
        |c| {
            let app = &c.app;
            app.data.kube_context.is_some()
                && !app.data.kube.deployments.is_empty()
                && !app.data.kube.pods.is_empty()
                && !app.view.visible.claims.is_empty()
                && c.actions_seen()
                    .iter()
                    .any(|a| matches!(a, Action::Permissions { .. }))
        },
    )
    .await;
}

/// Waits until the access reviews the selected row's offers need are answered.
async fn reviewed(c: &mut Headless) {
    c.settle_until("the selected row's access reviews", WAIT, |app| {
        let answers = app.view.access.view().answers;
        let needed = watchfloor::remediation::plan::access_checks(
            &app.screen().selection(),
            &app.screen().plan_context(),
        );
        !needed.is_empty() && needed.iter().all(|check| answers.contains_key(check))
    })
    .await;
}

/// Moves the Pods pane's cursor to a Deployment (deployments view) or a pod (pods view).
async fn select_in_pods(c: &mut Headless, deployments: bool, ns: &str, name: &str) {
    c.press_str("1");
    // `v` cycles the workload views: pods, deployments, statefulsets, ...
    for _ in 0..6 {
        if (c.app.view.panes[0].mode == watchfloor::app::pane::PodsMode::Deployments) == deployments
            && matches!(
                c.app.view.panes[0].mode,
                watchfloor::app::pane::PodsMode::Pods
                    | watchfloor::app::pane::PodsMode::Deployments
            )
        {
            break;
        }
        c.press_str("v");
    }
    let wanted = (ns.to_string(), name.to_string());
    let rows = move |app: &watchfloor::app::App| {
        if deployments {
            app.view.visible.deployments.clone()
        } else {
            app.view.visible.pods.clone()
        }
    };
    let w = wanted.clone();
    c.settle_until(&format!("{ns}/{name} in the Pods pane"), WAIT, move |app| {
        rows(app).contains(&w)
    })
    .await;
    let at = rows(&c.app).iter().position(|k| *k == wanted).expect("row");
    c.press_str("g");
    for _ in 0..at {
        c.press_str("j");
    }
    let selected = match c.app.screen().selection() {
        Selection::Deployment {
            namespace, name, ..
        }
        | Selection::Pod {
            namespace, name, ..
        } => (namespace, name),
        other => panic!("unexpected selection {other:?}"),
    };
    assert_eq!(selected, wanted);
}

fn preview_state(c: &Headless) -> Option<PreviewState> {
    match c.app.view.modal.as_ref().map(|m| &m.stage) {
        Some(Stage::Confirm { preview, .. }) => Some(preview.clone()),
        _ => None,
    }
}

fn plan_action(c: &Headless) -> Option<ActionKind> {
    match c.app.view.modal.as_ref().map(|m| &m.stage) {
        Some(Stage::Confirm { plan, .. }) => Some(plan.action.clone()),
        _ => None,
    }
}

/// Waits for the confirm dialog's preview to be answered.
async fn answered(c: &mut Headless) -> PreviewState {
    c.wait("the preview", WAIT, |c| {
        preview_state(c).is_some_and(|p| p != PreviewState::Loading)
    })
    .await;
    preview_state(c).expect("confirm dialog")
}

async fn ready_preview(c: &mut Headless) -> Preview {
    match answered(c).await {
        PreviewState::Ready(p) => p,
        other => panic!("preview not ready: {other:?}"),
    }
}

fn executions(c: &Headless) -> usize {
    c.effects_seen()
        .iter()
        .filter(|e| matches!(e, watchfloor::app::Effect::Execute { .. }))
        .count()
}

/// The result of the next execution reported after action number `mark`.
async fn executed_after(c: &mut Headless, mark: usize) -> Result<String, Failure> {
    let find = move |c: &Headless| {
        c.actions_seen()[mark..].iter().find_map(|a| match a {
            Action::Executed { result, .. } => Some(result.clone()),
            _ => None,
        })
    };
    c.wait("the execution's result", WAIT, move |c| find(c).is_some())
        .await;
    find(c).expect("executed")
}

/// `y` on a ready preview: executes, and returns the result.
async fn confirm(c: &mut Headless) -> Result<String, Failure> {
    let mark = c.actions_seen().len();
    let before = executions(c);
    c.press_str("y");
    assert_eq!(executions(c), before + 1, "y did not execute");
    assert!(c.app.view.modal.is_none());
    executed_after(c, mark).await
}

fn toast_containing(c: &Headless, text: &str) -> bool {
    c.toast_texts().iter().any(|t| t.contains(text))
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_rolls_back_to_the_picked_revision_and_follows_the_rollout() {
    let env = Env::start().await;
    let mut c = env.console("", "");
    ready(&mut c).await;
    select_in_pods(&mut c, true, NS, API).await;
    c.press_str("u");
    c.settle_until("the revisions", WAIT, |app| {
        matches!(
            app.view.modal.as_ref().map(|m| &m.stage),
            Some(Stage::History {
                revisions: Some(_),
                ..
            })
        )
    })
    .await;
    let list = match c.app.view.modal.as_ref().map(|m| &m.stage) {
        Some(Stage::History {
            revisions: Some(Ok(list)),
            ..
        }) => list.clone(),
        other => panic!("no history: {other:?}"),
    };
    let revs: Vec<(i64, bool, Vec<String>)> = list
        .iter()
        .map(|e| (e.revision, e.current, e.images.clone()))
        .collect();
    assert_eq!(
        revs,
        [
            (7, true, vec![format!("{IMG}7.0.0")]),
            (6, false, vec![format!("{IMG}6.3.1")]),
            (5, false, vec![format!("{IMG}6.2.0")]),
        ]
    );
    // Pick revision 6 explicitly: to the bottom (5), then one up.
    c.press_str("jjjk");
    match c.app.view.modal.as_ref().map(|m| &m.stage) {
        Some(Stage::History { selected, .. }) => assert_eq!(list[*selected].revision, 6),
        other => panic!("{other:?}"),
    }
    c.press(key(KeyCode::Enter));
    assert_eq!(
        plan_action(&c),
        Some(ActionKind::RolloutUndo {
            name: API.into(),
            to_revision: 6
        })
    );
    let preview = ready_preview(&mut c).await;
    assert_eq!(
        preview.summary,
        format!("revision 6: images {IMG}7.0.0 -> {IMG}6.3.1")
    );
    let mark = c.actions_seen().len();
    let result = confirm(&mut c).await;
    assert_eq!(
        result,
        Ok(format!(
            "deployment {API} rolled back to revision 6 ({IMG}6.3.1)"
        ))
    );
    c.wait(
        "the rollout followed to done",
        Duration::from_secs(60),
        move |c| {
            c.actions_seen()[mark..]
                .iter()
                .any(|a| matches!(a, Action::Progress { progress, .. } if progress.done))
        },
    )
    .await;
    assert!(c.app.view.running.is_empty(), "{:?}", c.app.view.running);
    assert!(
        toast_containing(&c, "rollout complete"),
        "{:?}",
        c.toast_texts()
    );
    let d = env.get(Res::Deployment, NS, API).expect("deployment");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{IMG}6.3.1")
    );
    let records = trail_of(&mut c, &env.audit_path(), 2).await;
    assert_succeeded_attempt(&records, "rollout_undo");
    assert_eq!(records[0].object, format!("deployment/{API}"));
    // The outcome line carries the preview (the `planned` line is written before it exists).
    assert_eq!(
        records[1].preview.as_deref(),
        Some(preview.summary.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_restart_delete_and_operator_restart_change_the_cluster() {
    let env = Env::start().await;
    let mut c = env.console("", "");
    let audit = env.audit_path();
    ready(&mut c).await;

    // Scale babylon-catalog-ui 2 -> 4 through the input.
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-ui").await;
    c.press_str("s");
    assert!(matches!(
        c.app.view.modal.as_ref().map(|m| &m.stage),
        Some(Stage::Scale { current: 2, .. })
    ));
    c.press(key(KeyCode::Backspace));
    c.press_str("4");
    c.press(key(KeyCode::Enter));
    let preview = ready_preview(&mut c).await;
    assert_eq!(preview.summary, "replicas 2 -> 4");
    assert_eq!(
        confirm(&mut c).await,
        Ok("deployment babylon-catalog-ui scaled 2 -> 4".into())
    );
    let d = env
        .get(Res::Deployment, CATALOG, "babylon-catalog-ui")
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 4);
    let records = trail_of(&mut c, &audit, 2).await;
    assert_succeeded_attempt(&records, "scale");
    assert_eq!(records[0].parameters["to"], 4);

    // Rollout restart of babylon-catalog-api.
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-api").await;
    c.press_str("r");
    ready_preview(&mut c).await;
    let result = confirm(&mut c).await;
    assert!(
        result
            .as_ref()
            .is_ok_and(|s| s.starts_with("restarted deployments babylon-catalog-api")),
        "{result:?}"
    );
    let d = env
        .get(Res::Deployment, CATALOG, "babylon-catalog-api")
        .unwrap();
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{d:#}"
    );
    let records = trail_of(&mut c, &audit, 4).await;
    assert_succeeded_attempt(&records[2..], "rollout_restart");

    // Delete a pod gracefully, then another by force (F re-plans and previews again).
    let web = env.pods("platform-v1-exp", "platform-v1-web-");
    assert!(web.len() >= 2, "{web:#?}");
    let (graceful, forced) = (name_of(&web[0]), name_of(&web[1]));
    select_in_pods(&mut c, false, "platform-v1-exp", &graceful).await;
    c.press_str("D");
    let preview = ready_preview(&mut c).await;
    assert_eq!(
        preview.lines,
        [format!("pod \"{graceful}\" deleted (server dry run)")]
    );
    assert_eq!(
        confirm(&mut c).await,
        Ok(format!("pod \"{graceful}\" deleted"))
    );
    let pod = env.get(Res::Pod, "platform-v1-exp", &graceful);
    assert!(
        pod.is_none_or(|p| p["metadata"]["deletionTimestamp"].is_string()),
        "the pod is neither terminating nor gone"
    );
    let records = trail_of(&mut c, &audit, 6).await;
    assert_succeeded_attempt(&records[4..], "delete_pod");
    assert_eq!(records[5].parameters["force"], false);

    select_in_pods(&mut c, false, "platform-v1-exp", &forced).await;
    c.press_str("D");
    ready_preview(&mut c).await;
    c.press_str("F");
    assert!(matches!(
        plan_action(&c),
        Some(ActionKind::DeletePod {
            force: true,
            grace: Some(0),
            ..
        })
    ));
    let preview = ready_preview(&mut c).await;
    assert_eq!(
        preview.lines,
        [format!("pod \"{forced}\" force deleted (server dry run)")]
    );
    assert_eq!(
        confirm(&mut c).await,
        Ok(format!("pod \"{forced}\" force deleted"))
    );
    assert!(
        env.get(Res::Pod, "platform-v1-exp", &forced).is_none(),
        "force delete: gone at once"
    );
    // `F` ends the graceful attempt (cancelled) and starts a forced one of its own.
    let records = trail_of(&mut c, &audit, 10).await;
    let graceful = &records[6..8];
    let forced_attempt = &records[8..];
    assert_eq!(outcomes(graceful), [Outcome::Planned, Outcome::Cancelled]);
    assert_eq!(
        outcomes(forced_attempt),
        [Outcome::Planned, Outcome::Succeeded]
    );
    assert_eq!(graceful[0].attempt, graceful[1].attempt);
    assert_eq!(forced_attempt[0].attempt, forced_attempt[1].attempt);
    assert_ne!(graceful[0].attempt, forced_attempt[0].attempt);
    assert!(graceful.iter().all(|r| r.parameters["force"] == false));
    assert!(forced_attempt.iter().all(|r| r.parameters["force"] == true));

    // Restart the operator from the Stuck claims pane.
    let before: Vec<String> = env
        .pods(OPERATOR_NS, "anarchy-operator-")
        .iter()
        .map(name_of)
        .collect();
    assert_eq!(before.len(), 1, "{before:?}");
    c.press_str("4");
    assert_eq!(c.app.screen().selection(), Selection::Claim);
    c.press_str("R");
    let preview = ready_preview(&mut c).await;
    assert_eq!(preview.lines, [format!("pod {}", before[0])]);
    let result = confirm(&mut c).await;
    assert_eq!(result, Ok(format!("deleted 1 pod ({})", before[0])));
    let old = before[0].clone();
    let world = env.sim.world();
    c.wait("a replacement operator pod", WAIT, move |_| {
        let pods = world.list(Res::Pod, Some(OPERATOR_NS));
        pods.iter()
            .any(|p| name_of(p) != old && p["metadata"]["deletionTimestamp"].is_null())
            && pods
                .iter()
                .all(|p| name_of(p) != old || p["metadata"]["deletionTimestamp"].is_string())
    })
    .await;
    let records = trail_of(&mut c, &audit, 12).await;
    assert_succeeded_attempt(&records[10..], "restart_operator");
    assert!(
        env.mutating().iter().all(|r| r.status < 400),
        "{:#?}",
        env.mutating()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebound_dialog_keys_replace_y_and_n() {
    let env = Env::start().await;
    let mut c = env.console_with("[ui.keys]\nconfirm = \"Y\"\ncancel = \"N\"", "", "");
    assert!(
        c.app.view.keymap.warnings.is_empty(),
        "{:?}",
        c.app.view.keymap.warnings
    );
    ready(&mut c).await;
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-api").await;
    c.press_str("r");
    ready_preview(&mut c).await;
    // The default keys are plain keys now: neither confirms nor cancels.
    c.press_str("yn");
    assert!(c.app.view.modal.is_some(), "y and n closed the dialog");
    assert_eq!(executions(&c), 0);
    let mark = c.actions_seen().len();
    c.press_str("Y");
    assert_eq!(executions(&c), 1, "Y did not execute");
    let result = executed_after(&mut c, mark).await;
    assert!(
        result
            .as_ref()
            .is_ok_and(|s| s.starts_with("restarted deployments babylon-catalog-api")),
        "{result:?}"
    );
    let records = trail_of(&mut c, &env.audit_path(), 2).await;
    assert_succeeded_attempt(&records, "rollout_restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_after_the_preview_sends_no_mutating_request() {
    let env = Env::start().await;
    let mut c = env.console("", "");
    ready(&mut c).await;
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-api").await;
    assert!(env.mutating().is_empty(), "{:#?}", env.mutating());
    c.press_str("r");
    ready_preview(&mut c).await;
    c.press_str("n");
    assert!(c.app.view.modal.is_none());
    let records = trail_of(&mut c, &env.audit_path(), 2).await;
    assert_eq!(outcomes(&records), [Outcome::Planned, Outcome::Cancelled]);
    assert_eq!(records[0].attempt, records[1].attempt);
    assert!(records.iter().all(|r| r.error.is_none()));
    assert!(toast_containing(
        &c,
        "aborted rollout restart of deployment/babylon-catalog-api on sim: nothing was done"
    ));
    // Let anything still in flight arrive before looking at the log.
    c.settle().await;
    let mutating = env.mutating();
    assert_eq!(mutating.len(), 1, "{mutating:#?}");
    assert_eq!(mutating[0].method, "PATCH");
    assert!(dry_run(&mutating[0]), "{mutating:#?}");
    assert_eq!(executions(&c), 0);
    let d = env
        .get(Res::Deployment, CATALOG, "babylon-catalog-api")
        .unwrap();
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_null()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_target_executes_only_once_the_name_is_typed() {
    let env = Env::start().await;
    let mut c = env.console("protected = true", "");
    ready(&mut c).await;
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-ui").await;
    c.press_str("r");
    ready_preview(&mut c).await;
    // `y` is only a letter of the name here.
    c.press_str("y");
    c.press(key(KeyCode::Enter));
    assert!(c.app.view.modal.is_some());
    c.press(key(KeyCode::Backspace));
    c.press_str("babylon-catalog-api");
    c.press(key(KeyCode::Enter));
    assert!(c.app.view.modal.is_some(), "a wrong name must not confirm");
    assert_eq!(executions(&c), 0);
    for _ in 0.."babylon-catalog-api".len() {
        c.press(key(KeyCode::Backspace));
    }
    c.press_str("babylon-catalog-ui");
    let mark = c.actions_seen().len();
    c.press(key(KeyCode::Enter));
    assert_eq!(executions(&c), 1);
    assert!(c.app.view.modal.is_none());
    let result = executed_after(&mut c, mark).await;
    assert!(result.is_ok(), "{result:?}");
    let records = trail_of(&mut c, &env.audit_path(), 2).await;
    assert_succeeded_attempt(&records, "rollout_restart");
    let patches: Vec<_> = env.mutating().into_iter().filter(|r| !dry_run(r)).collect();
    assert_eq!(patches.len(), 1, "{patches:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_review_denials_are_toasts_and_audit_lines_without_a_dialog() {
    let env = Env::start().await;
    let world = env.sim.world();
    world.deny("delete", "", "pods", "*");
    world.deny("patch", "apps", "deployments/scale", "*");
    let audit = env.audit_path();
    let mut c = env.console(
        "",
        "namespaces = [\"anarchy-operator\", \"platform-v2-stable\"]",
    );
    ready(&mut c).await;

    // Access reviews are asked for the row under the cursor: the operator looks at it (the
    // answers arrive) before pressing a key.
    let pod = name_of(&env.pods(OPERATOR_NS, "anarchy-operator-")[0]);
    select_in_pods(&mut c, false, OPERATOR_NS, &pod).await;
    reviewed(&mut c).await;
    c.press_str("D");
    assert!(c.app.view.modal.is_none());
    assert!(
        toast_containing(
            &c,
            "delete pod: not possible: not allowed: delete pods in anarchy-operator"
        ),
        "{:?}",
        c.toast_texts()
    );
    let records = trail_of(&mut c, &audit, 1).await;
    assert_eq!(records[0].outcome, Outcome::Denied);
    assert_eq!(
        records[0].error.as_deref(),
        Some("not allowed: delete pods in anarchy-operator")
    );

    select_in_pods(&mut c, true, NS, API).await;
    reviewed(&mut c).await;
    c.press_str("s");
    assert!(c.app.view.modal.is_none());
    let reason = "not allowed: patch deployments.apps/scale in platform-v2-stable";
    assert!(
        toast_containing(&c, &format!("scale: not possible: {reason}")),
        "{:?}",
        c.toast_texts()
    );
    let records = trail_of(&mut c, &audit, 2).await;
    assert_eq!(records[1].outcome, Outcome::Denied);
    assert_eq!(records[1].error.as_deref(), Some(reason));

    c.press_str("4");
    reviewed(&mut c).await;
    c.press_str("R");
    assert!(c.app.view.modal.is_none());
    assert!(toast_containing(
        &c,
        "restart operator: not possible: not allowed: delete pods in anarchy-operator"
    ));
    let records = trail_of(&mut c, &audit, 3).await;
    assert_eq!(records[2].outcome, Outcome::Denied);
    assert!(records.iter().all(|r| r.duration_ms.is_none()));

    c.settle().await;
    assert!(env.mutating().is_empty(), "{:#?}", env.mutating());
    assert!(c.effects_seen().iter().all(|e| !matches!(
        e,
        watchfloor::app::Effect::Preview { .. } | watchfloor::app::Effect::Execute { .. }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dry_run_is_shown_verbatim_and_nothing_executes() {
    let env = Env::start().await;
    let paused = |d: &mut Value| d["spec"]["paused"] = Value::Bool(true);
    env.sim
        .world()
        .mutate(Res::Deployment, CATALOG, "babylon-catalog-api", paused)
        .unwrap();
    env.sim
        .world()
        .mutate(Res::Deployment, NS, API, paused)
        .unwrap();
    let audit = env.audit_path();
    let mut c = env.console("", "");
    ready(&mut c).await;

    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-api").await;
    c.press_str("r");
    assert_eq!(
        answered(&mut c).await,
        PreviewState::Failed(PAUSED_RESTART.into())
    );
    c.press_str("y");
    c.press(key(KeyCode::Tab));
    c.press_str("y");
    assert!(c.app.view.modal.is_some());
    assert_eq!(executions(&c), 0, "nothing runs after a failed dry run");
    // `planned` is written before the dry run; the failed dry run ends the attempt.
    let records = trail_of(&mut c, &audit, 2).await;
    assert_eq!(outcomes(&records), [Outcome::Planned, Outcome::Failed]);
    assert_eq!(records[1].error.as_deref(), Some(PAUSED_RESTART));
    // Closing the dialog is no second outcome: the attempt already ended as `failed`.
    c.press(key(KeyCode::Esc));
    assert!(c.app.view.modal.is_none());

    // Undo on a paused Deployment: kubectl's words too.
    select_in_pods(&mut c, true, NS, API).await;
    c.press_str("u");
    c.settle_until("the revisions", WAIT, |app| {
        matches!(
            app.view.modal.as_ref().map(|m| &m.stage),
            Some(Stage::History {
                revisions: Some(Ok(_)),
                ..
            })
        )
    })
    .await;
    c.press(key(KeyCode::Enter));
    assert_eq!(
        answered(&mut c).await,
        PreviewState::Failed(PAUSED_UNDO.into())
    );
    c.press_str("y");
    assert_eq!(executions(&c), 0);
    c.press_str("n");
    assert!(c.app.view.modal.is_none());
    let notes = c
        .effects_seen()
        .iter()
        .filter(|e| matches!(e, watchfloor::app::Effect::AuditNote { .. }))
        .count();
    assert_eq!(
        notes, 0,
        "closing a failed preview wrote another audit line"
    );
    let records = trail_of(&mut c, &audit, 4).await;
    assert_eq!(outcomes(&records[2..]), [Outcome::Planned, Outcome::Failed]);
    assert_eq!(records[3].error.as_deref(), Some(PAUSED_UNDO));
    assert_ne!(records[1].attempt, records[3].attempt);

    c.settle().await;
    assert!(env.mutating().iter().all(dry_run), "{:#?}", env.mutating());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_on_execute_is_shown_verbatim() {
    let env = Env::start().await;
    let audit = env.audit_path();
    let mut c = env.console("", "");
    ready(&mut c).await;
    let pod = name_of(&env.pods("platform-v1-exp", "platform-v1-web-")[0]);
    select_in_pods(&mut c, false, "platform-v1-exp", &pod).await;
    c.press_str("D");
    ready_preview(&mut c).await;
    // The next request (the DELETE the confirmation sends) fails.
    env.sim.faults().fail_next_writes(500, 1);
    let result = confirm(&mut c).await;
    let server = "Internal error occurred: injected fault";
    assert_eq!(result, Err(Failure::Failed(server.to_string())));
    assert!(
        toast_containing(&c, &format!("failed: {server}")),
        "{:?}",
        c.toast_texts()
    );
    let failed: Vec<_> = env
        .sim
        .faults()
        .requests()
        .into_iter()
        .filter(|r| r.status == 500)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].method, "DELETE");
    assert!(failed[0].path.ends_with(&format!("/pods/{pod}")) && !dry_run(&failed[0]));
    let p = env
        .get(Res::Pod, "platform-v1-exp", &pod)
        .expect("the pod is still there");
    assert!(p["metadata"]["deletionTimestamp"].is_null());
    let records = trail_of(&mut c, &audit, 2).await;
    assert_eq!(outcomes(&records), [Outcome::Planned, Outcome::Failed]);
    assert_eq!(records[1].error.as_deref(), Some(server));
    assert_eq!(records[0].attempt, records[1].attempt);
}

/// `r` on a pod of a StatefulSet, then of a DaemonSet: each restarts its owner and is followed
/// by that kind's `rollout status` rule (not a Deployment's) until kubectl's final line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_a_statefulset_or_daemonset_pod_follows_its_own_rollout() {
    let env = Env::start().await;
    let mut c = env.console("", "");
    ready(&mut c).await;
    let cases = [
        (
            WorkloadKind::StatefulSet,
            "babylon-catalog",
            "babylon-catalog-redis",
            "partitioned roll out complete: 3 new pods have been updated...",
        ),
        (
            WorkloadKind::DaemonSet,
            "openshift-logging",
            "collector",
            "daemon set \"collector\" successfully rolled out",
        ),
    ];
    for (kind, ns, owner, done_line) in cases {
        let pod = name_of(&env.pods(ns, &format!("{owner}-"))[0]);
        select_in_pods(&mut c, false, ns, &pod).await;
        reviewed(&mut c).await;
        c.press_str("r");
        assert_eq!(
            plan_action(&c),
            Some(ActionKind::RolloutRestart {
                kind,
                name: owner.into()
            })
        );
        let preview = ready_preview(&mut c).await;
        assert!(
            preview
                .summary
                .starts_with(&format!("dry run ok: {} {owner} ", kind.resource())),
            "{preview:?}"
        );
        let mark = c.actions_seen().len();
        let result = confirm(&mut c).await;
        assert!(
            result
                .as_ref()
                .is_ok_and(|r| r.starts_with(&format!("restarted {} {owner} (", kind.resource()))),
            "{result:?}"
        );
        let follow = c.actions_seen()[mark..].iter().find_map(|a| match a {
            Action::Executed { follow, .. } => Some(follow.as_ref().map(ToString::to_string)),
            _ => None,
        });
        assert_eq!(
            follow,
            Some(Some(format!("{} {ns}/{owner}", kind.singular())))
        );
        // The pods' start-up delays pass five times faster than the wall clock.
        let _fast = fast_forward(&env.sim.world(), 5);
        c.wait(
            "the rollout followed to done",
            Duration::from_secs(60),
            move |c| {
                c.actions_seen()[mark..].iter().any(
                    |a| matches!(a, Action::Progress { progress, .. } if progress.done || progress.failed.is_some()),
                )
            },
        )
        .await;
        let progress: Vec<_> = c.actions_seen()[mark..]
            .iter()
            .filter_map(|a| match a {
                Action::Progress { progress, .. } => Some(progress.clone()),
                _ => None,
            })
            .collect();
        let last = progress.last().expect("progress");
        assert!(last.done && last.failed.is_none(), "{progress:#?}");
        assert_eq!(last.message, done_line, "{progress:#?}");
        assert!(
            progress
                .iter()
                .all(|p| p.failed.is_none() && !p.message.contains("deployment")),
            "{progress:#?}"
        );
        assert!(c.app.view.running.is_empty(), "{:?}", c.app.view.running);
        assert!(
            toast_containing(&c, &format!("rollout complete: {done_line}")),
            "{:?}",
            c.toast_texts()
        );
    }
    let records = trail_of(&mut c, &env.audit_path(), 4).await;
    assert_succeeded_attempt(&records[..2], "rollout_restart");
    assert_succeeded_attempt(&records[2..], "rollout_restart");
    assert_eq!(records[0].object, "statefulset/babylon-catalog-redis");
    assert_eq!(records[0].action["kind"], "StatefulSet");
    assert_eq!(records[2].object, "daemonset/collector");
    assert_eq!(records[2].action["kind"], "DaemonSet");
}

/// A 403 at execution (the policy changed after the preview) is a denial: audited `denied`, and
/// the cached access answers are asked again, so the offer turns disabled with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_execution_is_a_denial_and_asks_again() {
    let env = Env::start().await;
    let audit = env.audit_path();
    let mut c = env.console("", "");
    ready(&mut c).await;
    select_in_pods(&mut c, true, CATALOG, "babylon-catalog-ui").await;
    reviewed(&mut c).await;
    c.press_str("r");
    ready_preview(&mut c).await;
    env.sim
        .world()
        .deny("patch", "apps", "deployments", CATALOG);
    let result = confirm(&mut c).await;
    let Err(Failure::Forbidden(why)) = &result else {
        panic!("not typed as forbidden: {result:?}");
    };
    assert!(
        why.starts_with("deployments \"babylon-catalog-ui\" is forbidden: "),
        "{why}"
    );
    assert!(
        toast_containing(&c, &format!("failed: {why}")),
        "{:?}",
        c.toast_texts()
    );
    let records = trail_of(&mut c, &audit, 2).await;
    assert_eq!(outcomes(&records), [Outcome::Planned, Outcome::Denied]);
    assert_eq!(records[1].error.as_deref(), Some(why.as_str()));
    // Asked again (the answers a minute old were trusted until now): restart is now disabled.
    let reason = format!("not allowed: patch deployments.apps in {CATALOG}");
    c.settle_until("the restart offer disabled", WAIT, move |app| {
        app.screen()
            .offers()
            .iter()
            .any(|o| o.verb == Verb::Restart && o.enabled == Err(reason.clone()))
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL and Redis

/// A console on databases only.
fn db_console(dir: &Path, entries: &str) -> Headless {
    let text = format!(
        "[audit]\npath = {:?}\n\n[[targets]]\nname = \"db\"\n{entries}",
        dir.join("trail.jsonl").display().to_string()
    );
    Headless::start(&text, ReadOnlyInputs::default())
}

async fn pid_of(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// Moves the DB detail view's cursor to the session `pid`.
async fn select_session(c: &mut Headless, pid: i32) {
    c.settle_until(&format!("session {pid} listed"), WAIT, move |app| {
        app.view.visible.db_sessions.contains(&pid)
    })
    .await;
    let at = c
        .app
        .view
        .visible
        .db_sessions
        .iter()
        .position(|p| *p == pid)
        .unwrap();
    c.press_str("g");
    for _ in 0..at {
        c.press_str("j");
    }
    assert_eq!(c.app.screen().selected_session().map(|s| s.pid), Some(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_are_swept_cancelled_and_terminated() {
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("trail.jsonl");
    let entry = format!(
        "[[targets.postgres]]\nname = \"pg\"\ndsn = {:?}\nidle_in_transaction_after = \"1s\"\nrefresh = \"300ms\"\n",
        pg.dsn("postgres")
    );
    // Idle in transaction, and two long queries.
    let idle = pg.connect("postgres", "wf-idle").await;
    let idle_pid = pid_of(&idle).await;
    idle.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let sleeper = |app: &'static str| {
        let pg_config = pg.config("postgres", app);
        async move {
            let (client, conn) = pg_config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let pid = pid_of(&client).await;
            // The task hands the client back: a cancelled session must stay connected.
            let task = tokio::spawn(async move {
                let result = client.simple_query("SELECT pg_sleep(60)").await.map(|_| ());
                (client, result)
            });
            (pid, task)
        }
    };
    let (cancel_pid, cancel_task) = sleeper("wf-cancel").await;
    let (kill_pid, kill_task) = sleeper("wf-kill").await;

    let mut c = db_console(dir.path(), &entry);
    c.press_str("3");
    c.settle_until("the idle session past 1 s", WAIT, move |app| {
        app.data.db.postgres.get(&0).is_some_and(|s| {
            s.idle_in_transaction.len() == 1
                && [cancel_pid, kill_pid].iter().all(|p| {
                    s.sample
                        .sessions
                        .iter()
                        .any(|x| x.pid == *p && x.state.as_deref() == Some("active"))
                })
        })
    })
    .await;
    assert!(matches!(
        c.app.screen().selection(),
        Selection::Database { idle, .. } if idle.targets == 1
    ));
    c.press_str("X");
    let preview = ready_preview(&mut c).await;
    assert_eq!(
        preview.summary,
        format!("1 session would be hit: pid {idle_pid}")
    );
    assert!(
        preview.lines[0].starts_with(&format!("pid {idle_pid} ")),
        "{preview:?}"
    );
    // The dialog's table: who, which application, how long, and the last query.
    let [session] = preview.sessions.as_slice() else {
        panic!("one session: {preview:?}");
    };
    assert_eq!(
        (session.pid, session.application.as_deref()),
        (idle_pid, Some("wf-idle"))
    );
    assert_eq!(session.user.as_deref(), Some("postgres"));
    assert!(session.query.ends_with("SELECT 1"), "{session:?}");
    assert!(session.age_secs.is_some(), "{session:?}");
    let result = confirm(&mut c).await;
    assert!(result.is_ok(), "{result:?}");
    let gone = |pid: i32| format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}");
    assert_eq!(pg.psql(&gone(idle_pid)), "0");
    assert!(
        idle.simple_query("SELECT 1").await.is_err(),
        "the idle session was terminated"
    );

    // Cancel one query: the session stays, its query ends with 57014.
    c.press(key(KeyCode::Enter));
    select_session(&mut c, cancel_pid).await;
    c.press_str("c");
    let preview = ready_preview(&mut c).await;
    assert!(
        preview.lines[0].starts_with(&format!("pid {cancel_pid} ")),
        "{preview:?}"
    );
    let result = confirm(&mut c).await;
    assert!(result.is_ok(), "{result:?}");
    let (cancelled, result) = tokio::time::timeout(WAIT, cancel_task)
        .await
        .unwrap()
        .unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert_eq!(pg.psql(&gone(cancel_pid)), "1", "a cancelled session stays");
    cancelled
        .simple_query("SELECT 1")
        .await
        .expect("still usable");

    // Terminate another.
    select_session(&mut c, kill_pid).await;
    c.press_str("K");
    let preview = ready_preview(&mut c).await;
    assert!(
        preview.lines[0].starts_with(&format!("pid {kill_pid} ")),
        "{preview:?}"
    );
    let result = confirm(&mut c).await;
    assert!(result.is_ok(), "{result:?}");
    let (_, outcome) = tokio::time::timeout(WAIT, kill_task)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_err(), "the terminated session's query failed");
    assert_eq!(pg.psql(&gone(kill_pid)), "0");

    let records = trail_of(&mut c, &audit, 6).await;
    for (pair, action) in records
        .chunks(2)
        .zip(["pg_terminate_idle", "pg_cancel", "pg_terminate"])
    {
        assert_succeeded_attempt(pair, action);
    }
    // The executed lines name the sessions hit; the planned ones, written before, cannot.
    let pids: Vec<Option<Vec<i32>>> = records.iter().map(|r| r.pids.clone()).collect();
    assert_eq!(
        pids,
        [
            None,
            Some(vec![idle_pid]),
            None,
            Some(vec![cancel_pid]),
            None,
            Some(vec![kill_pid])
        ]
    );
}

/// A redis-server of the test's own on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &dir.path().display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A connection, once the server answers.
    async fn connect(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(con) = client.get_multiplexed_async_connection().await {
                return con;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_client_is_killed() {
    let server = Redis::start();
    let mut victim = server.connect().await;
    let () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("victim")
        .query_async(&mut victim)
        .await
        .unwrap();
    let id: u64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut victim)
        .await
        .unwrap();
    let mut observer = server.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let entry = format!(
        "[[targets.redis]]\nname = \"cache\"\nurl = {:?}\nrefresh = \"300ms\"\n",
        server.url()
    );
    let mut c = db_console(dir.path(), &entry);
    c.press_str("3");
    c.settle_until("the cache's clients", WAIT, |app| {
        app.data
            .db
            .redis
            .get(&0)
            .is_some_and(|r| r.clients.iter().any(|x| x.name == "victim"))
    })
    .await;
    c.press(key(KeyCode::Enter));
    let at = c.app.data.db.redis[&0]
        .clients
        .iter()
        .position(|x| x.name == "victim")
        .unwrap();
    c.press_str("g");
    for _ in 0..at {
        c.press_str("j");
    }
    assert_eq!(
        c.app.screen().selection(),
        Selection::RedisClient {
            entry: 0,
            cache: "cache".into(),
            id
        }
    );
    c.press_str("K");
    assert_eq!(plan_action(&c), Some(ActionKind::RedisKill { id }));
    let preview = ready_preview(&mut c).await;
    assert!(preview.lines[0].contains("name=victim"), "{preview:?}");
    let result = confirm(&mut c).await;
    assert!(result.is_ok(), "{result:?}");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .unwrap();
    assert!(!list.contains("name=victim"), "{list}");
    let records = trail_of(&mut c, &dir.path().join("trail.jsonl"), 2).await;
    assert_succeeded_attempt(&records, "redis_kill");
}
