//! Malformed configs are rejected with the file, line and key of the problem; the example config
//! and `check-config` behave as documented.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use watchfloor::config::parse;

/// A malformed config, the line its error must point at, and what the message must say.
struct Case {
    name: &'static str,
    /// The config text; a single leading newline is dropped so line 1 is the line after `r#"`.
    text: &'static str,
    line: usize,
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown top-level key",
        text: r#"
# comment
read_onyl = true
"#,
        line: 2,
        says: &[
            "key `read_onyl`",
            "unknown field",
            "did you mean `read_only`",
        ],
    },
    Case {
        name: "unknown key in [ui]",
        text: r#"
[ui]
max_fps = 30
them = "dark"
"#,
        line: 3,
        says: &["key `ui.them`", "did you mean `theme`"],
    },
    Case {
        name: "unknown key in [targets.kubernetes]",
        text: r#"
[[targets]]
name = "a"

[targets.kubernetes]
contxt = "prod"
"#,
        line: 5,
        says: &[
            "key `targets[0].kubernetes.contxt`",
            "did you mean `context`",
        ],
    },
    Case {
        name: "unknown key deep inside [[targets.postgres]]",
        text: r#"
[ui]
theme = "light"

[[targets]]
name = "first"

[[targets]]
name = "second"

[targets.kubernetes]
context = "c"

[[targets.postgres]]
name = "db"
dsn = { env = "DSN" }
long_runing_after = "5m"
"#,
        line: 16,
        says: &[
            "key `targets[1].postgres[0].long_runing_after`",
            "did you mean `long_running_after`",
        ],
    },
    Case {
        name: "unknown key in [[targets.logs]]",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernetes"
namspace = "ns"
selector = "app=x"
"#,
        line: 5,
        says: &[
            "key `targets[0].logs[0].namspace`",
            "did you mean `namespace`",
        ],
    },
    Case {
        name: "string where an integer belongs",
        text: r#"
[ui]
max_fps = "fast"
"#,
        line: 2,
        says: &["key `ui.max_fps`", "\"fast\"", "expected u32"],
    },
    Case {
        name: "string where an array belongs",
        text: r#"
[[targets]]
name = "a"
[targets.kubernetes]
namespaces = "default"
"#,
        line: 4,
        says: &[
            "key `targets[0].kubernetes.namespaces`",
            "expected a sequence",
        ],
    },
    Case {
        name: "bad theme variant",
        text: r#"
[ui]

theme = "darkk"
"#,
        line: 3,
        says: &[
            "key `ui.theme`:",
            "unknown variant `darkk`",
            "did you mean `dark`",
        ],
    },
    Case {
        name: "bad log source variant",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernets"
"#,
        line: 4,
        says: &[
            "key `targets[0].logs[0].source`:",
            "did you mean `kubernetes`",
        ],
    },
    Case {
        name: "unterminated string",
        text: r#"
[ui]
theme = "dark
max_fps = 30
"#,
        line: 2,
        says: &["string", "expected `\"`"],
    },
    Case {
        name: "missing `=`",
        text: r#"
[ui]
theme = "dark"
max_fps 30
"#,
        line: 3,
        says: &["expected `=`"],
    },
    Case {
        name: "duplicate key",
        text: r#"
[ui]
max_fps = 30
theme = "dark"
max_fps = 60
"#,
        line: 4,
        says: &["key `max_fps`", "duplicate key"],
    },
    Case {
        name: "duplicate table",
        text: r#"
[ui]
max_fps = 30

[ui]
theme = "dark"
"#,
        line: 4,
        says: &["key `ui`", "duplicate key"],
    },
    Case {
        name: "duplicate target name",
        text: r#"
[[targets]]
name = "prod"

[[targets]]
name = "prod"
"#,
        line: 5,
        says: &["key `targets[1].name`", "duplicate target name \"prod\""],
    },
    Case {
        name: "empty target name",
        text: r#"
[[targets]]
name = ""
"#,
        line: 2,
        says: &["key `targets[0].name`", "must not be empty"],
    },
    Case {
        name: "target without a name",
        text: r#"
[[targets]]
name = "a"

[[targets]]
protected = true
"#,
        line: 4,
        says: &["key `targets[1].name`", "missing field `name`"],
    },
    Case {
        name: "SLO objective above 1",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 1.5
ratio = "x"
"#,
        line: 7,
        says: &["key `targets[0].slo[0].objective`", "got 1.5"],
    },
    Case {
        name: "SLO objective zero",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
ratio = "x"
objective = 0.0
"#,
        line: 8,
        says: &["key `targets[0].slo[0].objective`", "got 0"],
    },
    Case {
        name: "SLO with both errors and ratio",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 0.999
errors = "e"
total = "t"
ratio = "r"
"#,
        line: 10,
        says: &["key `targets[0].slo[0].ratio`", "exactly one of"],
    },
    Case {
        name: "SLO without any query",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 0.999
errors = "e"
"#,
        line: 5,
        says: &["key `targets[0].slo[0]`:", "exactly one of"],
    },
    Case {
        name: "SLO without a prometheus section",
        text: r#"
[ui]
theme = "dark"

[[targets]]
name = "a"

[[targets.slo]]
name = "availability"
objective = 0.999
ratio = "r"
"#,
        line: 4,
        says: &[
            "key `targets[0].prometheus`",
            "needs a [targets.prometheus] section",
        ],
    },
    Case {
        name: "postgres warn_at >= crit_at",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db"
warn_at = 0.9
crit_at = 0.9
"#,
        line: 7,
        says: &[
            "key `targets[0].postgres[0].crit_at`",
            "warn_at 0.9 and crit_at 0.9",
        ],
    },
    Case {
        name: "postgres warn_at above the default crit_at",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db"
warn_at = 0.97
"#,
        line: 6,
        says: &["key `targets[0].postgres[0].warn_at`", "crit_at 0.95"],
    },
    Case {
        name: "crd claims without group and plural",
        text: r#"
[[targets]]
name = "a"

[[targets.claims]]
source = "crd"
version = "v1"
kind = "ResourceClaim"
"#,
        line: 4,
        says: &["key `targets[0].claims[0]`", "needs `group`, `plural`"],
    },
    Case {
        name: "sql claims naming an unknown database",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "platform-db"
dsn = "host=db"
[[targets.claims]]
source = "sql"
query = "SELECT 1"
database = "platfrom-db"
"#,
        line: 9,
        says: &[
            "key `targets[0].claims[0].database`",
            "\"platfrom-db\" names no [[targets.postgres]]",
            "did you mean `platform-db`",
        ],
    },
    Case {
        name: "kubernetes logs with both selector and workload",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernetes"
namespace = "ns"
selector = "app=x"
workload = "deploy/x"
"#,
        line: 7,
        says: &[
            "key `targets[0].logs[0].workload`",
            "exactly one of `selector` or `workload`",
        ],
    },
    Case {
        name: "kubernetes logs with a malformed workload",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernetes"
namespace = "ns"
workload = "statefulset/x"
"#,
        line: 6,
        says: &[
            "key `targets[0].logs[0].workload`",
            "\"statefulset/x\" must be deploy/NAME",
        ],
    },
    Case {
        name: "log buffer of zero lines",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "file"
path = "/var/log/app.log"
buffer_lines = 0
"#,
        line: 6,
        says: &["key `targets[0].logs[0].buffer_lines`", "at least 1"],
    },
    Case {
        name: "bad duration",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
timeout = "5 minutes-ish"
"#,
        line: 5,
        says: &[
            "key `targets[0].prometheus.timeout`",
            "\"5 minutes-ish\"",
            "expected a duration",
        ],
    },
    Case {
        name: "secret with both env and file",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = { env = "X", file = "y" }
"#,
        line: 5,
        says: &["key `targets[0].postgres[0].dsn`", "not both"],
    },
    Case {
        name: "secret with an unknown key",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = { envv = "X" }
"#,
        line: 5,
        says: &[
            "key `targets[0].postgres[0].dsn.envv`",
            "did you mean `env`",
        ],
    },
    Case {
        name: "max_fps of zero",
        text: r#"
[ui]
theme = "dark"
max_fps = 0
"#,
        line: 3,
        says: &["key `ui.max_fps`", "between 1 and 120, got 0"],
    },
];

