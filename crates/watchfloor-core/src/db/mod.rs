//! The DB pane's data: what PostgreSQL and Redis servers say about their connections, and the
//! pure analysis that turns one refresh's sample into what the pane shows. No I/O here; the
//! sources in `crate::sources::{postgres, redis}` read the servers.

pub mod postgres;
pub mod redis;

use std::collections::BTreeMap;

pub use postgres::PgStatus;
pub use redis::RedisStatus;

/// Everything the DB pane shows, by config entry index.
#[derive(Debug, Clone, Default)]
pub struct DbData {
    /// By `[[targets.postgres]]` index.
    pub postgres: BTreeMap<usize, PgStatus>,
    /// By `[[targets.redis]]` index.
    pub redis: BTreeMap<usize, RedisStatus>,
}

/// One refresh of one database or cache.
#[derive(Debug, Clone)]
pub enum DbUpdate {
    Postgres {
        index: usize,
        status: Box<PgStatus>,
    },
    Redis {
        index: usize,
        status: Box<RedisStatus>,
    },
}

impl DbData {
    pub fn apply(&mut self, update: DbUpdate) {
        match update {
            DbUpdate::Postgres { index, status } => {
                self.postgres.insert(index, *status);
            }
            DbUpdate::Redis { index, status } => {
                self.redis.insert(index, *status);
            }
        }
    }
}
