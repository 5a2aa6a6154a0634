//! Display rows for the Kubernetes panes, derived from API objects by pure functions.
//!
//! Sources keep these small rows, never whole objects, so memory stays flat as clusters grow.
//! Nothing here does I/O; every function takes `now` so tests control time.

pub mod claims;
pub mod deployments;
pub mod pods;
pub mod quantity;
pub mod resources;
pub mod rollout;

/// How a table's rows (all of them, in order) spread over namespaces: decides whether the
/// table can show a namespace group line instead of a NAMESPACE column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// One namespace (or none).
    #[default]
    One,
    /// Several, each namespace's rows together.
    Grouped,
    /// Several, interleaved.
    Mixed,
}

/// How `namespaces` (one per row, in the table's order) spread. O(rows): computed when rows
/// are ordered, never per frame.
pub fn spread<'a>(namespaces: impl IntoIterator<Item = &'a str>) -> Spread {
    let mut runs = 0;
    let mut seen = std::collections::HashSet::new();
    let mut last: Option<&str> = None;
    for namespace in namespaces {
        if last != Some(namespace) {
            runs += 1;
            seen.insert(namespace);
            last = Some(namespace);
        }
    }
    match seen.len() {
        0 | 1 => Spread::One,
        n if n == runs => Spread::Grouped,
        _ => Spread::Mixed,
    }
}

/// How bad a row is; rows sort worst first and colour by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Something is broken now (CrashLoopBackOff, OOMKilled, stalled rollout, stuck claim).
    Crit,
    /// Degraded or not yet settled (NotReady, Pending, progressing, Terminating).
    Warn,
    /// Healthy.
    Ok,
    /// Finished normally (Completed); shown muted.
    Done,
}

use std::time::{Duration, SystemTime};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// A Kubernetes timestamp as a `SystemTime`.
pub(crate) fn system_time(time: &Time) -> Option<SystemTime> {
    from_timestamp(time.0)
}

/// An RFC 3339 timestamp from an untyped object; malformed input counts as absent.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    text.parse::<Timestamp>().ok().and_then(from_timestamp)
}

// By hand: jiff's `From<Timestamp> for SystemTime` needs its `std` feature, which k8s-openapi
// does not turn on.
pub(crate) fn from_timestamp(timestamp: Timestamp) -> Option<SystemTime> {
    let offset = timestamp.as_duration();
    if offset.is_negative() {
        SystemTime::UNIX_EPOCH.checked_sub(offset.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH.checked_add(offset.unsigned_abs())
    }
}

/// How long ago `then` was; zero when it lies in the future (clock skew).
pub(crate) fn elapsed(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_tells_grouped_from_interleaved() {
        assert_eq!(spread(["a", "a"]), Spread::One);
        assert_eq!(spread([]), Spread::One);
        assert_eq!(spread(["a", "a", "a", "b", "b", "c", "c"]), Spread::Grouped);
        assert_eq!(spread(["a", "b", "a"]), Spread::Mixed);
    }
}
