//! The incident demo's remediations heal the simulated world, through the API as kubectl and the
//! console send them: restarting anarchy-operator (deleting its pods by selector) unsticks the
//! Poolboy claim it held back, and rolling platform-v2-api back to revision 6 ends the crash loop
//! and brings the simulated Prometheus' 5xx ratio down.

use crate::support::wait::poll_advancing;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};
use watchfloor_sim::{Scenario, Sim, SimOptions};

const OPERATOR_NS: &str = "anarchy-operator";
/// The selector the demo's "restart the operator" remediation deletes by.
const OPERATOR_SELECTOR: &str = "app=anarchy-operator";
const CLAIM_NS: &str = "user-jdoe-redhat-com";
const CLAIM: &str = "ocp4-workshop.prod-x7k2p";
const API_NS: &str = "platform-v2-stable";
const API: &str = "platform-v2-api";

struct Fixture {
    sim: Sim,
    client: Client,
    _dir: tempfile::TempDir,
}

/// Waits for a condition of the simulated platform, moving its clock on between looks (5 s of
/// world time at 20x), so a crash-loop back-off or a claim's wait takes no wall-clock time.
async fn wait_for<T, F, Fut>(fx: &Fixture, what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let world = fx.sim.world();
    poll_advancing(what, &world, Duration::from_millis(250), timeout, check).await
}

async fn fixture(speed: f64) -> Fixture {
    let sim = Sim::start(
        Scenario::builtin("incident").expect("scenario"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: None,
            speed,
        },
    )
    .await
    .expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&path, "sim-demo").expect("kubeconfig");
    let kc = Kubeconfig::read_from(&path).expect("read kubeconfig");
    let cfg = Config::from_custom_kubeconfig(
        kc,
        &KubeConfigOptions {
            context: Some("sim-demo".into()),
            ..Default::default()
        },
    )
    .await
    .expect("config");
    let client = Client::try_from(cfg).expect("client");
    Fixture {
        sim,
        client,
        _dir: dir,
    }
}

fn claims_api(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("poolboy.gpte.redhat.com", "v1", "ResourceClaim");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "resourceclaims");
    Api::namespaced_with(client.clone(), CLAIM_NS, &ar)
}

