//! The configuration: schema, loading and located errors from `watchfloor-core`, checked with the
//! backends' own parsers of DSNs and URLs (so `check-config` fails where a source would), plus
//! `warnings` about what depends on the machine (secrets, kubeconfig, CA files).

pub mod ssh_keys;
mod warnings;

use std::path::Path;

pub use warnings::{ConfigWarning, locate, warnings};
pub use watchfloor_core::config::*;

/// The clients' parsers the config is checked with.
pub const CLIENT_PARSERS: ClientParsers = ClientParsers {
    postgres_dsn: crate::sources::backends::check_postgres,
    redis_url: crate::sources::backends::check_redis,
    ssh_public_key: ssh_keys::check_key_line,
};

/// Finds, loads and validates the config.
pub fn load(explicit: Option<&Path>, env: &SearchEnv) -> Result<LoadedConfig, LoadError> {
    watchfloor_core::config::load(explicit, env, &CLIENT_PARSERS)
}

/// Parses and validates config text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    watchfloor_core::config::parse(path, text, &CLIENT_PARSERS)
}

/// The rules `parse` checks beyond the schema, for a config built in code (the demo's).
pub fn validate_config(config: &Config) -> Result<(), String> {
    watchfloor_core::config::validate_config(config, &CLIENT_PARSERS)
}
