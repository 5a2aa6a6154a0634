//! `watchfloor snapshot`: the JSON shape is a stable interface, and exit codes carry meaning.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const CONFIG: &str = r#"
[[targets]]
name = "platform"
[targets.kubernetes]
context = "platform-admin"
[[targets.postgres]]
name = "db"
dsn = "host=127.0.0.1 port=1 password=hunter2"

[[targets]]
name = "bare"

[[targets]]
name = "observer"
read_only = true
"#;

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let config = dir.join("config.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_watchfloor"));
    command.arg("--config").arg(&config).args(args);
    command
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .env_remove("WATCHFLOOR_READ_ONLY")
        .env_remove("WATCHFLOOR_TARGET");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

const SECTIONS: [&str; 13] = [
    "pods",
    "deployments",
    "workloads",
    "nodes",
    "certificates",
    "events",
    "claims",
    "slo",
    "alerts",
    "health",
    "postgres",
    "redis",
    "logs",
];

#[test]
fn json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["snapshot"], &[]);
    let doc = json(&output);
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec!["target", "read_only", "collected_at", "platform"];
    expected.extend(SECTIONS);
    let mut sorted_keys = keys.clone();
    sorted_keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted_keys, expected);
    assert_eq!(doc["target"], "platform");
    assert_eq!(doc["read_only"], false);
    let collected_at = doc["collected_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(collected_at, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{collected_at}"
    );
    for name in SECTIONS {
        let section = &doc[name];
        let state = section["state"].as_str().unwrap();
        assert!(
            ["ok", "error", "unconfigured"].contains(&state),
            "{name}: {state}"
        );
        assert!(section["items"].is_array(), "{name}");
        assert_eq!(
            section.as_object().unwrap().len(),
            3,
            "{name} has exactly state, error, items"
        );
        if state == "error" {
            assert!(
                section["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{name}"
            );
        } else {
            assert!(section["error"].is_null(), "{name}");
        }
    }
    // Configured sources that did not answer are errors; the others are unconfigured.
    assert_eq!(doc["pods"]["state"], "error");
    for platform in ["workloads", "nodes", "certificates", "events"] {
        assert_eq!(
            doc[platform], doc["pods"],
            "{platform}: the cluster could not be reached"
        );
    }
    assert!(doc["platform"].is_null(), "no summary without the cluster");
    assert_eq!(doc["postgres"]["state"], "error");
    assert_eq!(doc["redis"]["state"], "unconfigured");
    assert_eq!(output.status.code(), Some(1), "a configured source failed");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}

#[test]
fn nothing_configured_is_success() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["snapshot", "--target", "bare"], &[]);
    let doc = json(&output);
    for name in SECTIONS {
        assert_eq!(doc[name]["state"], "unconfigured", "{name}");
    }
    assert!(doc["platform"].is_null());
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn read_only_is_reported_from_every_input() {
    let dir = tempfile::tempdir().unwrap();
    let doc = json(&run(
        dir.path(),
        &["snapshot", "--target", "bare", "--read-only"],
        &[],
    ));
    assert_eq!(doc["read_only"], true);
    let doc = json(&run(
        dir.path(),
        &["snapshot", "--target", "bare"],
        &[("WATCHFLOOR_READ_ONLY", "1")],
    ));
    assert_eq!(doc["read_only"], true);
    let doc = json(&run(
        dir.path(),
        &["snapshot", "--target", "observer"],
        &[("WATCHFLOOR_READ_ONLY", "0")],
    ));
    assert_eq!(
        doc["read_only"], true,
        "the environment cannot lift the config's read_only"
    );
}