#[test]
fn every_malformed_config_is_rejected_at_its_line_with_its_key() {
    assert!(CASES.len() >= 18);
    let path = Path::new("watchfloor.toml");
    let mut failures = Vec::new();
    for case in CASES {
        let text = case.text.strip_prefix('\n').unwrap_or(case.text);
        let error = match parse(path, text) {
            Ok(_) => {
                failures.push(format!("{}: parsed, expected an error", case.name));
                continue;
            }
            Err(error) => error,
        };
        let shown = error.to_string();
        let location = format!("watchfloor.toml:{}:{}: ", error.line, error.column);
        if error.line != case.line {
            failures.push(format!(
                "{}: line {}, expected {}: {shown}",
                case.name, error.line, case.line
            ));
        }
        if !shown.starts_with(&location) {
            failures.push(format!(
                "{}: does not start with {location:?}: {shown}",
                case.name
            ));
        }
        for needle in case.says {
            if !shown.contains(needle) {
                failures.push(format!("{}: lacks {needle:?}: {shown}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn case_names_are_distinct() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len());
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

#[test]
fn example_config_parses_with_three_targets() {
    let path = example_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let config = parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.targets.len(), 3);
}

/// The binary, with a private home so neither the user's config nor their log directory is used.
fn watchfloor(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watchfloor"));
    command
        .env_remove("WATCHFLOOR_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .stdin(std::process::Stdio::null());
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_config_accepts_the_example_and_lists_its_targets() {
    let home = tempfile::tempdir().unwrap();
    let output = watchfloor(home.path())
        .arg("check-config")
        .arg("config.example.toml")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    for name in ["babylon-prod", "platform", "insurance-api"] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
}

#[test]
fn check_config_locates_an_error_and_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("broken.toml");
    std::fs::write(&path, "[ui]\nmax_fps = 30\n\n[[targets]]\nnmae = \"a\"\n").unwrap();
    let output = watchfloor(home.path())
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    let location = format!("{}:5:1:", path.display());
    assert!(err.contains(&location), "{location} missing from:\n{err}");
    assert!(err.contains("did you mean `name`"), "{err}");
}

#[test]
fn without_any_config_the_binary_says_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    let output = watchfloor(home.path()).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    let searched = home.path().join("watchfloor/config.toml");
    assert!(
        err.contains(&searched.display().to_string()),
        "{} missing from:\n{err}",
        searched.display()
    );
    assert!(err.contains("config.example.toml"), "{err}");
}

#[test]
fn check_config_never_prints_a_literal_secret() {
    let home = tempfile::tempdir().unwrap();
    let valid = r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db user=watchfloor password=hunter2"
password = "hunter2"
"#;
    // The same secrets with an error after them, or in them: messages must not quote them.
    let invalid = format!("{valid}warn_at = 2.0\n");
    let unterminated = valid.replace("password = \"hunter2\"", "password = \"hunter2");
    for (text, code) in [(valid, 0), (&invalid, 2), (&unterminated, 2)] {
        let path = home.path().join("secret.toml");
        std::fs::write(&path, text).unwrap();
        let output = watchfloor(home.path())
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        let printed = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(code), "{printed}");
        assert!(!printed.contains("hunter2"), "secret printed:\n{printed}");
    }
}
