//! PostgreSQL and Redis remediations against real servers and the demo's simulator: previews
//! list exactly the sessions an action hits, executions hit exactly those, refusals come back
//! in the server's words.
//!
//! PostgreSQL: the server at 127.0.0.1:5432 (trust auth, superuser `postgres`); each test makes
//! its own database and roles (unique names) and drops them afterwards, even when it fails.
//! Redis: each test starts its own `redis-server` on a free loopback port.

use crate::support::headless;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crossterm::event::KeyCode;
use headless::{Headless, key};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use watchfloor::app::Effect;
use watchfloor::config::{PostgresConfig, RedisConfig};
use watchfloor::db::postgres::{SignalRefusal, signal_rule};
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::remediation::ActionKind;
use watchfloor::remediation::plan::{Selection, Verb};
use watchfloor::remediation::sql_exec::{
    PgOutcome, execute_pg, execute_redis, preview_pg, preview_redis,
};
use watchfloor::sources::postgres::Monitor;
use watchfloor_sim::{Scenario, Sim, SimOptions};

const DEADLINE: Duration = Duration::from_secs(15);
const PG_HOST: &str = "127.0.0.1";
const PG_PORT: u16 = 5432;

/// Polls `check` until it holds, or panics at the deadline.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::support::wait::poll(what, DEADLINE, || {
        let holds = check();
        async move {
            if holds.await {
                Ok(())
            } else {
                Err("not yet".to_string())
            }
        }
    })
    .await
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("wf_rem_{tag}_{}_{nanos}", std::process::id())
}

