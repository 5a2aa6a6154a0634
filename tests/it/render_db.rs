//! The DB pane through TestBackend: per-database blocks (gauge, states, privileges, long-running
//! queries, old idle transactions, blocking trees, top clients), a database in error showing its
//! last figures, simulated data, the sessions and client-list detail views, and small sizes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use watchfloor::app::{Action, App};
use watchfloor::config::{ThemeName, parse};
use watchfloor::db::DbUpdate;
use watchfloor::db::postgres::{
    BlockedNode, BlockingChain, IdleInTransaction, LongRunning, PgSample, PgStatus, Privileges,
    STATES, Session, Thresholds, TopClient,
};
use watchfloor::db::redis::{RedisClient, RedisCounters, RedisStatus};
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::ui::theme::{ColorSupport, Theme};

const CONFIG: &str = r#"
[[targets]]
name = "prod"
[[targets.postgres]]
name = "platform-db"
dsn = "postgres://watchfloor:hunter2@platform-db:5432/platform"
[[targets.postgres]]
name = "billing-db"
dsn = "host=billing-db user=watchfloor password=hunter2"
[[targets.redis]]
name = "platform-cache"
url = "redis://cache:6379"
"#;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn theme() -> Theme {
    Theme::new(ThemeName::Dark, ColorSupport::Ansi256)
}

#[derive(Clone, Copy)]
struct Ages {
    query: Option<f64>,
    state: Option<f64>,
    xact: Option<f64>,
}

fn ages(query: f64, state: f64, xact: Option<f64>) -> Ages {
    Ages {
        query: Some(query),
        state: Some(state),
        xact,
    }
}

fn session(
    pid: i32,
    (user, app, addr): (&str, &str, &str),
    state: &str,
    ages: Ages,
    query: &str,
) -> Session {
    Session {
        pid,
        usename: Some(user.into()),
        application_name: Some(app.into()),
        client_addr: Some(addr.into()),
        datname: Some("platform".into()),
        state: Some(state.into()),
        wait_event_type: (state == "idle").then(|| "Client".to_string()),
        wait_event: (state == "idle").then(|| "ClientRead".to_string()),
        backend_type: Some("client backend".into()),
        query_age: ages.query,
        state_age: ages.state,
        xact_age: ages.xact,
        backend_age: Some(86_400.0),
        query: Some(query.into()),
        blocked_by: Vec::new(),
        own: false,
        role_superuser: Some(false),
        role_privileges: Some(false),
    }
}

fn waiting(mut s: Session, on: i32, event: &str) -> Session {
    s.wait_event_type = Some("Lock".into());
    s.wait_event = Some(event.into());
    s.blocked_by = vec![on];
    s
}

/// Another role's session, as a console without pg_read_all_stats sees it.
fn hidden(pid: i32) -> Session {
    Session {
        pid,
        usename: Some("etl".into()),
        application_name: Some("airflow".into()),
        client_addr: None,
        datname: Some("platform".into()),
        state: None,
        wait_event_type: None,
        wait_event: None,
        backend_type: None,
        query_age: None,
        state_age: None,
        xact_age: None,
        backend_age: None,
        query: None,
        blocked_by: Vec::new(),
        own: false,
        role_superuser: Some(false),
        role_privileges: Some(false),
    }
}

const BILLING: (&str, &str, &str) = ("billing", "billing-worker", "10.0.3.12");

/// Counts and top clients as the source derives them.
fn status(name: &str, sample: PgSample, level: Health) -> PgStatus {
    let mut by_state: BTreeMap<String, u32> = STATES.iter().map(|s| (s.to_string(), 0)).collect();
    let mut clients: BTreeMap<String, u32> = BTreeMap::new();
    for s in &sample.sessions {
        let state = s
            .state
            .clone()
            .filter(|st| STATES.contains(&st.as_str()))
            .unwrap_or_else(|| "unknown".into());
        *by_state.entry(state).or_default() += 1;
        let part = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let label = format!(
            "{} · {} · {}",
            part(&s.application_name),
            part(&s.usename),
            part(&s.client_addr)
        );
        *clients.entry(label).or_default() += 1;
    }
    let mut top_clients: Vec<TopClient> = clients
        .into_iter()
        .map(|(label, sessions)| TopClient { label, sessions })
        .collect();
    top_clients.sort_by_key(|c| std::cmp::Reverse(c.sessions));
    top_clients.truncate(5);
    PgStatus {
        name: name.into(),
        used: sample.sessions.len() as u32,
        usable: sample.max_connections - sample.superuser_reserved,
        level,
        by_state,
        long_running: Vec::new(),
        idle_in_transaction: Vec::new(),
        blocking: Vec::new(),
        top_clients,
        thresholds: Thresholds::default(),
        sample,
    }
}

