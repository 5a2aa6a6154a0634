//! The console's `Y`: the same incident report as `watchfloor snapshot --format text`, built from
//! the data the console holds (frozen or live) instead of a fresh collection. A section whose
//! sources are not live says so, with the reason and the age of the data it still shows.

use std::time::SystemTime;

use crate::event::SourceOrigin;
use crate::snapshot::{self, Section, Snapshot};

use super::data::Data;
use super::status::{Freshness, SourceStatus};

/// Which snapshot section a source feeds.
fn section_of(origin: SourceOrigin) -> &'static str {
    match origin {
        SourceOrigin::Kubernetes => "kubernetes",
        SourceOrigin::Prometheus => "slo",
        SourceOrigin::Health(_) => "health",
        SourceOrigin::Postgres(_) => "postgres",
        SourceOrigin::Redis(_) => "redis",
        SourceOrigin::Claims(_) => "claims",
        SourceOrigin::Logs(_) => "logs",
        SourceOrigin::Alerts => "alerts",
        SourceOrigin::Platform => "platform",
    }
}

/// The section's state from its sources: unconfigured without any, an error naming every
/// source that is not live (stale included, with the data's age), else ok.
fn section(data: &Data, name: &str, now: SystemTime, items: Vec<serde_json::Value>) -> Section {
    let sources: Vec<&SourceStatus> = data
        .sources
        .iter()
        .filter(|s| section_of(s.origin) == name)
        .collect();
    if sources.is_empty() {
        return Section::unconfigured();
    }
    let failed: Vec<String> = sources
        .iter()
        .filter_map(|s| match s.freshness(now) {
            Freshness::Live | Freshness::NotConfigured => None,
            other => Some(format!("{} {}: {}", s.kind, s.name, other.label())),
        })
        .collect();
    Section::with_failures(items, &failed)
}

/// A snapshot of what `data` holds at `now` (the freeze time for frozen data).
pub fn snapshot_of(data: &Data, read_only: bool, now: SystemTime) -> Snapshot {
    // Sorted here rather than read from the order caches, which are rebuilt only at drawing.
    let kube = &data.kube;
    let mut pods: Vec<_> = kube.pods.values().cloned().collect();
    crate::model::pods::sort_worst_first(&mut pods);
    let pods = pods.iter().map(|p| snapshot::pod_item(p, now)).collect();
    let mut deployments: Vec<_> = kube.deployments.values().cloned().collect();
    crate::model::deployments::sort_worst_first(&mut deployments);
    let deployments = deployments
        .iter()
        .map(|d| snapshot::deployment_item(d, now))
        .collect();
    let mut claims: Vec<_> = kube.claims.values().flatten().cloned().collect();
    crate::model::claims::sort_worst_first(&mut claims);
    let claims = claims
        .iter()
        .map(|c| snapshot::claim_item(c, now))
        .collect();
    let slo = data.slo.results.iter().map(snapshot::slo_item).collect();
    let health = data
        .slo
        .health
        .values()
        .map(snapshot::health_item)
        .collect();
    let postgres = data
        .db
        .postgres
        .values()
        .map(snapshot::postgres_item)
        .collect();
    let redis = data.db.redis.values().map(snapshot::redis_item).collect();
    let logs = data
        .sources
        .iter()
        .filter(|s| matches!(s.origin, SourceOrigin::Logs(_)))
        .map(|s| {
            let state = if s.freshness(now) == Freshness::Live {
                "ok"
            } else {
                "error"
            };
            serde_json::json!({"name": s.name, "state": state})
        })
        .collect();
    Snapshot {
        target: data.target_name().to_string(),
        read_only,
        collected_at: crate::timestamp::rfc3339_system(now),
        pods: section(data, "kubernetes", now, pods),
        deployments: section(data, "kubernetes", now, deployments),
        claims: section(data, "claims", now, claims),
        slo: section(data, "slo", now, slo),
        alerts: section(
            data,
            "alerts",
            now,
            data.alerts
                .as_deref()
                .map(|a| snapshot::alert_items(&a.report, now))
                .unwrap_or_default(),
        ),
        health: section(data, "health", now, health),
        postgres: section(data, "postgres", now, postgres),
        redis: section(data, "redis", now, redis),
        logs: section(data, "logs", now, logs),
    }
}

/// The paste-ready text of what `data` holds.
pub fn report_of(data: &Data, read_only: bool, now: SystemTime) -> String {
    crate::report::incident_text(&snapshot_of(data, read_only, now).redacted())
}
