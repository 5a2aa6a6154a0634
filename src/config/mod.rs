//! Configuration: schema, loading with located errors, and secrets.

mod load;
mod schema;
mod secret;

pub use load::{
    ConfigError, LoadError, LoadedConfig, SearchEnv, candidate_paths, line_column, load, parse,
    suggest,
};
pub use schema::*;
pub use secret::Secret;
