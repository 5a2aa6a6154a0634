//! Per-source freshness: what each configured backend last told us, and how old that is.

use std::time::{Duration, SystemTime};

use super::pane::PaneId;
use crate::config::{ClaimSource, LogSource, TargetConfig};
pub use watchfloor_core::event::{SourceOrigin, SourceState, source_origins};
pub use watchfloor_core::text::format_age;

/// One configured source of the current target, as the panes show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub origin: SourceOrigin,
    pub pane: PaneId,
    /// Short kind, e.g. `kubernetes`, `postgres`.
    pub kind: &'static str,
    pub name: String,
    /// What it watches, from the config (never secrets).
    pub detail: String,
    pub state: SourceState,
    pub last_ok: Option<SystemTime>,
    /// Live data older than this is shown as stale: no proof from the source within this bound
    /// (see [`stale_bound`]).
    pub stale_after: Duration,
}

/// The freshness of a source or a pane, as displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    NotConfigured,
    NotConnected {
        why: String,
    },
    Connecting,
    Live,
    Stale {
        age: Duration,
    },
    Error {
        reason: String,
        retry_in: Option<Duration>,
        age: Option<Duration>,
    },
}

impl Freshness {
    /// Ordering for "worst wins" when a pane has several sources.
    fn badness(&self) -> u8 {
        match self {
            Self::Live => 0,
            Self::NotConfigured => 1,
            Self::Connecting => 2,
            Self::NotConnected { .. } => 3,
            Self::Stale { .. } => 4,
            Self::Error { .. } => 5,
        }
    }

    /// The label shown in a pane's title, e.g. `stale 12s` or `error: refused · retry in 4s`.
    pub fn label(&self) -> String {
        match self {
            Self::NotConfigured => "not configured".into(),
            Self::NotConnected { why } => format!("not connected: {why}"),
            Self::Connecting => "connecting".into(),
            Self::Live => "live".into(),
            Self::Stale { age } => format!("stale {}", format_age(*age)),
            Self::Error {
                reason,
                retry_in,
                age,
            } => {
                let mut label = format!("error: {reason}");
                match retry_in {
                    // The retry time has come: the attempt is under way.
                    Some(retry) if retry.as_secs() == 0 => label.push_str(" · retrying…"),
                    Some(retry) => label.push_str(&format!(" · retry in {}", format_age(*retry))),
                    None => {}
                }
                if let Some(age) = age {
                    label.push_str(&format!(" · data {} old", format_age(*age)));
                }
                label
            }
        }
    }

    /// The label split for a pane title: what must stay visible first (the state and the age
    /// of the data shown), then the rest (the reason, the retry), so a narrow title cuts the
    /// reason and never the age: `error · data 52s old` + `: refused · retry in 4s`.
    pub fn title_parts(&self) -> (String, String) {
        match self {
            Self::Error {
                reason,
                retry_in,
                age,
            } => {
                let head = match age {
                    Some(age) => format!("error · data {} old", format_age(*age)),
                    None => "error · no data".to_string(),
                };
                let mut tail = format!(": {reason}");
                match retry_in {
                    Some(retry) if retry.as_secs() == 0 => tail.push_str(" · retrying…"),
                    Some(retry) => tail.push_str(&format!(" · retry in {}", format_age(*retry))),
                    None => {}
                }
                (head, tail)
            }
            Self::NotConnected { why } => ("not connected".into(), format!(": {why}")),
            other => (other.label(), String::new()),
        }
    }

    /// The worst of several freshnesses; `NotConfigured` when there are none.
    pub fn worst(all: impl IntoIterator<Item = Self>) -> Self {
        all.into_iter()
            .max_by_key(Self::badness)
            .unwrap_or(Self::NotConfigured)
    }
}

