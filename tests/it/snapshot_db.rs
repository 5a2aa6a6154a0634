//! `watchfloor snapshot`'s `postgres` and `redis` sections: against the machine's real PostgreSQL
//! (127.0.0.1:5432) and Redis (127.0.0.1:6379), which `scripts/test` starts, and against the
//! simulated platform's figures.

use std::time::Duration;

use watchfloor::config::TargetConfig;
use watchfloor::snapshot::{SectionState, collect};
use watchfloor_sim::{Scenario, Sim, SimOptions};

const FIELDS_PG: [&str; 10] = [
    "name",
    "state",
    "max_connections",
    "reserved",
    "used",
    "by_state",
    "long_running",
    "idle_in_transaction",
    "blocking",
    "privileges",
];

const FIELDS_REDIS: [&str; 12] = [
    "name",
    "state",
    "connected_clients",
    "maxclients",
    "blocked_clients",
    "used_memory",
    "maxmemory",
    "policy",
    "evicted_per_s",
    "rejected_per_s",
    "ops_per_s",
    "hit_ratio",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_redis_sections_are_filled() {
    let sim = Sim::start(
        Scenario::builtin("incident").unwrap(),
        ([127, 0, 0, 1], 0).into(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let addr = sim.addr;
    let target: TargetConfig = toml::from_str(&format!(
        r#"
name = "platform"
[[postgres]]
name = "local"
dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
[[postgres]]
name = "platform-db"
dsn = "simulated+http://{addr}"
idle_in_transaction_after = "5m"
[[redis]]
name = "local-cache"
url = "redis://127.0.0.1:6379"
[[redis]]
name = "platform-cache"
url = "simulated+http://{addr}"
"#
    ))
    .unwrap();
    let snapshot = collect(&target, false, Duration::from_secs(20)).await;
    assert_eq!(
        snapshot.postgres.state,
        SectionState::Ok,
        "{:?}",
        snapshot.postgres.error
    );
    assert_eq!(
        snapshot.redis.state,
        SectionState::Ok,
        "{:?}",
        snapshot.redis.error
    );

    let pg = &snapshot.postgres.items;
    assert_eq!(pg.len(), 2);
    for item in pg {
        for field in FIELDS_PG {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }
    let local = &pg[0];
    assert_eq!(local["name"], "local");
    assert_eq!(local["simulated"], false);
    assert!(
        local["used"].as_u64().unwrap() >= 1,
        "the snapshot's own session"
    );
    assert!(local["max_connections"].as_u64().unwrap() > 0);
    assert_eq!(local["privileges"]["superuser"], true);
    // The simulated platform: leaked sessions behind a two-deep chain.
    let sim_db = &pg[1];
    assert_eq!(sim_db["simulated"], true);
    assert_eq!(sim_db["max_connections"], 100);
    assert_eq!(sim_db["reserved"], 3);
    let idle = sim_db["idle_in_transaction"].as_array().unwrap();
    assert!(idle.len() > 20, "{sim_db}");
    assert!(idle.iter().all(|i| i["seconds"].as_u64().unwrap() > 300));
    let blocking = sim_db["blocking"].as_array().unwrap();
    assert_eq!(blocking.len(), 1, "{sim_db}");
    assert_eq!(blocking[0]["depth"], 2);
    assert_eq!(blocking[0]["blocked"], serde_json::json!([29_001, 29_004]));
    // Every leaked session counts by state; only those past the threshold are listed.
    assert!(sim_db["by_state"]["idle in transaction"].as_u64().unwrap() as usize >= idle.len());
    // The state reflects the open chain and the leaked transactions, not only the gauge.
    assert_eq!(sim_db["state"], "crit", "{sim_db}");
    assert!(
        blocking[0]["root_seconds"].as_u64().unwrap() > 300,
        "{sim_db}"
    );
    assert!(!blocking[0]["root_query"].as_str().unwrap().is_empty());

    // The paste-ready report names the chain's root and the idle-in-transaction count.
    let text = watchfloor::report::incident_text(&snapshot.redacted());
    let line = text
        .lines()
        .find(|l| l.starts_with("CRIT  postgres platform-db:"))
        .unwrap_or_else(|| panic!("no postgres headline:\n{text}"));
    assert!(line.contains("idle in transaction"), "{line}");
    assert!(line.contains("blocking chain root pid"), "{line}");
    assert!(!text.contains('{'), "no JSON in the text report:\n{text}");

    let redis = &snapshot.redis.items;
    assert_eq!(redis.len(), 2);
    for item in redis {
        for field in FIELDS_REDIS {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }
    assert!(redis[0]["connected_clients"].as_u64().unwrap() >= 1);
    assert_eq!(redis[1]["simulated"], true);
    assert_eq!(redis[1]["maxclients"], 10_000);
    sim.shutdown().await;
}

/// The paste-ready report of the demo's incident, line by line: the header, then headlines
/// worst first (critical, sources not read, warnings), then the healthy sections; no JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_report_lists_problems_worst_first() {
    let demo = watchfloor::demo::Demo::start(Scenario::builtin("incident").unwrap())
        .await
        .unwrap();
    let loaded = demo.loaded_config(&watchfloor::demo::LocalServers::default());
    let target = &loaded.config.targets[0];
    let snapshot = collect(target, false, Duration::from_secs(20)).await;
    let text = watchfloor::report::incident_text(&snapshot.redacted());

    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("watchfloor · target demo (incident) · "),
        "{text}"
    );
    assert!(!text.contains('{'), "no JSON:\n{text}");
    // Levels never go back up: every CRIT line before every ERROR line before every WARN.
    let rank = |line: &str| match line.get(..5) {
        Some("CRIT ") => 0,
        Some("ERROR") => 1,
        Some("WARN ") => 2,
        _ => 3,
    };
    let ranks: Vec<u8> = lines[1..].iter().map(|l| rank(l)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "worst first:\n{text}"
    );
    let find = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{text}"))
    };
    // The paging SLO, the crashing operator, the stalled rollout, the stuck claim and the
    // leaking database are all headlines; the SLO comes first (it pages).
    let slo = find("SLO platform-v2-api availability paging");
    assert!(lines[slo].starts_with("CRIT "), "{text}");
    let crash = find("anarchy-operator: 1 pod CrashLoopBackOff");
    let rollout = find("rollout platform-v2-stable/platform-v2-api stalled");
    let claim = find("stuck provisioning");
    let db = find("postgres platform-db:");
    assert!(slo < crash && crash < rollout && rollout < claim, "{text}");
    assert!(lines[db].contains("blocking chain root pid"), "{text}");
    assert!(lines[db].contains("idle in transaction"), "{text}");
    demo.stop().await;
}
