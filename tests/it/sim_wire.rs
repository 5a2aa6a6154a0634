//! The simulated API server against kube-rs's real client over a real socket.

use crate::support::wait::until as wait_until;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WEvent};
use kube::{Client, Config, ResourceExt};
use serde_json::json;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

const NS: &str = "platform-v2-stable";

struct Fixture {
    sim: Sim,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn fixture(scenario: &str, speed: f64) -> Fixture {
    let sim = Sim::start(
        Scenario::builtin(scenario).expect("scenario"),
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
    sim.write_kubeconfig(&path, "sim-test").expect("kubeconfig");
    let kc = Kubeconfig::read_from(&path).expect("read kubeconfig");
    let cfg = Config::from_custom_kubeconfig(
        kc,
        &KubeConfigOptions {
            context: Some("sim-test".into()),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_version() {
    let fx = fixture("incident", 1.0).await;
    let v = fx.client.apiserver_version().await.expect("version");
    assert_eq!(v.major, "1");
    let d = kube::discovery::Discovery::new(fx.client.clone())
        .run()
        .await
        .expect("discovery");
    assert!(d.has_group("apps"));
    assert!(d.has_group("poolboy.gpte.redhat.com"));
    let gvk = GroupVersionKind::gvk("poolboy.gpte.redhat.com", "v1", "ResourceClaim");
    let (ar, caps) = kube::discovery::pinned_kind(&fx.client, &gvk)
        .await
        .expect("pinned");
    assert_eq!(ar.plural, "resourceclaims");
    assert!(matches!(caps.scope, kube::discovery::Scope::Namespaced));
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_paging() {
    let fx = fixture("incident", 1.0).await;
    let pods: Api<Pod> = Api::all(fx.client.clone());
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(2);
    let mut pages = 0;
    loop {
        let page = pods.list(&lp).await.expect("list page");
        pages += 1;
        assert!(page.items.len() <= 2);
        assert!(page.metadata.resource_version.is_some());
        names.extend(page.items.iter().map(|p| p.name_any()));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    let total = fx.sim.world().count(Res::Pod);
    assert_eq!(names.len(), total);
    assert!(pages >= total / 2);
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len(), "no pod twice across pages");
    // Selectors.
    let sel = pods
        .list(&ListParams::default().labels("app in (platform-v2-api),tier=api"))
        .await
        .expect("labels");
    assert!(!sel.items.is_empty());
    assert!(
        sel.items
            .iter()
            .all(|p| p.labels()["app"] == "platform-v2-api")
    );
    let one = pods
        .list(&ListParams::default().fields(&format!("metadata.name={}", names[0])))
        .await
        .expect("fields");
    assert_eq!(one.items.len(), 1);
    fx.sim.shutdown().await;
}

async fn next(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Result<WEvent<Pod>, String>>,
) -> Result<WEvent<Pod>, String> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("watch event in time")
        .expect("stream open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sync_then_live_event_then_410_and_faults() {
    let fx = fixture("incident", 1.0).await;
    let world = fx.sim.world();
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), "poolboy");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stream = watcher::watcher(pods, watcher::Config::default()).default_backoff();
    let task = tokio::spawn(async move {
        let mut s = std::pin::pin!(stream);
        while let Some(ev) = s.next().await {
            if tx.send(ev.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    // Initial sync.
    let mut inits = 0;
    loop {
        match next(&mut rx).await {
            Ok(WEvent::Init) => inits += 1,
            Ok(WEvent::InitDone) => break,
            _ => {}
        }
    }
    assert_eq!(inits, 1);
    fx.sim.faults().clear_requests();
    // A change made through the world arrives as one watch event.
    world.add_pod(
        "poolboy",
        "added-1",
        "quay.io/x/tool:1.0",
        &[("app", "tool")],
    );
    loop {
        match next(&mut rx).await {
            Ok(WEvent::Apply(p)) if p.name_any() == "added-1" => break,
            Ok(WEvent::Init) => panic!("unexpected relist"),
            _ => {}
        }
    }
    // Compact history and drop watches: the watcher relists (new Init) and loses nothing.
    fx.sim.faults().compact_history();
    fx.sim.faults().drop_watches();
    world.add_pod(
        "poolboy",
        "added-2",
        "quay.io/x/tool:1.0",
        &[("app", "tool")],
    );
    let mut saw_init = false;
    let mut seen2 = false;
    while !(saw_init && seen2) {
        match next(&mut rx).await {
            Ok(WEvent::Init) => saw_init = true,
            Ok(WEvent::InitApply(p)) | Ok(WEvent::Apply(p)) if p.name_any() == "added-2" => {
                seen2 = true
            }
            _ => {}
        }
    }
    assert!(fx.sim.faults().list_count() >= 1, "410 forces a relist");
    // Dropped connections plus a burst of 500s: the watcher recovers.
    fx.sim.faults().fail_next(500, 3);
    fx.sim.faults().drop_watches();
    world.add_pod(
        "poolboy",
        "added-3",
        "quay.io/x/tool:1.0",
        &[("app", "tool")],
    );
    loop {
        match next(&mut rx).await {
            Ok(WEvent::Apply(p)) | Ok(WEvent::InitApply(p)) if p.name_any() == "added-3" => break,
            _ => {}
        }
    }
    // Only watching from here: no LIST requests while changes stream in.
    fx.sim.faults().clear_requests();
    fx.sim.faults().set_split_chunks(true);
    world.mutate(Res::Pod, "poolboy", "added-3", |p| {
        p["metadata"]["labels"]["touched"] = json!("yes");
    });
    loop {
        match next(&mut rx).await {
            Ok(WEvent::Apply(p)) if p.labels().get("touched").is_some() => break,
            _ => {}
        }
    }
    assert_eq!(
        fx.sim.faults().list_count(),
        0,
        "{:?}",
        fx.sim.faults().requests()
    );
    task.abort();
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_bookmarks_and_expired_error_event() {
    let fx = fixture("calm", 1.0).await;
    fx.sim.set_bookmark_interval(Duration::from_millis(100));
    let pods: Api<Pod> = Api::all(fx.client.clone());
    let list = pods.list(&ListParams::default()).await.expect("list");
    let rv = list.metadata.resource_version.expect("rv");
    let wp = kube::api::WatchParams::default().timeout(5);
    let mut s = pods.watch(&wp, &rv).await.expect("watch").boxed();
    let ev = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("bookmark in time")
        .expect("open")
        .expect("ok");
    assert!(matches!(ev, kube::api::WatchEvent::Bookmark(_)), "{ev:?}");
    drop(s);
    fx.sim.faults().compact_history();
    fx.sim.world().add_pod("default", "x", "busybox:1", &[]);
    let mut s = pods.watch(&wp, &rv).await.expect("watch").boxed();
    let ev = s.next().await.expect("one event").expect("decoded");
    match ev {
        kube::api::WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected 410 ERROR event, got {other:?}"),
    }
    assert!(s.next().await.is_none(), "stream closes after the 410");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_ends_with_initial_events_bookmark() {
    let fx = fixture("incident", 1.0).await;
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), NS);
    let cfg = watcher::Config::default().streaming_lists();
    let mut s = std::pin::pin!(watcher::watcher(pods, cfg));
    let mut applied = 0;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("event in time")
            .expect("open")
            .expect("ok");
        match ev {
            WEvent::InitApply(_) => applied += 1,
            WEvent::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(applied, fx.sim.world().list(Res::Pod, Some(NS)).len());
    assert_eq!(
        fx.sim.faults().list_count(),
        0,
        "no LIST with streaming lists"
    );
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_claims_as_dynamic_objects() {
    let fx = fixture("incident", 1.0).await;
    let gvk = GroupVersionKind::gvk("poolboy.gpte.redhat.com", "v1", "ResourceClaim");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "resourceclaims");
    let claims: Api<DynamicObject> = Api::all_with(fx.client.clone(), &ar);
    let list = claims.list(&ListParams::default()).await.expect("claims");
    assert!(list.items.len() >= 4);
    let stuck = list
        .items
        .iter()
        .find(|c| {
            c.data["status"]["resources"][0]["state"]["spec"]["vars"]["current_state"]
                == "provisioning"
        })
        .expect("a provisioning claim");
    assert!(stuck.data["status"]["lifespan"].get("firstReady").is_none());
    let age = time::OffsetDateTime::now_utc().unix_timestamp()
        - stuck.creation_timestamp().expect("created").0.as_second();
    assert!(
        (3 * 3600 - 120..3 * 3600 + 120).contains(&age),
        "about 3h old: {age}"
    );
    assert!(
        list.items
            .iter()
            .any(|c| c.data["status"]["approval"]["state"] == "pending")
    );
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_tail_follow_and_errors() {
    let fx = fixture("incident", 1.0).await;
    let world = fx.sim.world();
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), "babylon-catalog");
    let pod = world
        .list(Res::Pod, Some("babylon-catalog"))
        .into_iter()
        .find(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("babylon-catalog-api")
        })
        .expect("api pod");
    let name = pod["metadata"]["name"].as_str().expect("name").to_string();
    // Multi-container pod without a container: 400 with the apiserver's message.
    let err = pods
        .logs(&name, &LogParams::default())
        .await
        .expect_err("needs container");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 400);
            assert!(
                s.message.starts_with(&format!(
                    "a container name must be specified for pod {name}, choose one of: ["
                )),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let lp = LogParams {
        container: Some("babylon-catalog-api".into()),
        tail_lines: Some(3),
        timestamps: true,
        ..Default::default()
    };
    let text = pods.logs(&name, &lp).await.expect("logs");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for l in &lines {
        let (ts, rest) = l.split_once(' ').expect("timestamp prefix");
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok()
        );
        assert!(rest.contains("\"level\""), "json lines: {rest}");
    }
    // follow: two tail lines, then new lines arrive over time.
    let lp = LogParams {
        container: Some("babylon-catalog-api".into()),
        tail_lines: Some(2),
        follow: true,
        ..Default::default()
    };
    let stream = pods.log_stream(&name, &lp).await.expect("log stream");
    let mut lines = stream.lines();
    let mut got = 0;
    let read = async {
        while let Some(l) = lines.try_next().await.expect("line") {
            assert!(!l.is_empty());
            got += 1;
            if got == 5 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("followed lines");
    assert_eq!(got, 5);
    // Crash-looping pod: previous logs show the error.
    let bad = world
        .list(Res::Pod, Some(NS))
        .into_iter()
        .find(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or("")
                .ends_with(":7.0.0")
        })
        .expect("crashing pod");
    let bad_name = bad["metadata"]["name"].as_str().expect("name").to_string();
    let v2: Api<Pod> = Api::namespaced(fx.client.clone(), NS);
    let prev = v2
        .logs(
            &bad_name,
            &LogParams {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .expect("previous logs");
    assert!(prev.contains("tenant_id"), "{prev}");
    // Ending follow streams early: the stream just closes.
    let stream = pods.log_stream(&name, &lp).await.expect("log stream");
    fx.sim.faults().end_log_streams();
    let mut lines = stream.lines();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while lines.try_next().await.expect("line").is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "follow stream ended");
    fx.sim.shutdown().await;
}

fn template_image(d: &serde_json::Value) -> String {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_scale_and_rollback() {
    let fx = fixture("incident", 20.0).await;
    let world = fx.sim.world();
    let deploys: Api<Deployment> = Api::namespaced(fx.client.clone(), "poolboy");
    // Merge patch on metadata: RV bumps, generation does not.
    let before = deploys.get("poolboy").await.expect("get");
    let after = deploys
        .patch(
            "poolboy",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "sre"}}})),
        )
        .await
        .expect("merge");
    assert_ne!(before.resource_version(), after.resource_version());
    assert_eq!(before.metadata.generation, after.metadata.generation);
    // dryRun changes nothing.
    let dry = deploys
        .patch(
            "poolboy",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"spec": {"replicas": 9}})),
        )
        .await
        .expect("dry run");
    assert_eq!(dry.spec.as_ref().and_then(|s| s.replicas), Some(9));
    assert_eq!(
        world.get(Res::Deployment, "poolboy", "poolboy").expect("d")["spec"]["replicas"],
        1
    );
    // Strategic (kubectl rollout restart's shape) → new ReplicaSet, generation bump.
    let restarted = deploys
        .patch(
            "poolboy",
            &PatchParams { field_manager: Some("kubectl-rollout".into()), ..Default::default() },
            &Patch::Strategic(json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}}})),
        )
        .await
        .expect("strategic");
    assert_eq!(
        restarted.metadata.generation,
        before.metadata.generation.map(|g| g + 1)
    );
    wait_until(
        "a second poolboy ReplicaSet",
        Duration::from_secs(10),
        || world.list(Res::ReplicaSet, Some("poolboy")).len() == 2,
    )
    .await;
    // A strategic patch on an unnamed list is refused, not faked.
    let err = deploys
        .patch(
            "poolboy",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"template": {"spec": {"tolerations": [{"key": "x"}]}}}}),
            ),
        )
        .await
        .expect_err("list patch refused");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 422),
        "{err:?}"
    );
    // JSON patch (kubectl rollout undo's shape) on platform-v2-api back to revision 6's template.
    let v2: Api<Deployment> = Api::namespaced(fx.client.clone(), NS);
    let rs6 = world
        .list(Res::ReplicaSet, Some(NS))
        .into_iter()
        .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "6")
        .expect("revision 6");
    let mut tmpl = rs6["spec"]["template"].clone();
    if let Some(l) = tmpl["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    let p: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/template", "value": tmpl},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "7"}}
    ]))
    .expect("patch");
    v2.patch(
        "platform-v2-api",
        &PatchParams::default(),
        &Patch::Json::<()>(p),
    )
    .await
    .expect("json patch");
    wait_until(
        "rollback to revision 6 heals",
        Duration::from_secs(20),
        || {
            let d = world
                .get(Res::Deployment, NS, "platform-v2-api")
                .expect("d");
            let rs = world
                .get(
                    Res::ReplicaSet,
                    NS,
                    rs6["metadata"]["name"].as_str().unwrap_or(""),
                )
                .expect("rs");
            d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "8"
                && rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "6"
                && d["status"]["updatedReplicas"] == 3
                && d["status"]["readyReplicas"] == 3
                && d["status"]["replicas"] == 3
                && d["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
        },
    )
    .await;
    assert_eq!(
        template_image(
            &world
                .get(Res::Deployment, NS, "platform-v2-api")
                .expect("d")
        ),
        "quay.io/gpte/platform-v2-api:6.3.1"
    );
    // Scale subresource.
    let scale = v2.get_scale("platform-v2-api").await.expect("scale");
    assert_eq!(
        scale
            .status
            .as_ref()
            .and_then(|s| s.selector.clone())
            .as_deref(),
        Some("app=platform-v2-api")
    );
    v2.patch_scale(
        "platform-v2-api",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 5}})),
    )
    .await
    .expect("patch scale");
    wait_until("5 ready replicas", Duration::from_secs(20), || {
        let d = world
            .get(Res::Deployment, NS, "platform-v2-api")
            .expect("d");
        d["status"]["readyReplicas"] == 5 && d["status"]["replicas"] == 5
    })
    .await;
    // Stale resourceVersion on replace_scale → 409.
    let mut stale = v2.get_scale("platform-v2-api").await.expect("scale");
    stale.metadata.resource_version = Some("1".into());
    let err = v2
        .replace_scale("platform-v2-api", &PostParams::default(), &stale)
        .await
        .expect_err("conflict");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_delete_and_events() {
    let fx = fixture("incident", 1.0).await;
    let world = fx.sim.world();
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), "poolboy");
    let name = world.list(Res::Pod, Some("poolboy"))[0]["metadata"]["name"]
        .as_str()
        .expect("n")
        .to_string();
    let res = pods
        .delete(&name, &DeleteParams::default().grace_period(30))
        .await
        .expect("delete");
    let pod = res.left().expect("graceful delete returns the pod");
    assert!(pod.metadata.deletion_timestamp.is_some());
    assert_eq!(pod.metadata.deletion_grace_period_seconds, Some(30));
    assert!(
        world.get(Res::Pod, "poolboy", &name).is_some(),
        "still terminating"
    );
    world.finish_deletions();
    assert!(world.get(Res::Pod, "poolboy", &name).is_none());
    wait_until("a replacement pod", Duration::from_secs(10), || {
        world
            .list(Res::Pod, Some("poolboy"))
            .iter()
            .any(|p| p["metadata"].get("deletionTimestamp").is_none())
    })
    .await;
    // Grace 0: gone at once.
    let name2 = world
        .list(Res::Pod, Some("poolboy"))
        .into_iter()
        .find(|p| p["metadata"].get("deletionTimestamp").is_none())
        .and_then(|p| p["metadata"]["name"].as_str().map(String::from))
        .expect("pod");
    pods.delete(&name2, &DeleteParams::default().grace_period(0))
        .await
        .expect("forced");
    assert!(world.get(Res::Pod, "poolboy", &name2).is_none());
    // Events: BackOff for the crash-looping operator, field selectors.
    let events: Api<Event> = Api::namespaced(fx.client.clone(), "anarchy-operator");
    let evs = events
        .list(&ListParams::default().fields("involvedObject.kind=Pod,reason=BackOff"))
        .await
        .expect("events");
    assert!(evs.items.iter().any(|e| {
        e.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Back-off restarting failed container"))
    }));
    // Unknown pod → 404 Status.
    let err = pods.get("nope").await.expect_err("404");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"),
        "{err:?}"
    );
    fx.sim.shutdown().await;
}

