//! Pod template comparison and hashing for the Deployment controller (the comparison and the
//! revision rules are kubectl's, from watchfloor-core).

use serde_json::Value;

use super::util::{fnv, safe_string};

// kubectl's comparison (`EqualIgnoreHash`), shared with the product's rollout undo.
pub use watchfloor_core::kubectl::{
    canonical_template as canonical, equal_ignore_hash as template_eq,
};

pub fn template_hash(template: &Value) -> String {
    let s = canonical(template).to_string();
    safe_string(fnv(&[&s]), 10)
}

/// The revision as the Deployment controller's `MaxRevision` counts it: missing = 0, and an
/// unparsable one is skipped (counts as 0).
pub fn revision_of(obj: &Value) -> u64 {
    watchfloor_core::kubectl::revision_of(obj)
        .and_then(|r| u64::try_from(r).ok())
        .unwrap_or(0)
}
