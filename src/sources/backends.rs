//! The database and cache backends as the rest of the console sees them: traits for what it
//! reads ([`PgProbe`], [`RedisProbe`]) and what a remediation does ([`PgSignal`],
//! [`RedisKill`]), and the one place that picks an implementation from an entry's dsn or url.
//!
//! A real server is reached with tokio-postgres or redis ([`postgres::PgLink`],
//! [`pg_signal::PgServer`], [`redis::RedisServer`]). A `simulated+http://HOST:PORT` address
//! names the demo's simulated platform, reached over HTTP (`/sim/postgres`, `/sim/redis`) by the
//! implementations in [`super::simulated`], which exist only with the `demo` feature; without it
//! such an address is a config error. Sources, executors and the snapshot only see the traits.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::db::postgres::{PgSample, Session, Signal};
use crate::db::redis::{InfoFields, RedisClient};
use watchfloor_core::config::{PostgresConfig, RedisConfig, Secret};

use super::postgres::{LinkDown, PgLink};
#[cfg(feature = "demo")]
use super::simulated::{SimulatedPostgres, SimulatedRedis};
use super::{pg_connect, pg_signal, redis};

/// The scheme that names the simulated platform.
pub const SIMULATED_SCHEME: &str = "simulated+http://";

/// A PostgreSQL server as the DB pane and the snapshot read it.
pub trait PgProbe: Send + Sync {
    /// One sample of `pg_stat_activity` and the server's limits (`max_connections`, reserved
    /// slots, the role's privileges), connecting first when needed. While the connection is
    /// down, why and how long until the next try.
    fn sample(&self) -> BoxFuture<'_, Result<PgSample, LinkDown>>;

    /// The monitoring connection that SQL claims queries share, when the database runs SQL
    /// (the simulated one does not).
    fn sql_link(self: Arc<Self>) -> Option<Arc<PgLink>>;
}

/// What a signal did to the sessions it chose.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signalled {
    /// Sessions signalled (cancel) or gone (terminate).
    pub signalled: Vec<i32>,
    /// Sessions the server did not confirm, with the reason.
    pub failed: Vec<(i32, String)>,
    /// Done on the simulated platform.
    pub simulated: bool,
}

/// Cancels or terminates PostgreSQL sessions. Both calls choose the sessions afresh with
/// [`crate::db::postgres::signal_targets`] (the one rule), so a session the rule refuses is
/// never shown nor signalled.
pub trait PgSignal: Send + Sync {
    /// The sessions `signal` would hit now, read without changing anything.
    fn preview(&self, signal: Signal) -> BoxFuture<'_, Result<Vec<Session>, String>>;

    /// Signals the sessions `signal` hits now. A refusal by the server is the error, in its
    /// words.
    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<Signalled, String>>;
}

/// One refresh's raw material from a Redis server.
#[derive(Debug, Clone, Default)]
pub struct RedisSample {
    pub info: InfoFields,
    pub clients: Vec<RedisClient>,
    /// When INFO answered, seconds on the probe's clock (for rates).
    pub at: f64,
    /// CLIENT LIST was refused by the server (typically an ACL without `client|list`).
    pub client_list_error: Option<String>,
    /// From the simulated platform.
    pub simulated: bool,
}

/// A Redis server as the DB pane and the snapshot read it.
pub trait RedisProbe: Send + Sync {
    /// `INFO` and `CLIENT LIST`, connecting first when needed, all within `deadline`. `Err` is
    /// a short reason that never contains a secret.
    fn sample(&self, deadline: Duration) -> BoxFuture<'_, Result<RedisSample, String>>;
}

/// What `CLIENT KILL` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// This many connections were closed (0: no such client).
    Connections(i64),
    /// The simulated platform has no clients to kill: nothing was done.
    Simulated,
}

/// Disconnects Redis clients.
pub trait RedisKill: Send + Sync {
    /// The `CLIENT LIST` text that shows client `id` (possibly with others).
    fn client_list(&self, id: u64) -> BoxFuture<'_, Result<String, String>>;

    /// `CLIENT KILL ID id SKIPME yes`: never the console's own connection.
    fn kill(&self, id: u64) -> BoxFuture<'_, Result<Killed, String>>;
}

/// Where an entry's address points.
enum Address {
    Server,
    /// The simulator's base URL (`http://HOST:PORT`).
    #[cfg(feature = "demo")]
    Simulated(String),
}

