//! Configuration: schema, loading with located errors, and secrets.

mod load;
mod schema;
mod secret;
mod selector;
mod warnings;

pub use load::{
    ConfigError, LoadError, LoadedConfig, SearchEnv, candidate_paths, line_column, load, parse,
    suggest, validate_config,
};
pub use schema::*;
pub use secret::Secret;
pub use selector::check_label_selector;
pub use warnings::{ConfigWarning, warnings};
