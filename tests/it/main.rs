//! The product's integration tests, in one binary (one link of the crate instead of one per
//! file). Each module was a test file of its own; `support` holds the shared fixtures.
//!
//! The fault suite's tests (`fault_kube::`, `fault_polled::`) mostly wait on real timers (stale
//! bounds, back-offs): `scripts/test` runs them in a step of their own with every case at once,
//! `cargo test --test it -- fault_ --test-threads 16`, and skips them in the main run.

mod support;

mod access_reviews;
mod alerts;
mod audit;
mod claims_sql;
mod config_errors;
mod e2e_terminal;
mod fault_kube;
mod fault_polled;
mod health;
mod kube_console;
mod logs_file;
mod logs_kube;
mod platform_console;
mod postgres;
mod read_only_walk;
mod redaction;
mod redis;
mod remediate_flow;
mod remediate_kube;
mod remediate_sql;
mod render;
mod render_db;
mod render_lists;
mod render_logs;
mod render_matrix;
mod render_remediation;
mod render_slo;
mod render_views;
mod render_widths;
mod serve_console;
mod serve_ssh;
mod sim_demo;
mod sim_kubectl;
mod sim_platform;
mod sim_prometheus;
mod sim_wire;
mod slo_prometheus;
mod snapshot_cli;
mod snapshot_db;
mod yaml_view;