/// 38 of 42 usable slots: a 3-deep blocking chain behind an idle transaction, a long report,
/// two old idle transactions, six sessions the role cannot see.
fn platform_db() -> PgStatus {
    let mut sessions = vec![
        Session {
            own: true,
            ..session(
                7001,
                ("watchfloor", "watchfloor", "10.0.9.2"),
                "active",
                ages(0.01, 0.01, Some(0.01)),
                "SELECT pid, usename, application_name, state FROM pg_stat_activity",
            )
        },
        session(
            4100,
            BILLING,
            "idle in transaction",
            ages(2660.0, 2650.0, Some(2710.0)),
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        ),
        waiting(
            session(
                4200,
                BILLING,
                "active",
                ages(720.0, 720.0, Some(725.0)),
                "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            ),
            4100,
            "transactionid",
        ),
        waiting(
            session(
                4300,
                BILLING,
                "active",
                ages(690.0, 690.0, Some(690.0)),
                "UPDATE accounts SET frozen = true WHERE id = $1",
            ),
            4200,
            "tuple",
        ),
        waiting(
            session(
                4400,
                ("billing", "ledger-sync", "10.0.3.13"),
                "active",
                ages(650.0, 650.0, Some(650.0)),
                "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
            ),
            4300,
            "tuple",
        ),
        waiting(
            session(
                4201,
                BILLING,
                "active",
                ages(240.0, 240.0, Some(241.0)),
                "DELETE FROM holds WHERE account_id = $1",
            ),
            4100,
            "transactionid",
        ),
        session(
            5120,
            ("analyst", "metabase", "10.0.5.20"),
            "active",
            ages(1843.0, 1843.0, Some(1843.0)),
            "SELECT date_trunc('day', o.created_at) AS day, count(*), sum(li.amount) FROM orders o JOIN line_items li ON li.order_id = o.id WHERE o.created_at > now() - interval '90 days' GROUP BY 1 ORDER BY 1",
        ),
        session(
            5150,
            ("checkout", "checkout-api", "10.0.3.14"),
            "idle in transaction",
            ages(7835.0, 7830.0, Some(7900.0)),
            "SELECT * FROM carts WHERE id = $1 FOR UPDATE",
        ),
        session(
            5151,
            ("alice", "psql", "10.0.8.7"),
            "idle in transaction (aborted)",
            Ages {
                query: Some(4010.0),
                state: Some(4000.0),
                xact: None,
            },
            "INSERT INTO refunds (order_id, amount) VALUES (1042, 19.99)",
        ),
    ];
    sessions.extend((6001..=6006).map(hidden));
    for i in 0..20 {
        let addr = if i < 12 { "10.0.3.21" } else { "10.0.3.22" };
        let active = i % 5 == 0;
        sessions.push(session(
            3001 + i,
            ("platform", "platform-api", addr),
            if active { "active" } else { "idle" },
            ages(0.2 + f64::from(i) * 3.0, 0.2 + f64::from(i) * 3.0, None),
            if active {
                "SELECT id, status FROM orders WHERE customer_id = $1"
            } else {
                "COMMIT"
            },
        ));
    }
    for pid in 3101..=3103 {
        sessions.push(session(
            pid,
            BILLING,
            "idle",
            ages(12.0, 12.0, None),
            "COMMIT",
        ));
    }
    let sample = PgSample {
        server_version: "16.4".into(),
        max_connections: 45,
        superuser_reserved: 3,
        own_pid: 7001,
        privileges: Privileges::default(),
        database: None,
        sessions,
        query_ms: 3.2,
        simulated: false,
    };
    let mut status = status("platform-db", sample, Health::Warn);
    let node = |pid, depth, waits_for, event: &str, seconds, query: &str| BlockedNode {
        pid,
        depth,
        waits_for,
        wait: Some(format!("Lock:{event}")),
        seconds: Some(seconds),
        query: query.into(),
    };
    status.blocking = vec![BlockingChain {
        root: 4100,
        root_state: "idle in transaction".into(),
        root_seconds: Some(2710.0),
        root_query: "UPDATE accounts SET balance = balance - $1 WHERE id = $2".into(),
        blocked: vec![
            node(
                4200,
                1,
                4100,
                "transactionid",
                720.0,
                "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            ),
            node(
                4300,
                2,
                4200,
                "tuple",
                690.0,
                "UPDATE accounts SET frozen = true WHERE id = $1",
            ),
            node(
                4400,
                3,
                4300,
                "tuple",
                650.0,
                "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
            ),
            node(
                4201,
                1,
                4100,
                "transactionid",
                240.0,
                "DELETE FROM holds WHERE account_id = $1",
            ),
        ],
        depth: 3,
    }];
    let long = |pid, seconds, wait: Option<&str>, user: &str, query: &str| LongRunning {
        pid,
        seconds,
        state: "active".into(),
        wait: wait.map(str::to_string),
        query: query.into(),
        usename: Some(user.into()),
    };
    status.long_running = vec![
        long(
            5120,
            1843.0,
            None,
            "analyst",
            "SELECT date_trunc('day', o.created_at) AS day, count(*), sum(li.amount) FROM orders o JOIN line_items li ON li.order_id = o.id WHERE o.created_at > now() - interval '90 days' GROUP BY 1 ORDER BY 1",
        ),
        long(
            4200,
            720.0,
            Some("Lock:transactionid"),
            "billing",
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
        ),
        long(
            4300,
            690.0,
            Some("Lock:tuple"),
            "billing",
            "UPDATE accounts SET frozen = true WHERE id = $1",
        ),
        long(
            4400,
            650.0,
            Some("Lock:tuple"),
            "billing",
            "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
        ),
    ];
    status.idle_in_transaction = vec![
        IdleInTransaction {
            pid: 5150,
            seconds: 7830.0,
            aborted: false,
            usename: Some("checkout".into()),
            application_name: Some("checkout-api".into()),
            query: "SELECT * FROM carts WHERE id = $1 FOR UPDATE".into(),
        },
        IdleInTransaction {
            pid: 5151,
            seconds: 4000.0,
            aborted: true,
            usename: Some("alice".into()),
            application_name: Some("psql".into()),
            query: "INSERT INTO refunds (order_id, amount) VALUES (1042, 19.99)".into(),
        },
    ];
    status
}

/// A quiet database whose role sees and signals everything.
fn billing_db() -> PgStatus {
    let mut sessions = vec![Session {
        own: true,
        ..session(
            9001,
            ("watchfloor", "watchfloor", "10.0.9.2"),
            "active",
            ages(0.01, 0.01, Some(0.01)),
            "SELECT pid FROM pg_stat_activity",
        )
    }];
    for i in 0..11 {
        sessions.push(session(
            8001 + i,
            ("ledger", "ledger-api", "10.0.4.11"),
            if i < 2 { "active" } else { "idle" },
            ages(1.5, 1.5, None),
            "SELECT balance FROM ledger WHERE account_id = $1",
        ));
    }
    let sample = PgSample {
        server_version: "15.7".into(),
        max_connections: 100,
        superuser_reserved: 3,
        own_pid: 9001,
        privileges: Privileges {
            superuser: false,
            read_all_stats: true,
            signal_backend: true,
        },
        database: None,
        sessions,
        query_ms: 1.1,
        simulated: false,
    };
    status("billing-db", sample, Health::Ok)
}

fn platform_cache() -> RedisStatus {
    let client = |id: u64, addr: &str, name: &str, age: u64, idle: u64, flags: &str, cmd: &str| {
        RedisClient {
            id,
            addr: addr.into(),
            name: name.into(),
            age,
            idle,
            flags: flags.into(),
            db: 0,
            cmd: cmd.into(),
            user: "default".into(),
        }
    };
    let mut clients = vec![
        client(
            17,
            "10.0.3.40:51234",
            "celery-beat",
            90_000,
            86_000,
            "N",
            "get",
        ),
        client(
            203,
            "10.0.3.21:40112",
            "platform-api",
            7_300,
            3_700,
            "N",
            "client|setname",
        ),
        client(311, "10.0.3.33:38810", "", 4_000, 610, "N", "ping"),
        client(
            412,
            "10.0.3.50:60002",
            "queue-worker",
            3_000,
            42,
            "b",
            "blpop",
        ),
        client(
            413,
            "10.0.3.51:60004",
            "queue-worker",
            3_000,
            41,
            "b",
            "blpop",
        ),
        client(
            414,
            "10.0.3.52:60006",
            "queue-worker",
            3_000,
            40,
            "b",
            "blpop",
        ),
    ];
    clients.extend((0..10).map(|i| {
        client(
            500 + i,
            &format!("10.0.3.2{}:4{i}000", i % 2 + 1),
            "platform-api",
            1_200,
            3 - i / 4,
            "N",
            "get",
        )
    }));
    clients.push(client(
        999,
        "10.0.9.2:33333",
        "watchfloor",
        600,
        0,
        "N",
        "client|list",
    ));
    RedisStatus {
        name: "platform-cache".into(),
        version: "7.2.4".into(),
        connected_clients: 412,
        maxclients: Some(10_000),
        blocked_clients: 3,
        used_memory: 1_857_000_000,
        maxmemory: 2_147_483_648,
        policy: "allkeys-lru".into(),
        evicted_per_s: Some(35.2),
        rejected_per_s: Some(0.0),
        ops_per_s: 18_230,
        hit_ratio: Some(0.942),
        evicted_total: 1_204_551,
        rejected_total: 0,
        clients,
        counters: RedisCounters::default(),
        level: Health::Warn,
        simulated: false,
    }
}

fn app_with(platform: PgStatus, cache: RedisStatus) -> App {
    let config = parse(Path::new("db.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "db.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    let report = |index, state, at| {
        Action::Backend(SourceEvent::State {
            generation,
            index,
            state,
            at,
        })
    };
    app.update(report(0, SourceState::Live, t0() - Duration::from_secs(1)));
    // billing-db answered 40 s ago, then its connection was refused.
    app.update(report(1, SourceState::Live, t0() - Duration::from_secs(40)));
    app.update(report(
        1,
        SourceState::Error {
            reason: "connection refused".into(),
            retry_at: Some(t0() + Duration::from_secs(4)),
        },
        t0(),
    ));
    app.update(report(2, SourceState::Live, t0()));
    for update in [
        DbUpdate::Postgres {
            index: 0,
            status: Box::new(platform),
        },
        DbUpdate::Postgres {
            index: 1,
            status: Box::new(billing_db()),
        },
        DbUpdate::Redis {
            index: 0,
            status: Box::new(cache),
        },
    ] {
        app.update(Action::Backend(SourceEvent::Db { generation, update }));
    }
    app.prepare_view();
    app
}

fn app() -> App {
    app_with(platform_db(), platform_cache())
}

fn press(app: &mut App, codes: &[KeyCode]) {
    for code in codes {
        app.update(Action::Key(KeyEvent::from(*code)));
    }
    app.prepare_view();
}

fn draw(app: &App, (width, height): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| watchfloor::ui::render(frame, &app.screen(), &theme()))
        .unwrap();
    terminal
}

fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn screen(app: &App, size: (u16, u16)) -> String {
    text(draw(app, size).backend().buffer())
}

/// The first cell whose row contains `needle`, at the needle's start.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buffer);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("{needle:?} not on screen:\n{screen}");
}

#[test]
fn stacked_80x24_shows_the_selected_database_and_folds_the_rest() {
    let mut app = app();
    let summary = screen(&app, (80, 24));
    let line = summary
        .lines()
        .find(|l| l.contains("3 DB connections"))
        .unwrap();
    assert!(
        line.contains("3 DB connections · platform-db 38/42 ▮▮▮▮▯ 1 chain 2 idle-in-tx 4 long"),
        "the one-line summary:\n{summary}"
    );
    insta::assert_snapshot!("db_summary_80x24", summary);

    press(&mut app, &[KeyCode::Char('3')]);
    let screen = screen(&app, (80, 24));
    for needle in [
        "▸ platform-db · 38/42 (max 45, 3 reserved)",
        "6 hidden: role lacks pg_read_all_stats",
        "blocking: 1 chain · 4 waiting · depth 3",
        "├─ 4200",
        "│  └─ 4300",
        "│     └─ 4400",
        "billing-db · 12/97",
        "ERROR · data 40s old",
        "platform-cache · clients 412/10000",
    ] {
        assert!(screen.contains(needle), "{needle:?}:\n{screen}");
    }
    assert!(!screen.contains("hunter2"));
    insta::assert_snapshot!("db_80x24", screen);
}

#[test]
fn tiled_and_zoomed_160x45() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3')]);
    let tiled = screen(&app, (160, 45));
    assert!(tiled.contains("1 Pods") && tiled.contains("▸ platform-db"));
    insta::assert_snapshot!("db_tiled_160x45", tiled);
    press(&mut app, &[KeyCode::Char('z')]);
    let zoomed = screen(&app, (160, 45));
    for needle in [
        "active 10 · idle 19 · idle in tx 2 · aborted tx 1 · fastpath 0 · disabled 0 · unknown 6",
        "└─ 4201  Lock:transactionid  4m00s  DELETE FROM holds",
        "long-running > 5m00s: 4",
        "idle in transaction > 1h00m: 2",
        "2h10m",
        "aborted",
        "top clients",
        "12  platform-api · platform · 10.0.3.21",
        "memory 1.7 GiB / 2.0 GiB (86%) allkeys-lru · evicted 35/s · rejected 0/s",
        "18230 ops/s · hit ratio 94.2% · blocked 3 · Redis 7.2.4",
        "error: connection refused · retry in 4s · data 40s old",
    ] {
        assert!(zoomed.contains(needle), "{needle:?}:\n{zoomed}");
    }
    insta::assert_snapshot!("db_zoomed_160x45", zoomed);
}

#[test]
fn sessions_detail_sorted_by_age_then_state() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Enter]);
    let by_age = screen(&app, (120, 40));
    assert!(by_age.contains("sorted by age (o)"), "{by_age}");
    // Oldest transaction first: the idle-in-transaction checkout session.
    let first = by_age.find("5150").unwrap();
    let second = by_age.find("4100").unwrap();
    assert!(first < second, "{by_age}");
    insta::assert_snapshot!("db_sessions_by_age_120x40", by_age);

    press(
        &mut app,
        &[KeyCode::Char('j'), KeyCode::Char('j'), KeyCode::Char('o')],
    );
    let by_state = screen(&app, (120, 40));
    assert!(by_state.contains("sorted by state (o)"), "{by_state}");
    assert!(by_state.contains("(this console)"), "{by_state}");
    insta::assert_snapshot!("db_sessions_by_state_120x40", by_state);

    // The cursor stays on screen at the bottom of a long list, narrow terminal.
    press(&mut app, &[KeyCode::Char('G')]);
    let bottom = screen(&app, (80, 24));
    assert!(bottom.contains("38/38"), "{bottom}");
    assert!(bottom.contains("aborted tx"), "{bottom}");
    insta::assert_snapshot!("db_sessions_bottom_80x24", bottom);
}

