//! Stock kubectl against the simulated API server; assertions are on the simulator's state.

use crate::support::wait::{fast_forward, until as wait_until};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

const NS: &str = "platform-v2-stable";

/// The kubectl binary, or `None` after a loud SKIPPED message.
pub(crate) fn kubectl_path() -> Option<PathBuf> {
    let out = std::process::Command::new("which")
        .arg("kubectl")
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        eprintln!(
            "\n======== SKIPPED: kubectl not found on PATH; sim_kubectl tests did not run ========\n"
        );
        return None;
    }
    Some(PathBuf::from(path))
}

pub(crate) struct Kubectl {
    pub(crate) bin: PathBuf,
    pub(crate) sim: Sim,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) struct Out {
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Kubectl {
    pub(crate) async fn start(scenario: &str) -> Option<Kubectl> {
        Kubectl::start_with(Scenario::builtin(scenario).expect("scenario")).await
    }

    /// Like `start`, for a scenario a test adjusted (e.g. without the metrics API).
    pub(crate) async fn start_with(scenario: Scenario) -> Option<Kubectl> {
        let bin = kubectl_path()?;
        let sim = Sim::start(
            scenario,
            "127.0.0.1:0".parse().expect("addr"),
            SimOptions {
                request_log: None,
                speed: 20.0,
            },
        )
        .await
        .expect("sim");
        let dir = tempfile::tempdir().expect("tmp");
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "sim")
            .expect("kubeconfig");
        Some(Kubectl { bin, sim, dir })
    }

    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Out {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
            .expect("kubectl runs");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(o.ok, "kubectl {args:?} failed:\n{}\n{}", o.stdout, o.stderr);
        o.stdout
    }
}

