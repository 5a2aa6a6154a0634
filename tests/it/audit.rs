//! The audit trail: one whole, synced JSON line per step of every remediation attempt, written
//! with restrictive modes, failing closed, surviving writers killed mid-burst, mirrored to
//! PostgreSQL, and printed by `watchfloor audit`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use watchfloor::config::PostgresConfig;
use watchfloor::remediation::audit::{self, AuditLog, AuditMirror, AuditRecord, Operator, Outcome};
use watchfloor::remediation::{ActionKind, Place, WorkloadKind};

const FIELDS: [&str; 13] = [
    "time",
    "operator",
    "target",
    "place",
    "action",
    "object",
    "parameters",
    "preview",
    "outcome",
    "error",
    "duration_ms",
    "pids",
    "attempt",
];

fn operator() -> Operator {
    Operator {
        user: Some("alice".into()),
        ssh_client: Some("10.20.30.40".into()),
        kube_user: Some("platform-admin".into()),
        key: None,
    }
}

fn kube_place() -> Place {
    Place::Kubernetes {
        context: "prod-admin".into(),
        namespace: "platform-v2-stable".into(),
    }
}

fn restart() -> AuditRecord {
    AuditRecord::new(
        operator(),
        "platform",
        &kube_place(),
        &ActionKind::RolloutRestart {
            kind: WorkloadKind::Deployment,
            name: "platform-v2-api".into(),
        },
        "deployment/platform-v2-stable/platform-v2-api",
        Outcome::Planned,
    )
}

fn terminate(pid: i32) -> AuditRecord {
    AuditRecord::new(
        operator(),
        "platform",
        &Place::Postgres {
            entry: 0,
            database: "platform-db".into(),
        },
        &ActionKind::PgTerminate { pid },
        format!("pid {pid}"),
        Outcome::Planned,
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// One attempt per outcome: planned then succeeded, planned then failed, cancelled, denied.
fn every_outcome() -> Vec<AuditRecord> {
    let planned = restart().with_preview("server-side dry run: 1 deployment restarted");
    let succeeded = planned
        .then(Outcome::Succeeded)
        .with_duration(Duration::from_millis(412));
    let kill = terminate(4242).with_preview("1 session: idle in transaction for 2h");
    let failed = kill
        .then(Outcome::Failed)
        .with_error("must be a superuser to terminate superuser process (42501)")
        .with_duration(Duration::from_millis(9));
    let cancelled = terminate(77).then(Outcome::Cancelled);
    let denied = AuditRecord::new(
        operator(),
        "platform",
        &kube_place(),
        &ActionKind::Scale {
            name: "platform-v2-api".into(),
            from: Some(3),
            to: 0,
        },
        "deployment/platform-v2-stable/platform-v2-api",
        Outcome::Denied,
    )
    .with_error("read-only: --read-only given");
    vec![planned, succeeded, kill, failed, cancelled, denied]
}

#[test]
fn every_outcome_is_one_complete_json_line_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/watchfloor/audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.path(), path);
    assert_eq!(mode(&path), 0o600, "file mode");
    assert_eq!(mode(&dir.path().join("state")), 0o700, "new directory mode");
    assert_eq!(mode(&dir.path().join("state/watchfloor")), 0o700);
    assert_eq!(std::fs::read(&path).unwrap(), b"", "open writes nothing");

    let records = every_outcome();
    for (i, record) in records.iter().enumerate() {
        log.append(record).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), i + 1, "one line per append");
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let keys: Vec<&str> = last
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = FIELDS.to_vec();
        expected.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected, "{last}");
        assert_eq!(last["outcome"], audit::outcome_name(record.outcome));
    }
    assert_eq!(mode(&path), 0o600, "appending keeps the mode");

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "planned",
            "succeeded",
            "planned",
            "failed",
            "cancelled",
            "denied"
        ]
    );
    let (planned, succeeded) = (&lines[0], &lines[1]);
    assert_eq!(planned["attempt"], succeeded["attempt"]);
    assert_ne!(lines[0]["attempt"], lines[2]["attempt"]);
    assert_eq!(
        planned["operator"],
        json!({"user": "alice", "ssh_client": "10.20.30.40", "kube_user": "platform-admin", "key": null})
    );
    assert_eq!(
        planned["place"],
        json!({"kind": "kubernetes", "context": "prod-admin", "namespace": "platform-v2-stable"})
    );
    assert_eq!(
        planned["action"],
        json!({"action": "rollout_restart", "kind": "Deployment", "name": "platform-v2-api"})
    );
    assert_eq!(
        planned["object"],
        "deployment/platform-v2-stable/platform-v2-api"
    );
    assert_eq!(
        planned["preview"],
        "server-side dry run: 1 deployment restarted"
    );
    assert!(planned["error"].is_null() && planned["duration_ms"].is_null());
    assert_eq!(succeeded["duration_ms"], 412);
    assert!(succeeded["error"].is_null());
    let failed = &lines[3];
    assert_eq!(
        failed["error"],
        "must be a superuser to terminate superuser process (42501)"
    );
    assert_eq!(failed["duration_ms"], 9);
    assert_eq!(failed["object"], "pid 4242");
    assert_eq!(failed["parameters"], json!({"pid": 4242}));
    assert_eq!(
        failed["place"],
        json!({"kind": "postgres", "entry": 0, "database": "platform-db"})
    );
    assert!(lines[4]["duration_ms"].is_null() && lines[4]["error"].is_null());
    assert_eq!(lines[5]["error"], "read-only: --read-only given");
    for line in &lines {
        let time = line["time"].as_str().unwrap();
        // 2025-01-31T12:34:56.789Z
        assert_eq!(time.len(), 24, "{time}");
        assert!(time.ends_with('Z') && time.as_bytes()[19] == b'.', "{time}");
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    }

    let (read, unparsable) = audit::read(&path, None).unwrap();
    assert_eq!(unparsable, 0);
    assert_eq!(read, records);
}