#[test]
fn redis_client_list() {
    let mut app = app();
    press(
        &mut app,
        &[
            KeyCode::Char('3'),
            KeyCode::Char('j'),
            KeyCode::Char('j'),
            KeyCode::Enter,
        ],
    );
    let screen = screen(&app, (120, 40));
    assert!(
        screen.contains("412 connected · CLIENT LIST: 17 listed, most idle first"),
        "{screen}"
    );
    let celery = screen.find("celery-beat").unwrap();
    let console = screen.find("client|list").unwrap();
    assert!(celery < console, "most idle first:\n{screen}");
    insta::assert_snapshot!("db_redis_clients_120x40", screen);
}

#[test]
fn database_in_error_keeps_its_last_figures_dimmed() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Char('j')]);
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let screen = text(buffer);
    assert!(
        screen.contains(
            "error: connection refused · retry in 4s · data 40s old · showing the last good sample"
        ),
        "{screen}"
    );
    assert!(screen.contains("▸ billing-db · 12/97"), "{screen}");
    insta::assert_snapshot!("db_error_120x40", screen);
    let theme = theme();
    let error = find(buffer, "error: connection refused");
    assert_eq!(buffer[error].fg, theme.crit.fg.unwrap());
    // The old figures are muted; the live database's gauge keeps its level colour.
    let old = find(buffer, "12/97");
    assert_eq!(buffer[old].fg, theme.muted.fg.unwrap());
    let live = find(buffer, "38/42");
    assert_eq!(buffer[live].fg, theme.warn.fg.unwrap());
}