fn annotation(v: &serde_json::Value, key: &str) -> String {
    v["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn image(v: &serde_json::Value) -> String {
    v["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_lists_plain_json_answers() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let pods = k.ok(&["get", "pods", "-A"]).await;
    for p in k.sim.world().list(Res::Pod, None) {
        assert!(
            pods.contains(p["metadata"]["name"].as_str().expect("name")),
            "{pods}"
        );
    }
    let deploys = k.ok(&["get", "deploy", "-n", NS]).await;
    assert!(deploys.contains("platform-v2-api"), "{deploys}");
    let claims = k.ok(&["get", "resourceclaims", "-A"]).await;
    assert!(claims.contains("ocp4-workshop.prod-x7k2p"), "{claims}");
    assert!(claims.contains("user-asmith-redhat-com"), "{claims}");
    let raw = k
        .ok(&[
            "get",
            "--raw",
            "/api/v1/namespaces/poolboy/pods?watch=1&timeoutSeconds=1",
        ])
        .await;
    assert!(
        raw.lines().all(|l| l.starts_with("{\"type\":\"ADDED\"")),
        "{raw}"
    );
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_undo_heals_the_incident() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    let hist = k
        .ok(&["-n", NS, "rollout", "history", "deploy/platform-v2-api"])
        .await;
    let revs: Vec<&str> = hist
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revs, ["5", "6", "7"], "{hist}");
    let d = world
        .get(Res::Deployment, NS, "platform-v2-api")
        .expect("deploy");
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "ProgressDeadlineExceeded"
    );
    k.ok(&["-n", NS, "rollout", "undo", "deploy/platform-v2-api"])
        .await;
    wait_until(
        "revision 8 with 6.3.1 healthy",
        Duration::from_secs(20),
        || {
            let d = world
                .get(Res::Deployment, NS, "platform-v2-api")
                .expect("deploy");
            annotation(&d, "deployment.kubernetes.io/revision") == "8"
                && image(&d) == "quay.io/gpte/platform-v2-api:6.3.1"
                && d["status"]["readyReplicas"] == 3
                && d["status"]["updatedReplicas"] == 3
                && d["status"]["replicas"] == 3
                && d["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
        },
    )
    .await;
    let hist = k
        .ok(&["-n", NS, "rollout", "history", "deploy/platform-v2-api"])
        .await;
    let revs: Vec<&str> = hist
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revs, ["5", "7", "8"], "{hist}");
    k.ok(&[
        "-n",
        NS,
        "rollout",
        "undo",
        "deploy/platform-v2-api",
        "--to-revision=5",
    ])
    .await;
    wait_until("revision 9 with 6.2.0", Duration::from_secs(20), || {
        let d = world
            .get(Res::Deployment, NS, "platform-v2-api")
            .expect("deploy");
        annotation(&d, "deployment.kubernetes.io/revision") == "9"
            && image(&d) == "quay.io/gpte/platform-v2-api:6.2.0"
            && d["status"]["readyReplicas"] == 3
            && d["status"]["replicas"] == 3
    })
    .await;
    let bad = k
        .run(&[
            "-n",
            NS,
            "rollout",
            "undo",
            "deploy/platform-v2-api",
            "--to-revision=42",
        ])
        .await;
    assert!(
        !bad.ok
            && bad
                .stderr
                .contains("unable to find specified revision 42 in history"),
        "{}",
        bad.stderr
    );
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_scale_delete() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    k.ok(&["-n", "poolboy", "rollout", "restart", "deploy/poolboy"])
        .await;
    let d = world.get(Res::Deployment, "poolboy", "poolboy").expect("d");
    assert!(
        !d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_null()
    );
    wait_until(
        "restart rolls a new ReplicaSet",
        Duration::from_secs(20),
        || {
            let d = world.get(Res::Deployment, "poolboy", "poolboy").expect("d");
            world.list(Res::ReplicaSet, Some("poolboy")).len() == 2
                && d["status"]["updatedReplicas"] == 1
                && d["status"]["readyReplicas"] == 1
                && d["status"]["replicas"] == 1
        },
    )
    .await;
    k.ok(&[
        "-n",
        "babylon-catalog",
        "scale",
        "deploy/babylon-catalog-ui",
        "--replicas=5",
    ])
    .await;
    wait_until("5 ready replicas", Duration::from_secs(20), || {
        let d = world
            .get(Res::Deployment, "babylon-catalog", "babylon-catalog-ui")
            .expect("d");
        d["spec"]["replicas"] == 5
            && d["status"]["readyReplicas"] == 5
            && d["status"]["replicas"] == 5
    })
    .await;
    let victim = world
        .list(Res::Pod, Some("babylon-catalog"))
        .into_iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .find(|n| n.starts_with("babylon-catalog-ui"))
        .expect("pod");
    // Graceful with kubectl's default wait (a watch until DELETED).
    k.ok(&[
        "-n",
        "babylon-catalog",
        "delete",
        "pod",
        &victim,
        "--grace-period=2",
    ])
    .await;
    assert!(world.get(Res::Pod, "babylon-catalog", &victim).is_none());
    let other = world
        .list(Res::Pod, Some("poolboy"))
        .into_iter()
        .find(|p| p["metadata"].get("deletionTimestamp").is_none())
        .and_then(|p| p["metadata"]["name"].as_str().map(String::from))
        .expect("pod");
    k.ok(&["-n", "poolboy", "delete", "pod", &other, "--wait=false"])
        .await;
    let p = world.get(Res::Pod, "poolboy", &other);
    assert!(p.is_none() || p.is_some_and(|p| p["metadata"].get("deletionTimestamp").is_some()));
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_selector_and_auth() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    let pod = world
        .list(Res::Pod, Some("babylon-catalog"))
        .into_iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .find(|n| n.starts_with("babylon-catalog-api"))
        .expect("pod");
    let mut child = k
        .command(&[
            "-n",
            "babylon-catalog",
            "logs",
            "-f",
            "--tail=2",
            &pod,
            "-c",
            "babylon-catalog-api",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let got = tokio::time::timeout(Duration::from_secs(15), async {
        let mut n = 0;
        while let Ok(Some(l)) = lines.next_line().await {
            assert!(l.contains("\"level\""), "{l}");
            n += 1;
            if n == 5 {
                break;
            }
        }
        n
    })
    .await
    .expect("followed lines in time");
    assert_eq!(got, 5);
    let _ = child.kill().await;
    let out = k
        .ok(&[
            "-n",
            "babylon-catalog",
            "logs",
            "-l",
            "app=babylon-catalog-ui",
            "--tail=2",
        ])
        .await;
    assert_eq!(out.lines().count(), 4, "2 pods x 2 lines:\n{out}");
    let yes = k
        .run(&["auth", "can-i", "patch", "deployments", "-n", NS])
        .await;
    assert!(
        yes.ok && yes.stdout.trim() == "yes",
        "{} {}",
        yes.stdout,
        yes.stderr
    );
    world.deny("patch", "apps", "deployments", NS);
    let no = k
        .run(&["auth", "can-i", "patch", "deployments", "-n", NS])
        .await;
    assert!(
        !no.ok && no.stdout.trim() == "no",
        "{} {}",
        no.stdout,
        no.stderr
    );
    let refused = k
        .run(&["-n", NS, "rollout", "restart", "deploy/platform-v2-api"])
        .await;
    assert!(
        !refused.ok && refused.stderr.contains("forbidden"),
        "{}",
        refused.stderr
    );
    k.sim.shutdown().await;
}

/// After kubectl heals the incident, watchfloor's snapshot reports what kubectl reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_agrees_with_kubectl_after_undo() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    k.ok(&["-n", NS, "rollout", "undo", "deploy/platform-v2-api"])
        .await;
    wait_until("the rollback to finish", Duration::from_secs(20), || {
        let d = world
            .get(Res::Deployment, NS, "platform-v2-api")
            .expect("deploy");
        d["status"]["readyReplicas"] == 3
            && d["status"]["replicas"] == 3
            && d["status"]["updatedReplicas"] == 3
    })
    .await;

    let config = k.dir.path().join("config.toml");
    let kubeconfig = k.dir.path().join("kubeconfig");
    std::fs::write(
        &config,
        format!(
            "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n",
            kubeconfig.display().to_string()
        ),
    )
    .expect("config");
    let names = |pods: &serde_json::Value| -> std::collections::BTreeSet<String> {
        pods["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p["metadata"]["namespace"].as_str().unwrap_or(""),
                    p["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let before: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pods", "-A", "-o", "json"]).await).expect("json");
    let kubectl_before = names(&before);
    let snapshot = tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["snapshot", "--config"])
        .arg(&config)
        .env("HOME", k.dir.path())
        .env("XDG_STATE_HOME", k.dir.path())
        .output()
        .await
        .expect("snapshot runs");
    let snap: serde_json::Value = serde_json::from_slice(&snapshot.stdout).expect("snapshot JSON");

    let deploy: serde_json::Value = serde_json::from_str(
        &k.ok(&["-n", NS, "get", "deploy", "platform-v2-api", "-o", "json"])
            .await,
    )
    .expect("json");
    let ours = snap["deployments"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["name"] == "platform-v2-api" && d["namespace"] == NS)
        .expect("platform-v2-api in the snapshot")
        .clone();
    assert_eq!(
        ours["revision"].to_string(),
        annotation(&deploy, "deployment.kubernetes.io/revision")
    );
    assert_eq!(ours["ready"], deploy["status"]["readyReplicas"]);
    assert_eq!(ours["desired"], deploy["spec"]["replicas"]);
    assert_eq!(ours["rollout"], "complete");

    let pods: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pods", "-A", "-o", "json"]).await).expect("json");
    let kubectl_after: std::collections::BTreeSet<String> = pods["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap_or(""),
                p["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    let our_pods: std::collections::BTreeSet<String> = snap["pods"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["namespace"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    // A pod may come or go between kubectl's reads and the snapshot's: the snapshot holds
    // every pod kubectl saw both before and after, and none that kubectl saw at neither time.
    let both: std::collections::BTreeSet<&String> =
        kubectl_before.intersection(&kubectl_after).collect();
    let either: std::collections::BTreeSet<&String> =
        kubectl_before.union(&kubectl_after).collect();
    let ours: std::collections::BTreeSet<&String> = our_pods.iter().collect();
    assert!(
        both.is_subset(&ours) && ours.is_subset(&either),
        "ours {ours:?}\nkubectl before {kubectl_before:?}\nafter {kubectl_after:?}"
    );
    k.sim.shutdown().await;
}

/// `uid` of every pod whose name starts with `prefix` in `ns`, by name.
fn pod_uids(
    world: &watchfloor_sim::World,
    ns: &str,
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    world
        .list(Res::Pod, Some(ns))
        .into_iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .filter_map(|p| {
            let name = p["metadata"]["name"].as_str()?.to_string();
            let uid = p["metadata"]["uid"].as_str()?.to_string();
            name.starts_with(prefix).then_some((name, uid))
        })
        .collect()
}

/// `kubectl rollout restart` then `kubectl rollout status` of a StatefulSet: the status command
/// ends with kubectl's StatefulSet line once every ordinal was replaced, highest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_rollout_restart_and_status() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let (ns, sts) = ("babylon-catalog", "babylon-catalog-redis");
    let world = k.sim.world();
    let listed = k.ok(&["get", "sts,ds", "-A"]).await;
    assert!(
        listed.contains(sts) && listed.contains("collector"),
        "{listed}"
    );
    let target = format!("statefulset/{sts}");
    // Settled: done at once (the apiserver defaults a partition of 0, so kubectl speaks of a
    // partitioned roll out).
    let settled = k
        .ok(&["-n", ns, "rollout", "status", &target, "--timeout=60s"])
        .await;
    assert_eq!(
        settled.trim(),
        "partitioned roll out complete: 3 new pods have been updated..."
    );
    let before = pod_uids(&world, ns, &format!("{sts}-"));
    assert_eq!(before.len(), 3, "{before:?}");
    let out = k.ok(&["-n", ns, "rollout", "restart", &target]).await;
    assert_eq!(out.trim(), format!("statefulset.apps/{sts} restarted"));
    // The replacements' start-up delays pass five times faster than the wall clock.
    let _fast = fast_forward(&world, 5);
    let status = {
        let args: Vec<String> = ["-n", ns, "rollout", "status", &target, "--timeout=90s"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let cmd = k.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        tokio::spawn(async move {
            let mut cmd = cmd;
            cmd.output().await
        })
    };
    // Watch the ordinals being replaced: the highest first.
    let mut order: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while order.len() < before.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replaced so far: {order:?}"
        );
        for (name, uid) in pod_uids(&world, ns, &format!("{sts}-")) {
            if before.get(&name) != Some(&uid) && !order.contains(&name) {
                order.push(name);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        order,
        [format!("{sts}-2"), format!("{sts}-1"), format!("{sts}-0")]
    );
    let out = status.await.expect("join").expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("partitioned roll out complete: 3 new pods have been updated..."),
        "{stdout}"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("Waiting for ")),
        "{stdout}"
    );
    // The controller's view, as kubectl prints it.
    let s: serde_json::Value =
        serde_json::from_str(&k.ok(&["-n", ns, "get", "sts", sts, "-o", "json"]).await)
            .expect("json");
    let st = &s["status"];
    assert_eq!(st["observedGeneration"], s["metadata"]["generation"]);
    assert_eq!(s["metadata"]["generation"], 2);
    assert_eq!(
        (
            &st["replicas"],
            &st["readyReplicas"],
            &st["updatedReplicas"],
            &st["currentReplicas"]
        ),
        (&3.into(), &3.into(), &3.into(), &3.into())
    );
    assert_eq!(st["currentRevision"], st["updateRevision"]);
    let revision = st["updateRevision"].as_str().expect("updateRevision");
    assert!(revision.starts_with(&format!("{sts}-")), "{revision}");
    for pod in world.list(Res::Pod, Some(ns)) {
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        if name.starts_with(&format!("{sts}-")) {
            assert_eq!(
                pod["metadata"]["labels"]["controller-revision-hash"], revision,
                "{name}"
            );
            let owner = &pod["metadata"]["ownerReferences"][0];
            assert_eq!(
                (&owner["kind"], &owner["name"], &owner["uid"]),
                (&"StatefulSet".into(), &sts.into(), &s["metadata"]["uid"]),
            );
        }
    }
    k.sim.shutdown().await;
}

