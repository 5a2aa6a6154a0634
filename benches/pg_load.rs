//! The monitoring load the console puts on PostgreSQL, per refresh, with the server near its
//! connection limit (90 of 100 connections open, some idle in transaction, a blocking chain).
//!
//! Starts a private PostgreSQL with pg_stat_statements, stages the sessions, runs the console's
//! refresh (`sources::postgres::Monitor`) N times and reports, from pg_stat_statements, the
//! statements it ran per refresh and their server execution time, plus the client-side wall time
//! and an EXPLAIN ANALYZE of the sessions query.
//!
//! Run: `cargo bench --bench pg_load` (numbers in BENCHMARKS.md).

// Shared with the tests; the bench uses part of it.
#[allow(dead_code)]
#[path = "../tests/it/support/pg_server.rs"]
mod pg_server;

use std::time::{Duration, Instant};

use pg_server::PgServer;
use watchfloor::config::PostgresConfig;
use watchfloor::sources::postgres::{Monitor, SESSIONS_SQL};

const REFRESHES: usize = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let server = PgServer::start_with(&[
        ("max_connections", "100"),
        ("shared_preload_libraries", "pg_stat_statements"),
        ("pg_stat_statements.track", "all"),
    ]);
    server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    server.psql("CREATE TABLE IF NOT EXISTS orders (id int primary key, state text)");
    server.psql(
        "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 100) g ON CONFLICT DO NOTHING",
    );

    // 89 staged sessions + the console = 90 of 100.
    let mut held = Vec::new();
    for i in 0..60 {
        held.push(server.connect("postgres", &format!("app-idle-{i}")).await);
    }
    for i in 0..20 {
        let c = server.connect("postgres", &format!("app-leak-{i}")).await;
        c.batch_execute(&format!(
            "BEGIN; UPDATE orders SET state = 'x' WHERE id = {}",
            50 + i
        ))
        .await
        .expect("leak");
        held.push(c);
    }
    let mut sleepers = Vec::new();
    for i in 0..6 {
        let c = server.connect("postgres", &format!("app-active-{i}")).await;
        sleepers.push(tokio::spawn(async move {
            let _ = c.simple_query("SELECT pg_sleep(600)").await;
        }));
    }
    // A three-deep chain behind a row lock.
    let root = server.connect("postgres", "chain-root").await;
    root.batch_execute("BEGIN; UPDATE orders SET state = 'root' WHERE id = 1")
        .await
        .expect("root");
    for i in 0..2 {
        let c = server.connect("postgres", &format!("chain-{i}")).await;
        sleepers.push(tokio::spawn(async move {
            let _ = c
                .simple_query("UPDATE orders SET state = 'wait' WHERE id = 1")
                .await;
        }));
    }
    held.push(root);

    let config: PostgresConfig = toml::from_str(&format!(
        "name = \"bench\"\ndsn = \"{}\"\nrefresh = \"2s\"",
        server.dsn("postgres")
    ))
    .expect("config");
    let monitor = Monitor::open(&config).await.expect("monitor");
    // Wait until the staged sessions are all visible (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    let used = loop {
        let sample = monitor.refresh().await.expect("refresh");
        let used = sample.sessions.len();
        if used >= 90 || Instant::now() > deadline {
            break used;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.psql("SELECT pg_stat_statements_reset()");

    let mut walls = Vec::with_capacity(REFRESHES);
    for _ in 0..REFRESHES {
        let started = Instant::now();
        let sample = monitor.refresh().await.expect("refresh");
        walls.push(started.elapsed());
        assert!(sample.sessions.len() >= 80);
    }
    walls.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = walls[walls.len() / 2];
    let p99 = walls[walls.len() * 99 / 100];

    let stats = server.psql(
        "SELECT calls, round(total_exec_time::numeric, 3), round(mean_exec_time::numeric, 4), \
         rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) \
         FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' \
         ORDER BY total_exec_time DESC",
    );
    let explain = monitor
        .client()
        .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {SESSIONS_SQL}"), &[])
        .await
        .expect("explain");
    let plan: Vec<String> = explain.iter().map(|r| r.get::<_, String>(0)).collect();

    println!("pg_load: {used} of 100 connections in use (max_connections = 100)");
    println!("pg_load: {REFRESHES} refreshes");
    println!(
        "pg_load: client wall time per refresh: p50 {:.3} ms, p99 {:.3} ms",
        ms(p50),
        ms(p99)
    );
    println!("pg_load: pg_stat_statements (calls | total ms | mean ms | rows | query):");
    for line in stats.lines().filter(|l| !l.trim().is_empty()) {
        println!("  {line}");
    }
    println!("pg_load: EXPLAIN ANALYZE of the sessions query:");
    for line in plan.iter().filter(|l| {
        l.contains("Execution Time") || l.contains("Planning Time") || l.starts_with("Sort")
    }) {
        println!("  {line}");
    }
    for s in sleepers {
        s.abort();
    }
    drop(held);
}
