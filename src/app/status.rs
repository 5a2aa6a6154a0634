//! Per-source freshness: what each configured backend last told us, and how old that is.

use std::time::{Duration, SystemTime};

use super::pane::PaneId;
use crate::config::{ClaimSource, LogSource, TargetConfig};

/// What a source task reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Started, no answer yet.
    Connecting,
    /// The last attempt succeeded.
    Live,
    /// The last attempt failed; the source retries by itself.
    Error {
        reason: String,
        retry_at: Option<SystemTime>,
    },
    /// This build of watchfloor has no backend for this source yet.
    NotBuilt,
    /// The backend answers but cannot serve this source (e.g. a CRD that is not installed);
    /// checked again now and then, without error noise.
    Unavailable { reason: String },
}

/// Which config entry a source comes from (index into the target's list of that kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOrigin {
    Kubernetes,
    Prometheus,
    Health(usize),
    Postgres(usize),
    Redis(usize),
    Claims(usize),
    Logs(usize),
}

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
        let mut sources = Vec::new();
        let mut add = |origin, pane, kind, name: String, detail: String, stale_after: Duration| {
            sources.push(Self {
                origin,
                pane,
                kind,
                name,
                detail,
                state: SourceState::Connecting,
                last_ok: None,
                stale_after,
            });
        };
        if let Some(k8s) = &target.kubernetes {
            let context = k8s
                .context
                .clone()
                .unwrap_or_else(|| "current context".into());
            let namespaces = if k8s.namespaces.is_empty() {
                "all namespaces".into()
            } else {
                k8s.namespaces.join(", ")
            };
            add(
                SourceOrigin::Kubernetes,
                PaneId::Pods,
                "kubernetes",
                context,
                format!("namespaces: {namespaces}"),
                crate::sources::kube_watch::STALE_AFTER,
            );
        }
        if let Some(prom) = &target.prometheus {
            let slos: Vec<&str> = target.slo.iter().map(|s| s.name.as_str()).collect();
            add(
                SourceOrigin::Prometheus,
                PaneId::Slo,
                "prometheus",
                crate::redact::redacted(&prom.url),
                format!("SLOs: {}", slos.join(", ")),
                stale_bound(prom.refresh),
            );
        }
        for (i, health) in target.health.iter().enumerate() {
            add(
                SourceOrigin::Health(i),
                PaneId::Slo,
                "health",
                health.name.clone(),
                crate::redact::redacted(&health.url),
                stale_bound(health.interval),
            );
        }
        for (i, pg) in target.postgres.iter().enumerate() {
            add(
                SourceOrigin::Postgres(i),
                PaneId::Db,
                "postgres",
                pg.name.clone(),
                format!("dsn: {}", pg.dsn.describe()),
                stale_bound(pg.refresh),
            );
        }
        for (i, redis) in target.redis.iter().enumerate() {
            add(
                SourceOrigin::Redis(i),
                PaneId::Db,
                "redis",
                redis.name.clone(),
                format!("url: {}", redis.url.describe()),
                stale_bound(redis.refresh),
            );
        }
        for (i, claim) in target.claims.iter().enumerate() {
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
            add(
                SourceOrigin::Claims(i),
                PaneId::Claims,
                kind,
                claim.display_name(),
                detail,
                stale_after,
            );
        }
        for (i, log) in target.logs.iter().enumerate() {
            let (kind, detail) = match log.source.get_ref() {
                LogSource::Kubernetes => (
                    "pod logs",
                    format!("namespace {}", log.namespace.as_deref().unwrap_or_default()),
                ),
                LogSource::File => ("file logs", log.path.clone().unwrap_or_default()),
            };
            add(
                SourceOrigin::Logs(i),
                PaneId::Logs,
                kind,
                log.display_name(),
                detail,
                // Quiet logs are not stale: a log source's state comes from its streams.
                Duration::MAX,
            );
        }
        sources
    }
}

/// How long a polled source may go without a successful read before it is shown stale: two
/// refresh intervals or 20 s, whichever is larger (a poll may take a moment; one missed poll
/// is not yet a fault).
pub fn stale_bound(refresh: Duration) -> Duration {
    (refresh * 2).max(Duration::from_secs(20))
}

/// Compact age: `42s`, `3m12s`, `2h5m`, `3d4h`.
pub fn format_age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86400, secs % 86400 / 3600),
    }
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
