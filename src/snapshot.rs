//! `watchfloor snapshot`: collect every configured source of a target once and print a report.
//!
//! The JSON shape is a stable interface (documented in the README): every section is
//! `{"state": "ok"|"error"|"unconfigured", "error": str|null, "items": [...]}`. Beside the
//! sections, `platform` is the platform checks' summary (null without `[targets.kubernetes]`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use serde_json::{Value, json};

use crate::config::{ClaimSource, KubernetesConfig, TargetConfig};
use crate::data::{KubeData, KubeUpdate, MetricsState, PlatformRules, RowUpdate};
use crate::model::Health;
use crate::model::claims::ClaimRow;
use crate::model::deployments::DeploymentRow;
use crate::model::pods::PodRow;
use watchfloor_core::config::{BackupConfig, PlatformConfig};
use watchfloor_core::platform::certs::{CertSource, CertificateRow};
use watchfloor_core::platform::events::{EventGroup, count_text};
use watchfloor_core::platform::hpa::HpaRow;
use watchfloor_core::platform::nodes::{NodeRow, node_problems};
use watchfloor_core::platform::usage::{PodUsage, cpu_cell, memory_cell, memory_level};
use watchfloor_core::platform::workloads::{
    CronJobCheck, CronJobRow, DaemonSetRow, JobRow, StatefulSetRow,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionState {
    Ok,
    Error,
    Unconfigured,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub state: SectionState,
    pub error: Option<String>,
    pub items: Vec<serde_json::Value>,
}

impl Section {
    pub fn unconfigured() -> Self {
        Self {
            state: SectionState::Unconfigured,
            error: None,
            items: vec![],
        }
    }

    pub fn ok(items: Vec<serde_json::Value>) -> Self {
        Self {
            state: SectionState::Ok,
            error: None,
            items,
        }
    }

    /// What was collected, and an error naming every source that failed (if any did).
    pub fn with_failures(items: Vec<serde_json::Value>, failed: &[String]) -> Self {
        if failed.is_empty() {
            Self::ok(items)
        } else {
            Self {
                state: SectionState::Error,
                error: Some(failed.join("; ")),
                items,
            }
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            state: SectionState::Error,
            error: Some(message.into()),
            items: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub target: String,
    pub read_only: bool,
    pub collected_at: String,
    pub pods: Section,
    pub deployments: Section,
    /// StatefulSets, DaemonSets, Jobs, CronJobs and HPAs, worst first.
    pub workloads: Section,
    pub nodes: Section,
    pub certificates: Section,
    /// Warning events grouped by object and reason, newest first.
    pub events: Section,
    pub claims: Section,
    pub slo: Section,
    pub alerts: Section,
    pub health: Section,
    pub postgres: Section,
    pub redis: Section,
    pub logs: Section,
    /// The platform checks' summary (see [`platform_summary`]); null when the target has no
    /// `[targets.kubernetes]` or the cluster could not be read at all.
    pub platform: Value,
}

impl Snapshot {
    /// Sections in report order, with their names.
    pub fn sections(&self) -> [(&'static str, &Section); 13] {
        [
            ("pods", &self.pods),
            ("deployments", &self.deployments),
            ("workloads", &self.workloads),
            ("nodes", &self.nodes),
            ("certificates", &self.certificates),
            ("events", &self.events),
            ("claims", &self.claims),
            ("slo", &self.slo),
            ("alerts", &self.alerts),
            ("health", &self.health),
            ("postgres", &self.postgres),
            ("redis", &self.redis),
            ("logs", &self.logs),
        ]
    }

    /// 0 when every configured source answered, 1 when any failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(
            self.sections()
                .iter()
                .any(|(_, s)| s.state == SectionState::Error),
        )
    }

    /// A copy in which every string (errors quoting URLs or DSNs, health URLs, item fields)
    /// has been through [`crate::redact`]. Both output formats print this copy: redacting the
    /// structure, not the printed text, keeps the JSON valid.
    pub fn redacted(&self) -> Self {
        use crate::redact::{redact_in_place, redact_json};
        let mut copy = self.clone();
        redact_in_place(&mut copy.target);
        for section in [
            &mut copy.pods,
            &mut copy.deployments,
            &mut copy.workloads,
            &mut copy.nodes,
            &mut copy.certificates,
            &mut copy.events,
            &mut copy.claims,
            &mut copy.slo,
            &mut copy.alerts,
            &mut copy.health,
            &mut copy.postgres,
            &mut copy.redis,
            &mut copy.logs,
        ] {
            if let Some(error) = &mut section.error {
                redact_in_place(error);
            }
            section.items.iter_mut().for_each(redact_json);
        }
        redact_json(&mut copy.platform);
        copy
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.redacted())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Collects one target. Each section is bounded by `timeout`; a section still unanswered then is an
/// error naming the timeout.
pub async fn collect(target: &TargetConfig, read_only: bool, timeout: Duration) -> Snapshot {
    let now = SystemTime::now();
    let collected_at = crate::timestamp::rfc3339_system(now);
    let (kube, claims, slo, alerts, health, postgres, redis, logs) = tokio::join!(
        bounded(timeout, kube_sections(target, now), |error| {
            KubeSections::failed(target, error)
        }),
        bounded(timeout, claims_section(target, now), std::convert::identity),
        bounded(timeout, slo_section(target), std::convert::identity),
        bounded(timeout, alerts_section(target, now), std::convert::identity),
        bounded(timeout, health_section(target), std::convert::identity),
        bounded(timeout, postgres_section(target), std::convert::identity),
        bounded(timeout, redis_section(target), std::convert::identity),
        bounded(
            timeout,
            logs_section(target, timeout),
            std::convert::identity
        ),
    );
    Snapshot {
        target: target.name().to_string(),
        read_only,
        collected_at,
        pods: kube.pods,
        deployments: kube.deployments,
        workloads: kube.workloads,
        nodes: kube.nodes,
        certificates: kube.certificates,
        events: kube.events,
        platform: kube.platform,
        claims,
        slo,
        alerts,
        health,
        postgres,
        redis,
        logs,
    }
}

/// What Alertmanager (else Prometheus) says fires, read once.
async fn alerts_section(target: &TargetConfig, now: SystemTime) -> Section {
    let source = crate::sources::alerts::AlertsSource::new(
        target.alertmanager.as_ref(),
        target.prometheus.as_ref(),
    );
    let Some(source) = source else {
        return Section::unconfigured();
    };
    let report = match source {
        Ok(source) => source.fetch().await,
        Err(error) => Err(error),
    };
    match report {
        Ok(report) => Section::ok(alert_items(&report, now)),
        Err(error) => Section::error(error),
    }
}

/// Every alert of a report, worst first, as the snapshot reports it.
pub fn alert_items(
    report: &crate::alerts::AlertsReport,
    now: SystemTime,
) -> Vec<serde_json::Value> {
    report
        .alerts
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "severity": a.labels.get("severity"),
                "state": a.state.label(),
                "labels": a.labels,
                "annotations": a.annotations,
                "starts_at": a.starts_at.map(crate::timestamp::rfc3339_system),
                "age_seconds": age_seconds(now, a.starts_at),
                "silenced_by": report.silences_of(a).map(|s| serde_json::json!({
                    "id": s.id, "created_by": s.created_by, "comment": s.comment,
                    "ends_at": s.ends_at.map(crate::timestamp::rfc3339_system),
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Runs a collection under the timeout; on timeout every section it would fill is an error.
async fn bounded<T, F: Future<Output = T>>(
    timeout: Duration,
    collection: F,
    on_timeout: impl Fn(Section) -> T,
) -> T {
    match tokio::time::timeout(timeout, collection).await {
        Ok(result) => result,
        Err(_) => on_timeout(Section::error(format!(
            "timed out after {}",
            humantime::format_duration(timeout)
        ))),
    }
}

fn age_seconds(now: SystemTime, at: Option<SystemTime>) -> Option<u64> {
    at.map(|at| now.duration_since(at).unwrap_or_default().as_secs())
}

/// The Kubernetes sections of one snapshot (pods, deployments and the platform checks'), and
/// the platform summary.
pub struct KubeSections {
    pub pods: Section,
    pub deployments: Section,
    pub workloads: Section,
    pub nodes: Section,
    pub certificates: Section,
    pub events: Section,
    pub platform: Value,
}

impl KubeSections {
    /// Every section `section` (the same error, or unconfigured) and no summary; a platform
    /// check the target turned off is unconfigured all the same.
    fn failed(target: &TargetConfig, section: Section) -> Self {
        let settings = target.platform();
        let unless_off = |on: bool| {
            if on && target.kubernetes.is_some() {
                section.clone()
            } else {
                Section::unconfigured()
            }
        };
        Self {
            pods: section.clone(),
            deployments: section.clone(),
            workloads: section.clone(),
            nodes: unless_off(settings.nodes),
            certificates: unless_off(settings.certificates),
            events: unless_off(settings.events),
            platform: Value::Null,
        }
    }
}

/// What [`kube_items`] makes of one [`KubeData`]: the items of every Kubernetes section and the
/// platform summary. Shared by `watchfloor snapshot` and the console's `Y`.
pub struct KubeItems {
    pub pods: Vec<Value>,
    pub deployments: Vec<Value>,
    pub workloads: Vec<Value>,
    pub nodes: Vec<Value>,
    pub certificates: Vec<Value>,
    pub events: Vec<Value>,
    pub platform: Value,
}

/// The items of the Kubernetes sections, worst first (events newest first), from `kube`
/// whose orders and verdicts are as of `now` (after `reorder_at(now)`). `not_served` names the
/// kinds the cluster does not serve.
pub fn kube_items(
    kube: &KubeData,
    settings: &PlatformConfig,
    backups: &[BackupConfig],
    not_served: &[String],
    now: SystemTime,
) -> KubeItems {
    // The tables iterate in namespace/name order: a stable sort by severity is the order
    // `sort_worst_first` gives, without cloning a row.
    let mut pods: Vec<&PodRow> = kube.pods.values().collect();
    pods.sort_by_key(|p| crate::model::pods::severity(p));
    let memory_warn = kube.platform_rules().memory_warn;
    let pods = pods
        .iter()
        .map(|p| {
            let usage = kube.pod_usage.get(&(p.namespace.clone(), p.name.clone()));
            pod_item(p, usage, memory_warn, now)
        })
        .collect();
    let mut deployments: Vec<&DeploymentRow> = kube.deployments.values().collect();
    deployments.sort_by_key(|d| crate::model::deployments::severity(d));
    let deployments = deployments
        .iter()
        .map(|d| deployment_item(d, now))
        .collect();
    KubeItems {
        pods,
        deployments,
        workloads: workload_items(kube, backups, now),
        nodes: kube
            .nodes_sorted()
            .map(|n| node_item(kube, n, now))
            .collect(),
        certificates: kube
            .certificates_sorted()
            .map(|c| certificate_item(kube, c, now))
            .collect(),
        events: kube
            .event_groups
            .iter()
            .map(|g| event_item(g, now))
            .collect(),
        platform: platform_summary(kube, settings, backups, not_served),
    }
}

/// Pods and deployments listed once, and the platform checks' kinds (with the metrics API
/// read once): all through one connection.
async fn kube_sections(target: &TargetConfig, now: SystemTime) -> KubeSections {
    use crate::sources::kubernetes::{Purpose, connect_for};
    let Some(config) = &target.kubernetes else {
        return KubeSections::failed(target, Section::unconfigured());
    };
    let connection = match connect_for(config, Purpose::Requests).await {
        Ok(connection) => connection,
        Err(error) => return KubeSections::failed(target, Section::error(error)),
    };
    let (listed, platform) = tokio::join!(
        list_kube(&connection, config),
        list_platform(&connection, target)
    );
    let mut kube = KubeData::default();
    kube.set_platform_rules(PlatformRules::from_target(target));
    let kube_error = match listed {
        Ok((pods, deployments)) => {
            kube.apply(KubeUpdate::Pods(replace(pods)));
            kube.apply(KubeUpdate::Deployments(replace(deployments)));
            None
        }
        Err(error) => Some(error),
    };
    for update in platform.updates {
        kube.apply(update);
    }
    kube.reorder_at(now);
    let settings = target.platform();
    let items = kube_items(&kube, &settings, &target.backups, &platform.not_served, now);
    let kube_section = |items| match &kube_error {
        Some(error) => Section::error(error.clone()),
        None => Section::ok(items),
    };
    let platform_section = |name: &str, on: bool, items| {
        if on {
            let failed = platform.failed.get(name).map_or(&[][..], Vec::as_slice);
            Section::with_failures(items, failed)
        } else {
            Section::unconfigured()
        }
    };
    KubeSections {
        pods: kube_section(items.pods),
        deployments: kube_section(items.deployments),
        workloads: platform_section("workloads", true, items.workloads),
        nodes: platform_section("nodes", settings.nodes, items.nodes),
        certificates: platform_section("certificates", settings.certificates, items.certificates),
        events: platform_section("events", settings.events, items.events),
        platform: items.platform,
    }
}

fn replace<R>(rows: Vec<R>) -> RowUpdate<R> {
    RowUpdate::Replace {
        namespace: None,
        rows,
    }
}

/// One pod as the snapshot reports it: with its requests and limits, and its usage when the
/// metrics API measured it (`usage` null otherwise; why is said once, in `platform.metrics`).
pub fn pod_item(p: &PodRow, usage: Option<&PodUsage>, memory_warn: f64, now: SystemTime) -> Value {
    let r = &p.resources;
    let usage = usage.map(|u| {
        let (cpu, memory) = (u.cpu_millis(), u.memory_bytes());
        json!({
            "cpu_millis": cpu, "memory_bytes": memory,
            "cpu": cpu_cell(cpu, r.cpu_limit), "memory": memory_cell(memory, r.memory_limit),
            "memory_level": memory_level(memory, r.memory_limit, memory_warn),
        })
    });
    json!({
        "namespace": p.namespace, "name": p.name, "status": p.status, "health": p.health,
        "reason": (p.health != Health::Ok && p.health != Health::Done).then(|| p.status.clone()),
        "ready": format!("{}/{}", p.ready, p.total), "restarts": p.restarts, "node": p.node,
        "owner": p.owner, "age_seconds": age_seconds(now, p.created),
        "requests": {"cpu_millis": r.cpu_request, "memory_bytes": r.memory_request},
        "limits": {"cpu_millis": r.cpu_limit, "memory_bytes": r.memory_limit},
        "usage": usage,
    })
}

/// One deployment as the snapshot reports it.
pub fn deployment_item(d: &DeploymentRow, now: SystemTime) -> Value {
    json!({
        "namespace": d.namespace, "name": d.name, "ready": d.ready, "desired": d.desired,
        "updated": d.updated, "available": d.available, "revision": d.revision, "images": d.images,
        "rollout": d.rollout, "rollout_message": d.rollout_message, "health": d.health,
        "age_seconds": age_seconds(now, d.created),
    })
}

fn rfc3339(at: Option<SystemTime>) -> Option<String> {
    at.map(crate::timestamp::rfc3339_system)
}

/// StatefulSets, DaemonSets, Jobs, CronJobs and HPAs, worst first (a stable sort by health
/// of each kind's own worst-first order, kinds in that order among equals).
fn workload_items(kube: &KubeData, backups: &[BackupConfig], now: SystemTime) -> Vec<Value> {
    let mut items: Vec<(Health, Value)> = Vec::new();
    items.extend(
        kube.statefulsets_sorted()
            .map(|s| (s.health, statefulset_item(s, now))),
    );
    items.extend(
        kube.daemonsets_sorted()
            .map(|d| (d.health, daemonset_item(d, now))),
    );
    items.extend(kube.jobs_sorted().map(|j| (j.health, job_item(j, now))));
    for row in kube.cronjobs_sorted() {
        let key = (row.namespace.clone(), row.name.clone());
        let check = kube.cronjob_checks.get(&key);
        let backup = backups
            .iter()
            .find(|b| b.namespace == row.namespace && b.cronjob == row.name);
        items.push((
            check.map_or(Health::Ok, |c| c.health),
            cronjob_item(row, check, backup, now),
        ));
    }
    items.extend(kube.hpas_sorted().map(|h| (h.health, hpa_item(h))));
    items.sort_by_key(|(health, _)| *health);
    items.into_iter().map(|(_, item)| item).collect()
}

fn statefulset_item(s: &StatefulSetRow, now: SystemTime) -> Value {
    json!({
        "kind": "StatefulSet", "namespace": s.namespace, "name": s.name, "health": s.health,
        "state": s.rollout, "ready": s.ready, "desired": s.desired, "updated": s.updated,
        "rollout": s.rollout, "rollout_done": s.rollout_done,
        "age_seconds": age_seconds(now, s.created),
    })
}

fn daemonset_item(d: &DaemonSetRow, now: SystemTime) -> Value {
    json!({
        "kind": "DaemonSet", "namespace": d.namespace, "name": d.name, "health": d.health,
        "state": d.rollout, "ready": d.ready, "desired": d.desired, "current": d.current,
        "updated": d.updated, "available": d.available, "rollout": d.rollout,
        "rollout_done": d.rollout_done, "age_seconds": age_seconds(now, d.created),
    })
}

fn job_item(j: &JobRow, now: SystemTime) -> Value {
    json!({
        "kind": "Job", "namespace": j.namespace, "name": j.name, "health": j.health,
        "state": j.state, "completions": j.completions, "succeeded": j.succeeded,
        "failed": j.failed, "active": j.active, "cronjob": j.owner_cronjob, "reason": j.reason,
        "started": rfc3339(j.started), "finished": rfc3339(j.finished),
        "age_seconds": age_seconds(now, j.created),
    })
}

/// `stale`, `failed`, `suspended`, `bad schedule` or `ok`: the CronJob rule's verdict in a
/// word. Stale first, as the summary counts it: "did the backup run?" (`last_failed` says
/// whether the last attempt failed too).
fn cronjob_state(row: &CronJobRow, check: Option<&CronJobCheck>) -> &'static str {
    match check {
        Some(c) if c.stale && !row.suspended => "stale",
        Some(c) if c.last_failed => "failed",
        _ if row.suspended => "suspended",
        _ if row.interval.is_err() => "bad schedule",
        _ => "ok",
    }
}

fn cronjob_item(
    row: &CronJobRow,
    check: Option<&CronJobCheck>,
    backup: Option<&BackupConfig>,
    now: SystemTime,
) -> Value {
    json!({
        "kind": "CronJob", "namespace": row.namespace, "name": row.name,
        "health": check.map_or(Health::Ok, |c| c.health), "state": cronjob_state(row, check),
        "reason": check.map(|c| c.reason.clone()), "schedule": row.schedule,
        "time_zone": row.time_zone, "interval_seconds": row.interval.as_ref().ok().map(Duration::as_secs),
        "suspended": row.suspended, "active": row.active,
        "last_schedule": rfc3339(row.last_schedule), "last_success": rfc3339(row.last_success),
        "stale": check.is_some_and(|c| c.stale), "last_failed": check.is_some_and(|c| c.last_failed),
        "backup": backup.is_some(), "description": backup.and_then(|b| b.description.clone()),
        "age_seconds": age_seconds(now, row.created),
    })
}

fn hpa_item(h: &HpaRow) -> Value {
    let state = if h.at_max {
        "at max"
    } else if h.health != Health::Ok {
        "not scaling"
    } else {
        "ok"
    };
    json!({
        "kind": "HorizontalPodAutoscaler", "namespace": h.namespace, "name": h.name,
        "health": h.health, "state": state, "reason": h.reason,
        "target": format!("{}/{}", h.target_kind, h.target_name),
        "min": h.min_replicas, "max": h.max_replicas, "current": h.current_replicas,
        "desired": h.desired_replicas, "at_max": h.at_max,
        "metrics": h.metrics.iter().map(|m| m.text()).collect::<Vec<_>>(),
    })
}

fn node_item(kube: &KubeData, n: &NodeRow, now: SystemTime) -> Value {
    let (health, check) = kube
        .node_checks
        .get(&n.name)
        .cloned()
        .unwrap_or((Health::Ok, String::new()));
    let load = kube.node_loads.get(&n.name);
    let usage = kube.node_usage.get(&n.name);
    json!({
        "name": n.name, "health": health, "state": check, "ready": n.ready,
        "problems": node_problems(n), "pressures": n.pressures, "unschedulable": n.unschedulable,
        "roles": n.roles, "version": n.version,
        "pods": load.map_or(0, |l| l.pods), "allocatable_pods": n.allocatable_pods,
        "cpu": {
            "requested_millis": load.map_or(0, |l| l.cpu_requested),
            "allocatable_millis": n.allocatable_cpu,
            "usage_millis": usage.map(|u| u.cpu_millis),
        },
        "memory": {
            "requested_bytes": load.map_or(0, |l| l.memory_requested),
            "allocatable_bytes": n.allocatable_memory,
            "usage_bytes": usage.map(|u| u.memory_bytes),
        },
        "age_seconds": age_seconds(now, n.created),
    })
}

fn certificate_item(kube: &KubeData, c: &CertificateRow, now: SystemTime) -> Value {
    let (health, check) = kube
        .cert_checks
        .get(&(c.namespace.clone(), c.name.clone()))
        .cloned()
        .unwrap_or((Health::Ok, String::new()));
    let expires_in = c.not_after.map(|at| match at.duration_since(now) {
        Ok(left) => i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
        Err(past) => -i64::try_from(past.duration().as_secs()).unwrap_or(i64::MAX),
    });
    let (source, ingresses) = match &c.source {
        CertSource::CertManager => ("cert-manager", None),
        CertSource::IngressSecret { ingresses } => ("ingress secret", Some(ingresses)),
    };
    json!({
        "namespace": c.namespace, "name": c.name, "health": health, "check": check,
        "ready": c.ready, "ready_message": c.ready_message, "not_after": rfc3339(c.not_after),
        "expires_in_seconds": expires_in, "renewal_time": rfc3339(c.renewal_time),
        "secret": c.secret, "dns_names": c.dns_names, "source": source, "ingresses": ingresses,
    })
}

fn event_item(g: &EventGroup, now: SystemTime) -> Value {
    let times = count_text(g, now);
    json!({
        "namespace": g.namespace, "kind": g.involved_kind, "name": g.involved_name,
        "reason": g.reason, "message": g.message, "count": g.count,
        "first": rfc3339(g.first), "last": rfc3339(g.last),
        "times": (!times.is_empty()).then_some(times), "warning": g.warning,
        "age_seconds": age_seconds(now, g.last),
    })
}

/// The platform summary: the summary line's entries (`backups: 1 stale`), the counts behind
/// them, each backup's verdict, whether the metrics API answered (said once, here, rather than
/// per pod), whether cert-manager is installed, and the kinds the cluster does not serve.
pub fn platform_summary(
    kube: &KubeData,
    settings: &PlatformConfig,
    backups: &[BackupConfig],
    not_served: &[String],
) -> Value {
    let summary = &kube.platform;
    let mut counts = serde_json::to_value(summary).unwrap_or(Value::Null);
    counts["certs_soonest_seconds"] = json!(summary.certs_soonest.map(|d| d.as_secs()));
    let backups: Vec<Value> = backups
        .iter()
        .map(|b| {
            let key = (b.namespace.clone(), b.cronjob.clone());
            let row = kube.cronjobs.get(&key);
            let check = kube.cronjob_checks.get(&key);
            let state = match row {
                None => "missing",
                Some(row) => cronjob_state(row, check),
            };
            json!({
                "namespace": b.namespace, "cronjob": b.cronjob, "description": b.description,
                "state": state,
                "reason": check.map_or_else(|| "no such CronJob".to_owned(), |c| c.reason.clone()),
                "last_success": rfc3339(row.and_then(|r| r.last_success)),
            })
        })
        .collect();
    let metrics = match &kube.metrics {
        _ if !settings.metrics => json!({"state": "off", "note": null, "at": null}),
        MetricsState::Unknown => json!({"state": "unknown", "note": null, "at": null}),
        MetricsState::Available { at } => {
            json!({"state": "ok", "note": null, "at": crate::timestamp::rfc3339_system(*at)})
        }
        MetricsState::Missing(why) => json!({"state": "missing", "note": why, "at": null}),
    };
    json!({
        "headline": summary.headline(), "counts": counts, "backups": backups,
        "metrics": metrics, "cert_manager": kube.cert_manager, "not_served": not_served,
    })
}

async fn list_kube(
    connection: &crate::sources::kubernetes::Connection,
    config: &KubernetesConfig,
) -> Result<(Vec<PodRow>, Vec<DeploymentRow>), String> {
    use crate::sources::kubernetes::describe_error;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let (client, server) = (&connection.client, &connection.server);
    let params = config
        .label_selector
        .as_deref()
        .map_or_else(ListParams::default, |s| ListParams::default().labels(s));
    let scopes: Vec<Option<&String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().map(Some).collect()
    };
    let mut pods = Vec::new();
    let mut deployments = Vec::new();
    for scope in scopes {
        let (pod_api, deploy_api): (Api<Pod>, Api<Deployment>) = match scope {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        let listed = pod_api
            .list(&params)
            .await
            .map_err(|e| describe_error(server, &e))?;
        pods.extend(listed.items.iter().map(crate::model::pods::pod_row));
        let listed = deploy_api
            .list(&params)
            .await
            .map_err(|e| describe_error(server, &e))?;
        deployments.extend(
            listed
                .items
                .iter()
                .map(crate::model::deployments::deployment_row),
        );
    }
    Ok((pods, deployments))
}

/// What one listing of the platform checks' kinds found.
#[derive(Default)]
struct PlatformListing {
    /// For a [`KubeData`], as the platform source would report them.
    updates: Vec<KubeUpdate>,
    /// Per section (`workloads`, `nodes`, `certificates`, `events`), what could not be listed.
    failed: BTreeMap<&'static str, Vec<String>>,
    /// The kinds the cluster does not serve (404): none of them, which is not a failure.
    not_served: Vec<String>,
}

/// One kind's listing.
enum Listed<R> {
    Rows(Vec<R>),
    NotServed(String),
    Failed(String),
}

impl PlatformListing {
    fn take<R>(
        &mut self,
        section: &'static str,
        listed: Listed<R>,
        update: fn(RowUpdate<R>) -> KubeUpdate,
    ) {
        match listed {
            Listed::Rows(rows) => self.updates.push(update(replace(rows))),
            Listed::NotServed(plural) => self.not_served.push(plural),
            Listed::Failed(error) => self.failed.entry(section).or_default().push(error),
        }
    }
}

fn listing_error<R>(server: &str, plural: &str, error: &kube::Error) -> Listed<R> {
    match error {
        kube::Error::Api(status) if status.code == 404 => Listed::NotServed(plural.to_owned()),
        _ => Listed::Failed(format!(
            "{plural}: {}",
            crate::sources::kubernetes::describe_error(server, error)
        )),
    }
}

/// Every object of a namespaced kind in `namespaces` (all namespaces when empty), as rows.
async fn list_namespaced<K, R>(
    connection: &crate::sources::kubernetes::Connection,
    namespaces: &[String],
    params: &kube::api::ListParams,
    row: impl Fn(&K) -> R,
) -> Listed<R>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    use kube::api::Api;
    let plural = K::plural(&Default::default()).into_owned();
    let client = &connection.client;
    let apis: Vec<Api<K>> = if namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut rows = Vec::new();
    for api in apis {
        match api.list(params).await {
            Ok(list) => rows.extend(list.items.iter().map(&row)),
            Err(error) => return listing_error(&connection.server, &plural, &error),
        }
    }
    Listed::Rows(rows)
}

/// The platform source's kinds, each listed once (in the namespaces it watches: the target's
/// plus the backups'), and the metrics API read once.
async fn list_platform(
    connection: &crate::sources::kubernetes::Connection,
    target: &TargetConfig,
) -> PlatformListing {
    use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    use k8s_openapi::api::core::v1::{Event, Node};
    use kube::api::{Api, ListParams};
    use watchfloor_core::platform::{events, hpa, nodes, workloads};
    let settings = target.platform();
    let namespaces = target.watched_namespaces();
    let ns = namespaces.as_slice();
    let all = ListParams::default();
    let warnings = ListParams::default().fields("type=Warning");
    let list_nodes = async {
        let api: Api<Node> = Api::all(connection.client.clone());
        match api.list(&all).await {
            Ok(list) => Listed::Rows(list.items.iter().map(nodes::node_row).collect()),
            Err(error) => listing_error(&connection.server, "nodes", &error),
        }
    };
    let (sts, ds, jobs, cronjobs, hpas, events, nodes, certificates, metrics) = tokio::join!(
        list_namespaced::<StatefulSet, _>(connection, ns, &all, workloads::statefulset_row),
        list_namespaced::<DaemonSet, _>(connection, ns, &all, workloads::daemonset_row),
        list_namespaced::<Job, _>(connection, ns, &all, workloads::job_row),
        list_namespaced::<CronJob, _>(connection, ns, &all, workloads::cronjob_row),
        list_namespaced::<HorizontalPodAutoscaler, _>(connection, ns, &all, hpa::hpa_row),
        async {
            if settings.events {
                Some(
                    list_namespaced::<Event, _>(connection, ns, &warnings, events::event_row).await,
                )
            } else {
                None
            }
        },
        async {
            if settings.nodes {
                Some(list_nodes.await)
            } else {
                None
            }
        },
        async {
            if settings.certificates {
                Some(list_certificates(connection, ns).await)
            } else {
                None
            }
        },
        async {
            if settings.metrics {
                read_metrics(connection, ns, settings.nodes).await
            } else {
                Vec::new()
            }
        },
    );
    let mut listing = PlatformListing::default();
    listing.take("workloads", sts, KubeUpdate::StatefulSets);
    listing.take("workloads", ds, KubeUpdate::DaemonSets);
    listing.take("workloads", jobs, KubeUpdate::Jobs);
    listing.take("workloads", cronjobs, KubeUpdate::CronJobs);
    listing.take("workloads", hpas, KubeUpdate::Hpas);
    if let Some(events) = events {
        listing.take("events", events, KubeUpdate::Events);
    }
    if let Some(nodes) = nodes {
        listing.take("nodes", nodes, KubeUpdate::Nodes);
    }
    if let Some((certificates, cert_manager)) = certificates {
        if cert_manager == Some(false) {
            listing.updates.push(KubeUpdate::CertManagerAbsent);
        }
        listing.take("certificates", certificates, KubeUpdate::Certificates);
    }
    listing.updates.extend(metrics);
    listing
}

/// cert-manager's Certificates when its CRD is served, else the TLS Secrets that Ingresses
/// name (their `tls.crt` parsed, nothing else kept); and whether cert-manager is there.
async fn list_certificates(
    connection: &crate::sources::kubernetes::Connection,
    namespaces: &[String],
) -> (Listed<CertificateRow>, Option<bool>) {
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::api::networking::v1::Ingress;
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
    use watchfloor_core::platform::certs::{certificate_row, ingress_tls_secrets, tls_secret_row};
    let server = connection.server.as_str();
    let served = match crate::sources::platform::cert_manager_check(connection).await {
        Ok(served) => served,
        Err(error) => {
            let why = crate::sources::kubernetes::describe_error(server, &error);
            return (Listed::Failed(format!("cert-manager.io: {why}")), None);
        }
    };
    if served {
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"),
            "certificates",
        );
        let client = &connection.client;
        let apis: Vec<Api<DynamicObject>> = if namespaces.is_empty() {
            vec![Api::all_with(client.clone(), &resource)]
        } else {
            namespaces
                .iter()
                .map(|ns| Api::namespaced_with(client.clone(), ns, &resource))
                .collect()
        };
        let mut rows = Vec::new();
        for api in apis {
            match api.list(&ListParams::default()).await {
                Ok(list) => rows.extend(
                    list.items
                        .iter()
                        .filter_map(|o| serde_json::to_value(o).ok())
                        .filter_map(|v| certificate_row(&v)),
                ),
                Err(error) => return (listing_error(server, "certificates", &error), Some(true)),
            }
        }
        return (Listed::Rows(rows), Some(true));
    }
    let all = ListParams::default();
    let ingresses = list_namespaced::<Ingress, _>(connection, namespaces, &all, |ing| {
        (
            ing.metadata.namespace.clone().unwrap_or_default(),
            ing.metadata.name.clone().unwrap_or_default(),
            ingress_tls_secrets(ing),
        )
    })
    .await;
    let ingresses = match ingresses {
        Listed::Rows(rows) => rows,
        Listed::NotServed(plural) => return (Listed::NotServed(plural), Some(false)),
        Listed::Failed(why) => return (Listed::Failed(why), Some(false)),
    };
    let tls_only = ListParams::default().fields("type=kubernetes.io/tls");
    let secrets = list_namespaced::<Secret, _>(connection, namespaces, &tls_only, |s| {
        tls_secret_row(s, Vec::new())
    })
    .await;
    let secrets = match secrets {
        Listed::Rows(rows) => rows,
        other => return (other, Some(false)),
    };
    let rows = watchfloor_core::platform::certs::ingress_certificates(
        ingresses
            .iter()
            .map(|(ns, name, secrets)| (ns.as_str(), name.as_str(), secrets.as_slice())),
        secrets.iter(),
    );
    (Listed::Rows(rows), Some(false))
}

/// One read of PodMetrics (and NodeMetrics when nodes are checked), as the poller reads it;
/// when the API is absent or failing, why (said once, not per pod).
async fn read_metrics(
    connection: &crate::sources::kubernetes::Connection,
    namespaces: &[String],
    nodes: bool,
) -> Vec<KubeUpdate> {
    match crate::sources::platform::read_metrics(&connection.client, namespaces, nodes).await {
        Ok((pods, node_usage)) => std::iter::once(KubeUpdate::PodMetrics(pods))
            .chain(node_usage.map(KubeUpdate::NodeMetrics))
            .collect(),
        Err((why, _)) => vec![KubeUpdate::MetricsUnavailable(why)],
    }
}

/// Claims of every CRD claims source, classified as the pane does.
async fn claims_section(target: &TargetConfig, now: SystemTime) -> Section {
    if target.claims.is_empty() {
        return Section::unconfigured();
    }
    let kubernetes = target.kubernetes.clone().unwrap_or_default();
    let mut rows: Vec<ClaimRow> = Vec::new();
    let mut errors = Vec::new();
    for claims in &target.claims {
        match claims.source.get_ref() {
            ClaimSource::Crd => match list_claims(&kubernetes, claims, now).await {
                Ok(found) => rows.extend(found),
                Err(e) => errors.push(format!("{}: {e}", claims.display_name())),
            },
            ClaimSource::Sql => match sql_claims(target, claims).await {
                Ok(found) => rows.extend(found),
                Err(e) => errors.push(format!("{}: {e}", claims.display_name())),
            },
        }
    }
    crate::model::claims::sort_worst_first(&mut rows);
    let items = rows.iter().map(|c| claim_item(c, now)).collect();
    Section::with_failures(items, &errors)
}

/// One claim as the snapshot reports it.
pub fn claim_item(c: &ClaimRow, now: SystemTime) -> serde_json::Value {
    serde_json::json!({
        "source": c.source, "namespace": c.namespace, "name": c.name, "state": c.state,
        "stuck": c.stuck, "why": c.why, "health": c.health, "age_seconds": age_seconds(now, c.since),
    })
}

async fn list_claims(
    kubernetes: &KubernetesConfig,
    claims: &crate::config::ClaimsConfig,
    now: SystemTime,
) -> Result<Vec<ClaimRow>, String> {
    use crate::sources::claims::{ClaimKind, classify, installed};
    use crate::sources::kubernetes::{Purpose, connect_for, describe_error};
    use kube::api::{Api, DynamicObject, ListParams};
    let connection = connect_for(kubernetes, Purpose::Requests).await?;
    let (client, server) = (connection.client, connection.server);
    let kind = ClaimKind::from_config(claims);
    if !installed(&client, &kind)
        .await
        .map_err(|e| describe_error(&server, &e))?
    {
        return Err(format!(
            "CRD {}.{} is not installed on this cluster",
            kind.plural, kind.resource.group
        ));
    }
    let apis: Vec<Api<DynamicObject>> = if claims.namespaces.is_empty() {
        vec![Api::all_with(client.clone(), &kind.resource)]
    } else {
        claims
            .namespaces
            .iter()
            .map(|ns| Api::namespaced_with(client.clone(), ns, &kind.resource))
            .collect()
    };
    let name = claims.display_name();
    let mut rows = Vec::new();
    for api in apis {
        let listed = api
            .list(&ListParams::default())
            .await
            .map_err(|e| describe_error(&server, &e))?;
        for object in &listed.items {
            let value = serde_json::to_value(object).map_err(|e| e.to_string())?;
            rows.push(classify(&name, claims, &value, now));
        }
    }
    Ok(rows)
}

/// Every SLO evaluated once at the current time.
async fn slo_section(target: &TargetConfig) -> Section {
    let Some(config) = &target.prometheus else {
        return Section::unconfigured();
    };
    if target.slo.is_empty() {
        return Section::unconfigured();
    }
    let client = match crate::sources::prometheus::PromClient::new(config) {
        Ok(client) => client,
        Err(e) => return Section::error(e),
    };
    match crate::sources::prometheus::evaluate(&client, &target.slo, SystemTime::now()).await {
        Ok(results) => {
            let failed: Vec<String> = results
                .iter()
                .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.name)))
                .collect();
            let items = results.iter().map(slo_item).collect();
            Section::with_failures(items, &failed)
        }
        Err(e) => Section::error(e),
    }
}

/// `burn: {window: value|null}`; null is no data or no traffic, never 0.
pub fn slo_item(result: &crate::slo::SloResult) -> serde_json::Value {
    use crate::slo::Reading;
    let value = |r: Reading| match r {
        Reading::Value(v) if v.is_finite() => serde_json::json!(v),
        _ => serde_json::Value::Null,
    };
    let burn: serde_json::Map<String, serde_json::Value> = result
        .burn
        .iter()
        .map(|(w, r)| (w.clone(), value(*r)))
        .collect();
    let alerts: Vec<serde_json::Value> = result
        .alerts
        .iter()
        .map(|a| {
            serde_json::json!({
                "severity": a.severity, "long": humantime::format_duration(a.long).to_string(),
                "short": humantime::format_duration(a.short).to_string(), "factor": a.factor, "firing": a.firing,
            })
        })
        .collect();
    serde_json::json!({
        "name": result.name, "objective": result.objective, "burn": burn, "alerts": alerts,
        "budget_remaining": value(result.budget_remaining), "availability": value(result.availability),
        "state": result.state, "error": result.error, "warnings": result.warnings,
    })
}

/// Every health endpoint checked once.
async fn health_section(target: &TargetConfig) -> Section {
    if target.health.is_empty() {
        return Section::unconfigured();
    }
    let checks = target.health.iter().map(|config| async move {
        match crate::sources::health::client(config) {
            Ok(client) => crate::sources::health::check(&client, config, 0).await,
            Err(error) => crate::slo::HealthResult {
                name: config.name.clone(),
                url: config.url.clone(),
                status: crate::slo::HealthStatus::Unknown,
                http_status: None,
                latency_ms: None,
                body_status: None,
                checks: Vec::new(),
                error: Some(error),
                consecutive_failures: 0,
                checked_at: None,
            },
        }
    });
    let results = futures::future::join_all(checks).await;
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.http_status.is_none())
        .map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or("no answer")))
        .collect();
    let items = results.iter().map(health_item).collect();
    // An endpoint that answered (even unhealthy) is data; one that could not be reached is an error.
    Section::with_failures(items, &failed)
}

