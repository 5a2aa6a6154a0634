//! The simulated platform's database and cache, for `watchfloor demo` without a local server.
//!
//! `GET /sim/postgres` answers a `PgSample` (what one refresh of `pg_stat_activity` would read)
//! and `GET /sim/redis` the text of `INFO` and `CLIENT LIST`, so the console runs the same
//! analysis as for a real server. The figures react to the world: while platform-v2-api has
//! crash-looping pods in rotation, requests die mid-transaction and leave sessions idle in
//! transaction, one more every [`LEAK_EVERY`]; the oldest holds a row lock that a billing job
//! waits on, and a report waits behind that. Rolling back stops the leak; the leaked sessions
//! stay until someone terminates them (`POST /sim/postgres/terminate`, as the remediation does).

use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::json;

use super::Shared;
use super::prometheus::rotations;
use super::respond;
use super::state::{Leak, SimDb};
use watchfloor_core::db::postgres::{PgSample, Privileges, Session};

/// The Deployment whose failing pods leak transactions.
const LEAKER: (&str, &str) = ("platform-v2-stable", "platform-v2-api");
/// A new leaked session this often while the bad revision serves.
const LEAK_EVERY: f64 = 30.0;
/// When the demo starts mid-incident, this many sessions have leaked already.
const SEEDED_LEAKS: usize = 36;
const MAX_CONNECTIONS: u32 = 100;
const RESERVED: u32 = 3;
/// Pool connections each healthy API pod keeps open.
const POOL_PER_POD: usize = 6;
const FIRST_PID: i32 = 41_000;

impl SimDb {
    fn pid(&mut self) -> i32 {
        if self.next_pid == 0 {
            self.next_pid = FIRST_PID;
        }
        self.next_pid += 7;
        self.next_pid
    }

    /// Brings the leak up to `now`: seeds a mid-incident history once, then one more leaked
    /// session per interval while the bad revision is in rotation.
    fn advance(&mut self, leaking: bool, now: f64) {
        if !self.seeded {
            self.seeded = true;
            self.last_leak = now;
            if leaking {
                for i in 0..SEEDED_LEAKS {
                    let since = now - 90.0 - LEAK_EVERY * 2.0 * (SEEDED_LEAKS - i) as f64;
                    let pid = self.pid();
                    self.leaks.push(Leak {
                        pid,
                        since,
                        client: format!("10.128.{}.{}", 2 + i % 3, 17 + i),
                    });
                }
            }
        }
        if !leaking {
            self.last_leak = now;
            return;
        }
        let room = (MAX_CONNECTIONS - 1) as usize;
        while now - self.last_leak >= LEAK_EVERY {
            self.last_leak += LEAK_EVERY;
            if self.leaks.len() + 40 < room {
                let pid = self.pid();
                let n = self.leaks.len();
                self.leaks.push(Leak {
                    pid,
                    since: self.last_leak,
                    client: format!("10.128.{}.{}", 2 + n % 3, 17 + n % 200),
                });
            }
        }
    }

    /// Terminates the given sessions; returns the pids that existed.
    pub fn terminate(&mut self, pids: &[i32]) -> Vec<i32> {
        let mut done = Vec::new();
        self.leaks.retain(|l| {
            let hit = pids.contains(&l.pid);
            if hit {
                done.push(l.pid);
            }
            !hit
        });
        done
    }
}

fn session(pid: i32, user: &str, app: &str, client: &str, state: &str, age: f64) -> Session {
    Session {
        pid,
        usename: Some(user.into()),
        application_name: Some(app.into()),
        client_addr: Some(client.into()),
        datname: Some("platform".into()),
        state: Some(state.into()),
        wait_event_type: (state == "idle").then(|| "Client".to_string()),
        wait_event: (state == "idle").then(|| "ClientRead".to_string()),
        backend_type: Some("client backend".into()),
        query_age: Some(age),
        state_age: Some(age),
        xact_age: (state != "idle").then_some(age),
        backend_age: Some(age + 3600.0),
        query: Some(match state {
            "idle" => "COMMIT".into(),
            _ => "SELECT 1".into(),
        }),
        blocked_by: Vec::new(),
        own: false,
        // The platform's roles are ordinary ones; the console's role is a pg_signal_backend
        // member, not of their roles.
        role_superuser: Some(false),
        role_privileges: Some(user == "watchfloor"),
    }
}

