//! Process hardening done first thing in `main`: no core dumps and no same-user ptrace.
//!
//! The process holds secrets (database passwords, tokens, kubeconfig credentials) in memory. A
//! crash must not write them to a core file, and another process of the same user must not be
//! able to read them through ptrace or `/proc/<pid>/mem`. Both are set before anything else
//! runs, for every subcommand.

use std::io;

use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};

/// Sets the core file size limit to 0 (soft and hard, so no child can raise it again) and makes
/// the process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`: no core dump whatever the limit, no
/// ptrace attach or `/proc/<pid>/mem` by the same user). Returns what could not be done; the
/// caller logs it and carries on.
pub fn forbid_core_dumps() -> Vec<(&'static str, io::Error)> {
    let mut failed = Vec::new();
    let none = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(e) = setrlimit(Resource::Core, none) {
        failed.push(("setrlimit(RLIMIT_CORE, 0)", io::Error::from(e)));
    }
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        failed.push(("prctl(PR_SET_DUMPABLE, 0)", io::Error::from(e)));
    }
    failed
}