fn claim_state(c: &DynamicObject) -> (String, bool) {
    let status = &c.data["status"];
    (
        status["summary"]["state"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        status["ready"] == true,
    )
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

fn waiting_reason(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.clone())
        .unwrap_or_default()
}

fn describe(pods: &[Pod]) -> String {
    pods.iter()
        .map(|p| {
            format!(
                "{} ready={} restarts={} terminating={} waiting={:?}",
                p.name_any(),
                pod_ready(p),
                restarts(p),
                p.metadata.deletion_timestamp.is_some(),
                waiting_reason(p)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_operator_unsticks_the_claim() {
    // 20x: the 30 s grace period takes 1.5 s, the 15 s resume delay 0.75 s.
    let fx = fixture(20.0).await;
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), OPERATOR_NS);
    let claims = claims_api(&fx.client);
    let by_selector = ListParams::default().labels(OPERATOR_SELECTOR);

    // The operator crash-loops; the claim is stuck provisioning.
    let before = pods.list(&by_selector).await.expect("operator pods").items;
    assert_eq!(before.len(), 1, "{}", describe(&before));
    let old = &before[0];
    assert!(!pod_ready(old), "{}", describe(&before));
    assert!(restarts(old) >= 1, "{}", describe(&before));
    let old_uid = old.uid().expect("uid");
    let old_restarts = restarts(old);
    let stuck = claims.get(CLAIM).await.expect("claim");
    assert_eq!(claim_state(&stuck), ("provisioning".to_string(), false));
    let stuck_rv = stuck.resource_version().expect("rv");

    // A whole crash cycle passes (well over the 15 s resume delay of world time) and the claim
    // does not move: the operator pod that existed at load keeps failing.
    let crashed = wait_for(
        &fx,
        "another operator crash",
        Duration::from_secs(30),
        || {
            let pods = pods.clone();
            async move {
                let p = pods
                    .get(old.name_any().as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                if restarts(&p) > old_restarts && waiting_reason(&p) == "CrashLoopBackOff" {
                    Ok(p)
                } else {
                    Err(describe(&[p]))
                }
            }
        },
    )
    .await;
    assert!(!pod_ready(&crashed));
    let still = claims.get(CLAIM).await.expect("claim");
    assert_eq!(claim_state(&still), ("provisioning".to_string(), false));
    assert_eq!(
        still.resource_version().as_ref(),
        Some(&stuck_rv),
        "claim changed"
    );

    // Watch the claim from here on, as the console does.
    let by_name = format!("metadata.name={CLAIM}");
    let listed = claims
        .list(&ListParams::default().fields(&by_name))
        .await
        .expect("list claims");
    assert_eq!(listed.items.len(), 1);
    let list_rv = listed.metadata.resource_version.expect("list rv");
    let mut watch = claims
        .watch(
            &WatchParams::default().fields(&by_name).timeout(60),
            &list_rv,
        )
        .await
        .expect("watch")
        .boxed();

    // The runbook: delete the operator's pods by selector (as kubectl and the console do: list,
    // then a graceful DELETE of each).
    for p in &before {
        pods.delete(&p.name_any(), &DeleteParams::default())
            .await
            .expect("delete");
    }

    // The ReplicaSet's replacement runs healthy: ready, no restarts; the old pod goes away.
    let fresh = wait_for(
        &fx,
        "a ready replacement pod",
        Duration::from_secs(30),
        || {
            let pods = pods.clone();
            let by_selector = by_selector.clone();
            let old_uid = old_uid.clone();
            async move {
                let all = pods
                    .list(&by_selector)
                    .await
                    .map_err(|e| e.to_string())?
                    .items;
                let ok = all.len() == 1
                    && all[0].uid().is_some_and(|u| u != old_uid)
                    && pod_ready(&all[0])
                    && restarts(&all[0]) == 0;
                if ok {
                    Ok(all[0].clone())
                } else {
                    Err(describe(&all))
                }
            }
        },
    )
    .await;

    // Within the deadline the claim reaches started/ready, and the watcher sees it.
    let started = wait_for(&fx, "the claim to start", Duration::from_secs(30), || {
        let claims = claims.clone();
        async move {
            let c = claims.get(CLAIM).await.map_err(|e| e.to_string())?;
            if claim_state(&c) == ("started".to_string(), true) {
                Ok(c)
            } else {
                Err(format!("{:?}", claim_state(&c)))
            }
        }
    })
    .await;
    let status = &started.data["status"];
    assert_eq!(status["healthy"], true, "{status}");
    assert!(status["lifespan"]["firstReady"].is_string(), "{status}");
    let vars = &status["resources"][0]["state"]["spec"]["vars"];
    assert_eq!(vars["current_state"], "started", "{status}");
    assert_eq!(vars["desired_state"], "started", "{status}");
    assert_eq!(status["resources"][0]["ready"], true, "{status}");
    assert_ne!(started.resource_version(), Some(stuck_rv));
    assert_eq!(started.metadata.generation, stuck.metadata.generation);

    let modified = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = watch.try_next().await.expect("watch event") {
            if let WatchEvent::Modified(c) = ev {
                return Some(c);
            }
        }
        None
    })
    .await
    .expect("a MODIFIED event in time")
    .expect("the watch stayed open");
    assert_eq!(modified.name_any(), CLAIM);
    assert_eq!(claim_state(&modified), ("started".to_string(), true));
    assert_eq!(modified.resource_version(), started.resource_version());

    // By now well over a crash cycle of world time has passed: the replacement never restarted.
    let now = pods.get(&fresh.name_any()).await.expect("replacement");
    assert!(pod_ready(&now), "{}", describe(std::slice::from_ref(&now)));
    assert_eq!(
        restarts(&now),
        0,
        "{}",
        describe(std::slice::from_ref(&now))
    );
    let deploys: Api<Deployment> = Api::namespaced(fx.client.clone(), OPERATOR_NS);
    let d = deploys.get("anarchy-operator").await.expect("deployment");
    let status = d.status.expect("status");
    assert_eq!(status.ready_replicas, Some(1), "{status:?}");
    fx.sim.shutdown().await;
}

fn ratio_query(window: &str) -> String {
    format!(
        r#"sum(rate(http_requests_total{{namespace="{API_NS}",code=~"5.."}}[{window}])) / sum(rate(http_requests_total{{namespace="{API_NS}"}}[{window}]))"#
    )
}

/// The 5xx ratio over `[1m]` from the simulated Prometheus.
async fn error_ratio(sim: &Sim) -> Result<f64, String> {
    let url = reqwest::Url::parse_with_params(
        &format!("http://{}/api/v1/query", sim.addr),
        &[("query", ratio_query("1m"))],
    )
    .map_err(|e| e.to_string())?;
    let body: Value = reqwest::get(url)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    body["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no sample in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_to_revision_6_ends_the_crash_loop() {
    // 10x: the 1m window passes in 6 s of real time.
    let fx = fixture(10.0).await;
    let deploys: Api<Deployment> = Api::namespaced(fx.client.clone(), API_NS);
    let replicasets: Api<ReplicaSet> = Api::namespaced(fx.client.clone(), API_NS);
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), API_NS);
    let before = error_ratio(&fx.sim).await.expect("ratio");
    assert!(before > 0.2, "a quarter of the traffic fails: {before}");

    // `kubectl rollout undo deploy/platform-v2-api --to-revision=6`: revision 6's template
    // without the hash label, and the annotations, in one JSON patch.
    let d = deploys.get(API).await.expect("deployment");
    let rs6 = replicasets
        .list(&ListParams::default().labels(&format!("app={API}")))
        .await
        .expect("replicasets")
        .items
        .into_iter()
        .find(|r| {
            r.annotations()
                .get("deployment.kubernetes.io/revision")
                .is_some_and(|v| v == "6")
        })
        .expect("revision 6");
    let mut template = serde_json::to_value(rs6.spec.expect("rs spec").template).expect("json");
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": d.annotations()},
    ]))
    .expect("patch");
    deploys
        .patch(API, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .expect("rollback");

    wait_for(
        &fx,
        "the rollback to complete",
        Duration::from_secs(30),
        || {
            let (deploys, pods) = (deploys.clone(), pods.clone());
            async move {
                let d = deploys.get(API).await.map_err(|e| e.to_string())?;
                let all = pods
                    .list(&ListParams::default().labels(&format!("app={API}")))
                    .await
                    .map_err(|e| e.to_string())?
                    .items;
                let live: Vec<&Pod> = all
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                let rev = d
                    .annotations()
                    .get("deployment.kubernetes.io/revision")
                    .cloned();
                let s = d.status.unwrap_or_default();
                let ok = rev.as_deref() == Some("8")
                    && s.ready_replicas == Some(3)
                    && s.updated_replicas == Some(3)
                    && live.len() == 3
                    && live.iter().all(|p| pod_ready(p));
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "revision {rev:?}, ready {:?}, updated {:?}; pods {}",
                        s.ready_replicas,
                        s.updated_replicas,
                        describe(&all)
                    ))
                }
            }
        },
    )
    .await;

    // The 5xx ratio comes down: at once below where it was, then to the 0.1% baseline once the
    // 1m window holds only healthy traffic.
    let sim = &fx.sim;
    wait_for(
        &fx,
        "the 5xx ratio to fall",
        Duration::from_secs(30),
        || async move {
            let r = error_ratio(sim).await?;
            if r < before {
                Ok(())
            } else {
                Err(format!("{r} (before: {before})"))
            }
        },
    )
    .await;
    wait_for(
        &fx,
        "the baseline 5xx ratio",
        Duration::from_secs(30),
        || async move {
            let r = error_ratio(sim).await?;
            if (r - 0.001).abs() < 1e-6 {
                Ok(())
            } else {
                Err(format!("{r}"))
            }
        },
    )
    .await;
    fx.sim.shutdown().await;
}
