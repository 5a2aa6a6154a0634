//! Kubernetes remediations (`remediation::kube_exec`) against the simulated API server: every
//! action end to end, server-side dry runs, kubectl's error texts, SelfSubjectAccessReview, the
//! incident's rollback, and equivalence with stock kubectl (two simulators from one scenario:
//! kubectl acts on one, watchfloor on the other, and the resulting objects must agree).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use watchfloor::config::KubernetesConfig;
use watchfloor::remediation::kube_exec::{self as kx, AccessCheck};
use watchfloor::remediation::{ActionKind, Failure, WorkloadKind};
use watchfloor_sim::{RequestRecord, Res, Scenario, Sim, SimOptions};

use crate::support::wait::poll_advancing;

/// How far the simulated clock moves between two looks at a condition (5 s of world time at
/// the 20x speed these tests run at).
const SIM_STEP: Duration = Duration::from_millis(250);

const NS: &str = "platform-v2-stable";
const API: &str = "platform-v2-api";
const IMG: &str = "quay.io/gpte/platform-v2-api:";
const DEADLINE: Duration = Duration::from_secs(30);

struct Env {
    sim: Sim,
    client: kube::Client,
    dir: tempfile::TempDir,
}

/// A simulator (20x world speed) and a kube client built as production builds it.
async fn env(scenario: &str) -> Env {
    let sim = Sim::start(
        Scenario::builtin(scenario).expect("scenario"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: None,
            speed: 20.0,
        },
    )
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "sim")
        .expect("kubeconfig");
    let (client, context) = watchfloor::sources::kubernetes::connect(&KubernetesConfig {
        kubeconfig: Some(kubeconfig),
        context: Some("sim".into()),
        namespaces: vec![],
        label_selector: None,
    })
    .await
    .expect("client");
    assert_eq!(context, "sim");
    Env { sim, client, dir }
}

impl Env {
    fn get(&self, res: Res, ns: &str, name: &str) -> Option<Value> {
        self.sim.world().get(res, ns, name)
    }

    fn deploy(&self, ns: &str, name: &str) -> Value {
        self.get(Res::Deployment, ns, name).expect("deployment")
    }

    /// (revision, images) of every ReplicaSet the Deployment controls.
    fn revisions(&self, ns: &str, name: &str) -> BTreeSet<(i64, Vec<String>)> {
        revisions_of(&self.sim, ns, name)
    }

    fn mutating(&self) -> Vec<RequestRecord> {
        self.sim
            .faults()
            .requests()
            .into_iter()
            .filter(|r| matches!(r.method.as_str(), "PATCH" | "PUT" | "POST" | "DELETE"))
            .filter(|r| !r.path.contains("selfsubjectaccessreviews"))
            .collect()
    }

    /// Waits for a condition of the simulated world, moving its clock on between looks.
    async fn until(&self, what: &str, mut f: impl FnMut(&Env) -> bool) {
        let world = self.sim.world();
        poll_advancing(what, &world, SIM_STEP, DEADLINE, || {
            let result = if f(self) {
                Ok(())
            } else {
                Err("not yet".to_string())
            };
            async move { result }
        })
        .await
    }
}

fn revisions_of(sim: &Sim, ns: &str, name: &str) -> BTreeSet<(i64, Vec<String>)> {
    let world = sim.world();
    let Some(d) = world.get(Res::Deployment, ns, name) else {
        return BTreeSet::new();
    };
    world
        .list(Res::ReplicaSet, Some(ns))
        .into_iter()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["uid"] == d["metadata"]["uid"]))
        })
        .map(|rs| (revision(&rs), images(&rs)))
        .collect()
}

