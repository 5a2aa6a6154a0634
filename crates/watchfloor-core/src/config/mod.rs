//! Configuration: schema, loading with located errors, and secrets.

pub mod load;
mod schema;
mod secret;
mod selector;
pub mod window;

pub use load::{
    ClientParsers, ConfigError, KeyPath, LoadError, LoadedConfig, SearchEnv, candidate_paths,
    line_column, load, parse, span_of, suggest, validate_config,
};
pub use schema::*;
pub use secret::Secret;
pub use selector::check_label_selector;
