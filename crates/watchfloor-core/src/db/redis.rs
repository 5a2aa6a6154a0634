//! Redis clients and memory: INFO and CLIENT LIST parsed defensively (unknown fields ignored,
//! missing ones tolerated), and rates from the deltas between two refreshes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Health;
use crate::text::{sanitize, sanitize_truncated};

/// One line of CLIENT LIST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisClient {
    pub id: u64,
    pub addr: String,
    pub name: String,
    /// Connection age, seconds.
    pub age: u64,
    /// Idle time, seconds.
    pub idle: u64,
    pub flags: String,
    pub db: u32,
    /// Last command.
    pub cmd: String,
    pub user: String,
}

/// Cumulative counters kept between refreshes to turn them into rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RedisCounters {
    pub evicted_keys: u64,
    pub rejected_connections: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// When they were read, seconds on a monotonic clock of the source's choosing.
    pub at: f64,
}

/// One cache as the pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisStatus {
    pub name: String,
    pub version: String,
    pub connected_clients: u64,
    /// `None` when the server does not report it.
    pub maxclients: Option<u64>,
    pub blocked_clients: u64,
    pub used_memory: u64,
    /// 0 = unlimited.
    pub maxmemory: u64,
    pub policy: String,
    /// Rates since the previous refresh; `None` on the first.
    pub evicted_per_s: Option<f64>,
    pub rejected_per_s: Option<f64>,
    pub ops_per_s: u64,
    /// hits / (hits + misses) over the last interval; `None` without lookups or on the first.
    pub hit_ratio: Option<f64>,
    pub evicted_total: u64,
    pub rejected_total: u64,
    /// CLIENT LIST, most idle first.
    pub clients: Vec<RedisClient>,
    pub counters: RedisCounters,
    /// Worst of clients vs maxclients, memory vs maxmemory (without eviction headroom),
    /// rejections and evictions in the last interval.
    #[serde(skip, default = "ok_health")]
    pub level: Health,
    /// Figures from the demo's simulated platform, not a real server.
    pub simulated: bool,
}

fn ok_health() -> Health {
    Health::Ok
}

/// INFO's `key:value` lines (sections and comments skipped; a repeated key keeps the last value).
pub type InfoFields = BTreeMap<String, String>;

/// Longest client name, user or last command kept from CLIENT LIST (characters).
const MAX_FIELD: usize = 64;
/// Longest address kept from CLIENT LIST (an IPv6 address with a port fits well within).
const MAX_ADDR: usize = 96;
/// Longest version or policy string kept from INFO.
const MAX_INFO_TEXT: usize = 40;

/// Parses the text of `INFO`. Section headers (`# Clients`), comments and blank lines are
/// skipped, each remaining line is `key:value` split at the first colon (keyspace lines such as
/// `db0:keys=1,expires=0` keep their whole value), `\r\n` endings are accepted, and a repeated
/// key keeps its last value, as the `redis` crate's `InfoDict` does. Lines without a colon or
/// with an empty key are ignored: newer servers add fields and the parser must not care.
pub fn parse_info(text: &str) -> InfoFields {
    let mut fields = InfoFields::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        fields.insert(key.to_string(), value.trim().to_string());
    }
    fields
}

/// Parses the text of `CLIENT LIST`: one client per line of space-separated `key=value` pairs.
/// Servers add fields between versions (7.0 has 24, 7.2 adds `lib-name`/`lib-ver`), so unknown
/// keys are ignored and missing ones default to zero or empty; a line without a numeric `id` is
/// not a client and is skipped. Strings are sanitised (client names are set by clients, so they
/// are untrusted). The result is sorted most idle first (ties by id), the order the pane shows.
pub fn parse_client_list(text: &str) -> Vec<RedisClient> {
    let mut clients: Vec<RedisClient> = text.lines().filter_map(parse_client_line).collect();
    clients.sort_by(|a, b| b.idle.cmp(&a.idle).then(a.id.cmp(&b.id)));
    clients
}