#[test]
fn simulated_figures_are_labelled() {
    let mut platform = platform_db();
    platform.sample.simulated = true;
    let mut cache = platform_cache();
    cache.simulated = true;
    let mut app = app_with(platform, cache);
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Char('z')]);
    let screen = screen(&app, (120, 40));
    assert!(
        screen.contains("platform-db  SIMULATED  · 38/42"),
        "{screen}"
    );
    assert!(
        screen.contains("platform-cache  SIMULATED  · clients"),
        "{screen}"
    );
    insta::assert_snapshot!("db_simulated_120x40", screen);
    press(&mut app, &[KeyCode::Char('z'), KeyCode::Char('1')]);
    let summary = self::screen(&app, (80, 24));
    assert!(summary.contains("SIM"), "{summary}");
}

#[test]
fn a_database_without_data_says_what_it_waits_for() {
    let config = parse(Path::new("db.toml"), CONFIG).unwrap();
    let mut app = App::new(
        Arc::new(config),
        "db.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    press(&mut app, &[KeyCode::Char('3')]);
    let screen = screen(&app, (80, 24));
    assert!(screen.contains("platform-db · connecting…"), "{screen}");
    assert!(
        screen.contains("postgres · dsn: inline (redacted)"),
        "{screen}"
    );
    assert!(!screen.contains("hunter2"));
    press(&mut app, &[KeyCode::Enter]);
    let detail = self::screen(&app, (80, 24));
    assert!(
        detail.contains("platform-db · no sessions yet · connecting"),
        "{detail}"
    );
}

#[test]
fn tiny_sizes_never_panic_or_overflow() {
    let theme = theme();
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3')]);
    let views: [&[KeyCode]; 5] = [
        &[],
        &[KeyCode::Enter],
        &[KeyCode::Esc, KeyCode::Char('j')],
        &[KeyCode::Char('j'), KeyCode::Enter],
        &[KeyCode::Esc, KeyCode::Char('z')],
    ];
    for keys in views {
        press(&mut app, keys);
        // The pane's own drawing at sizes the console never gives it.
        for (width, height) in [(20, 3), (1, 1), (20, 1), (3, 20), (0, 0), (5, 2), (33, 7)] {
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal
                .draw(|frame| {
                    let area = frame.area();
                    watchfloor::ui::db::render(frame, area, &app.screen(), &theme);
                })
                .unwrap();
        }
        // The whole console from its minimum size up.
        for width in (40..=100).step_by(7) {
            for height in (8..=30).step_by(5) {
                let terminal = draw(&app, (width, height));
                for cell in terminal.backend().buffer().content() {
                    assert!(!cell.symbol().chars().any(char::is_control));
                }
            }
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(20, 3)).unwrap();
    terminal
        .draw(|frame| {
            let area = frame.area();
            watchfloor::ui::db::render(frame, area, &app.screen(), &theme);
        })
        .unwrap();
    insta::assert_snapshot!("db_tiny_20x3", text(terminal.backend().buffer()));
}

/// Moves the sessions list's cursor to `pid` (the list is open).
fn select_session(app: &mut App, pid: i32) {
    let at = app
        .view
        .visible
        .db_sessions
        .iter()
        .position(|p| *p == pid)
        .unwrap_or_else(|| panic!("{pid} listed"));
    press(app, &[KeyCode::Char('g')]);
    for _ in 0..at {
        press(app, &[KeyCode::Char('j')]);
    }
}

#[test]
fn session_detail_shows_the_whole_query_its_times_and_its_locks() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Enter]);
    select_session(&mut app, 4200);
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen().selected_session().map(|s| s.pid), Some(4200));
    let wide = screen(&app, (120, 40));
    for needle in [
        "session 4200 · platform-db · live",
        "active",
        "Lock:transactionid",
        "billing",
        "10.0.3.12",
        // Ages as of the refresh (1 s before now), and the clock time they point at.
        "backend start",
        "xact start  12m06s ago (07:47:54 UTC)",
        "query start  12m01s ago (07:47:59 UTC)",
        "Blocked by (1, pg_blocking_pids)",
        "4100  idle in tx",
        "Blocks (1 waiting for it)",
        "4300  active  Lock:tuple",
        "1 deep of the chain rooted at 4100",
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
    ] {
        assert!(wide.contains(needle), "{needle:?}:\n{wide}");
    }
    assert!(!wide.contains("hunter2"));
    insta::assert_snapshot!("session_detail_120x40", wide);
    let narrow = screen(&app, (80, 24));
    assert!(narrow.contains("session 4200"), "{narrow}");
    insta::assert_snapshot!("session_detail_80x24", narrow);

    // Esc: back to the list, the cursor still on the session.
    press(&mut app, &[KeyCode::Esc]);
    let list = screen(&app, (120, 40));
    assert!(list.contains("sorted by age"), "{list}");
    assert_eq!(app.screen().selected_session().map(|s| s.pid), Some(4200));
}