#[test]
fn an_unwritable_trail_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let record = restart();

    // The parent is a regular file: even root cannot create a directory there.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("watchfloor/audit.jsonl");
    let error = AuditLog::open(&under_file).unwrap_err();
    assert!(error.contains(&under_file.display().to_string()), "{error}");
    assert!(error.contains("cannot create directory"), "{error}");

    // A directory where the file should be.
    let error = AuditLog::open(dir.path()).unwrap_err();
    assert!(error.contains("not a regular file"), "{error}");

    // procfs refuses new files, to root too.
    let error = AuditLog::open(Path::new("/proc/self/watchfloor-audit.jsonl")).unwrap_err();
    assert!(
        error.contains("/proc/self/watchfloor-audit.jsonl"),
        "{error}"
    );

    // Opened fine, then the trail becomes unwritable: append refuses, and a caller following
    // the contract does not act.
    let path = dir.path().join("trail/audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.append(&record).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let mut acted = false;
    let result = log.append(&record).map(|()| acted = true);
    let error = result.unwrap_err();
    assert!(!acted);
    assert!(error.contains(&path.display().to_string()), "{error}");
    std::fs::remove_dir(&path).unwrap();
    std::fs::remove_dir(path.parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap(), "now a file").unwrap();
    assert!(log.append(&record).is_err(), "a vanished directory");
}

#[test]
fn a_torn_last_line_is_counted_and_the_next_append_starts_a_fresh_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let records = every_outcome();
    for record in &records[..3] {
        log.append(record).unwrap();
    }
    let torn = records[3].to_line();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&torn[..torn.len() / 2]);
    std::fs::write(&path, &text).unwrap();

    let (read, unparsable) = audit::read(&path, None).unwrap();
    assert_eq!(read, records[..3]);
    assert_eq!(unparsable, 1);

    log.append(&records[4]).unwrap();
    let (read, unparsable) = audit::read(&path, None).unwrap();
    assert_eq!(read.len(), 4);
    assert_eq!(
        read[3], records[4],
        "the new line is whole, not glued to the torn one"
    );
    assert_eq!(unparsable, 1);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with('\n'));
}

#[test]
fn since_keeps_only_recent_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let now = SystemTime::now();
    let old = restart().at(now - Duration::from_secs(7200));
    let recent = terminate(1).at(now - Duration::from_secs(60));
    log.append(&old).unwrap();
    log.append(&recent).unwrap();
    let (read, unparsable) = audit::read(&path, Some(now - Duration::from_secs(3600))).unwrap();
    assert_eq!((read, unparsable), (vec![recent.clone()], 0));
    let (read, _) = audit::read(&path, None).unwrap();
    assert_eq!(read, [old, recent]);
    assert!(audit::read(&dir.path().join("missing.jsonl"), None).is_err());
}