fn parse_client_line(line: &str) -> Option<RedisClient> {
    let mut id = None;
    let mut client = RedisClient {
        id: 0,
        addr: String::new(),
        name: String::new(),
        age: 0,
        idle: 0,
        flags: String::new(),
        db: 0,
        cmd: String::new(),
        user: String::new(),
    };
    for pair in line.split_ascii_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key {
            "id" => id = value.parse::<u64>().ok(),
            "addr" => client.addr = sanitize_truncated(value, MAX_ADDR),
            "name" => client.name = sanitize_truncated(value, MAX_FIELD),
            "age" => client.age = value.parse().unwrap_or(0),
            "idle" => client.idle = value.parse().unwrap_or(0),
            "flags" => client.flags = sanitize_truncated(value, MAX_FIELD),
            "db" => client.db = value.parse().unwrap_or(0),
            "cmd" => client.cmd = sanitize_truncated(value, MAX_FIELD),
            "user" => client.user = sanitize_truncated(value, MAX_FIELD),
            _ => {}
        }
    }
    client.id = id?;
    Some(client)
}

/// An unsigned INFO field; missing or not a number reads as `None`.
fn field_u64(info: &InfoFields, key: &str) -> Option<u64> {
    info.get(key).and_then(|value| value.trim().parse().ok())
}

/// The increase of a cumulative counter since the previous refresh. `None` when the counter went
/// down: the server restarted (or was reset with CONFIG RESETSTAT), so no honest delta exists.
fn delta(now: u64, before: u64) -> Option<u64> {
    now.checked_sub(before)
}

/// Builds what the pane shows from one refresh: `info` is [`parse_info`]'s output, `clients`
/// [`parse_client_list`]'s, `previous` the counters of the refresh before (rates and the hit
/// ratio are per interval, so the first refresh has none), and `at` when `info` was read on the
/// source's monotonic clock, in seconds.
pub fn status_from(
    name: &str,
    info: &InfoFields,
    clients: Vec<RedisClient>,
    previous: Option<&RedisCounters>,
    at: f64,
) -> RedisStatus {
    let counters = RedisCounters {
        evicted_keys: field_u64(info, "evicted_keys").unwrap_or(0),
        rejected_connections: field_u64(info, "rejected_connections").unwrap_or(0),
        keyspace_hits: field_u64(info, "keyspace_hits").unwrap_or(0),
        keyspace_misses: field_u64(info, "keyspace_misses").unwrap_or(0),
        at,
    };
    // An interval that is not positive (clock misuse) gives no rates rather than infinities.
    let interval = previous
        .map(|before| (before, at - before.at))
        .filter(|(_, seconds)| seconds.is_finite() && *seconds > 0.0);
    let rate = |now: u64, before: fn(&RedisCounters) -> u64| {
        interval.and_then(|(previous, seconds)| {
            delta(now, before(previous)).map(|d| d as f64 / seconds)
        })
    };
    let evicted_per_s = rate(counters.evicted_keys, |c| c.evicted_keys);
    let rejected_per_s = rate(counters.rejected_connections, |c| c.rejected_connections);
    let hit_ratio = interval.and_then(|(before, _)| {
        let hits = delta(counters.keyspace_hits, before.keyspace_hits)?;
        let misses = delta(counters.keyspace_misses, before.keyspace_misses)?;
        let lookups = hits.checked_add(misses).filter(|&n| n > 0)?;
        Some(hits as f64 / lookups as f64)
    });

    let connected_clients = field_u64(info, "connected_clients").unwrap_or(0);
    let maxclients = field_u64(info, "maxclients");
    let used_memory = field_u64(info, "used_memory").unwrap_or(0);
    let maxmemory = field_u64(info, "maxmemory").unwrap_or(0);
    let policy = info
        .get("maxmemory_policy")
        .map(|p| sanitize_truncated(p, MAX_INFO_TEXT))
        .unwrap_or_default();

    let level = level(&Figures {
        connected_clients,
        maxclients,
        used_memory,
        maxmemory,
        policy: &policy,
        evicted: evicted_per_s.is_some_and(|r| r > 0.0),
        rejected: rejected_per_s.is_some_and(|r| r > 0.0),
    });

    RedisStatus {
        name: sanitize(name),
        version: info
            .get("redis_version")
            .map(|v| sanitize_truncated(v, MAX_INFO_TEXT))
            .unwrap_or_default(),
        connected_clients,
        maxclients,
        blocked_clients: field_u64(info, "blocked_clients").unwrap_or(0),
        used_memory,
        maxmemory,
        policy,
        evicted_per_s,
        rejected_per_s,
        ops_per_s: field_u64(info, "instantaneous_ops_per_sec").unwrap_or(0),
        hit_ratio,
        evicted_total: counters.evicted_keys,
        rejected_total: counters.rejected_connections,
        clients,
        counters,
        level,
        simulated: false,
    }
}