async fn pg_client(user: &str, db: &str, app: &str) -> Client {
    let mut config = tokio_postgres::Config::new();
    config
        .host(PG_HOST)
        .port(PG_PORT)
        .user(user)
        .dbname(db)
        .application_name(app)
        .connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await.expect("connect to postgres");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn backend_pid(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// A database (and roles) of this test's own, dropped on Drop.
struct Scratch {
    db: String,
    roles: Vec<String>,
    /// Superuser connection to the scratch database, for observing it.
    admin: Client,
}

impl Scratch {
    async fn new(tag: &str) -> Self {
        let db = unique(tag);
        let root = pg_client("postgres", "postgres", "wf-test-admin").await;
        root.batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        let admin = pg_client("postgres", &db, "wf-test-admin").await;
        Self {
            db,
            roles: Vec::new(),
            admin,
        }
    }

    /// Creates a LOGIN role with `extra` options (`IN ROLE …`), named after `tag`.
    async fn role(&mut self, tag: &str, extra: &str) -> String {
        let name = unique(tag);
        self.admin
            .batch_execute(&format!("CREATE ROLE {name} LOGIN {extra}"))
            .await
            .unwrap();
        self.roles.push(name.clone());
        name
    }

    /// The console's config entry for this database, connecting as `user`.
    fn config(&self, user: &str) -> PostgresConfig {
        toml::from_str(&format!(
            "name = \"scratch\"\ndsn = \"host={PG_HOST} port={PG_PORT} user={user} dbname={} sslmode=disable\"",
            self.db
        ))
        .unwrap()
    }

    /// A session the test holds, and its pid.
    async fn session(&self, user: &str, app: &str) -> (Client, i32) {
        let client = pg_client(user, &self.db, app).await;
        let pid = backend_pid(&client).await;
        (client, pid)
    }

    /// The session's state and seconds since `state_change`, as the server sees them.
    async fn state(&self, pid: i32) -> Option<(Option<String>, f64)> {
        self.admin
            .query_opt(
                "SELECT state, extract(epoch FROM now() - state_change)::float8 \
                   FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .map(|row| (row.get(0), row.get::<_, Option<f64>>(1).unwrap_or(0.0)))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let db = self.db.clone();
        let roles = self.roles.clone();
        // Drop may run inside the test's runtime: clean up from a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let root = pg_client("postgres", "postgres", "wf-test-cleanup").await;
                let _ = root
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
                for role in roles {
                    let _ = root
                        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

fn sorted(mut pids: Vec<i32>) -> Vec<i32> {
    pids.sort_unstable();
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_terminate_hit_exactly_the_named_session() {
    let scratch = Scratch::new("single").await;
    let config = scratch.config("postgres");

    // An active query: cancel stops the query, the session lives on.
    let (sleeper, sleeper_pid) = scratch.session("postgres", "wf-sleeper").await;
    let sleeper = std::sync::Arc::new(sleeper);
    let running = {
        let sleeper = sleeper.clone();
        tokio::spawn(async move { sleeper.simple_query("SELECT pg_sleep(60)").await })
    };
    until("the sleeper to be active", || async {
        matches!(scratch.state(sleeper_pid).await, Some((Some(s), _)) if s == "active")
    })
    .await;
    let preview = preview_pg(&config, &ActionKind::PgCancel { pid: sleeper_pid })
        .await
        .unwrap();
    assert_eq!(preview.len(), 1, "{preview:?}");
    let target = &preview[0];
    assert_eq!(target.pid, sleeper_pid);
    assert_eq!(target.state.as_deref(), Some("active"));
    assert_eq!(target.usename.as_deref(), Some("postgres"));
    assert_eq!(target.application_name.as_deref(), Some("wf-sleeper"));
    assert!(target.query.contains("pg_sleep(60)"), "{target:?}");
    assert!(target.seconds.is_some_and(|s| s >= 0.0), "{target:?}");

    let outcome = execute_pg(&config, &ActionKind::PgCancel { pid: sleeper_pid })
        .await
        .unwrap();
    assert_eq!(
        outcome,
        PgOutcome {
            signalled: vec![sleeper_pid],
            failed: vec![],
            summary: format!("cancelled the query of 1 session (pid {sleeper_pid})"),
        }
    );
    let error = tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the cancelled query to return")
        .unwrap()
        .expect_err("the query was cancelled");
    let db_error = error.as_db_error().expect("a server error");
    assert_eq!(db_error.code(), &SqlState::QUERY_CANCELED);
    assert_eq!(db_error.code().code(), "57014");
    assert_eq!(
        db_error.message(),
        "canceling statement due to user request"
    );
    sleeper
        .simple_query("SELECT 1")
        .await
        .expect("a cancelled session survives");

    // An idle session: terminate closes it, and pg_terminate_backend waited for it to exit.
    let (victim, victim_pid) = scratch.session("postgres", "wf-victim").await;
    let preview = preview_pg(&config, &ActionKind::PgTerminate { pid: victim_pid })
        .await
        .unwrap();
    assert_eq!(preview.len(), 1);
    assert_eq!(preview[0].state.as_deref(), Some("idle"));
    let outcome = execute_pg(&config, &ActionKind::PgTerminate { pid: victim_pid })
        .await
        .unwrap();
    assert_eq!(outcome.signalled, vec![victim_pid]);
    assert!(outcome.failed.is_empty());
    assert_eq!(
        outcome.summary,
        format!("terminated 1 session (pid {victim_pid})")
    );
    assert!(scratch.state(victim_pid).await.is_none(), "still listed");
    assert!(
        victim.simple_query("SELECT 1").await.is_err(),
        "a terminated session's next query fails"
    );
    let again = execute_pg(&config, &ActionKind::PgTerminate { pid: victim_pid })
        .await
        .unwrap_err();
    assert!(
        again.contains(&format!("pid {victim_pid} is not a client session")),
        "{again}"
    );

    // Never a non-client backend, a session of another database, or a prepared transaction.
    let checkpointer: i32 = scratch
        .admin
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for action in [
        ActionKind::PgTerminate { pid: checkpointer },
        ActionKind::PgCancel { pid: checkpointer },
    ] {
        let error = preview_pg(&config, &action).await.unwrap_err();
        assert!(error.contains("it is a checkpointer"), "{error}");
        let error = execute_pg(&config, &action).await.unwrap_err();
        assert!(error.contains("it is a checkpointer"), "{error}");
    }
    let elsewhere = pg_client("postgres", "postgres", "wf-elsewhere").await;
    let elsewhere_pid = backend_pid(&elsewhere).await;
    let error = execute_pg(&config, &ActionKind::PgTerminate { pid: elsewhere_pid })
        .await
        .unwrap_err();
    assert!(
        error.contains("connected to database \"postgres\""),
        "{error}"
    );
    elsewhere
        .simple_query("SELECT 1")
        .await
        .expect("a session of another database is untouched");
    let error = execute_pg(&config, &ActionKind::PgCancel { pid: 0 })
        .await
        .unwrap_err();
    assert!(error.contains("prepared transaction"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_idle_hits_only_sessions_idle_in_transaction_past_the_threshold() {
    let scratch = Scratch::new("idle").await;
    let config = scratch.config("postgres");
    const THRESHOLD: u64 = 1;

    let (old, old_pid) = scratch.session("postgres", "wf-old").await;
    old.batch_execute("BEGIN").await.unwrap();
    old.batch_execute("SELECT 1").await.unwrap();
    let (aborted, aborted_pid) = scratch.session("postgres", "wf-aborted").await;
    aborted.batch_execute("BEGIN").await.unwrap();
    assert!(aborted.batch_execute("SELECT 1/0").await.is_err());
    let (idle, idle_pid) = scratch.session("postgres", "wf-idle").await;

    until("two sessions idle in transaction past the threshold", || async {
        let old = scratch.state(old_pid).await;
        let aborted = scratch.state(aborted_pid).await;
        matches!(old, Some((Some(s), age)) if s == "idle in transaction" && age > THRESHOLD as f64 + 0.2)
            && matches!(aborted, Some((Some(s), age))
                if s == "idle in transaction (aborted)" && age > THRESHOLD as f64 + 0.2)
    })
    .await;
    // Also plain idle for as long: not idle *in transaction*, so never a target.
    until("the idle session to be old", || async {
        matches!(scratch.state(idle_pid).await, Some((_, age)) if age > THRESHOLD as f64)
    })
    .await;
    // A young transaction: state_change is refreshed by each statement.
    let (young, young_pid) = scratch.session("postgres", "wf-young").await;
    young.batch_execute("BEGIN; SELECT 1").await.unwrap();

    let action = ActionKind::PgTerminateIdle {
        older_than_secs: THRESHOLD,
    };
    let preview = preview_pg(&config, &action).await.unwrap();
    let pids: Vec<i32> = preview.iter().map(|t| t.pid).collect();
    // Oldest first: `old` went idle in transaction before `aborted`.
    assert_eq!(pids, vec![old_pid, aborted_pid], "{preview:#?}");
    assert_eq!(preview[0].state.as_deref(), Some("idle in transaction"));
    assert_eq!(
        preview[1].state.as_deref(),
        Some("idle in transaction (aborted)")
    );
    assert!(
        preview
            .iter()
            .all(|t| t.seconds.unwrap() > THRESHOLD as f64)
    );
    assert_eq!(preview[0].query, "SELECT 1");
    assert_eq!(preview[1].query, "SELECT 1/0");
    // The console's own session (application_name `watchfloor`) is never a target.
    assert!(
        preview
            .iter()
            .all(|t| t.application_name.as_deref() != Some("watchfloor"))
    );

    // Keep the young transaction young right up to the execution.
    young.batch_execute("SELECT 2").await.unwrap();
    let outcome = execute_pg(&config, &action).await.unwrap();
    assert_eq!(sorted(outcome.signalled.clone()), sorted(pids.clone()));
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert!(
        outcome.summary.starts_with("terminated 2 sessions (pids "),
        "{}",
        outcome.summary
    );
    for pid in &pids {
        assert!(outcome.summary.contains(&pid.to_string()));
        assert!(
            scratch.state(*pid).await.is_none(),
            "pid {pid} still listed"
        );
    }
    assert!(old.simple_query("SELECT 1").await.is_err());
    assert!(aborted.simple_query("ROLLBACK").await.is_err());
    young
        .batch_execute("COMMIT")
        .await
        .expect("the young transaction survives");
    idle.simple_query("SELECT 1")
        .await
        .expect("the idle session survives");
    assert!(scratch.state(young_pid).await.is_some());

    let after = preview_pg(&config, &action).await.unwrap();
    assert!(after.is_empty(), "{after:?}");
    let nothing = execute_pg(&config, &action).await.unwrap();
    assert_eq!(
        nothing.summary,
        "no session idle in transaction for more than 1 s; nothing terminated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_without_the_right_are_refused_before_any_signal() {
    let mut scratch = Scratch::new("privs").await;
    let victim_role = scratch.role("victim", "").await;
    let plain = scratch.role("plain", "").await;
    let monitor = scratch.role("monitor", "IN ROLE pg_monitor").await;
    let signaller = scratch.role("signal", "IN ROLE pg_signal_backend").await;
    let trusted = scratch
        .role("trusted", "IN ROLE pg_signal_backend, pg_read_all_stats")
        .await;
    let member = scratch
        .role("member", &format!("IN ROLE {victim_role}"))
        .await;

    let (victim, victim_pid) = scratch.session(&victim_role, "wf-victim").await;
    let (root, root_pid) = scratch.session("postgres", "wf-root").await;
    // Without pg_signal_backend (pg_monitor does not grant it) and without the victim role's
    // privileges: refused by the rule, in its words, before anything is signalled.
    for role in [&plain, &monitor] {
        let config = scratch.config(role);
        for action in [
            ActionKind::PgTerminate { pid: victim_pid },
            ActionKind::PgCancel { pid: victim_pid },
        ] {
            let error = preview_pg(&config, &action).await.unwrap_err();
            assert_eq!(
                error,
                format!(
                    "pid {victim_pid}: the console's role needs pg_signal_backend or the \
                     privileges of role {victim_role:?} to signal its sessions"
                ),
                "as {role}"
            );
            assert_eq!(
                execute_pg(&config, &action).await.unwrap_err(),
                error,
                "as {role}"
            );
        }
    }
    // A pg_signal_backend member without pg_read_all_stats cannot tell the session is a
    // client backend: not signalled, and told why.
    let error = execute_pg(
        &scratch.config(&signaller),
        &ActionKind::PgTerminate { pid: victim_pid },
    )
    .await
    .unwrap_err();
    assert!(error.contains("pg_read_all_stats"), "{error}");
    // pg_signal_backend is never enough for a superuser's session.
    for action in [
        ActionKind::PgTerminate { pid: root_pid },
        ActionKind::PgCancel { pid: root_pid },
    ] {
        let error = execute_pg(&scratch.config(&trusted), &action)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            format!(
                "pid {root_pid}: role \"postgres\" is a superuser: only a superuser may signal \
                 its sessions"
            )
        );
    }
    // A member of the victim's role may signal it without pg_signal_backend.
    let outcome = execute_pg(
        &scratch.config(&member),
        &ActionKind::PgCancel { pid: victim_pid },
    )
    .await
    .unwrap();
    assert_eq!(outcome.signalled, vec![victim_pid]);
    for survivor in [&victim, &root] {
        survivor
            .simple_query("SELECT 1")
            .await
            .expect("every refused session survives (a cancel of an idle one is harmless)");
    }
}

/// What the server answers when `client` cancels `pid` (an idle session: harmless): `true`
/// signalled, `false` refused for lack of privileges (42501).
async fn server_lets_cancel(client: &Client, pid: i32) -> bool {
    match client
        .query_one("SELECT pg_cancel_backend($1)", &[&pid])
        .await
    {
        Ok(row) => row.get::<_, bool>(0),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => false,
        Err(e) => panic!("cancel of {pid}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_agrees_with_the_server() {
    let mut scratch = Scratch::new("rule").await;
    let victim_role = scratch.role("victim", "").await;
    let mut callers = vec!["postgres".to_string()];
    for (tag, options) in [
        ("plain", String::new()),
        ("monitor", "IN ROLE pg_monitor".to_string()),
        ("signal", "IN ROLE pg_signal_backend".to_string()),
        (
            "trusted",
            "IN ROLE pg_signal_backend, pg_read_all_stats".to_string(),
        ),
        ("member", format!("IN ROLE {victim_role}")),
        ("noinherit", format!("NOINHERIT IN ROLE {victim_role}")),
    ] {
        callers.push(scratch.role(tag, &options).await);
    }
    let (_victim, victim_pid) = scratch.session(&victim_role, "wf-victim").await;
    let (_root, root_pid) = scratch.session("postgres", "wf-root").await;
    for caller in &callers {
        let sample = Monitor::open(&scratch.config(caller))
            .await
            .unwrap()
            .refresh()
            .await
            .unwrap();
        let (client, _) = scratch.session(caller, "wf-caller").await;
        for pid in [victim_pid, root_pid] {
            let session = sample
                .sessions
                .iter()
                .find(|s| s.pid == pid)
                .unwrap_or_else(|| panic!("{caller} sees pid {pid}"));
            let verdict = signal_rule(&sample, session);
            let server = server_lets_cancel(&client, pid).await;
            match &verdict {
                Ok(()) => assert!(server, "{caller} on {pid}: the rule allows, the server not"),
                // Stricter than the server on purpose: it cannot tell what the session is.
                Err(SignalRefusal::HiddenType) => assert!(server, "{caller} on {pid}"),
                Err(refusal) => assert!(
                    !server,
                    "{caller} on {pid}: the rule refuses ({refusal}), the server allows"
                ),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superusers_query_is_disabled_before_any_dialog() {
    let mut scratch = Scratch::new("dialog").await;
    let trusted = scratch
        .role("trusted", "IN ROLE pg_signal_backend, pg_read_all_stats")
        .await;
    // A superuser's long query, and an idle transaction of another role (the sweep's target).
    let (sleeper, sleeper_pid) = scratch.session("postgres", "wf-root-sleeper").await;
    let sleeper = std::sync::Arc::new(sleeper);
    let running = {
        let sleeper = sleeper.clone();
        tokio::spawn(async move { sleeper.simple_query("SELECT pg_sleep(60)").await })
    };
    let (idle, idle_pid) = scratch.session(&trusted, "wf-idle").await;
    idle.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let (root_idle, root_idle_pid) = scratch.session("postgres", "wf-root-idle").await;
    root_idle.batch_execute("BEGIN; SELECT 1").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[audit]\npath = {:?}\n\n[[targets]]\nname = \"scratch\"\n[[targets.postgres]]\n\
         name = \"scratch\"\ndsn = \"host={PG_HOST} port={PG_PORT} user={trusted} dbname={} \
         sslmode=disable\"\nrefresh = \"300ms\"\nidle_in_transaction_after = \"1s\"\n",
        dir.path().join("trail.jsonl").display().to_string(),
        scratch.db
    );
    let mut c = Headless::start(&text, ReadOnlyInputs::default());
    c.settle_until(
        "both idle transactions past the threshold",
        DEADLINE,
        |app| {
            app.data.db.postgres.get(&0).is_some_and(|s| {
                let idle: Vec<i32> = s.idle_in_transaction.iter().map(|i| i.pid).collect();
                idle.contains(&idle_pid) && idle.contains(&root_idle_pid)
            })
        },
    )
    .await;
    // The database row: the sweep offers only the session the role may signal.
    c.press_str("3");
    let Selection::Database { idle: sweep, .. } = c.app.screen().selection() else {
        panic!("{:?}", c.app.screen().selection());
    };
    assert_eq!((sweep.targets, sweep.refused), (1, 1), "{sweep:?}");
    assert!(
        sweep
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("pid {root_idle_pid}")) && r.contains("superuser")),
        "{sweep:?}"
    );
    // The superuser's query in the detail view: cancel and terminate disabled, with the reason.
    c.press(key(KeyCode::Enter));
    c.settle_until("the sleeper in the detail view", DEADLINE, |app| {
        app.view.visible.db_sessions.contains(&sleeper_pid)
    })
    .await;
    let at = c
        .app
        .view
        .visible
        .db_sessions
        .iter()
        .position(|pid| *pid == sleeper_pid)
        .unwrap();
    for _ in 0..at {
        c.press_str("j");
    }
    assert!(
        matches!(c.app.screen().selection(), Selection::Session { pid, .. } if pid == sleeper_pid),
        "{:?}",
        c.app.screen().selection()
    );
    let reason = "role \"postgres\" is a superuser: only a superuser may signal its sessions";
    let offers = c.app.screen().offers();
    for verb in [Verb::Cancel, Verb::Kill] {
        let offer = offers.iter().find(|o| o.verb == verb).expect("offered");
        assert_eq!(offer.enabled, Err(reason.to_string()), "{verb:?}");
    }
    // Pressing the key says why; no dialog opens, nothing is previewed or signalled.
    c.press_str("c");
    assert!(c.app.view.modal.is_none(), "{:?}", c.app.view.modal);
    assert!(
        c.toast_texts()
            .contains(&format!("cancel query: not possible: {reason}")),
        "{:?}",
        c.toast_texts()
    );
    c.press_str("K");
    assert!(c.app.view.modal.is_none(), "{:?}", c.app.view.modal);
    assert!(
        !c.effects_seen()
            .iter()
            .any(|e| matches!(e, Effect::Preview { .. } | Effect::Execute { .. })),
        "{:#?}",
        c.effects_seen()
    );
    assert!(!running.is_finished(), "the superuser's query still runs");
    running.abort();
}

/// A `redis-server` of the test's own on a free loopback port, killed on Drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let server = Self { child, port };
        until("redis-server to answer", || async {
            server.connection().await.is_some()
        })
        .await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut connection = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .ok()?;
        Some(connection)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_config(url: &str) -> RedisConfig {
    toml::from_str(&format!("name = \"cache\"\nurl = \"{url}\"")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_client_kill_by_id() {
    let server = RedisServer::start().await;
    let config = redis_config(&server.url());
    let mut victim = server.connection().await.unwrap();
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("victim")
        .query_async::<String>(&mut victim)
        .await
        .unwrap();
    let mut observer = server.connection().await.unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut observer)
        .await
        .unwrap();
    let id: u64 = list
        .lines()
        .find(|line| line.split(' ').any(|kv| kv == "name=victim"))
        .and_then(|line| line.split(' ').find_map(|kv| kv.strip_prefix("id=")))
        .and_then(|id| id.parse().ok())
        .expect("the victim in CLIENT LIST");

    let line = preview_redis(&config, id).await.unwrap().unwrap();
    assert!(line.starts_with(&format!("id={id} ")), "{line}");
    assert!(line.contains(" name=victim "), "{line}");

    assert_eq!(
        execute_redis(&config, id).await.unwrap(),
        format!("killed client {id}")
    );
    assert!(
        redis::cmd("PING")
            .query_async::<String>(&mut victim)
            .await
            .is_err(),
        "a killed client's next command fails"
    );
    assert_eq!(
        execute_redis(&config, id).await.unwrap_err(),
        format!("no client with id {id} (already gone?)")
    );
    assert_eq!(
        preview_redis(&config, id).await.unwrap_err(),
        format!("no client with id {id}")
    );
    // The observer was not touched.
    redis::cmd("PING")
        .query_async::<String>(&mut observer)
        .await
        .unwrap();

    // Passwords in the URL never show in errors (no password configured; nothing listening).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for url in [
        format!("redis://:hunter22pw@127.0.0.1:{}", server.port),
        format!("redis://:hunter22pw@127.0.0.1:{closed}"),
    ] {
        let error = execute_redis(&redis_config(&url), id).await.unwrap_err();
        assert!(!error.contains("hunter22pw"), "{error}");
        let error = preview_redis(&redis_config(&url), id).await.unwrap_err();
        assert!(!error.contains("hunter22pw"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_database_leaks_are_previewed_and_terminated() {
    let sim = Sim::start(
        Scenario::builtin("incident").unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let address = format!("simulated+http://{}", sim.addr);
    let config: PostgresConfig =
        toml::from_str(&format!("name = \"platform\"\ndsn = \"{address}\"")).unwrap();
    let action = ActionKind::PgTerminateIdle {
        older_than_secs: 300,
    };

    let preview = preview_pg(&config, &action).await.unwrap();
    assert!(!preview.is_empty(), "the incident has leaked sessions");
    for target in &preview {
        assert_eq!(target.state.as_deref(), Some("idle in transaction"));
        assert!(target.seconds.unwrap() > 300.0, "{target:?}");
        assert_ne!(target.pid, 29_999, "the console's own session");
    }
    assert!(
        preview
            .windows(2)
            .all(|w| w[0].seconds.unwrap() >= w[1].seconds.unwrap()),
        "oldest first"
    );
    let pids: Vec<i32> = preview.iter().map(|t| t.pid).collect();

    let outcome = execute_pg(&config, &action).await.unwrap();
    assert_eq!(sorted(outcome.signalled.clone()), sorted(pids.clone()));
    assert!(outcome.failed.is_empty());
    assert!(
        outcome
            .summary
            .starts_with(&format!("terminated {} sessions (pids ", pids.len())),
        "{}",
        outcome.summary
    );
    assert!(outcome.summary.ends_with("(simulated)"));
    assert!(preview_pg(&config, &action).await.unwrap().is_empty());

    // The simulated console session and unknown pids are refused.
    for pid in [29_999, pids[0]] {
        let error = preview_pg(&config, &ActionKind::PgTerminate { pid })
            .await
            .unwrap_err();
        assert!(error.contains("not a client session"), "{error}");
    }

    let cache = redis_config(&address);
    let line = preview_redis(&cache, 100).await.unwrap().unwrap();
    assert!(line.starts_with("id=100 "), "{line}");
    assert_eq!(
        execute_redis(&cache, 100).await.unwrap(),
        "simulated: client 100 would be killed"
    );
    sim.shutdown().await;
}