async fn can(client: &Client, verb: &str, group: &str, resource: &str, ns: &str) -> bool {
    let ssar = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.into()),
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &ssar)
        .await
        .expect("ssar")
        .status
        .map(|s| s.allowed)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_reviews_and_forbidden_verbs() {
    let fx = fixture("incident", 1.0).await;
    assert!(can(&fx.client, "patch", "apps", "deployments", NS).await);
    fx.sim.world().deny("delete", "", "pods", "*");
    assert!(!can(&fx.client, "delete", "", "pods", NS).await);
    assert!(can(&fx.client, "patch", "apps", "deployments", NS).await);
    let pods: Api<Pod> = Api::namespaced(fx.client.clone(), "poolboy");
    let name = fx.sim.world().list(Res::Pod, Some("poolboy"))[0]["metadata"]["name"]
        .as_str()
        .expect("n")
        .to_string();
    let err = pods
        .delete(&name, &DeleteParams::default())
        .await
        .expect_err("403");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 403 && s.reason == "Forbidden"),
        "{err:?}"
    );
    // Injected 403 then normal service; an injected 429 shows in the request log.
    fx.sim.faults().fail_next(403, 1);
    assert!(pods.list(&ListParams::default()).await.is_err());
    assert!(pods.list(&ListParams::default()).await.is_ok());
    fx.sim.faults().fail_next(429, 1);
    let _ = pods.list(&ListParams::default()).await;
    assert!(fx.sim.faults().requests().iter().any(|r| r.status == 429));
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_log_file_has_one_json_line_per_request() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("requests.jsonl");
    let sim = Sim::start(
        Scenario::builtin("calm").expect("calm"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: Some(log.clone()),
            speed: 1.0,
        },
    )
    .await
    .expect("start");
    let path = dir.path().join("kc");
    sim.write_kubeconfig(&path, "c").expect("kc");
    let cfg = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path).expect("kc"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("cfg");
    let client = Client::try_from(cfg).expect("client");
    let pods: Api<Pod> = Api::all(client);
    pods.list(&ListParams::default()).await.expect("list");
    let _ = pods.get_opt("missing").await;
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["method"], "GET");
    assert_eq!(lines[0]["path"], "/api/v1/pods");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["verb"], "list");
    assert_eq!(sim.faults().list_count(), 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_scenario_starts_fast_and_pages() {
    let started = std::time::Instant::now();
    let fx = fixture("large", 1.0).await;
    let startup = started.elapsed();
    assert!(
        startup < Duration::from_secs(20),
        "large scenario startup took {startup:?}"
    );
    assert_eq!(fx.sim.world().count(Res::Pod), 10_000);
    let pods: Api<Pod> = Api::all(fx.client.clone());
    let t = std::time::Instant::now();
    let mut n = 0;
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = pods.list(&lp).await.expect("page");
        n += page.items.len();
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(n, 10_000);
    eprintln!(
        "large: startup {startup:?}, full paged list {:?}",
        t.elapsed()
    );
    fx.sim.shutdown().await;
}
