//! SQL-backed stuck work items against the machine's PostgreSQL (127.0.0.1:5432, trust auth,
//! user postgres; `scripts/test` starts it). Each test creates its own database, named after
//! the process and a counter, and drops it at the end, even when the test fails.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use watchfloor::event::SourceEvent;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_postgres::{Client, NoTls};

use watchfloor::config::{ClaimsConfig, PostgresConfig};
use watchfloor::data::KubeUpdate;
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::model::claims::{BACKLOG, ClaimRow, NOT_READ};
use watchfloor::sources::claims_sql::{self, MAX_ROWS};
use watchfloor::sources::kubernetes::Reporter;

const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres sslmode=disable";
/// How long a test waits for the source to report; the first poll runs at once.
const WAIT: Duration = Duration::from_secs(30);

/// The query of the brief: pending and provisioning claims, with the note as detail.
const QUERY: &str = "SELECT id, state, updated_at AS since, note AS detail \
                     FROM insurance_claims WHERE state IN ('Pending','Provisioning')";

const SCHEMA: &str = "
    CREATE TABLE insurance_claims (
        id bigint PRIMARY KEY,
        state text NOT NULL,
        updated_at timestamptz NOT NULL,
        note text
    );
    INSERT INTO insurance_claims VALUES
        (1001, 'Pending', now() - interval '3 hours', 'waiting for an adjuster'),
        (1002, 'Pending', now() - interval '3 hours', NULL),
        (1003, 'Provisioning', now() - interval '10 minutes', 'vm requested'),
        (1004, 'Provisioning', now() - interval '10 minutes', NULL),
        (1005, 'Done', now() - interval '5 hours', 'paid'),
        (1006, 'Done', now() - interval '20 minutes', NULL);
";

static DATABASES: AtomicUsize = AtomicUsize::new(0);

async fn connect(dsn: &str) -> Result<Client, String> {
    let (client, connection) =
        tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(dsn, NoTls))
            .await
            .map_err(|_| "no answer within 10s".to_string())?
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(client)
}

/// A database of its own with the `insurance_claims` table, dropped on drop.
struct TestDb {
    name: String,
    client: Client,
}

impl TestDb {
    async fn create() -> Self {
        let admin = connect(&format!("{SERVER} dbname=postgres"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at 127.0.0.1:5432 as user postgres (trust \
                     auth): {e}. scripts/test installs and starts it; these tests need it."
                )
            });
        let name = format!(
            "watchfloor_claims_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let db = Self {
            client: connect(&format!("{SERVER} dbname={name}"))
                .await
                .unwrap_or_else(|e| panic!("connecting to {name}: {e}")),
            name,
        };
        db.client.batch_execute(SCHEMA).await.expect("schema");
        db
    }

    /// The `[[targets.postgres]]` entry for this database.
    fn postgres(&self) -> PostgresConfig {
        postgres_entry(&format!("{SERVER} dbname={}", self.name))
    }

    async fn count(&self) -> i64 {
        self.client
            .query_one("SELECT count(*) FROM insurance_claims", &[])
            .await
            .expect("count")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await, and runs on panics too: a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = connect(&format!("{SERVER} dbname=postgres")).await?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("dropping database {}: {e}", self.name);
        }
    }
}

fn postgres_entry(dsn: &str) -> PostgresConfig {
    toml::from_str(&format!(
        "name = \"claimsdb\"\ndsn = {}",
        toml::Value::String(dsn.into())
    ))
    .expect("a postgres entry")
}

fn claims(query: &str, backlog_over: Option<u64>) -> ClaimsConfig {
    let mut text = format!(
        "name = \"insurance\"\nsource = \"sql\"\ndatabase = \"claimsdb\"\nstuck_after = \"1h\"\n\
         query = {}\n",
        toml::Value::String(query.into())
    );
    if let Some(over) = backlog_over {
        text.push_str(&format!("backlog_over = {over}\n"));
    }
    toml::from_str(&text).expect("a claims entry")
}