#[test]
fn text_format_is_a_paste_ready_report() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["snapshot", "--format", "text"], &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("watchfloor · target platform · "),
        "{text}"
    );
    // Sources that failed are headlines, with the reason; the secret in the DSN is not printed.
    assert!(
        text.lines()
            .any(|l| l.starts_with("ERROR postgres not read: db: ") && l.contains("refused")),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    // No JSON in the text format, and nothing about sections that are not configured.
    assert!(!text.contains('{'), "{text}");
    assert!(!text.contains("redis"), "{text}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn usage_and_config_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let unknown_target = run(dir.path(), &["snapshot", "--target", "platfrom"], &[]);
    assert_eq!(unknown_target.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown_target.stderr).contains("did you mean platform?"));
    assert_eq!(
        run(dir.path(), &["snapshot", "--timeout", "soon"], &[])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(dir.path(), &["snapshot", "--format", "yaml"], &[])
            .status
            .code(),
        Some(2)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[targets]]\nname = \"x\"\nprotectd = true\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["snapshot", "--config"])
        .arg(&bad)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml:3:1") && stderr.contains("did you mean `protected`"),
        "{stderr}"
    );
}

#[test]
fn completions_and_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("check-config"));
    let output = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("watchfloor {}", env!("CARGO_PKG_VERSION"))
    );
    let output = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("Examples:"));
}

#[test]
fn console_refuses_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs a terminal"));
}

#[test]
fn completions_offer_the_configured_target_names() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["completions", "bash"], &[]);
    let script = String::from_utf8(output.stdout).unwrap();
    assert!(
        script.contains("compgen -W \"platform bare observer\""),
        "--target completes the config's targets"
    );
    assert!(
        script.contains("incident calm large flood"),
        "and --scenario the scenarios"
    );
}

/// A simulated cluster (the demo's incident) and `watchfloor snapshot` of a target watching it,
/// with the demo's backup CronJob named in `[[targets.backups]]`.
struct SimSnapshot {
    sim: watchfloor_sim::Sim,
    dir: tempfile::TempDir,
}

