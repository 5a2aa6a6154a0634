//! Platform checks (issue 16): resource usage against limits, workloads beyond Deployments
//! (StatefulSets, DaemonSets, Jobs, CronJobs and whether a backup ran), autoscalers,
//! certificates, nodes and events, each as small rows and one rule per check, plus the
//! summary line. Pure: every time rule takes `now`.

pub mod certs;
pub mod events;
pub mod hpa;
pub mod nodes;
pub mod summary;
pub mod usage;
pub mod workloads;

/// Quantities live with the pod model (a pod's requests and limits are read with them).
pub use crate::model::quantity;

use std::time::Duration;

/// A duration in its two largest units, the second left out when zero: `15m`, `1d`, `2h30m`,
/// `5d12h`, `45s` (kubectl's ages read the same way).
pub fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (big, big_unit, small, small_unit) = match secs {
        0..60 => return format!("{secs}s"),
        60..3600 => (secs / 60, "m", secs % 60, "s"),
        3600..86400 => (secs / 3600, "h", secs % 3600 / 60, "m"),
        _ => (secs / 86400, "d", secs % 86400 / 3600, "h"),
    };
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (900, "15m"),
            (930, "15m30s"),
            (9000, "2h30m"),
            (86_400, "1d"),
            (7 * 86_400, "7d"),
            (5 * 86_400 + 12 * 3600 + 59, "5d12h"),
        ];
        for (secs, text) in cases {
            assert_eq!(short_duration(Duration::from_secs(secs)), text);
        }
    }
}
