//! The simulator's platform kinds (issue 16) against stock kubectl and raw HTTP: apply of
//! Jobs, CronJobs, HPAs, Secrets, Ingresses and cert-manager Certificates from JSON and YAML,
//! server-side Tables with kubectl's columns, `kubectl create namespace` (a protobuf body),
//! `kubectl top` over the metrics API, and 404s for what the cluster does not serve.

use crate::sim_kubectl::Kubectl;
use crate::support::wait::until as wait_until;
use std::time::Duration;

use serde_json::{Value, json};
use watchfloor_sim::{Res, Scenario};

const NS: &str = "platform-test";

/// One manifest per new kind, in namespace `NS`.
fn manifests() -> Vec<(Res, &'static str, Value)> {
    let container = json!({"name": "main", "image": "registry.example.com/tools/report:1.0"});
    vec![
        (
            Res::Job,
            "jobs",
            json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "report", "namespace": NS},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}),
        ),
        (
            Res::CronJob,
            "cronjobs",
            json!({"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "nightly", "namespace": NS},
                "spec": {"schedule": "*/15 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "OnFailure", "containers": [container]}}}}}}),
        ),
        (
            Res::HorizontalPodAutoscaler,
            "hpa",
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": 4,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70}}}]}}),
        ),
        (
            Res::Secret,
            "secrets",
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds", "namespace": NS},
                "type": "Opaque", "stringData": {"user": "backup"}}),
        ),
        (
            Res::Ingress,
            "ingresses",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
                    "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                        "backend": {"service": {"name": "web", "port": {"number": 8080}}}}]}}]}}),
        ),
        (
            Res::Certificate,
            "certificates",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"secretName": "web-tls", "dnsNames": ["web.example.com"],
                    "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"}}}),
        ),
    ]
}

/// A manifest as block-style YAML (kubectl reads both; YAML is what people write). Scalars
/// are written as JSON scalars, which YAML reads the same.
fn yaml(v: &Value) -> String {
    fn block(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match x {
                        Value::Object(o) if !o.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            block(x, indent + 2, out);
                        }
                        Value::Array(a) if !a.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            block(x, indent, out);
                        }
                        _ => out.push_str(&format!("{pad}{k}: {x}\n")),
                    }
                }
            }
            Value::Array(a) => {
                for x in a {
                    let mut item = String::new();
                    block(x, indent + 2, &mut item);
                    // The first line of the item goes after the dash.
                    let item = item.trim_start();
                    if x.is_object() || x.is_array() {
                        out.push_str(&format!("{pad}- {item}"));
                    } else {
                        out.push_str(&format!("{pad}- {x}\n"));
                    }
                }
            }
            scalar => out.push_str(&format!("{pad}{scalar}\n")),
        }
    }
    let mut out = String::new();
    block(v, 0, &mut out);
    out
}

