//! Redis clients and memory: INFO and CLIENT LIST parsed defensively (unknown fields ignored,
//! missing ones tolerated), and rates from the deltas between two refreshes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Health;

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