fn row<'a>(rows: &'a [ClaimRow], name: &str) -> &'a ClaimRow {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows:#?}"))
}

/// The rows of `QUERY` over the table as created: 3-hour-old pending claims stuck, 10-minute
/// provisioning ones in progress, done ones absent.
fn assert_schema_rows(rows: &[ClaimRow]) {
    let mut names: Vec<&str> = rows
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| *n != BACKLOG)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["1001", "1002", "1003", "1004"], "{rows:#?}");
    for r in rows {
        assert_eq!(r.source, "insurance");
        assert_eq!(r.namespace, None);
    }
    let stuck = row(rows, "1001");
    assert_eq!(
        (stuck.state.as_str(), stuck.stuck, stuck.health),
        ("Pending", true, Health::Crit)
    );
    assert_eq!(
        stuck.why,
        "Pending for 3h00m (> 1h00m) — waiting for an adjuster"
    );
    let detail = stuck.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("id         1001") && detail.contains("waiting for an adjuster"),
        "{detail}"
    );
    assert_eq!(row(rows, "1002").why, "Pending for 3h00m (> 1h00m)");
    assert!(row(rows, "1002").stuck);
    for name in ["1003", "1004"] {
        let fresh = row(rows, name);
        assert_eq!(
            (fresh.state.as_str(), fresh.stuck, fresh.health),
            ("Provisioning", false, Health::Warn),
            "{fresh:#?}"
        );
        assert!(
            fresh.why.starts_with("Provisioning for 10m") && !fresh.why.contains('>'),
            "{}",
            fresh.why
        );
    }
    assert!(row(rows, "1003").why.ends_with(" — vm requested"));
}

#[tokio::test]
async fn collect_once_shows_old_pending_work_as_stuck() {
    let db = TestDb::create().await;
    let rows = claims_sql::collect_once(&db.postgres(), &claims(QUERY, None))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert_schema_rows(&rows);
    // Oldest first, as read.
    assert!(rows[0].stuck && rows[1].stuck && !rows[2].stuck);
}

#[tokio::test]
async fn a_backlog_past_backlog_over_is_a_stuck_row() {
    let db = TestDb::create().await;
    let rows = claims_sql::collect_once(&db.postgres(), &claims(QUERY, Some(3)))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 5, "{rows:#?}");
    assert_schema_rows(&rows);
    let backlog = row(&rows, BACKLOG);
    assert_eq!(
        (backlog.state.as_str(), backlog.stuck, backlog.health),
        (BACKLOG, true, Health::Crit)
    );
    assert_eq!(backlog.why, "4 items pending (> 3), oldest for 3h00m");

    let at_threshold = claims_sql::collect_once(&db.postgres(), &claims(QUERY, Some(4)))
        .await
        .expect("rows");
    assert!(
        at_threshold.iter().all(|r| r.name != BACKLOG),
        "{at_threshold:#?}"
    );
}

#[tokio::test]
async fn reads_are_capped_oldest_first_and_the_rest_counted() {
    let db = TestDb::create().await;
    db.client
        .batch_execute(
            "INSERT INTO insurance_claims \
             SELECT 100000 + n, 'Pending', now() - n * interval '1 second', NULL \
             FROM generate_series(1, 10050) AS n",
        )
        .await
        .expect("insert");
    let rows = claims_sql::collect_once(&db.postgres(), &claims(QUERY, Some(1000)))
        .await
        .expect("rows");
    let cap = MAX_ROWS as usize;
    assert_eq!(rows.len(), cap + 2, "the items read, the backlog, the note");
    // The oldest are the ones read: the stuck claims are among them.
    let oldest: Vec<&str> = rows[..2].iter().map(|r| r.name.as_str()).collect();
    assert_eq!(oldest, ["1001", "1002"]);
    assert!(rows[..2].iter().all(|r| r.stuck));
    assert_eq!(
        row(&rows, BACKLOG).why,
        "10054 items pending (> 1000), oldest for 3h00m"
    );
    let note = row(&rows, NOT_READ);
    assert_eq!(
        note.why,
        format!("54 more items not read (the oldest {cap} are shown)")
    );
    assert!(!note.stuck);
}