impl SourceStatus {
    pub fn freshness(&self, now: SystemTime) -> Freshness {
        let age = self
            .last_ok
            .map(|at| now.duration_since(at).unwrap_or_default());
        match &self.state {
            SourceState::NotBuilt => Freshness::NotConnected {
                why: "no backend in this build yet".into(),
            },
            SourceState::Unavailable { reason } => Freshness::NotConnected {
                why: reason.clone(),
            },
            SourceState::Connecting => Freshness::Connecting,
            SourceState::Live => match age {
                Some(age) if age > self.stale_after => Freshness::Stale { age },
                _ => Freshness::Live,
            },
            SourceState::Error { reason, retry_at } => Freshness::Error {
                reason: reason.clone(),
                retry_in: retry_at.map(|at| at.duration_since(now).unwrap_or_default()),
                age,
            },
        }
    }

    /// The sources a target configures, in pane order, all `Connecting`.
    pub fn for_target(target: &TargetConfig) -> Vec<Self> {
        source_origins(target)
            .into_iter()
            .map(|origin| Self::describe(target, origin))
            .collect()
    }

    fn describe(target: &TargetConfig, origin: SourceOrigin) -> Self {
        let (pane, kind, name, detail, stale_after) = match origin {
            SourceOrigin::Kubernetes => {
                let k8s = target.kubernetes.clone().unwrap_or_default();
                let context = k8s.context.unwrap_or_else(|| "current context".into());
                let namespaces = if k8s.namespaces.is_empty() {
                    "all namespaces".into()
                } else {
                    k8s.namespaces.join(", ")
                };
                (
                    PaneId::Pods,
                    "kubernetes",
                    context,
                    format!("namespaces: {namespaces}"),
                    crate::sources::kube_watch::STALE_AFTER,
                )
            }
            SourceOrigin::Prometheus => {
                let slos: Vec<&str> = target.slo.iter().map(|s| s.name.as_str()).collect();
                let (url, refresh) = target
                    .prometheus
                    .as_ref()
                    .map_or((String::new(), Duration::ZERO), |p| {
                        (crate::redact::redacted(&p.url), p.refresh)
                    });
                (
                    PaneId::Slo,
                    "prometheus",
                    url,
                    format!("SLOs: {}", slos.join(", ")),
                    stale_bound(refresh),
                )
            }
            SourceOrigin::Alerts => {
                let (kind, url, refresh) = match (&target.alertmanager, &target.prometheus) {
                    (Some(am), _) => ("alertmanager", am.url.as_str(), am.refresh),
                    (None, Some(p)) => ("prometheus alerts", p.url.as_str(), p.refresh),
                    (None, None) => ("alerts", "", Duration::ZERO),
                };
                (
                    PaneId::Slo,
                    kind,
                    crate::redact::redacted(url),
                    "alerts and silences".to_string(),
                    stale_bound(refresh),
                )
            }
            SourceOrigin::Platform => {
                let platform = target.platform();
                let mut parts = vec!["workloads", "HPAs"];
                if platform.nodes {
                    parts.push("nodes");
                }
                if platform.events {
                    parts.push("Warning events");
                }
                if platform.certificates {
                    parts.push("certificates");
                }
                if platform.metrics {
                    parts.push("metrics");
                }
                let k8s = target.kubernetes.clone().unwrap_or_default();
                (
                    PaneId::Pods,
                    "platform",
                    k8s.context.unwrap_or_else(|| "current context".into()),
                    parts.join(", "),
                    crate::sources::kube_watch::STALE_AFTER,
                )
            }
            SourceOrigin::Health(i) => {
                let health = &target.health[i];
                (
                    PaneId::Slo,
                    "health",
                    health.name.clone(),
                    crate::redact::redacted(&health.url),
                    stale_bound(health.interval),
                )
            }
            SourceOrigin::Postgres(i) => {
                let pg = &target.postgres[i];
                (
                    PaneId::Db,
                    "postgres",
                    pg.name.clone(),
                    format!("dsn: {}", pg.dsn.describe()),
                    stale_bound(pg.refresh),
                )
            }
            SourceOrigin::Redis(i) => {
                let redis = &target.redis[i];
                (
                    PaneId::Db,
                    "redis",
                    redis.name.clone(),
                    format!("url: {}", redis.url.describe()),
                    stale_bound(redis.refresh),
                )
            }
            SourceOrigin::Claims(i) => {
                let claim = &target.claims[i];
                let (kind, detail, stale_after) = match claim.source.get_ref() {
                    ClaimSource::Crd => (
                        "crd claims",
                        format!(
                            "{}/{} {} · stuck after {}",
                            claim.group.as_deref().unwrap_or_default(),
                            claim.version.as_deref().unwrap_or_default(),
                            claim.kind.as_deref().unwrap_or_default(),
                            humantime::format_duration(claim.stuck_after)
                        ),
                        crate::sources::kube_watch::STALE_AFTER,
                    ),
                    ClaimSource::Sql => (
                        "sql claims",
                        format!(
                            "database {} · stuck after {}",
                            claim.database.as_deref().unwrap_or_default(),
                            humantime::format_duration(claim.stuck_after)
                        ),
                        target
                            .postgres
                            .iter()
                            .find(|p| Some(&p.name) == claim.database.as_ref())
                            .map_or(Duration::from_secs(60), |database| {
                                stale_bound(crate::sources::claims_sql::poll_interval(database))
                            }),
                    ),
                };
                (
                    PaneId::Claims,
                    kind,
                    claim.display_name(),
                    detail,
                    stale_after,
                )
            }
            SourceOrigin::Logs(i) => {
                let log = &target.logs[i];
                let (kind, detail) = match log.source.get_ref() {
                    LogSource::Kubernetes => (
                        "pod logs",
                        format!("namespace {}", log.namespace.as_deref().unwrap_or_default()),
                    ),
                    LogSource::File => ("file logs", log.path.clone().unwrap_or_default()),
                };
                // Quiet logs are not stale: a log source's state comes from its streams.
                (
                    PaneId::Logs,
                    kind,
                    log.display_name(),
                    detail,
                    Duration::MAX,
                )
            }
        };
        Self {
            origin,
            pane,
            kind,
            name,
            detail,
            state: SourceState::Connecting,
            last_ok: None,
            stale_after,
        }
    }
}

