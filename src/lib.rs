//! watchfloor: a terminal operations console for on-call engineers.
//!
//! Layout: `config` (schema, validation, secrets), `policy` (read-only), `app` (state, pure
//! `update`, keymap), `ui` (drawing only), `sources` (backend tasks), `runtime` (event loop and
//! effect executor), `snapshot` (one-shot collection), `terminal` and `logging` (process plumbing).
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod hardening;
pub mod logging;
pub mod logs;
pub mod model;
pub mod policy;
pub mod redact;
pub mod remediation;
pub mod runtime;
pub mod sim;
pub mod slo;
pub mod snapshot;
pub mod sources;
pub mod terminal;
pub mod text;
pub mod ui;