/// `kubectl rollout restart` then `kubectl rollout status` of a DaemonSet: one new pod per
/// node, and kubectl's DaemonSet line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_rollout_restart_and_status() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let (ns, ds) = ("openshift-logging", "collector");
    let world = k.sim.world();
    let target = format!("daemonset/{ds}");
    let settled = k
        .ok(&["-n", ns, "rollout", "status", &target, "--timeout=60s"])
        .await;
    assert_eq!(
        settled.trim(),
        format!("daemon set \"{ds}\" successfully rolled out")
    );
    let before = pod_uids(&world, ns, &format!("{ds}-"));
    assert_eq!(before.len(), 3, "one per node: {before:?}");
    let out = k.ok(&["-n", ns, "rollout", "restart", &target]).await;
    assert_eq!(out.trim(), format!("daemonset.apps/{ds} restarted"));
    let _fast = fast_forward(&world, 5);
    let stdout = k
        .ok(&["-n", ns, "rollout", "status", &target, "--timeout=90s"])
        .await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some(format!("daemon set \"{ds}\" successfully rolled out").as_str()),
        "{stdout}"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("Waiting for daemon set ")),
        "{stdout}"
    );
    let d: serde_json::Value =
        serde_json::from_str(&k.ok(&["-n", ns, "get", "ds", ds, "-o", "json"]).await)
            .expect("json");
    let st = &d["status"];
    assert_eq!(st["observedGeneration"], d["metadata"]["generation"]);
    assert_eq!(d["metadata"]["generation"], 2);
    for field in [
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberReady",
    ] {
        assert_eq!(st[field], 3, "{field}: {st}");
    }
    // Every pod is new, one per node, owned by the DaemonSet.
    let after = pod_uids(&world, ns, &format!("{ds}-"));
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(
        after.values().all(|uid| !before.values().any(|b| b == uid)),
        "{before:?} {after:?}"
    );
    let mut nodes = std::collections::BTreeSet::new();
    for pod in world.list(Res::Pod, Some(ns)) {
        if pod["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        nodes.insert(pod["spec"]["nodeName"].as_str().unwrap_or("").to_string());
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!(
            (&owner["kind"], &owner["uid"]),
            (&"DaemonSet".into(), &d["metadata"]["uid"])
        );
    }
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    k.sim.shutdown().await;
}
