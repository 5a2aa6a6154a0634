//! watchfloor-core: the pure part of watchfloor — config, read-only policy, text and time
//! helpers, what the backends report (`event`, `data`), models, database and SLO rules, the log
//! line model, and the remediation planner. No async runtime, no network client and no terminal
//! in its dependencies: the compiler keeps it free of I/O beyond reading config files.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod config;
pub mod data;
pub mod db;
pub mod event;
pub mod kubectl;
pub mod logs;
pub mod model;
pub mod platform;
pub mod policy;
pub mod redact;
pub mod remediation;
pub mod slo;
pub mod text;
pub mod timestamp;
pub mod yaml;