// ---- writers killed during a burst -------------------------------------------------------------

const BURST_PATH: &str = "WATCHFLOOR_AUDIT_TEST_BURST_PATH";
const BURST_WRITER: &str = "WATCHFLOOR_AUDIT_TEST_BURST_WRITER";

/// Not a test on its own: run by `killed_writers_leave_only_whole_lines` in a child process,
/// where it appends numbered records until killed. Lines are longer than PIPE_BUF (4096) so an
/// unlocked writer could interleave.
#[test]
fn burst_writer_helper() {
    let (Some(path), Some(writer)) = (
        std::env::var_os(BURST_PATH),
        std::env::var(BURST_WRITER).ok(),
    ) else {
        return;
    };
    let log = AuditLog::open(Path::new(&path)).unwrap();
    let padding = writer.repeat(6000 / writer.len().max(1));
    for seq in 0u64.. {
        let record = restart()
            .with_parameters(json!({"writer": writer, "seq": seq}))
            .with_preview(padding.clone());
        log.append(&record).unwrap();
    }
}

/// Kills the writers when the test ends, however it ends.
struct Writers(Vec<Child>);

impl Drop for Writers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_writer(path: &Path, writer: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "audit::burst_writer_helper", "--nocapture"])
        .env(BURST_PATH, path)
        .env(BURST_WRITER, writer)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn per_writer(records: &[AuditRecord]) -> BTreeMap<String, Vec<u64>> {
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for record in records {
        let writer = record.parameters["writer"].as_str().unwrap().to_string();
        seqs.entry(writer)
            .or_default()
            .push(record.parameters["seq"].as_u64().unwrap());
    }
    seqs
}

#[test]
fn killed_writers_leave_only_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("burst/audit.jsonl");
    AuditLog::open(&path).unwrap();
    let mut writers = Writers(vec![spawn_writer(&path, "a"), spawn_writer(&path, "b")]);

    // Until both writers have written and the file holds more than 200 lines.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        for child in &mut writers.0 {
            assert!(
                child.try_wait().unwrap().is_none(),
                "a writer exited on its own"
            );
        }
        let (records, _) = audit::read(&path, None).unwrap();
        let seqs = per_writer(&records);
        if records.len() > 200 && seqs.len() == 2 && seqs.values().all(|s| s.len() >= 20) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} lines after 120 s",
            records.len()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for child in &mut writers.0 {
        child.kill().unwrap();
    }
    for child in &mut writers.0 {
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed, not finished: {status}");
    }

    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut pieces: Vec<&str> = text.split('\n').collect();
    // The text after the last newline: empty, or the torn line of a writer killed mid-write.
    let tail = pieces.pop().unwrap();
    let mut parsed = Vec::new();
    let mut torn = Vec::new();
    for line in pieces.into_iter().chain((!tail.is_empty()).then_some(tail)) {
        match serde_json::from_str::<AuditRecord>(line) {
            Ok(record) => parsed.push(record),
            Err(_) => torn.push(line),
        }
    }
    // Each writer dies at most once, so at most one torn line each; a torn line is the start
    // of ONE record, never two records interleaved.
    assert!(torn.len() <= 2, "{} unparsable lines", torn.len());
    for line in &torn {
        assert!(line.starts_with("{\"time\":"), "{line:.80}");
        assert_eq!(
            line.matches("{\"time\":").count(),
            1,
            "interleaved: {line:.80}"
        );
    }
    assert!(parsed.len() > 200);
    let seqs = per_writer(&parsed);
    assert_eq!(seqs.len(), 2);
    for (writer, seqs) in &seqs {
        let expected: Vec<u64> = (0..seqs.len() as u64).collect();
        assert_eq!(seqs, &expected, "writer {writer}: lost or reordered lines");
    }
    for record in &parsed {
        let writer = record.parameters["writer"].as_str().unwrap();
        let preview = record.preview.as_deref().unwrap();
        assert!(preview.len() >= 4096 && preview.chars().all(|c| c.to_string() == writer));
    }

    let (read, unparsable) = audit::read(&path, None).unwrap();
    assert_eq!(read, parsed);
    assert_eq!(unparsable, torn.len());
}