/// What the level is judged from.
struct Figures<'a> {
    connected_clients: u64,
    maxclients: Option<u64>,
    used_memory: u64,
    maxmemory: u64,
    policy: &'a str,
    /// Keys were evicted during the last interval.
    evicted: bool,
    /// Connections were refused during the last interval.
    rejected: bool,
}

/// Crit when clients are being (or are about to be) refused, or when writes fail because memory
/// is full and nothing may be evicted; Warn when close to those limits or when keys are being
/// evicted (the cache is losing data it was asked to keep). Integer arithmetic in u128 so that
/// no limit, however large, overflows.
fn level(f: &Figures<'_>) -> Health {
    let max_clients = f.maxclients.filter(|&m| m > 0);
    let clients_full = max_clients.is_some_and(|m| f.connected_clients >= m);
    let clients_near =
        max_clients.is_some_and(|m| u128::from(f.connected_clients) * 5 >= u128::from(m) * 4);
    let limited = f.maxmemory > 0;
    let memory_full = limited && f.used_memory >= f.maxmemory;
    let memory_near = limited && u128::from(f.used_memory) * 10 >= u128::from(f.maxmemory) * 9;
    if clients_full || f.rejected || (memory_full && f.policy == "noeviction") {
        Health::Crit
    } else if clients_near || f.evicted || memory_near {
        Health::Warn
    } else {
        Health::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis 7.0.15, `INFO` (abridged), with CRLF as on the wire.
    const INFO_70: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n\
        # Clients\r\nconnected_clients:3\r\ncluster_connections:0\r\nmaxclients:10\r\n\
        blocked_clients:1\r\ntracking_clients:0\r\n\r\n\
        # Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:2097152\r\n\
        maxmemory_human:2.00M\r\nmaxmemory_policy:allkeys-lru\r\n\r\n\
        # Stats\r\ninstantaneous_ops_per_sec:42\r\nrejected_connections:2\r\nevicted_keys:31\r\n\
        keyspace_hits:90\r\nkeyspace_misses:10\r\n\r\n\
        # Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\n";

    /// The CLIENT LIST line of a client blocked in BLPOP, verbatim from Redis 7.0.
    const BLOCKED_70: &str = "id=13 addr=127.0.0.1:37298 laddr=127.0.0.1:16379 fd=11 name= age=2 idle=2 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=20474 argv-mem=11 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22307 events=r cmd=blpop user=default redir=-1 resp=2";

    fn info(extra: &[(&str, &str)]) -> InfoFields {
        let mut fields = parse_info(INFO_70);
        for (key, value) in extra {
            fields.insert((*key).to_string(), (*value).to_string());
        }
        fields
    }

    fn counters(evicted: u64, rejected: u64, hits: u64, misses: u64, at: f64) -> RedisCounters {
        RedisCounters {
            evicted_keys: evicted,
            rejected_connections: rejected,
            keyspace_hits: hits,
            keyspace_misses: misses,
            at,
        }
    }

    #[test]
    fn parses_info_sections_crlf_and_duplicates() {
        let fields = parse_info(INFO_70);
        assert_eq!(fields["redis_version"], "7.0.15");
        assert_eq!(fields["connected_clients"], "3");
        assert_eq!(fields["maxmemory_policy"], "allkeys-lru");
        assert_eq!(fields["db0"], "keys=5,expires=0,avg_ttl=0");
        assert!(!fields.keys().any(|k| k.starts_with('#') || k.is_empty()));
        assert!(fields.values().all(|v| !v.contains('\r')));

        let dup = parse_info("a:1\nb:2\na:3\n# Comment:x\n");
        assert_eq!(dup.get("a").map(String::as_str), Some("3"));
        assert_eq!(dup.len(), 2);
    }

    #[test]
    fn info_garbage_is_harmless() {
        for text in [
            "",
            "\r\n\r\n",
            "no colon here",
            ":value without key",
            "\u{0}\u{1b}[2J:\u{ff}",
            "k:v:w",
            "#:#",
        ] {
            let fields = parse_info(text);
            assert!(fields.len() <= 1, "{text:?}");
            let status = status_from("x", &fields, Vec::new(), None, 0.0);
            assert_eq!(status.connected_clients, 0);
            assert_eq!(status.level, Health::Ok);
        }
        assert_eq!(parse_info("k:v:w")["k"], "v:w");
        // Non-numeric figures read as absent, never as a panic.
        let status = status_from(
            "x",
            &parse_info("connected_clients:-1\nmaxclients:lots\nused_memory:1e9\n"),
            Vec::new(),
            None,
            0.0,
        );
        assert_eq!(
            (
                status.connected_clients,
                status.maxclients,
                status.used_memory
            ),
            (0, None, 0)
        );
    }

    #[test]
    fn parses_a_real_client_list_line() {
        let clients = parse_client_list(BLOCKED_70);
        assert_eq!(
            clients,
            [RedisClient {
                id: 13,
                addr: "127.0.0.1:37298".into(),
                name: String::new(),
                age: 2,
                idle: 2,
                flags: "b".into(),
                db: 0,
                cmd: "blpop".into(),
                user: "default".into(),
            }]
        );
    }

    #[test]
    fn client_list_is_defensive_and_sorted_most_idle_first() {
        let text = format!(
            "{BLOCKED_70}\r\n\
             id=4 addr=10.0.0.1:5 name=worker=1 idle=300 flags=N cmd=client|list new-field=7 lib-name=redis-rs\n\
             addr=1.2.3.4:5 idle=9999 flags=N\n\
             id=x idle=5\n\
             garbage without pairs\n\
             \n\
             id=7 idle=300 name=\u{1b}]0;pwned\u{7}evil age=-3 db=99999999999\n\
             id=9 idle=notanumber\n"
        );
        let clients = parse_client_list(&text);
        let order: Vec<u64> = clients.iter().map(|c| c.id).collect();
        assert_eq!(order, [4, 7, 13, 9]);
        assert_eq!(clients[0].name, "worker=1");
        assert_eq!(clients[0].cmd, "client|list");
        assert_eq!(clients[0].user, "");
        assert_eq!(clients[1].name, "evil");
        assert_eq!((clients[1].age, clients[1].db), (0, 0));
        assert_eq!(clients[3].idle, 0);
        assert!(parse_client_list("").is_empty());
        assert!(parse_client_list("\u{0}\u{ff}=\n===\nid=\n").is_empty());
        let long = format!("id=1 name={}", "n".repeat(10_000));
        assert!(parse_client_list(&long)[0].name.chars().count() <= MAX_FIELD);
    }

    #[test]
    fn first_sample_has_figures_but_no_rates() {
        let clients = parse_client_list(BLOCKED_70);
        let status = status_from("cache", &parse_info(INFO_70), clients, None, 10.0);
        assert_eq!(status.name, "cache");
        assert_eq!(status.version, "7.0.15");
        assert_eq!(status.connected_clients, 3);
        assert_eq!(status.maxclients, Some(10));
        assert_eq!(status.blocked_clients, 1);
        assert_eq!(
            (status.used_memory, status.maxmemory),
            (1_048_576, 2_097_152)
        );
        assert_eq!(status.policy, "allkeys-lru");
        assert_eq!(status.ops_per_s, 42);
        assert_eq!((status.evicted_total, status.rejected_total), (31, 2));
        assert_eq!(
            (
                status.evicted_per_s,
                status.rejected_per_s,
                status.hit_ratio
            ),
            (None, None, None)
        );
        assert_eq!(status.counters, counters(31, 2, 90, 10, 10.0));
        assert_eq!(status.clients.len(), 1);
        // Past totals alone are not an incident.
        assert_eq!(status.level, Health::Ok);
        assert!(!status.simulated);
    }

    #[test]
    fn rates_and_hit_ratio_come_from_deltas() {
        let previous = counters(21, 2, 60, 0, 8.0);
        let status = status_from("c", &parse_info(INFO_70), Vec::new(), Some(&previous), 10.0);
        assert_eq!(status.evicted_per_s, Some(5.0));
        assert_eq!(status.rejected_per_s, Some(0.0));
        // 30 hits and 10 misses in the interval, whatever the totals say.
        assert_eq!(status.hit_ratio, Some(0.75));
        assert_eq!(status.level, Health::Warn, "evictions in the interval");

        let quiet = counters(31, 2, 90, 10, 9.0);
        let status = status_from("c", &parse_info(INFO_70), Vec::new(), Some(&quiet), 10.0);
        assert_eq!(status.hit_ratio, None, "no lookups in the interval");
        assert_eq!(status.evicted_per_s, Some(0.0));
        assert_eq!(status.level, Health::Ok);
    }

    #[test]
    fn counters_going_down_mean_a_restart_not_negative_rates() {
        let before_restart = counters(500, 9, 1000, 1000, 5.0);
        let status = status_from(
            "c",
            &parse_info(INFO_70),
            Vec::new(),
            Some(&before_restart),
            10.0,
        );
        assert_eq!(
            (
                status.evicted_per_s,
                status.rejected_per_s,
                status.hit_ratio
            ),
            (None, None, None)
        );
        assert_eq!(status.level, Health::Ok);
        // A clock that did not move gives no rates either.
        let same_time = counters(0, 0, 0, 0, 10.0);
        let status = status_from(
            "c",
            &parse_info(INFO_70),
            Vec::new(),
            Some(&same_time),
            10.0,
        );
        assert_eq!(status.evicted_per_s, None);
        let nan = counters(0, 0, 0, 0, f64::NAN);
        let status = status_from("c", &parse_info(INFO_70), Vec::new(), Some(&nan), 10.0);
        assert_eq!(status.rejected_per_s, None);
    }

    #[test]
    fn levels() {
        let at = |extra: &[(&str, &str)], previous: Option<RedisCounters>| {
            status_from("c", &info(extra), Vec::new(), previous.as_ref(), 10.0).level
        };
        assert_eq!(at(&[], None), Health::Ok);
        // Clients: 8 of 10 is near, 10 of 10 is full; no maxclients, no judgement.
        assert_eq!(at(&[("connected_clients", "8")], None), Health::Warn);
        assert_eq!(at(&[("connected_clients", "10")], None), Health::Crit);
        assert_eq!(at(&[("connected_clients", "10000")], None), Health::Crit);
        let mut no_max = info(&[("connected_clients", "10000")]);
        no_max.remove("maxclients");
        assert_eq!(
            status_from("c", &no_max, Vec::new(), None, 0.0).level,
            Health::Ok
        );
        // Rejections in the interval.
        assert_eq!(at(&[], Some(counters(31, 1, 90, 10, 9.0))), Health::Crit);
        // Memory: 90% is near; full is Crit only when nothing may be evicted.
        assert_eq!(at(&[("used_memory", "1887437")], None), Health::Warn);
        assert_eq!(at(&[("used_memory", "2097152")], None), Health::Warn);
        assert_eq!(
            at(
                &[
                    ("used_memory", "2097152"),
                    ("maxmemory_policy", "noeviction")
                ],
                None
            ),
            Health::Crit
        );
        // maxmemory 0 is unlimited.
        assert_eq!(
            at(
                &[
                    ("used_memory", "999999999999"),
                    ("maxmemory", "0"),
                    ("maxmemory_policy", "noeviction")
                ],
                None
            ),
            Health::Ok
        );
        // Huge limits do not overflow.
        assert_eq!(
            at(
                &[
                    ("used_memory", &u64::MAX.to_string()),
                    ("maxmemory", &u64::MAX.to_string()),
                    ("connected_clients", &u64::MAX.to_string()),
                    ("maxclients", &u64::MAX.to_string()),
                ],
                None
            ),
            Health::Crit
        );
    }

    #[test]
    fn untrusted_info_strings_are_sanitised() {
        let status = status_from(
            "n\u{1b}[31mame",
            &parse_info("redis_version:7\u{1b}]0;x\u{7}.0\nmaxmemory_policy:\u{9b}2Jlru\n"),
            Vec::new(),
            None,
            0.0,
        );
        assert_eq!(status.name, "name");
        assert_eq!(status.version, "7.0");
        assert_eq!(status.policy, "lru");
    }
}