fn revision(v: &Value) -> i64 {
    v["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

fn images(v: &Value) -> Vec<String> {
    v["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| c["image"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn terminating(p: &Value) -> bool {
    p["metadata"].get("deletionTimestamp").is_some()
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn pod_names(sim: &Sim, ns: &str, prefix: &str) -> Vec<String> {
    sim.world()
        .list(Res::Pod, Some(ns))
        .into_iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn has_dry_run(r: &RequestRecord) -> bool {
    r.query.split('&').any(|kv| kv == "dryRun=All")
}

// ---------------------------------------------------------------------------------------------
// kubectl

/// The kubectl binary, or `None` after a loud SKIPPED message.
fn kubectl_path() -> Option<PathBuf> {
    let out = std::process::Command::new("which")
        .arg("kubectl")
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        eprintln!(
            "\n======== SKIPPED: kubectl not found on PATH; remediate_kube equivalence tests did not run ========\n"
        );
        return None;
    }
    Some(PathBuf::from(path))
}

struct KubectlOut {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn kubectl(bin: &PathBuf, e: &Env, args: &[&str]) -> KubectlOut {
    let mut c = tokio::process::Command::new(bin);
    c.arg("--kubeconfig")
        .arg(e.dir.path().join("kubeconfig"))
        .arg("--cache-dir")
        .arg(e.dir.path().join("cache"))
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(DEADLINE, c.output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
        .expect("kubectl runs");
    KubectlOut {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn kubectl_ok(bin: &PathBuf, e: &Env, args: &[&str]) -> String {
    let o = kubectl(bin, e, args).await;
    assert!(o.ok, "kubectl {args:?} failed:\n{}\n{}", o.stdout, o.stderr);
    o.stdout
}

/// Two simulators of one scenario (kubectl's, ours) when kubectl is installed.
async fn pair(scenario: &str) -> Option<(PathBuf, Env, Env)> {
    let bin = kubectl_path()?;
    let (a, b) = tokio::join!(env(scenario), env(scenario));
    Some((bin, a, b))
}

/// The Deployment as both tools leave it: template (restartedAt value blanked), annotations
/// (the volatile restartedAt aside, all of them), replicas, and the ReplicaSet revisions/images.
fn comparable(e: &Env, ns: &str, name: &str) -> Value {
    let d = e.deploy(ns, name);
    let mut template = d["spec"]["template"].clone();
    if let Some(a) = template["metadata"]["annotations"].as_object_mut()
        && a.contains_key(kx::RESTARTED_AT)
    {
        a.insert(kx::RESTARTED_AT.into(), json!("<time>"));
    }
    json!({
        "template": template,
        "annotations": d["metadata"]["annotations"],
        "replicas": d["spec"]["replicas"],
        "paused": d["spec"]["paused"],
        "revisions": e.revisions(ns, name).into_iter().collect::<Vec<_>>(),
    })
}

async fn settled(e: &Env, ns: &str, name: &str, rev: i64) {
    e.until(&format!("{name} at revision {rev}"), |e| {
        let d = e.deploy(ns, name);
        revision(&d) == rev && e.revisions(ns, name).iter().any(|(r, _)| *r == rev)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_equivalence_restart() {
    let Some((bin, theirs, ours)) = pair("incident").await else {
        return;
    };
    kubectl_ok(
        &bin,
        &theirs,
        &["-n", "poolboy", "rollout", "restart", "deploy/poolboy"],
    )
    .await;
    let out = kx::rollout_restart(
        &ours.client,
        "poolboy",
        WorkloadKind::Deployment,
        "poolboy",
        false,
    )
    .await
    .expect("restart");
    assert_eq!(out.annotation, kx::RESTARTED_AT);
    settled(&theirs, "poolboy", "poolboy", 2).await;
    settled(&ours, "poolboy", "poolboy", 2).await;
    assert_eq!(
        comparable(&theirs, "poolboy", "poolboy"),
        comparable(&ours, "poolboy", "poolboy")
    );
    // Same wire request: a strategic merge PATCH on the Deployment by field manager kubectl-rollout.
    let patch = |e: &Env| {
        e.mutating()
            .into_iter()
            .map(|r| {
                let fm = r
                    .query
                    .split('&')
                    .find(|kv| kv.starts_with("fieldManager="))
                    .unwrap_or("")
                    .to_string();
                (r.method, r.path, fm)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(patch(&theirs), patch(&ours));
    assert_eq!(
        patch(&ours),
        [(
            "PATCH".to_string(),
            "/apis/apps/v1/namespaces/poolboy/deployments/poolboy".to_string(),
            "fieldManager=kubectl-rollout".to_string()
        )]
    );
    let value = &ours.deploy("poolboy", "poolboy")["spec"]["template"]["metadata"]["annotations"]
        [kx::RESTARTED_AT];
    assert_eq!(value, out.restarted_at.as_str());
    theirs.sim.shutdown().await;
    ours.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_equivalence_undo() {
    let Some((bin, theirs, ours)) = pair("incident").await else {
        return;
    };
    kubectl_ok(
        &bin,
        &theirs,
        &["-n", NS, "rollout", "undo", "deploy/platform-v2-api"],
    )
    .await;
    let out = kx::rollout_undo(&ours.client, NS, API, 0, false)
        .await
        .expect("undo");
    assert_eq!(out.revision, 6);
    assert_eq!(out.message, "rolled back");
    settled(&theirs, NS, API, 8).await;
    settled(&ours, NS, API, 8).await;
    let ours_now = comparable(&ours, NS, API);
    assert_eq!(comparable(&theirs, NS, API), ours_now);
    assert_eq!(images(&ours.deploy(NS, API)), [format!("{IMG}6.3.1")]);
    let methods = |e: &Env| {
        e.mutating()
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect::<Vec<_>>()
    };
    assert_eq!(methods(&theirs), methods(&ours));
    theirs.sim.shutdown().await;
    ours.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_equivalence_undo_to_revision() {
    let Some((bin, theirs, ours)) = pair("incident").await else {
        return;
    };
    kubectl_ok(
        &bin,
        &theirs,
        &[
            "-n",
            NS,
            "rollout",
            "undo",
            "deploy/platform-v2-api",
            "--to-revision=5",
        ],
    )
    .await;
    let out = kx::rollout_undo(&ours.client, NS, API, 5, false)
        .await
        .expect("undo");
    assert_eq!(out.revision, 5);
    assert_eq!(out.images_after, [format!("{IMG}6.2.0")]);
    settled(&theirs, NS, API, 8).await;
    settled(&ours, NS, API, 8).await;
    assert_eq!(comparable(&theirs, NS, API), comparable(&ours, NS, API));
    // And the already-at-template answer is kubectl's, word for word.
    let skip = kubectl_ok(
        &bin,
        &theirs,
        &[
            "-n",
            NS,
            "rollout",
            "undo",
            "deploy/platform-v2-api",
            "--to-revision=8",
        ],
    )
    .await;
    let out = kx::rollout_undo(&ours.client, NS, API, 8, false)
        .await
        .expect("skip");
    assert!(out.skipped);
    assert_eq!(
        skip.trim(),
        format!("deployment.apps/{API} {}", out.message),
        "kubectl said {skip:?}"
    );
    theirs.sim.shutdown().await;
    ours.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_equivalence_scale() {
    let Some((bin, theirs, ours)) = pair("incident").await else {
        return;
    };
    let ns = "babylon-catalog";
    let name = "babylon-catalog-ui";
    kubectl_ok(
        &bin,
        &theirs,
        &[
            "-n",
            ns,
            "scale",
            "deploy/babylon-catalog-ui",
            "--replicas=4",
        ],
    )
    .await;
    let (from, to) = kx::scale(&ours.client, ns, name, 4, false)
        .await
        .expect("scale");
    assert_eq!((from, to), (2, 4));
    for e in [&theirs, &ours] {
        e.until("4 ready replicas", |e| {
            let d = e.deploy(ns, name);
            d["status"]["readyReplicas"] == 4 && d["status"]["replicas"] == 4
        })
        .await;
    }
    assert_eq!(comparable(&theirs, ns, name), comparable(&ours, ns, name));
    let scale_patch = |e: &Env| {
        e.mutating()
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect::<Vec<_>>()
    };
    assert_eq!(scale_patch(&theirs), scale_patch(&ours));
    assert_eq!(
        scale_patch(&ours),
        [(
            "PATCH".to_string(),
            format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale")
        )]
    );
    theirs.sim.shutdown().await;
    ours.sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Each action end to end

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_rolls_a_new_revision_and_dry_run_changes_nothing() {
    let e = env("incident").await;
    let before = e.deploy("poolboy", "poolboy");
    e.sim.faults().clear_requests();
    let preview = kx::rollout_restart(
        &e.client,
        "poolboy",
        WorkloadKind::Deployment,
        "poolboy",
        true,
    )
    .await
    .expect("dry run");
    assert!(preview.dry_run);
    let after = e.deploy("poolboy", "poolboy");
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
    let writes = e.mutating();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(has_dry_run(&writes[0]), "{writes:?}");

    let out = kx::rollout_restart(
        &e.client,
        "poolboy",
        WorkloadKind::Deployment,
        "poolboy",
        false,
    )
    .await
    .expect("restart");
    assert_eq!(out.generation, Some(2));
    e.until("the restart's rollout", |e| {
        e.revisions("poolboy", "poolboy").len() == 2
    })
    .await;
    let world = e.sim.world();
    let st = poll_advancing(
        "the poolboy rollout done",
        &world,
        SIM_STEP,
        DEADLINE,
        || async {
            let st = kx::rollout_status(&e.client, "poolboy", WorkloadKind::Deployment, "poolboy")
                .await
                .expect("status");
            assert_eq!(st.failed, None);
            if st.done {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        },
    )
    .await;
    assert_eq!(st.message, "deployment \"poolboy\" successfully rolled out");
    let history = kx::rollout_history(&e.client, "poolboy", "poolboy")
        .await
        .expect("history");
    let revs: Vec<(i64, bool)> = history.iter().map(|r| (r.revision, r.current)).collect();
    assert_eq!(revs, [(2, true), (1, false)]);
    assert!(history.iter().all(|r| r.created.is_some()));
    assert_eq!(history[0].replicas, 1);
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_previous_to_revision_and_dry_run() {
    let e = env("incident").await;
    let history = kx::rollout_history(&e.client, NS, API)
        .await
        .expect("history");
    let revs: Vec<(i64, bool, Vec<String>)> = history
        .iter()
        .map(|r| (r.revision, r.current, r.images.clone()))
        .collect();
    assert_eq!(
        revs,
        [
            (7, true, vec![format!("{IMG}7.0.0")]),
            (6, false, vec![format!("{IMG}6.3.1")]),
            (5, false, vec![format!("{IMG}6.2.0")]),
        ]
    );

    // Dry run: the preview names both images, and nothing changes.
    let before = e.deploy(NS, API);
    e.sim.faults().clear_requests();
    let preview = kx::rollout_undo(&e.client, NS, API, 0, true)
        .await
        .expect("dry run");
    assert_eq!(preview.revision, 6);
    assert_eq!(preview.images_before, [format!("{IMG}7.0.0")]);
    assert_eq!(preview.images_after, [format!("{IMG}6.3.1")]);
    assert_eq!(preview.message, "rolled back (server dry run)");
    assert!(!preview.skipped);
    let writes = e.mutating();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert!(has_dry_run(&writes[0]), "{writes:?}");
    assert_eq!(
        e.deploy(NS, API)["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );

    // Previous revision.
    let out = kx::rollout_undo(&e.client, NS, API, 0, false)
        .await
        .expect("undo");
    assert_eq!((out.revision, out.skipped), (6, false));
    assert_eq!(out.images_after, [format!("{IMG}6.3.1")]);
    settled(&e, NS, API, 8).await;
    let revs: Vec<i64> = kx::rollout_history(&e.client, NS, API)
        .await
        .expect("history")
        .iter()
        .map(|r| r.revision)
        .collect();
    assert_eq!(revs, [8, 7, 5]);

    // --to-revision=5.
    let out = kx::rollout_undo(&e.client, NS, API, 5, false)
        .await
        .expect("undo to 5");
    assert_eq!(out.images_before, [format!("{IMG}6.3.1")]);
    assert_eq!(out.images_after, [format!("{IMG}6.2.0")]);
    settled(&e, NS, API, 9).await;
    assert_eq!(images(&e.deploy(NS, API)), [format!("{IMG}6.2.0")]);
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_undo_to_revision_6_ends_the_crash_loop() {
    let e = env("incident").await;
    let st = kx::rollout_status(&e.client, NS, WorkloadKind::Deployment, API)
        .await
        .expect("status");
    assert_eq!(
        st.failed.as_deref(),
        Some("deployment \"platform-v2-api\" exceeded its progress deadline")
    );
    assert!(!st.done);
    let crash_looping = e
        .sim
        .world()
        .list(Res::Pod, Some(NS))
        .into_iter()
        .filter(|p| p["spec"]["containers"][0]["image"] == format!("{IMG}7.0.0").as_str())
        .filter(|p| !ready(p))
        .count();
    assert!(
        crash_looping > 0,
        "the incident starts with crash-looping pods"
    );
    let out = kx::rollout_undo(&e.client, NS, API, 6, false)
        .await
        .expect("undo to 6");
    assert_eq!(out.revision, 6);
    let world = e.sim.world();
    let last = poll_advancing("the rollback done", &world, SIM_STEP, DEADLINE, || async {
        let st = kx::rollout_status(&e.client, NS, WorkloadKind::Deployment, API)
            .await
            .expect("status");
        if st.done {
            Ok(st)
        } else {
            Err(format!("{st:?}"))
        }
    })
    .await;
    assert_eq!(last.failed, None);
    assert_eq!(
        last.message,
        "deployment \"platform-v2-api\" successfully rolled out"
    );
    // The crash-looping pods go; the old template's pods serve, ready.
    e.until("only ready 6.3.1 pods", |e| {
        let pods = e.sim.world().list(Res::Pod, Some(NS));
        let serving: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
        serving.len() == 3
            && pods.len() == 3
            && serving.iter().all(|p| {
                ready(p) && p["spec"]["containers"][0]["image"] == format!("{IMG}6.3.1").as_str()
            })
    })
    .await;
    let d = e.deploy(NS, API);
    assert_eq!(revision(&d), 8);
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "NewReplicaSetAvailable"
    );
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_with_dry_run_preview() {
    let e = env("incident").await;
    let ns = "babylon-catalog";
    let name = "babylon-catalog-ui";
    assert_eq!(kx::deployment_replicas(&e.client, ns, name).await, Ok(2));
    e.sim.faults().clear_requests();
    let preview = kx::scale(&e.client, ns, name, 5, true)
        .await
        .expect("dry run");
    assert_eq!(preview, (2, 5));
    assert_eq!(e.deploy(ns, name)["spec"]["replicas"], 2);
    let writes = e.mutating();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0].path.ends_with("/scale") && has_dry_run(&writes[0]),
        "{writes:?}"
    );

    assert_eq!(kx::scale(&e.client, ns, name, 5, false).await, Ok((2, 5)));
    assert_eq!(kx::deployment_replicas(&e.client, ns, name).await, Ok(5));
    e.until("5 ready replicas", |e| {
        let d = e.deploy(ns, name);
        d["status"]["readyReplicas"] == 5 && d["status"]["replicas"] == 5
    })
    .await;
    assert_eq!(kx::scale(&e.client, ns, name, 1, false).await, Ok((5, 1)));
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_pod_graceful_force_dry_run_and_by_selector() {
    let e = env("incident").await;
    let ns = "babylon-catalog";
    let pods = pod_names(&e.sim, ns, "babylon-catalog-ui");
    assert_eq!(pods.len(), 2, "{pods:?}");

    // Dry run: nothing happens, the DELETE carries dryRun=All.
    e.sim.faults().clear_requests();
    let msg = kx::delete_pod(&e.client, ns, &pods[0], None, false, true)
        .await
        .expect("dry run");
    assert_eq!(msg, format!("pod \"{}\" deleted (server dry run)", pods[0]));
    let p = e.get(Res::Pod, ns, &pods[0]).expect("still there");
    assert!(!terminating(&p));
    let writes = e.mutating();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "DELETE");
    assert!(has_dry_run(&writes[0]), "{writes:?}");

    // Graceful (server default 30 s, 1.5 s at 20x): Terminating, then gone.
    let msg = kx::delete_pod(&e.client, ns, &pods[0], None, false, false)
        .await
        .expect("delete");
    assert_eq!(msg, format!("pod \"{}\" deleted", pods[0]));
    let p = e.get(Res::Pod, ns, &pods[0]).expect("terminating");
    assert!(terminating(&p));
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    e.until("the graceful delete to finish", |e| {
        e.get(Res::Pod, ns, &pods[0]).is_none()
    })
    .await;

    // Force: gone at once. --force with a positive grace is kubectl's error.
    assert_eq!(
        kx::delete_pod(&e.client, ns, &pods[1], Some(5), true, false).await,
        Err(Failure::Failed(kx::FORCE_WITH_GRACE.to_string()))
    );
    let msg = kx::delete_pod(&e.client, ns, &pods[1], None, true, false)
        .await
        .expect("force");
    assert_eq!(msg, format!("pod \"{}\" force deleted", pods[1]));
    assert!(e.get(Res::Pod, ns, &pods[1]).is_none());

    // By selector (restart an operator).
    let ns = "anarchy-operator";
    let sel = "app=anarchy-operator";
    let matching = kx::pods_for_selector(&e.client, ns, sel)
        .await
        .expect("pods");
    assert!(!matching.is_empty());
    e.sim.faults().clear_requests();
    let would = kx::delete_pods(&e.client, ns, sel, true)
        .await
        .expect("dry");
    assert_eq!(would, matching);
    assert!(e.mutating().iter().all(has_dry_run));
    assert!(
        matching
            .iter()
            .all(|n| e.get(Res::Pod, ns, n).is_some_and(|p| !terminating(&p)))
    );
    let gone = kx::delete_pods(&e.client, ns, sel, false)
        .await
        .expect("delete");
    assert_eq!(gone, matching);
    for n in &gone {
        let p = e.get(Res::Pod, ns, n);
        assert!(p.is_none_or(|p| terminating(&p)), "{n} not deleted");
    }
    assert_eq!(
        kx::delete_pods(&e.client, ns, " ", false).await,
        Err(Failure::Failed("a label selector is required".to_string()))
    );
    e.sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Errors and permissions

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_kubectls_and_the_servers_verbatim() {
    let e = env("incident").await;
    let world = e.sim.world();
    let bin = kubectl_path();

    // Revision errors.
    assert_eq!(
        kx::rollout_undo(&e.client, NS, API, -1, false).await,
        Err(Failure::Failed(
            "unable to find specified revision -1 in history".to_string()
        ))
    );
    assert_eq!(
        kx::rollout_undo(&e.client, NS, API, 42, false).await,
        Err(Failure::Failed(
            "unable to find specified revision 42 in history".to_string()
        ))
    );
    let no_history = kx::rollout_undo(&e.client, "poolboy", "poolboy", 0, false).await;
    assert_eq!(
        no_history,
        Err(Failure::Failed(
            "no rollout history found for deployment \"poolboy\"".to_string()
        ))
    );
    if let Some(bin) = &bin {
        let k = kubectl(
            bin,
            &e,
            &["-n", "poolboy", "rollout", "undo", "deploy/poolboy"],
        )
        .await;
        assert!(!k.ok);
        assert_eq!(
            k.stderr.trim(),
            format!("error: {}", no_history.unwrap_err())
        );
    }

    // Already at the template: a success that changes nothing.
    let rv = e.deploy(NS, API)["metadata"]["resourceVersion"].clone();
    let skip = kx::rollout_undo(&e.client, NS, API, 7, false)
        .await
        .expect("skip");
    assert!(skip.skipped);
    assert_eq!(skip.revision, 7);
    assert_eq!(
        skip.message,
        "skipped rollback (current template already matches revision 7)"
    );
    assert_eq!(skip.images_before, skip.images_after);
    assert_eq!(e.deploy(NS, API)["metadata"]["resourceVersion"], rv);

    // Paused.
    world.mutate(Res::Deployment, NS, API, |d| {
        d["spec"]["paused"] = json!(true)
    });
    let restart = kx::rollout_restart(&e.client, NS, WorkloadKind::Deployment, API, false).await;
    assert_eq!(
        restart,
        Err(Failure::Failed(
            "can't restart paused deployment (run rollout resume first)".to_string()
        ))
    );
    let undo = kx::rollout_undo(&e.client, NS, API, 0, false).await;
    assert_eq!(
        undo,
        Err(Failure::Failed("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".to_string()))
    );
    if let Some(bin) = &bin {
        let k = kubectl(
            bin,
            &e,
            &["-n", NS, "rollout", "undo", "deploy/platform-v2-api"],
        )
        .await;
        assert!(!k.ok);
        assert_eq!(k.stderr.trim(), format!("error: {}", undo.unwrap_err()));
        let k = kubectl(
            bin,
            &e,
            &["-n", NS, "rollout", "restart", "deploy/platform-v2-api"],
        )
        .await;
        assert!(!k.ok);
        assert!(
            k.stderr.contains(restart.unwrap_err().reason()),
            "{}",
            k.stderr
        );
    }
    world.mutate(Res::Deployment, NS, API, |d| {
        if let Some(s) = d["spec"].as_object_mut() {
            s.remove("paused");
        }
    });

    // Not found: the server's message.
    assert_eq!(
        kx::rollout_restart(&e.client, NS, WorkloadKind::Deployment, "nope", false).await,
        Err(Failure::Failed(
            "deployments.apps \"nope\" not found".to_string()
        ))
    );
    assert_eq!(
        kx::delete_pod(&e.client, NS, "nope", None, false, false).await,
        Err(Failure::Failed("pods \"nope\" not found".to_string()))
    );

    // 403 from the policy: the server's message, verbatim, typed as a refusal.
    world.deny("patch", "apps", "deployments", NS);
    let forbidden = kx::rollout_restart(&e.client, NS, WorkloadKind::Deployment, API, false)
        .await
        .expect_err("forbidden");
    let Failure::Forbidden(forbidden) = forbidden else {
        panic!("not typed as forbidden: {forbidden:?}");
    };
    assert_eq!(
        forbidden,
        format!(
            "deployments \"{API}\" is forbidden: User \"system:serviceaccount:watchfloor:sim\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"{NS}\""
        )
    );
    assert_eq!(
        kx::rollout_undo(&e.client, NS, API, 0, true).await,
        Err(Failure::Forbidden(forbidden.clone()))
    );
    if let Some(bin) = &bin {
        let k = kubectl(
            bin,
            &e,
            &["-n", NS, "rollout", "restart", "deploy/platform-v2-api"],
        )
        .await;
        assert!(!k.ok && k.stderr.contains(&forbidden), "{}", k.stderr);
    }
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_reviews_follow_the_policy() {
    let e = env("incident").await;
    let world = e.sim.world();
    let ns = "babylon-catalog";
    let delete = ActionKind::DeletePod {
        name: "x".into(),
        grace: None,
        force: false,
    };
    let checks = kx::checks_for(&delete, ns);
    assert_eq!(
        checks,
        [AccessCheck {
            namespace: ns.into(),
            verb: "delete".into(),
            group: "".into(),
            resource: "pods".into(),
            subresource: None,
        }]
    );
    let results = kx::access(&e.client, &checks).await;
    assert_eq!(results[0].1, Ok(true));
    assert_eq!(kx::denied_reason(&results), None);

    world.deny("delete", "", "pods", ns);
    let results = kx::access(&e.client, &checks).await;
    assert_eq!(results[0].1, Ok(false));
    assert_eq!(
        kx::denied_reason(&results).as_deref(),
        Some("not allowed: delete pods in babylon-catalog")
    );
    // The operator restart needs list + delete pods: list allowed, delete not.
    let op = kx::checks_for(
        &ActionKind::RestartOperator {
            selector: "app=x".into(),
        },
        ns,
    );
    let results = kx::access(&e.client, &op).await;
    let got: Vec<(String, Result<bool, Failure>)> = results
        .iter()
        .map(|(c, r)| (c.to_string(), r.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("list pods in babylon-catalog".to_string(), Ok(true)),
            ("delete pods in babylon-catalog".to_string(), Ok(false)),
        ]
    );
    // Other namespaces and verbs are unaffected; the remediation table per action.
    let undo = kx::checks_for(
        &ActionKind::RolloutUndo {
            name: API.into(),
            to_revision: 0,
        },
        NS,
    );
    let names: Vec<String> = undo.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "list replicasets.apps in platform-v2-stable",
            "patch deployments.apps in platform-v2-stable"
        ]
    );
    assert_eq!(kx::denied_reason(&kx::access(&e.client, &undo).await), None);
    world.deny("patch", "apps", "deployments", NS);
    assert_eq!(
        kx::denied_reason(&kx::access(&e.client, &undo).await).as_deref(),
        Some("not allowed: patch deployments.apps in platform-v2-stable")
    );
    let scale = kx::checks_for(
        &ActionKind::Scale {
            name: API.into(),
            from: Some(3),
            to: 4,
        },
        NS,
    );
    // The scale subresource is a separate rule, as in RBAC.
    assert_eq!(
        kx::denied_reason(&kx::access(&e.client, &scale).await),
        None
    );
    assert!(kx::checks_for(&ActionKind::PgCancel { pid: 1 }, NS).is_empty());
    // The real verb is refused with the server's message.
    let pod = pod_names(&e.sim, ns, "babylon-catalog-ui")
        .pop()
        .expect("pod");
    let refused = kx::delete_pod(&e.client, ns, &pod, None, false, false)
        .await
        .expect_err("forbidden");
    assert!(
        matches!(&refused, Failure::Forbidden(why)
            if why.starts_with(&format!("pods \"{pod}\" is forbidden: "))),
        "{refused:?}"
    );
    e.sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// StatefulSets and DaemonSets

/// A StatefulSet's and a DaemonSet's rollout restart: the access review asks about that kind,
/// the dry run changes nothing, and the rollout is followed by that kind's `rollout status`
/// rule to kubectl's final line, while the controller replaces every pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_and_daemonset_restarts_are_followed_by_their_own_rules() {
    let e = env("incident").await;
    let cases = [
        (
            WorkloadKind::StatefulSet,
            Res::StatefulSet,
            "babylon-catalog",
            "babylon-catalog-redis",
            "partitioned roll out complete: 3 new pods have been updated...".to_string(),
        ),
        (
            WorkloadKind::DaemonSet,
            Res::DaemonSet,
            "openshift-logging",
            "collector",
            "daemon set \"collector\" successfully rolled out".to_string(),
        ),
    ];
    for (kind, res, ns, name, done_line) in cases {
        let action = ActionKind::RolloutRestart {
            kind,
            name: name.into(),
        };
        let checks = kx::checks_for(&action, ns);
        let asked: Vec<String> = checks.iter().map(ToString::to_string).collect();
        assert_eq!(asked, [format!("patch {}.apps in {ns}", kind.resource())]);
        assert_eq!(
            kx::denied_reason(&kx::access(&e.client, &checks).await),
            None
        );

        // Settled: done at once, by this kind's rule.
        let settled = kx::rollout_status(&e.client, ns, kind, name)
            .await
            .expect("status");
        assert_eq!((settled.done, &settled.message), (true, &done_line));
        // There is no Deployment of that name to follow.
        assert_eq!(
            kx::rollout_status(&e.client, ns, WorkloadKind::Deployment, name).await,
            Err(Failure::Failed(format!(
                "deployments.apps \"{name}\" not found"
            )))
        );

        let before = e.get(res, ns, name).expect("object");
        let uid_of = |n: &String| e.get(Res::Pod, ns, n).map(|p| p["metadata"]["uid"].clone());
        let old_uids: Vec<Value> = pod_names(&e.sim, ns, &format!("{name}-"))
            .iter()
            .filter_map(uid_of)
            .collect();
        assert_eq!(old_uids.len(), 3);
        e.sim.faults().clear_requests();
        let dry = kx::rollout_restart(&e.client, ns, kind, name, true)
            .await
            .expect("dry run");
        assert!(dry.dry_run && dry.kind == kind);
        assert!(e.mutating().iter().all(has_dry_run), "{:#?}", e.mutating());
        assert_eq!(
            e.get(res, ns, name).expect("object")["metadata"]["generation"],
            before["metadata"]["generation"]
        );

        let out = kx::rollout_restart(&e.client, ns, kind, name, false)
            .await
            .expect("restart");
        let after = e.get(res, ns, name).expect("object");
        assert_eq!(
            after["spec"]["template"]["metadata"]["annotations"][kx::RESTARTED_AT],
            out.restarted_at.as_str()
        );
        let mutating = e.mutating();
        assert_eq!(mutating.len(), 2, "{mutating:#?}");
        assert!(
            mutating[1]
                .path
                .ends_with(&format!("/{}/{name}", kind.resource())),
            "{mutating:#?}"
        );

        // Followed as the runner follows it, until done.
        let mut seen: Vec<String> = Vec::new();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let p = kx::rollout_status(&e.client, ns, kind, name)
                .await
                .expect("status");
            assert_eq!(p.failed, None, "{seen:#?}");
            if seen.last() != Some(&p.message) {
                seen.push(p.message.clone());
            }
            if p.done {
                break;
            }
            assert!(Instant::now() < deadline, "still rolling: {seen:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen.last(), Some(&done_line), "{seen:#?}");
        assert!(
            seen.len() >= 2,
            "the rollout was never waited for: {seen:#?}"
        );
        let kinds_line = |m: &String| match kind {
            WorkloadKind::StatefulSet => {
                m == "Waiting for statefulset spec update to be observed..."
                    || (m.starts_with("Waiting for ") && m.ends_with(" pods to be ready..."))
                    || m.starts_with("Waiting for partitioned roll out to finish: ")
            }
            WorkloadKind::DaemonSet => {
                m == "Waiting for daemon set spec update to be observed..."
                    || m.starts_with("Waiting for daemon set \"collector\" rollout to finish: ")
            }
            WorkloadKind::Deployment => false,
        };
        assert!(seen[..seen.len() - 1].iter().all(kinds_line), "{seen:#?}");

        // The controller's status agrees, and every pod was replaced.
        let obj = e.get(res, ns, name).expect("object");
        let st = &obj["status"];
        assert_eq!(st["observedGeneration"], obj["metadata"]["generation"]);
        match kind {
            WorkloadKind::StatefulSet => {
                for f in [
                    "replicas",
                    "readyReplicas",
                    "updatedReplicas",
                    "currentReplicas",
                ] {
                    assert_eq!(st[f], 3, "{f}: {st}");
                }
                assert_eq!(st["currentRevision"], st["updateRevision"]);
                assert_ne!(
                    st["updateRevision"], before["status"]["updateRevision"],
                    "a new revision"
                );
            }
            WorkloadKind::DaemonSet | WorkloadKind::Deployment => {
                for f in [
                    "desiredNumberScheduled",
                    "currentNumberScheduled",
                    "updatedNumberScheduled",
                    "numberAvailable",
                ] {
                    assert_eq!(st[f], 3, "{f}: {st}");
                }
            }
        }
        let new_pods = pod_names(&e.sim, ns, &format!("{name}-"));
        assert_eq!(new_pods.len(), 3, "{new_pods:?}");
        for n in &new_pods {
            let p = e.get(Res::Pod, ns, n).expect("pod");
            assert!(ready(&p) && !terminating(&p), "{n}");
            assert_eq!(
                p["metadata"]["ownerReferences"][0]["uid"],
                obj["metadata"]["uid"]
            );
            assert!(
                !old_uids.contains(&p["metadata"]["uid"]),
                "{n} was not replaced"
            );
            assert_eq!(
                p["metadata"]["annotations"][kx::RESTARTED_AT],
                out.restarted_at.as_str(),
                "{n} runs the restarted template"
            );
        }
    }
    e.sim.shutdown().await;
}
