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
    // The platform verdicts (CronJob staleness, certificate expiry, the summary) are as of the
    // last drawing: a copy has them redone at `now`, under the target's rules, leaving the
    // shown data alone. Sorted there too, rather than read from the order caches.
    let settings = data.target().map(|t| t.platform()).unwrap_or_default();
    let backups = data.target().map_or(&[][..], |t| t.backups.as_slice());
    let mut kube = data.kube.clone();
    if let Some(target) = data.target() {
        kube.set_platform_rules(crate::data::PlatformRules::from_target(target));
    }
    kube.reorder_at(now);
    let items = snapshot::kube_items(&kube, &settings, backups, &[], now);
    let platform_section = |on: bool, items| {
        if on {
            section(data, "platform", now, items)
        } else {
            Section::unconfigured()
        }
    };
    let workloads = platform_section(true, items.workloads);
    let platform = if workloads.state == snapshot::SectionState::Unconfigured {
        serde_json::Value::Null
    } else {
        items.platform
    };
    let kube = &data.kube;
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
        pods: section(data, "kubernetes", now, items.pods),
        deployments: section(data, "kubernetes", now, items.deployments),
        workloads,
        nodes: platform_section(settings.nodes, items.nodes),
        certificates: platform_section(settings.certificates, items.certificates),
        events: platform_section(settings.events, items.events),
        platform,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use serde_json::{Value, json};

    use super::*;
    use crate::app::status::SourceState;
    use crate::data::{KubeUpdate, RowUpdate};
    use crate::model::Health;
    use crate::snapshot::SectionState;
    use watchfloor_core::platform::certs::{CertSource, CertificateRow};
    use watchfloor_core::platform::events::EventRow;
    use watchfloor_core::platform::usage::{ContainerUsage, PodUsage};

    const CONFIG: &str = r#"
