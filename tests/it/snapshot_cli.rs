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

const SECTIONS: [&str; 9] = [
    "pods",
    "deployments",
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
    let mut expected = vec!["target", "read_only", "collected_at"];
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