/// What `pg_stat_activity` would show now.
fn sample(db: &mut SimDb, good_pods: usize, leaking: bool, now: f64) -> PgSample {
    db.advance(leaking, now);
    let mut sessions = Vec::new();
    let mut pid = 30_000;
    // Healthy pods' connection pools: mostly idle, a few active.
    for pod in 0..good_pods {
        for c in 0..POOL_PER_POD {
            pid += 3;
            let client = format!("10.128.1.{}", 40 + pod);
            let active = c == 0 && (now as u64 + pod as u64).is_multiple_of(3);
            let state = if active { "active" } else { "idle" };
            let mut s = session(
                pid,
                "platform_app",
                "platform-v2-api",
                &client,
                state,
                0.4 + c as f64,
            );
            if active {
                s.query = Some("SELECT id, state FROM orders WHERE tenant_id = $1 LIMIT 50".into());
            }
            sessions.push(s);
        }
    }
    // Leaked transactions of crash-looping pods.
    for leak in &db.leaks {
        let age = (now - leak.since).max(0.0);
        let mut s = session(
            leak.pid,
            "platform_app",
            "platform-v2-api",
            &leak.client,
            "idle in transaction",
            age,
        );
        s.query = Some("UPDATE orders SET state = 'paid' WHERE id = $1".into());
        sessions.push(s);
    }
    // The oldest leak holds a row lock: the billing job waits on it, a report behind that.
    if let Some(root) = db.leaks.first() {
        let age = (now - root.since).max(0.0);
        let wait = (age * 0.8).max(1.0);
        let mut billing = session(
            29_001,
            "billing",
            "billing-reconciler",
            "10.128.4.9",
            "active",
            wait,
        );
        billing.wait_event_type = Some("Lock".into());
        billing.wait_event = Some("transactionid".into());
        billing.query = Some("UPDATE orders SET reconciled = true WHERE id = $1".into());
        billing.blocked_by = vec![root.pid];
        let mut report = session(
            29_004,
            "reporting",
            "nightly-report",
            "10.128.4.12",
            "active",
            wait * 0.5,
        );
        report.wait_event_type = Some("Lock".into());
        report.wait_event = Some("tuple".into());
        report.query = Some("SELECT * FROM orders WHERE id = $1 FOR UPDATE".into());
        report.blocked_by = vec![29_001];
        sessions.push(billing);
        sessions.push(report);
    }
    // The console's own monitoring session.
    let mut own = session(
        29_999,
        "watchfloor",
        "watchfloor",
        "127.0.0.1",
        "active",
        0.0,
    );
    own.own = true;
    own.query = Some("SELECT … FROM pg_stat_activity".into());
    sessions.push(own);
    PgSample {
        server_version: "15.8 (simulated)".into(),
        max_connections: MAX_CONNECTIONS,
        superuser_reserved: RESERVED,
        own_pid: 29_999,
        privileges: Privileges {
            superuser: false,
            read_all_stats: true,
            signal_backend: true,
        },
        database: Some("platform".into()),
        sessions,
        query_ms: 1.2,
        simulated: true,
    }
}

/// Healthy pods of the leaking Deployment, and whether its bad revision is in rotation.
fn platform(sh: &Arc<Shared>) -> (usize, bool) {
    let rot = sh.with(|w| rotations(w));
    rot.get(&(LEAKER.0.to_string(), LEAKER.1.to_string()))
        .map_or((3, false), |r| (r.good, r.bad > 0))
}

pub(crate) fn serve_postgres(sh: &Arc<Shared>, method: &Method, body: &[u8]) -> Response {
    let (good, leaking) = platform(sh);
    let now = sh.with(|w| w.store.clock.unix());
    if method == Method::POST {
        // `{"terminate": [pid, ...]}`: what pg_terminate_backend would do to these sessions.
        let pids: Vec<i32> = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| serde_json::from_value(v["terminate"].clone()).ok())
            .unwrap_or_default();
        let done = sh.with(|w| {
            w.db.advance(leaking, now);
            w.db.terminate(&pids)
        });
        return respond::json(200, &json!({ "terminated": done }));
    }
    if method != Method::GET {
        return respond::json(405, &json!({"error": "method not allowed"}));
    }
    let sample = sh.with(|w| sample(&mut w.db, good, leaking, now));
    respond::json_string(200, serde_json::to_string(&sample).unwrap_or_default())
}