#[tokio::test]
async fn ids_states_and_details_of_other_types_read_as_text() {
    let db = TestDb::create().await;
    db.client
        .batch_execute(
            "CREATE TYPE job_state AS ENUM ('queued', 'running', 'done');
             CREATE TABLE jobs (
                 id uuid, state job_state, started timestamptz, payload jsonb, seq int4
             );
             INSERT INTO jobs VALUES
                 ('6f1c1a52-3c56-4a43-9d1e-0d7a3c8f6d11', 'running',
                  now() - interval '2 hours', '{\"worker\": \"w3\"}', 7),
                 ('0b7a3d6e-1111-4c2e-8a55-5f0e8f3b9a22', 'queued', NULL, NULL, 8),
                 ('9d0f2c44-2222-4e11-b3c1-7a6b5c4d3e33', 'done', now(), NULL, 9);",
        )
        .await
        .expect("jobs");
    let query = "SELECT id, state, started AS since, payload AS detail FROM jobs \
                 WHERE state <> 'done'";
    let rows = claims_sql::collect_once(&db.postgres(), &claims(query, None))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let running = row(&rows, "6f1c1a52-3c56-4a43-9d1e-0d7a3c8f6d11");
    assert_eq!(running.state, "running");
    assert_eq!(
        running.why,
        "running for 2h00m (> 1h00m) — {\"worker\": \"w3\"}"
    );
    let queued = row(&rows, "0b7a3d6e-1111-4c2e-8a55-5f0e8f3b9a22");
    assert_eq!(
        (queued.stuck, queued.health, queued.since),
        (false, Health::Warn, None)
    );
    assert_eq!(queued.why, "queued since an unknown time (since is NULL)");

    // An int4 id, and column names matched whatever their case.
    let query = "SELECT seq AS \"ID\", state AS \"State\", started AS since FROM jobs \
                 WHERE seq = 7";
    let rows = claims_sql::collect_once(&db.postgres(), &claims(query, None))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        (rows[0].name.as_str(), rows[0].state.as_str()),
        ("7", "running")
    );
}

#[tokio::test]
async fn query_errors_show_the_servers_message() {
    let db = TestDb::create().await;
    let cases = [
        (
            "SELECT id, state, since FROM no_such_claims",
            "relation \"no_such_claims\" does not exist (42P01)",
        ),
        (
            "SELECT id, state, nope AS since FROM insurance_claims",
            "column \"nope\" does not exist (42703)",
        ),
        (
            "SELEC id FROM insurance_claims",
            "syntax error at or near \"SELEC\" (42601)",
        ),
        (
            "SELECT id, state FROM insurance_claims",
            "the query returns no \"since\" column (timestamptz: when the item entered its \
             state); it returns: id, state",
        ),
        (
            "SELECT id, updated_at AS since FROM insurance_claims",
            "the query returns no \"state\" column",
        ),
        (
            "SELECT id, state, updated_at::timestamp AS since FROM insurance_claims",
            "column \"since\" is timestamp without time zone; say which zone it holds, \
             e.g. `updated_at AT TIME ZONE 'UTC' AS since` (expected timestamptz)",
        ),
        (
            "SELECT id, state, updated_at::date AS since FROM insurance_claims",
            "column \"since\" is date, expected timestamptz",
        ),
    ];
    for (query, expected) in cases {
        let error = claims_sql::collect_once(&db.postgres(), &claims(query, None))
            .await
            .expect_err(query);
        assert!(error.contains(expected), "{query}: {error}");
    }
}