/// One health endpoint as the snapshot reports it.
pub fn health_item(r: &crate::slo::HealthResult) -> serde_json::Value {
    serde_json::json!({
        "name": r.name, "url": r.url, "status": r.status, "http_status": r.http_status,
        "latency_ms": r.latency_ms, "body_status": r.body_status, "checks": r.checks, "error": r.error,
    })
}

/// How long a snapshot listens to each log source.
const LOG_WINDOW: Duration = Duration::from_secs(2);

/// Each log source followed briefly, all at once: state, streams, lines seen, last line's time.
async fn logs_section(target: &TargetConfig, timeout: Duration) -> Section {
    if target.logs.is_empty() {
        return Section::unconfigured();
    }
    let window = LOG_WINDOW.min(timeout / 2);
    let kubernetes = target.kubernetes.clone().unwrap_or_default();
    let probes = target
        .logs
        .iter()
        .enumerate()
        .map(|(index, config)| probe_logs(&kubernetes, config, index, window));
    let results = futures::future::join_all(probes).await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(_, error)| error.clone())
        .collect();
    let items = results.into_iter().map(|(item, _)| item).collect();
    Section::with_failures(items, &failed)
}

/// Runs one log source for `window`; returns its item and, when it failed, why.
async fn probe_logs(
    kubernetes: &KubernetesConfig,
    config: &crate::config::LogsConfig,
    index: usize,
    window: Duration,
) -> (serde_json::Value, Option<String>) {
    use crate::logs::{LogEvent, StreamState};
    use crate::sources::log_sink::LogSink;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let sink = LogSink::new(tx, 0, index);
    let task = match config.source.get_ref() {
        crate::config::LogSource::Kubernetes => tokio::spawn(crate::sources::logs_kube::run(
            kubernetes.clone(),
            config.clone(),
            sink,
        )),
        crate::config::LogSource::File => {
            tokio::spawn(crate::sources::logs_file::run(config.clone(), sink))
        }
    };
    // For pod logs, stream 0 carries the source's own problems (connection, workload); a pod's
    // container waiting in CrashLoopBackOff is its stream's state, not a failure of the source.
    let kube = *config.source.get_ref() == crate::config::LogSource::Kubernetes;
    let source_level =
        |id: crate::logs::StreamId| !kube || id == crate::sources::logs_kube::SOURCE_STREAM;
    let (mut streams, mut lines, mut last, mut problems) = (0usize, 0u64, None, Vec::new());
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Some(crate::event::SourceEvent::Logs { event, .. })) =
        tokio::time::timeout_at(deadline, rx.recv()).await
    {
        match event {
            LogEvent::StreamOpened { id, .. }
                if !kube || id != crate::sources::logs_kube::SOURCE_STREAM =>
            {
                streams += 1
            }
            LogEvent::Lines(batch) => {
                lines += batch.len() as u64;
                last = batch
                    .iter()
                    .map(|l| l.timestamp.unwrap_or(l.received))
                    .max()
                    .max(last);
            }
            LogEvent::StreamState {
                id,
                state: StreamState::Reconnecting { reason, .. } | StreamState::Ended { reason },
            } if source_level(id) => {
                problems.push(reason);
            }
            LogEvent::StreamState {
                id,
                state: StreamState::Following,
            } if source_level(id) => problems.clear(),
            _ => {}
        }
    }
    task.abort();
    let ok = streams > 0 && problems.is_empty();
    let error = (!ok).then(|| {
        format!(
            "{}: {}",
            config.display_name(),
            problems
                .first()
                .cloned()
                .unwrap_or_else(|| "no stream opened".into())
        )
    });
    let last_line = last.map(crate::timestamp::rfc3339_system);
    let item = serde_json::json!({
        "name": config.display_name(), "state": if ok { "ok" } else { "error" }, "streams": streams,
        "lines_seen": lines, "last_line_at": last_line, "errors": problems,
    });
    (item, error)
}