[[targets]]
name = "prod"
[targets.kubernetes]
context = "prod"
[[targets.backups]]
namespace = "babylon-backup"
cronjob = "postgres-nightly"
description = "nightly PostgreSQL dump"
"#;

    fn at(text: &str) -> SystemTime {
        let t = crate::timestamp::parse_rfc3339(text).unwrap();
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().try_into().unwrap())
    }

    fn now() -> SystemTime {
        at("2024-05-03T12:00:00Z")
    }

    fn data(config: &str) -> Data {
        let config = crate::config::parse(std::path::Path::new("test.toml"), config).unwrap();
        Data::new(Arc::new(config), 0, 0)
    }

    fn apply(data: &mut Data, update: KubeUpdate) {
        let event = crate::event::SourceEvent::Kube {
            generation: data.generation,
            update,
        };
        assert!(data.apply(event, now()));
    }

    /// Every source of the target reports `state` at `now()`.
    fn all_sources(data: &mut Data, state: &SourceState) {
        for index in 0..data.sources.len() {
            let event = crate::event::SourceEvent::State {
                generation: data.generation,
                index,
                state: state.clone(),
                at: now(),
            };
            data.apply(event, now());
        }
    }

    fn replace<R>(rows: Vec<R>) -> RowUpdate<R> {
        RowUpdate::Replace {
            namespace: None,
            rows,
        }
    }

    fn parsed<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn cronjob(namespace: &str, name: &str, last_success: &str) -> KubeUpdate {
        use watchfloor_core::platform::workloads::cronjob_row;
        KubeUpdate::CronJobs(RowUpdate::Upsert(cronjob_row(&parsed(json!({
            "metadata": {"name": name, "namespace": namespace,
                         "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {}},
            "status": {"lastSuccessfulTime": last_success,
                       "lastScheduleTime": last_success},
        })))))
    }

    fn node(name: &str, disk_pressure: bool) -> watchfloor_core::platform::nodes::NodeRow {
        let pressure = if disk_pressure { "True" } else { "False" };
        watchfloor_core::platform::nodes::node_row(&parsed(json!({
            "metadata": {"name": name},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "DiskPressure", "status": pressure}],
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            },
        })))
    }

    fn event(name: &str, last: &str, warning: bool) -> EventRow {
        EventRow {
            namespace: "shop".into(),
            name: name.into(),
            involved_kind: "Pod".into(),
            involved_name: "api-1".into(),
            involved_namespace: "shop".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            count: if warning { 2 } else { 1 },
            first: Some(at("2024-05-03T11:00:00Z")),
            last: Some(at(last)),
            warning,
            source: "kubelet".into(),
        }
    }

    fn pod(name: &str, memory_limit: Option<u64>) -> crate::model::pods::PodRow {
        crate::model::pods::PodRow {
            namespace: "shop".into(),
            name: name.into(),
            ready: 1,
            total: 1,
            status: "Running".into(),
            health: Health::Ok,
            restarts: 0,
            last_restart: None,
            created: None,
            node: Some("node-1".into()),
            owner: None,
            resources: watchfloor_core::platform::usage::Resources {
                cpu_request: Some(250),
                cpu_limit: Some(500),
                memory_request: Some(512),
                memory_limit,
            },
            terminated: false,
        }
    }

    fn usage(name: &str, memory: u64) -> PodUsage {
        PodUsage {
            namespace: "shop".into(),
            name: name.into(),
            containers: vec![ContainerUsage {
                name: "app".into(),
                cpu_millis: 125,
                memory_bytes: memory,
            }],
            window: None,
            timestamp: Some(now()),
        }
    }

    /// The demo's incident in rows: a stale backup, a failed Job, a certificate 5 days from
    /// expiry, a node under DiskPressure, an HPA at max, a pod near its memory limit, and a
    /// repeated warning event.
    fn incident() -> Data {
        use watchfloor_core::platform::{hpa::hpa_row, workloads::job_row};
        let mut data = data(CONFIG);
        apply(
            &mut data,
            KubeUpdate::Pods(replace(vec![pod("api-1", Some(1000)), pod("web-1", None)])),
        );
        apply(
            &mut data,
            KubeUpdate::PodMetrics(vec![usage("api-1", 950), usage("web-1", 10)]),
        );
        apply(
            &mut data,
            cronjob("babylon-backup", "postgres-nightly", "2024-05-01T02:05:00Z"),
        );
        apply(&mut data, cronjob("shop", "report", "2024-05-03T02:05:00Z"));
        let job = job_row(&parsed(json!({
            "metadata": {"name": "migrate", "namespace": "shop",
                         "creationTimestamp": "2024-05-03T10:00:00Z"},
            "spec": {"completions": 1, "template": {}},
            "status": {"failed": 3, "conditions": [{"type": "Failed", "status": "True",
                "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]},
        })));
        apply(&mut data, KubeUpdate::Jobs(replace(vec![job])));
        apply(
            &mut data,
            KubeUpdate::Certificates(replace(vec![CertificateRow {
                namespace: "shop".into(),
                name: "web-tls".into(),
                secret: Some("web-tls-secret".into()),
                dns_names: vec!["shop.example.com".into()],
                ready: Some(true),
                ready_message: None,
                not_after: Some(now() + Duration::from_secs(5 * 86_400)),
                renewal_time: None,
                source: CertSource::CertManager,
            }])),
        );
        apply(
            &mut data,
            KubeUpdate::Nodes(replace(vec![node("node-1", false), node("node-2", true)])),
        );
        let hpa = hpa_row(&parsed(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 4},
            "status": {"currentReplicas": 4, "desiredReplicas": 4},
        })));
        apply(&mut data, KubeUpdate::Hpas(RowUpdate::Upsert(hpa)));
        apply(
            &mut data,
            KubeUpdate::Events(replace(vec![
                event("e1", "2024-05-03T11:30:00Z", true),
                event("e2", "2024-05-03T11:59:00Z", true),
                event("e3", "2024-05-03T11:59:30Z", false),
            ])),
        );
        all_sources(&mut data, &SourceState::Live);
        data
    }

    fn items(section: &Section) -> &[Value] {
        &section.items
    }

    #[test]
    fn the_snapshot_has_the_platform_sections_worst_first() {
        let data = incident();
        // The data is not reordered (drawing does that): the snapshot redoes the verdicts.
        let snapshot = snapshot_of(&data, false, now());
        for (name, section) in [
            ("workloads", &snapshot.workloads),
            ("nodes", &snapshot.nodes),
            ("certificates", &snapshot.certificates),
            ("events", &snapshot.events),
        ] {
            assert_eq!(section.state, SectionState::Ok, "{name}: {section:?}");
        }

        let workloads = items(&snapshot.workloads);
        let kinds: Vec<(&str, &str)> = workloads
            .iter()
            .map(|w| (w["kind"].as_str().unwrap(), w["health"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Job", "crit"),
                ("CronJob", "crit"),
                ("HorizontalPodAutoscaler", "warn"),
                ("CronJob", "ok"),
            ],
            "worst first"
        );
        let backup = &workloads[1];
        assert_eq!(backup["name"], "postgres-nightly");
        assert_eq!(backup["state"], "stale");
        assert_eq!(backup["stale"], true);
        assert_eq!(backup["last_failed"], false);
        assert_eq!(backup["backup"], true);
        assert_eq!(backup["description"], "nightly PostgreSQL dump");
        assert_eq!(backup["schedule"], "0 2 * * *");
        assert_eq!(backup["interval_seconds"], 86_400);
        assert_eq!(backup["last_success"], "2024-05-01T02:05:00Z");
        assert_eq!(backup["last_schedule"], "2024-05-01T02:05:00Z");
        assert_eq!(
            backup["reason"],
            "stale: last success 2d9h ago (runs every 1d)"
        );
        assert_eq!(workloads[3]["backup"], false);
        let job = &workloads[0];
        assert_eq!(
            (&job["state"], &job["completions"], &job["failed"]),
            (&json!("failed"), &json!(1), &json!(3))
        );
        assert!(job["cronjob"].is_null());
        let hpa = &workloads[2];
        assert_eq!(hpa["at_max"], true);
        assert_eq!(hpa["state"], "at max");
        assert_eq!(
            (&hpa["min"], &hpa["max"], &hpa["current"], &hpa["desired"]),
            (&json!(1), &json!(4), &json!(4), &json!(4))
        );
        assert_eq!(hpa["target"], "Deployment/web");

        let nodes = items(&snapshot.nodes);
        assert_eq!(nodes[0]["name"], "node-2");
        assert_eq!(nodes[0]["health"], "crit");
        assert_eq!(nodes[0]["problems"], json!(["DiskPressure"]));
        assert_eq!(nodes[1]["name"], "node-1");
        assert_eq!(nodes[1]["pods"], 2, "both pods run on node-1");
        assert_eq!(nodes[1]["cpu"]["requested_millis"], 500);
        assert_eq!(nodes[1]["cpu"]["allocatable_millis"], 4000);
        assert_eq!(nodes[1]["memory"]["allocatable_bytes"], 16u64 << 30);
        assert!(
            nodes[1]["cpu"]["usage_millis"].is_null(),
            "no NodeMetrics yet"
        );

        let cert = &items(&snapshot.certificates)[0];
        assert_eq!(cert["health"], "warn");
        assert_eq!(cert["check"], "expires in 5d");
        assert_eq!(cert["expires_in_seconds"], 5 * 86_400);
        assert_eq!(cert["not_after"], "2024-05-08T12:00:00Z");
        assert_eq!(cert["source"], "cert-manager");
        assert_eq!(cert["secret"], "web-tls-secret");

        let events = items(&snapshot.events);
        assert_eq!(events.len(), 1, "warnings only, grouped: {events:?}");
        assert_eq!(
            (
                &events[0]["kind"],
                &events[0]["name"],
                &events[0]["reason"],
                &events[0]["count"]
            ),
            (&json!("Pod"), &json!("api-1"), &json!("BackOff"), &json!(4))
        );
        assert_eq!(events[0]["times"], "x4 over 1h");
        assert_eq!(events[0]["first"], "2024-05-03T11:00:00Z");
        assert_eq!(events[0]["last"], "2024-05-03T11:59:00Z");

        let pods = items(&snapshot.pods);
        assert_eq!(pods[0]["name"], "api-1");
        assert_eq!(pods[0]["limits"]["memory_bytes"], 1000);
        assert_eq!(pods[0]["requests"]["cpu_millis"], 250);
        assert_eq!(pods[0]["usage"]["memory_bytes"], 950);
        assert_eq!(pods[0]["usage"]["memory_level"], "warn");
        assert_eq!(pods[0]["usage"]["cpu"], "125m/500m 25%");
        assert!(pods[1]["limits"]["memory_bytes"].is_null());

        let platform = &snapshot.platform;
        assert_eq!(
            platform["headline"],
            json!([
                "backups: 1 stale",
                "certs: 1 expiring in 5d",
                "nodes: 1 DiskPressure",
                "HPA: 1 at max",
                "memory: 1 pod near limit"
            ])
        );
        assert_eq!(platform["counts"]["backups_stale"], 1);
        assert_eq!(platform["counts"]["certs_soonest_seconds"], 5 * 86_400);
        assert_eq!(platform["backups"][0]["state"], "stale");
        assert_eq!(platform["metrics"]["state"], "ok");
        // The existing sections keep their shape.
        let json: Value = serde_json::from_str(&snapshot.to_json()).unwrap();
        for name in ["pods", "workloads", "nodes", "certificates", "events"] {
            assert_eq!(json[name].as_object().unwrap().len(), 3, "{name}");
        }
    }

    #[test]
    fn the_report_headlines_the_platform_problems() {
        let text = report_of(&incident(), false, now());
        let lines: Vec<&str> = text.lines().collect();
        for expected in [
            "CRIT  platform: backups: 1 stale · certs: 1 expiring in 5d · nodes: 1 DiskPressure · HPA: 1 at max · memory: 1 pod near limit",
            "CRIT  backup babylon-backup/postgres-nightly (nightly PostgreSQL dump): stale: last success 2d9h ago (runs every 1d)",
            "CRIT  job shop/migrate failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
            "CRIT  node node-2: DiskPressure",
            "WARN  HPA shop/web at max 4/4 replicas (Deployment/web)",
            "WARN  certificate shop/web-tls expires in 5d (cert-manager, secret web-tls-secret)",
            "WARN  event shop Pod/api-1 BackOff x4 over 1h: Back-off restarting failed container",
        ] {
            assert!(lines.contains(&expected), "no line {expected:?}:\n{text}");
        }
        let position = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
        assert!(
            position("platform:") < position("backup babylon-backup"),
            "the summary leads:\n{text}"
        );
        assert!(
            !text.contains("report"),
            "healthy CronJobs are not listed:\n{text}"
        );
        assert!(
            text.ends_with("ok    pods: 2 ok · deployments: 0 ok\n"),
            "{text}"
        );
    }

    #[test]
    fn missing_metrics_are_said_once_and_turned_off_checks_are_unconfigured() {
        let config = format!("{CONFIG}[targets.platform]\nnodes = false\nevents = false\n");
        let mut data = data(&config);
        apply(
            &mut data,
            KubeUpdate::Pods(replace(vec![pod("api-1", Some(1000))])),
        );
        apply(
            &mut data,
            KubeUpdate::MetricsUnavailable(
                "the metrics API (metrics.k8s.io) is not installed".into(),
            ),
        );
        all_sources(&mut data, &SourceState::Live);
        let snapshot = snapshot_of(&data, false, now());
        assert_eq!(snapshot.nodes.state, SectionState::Unconfigured);
        assert_eq!(snapshot.events.state, SectionState::Unconfigured);
        assert_eq!(snapshot.workloads.state, SectionState::Ok);
        let metrics = &snapshot.platform["metrics"];
        assert_eq!(metrics["state"], "missing");
        assert_eq!(
            metrics["note"],
            "the metrics API (metrics.k8s.io) is not installed"
        );
        let pod = &snapshot.pods.items[0];
        assert!(pod["usage"].is_null(), "not said per pod: {pod}");
        assert_eq!(pod["limits"]["memory_bytes"], 1000, "limits are known");
        // The missing backup is in the summary and a headline of its own.
        assert_eq!(snapshot.platform["backups"][0]["state"], "missing");
        let text = crate::report::incident_text(&snapshot.redacted());
        assert!(
            text.contains("CRIT  platform: backups: 1 missing · metrics: unavailable\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "CRIT  backup babylon-backup/postgres-nightly missing: no such CronJob\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("metrics").count(), 1, "{text}");
    }

    #[test]
    fn platform_sections_follow_their_source() {
        // Not live: the sections say so, with the data they still hold.
        let mut data = incident();
        all_sources(
            &mut data,
            &SourceState::Error {
                reason: "connection refused".into(),
                retry_at: None,
            },
        );
        let snapshot = snapshot_of(&data, false, now());
        for section in [&snapshot.workloads, &snapshot.nodes, &snapshot.events] {
            assert_eq!(section.state, SectionState::Error);
            assert!(
                section
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains("platform") && e.contains("connection refused")),
                "{section:?}"
            );
        }
        assert!(!snapshot.workloads.items.is_empty());
        // Without Kubernetes: unconfigured, and no summary.
        let data = self::data("[[targets]]\nname = \"bare\"\n");
        let snapshot = snapshot_of(&data, false, now());
        for section in [
            &snapshot.workloads,
            &snapshot.nodes,
            &snapshot.certificates,
            &snapshot.events,
        ] {
            assert_eq!(section.state, SectionState::Unconfigured);
        }
        assert!(snapshot.platform.is_null());
    }

    #[test]
    fn untrusted_platform_text_is_redacted_and_sanitised() {
        let mut data = incident();
        let mut bad = event("e9", "2024-05-03T11:59:50Z", true);
        bad.reason = "Failed".into();
        bad.message =
            "pull from https://robot:hunter2@registry.example.com/x \u{1b}[31mdenied".into();
        apply(&mut data, KubeUpdate::Events(RowUpdate::Upsert(bad)));
        let snapshot = snapshot_of(&data, false, now());
        let json = snapshot.to_json();
        assert!(!json.contains("hunter2"), "{json}");
        let text = report_of(&data, false, now());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("WARN  event shop Pod/api-1 Failed"), "{text}");
    }
}