const OPERATOR_PATH: &str = "WATCHFLOOR_AUDIT_TEST_OPERATOR_PATH";

/// Not a test on its own: run by `the_operator_comes_from_the_environment` in a child process
/// with a chosen environment (setting variables in this process would race other tests).
#[test]
fn operator_helper() {
    let Some(path) = std::env::var_os(OPERATOR_PATH) else {
        return;
    };
    let record = AuditRecord::new(
        Operator::from_env(Some("oidc:bob@example.com".into())),
        "platform",
        &kube_place(),
        &ActionKind::DeletePod {
            name: "api-7d9f".into(),
            grace: None,
            force: true,
        },
        "pod/platform-v2-stable/api-7d9f",
        Outcome::Planned,
    );
    AuditLog::open(Path::new(&path))
        .unwrap()
        .append(&record)
        .unwrap();
}

#[test]
fn the_operator_comes_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, env: &[(&str, &str)]| {
        let path = dir.path().join(name);
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "audit::operator_helper", "--nocapture"])
            .env(OPERATOR_PATH, &path)
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .env_remove("USER")
            .env_remove("LOGNAME")
            .stdout(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let (records, unparsable) = audit::read(&path, None).unwrap();
        assert_eq!((records.len(), unparsable), (1, 0));
        records[0].operator.clone()
    };
    let over_ssh = run(
        "ssh.jsonl",
        &[
            ("USER", "bob"),
            ("SSH_CONNECTION", "192.0.2.7 51514 10.0.0.1 22"),
        ],
    );
    assert_eq!(
        over_ssh,
        Operator {
            user: Some("bob".into()),
            ssh_client: Some("192.0.2.7".into()),
            kube_user: Some("oidc:bob@example.com".into()),
            key: None,
        }
    );
    let local = run("local.jsonl", &[("LOGNAME", "carol")]);
    assert_eq!(local.user.as_deref(), Some("carol"));
    assert_eq!(local.ssh_client, None);
}

// ---- PostgreSQL mirror -------------------------------------------------------------------------

const ADMIN_DSN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(ADMIN_DSN, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (trust, user postgres)");
    tokio::spawn(connection);
    client
}

