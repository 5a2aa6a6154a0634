//! Display rows for the Kubernetes panes, derived from API objects by pure functions.
//!
//! Sources keep these small rows, never whole objects, so memory stays flat as clusters grow.
//! Nothing here does I/O; every function takes `now` so tests control time.

pub mod claims;
pub mod deployments;
pub mod pods;
pub mod rollout;

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
fn system_time(time: &Time) -> Option<SystemTime> {
    from_timestamp(time.0)
}

/// An RFC 3339 timestamp from an untyped object; malformed input counts as absent.
fn parse_time(text: &str) -> Option<SystemTime> {
    text.parse::<Timestamp>().ok().and_then(from_timestamp)
}

// By hand: jiff's `From<Timestamp> for SystemTime` needs its `std` feature, which k8s-openapi
// does not turn on.
fn from_timestamp(timestamp: Timestamp) -> Option<SystemTime> {
    let offset = timestamp.as_duration();
    if offset.is_negative() {
        SystemTime::UNIX_EPOCH.checked_sub(offset.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH.checked_add(offset.unsigned_abs())
    }
}

/// How long ago `then` was; zero when it lies in the future (clock skew).
fn elapsed(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}