/// Why a `simulated+http://` address cannot be used in a build without the `demo` feature.
pub const NOT_BUILT_IN: &str = "a simulated+http:// address names the demo's simulated platform, \
     and the simulator is not built in (this build has no `demo` feature)";

/// The one place that reads the scheme: a simulated address is the simulator's base URL, or an
/// error in a build without it.
fn address(secret: &Secret) -> Result<Address, String> {
    let Ok(text) = secret.resolve() else {
        // The real client reports the unreadable secret in its own words.
        return Ok(Address::Server);
    };
    let Some(rest) = text.trim().strip_prefix(SIMULATED_SCHEME) else {
        return Ok(Address::Server);
    };
    #[cfg(feature = "demo")]
    return Ok(Address::Simulated(format!(
        "http://{}",
        rest.trim_end_matches('/')
    )));
    #[cfg(not(feature = "demo"))]
    {
        let _ = rest;
        Err(NOT_BUILT_IN.to_string())
    }
}

/// The probe of a `[[targets.postgres]]` entry.
pub fn pg_probe(config: &PostgresConfig) -> Result<Arc<dyn PgProbe>, String> {
    Ok(match address(&config.dsn)? {
        Address::Server => PgLink::new(config.clone()),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => Arc::new(SimulatedPostgres::new(base)),
    })
}

/// The signaller of a `[[targets.postgres]]` entry (each call opens its own connection).
pub fn pg_signal(config: &PostgresConfig) -> Result<Box<dyn PgSignal>, String> {
    Ok(match address(&config.dsn)? {
        Address::Server => Box::new(pg_signal::PgServer::new(config)?),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => Box::new(SimulatedPostgres::new(base)),
    })
}

/// The probe of a `[[targets.redis]]` entry.
pub fn redis_probe(config: &RedisConfig) -> Result<Box<dyn RedisProbe>, String> {
    Ok(match address(&config.url)? {
        Address::Server => Box::new(redis::RedisServer::new(config.clone())),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => Box::new(SimulatedRedis::new(base)),
    })
}

/// What disconnects the clients of a `[[targets.redis]]` entry.
pub fn redis_kill(config: &RedisConfig) -> Result<Box<dyn RedisKill>, String> {
    Ok(match address(&config.url)? {
        Address::Server => Box::new(redis::RedisServer::new(config.clone())),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => Box::new(SimulatedRedis::new(base)),
    })
}

/// The config's check of a `[[targets.postgres]]` dsn, as [`pg_probe`] will read it.
pub fn check_postgres(entry: &PostgresConfig) -> Result<(), String> {
    match address(&entry.dsn)? {
        Address::Server => pg_connect::check_dsn(entry),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => check_simulated(&base),
    }
}

/// The config's check of a `[[targets.redis]]` url, as [`redis_probe`] will read it.
pub fn check_redis(entry: &RedisConfig) -> Result<(), String> {
    match address(&entry.url)? {
        Address::Server => redis::check_url(entry),
        #[cfg(feature = "demo")]
        Address::Simulated(base) => check_simulated(&base),
    }
}

/// A `simulated+http://` address must be a usable HTTP URL.
#[cfg(feature = "demo")]
fn check_simulated(base: &str) -> Result<(), String> {
    match reqwest::Url::parse(base) {
        Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("{:?} has no host", crate::redact::redact(base))),
        Err(error) => Err(format!(
            "{:?} is not a valid URL: {error}",
            crate::redact::redact(base)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(dsn: &str) -> PostgresConfig {
        toml::from_str(&format!("name = \"db\"\ndsn = {dsn:?}")).unwrap()
    }

    #[test]
    fn the_scheme_picks_the_simulator() {
        assert!(matches!(
            address(&Secret::Literal("host=db".into())),
            Ok(Address::Server)
        ));
        assert!(check_postgres(&pg("host=127.0.0.1 user=x")).is_ok());
        let simulated = check_postgres(&pg("simulated+http://127.0.0.1:4000/"));
        #[cfg(feature = "demo")]
        {
            assert_eq!(simulated, Ok(()));
            assert!(matches!(
                address(&Secret::Literal("simulated+http://127.0.0.1:4000/".into())),
                Ok(Address::Simulated(base)) if base == "http://127.0.0.1:4000"
            ));
            let error = check_postgres(&pg("simulated+http://")).unwrap_err();
            assert!(error.contains("valid URL"), "{error}");
        }
        #[cfg(not(feature = "demo"))]
        assert_eq!(simulated, Err(NOT_BUILT_IN.to_string()));
    }
}