fn entry(database: &str) -> PostgresConfig {
    toml::from_str(&format!(
        "name = \"audit-db\"\ndsn = \"host=127.0.0.1 port=5432 user=postgres dbname={database} sslmode=disable\""
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_mirror_holds_the_files_records() {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let database = format!("watchfloor_audit_test_{}_{nanos}", std::process::id());
    let admin = admin().await;
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .await
        .unwrap();
    // The body runs as its own task so a failed assertion still drops the database.
    let body = tokio::spawn(mirror_body(database.clone()));
    let result = body.await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .await
        .unwrap();
    if let Err(error) = result {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn mirror_body(database: String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let mirror = AuditMirror::connect(&entry(&database)).await.unwrap();
    assert_eq!(mirror.entry(), "audit-db");
    let records = every_outcome();
    // The file first (it decides), then the mirror: awaited directly, and from a spawned task
    // as the console does.
    for (i, record) in records.iter().enumerate() {
        log.append(record).unwrap();
        if i % 2 == 0 {
            mirror.mirror(record).await.unwrap();
        } else {
            mirror.spawn(record.clone()).await.unwrap().unwrap();
        }
    }

    // The mirror's connection is dropped by the server: a later mirror reconnects.
    let (check, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port=5432 user=postgres dbname={database}"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let killed = check
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'watchfloor'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 1, "the mirror holds one connection");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: i64 = check
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'watchfloor'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backend outlived its termination"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = terminate(5150).then(Outcome::Cancelled);
    log.append(&after).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = 0;
    while let Err(error) = mirror.mirror(&after).await {
        // The first try may still use the dead connection; that is reported, not hidden.
        assert!(error.contains("audit-db"), "{error}");
        failures += 1;
        assert!(Instant::now() < deadline, "no reconnect: {error}");
    }
    assert!(failures <= 1, "{failures} failures before reconnecting");

    let (file, unparsable) = audit::read(&path, None).unwrap();
    assert_eq!(unparsable, 0);
    assert_eq!(file.len(), records.len() + 1);
    let rows = check
        .query(
            "SELECT attempt, outcome, error, duration_ms, target, object, preview, \
                    (extract(epoch FROM at) * 1000)::bigint AS at_ms, record::text, \
                    operator::text, place::text, action::text, parameters::text \
             FROM watchfloor_audit ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), file.len());
    for (row, record) in rows.iter().zip(&file) {
        assert_eq!(row.get::<_, String>("attempt"), record.attempt);
        assert_eq!(
            row.get::<_, String>("outcome"),
            audit::outcome_name(record.outcome)
        );
        assert_eq!(row.get::<_, Option<String>>("error"), record.error);
        assert_eq!(
            row.get::<_, Option<i64>>("duration_ms"),
            record.duration_ms.map(|ms| ms as i64)
        );
        assert_eq!(row.get::<_, String>("target"), record.target);
        assert_eq!(row.get::<_, String>("object"), record.object);
        assert_eq!(row.get::<_, Option<String>>("preview"), record.preview);
        let at_ms = record
            .timestamp()
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert_eq!(row.get::<_, i64>("at_ms"), at_ms);
        let stored: AuditRecord = serde_json::from_str(row.get("record")).unwrap();
        assert_eq!(&stored, record);
        let column = |name: &str| serde_json::from_str::<Value>(row.get(name)).unwrap();
        assert_eq!(
            column("operator"),
            serde_json::to_value(&record.operator).unwrap()
        );
        assert_eq!(column("place"), record.place);
        assert_eq!(column("action"), record.action);
        assert_eq!(column("parameters"), record.parameters);
    }
    drop(mirror);

    // Unreachable: an error for the caller to show, quickly.
    let started = Instant::now();
    let unreachable: PostgresConfig = toml::from_str(
        "name = \"nowhere\"\ndsn = \"host=127.0.0.1 port=1 user=postgres sslmode=disable\"",
    )
    .unwrap();
    let error = AuditMirror::connect(&unreachable).await.unwrap_err();
    assert!(error.contains("nowhere"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

// ---- config ------------------------------------------------------------------------------------

#[test]
fn audit_postgres_must_name_an_entry_of_some_target() {
    let base = r#"
[[targets]]
name = "staging"
[[targets.postgres]]
name = "db"
dsn = "host=staging"

[[targets]]
name = "prod"
[[targets.postgres]]
name = "db"
dsn = "host=prod"
[[targets.postgres]]
name = "audit-db"
dsn = "host=audit"
"#;
    let path = Path::new("watchfloor.toml");
    let with = |name: &str| format!("[audit]\npostgres = \"{name}\"\n{base}");

    let config = watchfloor::config::parse(path, &with("audit-db")).unwrap();
    let entry = audit::mirror_entry(&config).unwrap();
    assert_eq!(entry.dsn.resolve().unwrap(), "host=audit");
    let config = watchfloor::config::parse(path, &with("staging/db")).unwrap();
    let entry = audit::mirror_entry(&config).unwrap();
    assert_eq!(entry.dsn.resolve().unwrap(), "host=staging");
    let config = watchfloor::config::parse(path, base).unwrap();
    assert!(audit::mirror_entry(&config).is_none());

    let error = watchfloor::config::parse(path, &with("audit-bd")).unwrap_err();
    assert_eq!(
        (error.line, error.key.as_deref()),
        (2, Some("audit.postgres"))
    );
    let shown = error.to_string();
    assert!(
        shown.contains("names no [[targets.postgres]] entry"),
        "{shown}"
    );
    assert!(shown.contains("did you mean `audit-db`"), "{shown}");

    let error = watchfloor::config::parse(path, &with("db")).unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.contains("staging, prod") && shown.contains("TARGET/db"),
        "{shown}"
    );
}

// ---- `watchfloor audit` ------------------------------------------------------------------------

/// The binary with a private home: neither the user's config nor their state is used.
fn watchfloor(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watchfloor"));
    command
        .env_remove("WATCHFLOOR_CONFIG")
        .env_remove("WATCHFLOOR_TARGET")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .stdin(Stdio::null());
    command
}

fn config_with_trail(home: &Path, trail: &Path) -> PathBuf {
    let config = home.join("watchfloor.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\npath = {:?}\n\n[[targets]]\nname = \"platform\"\n",
            trail.display().to_string()
        ),
    )
    .unwrap();
    config
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn audit_command_prints_the_configured_trail_as_text_and_json() {
    let home = tempfile::tempdir().unwrap();
    let trail = home.path().join("trail/audit.jsonl");
    let config = config_with_trail(home.path(), &trail);
    let log = AuditLog::open(&trail).unwrap();
    let old = terminate(1)
        .then(Outcome::Cancelled)
        .at(SystemTime::now() - Duration::from_secs(2 * 3600));
    log.append(&old).unwrap();
    let recent = every_outcome();
    for record in &recent {
        log.append(record).unwrap();
    }

    let output = watchfloor(home.path())
        .arg("--config")
        .arg(&config)
        .args(["audit", "--format", "text"])
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + recent.len(), "{out}");
    for column in ["TIME", "OPERATOR", "TARGET", "ACTION", "OBJECT", "OUTCOME"] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    let outcome_at = lines[0].find("OUTCOME").unwrap();
    let outcomes: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l[outcome_at..].split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "cancelled",
            "planned",
            "succeeded",
            "planned",
            "failed",
            "cancelled",
            "denied"
        ]
    );
    assert!(
        lines[2].contains("alice@10.20.30.40 as platform-admin"),
        "{out}"
    );
    assert!(lines[2].contains("rollout_restart"), "{out}");
    assert!(
        lines[2].contains("deployment/platform-v2-stable/platform-v2-api"),
        "{out}"
    );
    assert!(lines[3].ends_with("412ms"), "{out}");
    assert!(
        lines[5].ends_with("must be a superuser to terminate superuser process (42501)"),
        "{out}"
    );

    // JSON since an hour ago: the recent records, each line exactly as stored.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&trail)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"time\": garbage\n"))
        .unwrap();
    let output = watchfloor(home.path())
        .arg("--config")
        .arg(&config)
        .args(["audit", "--format", "json", "--since", "1h"])
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let stored = std::fs::read_to_string(&trail).unwrap();
    let expected: String = stored
        .lines()
        .skip(1)
        .take(recent.len())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(out, expected);
    let printed: Vec<AuditRecord> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed, recent);
    let err = stderr(&output);
    assert!(
        err.contains("1 line of") && err.contains("could not be parsed"),
        "{err}"
    );
}

#[test]
fn audit_text_says_graceful_or_force_and_the_pids_hit() {
    let home = tempfile::tempdir().unwrap();
    let trail = home.path().join("trail/audit.jsonl");
    let config = config_with_trail(home.path(), &trail);
    let log = AuditLog::open(&trail).unwrap();
    let delete = |force: bool| {
        AuditRecord::new(
            operator(),
            "platform",
            &kube_place(),
            &ActionKind::DeletePod {
                name: "api-7d9f".into(),
                grace: force.then_some(0),
                force,
            },
            "pod/api-7d9f",
            Outcome::Planned,
        )
    };
    let sweep = AuditRecord::new(
        operator(),
        "platform",
        &Place::Postgres {
            entry: 0,
            database: "platform-db".into(),
        },
        &ActionKind::PgTerminateIdle {
            older_than_secs: 3600,
        },
        "3 idle-in-transaction sessions",
        Outcome::Planned,
    )
    .with_preview("3 sessions would be hit: pids 4242, 4250, 4301");
    let records = [
        delete(false).then(Outcome::Succeeded),
        delete(true).then(Outcome::Cancelled),
        sweep.clone(),
        sweep
            .then(Outcome::Succeeded)
            .with_pids(vec![4242, 4301])
            .with_duration(Duration::from_millis(40)),
    ];
    for record in &records {
        log.append(record).unwrap();
    }
    // Stored: `force` in the parameters, the pids hit on the executed line alone.
    let stored: Vec<Value> = std::fs::read_to_string(&trail)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stored[0]["parameters"]["force"], false);
    assert_eq!(stored[1]["parameters"]["force"], true);
    assert!(stored[2]["pids"].is_null());
    assert_eq!(stored[3]["pids"], json!([4242, 4301]));

    let output = watchfloor(home.path())
        .arg("--config")
        .arg(&config)
        .args(["audit", "--format", "text"])
        .output()
        .unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[1].contains("delete_pod (graceful)"), "{out}");
    assert!(lines[2].contains("delete_pod (force)"), "{out}");
    assert!(
        lines[3].contains("pg_terminate_idle") && !lines[3].contains("hit"),
        "{out}"
    );
    assert!(
        lines[4].contains("3 idle-in-transaction sessions · hit pids 4242, 4301"),
        "{out}"
    );
}

#[test]
fn audit_command_without_a_trail_or_config() {
    let home = tempfile::tempdir().unwrap();
    // A configured trail that does not exist yet.
    let trail = home.path().join("nothing/audit.jsonl");
    let config = config_with_trail(home.path(), &trail);
    let output = watchfloor(home.path())
        .arg("--config")
        .arg(&config)
        .arg("audit")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(
        err.contains(&format!("no audit trail at {} yet", trail.display())),
        "{err}"
    );
    assert!(!trail.exists(), "reading never creates the trail");

    // No config anywhere: the default path under $XDG_STATE_HOME.
    let default = home.path().join("state/watchfloor/audit.jsonl");
    let output = watchfloor(home.path()).arg("audit").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&default.display().to_string()),
        "{}",
        stderr(&output)
    );
    let record = restart();
    AuditLog::open(&default).unwrap().append(&record).unwrap();
    let output = watchfloor(home.path())
        .args(["audit", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), record.to_line());
}