pub(crate) fn serve_redis(sh: &Arc<Shared>, method: &Method) -> Response {
    if method != Method::GET {
        return respond::json(405, &json!({"error": "method not allowed"}));
    }
    let (good, leaking) = platform(sh);
    let now = sh.with(|w| w.store.clock.unix());
    let secs = now as u64;
    // Each healthy pod keeps 4 connections; crash-looping pods reconnect in bursts.
    let clients_n = 2 + good * 4 + if leaking { 3 } else { 0 };
    let mut clients = String::new();
    for i in 0..clients_n {
        let idle = if i < 2 {
            0
        } else {
            (i as u64 * 37 + secs) % 300
        };
        let (flags, cmd) = if i == 1 { ("b", "blpop") } else { ("N", "get") };
        clients.push_str(&format!(
            "id={} addr=10.128.1.{}:{} laddr=10.0.0.5:6379 fd={} name=platform-v2-api age={} idle={idle} flags={flags} db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=20480 events=r cmd={cmd} user=default redir=-1 resp=2\n",
            100 + i,
            40 + i % 5,
            40_000 + i,
            10 + i,
            600 + i * 11,
        ));
    }
    // Counters grow with time so rates come out of deltas, as on a real server.
    let hits = secs * 950;
    let misses = secs * if leaking { 180 } else { 50 };
    let info = format!(
        "# Server\r\nredis_version:7.0.15 (simulated)\r\n# Clients\r\nconnected_clients:{clients_n}\r\nmaxclients:10000\r\nblocked_clients:1\r\n# Memory\r\nused_memory:{}\r\nmaxmemory:268435456\r\nmaxmemory_policy:allkeys-lru\r\n# Stats\r\ninstantaneous_ops_per_sec:{}\r\nrejected_connections:0\r\nevicted_keys:{}\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\n",
        180_000_000 + (secs % 600) * 12_000,
        1100 + secs % 90,
        if leaking { secs / 4 } else { 0 },
    );
    respond::json(200, &json!({"info": info, "clients": clients}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaks_pile_up_while_the_bad_revision_serves_and_stay_after() {
        let mut db = SimDb::default();
        let start = 1_000_000.0;
        let first = sample(&mut db, 2, true, start);
        let leaked = |s: &PgSample| {
            s.sessions
                .iter()
                .filter(|x| x.state.as_deref() == Some("idle in transaction"))
                .count()
        };
        assert_eq!(leaked(&first), SEEDED_LEAKS);
        let later = sample(&mut db, 2, true, start + 5.0 * LEAK_EVERY);
        assert_eq!(leaked(&later), SEEDED_LEAKS + 5);
        // Rolled back: no new leaks, the old ones remain until terminated.
        let healthy = sample(&mut db, 3, false, start + 20.0 * LEAK_EVERY);
        assert_eq!(leaked(&healthy), SEEDED_LEAKS + 5);
        let pids: Vec<i32> = db.leaks.iter().map(|l| l.pid).collect();
        assert_eq!(db.terminate(&pids).len(), SEEDED_LEAKS + 5);
        let clean = sample(&mut db, 3, false, start + 21.0 * LEAK_EVERY);
        assert_eq!(leaked(&clean), 0);
        assert!(clean.sessions.iter().all(|s| s.blocked_by.is_empty()));
    }

    #[test]
    fn the_oldest_leak_blocks_a_two_deep_chain() {
        let mut db = SimDb::default();
        let s = sample(&mut db, 1, true, 2_000_000.0);
        let root = db.leaks[0].pid;
        let billing = s.sessions.iter().find(|x| x.pid == 29_001).unwrap();
        assert_eq!(billing.blocked_by, vec![root]);
        let report = s.sessions.iter().find(|x| x.pid == 29_004).unwrap();
        assert_eq!(report.blocked_by, vec![29_001]);
    }
}
