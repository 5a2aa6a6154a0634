//! Database and cache figures from the simulated platform (`watchfloor demo`, `watchfloor sim`).
//!
//! A `[[targets.postgres]]` whose dsn, or a `[[targets.redis]]` whose url, is
//! `simulated+http://HOST:PORT` reads the simulator's `/sim/postgres` or `/sim/redis` instead of
//! a server. The figures go through the same analysis as a real server's, and are marked
//! `simulated` so the pane labels them.

use std::time::{Duration, Instant};

use crate::db::DbUpdate;
use crate::db::postgres::{PgSample, PgStatus, Thresholds, analyse};
use crate::db::redis::{RedisCounters, RedisStatus, parse_client_list, parse_info, status_from};
use crate::event::SourceState;
use crate::text::sanitize;
use watchfloor_core::config::{PostgresConfig, RedisConfig};

use super::kubernetes::{Reporter, estimated_backoff};

/// The scheme that selects the simulator.
pub const SCHEME: &str = "simulated+http://";
/// Bound on one request to the simulator.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The simulator's base URL when `address` (a dsn or url) names it.
pub fn simulator(address: &watchfloor_core::config::Secret) -> Option<String> {
    let text = address.resolve().ok()?;
    let rest = text.trim().strip_prefix(SCHEME)?;
    Some(format!("http://{}", rest.trim_end_matches('/')))
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| sanitize(&e.to_string()))
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| sanitize(&format!("simulator: {e}")))?;
    if !response.status().is_success() {
        return Err(format!("simulator answered {}", response.status()));
    }
    response
        .json()
        .await
        .map_err(|e| sanitize(&format!("simulator: {e}")))
}

/// One refresh of a simulated PostgreSQL.
pub async fn postgres_once(
    client: &reqwest::Client,
    base: &str,
    config: &PostgresConfig,
) -> Result<PgStatus, String> {
    let value = get_json(client, &format!("{base}/sim/postgres")).await?;
    let mut sample: PgSample =
        serde_json::from_value(value).map_err(|e| format!("simulator: {e}"))?;
    sample.simulated = true;
    Ok(analyse(
        &config.name,
        sample,
        Thresholds::from_config(config),
    ))
}

/// One refresh of a simulated Redis.
pub async fn redis_once(
    client: &reqwest::Client,
    base: &str,
    config: &RedisConfig,
    previous: Option<&RedisCounters>,
    at: f64,
) -> Result<RedisStatus, String> {
    let value = get_json(client, &format!("{base}/sim/redis")).await?;
    let info = parse_info(value["info"].as_str().unwrap_or_default());
    let clients = parse_client_list(value["clients"].as_str().unwrap_or_default());
    let mut status = status_from(&config.name, &info, clients, previous, at);
    status.simulated = true;
    Ok(status)
}

/// Polls the simulator's database every `refresh` until the console is gone.
pub async fn run_postgres(base: String, config: PostgresConfig, index: usize, reporter: Reporter) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            reporter.error(e, Duration::from_secs(60)).await;
            return;
        }
    };
    let mut failures = 0;
    loop {
        let delay = match postgres_once(&client, &base, &config).await {
            Ok(status) => {
                failures = 0;
                let update = DbUpdate::Postgres {
                    index,
                    status: Box::new(status),
                };
                if !reporter.db(update).await || !reporter.state(SourceState::Live).await {
                    return;
                }
                config.refresh
            }
            Err(reason) => {
                failures += 1;
                let delay = estimated_backoff(failures);
                if !reporter.error(reason, delay).await {
                    return;
                }
                delay
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// Polls the simulator's cache every `refresh` until the console is gone.
pub async fn run_redis(base: String, config: RedisConfig, index: usize, reporter: Reporter) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            reporter.error(e, Duration::from_secs(60)).await;
            return;
        }
    };
    let started = Instant::now();
    let mut previous: Option<RedisCounters> = None;
    let mut failures = 0;
    loop {
        let at = started.elapsed().as_secs_f64();
        let delay = match redis_once(&client, &base, &config, previous.as_ref(), at).await {
            Ok(status) => {
                failures = 0;
                previous = Some(status.counters);
                let update = DbUpdate::Redis {
                    index,
                    status: Box::new(status),
                };
                if !reporter.db(update).await || !reporter.state(SourceState::Live).await {
                    return;
                }
                config.refresh
            }
            Err(reason) => {
                failures += 1;
                let delay = estimated_backoff(failures);
                if !reporter.error(reason, delay).await {
                    return;
                }
                delay
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// For `watchfloor snapshot`.
pub async fn postgres_snapshot(base: &str, config: &PostgresConfig) -> Result<PgStatus, String> {
    postgres_once(&client()?, base, config).await
}

/// For `watchfloor snapshot` (no rates: one sample).
pub async fn redis_snapshot(base: &str, config: &RedisConfig) -> Result<RedisStatus, String> {
    redis_once(&client()?, base, config, None, 0.0).await
}