#[test]
fn audit_command_usage_and_config_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.toml");
    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[audit]\npostgres = \"nope\"\n\n[[targets]]\nname = \"a\"\n",
    )
    .unwrap();
    let (missing, bad_path) = (missing.display().to_string(), bad.display().to_string());
    for args in [
        ["--config", &missing, "audit"],
        ["--config", &bad_path, "audit"],
        ["audit", "--since", "soon"],
        ["audit", "--format", "yaml"],
    ] {
        let output = watchfloor(home.path()).args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let output = watchfloor(home.path())
        .arg("--config")
        .arg(&bad)
        .arg("audit")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(
        err.contains(&format!("{}:2:", bad.display())) && err.contains("audit.postgres"),
        "{err}"
    );
}

/// The writer task appends in submission order, acknowledges each line once it is on disk
/// (with the kubeconfig user read from the target, off the caller's task), and a line it cannot
/// write is a typed audit failure.
#[tokio::test]
async fn the_writer_task_keeps_the_order_and_acknowledges_each_line() {
    use std::sync::Arc;
    use watchfloor::remediation::Failure;
    use watchfloor::remediation::audit::AuditWriter;
    use watchfloor::remediation::exec::Backends;

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: []\nusers: []\n\
         contexts:\n- name: c\n  context:\n    cluster: x\n    user: ops-admin\n",
    )
    .unwrap();
    let target: watchfloor::config::TargetConfig = toml::from_str(&format!(
        "name = \"t\"\n[kubernetes]\nkubeconfig = {:?}\n",
        kubeconfig.display().to_string()
    ))
    .unwrap();
    let backends = Arc::new(Backends::new(target));
    let path = dir.path().join("trail/audit.jsonl");
    let writer = AuditWriter::start(AuditLog::open(&path).unwrap());
    // Queued in order from one task, awaited in reverse: the file keeps the queue's order.
    let acks: Vec<_> = (1..=3)
        .map(|pid| writer.submit(terminate(pid), Some(backends.clone())))
        .collect();
    for ack in acks.into_iter().rev() {
        let written = ack.await.expect("written");
        assert_eq!(written.operator.kube_user.as_deref(), Some("ops-admin"));
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let objects: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["object"].to_string())
        .collect();
    assert_eq!(objects, ["\"pid 1\"", "\"pid 2\"", "\"pid 3\""]);

    // The trail's directory is replaced by a file: the next line is an audit failure.
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap(), "not a directory").unwrap();
    let failure = writer.submit(restart(), None).await.unwrap_err();
    assert!(
        matches!(failure, Failure::AuditUnavailable(_)),
        "{failure:?}"
    );
}