#[test]
fn a_long_query_wraps_whole_and_the_detail_scrolls_to_its_end() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Enter]);
    select_session(&mut app, 5120);
    press(&mut app, &[KeyCode::Enter]);
    let top = screen(&app, (80, 24));
    assert!(top.contains("session 5120"), "{top}");
    assert!(!top.contains("Esc: back to the sessions"), "{top}");
    // A page down shows the rest: the query's end and the way back.
    press(&mut app, &[KeyCode::PageDown]);
    let end = screen(&app, (80, 24));
    assert!(end.contains("ORDER BY 1"), "{end}");
    assert!(end.contains("Esc: back to the sessions"), "{end}");
    assert!(
        !end.contains("session 5120 ·"),
        "scrolled by a page:\n{end}"
    );
    // Scrolling stops at the last page: one key up moves at once.
    let at_end = app.view.panes[2].session_scroll;
    press(&mut app, &[KeyCode::PageDown, KeyCode::PageDown]);
    assert_eq!(app.view.panes[2].session_scroll, at_end);
    screen(&app, (80, 24));
    press(&mut app, &[KeyCode::Char('k')]);
    assert_eq!(app.view.panes[2].session_scroll, at_end - 1);
}

#[test]
fn sessions_sort_by_wait_with_waiting_sessions_first_and_reverse() {
    let mut app = app();
    press(&mut app, &[KeyCode::Char('3'), KeyCode::Enter]);
    press(&mut app, &[KeyCode::Char('o'), KeyCode::Char('o')]);
    let by_wait = screen(&app, (120, 40));
    assert!(by_wait.contains("WAIT↑"), "{by_wait}");
    assert!(by_wait.contains("sorted by wait (o)"), "{by_wait}");
    let waiting_first = |app: &App| {
        let order = &app.view.visible.db_sessions;
        let at = |pid: i32| order.iter().position(|p| *p == pid).unwrap();
        let last_waiting = [4200, 4300, 4400, 4201].map(at).into_iter().max().unwrap();
        // Not waiting: in a transaction, the console itself, idle for its client.
        last_waiting < [4100, 7001, 5120].map(at).into_iter().min().unwrap()
    };
    assert!(waiting_first(&app), "{by_wait}");
    press(&mut app, &[KeyCode::Char('O')]);
    let reversed = screen(&app, (120, 40));
    assert!(reversed.contains("WAIT↓"), "{reversed}");
    assert!(reversed.contains("sorted by wait, reversed"), "{reversed}");
    // Turned round, sessions that wait still come first.
    assert!(waiting_first(&app), "{reversed}");
}