/// How long a polled source may go without a successful read before it is shown stale: two
/// refresh intervals or 20 s, whichever is larger (a poll may take a moment; one missed poll
/// is not yet a fault).
pub fn stale_bound(refresh: Duration) -> Duration {
    (refresh * 2).max(Duration::from_secs(20))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: SourceState, last_ok: Option<SystemTime>) -> SourceStatus {
        SourceStatus {
            origin: SourceOrigin::Postgres(0),
            pane: PaneId::Db,
            kind: "postgres",
            name: "main".into(),
            detail: String::new(),
            state,
            last_ok,
            stale_after: Duration::from_secs(6),
        }
    }

    #[test]
    fn live_turns_stale_with_age() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let s = status(SourceState::Live, Some(t0));
        assert_eq!(s.freshness(t0 + Duration::from_secs(5)), Freshness::Live);
        assert_eq!(
            s.freshness(t0 + Duration::from_secs(12)).label(),
            "stale 12s"
        );
    }

    #[test]
    fn error_label_has_reason_retry_and_age() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let s = status(
            SourceState::Error {
                reason: "connection refused".into(),
                retry_at: Some(t0 + Duration::from_secs(14)),
            },
            Some(t0),
        );
        assert_eq!(
            s.freshness(t0 + Duration::from_secs(10)).label(),
            "error: connection refused · retry in 4s · data 10s old"
        );
    }

    #[test]
    fn worst_wins_and_empty_is_not_configured() {
        assert_eq!(Freshness::worst([]), Freshness::NotConfigured);
        let worst = Freshness::worst([
            Freshness::Live,
            Freshness::Stale {
                age: Duration::from_secs(3),
            },
            Freshness::Connecting,
        ]);
        assert_eq!(worst.label(), "stale 3s");
    }

    #[test]
    fn ages_are_compact() {
        assert_eq!(format_age(Duration::from_secs(42)), "42s");
        assert_eq!(format_age(Duration::from_secs(192)), "3m12s");
        assert_eq!(format_age(Duration::from_secs(7500)), "2h05m");
        assert_eq!(
            format_age(Duration::from_secs(3 * 86400 + 4 * 3600)),
            "3d4h"
        );
    }
}
