//! watchfloor: a terminal operations console for on-call engineers.
//!
//! The pure part (config, models, rules, the planner) is the `watchfloor-core` crate, re-exported
//! here under its own module names; the simulated platform is `watchfloor-sim` (feature `demo`).
//! This crate holds the I/O: `sources` (backend tasks and clients), `remediation` (previews,
//! execution, audit), `snapshot` (one-shot collection); the console: `app` (state, pure `update`,
//! keymap), `ui` (drawing only), `runtime` (event loop and effect executor); `serve` (the console
//! over SSH: host key, users' keys, the SSH server); and the process
//! plumbing: `cli`, `terminal`, `logging`, `hardening`.
#![forbid(unsafe_code)]

pub use watchfloor_core::{
    alerts, data, db, event, kubectl, logs, model, policy, redact, slo, text, timestamp, yaml,
};

pub mod app;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod hardening;
pub mod logging;
pub mod remediation;
pub mod report;
pub mod runtime;
pub mod serve;
pub mod snapshot;
pub mod sources;
pub mod terminal;
pub mod ui;
