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
    Case {
        name: "empty file",
        text: "\n\n   \n",
        line: 1,
        says: &["the file is empty", "[[targets]]"],
    },
    Case {
        name: "no targets",
        text: r#"
# only settings, no target
[ui]
theme = "dark"
"#,
        line: 1,
        says: &["key `targets`", "no [[targets]] configured"],
    },
    Case {
        name: "health timeout of zero",
        text: r#"
[[targets]]
name = "a"
[[targets.health]]
name = "api"
url = "http://api:8080/healthz"
timeout = "0s"
"#,
        line: 6,
        says: &["key `targets[0].health[0].timeout`", "positive duration"],
    },
    Case {
        name: "health interval of zero",
        text: r#"
[[targets]]
name = "a"
[[targets.health]]
name = "api"
url = "http://api:8080/healthz"
interval = "0ms"
"#,
        line: 6,
        says: &["key `targets[0].health[0].interval`", "not zero"],
    },
    Case {
        name: "prometheus refresh of zero",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
refresh = "0s"
"#,
        line: 5,
        says: &["key `targets[0].prometheus.refresh`", "positive duration"],
    },
    Case {
        name: "claims stuck_after of zero",
        text: r#"
[[targets]]
name = "a"
[[targets.claims]]
source = "crd"
group = "g"
version = "v1"
kind = "K"
plural = "ks"
stuck_after = "0s"
"#,
        line: 9,
        says: &[
            "key `targets[0].claims[0].stuck_after`",
            "positive duration",
        ],
    },
    Case {
        name: "redis refresh of zero",
        text: r#"
[[targets]]
name = "a"
[[targets.redis]]
name = "cache"
url = "redis://cache:6379"
refresh = "0s"
"#,
        line: 6,
        says: &["key `targets[0].redis[0].refresh`", "positive duration"],
    },
    Case {
        name: "postgres idle_in_transaction_after of zero",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db"
idle_in_transaction_after = "0s"
"#,
        line: 6,
        says: &[
            "key `targets[0].postgres[0].idle_in_transaction_after`",
            "positive duration",
        ],
    },
    Case {
        name: "SLO alert pair with a zero short window",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 0.999
ratio = "slo:error_ratio:rate{{window}}"
alerts = [{ severity = "page", factor = 14.4, long = "1h", short = "0s" }]
"#,
        line: 9,
        says: &[
            "key `targets[0].slo[0].alerts[0].short`",
            "positive duration",
        ],
    },
    Case {
        name: "SLO query without a window",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 0.999
errors = 'sum(rate(http_requests_total{code=~"5.."}[{{window}}]))'
total = 'sum(rate(http_requests_total[5m]))'
"#,
        line: 9,
        says: &["key `targets[0].slo[0].total`", "has no {{window}}"],
    },
    Case {
        name: "prometheus url that does not parse",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http//prometheus:9090"
"#,
        line: 4,
        says: &[
            "key `targets[0].prometheus.url`",
            "\"http//prometheus:9090\" is not a valid URL",
        ],
    },
    Case {
        name: "prometheus url without http",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "ftp://prometheus:9090"
"#,
        line: 4,
        says: &["key `targets[0].prometheus.url`", "must be http or https"],
    },
    Case {
        name: "health url that does not parse",
        text: r#"
[[targets]]
name = "a"
[[targets.health]]
name = "api"
url = "http://[::1/healthz"
"#,
        line: 5,
        says: &["key `targets[0].health[0].url`", "not a valid URL"],
    },
    Case {
        name: "health expect_status that is no HTTP status",
        text: r#"
[[targets]]
name = "a"
[[targets.health]]
name = "api"
url = "http://api/healthz"
expect_status = 42
"#,
        line: 6,
        says: &["key `targets[0].health[0].expect_status`", "100-599"],
    },
    Case {
        name: "redis url that does not parse",
        text: r#"
[[targets]]
name = "a"
[[targets.redis]]
name = "cache"
url = "redis://cache:notaport"
"#,
        line: 5,
        says: &["key `targets[0].redis[0].url`", "not a valid redis://"],
    },
    Case {
        name: "postgres dsn that does not parse",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db port=notaport"
"#,
        line: 5,
        says: &["key `targets[0].postgres[0].dsn`", "is not valid"],
    },
    Case {
        name: "postgres dsn with an unknown sslmode",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=db sslmode=sometimes"
"#,
        line: 5,
        says: &["key `targets[0].postgres[0].dsn`", "unknown sslmode"],
    },
    Case {
        name: "container regex that does not compile",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernetes"
namespace = "ns"
workload = "deploy/api"
container = "api(-proxy"
"#,
        line: 7,
        says: &[
            "key `targets[0].logs[0].container`",
            "not a valid container name or regex",
        ],
    },
    Case {
        name: "alertmanager receiver regex that does not compile",
        text: r#"
[[targets]]
name = "a"
[targets.alertmanager]
url = "http://127.0.0.1:9093"
receiver = "pager|(oncall"
"#,
        line: 5,
        says: &[
            "key `targets[0].alertmanager.receiver`",
            "not a valid regex",
        ],
    },
    Case {
        name: "bad kubernetes label selector",
        text: r#"
[[targets]]
name = "a"
[targets.kubernetes]
label_selector = "tier in (web, api"
"#,
        line: 4,
        says: &[
            "key `targets[0].kubernetes.label_selector`",
            "label selector \"tier in (web, api\"",
            "not closed",
        ],
    },
    Case {
        name: "bad logs selector",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
source = "kubernetes"
namespace = "ns"
selector = "app=platform api"
"#,
        line: 6,
        says: &["key `targets[0].logs[0].selector`", "label selector"],
    },
    Case {
        name: "empty operator selector",
        text: r#"
[[targets]]
name = "a"
[[targets.operators]]
name = "poolboy"
namespace = "poolboy"
selector = ""
"#,
        line: 6,
        says: &["key `targets[0].operators[0].selector`", "every pod"],
    },
    Case {
        name: "duplicate redis names",
        text: r#"
[[targets]]
name = "a"
[[targets.redis]]
name = "cache"
url = "redis://one:6379"
[[targets.redis]]
name = "cache"
url = "redis://two:6379"
"#,
        line: 7,
        says: &[
            "key `targets[0].redis[1].name`",
            "duplicate redis name \"cache\" (also targets[0].redis[0])",
        ],
    },
    Case {
        name: "duplicate postgres names",
        text: r#"
[[targets]]
name = "a"
[[targets.postgres]]
name = "db"
dsn = "host=one"
[[targets.postgres]]
name = "db"
dsn = "host=two"
"#,
        line: 7,
        says: &[
            "key `targets[0].postgres[1].name`",
            "duplicate postgres name",
        ],
    },
    Case {
        name: "duplicate health names",
        text: r#"
[[targets]]
name = "a"
[[targets.health]]
name = "api"
url = "http://one/healthz"
[[targets.health]]
name = "api"
url = "http://two/healthz"
"#,
        line: 7,
        says: &[
            "key `targets[0].health[1].name`",
            "duplicate health endpoint name",
        ],
    },
    Case {
        name: "duplicate SLO names",
        text: r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://prometheus:9090"
[[targets.slo]]
name = "availability"
objective = 0.999
ratio = "r{{window}}"
[[targets.slo]]
name = "availability"
objective = 0.99
ratio = "r{{window}}"
"#,
        line: 10,
        says: &["key `targets[0].slo[1].name`", "duplicate SLO name"],
    },
    Case {
        name: "duplicate unnamed claims",
        text: r#"
[[targets]]
name = "a"
[[targets.claims]]
source = "crd"
group = "g"
version = "v1"
kind = "K"
plural = "ks"
[[targets.claims]]
source = "crd"
group = "g"
version = "v1"
kind = "K"
plural = "ks"
namespaces = ["other"]
"#,
        line: 9,
        says: &[
            "key `targets[0].claims[1]`",
            "duplicate claims name \"ks.g\"",
            "give one a `name`",
        ],
    },
    Case {
        name: "duplicate logs names",
        text: r#"
[[targets]]
name = "a"
[[targets.logs]]
name = "api"
source = "file"
path = "/var/log/a.log"
[[targets.logs]]
name = "api"
source = "file"
path = "/var/log/b.log"
"#,
        line: 8,
        says: &["key `targets[0].logs[1].name`", "duplicate logs name"],
    },
    Case {
        name: "duplicate operator names",
        text: r#"
[[targets]]
name = "a"
[[targets.operators]]
name = "poolboy"
namespace = "poolboy"
selector = "app=poolboy"
[[targets.operators]]
name = "poolboy"
namespace = "other"
selector = "app=poolboy"
"#,
        line: 8,
        says: &[
            "key `targets[0].operators[1].name`",
            "duplicate operator name",
        ],
    },
    Case {
        name: "serve user without any key",
        text: r#"
[[targets]]
name = "a"
[serve]
[[serve.users]]
name = "bob"
role = "operator"
"#,
        line: 4,
        says: &[
            "key `serve.users[0]`",
            "has no `keys` and no `authorized_keys`",
        ],
    },
    Case {
        name: "serve key line that does not parse",
        text: r#"
[[targets]]
name = "a"
[[serve.users]]
name = "bob"
keys = ["ssh-ed25519 AAAAnotakey bob@laptop"]
"#,
        line: 5,
        says: &[
            "key `serve.users[0].keys[0]`",
            "not an OpenSSH public key line",
        ],
    },
    Case {
        name: "serve key listed for two users",
        text: r#"
[[targets]]
name = "a"
[[serve.users]]
name = "alice"
keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyDoX9gnOdULKtZwjseqdiU3+tFrnw0+UxVioVt5Fef alice@laptop"]
[[serve.users]]
name = "bob"
keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyDoX9gnOdULKtZwjseqdiU3+tFrnw0+UxVioVt5Fef bob@laptop"]
"#,
        line: 8,
        says: &[
            "key `serve.users[1].keys[0]`",
            "also listed for user \"alice\"",
        ],
    },
    Case {
        name: "serve listen that is not an address",
        text: r#"
[[targets]]
name = "a"
[serve]
listen = "bastion:2222"
[[serve.users]]
name = "alice"
keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyDoX9gnOdULKtZwjseqdiU3+tFrnw0+UxVioVt5Fef"]
"#,
        line: 4,
        says: &["key `serve.listen`", "is not an address and port"],
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

#[test]
fn empty_files_and_files_without_targets_are_blamed_on_line_1_column_1() {
    for text in ["", "\n", "# nothing yet\n", "[ui]\ntheme = \"light\"\n"] {
        let error = parse(Path::new("w.toml"), text).unwrap_err();
        assert_eq!((error.line, error.column), (1, 1), "{text:?}: {error}");
    }
}

#[test]
fn a_dsn_from_a_secret_file_is_checked_and_named_by_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("dsn");
    std::fs::write(&secret, "host=db port=notaport password=PLANTEDSECRET\n").unwrap();
    let text = format!(
        "[[targets]]\nname = \"a\"\n[[targets.postgres]]\nname = \"db\"\ndsn = {{ file = {:?} }}\n",
        secret.display().to_string()
    );
    let error = parse(Path::new("w.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("w.toml:5:"), "{error}");
    assert!(error.contains("is not valid"), "{error}");
    assert!(error.contains(&secret.display().to_string()), "{error}");
    assert!(!error.contains("PLANTEDSECRET"), "{error}");
    // Unresolvable secrets are not errors (they are warnings).
    let text = "[[targets]]\nname = \"a\"\n[[targets.postgres]]\nname = \"db\"\ndsn = { env = \"WATCHFLOOR_TEST_SURELY_UNSET_DSN\" }\n";
    parse(Path::new("w.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

#[cfg(feature = "demo")]
#[test]
fn simulated_databases_and_ordinary_urls_pass() {
    let text = r#"
[[targets]]
name = "a"
[targets.kubernetes]
label_selector = "app.kubernetes.io/part-of=babylon,tier notin (cache),!legacy"
[targets.prometheus]
url = "http://127.0.0.1:9090/"
[[targets.slo]]
name = "s"
objective = 0.99
good = 'sum(rate(ok[{{ window }}]))'
total = 'sum(rate(all[{{window}}]))'
[[targets.health]]
name = "h"
url = "https://h.example.com:8443/healthz?verbose=1"
[[targets.postgres]]
name = "sim-db"
dsn = "simulated+http://127.0.0.1:4000"
[[targets.postgres]]
name = "url-db"
dsn = "postgres://app@db.internal:5432/app?sslmode=verify-full&sslrootcert=/ca.pem"
[[targets.redis]]
name = "sim-cache"
url = "simulated+http://127.0.0.1:4000"
[[targets.redis]]
name = "tls-cache"
url = "rediss://:pw@cache.internal:6380/1"
[[targets.logs]]
source = "kubernetes"
namespace = "ns"
selector = "app=api"
container = "api|.*-proxy"
"#;
    parse(Path::new("w.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

/// Without the `demo` feature a simulated address is a config error that says why, for a
/// database and for a cache alike.
#[cfg(not(feature = "demo"))]
#[test]
fn a_simulated_address_without_the_simulator_is_a_config_error() {
    for entry in [
        "[[targets.postgres]]\nname = \"sim-db\"\ndsn = \"simulated+http://127.0.0.1:4000\"\n",
        "[[targets.redis]]\nname = \"sim-cache\"\nurl = \"simulated+http://127.0.0.1:4000\"\n",
    ] {
        let text = format!("[[targets]]\nname = \"t\"\n{entry}");
        let error = parse(Path::new("w.toml"), &text)
            .expect_err("no simulator in this build")
            .to_string();
        assert!(error.contains("the simulator is not built in"), "{error}");
    }
}

/// The demo builds its config in code; the same rules must accept it, and nothing in it may
/// warn.
#[cfg(feature = "demo")]
#[tokio::test]
async fn the_demo_config_passes_validation_without_warnings() {
    let scenario = watchfloor_sim::Scenario::builtin("incident").unwrap();
    let demo = watchfloor::demo::Demo::start(scenario).await.unwrap();
    let loaded = demo.loaded_config(&watchfloor::demo::LocalServers::default());
    let checked = watchfloor::config::validate_config(&loaded.config);
    let warnings = watchfloor::config::warnings(&loaded);
    demo.stop().await;
    checked.unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn check_config_rejects_what_would_fail_at_run_time_with_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("zero.toml");
    std::fs::write(
        &path,
        "[[targets]]\nname = \"a\"\n[[targets.health]]\nname = \"api\"\nurl = \"http://api/healthz\"\ntimeout = \"0s\"\n",
    )
    .unwrap();
    let output = watchfloor(home.path())
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    let location = format!(
        "{}:6:11: key `targets[0].health[0].timeout`:",
        path.display()
    );
    assert!(err.contains(&location), "{location} missing from:\n{err}");
}

/// Runs `check-config` on `text` with `KUBECONFIG` unset and no in-cluster environment; the
/// exit code and stdout.
fn check(home: &Path, text: &str) -> (Option<i32>, String, PathBuf) {
    let path = home.join("watchfloor.toml");
    std::fs::write(&path, text).unwrap();
    let output = watchfloor(home)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("WATCHFLOOR_TEST_UNSET_PASSWORD")
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let printed = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code(), printed, path)
}

#[test]
fn unset_secret_variables_and_unreadable_secret_files_are_warnings() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-secret");
    let text = format!(
        "[[targets]]\nname = \"a\"\n[[targets.postgres]]\nname = \"db\"\ndsn = \"host=db\"\npassword = {{ env = \"WATCHFLOOR_TEST_UNSET_PASSWORD\" }}\n[[targets.redis]]\nname = \"cache\"\nurl = {{ file = {:?} }}\n",
        missing.display().to_string()
    );
    let (code, printed, path) = check(home.path(), &text);
    assert_eq!(code, Some(0), "{printed}");
    let env_warning = format!(
        "warning: {}:6:12: key `targets[0].postgres[0].password`: environment variable WATCHFLOOR_TEST_UNSET_PASSWORD is not set",
        path.display()
    );
    assert!(
        printed.contains(&env_warning),
        "{env_warning} missing from:\n{printed}"
    );
    let file_warning = format!(
        "warning: {}:9:7: key `targets[0].redis[0].url`: cannot read secret file {}",
        path.display(),
        missing.display()
    );
    assert!(
        printed.contains(&file_warning),
        "{file_warning} missing from:\n{printed}"
    );
}

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u
  user: {}
contexts:
- name: prod
  context:
    cluster: c
    user: u
";

#[test]
fn a_missing_kubeconfig_is_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing-kubeconfig");
    let text = format!(
        "[[targets]]\nname = \"a\"\n[targets.kubernetes]\nkubeconfig = {:?}\n",
        missing.display().to_string()
    );
    let (code, printed, path) = check(home.path(), &text);
    assert_eq!(code, Some(0), "{printed}");
    let warning = format!(
        "warning: {}:4:14: key `targets[0].kubernetes.kubeconfig`:",
        path.display()
    );
    assert!(
        printed.contains(&warning),
        "{warning} missing from:\n{printed}"
    );
    assert!(printed.contains("cannot connect"), "{printed}");

    // The default one (~/.kube/config, HOME being the empty test home), also for a target
    // whose only Kubernetes source is a log stream.
    let (code, printed, path) = check(
        home.path(),
        "[[targets]]\nname = \"a\"\n[[targets.logs]]\nsource = \"kubernetes\"\nnamespace = \"ns\"\nselector = \"app=x\"\n",
    );
    assert_eq!(code, Some(0), "{printed}");
    let warning = format!(
        "warning: {}:1:1: key `targets[0].kubernetes`:",
        path.display()
    );
    assert!(
        printed.contains(&warning),
        "{warning} missing from:\n{printed}"
    );
    assert!(printed.contains(".kube/config"), "{printed}");
}

#[test]
fn a_context_missing_from_the_kubeconfig_is_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, KUBECONFIG).unwrap();
    let text = format!(
        "[[targets]]\nname = \"a\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"prd\"\n",
        kubeconfig.display().to_string()
    );
    let (code, printed, path) = check(home.path(), &text);
    assert_eq!(code, Some(0), "{printed}");
    let warning = format!(
        "warning: {}:5:11: key `targets[0].kubernetes.context`: context \"prd\" is not in kubeconfig {}",
        path.display(),
        kubeconfig.display()
    );
    assert!(
        printed.contains(&warning),
        "{warning} missing from:\n{printed}"
    );
    assert!(printed.contains("did you mean `prod`"), "{printed}");
    // The right context: nothing to warn about.
    let (code, printed, _) = check(
        home.path(),
        &text.replace("context = \"prd\"", "context = \"prod\""),
    );
    assert_eq!(code, Some(0), "{printed}");
    assert!(!printed.contains("warning"), "{printed}");
}

#[test]
fn check_config_never_prints_a_password_of_a_url() {
    let home = tempfile::tempdir().unwrap();
    let valid = r#"
[[targets]]
name = "a"
[targets.prometheus]
url = "http://user:PLANTEDSECRET@prometheus:9090"
[[targets.health]]
name = "api"
url = "https://api.example.com/healthz?token=PLANTEDSECRET"
[[targets.health]]
name = "basic"
url = "http://probe:PLANTEDSECRET@api.example.com/healthz"
"#;
    let (code, printed, _) = check(home.path(), valid);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("api.example.com"), "{printed}");
    assert!(
        !printed.contains("PLANTEDSECRET"),
        "secret printed:\n{printed}"
    );
    // Errors that quote the URL (or a DSN, or a Redis URL) redact it too.
    for broken in [
        valid.replace("@prometheus:9090", "@prom etheus:9090"),
        valid.replace("healthz?token", "healthz?x=1&token") + "timeout = \"0s\"\n",
        valid.replace("https://api", "ftp://api"),
        format!(
            "{valid}[[targets.postgres]]\nname = \"db\"\ndsn = \"postgres://u:PLANTEDSECRET@db:notaport/x\"\n"
        ),
        format!(
            "{valid}[[targets.postgres]]\nname = \"db\"\ndsn = \"host=db password=PLANTEDSECRET port=x\"\n"
        ),
        format!(
            "{valid}[[targets.redis]]\nname = \"c\"\nurl = \"redis://:PLANTEDSECRET@cache:notaport\"\n"
        ),
    ] {
        let (code, printed, _) = check(home.path(), &broken);
        assert_eq!(code, Some(2), "{broken}\n{printed}");
        assert!(
            !printed.contains("PLANTEDSECRET"),
            "secret printed:\n{printed}"
        );
    }
}