#[tokio::test]
async fn the_query_cannot_write() {
    let db = TestDb::create().await;
    db.client
        .batch_execute(
            "CREATE FUNCTION purge_claims() RETURNS SETOF insurance_claims
             LANGUAGE sql AS $$ DELETE FROM insurance_claims RETURNING * $$;
             CREATE SEQUENCE claim_numbers;",
        )
        .await
        .expect("function");
    let cases = [
        // Refused by the read-only transaction.
        (
            "SELECT id, state, updated_at AS since FROM purge_claims()",
            "cannot execute DELETE in a read-only transaction (25006)",
        ),
        (
            "SELECT nextval('claim_numbers') AS id, state, updated_at AS since \
             FROM insurance_claims",
            "cannot execute nextval() in a read-only transaction (25006)",
        ),
        // Refused as a subquery: a data-modifying CTE must stand at the top level.
        (
            "WITH gone AS (DELETE FROM insurance_claims RETURNING *) \
             SELECT id, state, updated_at AS since FROM gone",
            "(0A000); the query must be one SELECT (it runs read-only, as a subquery)",
        ),
        // A second statement is refused before anything runs.
        (
            "SELECT id, state, updated_at AS since FROM insurance_claims; \
             DELETE FROM insurance_claims;",
            "cannot insert multiple commands into a prepared statement (42601)",
        ),
        // A bare DELETE is described, never run, and refused as a subquery.
        (
            "DELETE FROM insurance_claims RETURNING id, state, updated_at AS since",
            "(42601); the query must be one SELECT",
        ),
    ];
    for (query, expected) in cases {
        let error = claims_sql::collect_once(&db.postgres(), &claims(query, None))
            .await
            .expect_err(query);
        assert!(error.contains(expected), "{query}: {error}");
    }
    assert_eq!(db.count().await, 6, "the table is untouched");
    let next: i64 = db
        .client
        .query_one("SELECT nextval('claim_numbers')", &[])
        .await
        .expect("nextval")
        .get(0);
    assert_eq!(next, 1, "the sequence was not advanced");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    // Port 1 on loopback: nothing listens there.
    let entry = postgres_entry("host=127.0.0.1 port=1 user=postgres sslmode=disable");
    let started = Instant::now();
    let error = claims_sql::collect_once(&entry, &claims(QUERY, None))
        .await
        .expect_err("no server");
    assert!(error.contains("refused"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The next action from the source, or a failure naming what was awaited.
async fn next_action(
    rx: &mut mpsc::Receiver<SourceEvent>,
    deadline: Instant,
    awaiting: &str,
) -> SourceEvent {
    match tokio::time::timeout_at(deadline, rx.recv()).await {
        Ok(Some(action)) => action,
        Ok(None) => panic!("the source ended while awaiting {awaiting}"),
        Err(_) => panic!("no {awaiting} within {WAIT:?}"),
    }
}

/// Waits for the claims update of entry `source`, then for the `Live` report. Error reports
/// on the way fail the test unless `errors_expected` (a source retrying).
async fn rows_then_live(
    rx: &mut mpsc::Receiver<SourceEvent>,
    source: usize,
    errors_expected: bool,
) -> Vec<ClaimRow> {
    let deadline = Instant::now() + WAIT;
    let rows = loop {
        match next_action(rx, deadline, "claims rows").await {
            SourceEvent::Kube {
                generation,
                update: KubeUpdate::Claims { source: s, rows },
            } => {
                assert_eq!((generation, s), (7, source));
                break rows;
            }
            SourceEvent::State {
                state: SourceState::Error { reason, .. },
                ..
            } if !errors_expected => panic!("the source failed: {reason}"),
            _ => {}
        }
    };
    match next_action(rx, deadline, "the Live report").await {
        SourceEvent::State {
            generation,
            index,
            state: SourceState::Live,
            ..
        } => assert_eq!((generation, index), (7, 5)),
        other => panic!("expected Live, got {other:?}"),
    }
    rows
}

fn reporter(tx: mpsc::Sender<SourceEvent>) -> Reporter {
    Reporter {
        tx,
        generation: 7,
        index: 5,
    }
}

#[tokio::test]
async fn run_reports_the_rows_and_live() {
    let db = TestDb::create().await;
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(claims_sql::run(
        db.postgres(),
        claims(QUERY, Some(3)),
        2,
        reporter(tx),
    ));
    let rows = rows_then_live(&mut rx, 2, false).await;
    task.abort();
    assert_eq!(rows.len(), 5, "{rows:#?}");
    assert_schema_rows(&rows);
    assert_eq!(
        row(&rows, BACKLOG).why,
        "4 items pending (> 3), oldest for 3h00m"
    );
}

#[tokio::test]
async fn run_reports_the_servers_error_then_recovers() {
    let db = TestDb::create().await;
    let (tx, mut rx) = mpsc::channel(16);
    let query = "SELECT id, state, updated_at AS since FROM late_claims";
    let task = tokio::spawn(claims_sql::run(
        db.postgres(),
        claims(query, None),
        0,
        reporter(tx),
    ));
    let deadline = Instant::now() + WAIT;
    let (reason, retry_at) = loop {
        match next_action(&mut rx, deadline, "the error report").await {
            SourceEvent::State {
                state: SourceState::Error { reason, retry_at },
                ..
            } => break (reason, retry_at),
            SourceEvent::Kube { update, .. } => {
                panic!("rows from a missing table: {update:?}")
            }
            _ => {}
        }
    };
    assert!(
        reason.contains("relation \"late_claims\" does not exist (42P01)"),
        "{reason}"
    );
    assert!(retry_at.is_some(), "an error says when it retries");

    // The table appears: the retry (after a short backoff) reads it.
    db.client
        .batch_execute("CREATE TABLE late_claims AS SELECT * FROM insurance_claims WHERE id = 1001")
        .await
        .expect("late table");
    let rows = rows_then_live(&mut rx, 0, true).await;
    task.abort();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].name, "1001");
    assert!(rows[0].stuck);
    assert_eq!(rows[0].why, "Pending for 3h00m (> 1h00m)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_db_pane_and_sql_claims_share_one_connection() {
    let db = TestDb::create().await;
    let text = format!(
        "[[targets]]\nname = \"t\"\n\
         [[targets.postgres]]\nname = \"claimsdb\"\ndsn = \"{SERVER} dbname={}\"\nrefresh = \"300ms\"\n\
         [[targets.claims]]\nname = \"insurance\"\nsource = \"sql\"\ndatabase = \"claimsdb\"\n\
         stuck_after = \"1h\"\nquery = {}\n",
        db.name,
        toml::Value::String(QUERY.into())
    );
    let config = watchfloor::config::parse(std::path::Path::new("shared.toml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (tx, mut rx) = mpsc::channel(256);
    let sources = watchfloor::sources::start(&config.targets[0], 3, tx);
    // Both sources report data: each has used the database.
    let deadline = Instant::now() + WAIT;
    let (mut refreshes, mut claims) = (0, 0);
    while refreshes < 2 || claims < 1 {
        match next_action(&mut rx, deadline, "a refresh and claims rows").await {
            SourceEvent::Db { .. } => refreshes += 1,
            SourceEvent::Kube {
                update: KubeUpdate::Claims { rows, .. },
                ..
            } => {
                assert_eq!(rows.len(), 4, "{rows:#?}");
                claims += 1;
            }
            SourceEvent::State {
                state: SourceState::Error { reason, .. },
                ..
            } => panic!("a source failed: {reason}"),
            _ => {}
        }
    }
    // The console's sessions on the database, as the server sees them: exactly one.
    let sql = "SELECT count(*) FROM pg_stat_activity \
               WHERE datname = current_database() AND application_name = 'watchfloor'";
    let watchfloor: i64 = db.client.query_one(sql, &[]).await.expect("count").get(0);
    assert_eq!(
        watchfloor, 1,
        "one monitoring connection for the pane and the claims"
    );
    drop(sources);
    // Dropping the sources closes it.
    let deadline = Instant::now() + WAIT;
    loop {
        let left: i64 = db.client.query_one(sql, &[]).await.expect("count").get(0);
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the connection outlived its sources"
        );
        tokio::task::yield_now().await;
    }
}