/// Until a backend exists, a configured source is an honest error.
/// The rows of a `source = "sql"` claims entry, from its database.
async fn sql_claims(
    target: &TargetConfig,
    claims: &crate::config::ClaimsConfig,
) -> Result<Vec<ClaimRow>, String> {
    let name = claims.database.as_deref().unwrap_or_default();
    let database = target
        .postgres
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no [[targets.postgres]] named {name:?}"))?;
    crate::sources::claims_sql::collect_once(database, claims).await
}

/// Every PostgreSQL entry, read once: usage, states, long-running, idle in transaction,
/// blocking chains and privileges.
async fn postgres_section(target: &TargetConfig) -> Section {
    if target.postgres.is_empty() {
        return Section::unconfigured();
    }
    let reads = target.postgres.iter().map(|config| async move {
        let status = match crate::sources::backends::pg_probe(config) {
            Ok(probe) => crate::sources::postgres::probe_once(probe.as_ref(), config).await,
            Err(e) => Err(e),
        };
        (config.name.clone(), status)
    });
    let mut items = Vec::new();
    let mut failed = Vec::new();
    for (name, status) in futures::future::join_all(reads).await {
        match status {
            Ok(status) => items.push(postgres_item(&status)),
            Err(e) => {
                items.push(serde_json::json!({"name": name, "state": "error", "error": e}));
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    Section::with_failures(items, &failed)
}

/// One database as `watchfloor snapshot` reports it.
pub fn postgres_item(status: &crate::db::PgStatus) -> serde_json::Value {
    let sample = &status.sample;
    let long_running: Vec<serde_json::Value> = status
        .long_running
        .iter()
        .map(|l| {
            serde_json::json!({
                "pid": l.pid, "seconds": l.seconds.round() as u64, "state": l.state,
                "wait": l.wait, "query": l.query,
            })
        })
        .collect();
    let idle: Vec<serde_json::Value> = status
        .idle_in_transaction
        .iter()
        .map(|i| serde_json::json!({"pid": i.pid, "seconds": i.seconds.round() as u64, "aborted": i.aborted}))
        .collect();
    let blocking: Vec<serde_json::Value> = status
        .blocking
        .iter()
        .map(|c| {
            serde_json::json!({
                "root": c.root,
                "root_state": c.root_state,
                "root_seconds": c.root_seconds.map(|s| s.round() as u64),
                "root_query": c.root_query,
                "blocked": c.blocked.iter().map(|b| b.pid).collect::<Vec<_>>(),
                "depth": c.depth,
            })
        })
        .collect();
    serde_json::json!({
        "name": status.name,
        "state": health_label(status.state()),
        "connections": health_label(status.level),
        "simulated": sample.simulated,
        "server_version": sample.server_version,
        "max_connections": sample.max_connections,
        "reserved": sample.superuser_reserved,
        "used": status.used,
        "usable": status.usable,
        "by_state": status.by_state,
        "long_running": long_running,
        "idle_in_transaction": idle,
        "blocking": blocking,
        "privileges": {
            "superuser": sample.privileges.superuser,
            "read_all_stats": sample.privileges.read_all_stats,
            "signal_backend": sample.privileges.signal_backend,
        },
    })
}

/// Every Redis entry, read once.
async fn redis_section(target: &TargetConfig) -> Section {
    if target.redis.is_empty() {
        return Section::unconfigured();
    }
    let reads = target.redis.iter().map(|config| async move {
        let status = match crate::sources::backends::redis_probe(config) {
            Ok(probe) => crate::sources::redis::probe_once(probe.as_ref(), config).await,
            Err(e) => Err(e),
        };
        (config.name.clone(), status)
    });
    let mut items = Vec::new();
    let mut failed = Vec::new();
    for (name, status) in futures::future::join_all(reads).await {
        match status {
            Ok(status) => items.push(redis_item(&status)),
            Err(e) => {
                items.push(serde_json::json!({"name": name, "state": "error", "error": e}));
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    Section::with_failures(items, &failed)
}

/// One cache as `watchfloor snapshot` reports it.
pub fn redis_item(status: &crate::db::RedisStatus) -> serde_json::Value {
    serde_json::json!({
        "name": status.name,
        "state": health_label(status.level),
        "simulated": status.simulated,
        "version": status.version,
        "connected_clients": status.connected_clients,
        "maxclients": status.maxclients,
        "blocked_clients": status.blocked_clients,
        "used_memory": status.used_memory,
        "maxmemory": status.maxmemory,
        "policy": status.policy,
        "evicted_per_s": status.evicted_per_s,
        "rejected_per_s": status.rejected_per_s,
        "ops_per_s": status.ops_per_s,
        "hit_ratio": status.hit_ratio,
        "evicted_total": status.evicted_total,
        "rejected_total": status.rejected_total,
    })
}

fn health_label(level: Health) -> &'static str {
    match level {
        Health::Crit => "crit",
        Health::Warn => "warn",
        Health::Ok | Health::Done => "ok",
    }
}
