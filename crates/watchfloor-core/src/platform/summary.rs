//! The Platform summary line: only the problems, each as the runbooks ask about them
//! (`backups: 1 stale`, `certs: 1 expiring in 5d`, `nodes: 1 DiskPressure`, `HPA: 1 at max`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::short_duration;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlatformSummary {
    /// The `[[targets.backups]]` CronJobs.
    pub backups_total: usize,
    /// Of those, not run within their interval × factor.
    pub backups_stale: usize,
    /// Of those, whose last Job failed.
    pub backups_failed: usize,
    /// Of those, not found (not created, or its namespace not watched yet).
    pub backups_missing: usize,
    /// Other CronJobs that are stale or whose last Job failed (Crit).
    pub cronjobs_problem: usize,
    /// StatefulSets and DaemonSets without a single available pod (Crit).
    pub workloads_down: usize,
    /// Certificates within the warning window, not yet expired.
    pub certs_expiring: usize,
    /// The soonest expiry among those.
    #[serde(skip)]
    pub certs_soonest: Option<Duration>,
    /// Certificates expired or not ready.
    pub certs_bad: usize,
    /// Nodes per problem (`NotReady`, `Unknown`, `DiskPressure`, `cordoned`, ...).
    pub nodes_by_problem: BTreeMap<String, usize>,
    pub hpas_at_max: usize,
    /// HPAs that cannot scale (ScalingActive or AbleToScale False).
    pub hpas_not_scaling: usize,
    /// Pods at or above the memory warning fraction of their limit.
    pub pods_near_memory_limit: usize,
    /// The metrics API is not installed or not answering.
    pub metrics_missing: bool,
}

fn join(parts: Vec<String>) -> String {
    parts.join(", ")
}

impl PlatformSummary {
    /// One entry per area with a problem; empty when everything is fine.
    pub fn headline(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut backups = Vec::new();
        for (n, what) in [
            (self.backups_stale, "stale"),
            (self.backups_failed, "failed"),
            (self.backups_missing, "missing"),
        ] {
            if n > 0 {
                backups.push(format!("{n} {what}"));
            }
        }
        if !backups.is_empty() {
            lines.push(format!("backups: {}", join(backups)));
        }
        if self.cronjobs_problem > 0 {
            lines.push(format!(
                "cronjobs: {} stale or failed",
                self.cronjobs_problem
            ));
        }
        if self.workloads_down > 0 {
            lines.push(format!("workloads: {} down", self.workloads_down));
        }
        let mut certs = Vec::new();
        if self.certs_bad > 0 {
            certs.push(format!("{} expired or not ready", self.certs_bad));
        }
        if self.certs_expiring > 0 {
            let soonest = self
                .certs_soonest
                .map(|d| format!(" in {}", short_duration(d)))
                .unwrap_or_default();
            certs.push(format!("{} expiring{soonest}", self.certs_expiring));
        }
        if !certs.is_empty() {
            lines.push(format!("certs: {}", join(certs)));
        }
        if !self.nodes_by_problem.is_empty() {
            let nodes = self
                .nodes_by_problem
                .iter()
                .map(|(problem, n)| format!("{n} {problem}"))
                .collect();
            lines.push(format!("nodes: {}", join(nodes)));
        }
        let mut hpas = Vec::new();
        if self.hpas_at_max > 0 {
            hpas.push(format!("{} at max", self.hpas_at_max));
        }
        if self.hpas_not_scaling > 0 {
            hpas.push(format!("{} not scaling", self.hpas_not_scaling));
        }
        if !hpas.is_empty() {
            lines.push(format!("HPA: {}", join(hpas)));
        }
        if self.pods_near_memory_limit > 0 {
            lines.push(format!(
                "memory: {} pod{} near limit",
                self.pods_near_memory_limit,
                if self.pods_near_memory_limit == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        if self.metrics_missing {
            lines.push("metrics: unavailable".into());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_lists_only_problems() {
        assert!(PlatformSummary::default().headline().is_empty());
        let all_fine = PlatformSummary {
            backups_total: 3,
            ..Default::default()
        };
        assert!(all_fine.headline().is_empty());
        let summary = PlatformSummary {
            backups_total: 2,
            backups_stale: 1,
            certs_expiring: 1,
            certs_soonest: Some(Duration::from_secs(5 * 86_400 + 3600)),
            nodes_by_problem: BTreeMap::from([("DiskPressure".into(), 1)]),
            hpas_at_max: 1,
            ..Default::default()
        };
        assert_eq!(
            summary.headline(),
            [
                "backups: 1 stale",
                "certs: 1 expiring in 5d1h",
                "nodes: 1 DiskPressure",
                "HPA: 1 at max"
            ]
        );
        let more = PlatformSummary {
            backups_failed: 1,
            backups_missing: 1,
            cronjobs_problem: 2,
            workloads_down: 1,
            certs_bad: 1,
            nodes_by_problem: BTreeMap::from([("NotReady".into(), 2), ("cordoned".into(), 1)]),
            hpas_not_scaling: 1,
            pods_near_memory_limit: 3,
            metrics_missing: true,
            ..Default::default()
        };
        assert_eq!(
            more.headline(),
            [
                "backups: 1 failed, 1 missing",
                "cronjobs: 2 stale or failed",
                "workloads: 1 down",
                "certs: 1 expired or not ready",
                "nodes: 2 NotReady, 1 cordoned",
                "HPA: 1 not scaling",
                "memory: 3 pods near limit",
                "metrics: unavailable",
            ]
        );
    }
}