impl SimSnapshot {
    async fn start() -> Self {
        let sim = watchfloor_sim::Sim::start(
            watchfloor_sim::Scenario::builtin("incident").unwrap(),
            "127.0.0.1:0".parse().unwrap(),
            watchfloor_sim::SimOptions::default(),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "sim").unwrap();
        let config = format!(
            "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n\
             [[targets.backups]]\nnamespace = \"babylon-backup\"\ncronjob = \"babylon-db-backup\"\n\
             description = \"nightly PostgreSQL dump\"\n",
            kubeconfig.display().to_string()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Self { sim, dir }
    }

    async fn run(&self, format: &str) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(["snapshot", "--format", format, "--timeout", "20s"])
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path())
            .env_remove("WATCHFLOOR_READ_ONLY")
            .env_remove("WATCHFLOOR_TARGET")
            .output()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_sections_against_the_simulator() {
    let sim = SimSnapshot::start().await;
    let output = sim.run("json").await;
    let doc = json(&output);
    for name in ["workloads", "nodes", "certificates", "events"] {
        let section = &doc[name];
        assert_eq!(section["state"], "ok", "{name}: {section:#}");
        assert!(section["error"].is_null(), "{name}");
        assert!(section["items"].is_array(), "{name}");
        assert_eq!(section.as_object().unwrap().len(), 3, "{name}");
    }
    // Every workload item says its kind; StatefulSets and DaemonSets their rollout.
    for item in doc["workloads"]["items"].as_array().unwrap() {
        let kind = item["kind"].as_str().unwrap();
        assert!(
            [
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob",
                "HorizontalPodAutoscaler"
            ]
            .contains(&kind),
            "{item}"
        );
        for key in ["namespace", "name", "health", "state"] {
            assert!(item.get(key).is_some(), "{kind} items have {key}: {item}");
        }
    }
    // The simulator's nodes, with their conditions and what their pods request.
    let nodes = doc["nodes"]["items"].as_array().unwrap();
    assert_eq!(
        nodes.len(),
        sim.sim.world().count(watchfloor_sim::Res::Node)
    );
    let requested: u64 = nodes.iter().map(|n| n["pods"].as_u64().unwrap()).sum();
    assert!(
        requested > 0,
        "the pods are counted on their nodes: {nodes:#?}"
    );
    for key in [
        "name",
        "health",
        "state",
        "ready",
        "problems",
        "unschedulable",
        "cpu",
        "memory",
    ] {
        assert!(nodes[0].get(key).is_some(), "nodes items have {key}");
    }
    // Pods carry their requests and limits; usage when the metrics API answers.
    let pod = &doc["pods"]["items"][0];
    for key in ["requests", "limits", "usage"] {
        assert!(pod.get(key).is_some(), "pods items have {key}: {pod}");
    }
    // The summary: its headline, counts, the backup's verdict, and the metrics API's state
    // said once.
    let platform = &doc["platform"];
    assert!(platform["headline"].is_array(), "{platform:#}");
    assert!(platform["counts"].is_object(), "{platform:#}");
    assert_eq!(platform["backups"][0]["cronjob"], "babylon-db-backup");
    assert!(
        ["ok", "missing"].contains(&platform["metrics"]["state"].as_str().unwrap()),
        "{platform:#}"
    );
    assert_eq!(output.status.code(), Some(0), "every section answered");
    sim.sim.shutdown().await;
}

/// The demo incident's platform objects (a stale backup, a certificate 5 days from expiry, a
/// node under DiskPressure, an HPA at max) in the snapshot, both formats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_platform_objects_are_in_the_snapshot() {
    let sim = SimSnapshot::start().await;
    let doc = json(&sim.run("json").await);
    let workloads = doc["workloads"]["items"].as_array().unwrap();
    let backup = workloads
        .iter()
        .find(|w| w["kind"] == "CronJob" && w["name"] == "babylon-db-backup")
        .unwrap_or_else(|| panic!("no backup CronJob: {workloads:#?}"));
    assert_eq!(backup["namespace"], "babylon-backup");
    assert_eq!(backup["backup"], true);
    assert_eq!(backup["stale"], true, "{backup}");
    assert_eq!(backup["health"], "crit");
    assert!(backup["schedule"].is_string() && backup["last_success"].is_string());
    assert!(
        workloads
            .iter()
            .any(|w| w["kind"] == "HorizontalPodAutoscaler" && w["at_max"] == true),
        "{workloads:#?}"
    );
    let certificates = doc["certificates"]["items"].as_array().unwrap();
    let expiring = &certificates[0];
    assert_eq!(expiring["health"], "warn", "{certificates:#?}");
    let left = expiring["expires_in_seconds"].as_i64().unwrap();
    assert!(
        (4 * 86_400..=5 * 86_400 + 3600).contains(&left),
        "{expiring}"
    );
    let nodes = doc["nodes"]["items"].as_array().unwrap();
    assert_eq!(nodes[0]["health"], "crit", "worst first: {nodes:#?}");
    assert!(
        nodes[0]["problems"]
            .as_array()
            .unwrap()
            .contains(&"DiskPressure".into()),
        "{nodes:#?}"
    );
    let headline: Vec<&str> = doc["platform"]["headline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(headline.contains(&"backups: 1 stale"), "{headline:?}");
    assert!(
        headline
            .iter()
            .any(|h| h.starts_with("certs: 1 expiring in ")),
        "{headline:?}"
    );
    assert!(headline.contains(&"nodes: 1 DiskPressure"), "{headline:?}");
    assert!(headline.contains(&"HPA: 1 at max"), "{headline:?}");
    assert_eq!(doc["platform"]["backups"][0]["state"], "stale");

    let text = String::from_utf8(sim.run("text").await.stdout).unwrap();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{text}"))
    };
    assert!(
        line("platform: backups: 1 stale").starts_with("CRIT "),
        "{text}"
    );
    assert!(
        line("backup babylon-backup/babylon-db-backup (nightly PostgreSQL dump): stale")
            .starts_with("CRIT "),
        "{text}"
    );
    assert!(
        line("node sim-node-2: DiskPressure").starts_with("CRIT  node "),
        "{text}"
    );
    assert!(
        line("HPA platform-v2-stable/platform-v2-api at max").starts_with("WARN  HPA "),
        "{text}"
    );
    assert!(line("certificate ").starts_with("WARN "), "{text}");
    sim.sim.shutdown().await;
}
