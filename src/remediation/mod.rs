//! Remediations: typed plans, previews (server-side dry runs, read-only SQL), execution and the
//! audit trail. The planner (`plan`) is pure; `kube_exec`, `sql_exec` talk to backends; `audit`
//! writes the trail. Read-only is enforced in the keymap, the planner and the executor.

pub mod access;
pub mod audit;
pub mod exec;
pub mod kube_exec;

pub mod sql_exec;

pub use watchfloor_core::remediation::*;