fn renamed(v: &Value, suffix: &str) -> Value {
    let mut v = v.clone();
    let name = format!("{}-{suffix}", v["metadata"]["name"].as_str().unwrap_or(""));
    v["metadata"]["name"] = json!(name);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_json_and_yaml_of_each_new_kind() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    // `kubectl create namespace` sends its body as protobuf.
    let out = k.ok(&["create", "namespace", NS]).await;
    assert!(out.contains(&format!("namespace/{NS} created")), "{out}");
    assert!(world.get(Res::Namespace, "", NS).is_some());
    for (res, plural, manifest) in manifests() {
        for (suffix, text) in [
            ("json", renamed(&manifest, "json").to_string()),
            ("yaml", yaml(&renamed(&manifest, "yaml"))),
        ] {
            let name = format!(
                "{}-{suffix}",
                manifest["metadata"]["name"].as_str().unwrap_or("")
            );
            let file = k.dir.path().join(format!("{plural}-{suffix}.{suffix}"));
            std::fs::write(&file, &text).expect("write manifest");
            let path = file.to_str().expect("utf-8 path");
            let out = k.ok(&["apply", "-f", path]).await;
            assert!(out.contains("created"), "{plural} {suffix}: {out}");
            assert!(world.get(res, NS, &name).is_some(), "{res:?} {name} stored");
            // A second apply is kubectl's client-side apply patch: unchanged.
            let out = k.ok(&["apply", "-f", path]).await;
            assert!(
                out.contains("unchanged") || out.contains("configured"),
                "{out}"
            );
            let got = k.ok(&["get", plural, &name, "-n", NS]).await;
            assert!(
                got.lines().next().unwrap_or("").starts_with("NAME"),
                "{got}"
            );
            assert!(got.contains(&name), "{got}");
        }
    }
    // A changed manifest is a strategic merge patch (an Ingress's rules are replaced whole).
    let mut ingress = renamed(&manifests()[4].2, "yaml");
    ingress["spec"]["rules"][0]["host"] = json!("www.example.com");
    let file = k.dir.path().join("ingress-changed.yaml");
    std::fs::write(&file, yaml(&ingress)).expect("write manifest");
    let out = k
        .ok(&["apply", "-f", file.to_str().expect("utf-8 path")])
        .await;
    assert!(out.contains("configured"), "{out}");
    let stored = world.get(Res::Ingress, NS, "web-yaml").expect("ingress");
    assert_eq!(stored["spec"]["rules"][0]["host"], "www.example.com");
    let secret = world.get(Res::Secret, NS, "creds-yaml").expect("secret");
    assert_eq!(
        secret["data"]["user"], "YmFja3Vw",
        "stringData is stored as data"
    );
    // The controllers take over: the Job completes, the Certificate is issued.
    wait_until("the applied Job completes", Duration::from_secs(30), || {
        world
            .get(Res::Job, NS, "report-json")
            .is_some_and(|j| j["status"]["succeeded"] == 1)
    })
    .await;
    let cert = world
        .get(Res::Certificate, NS, "web-json")
        .expect("certificate");
    assert_eq!(cert["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(cert["status"]["conditions"][0]["status"], "True");
    let tls = world.get(Res::Secret, NS, "web-tls").expect("tls secret");
    assert_eq!(tls["type"], "kubernetes.io/tls");
    let jobs = k.ok(&["get", "jobs", "-n", NS]).await;
    let header: Vec<&str> = jobs
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        "{jobs}"
    );
    assert!(
        jobs.lines()
            .any(|l| l.starts_with("report-json") && l.contains("Complete") && l.contains("1/1")),
        "{jobs}"
    );
    let certs = k.ok(&["get", "certs", "-n", NS]).await;
    let header: Vec<&str> = certs
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "READY", "SECRET", "AGE"], "{certs}");
    k.sim.shutdown().await;
}

/// The header words of each table kubectl printed for a multi-kind `get`.
fn headers(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("NAMESPACE") || l.starts_with("NAME "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_many_kinds_prints_kubectls_columns() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let out = k
        .ok(&["get", "pods,deploy,sts,cronjobs,hpa,nodes", "-A"])
        .await;
    let want = [
        "NAMESPACE NAME READY STATUS RESTARTS AGE",
        "NAMESPACE NAME READY UP-TO-DATE AVAILABLE AGE",
        "NAMESPACE NAME READY AGE",
        "NAMESPACE NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
        "NAMESPACE NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE",
        // kubectl keeps the (empty) NAMESPACE column for cluster-scoped kinds in a mixed -A get.
        "NAMESPACE NAME STATUS ROLES AGE VERSION",
    ];
    assert_eq!(headers(&out), want, "{out}");
    let row = |prefix: &str| {
        out.lines()
            .find(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ") == prefix)
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no row {prefix:?} in:\n{out}"))
    };
    assert!(
        row("babylon-backup cronjob.batch/babylon-db-backup").contains("0 2 * * * <none> False 0"),
        "{out}"
    );
    assert!(
        row("platform-v2-stable horizontalpodautoscaler.autoscaling/platform-v2-api")
            .contains("Deployment/platform-v2-api cpu: 160%/70% 2 3 3"),
        "{out}"
    );
    assert!(
        row("babylon-catalog statefulset.apps/babylon-catalog-redis").contains("3/3"),
        "{out}"
    );
    let node = out
        .lines()
        .find(|l| l.trim_start().starts_with("node/sim-node-2"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    assert!(node.starts_with("node/sim-node-2 Ready worker"), "{out}");
    let pods = k
        .ok(&["get", "pods", "-n", "platform-v1-exp", "-o", "wide"])
        .await;
    let header = pods.lines().next().unwrap_or("");
    for col in [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
    ] {
        assert!(header.contains(col), "{pods}");
    }
    assert!(
        pods.contains("ImagePullBackOff") || pods.contains("ErrImagePull"),
        "{pods}"
    );
    k.sim.shutdown().await;
}

async fn raw(k: &Kubectl, path: &str, accept: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new()
        .get(format!("http://{}{path}", k.sim.addr))
        .header("Accept", accept)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ctype, resp.text().await.expect("body"))
}

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_and_404s_over_raw_http() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let (code, _, body) = raw(&k, "/api/v1/pods?limit=5", TABLE).await;
    assert_eq!(code, 200, "{body}");
    let t: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["columnDefinitions"][0]["name"], "Name");
    assert_eq!(t["rows"].as_array().map(Vec::len), Some(5));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert!(t["metadata"]["continue"].is_string(), "pages like a list");
    let (_, _, body) = raw(
        &k,
        "/apis/batch/v1/namespaces/babylon-backup/cronjobs?includeObject=Object",
        TABLE,
    )
    .await;
    let t: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(t["rows"][0]["object"]["kind"], "CronJob");
    assert_eq!(t["rows"][0]["cells"][1], "0 2 * * *");
    // `kubectl get -w`: each watch event's object is a one-row Table.
    let (code, _, body) = raw(
        &k,
        "/apis/batch/v1/namespaces/babylon-backup/jobs?watch=1&timeoutSeconds=1",
        TABLE,
    )
    .await;
    assert_eq!(code, 200);
    let events: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    assert_eq!(events.len(), 2, "{body}");
    for e in &events {
        assert_eq!(e["type"], "ADDED");
        assert_eq!(e["object"]["kind"], "Table");
        assert_eq!(e["object"]["columnDefinitions"][1]["name"], "Status");
    }
    // Plain JSON still gets the list.
    let (_, _, body) = raw(&k, "/api/v1/nodes", "application/json").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["kind"],
        "NodeList"
    );
    // Unknown resources: a NotFound Status inside a served group version …
    let (code, ctype, body) = raw(
        &k,
        "/api/v1/namespaces/default/services",
        "application/json",
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let status: Value = serde_json::from_str(&body).expect("status");
    assert_eq!(status["reason"], "NotFound");
    let (code, _, _) = raw(
        &k,
        "/apis/apps/v1/namespaces/default/deployments/x/bogus",
        "application/json",
    )
    .await;
    assert_eq!(code, 404);
    // … and plain text outside them.
    let (code, ctype, body) = raw(&k, "/apis/example.com/v1/widgets", "application/json").await;
    assert_eq!((code, body.trim()), (404, "404 page not found"), "{ctype}");
    let out = k.run(&["get", "services", "-n", "default"]).await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("the server doesn't have a resource type \"services\""),
        "{}",
        out.stderr
    );
    // The CRD is there for clients that look.
    let crd = k
        .ok(&[
            "get",
            "crd",
            "certificates.cert-manager.io",
            "-o",
            "jsonpath={.spec.names.kind}",
        ])
        .await;
    assert_eq!(crd, "Certificate");
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_reads_the_metrics_api() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let pods = k.ok(&["top", "pods", "-A"]).await;
    let header: Vec<&str> = pods
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        "{pods}"
    );
    assert!(pods.contains("babylon-catalog-api"), "{pods}");
    let nodes = k.ok(&["top", "nodes"]).await;
    let header: Vec<&str> = nodes
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header[0], "NAME", "{nodes}");
    assert!(nodes.contains("sim-node-2"), "{nodes}");
    let metrics = k
        .sim
        .faults()
        .requests()
        .into_iter()
        .filter(|r| r.is_metrics())
        .count();
    assert_eq!(metrics, 2, "each top is one metrics request");
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_or_cert_manager_their_apis_are_gone() {
    let scenario = Scenario::builtin("incident")
        .expect("scenario")
        .with_metrics_api(false)
        .with_cert_manager(false);
    let Some(k) = Kubectl::start_with(scenario).await else {
        return;
    };
    let out = k.run(&["top", "pods", "-A"]).await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(
        out.stderr.contains("Metrics API not available"),
        "{}",
        out.stderr
    );
    let out = k.run(&["top", "nodes"]).await;
    assert!(
        !out.ok && out.stderr.contains("Metrics API not available"),
        "{}",
        out.stderr
    );
    for path in [
        "/apis/metrics.k8s.io/v1beta1/pods",
        "/apis/cert-manager.io/v1/certificates",
        "/apis/cert-manager.io/v1",
    ] {
        let (code, _, body) = raw(&k, path, "application/json").await;
        assert_eq!((code, body.trim()), (404, "404 page not found"), "{path}");
    }
    let (_, _, groups) = raw(&k, "/apis", "application/json").await;
    assert!(
        !groups.contains("cert-manager.io") && !groups.contains("metrics.k8s.io"),
        "{groups}"
    );
    let out = k.run(&["get", "certificates", "-A"]).await;
    assert!(!out.ok, "{}", out.stdout);
    // The TLS Secrets the Ingresses name are still there; the rest works.
    let secrets = k.ok(&["get", "secrets", "-n", "babylon-catalog"]).await;
    assert!(
        secrets.contains("babylon-catalog-ui-tls") && secrets.contains("kubernetes.io/tls"),
        "{secrets}"
    );
    k.ok(&["get", "pods,cronjobs,hpa", "-A"]).await;
    k.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_the_backup_fails_again() {
    let Some(k) = Kubectl::start("incident").await else {
        return;
    };
    let world = k.sim.world();
    let ns = "babylon-backup";
    let before = world
        .get(Res::CronJob, ns, "babylon-db-backup")
        .expect("cronjob");
    // `kubectl create job --from` sends the Job as protobuf.
    let out = k
        .ok(&[
            "create",
            "job",
            "-n",
            ns,
            "rerun",
            "--from=cronjob/babylon-db-backup",
        ])
        .await;
    assert!(out.contains("job.batch/rerun created"), "{out}");
    let job = world.get(Res::Job, ns, "rerun").expect("job");
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/redhat-gpte/babylon-db-backup:2.3.0"
    );
    wait_until(
        "the rerun fails as the nightly runs did",
        Duration::from_secs(30),
        || {
            world
                .get(Res::Job, ns, "rerun")
                .is_some_and(|j| j["status"]["failed"] == 1)
        },
    )
    .await;
    let after = world
        .get(Res::CronJob, ns, "babylon-db-backup")
        .expect("cronjob");
    assert_eq!(
        after["status"]["lastSuccessfulTime"], before["status"]["lastSuccessfulTime"],
        "still stale"
    );
    let jobs = k.ok(&["get", "jobs", "-n", ns]).await;
    assert!(
        jobs.lines()
            .any(|l| l.starts_with("rerun") && l.contains("Failed")),
        "{jobs}"
    );
    k.sim.shutdown().await;
}
