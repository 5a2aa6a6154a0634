//! `watchfloor snapshot`: collect every configured source of a target once and print a report.
//!
//! The JSON shape is a stable interface (documented in the README): every section is
//! `{"state": "ok"|"error"|"unconfigured", "error": str|null, "items": [...]}`.

use std::time::Duration;

use serde::Serialize;

use std::time::SystemTime;

use crate::config::{ClaimSource, KubernetesConfig, TargetConfig};
use crate::model::Health;
use crate::model::claims::ClaimRow;
use crate::model::deployments::DeploymentRow;
use crate::model::pods::PodRow;

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
    pub claims: Section,
    pub slo: Section,
    pub alerts: Section,
    pub health: Section,
    pub postgres: Section,
    pub redis: Section,
    pub logs: Section,
}

impl Snapshot {
    /// Sections in report order, with their names.
    pub fn sections(&self) -> [(&'static str, &Section); 9] {
        [
            ("pods", &self.pods),
            ("deployments", &self.deployments),
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
    let both = |section: Section| (section.clone(), section);
    let (kube, claims, slo, alerts, health, postgres, redis, logs) = tokio::join!(
        bounded(timeout, kube_sections(target, now), both),
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
    let (pods, deployments) = kube;
    Snapshot {
        target: target.name().to_string(),
        read_only,
        collected_at,
        pods,
        deployments,
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

/// Pods and deployments, listed once.
async fn kube_sections(target: &TargetConfig, now: SystemTime) -> (Section, Section) {
    let Some(config) = &target.kubernetes else {
        return (Section::unconfigured(), Section::unconfigured());
    };
    match list_kube(config).await {
        Ok((mut pods, mut deployments)) => {
            crate::model::pods::sort_worst_first(&mut pods);
            crate::model::deployments::sort_worst_first(&mut deployments);
            let pods = pods.iter().map(|p| pod_item(p, now)).collect();
            let deployments = deployments
                .iter()
                .map(|d| deployment_item(d, now))
                .collect();
            (Section::ok(pods), Section::ok(deployments))
        }
        Err(error) => (Section::error(error.clone()), Section::error(error)),
    }
}

/// One pod as the snapshot reports it.
pub fn pod_item(p: &PodRow, now: SystemTime) -> serde_json::Value {
    serde_json::json!({
        "namespace": p.namespace, "name": p.name, "status": p.status, "health": p.health,
        "reason": (p.health != Health::Ok && p.health != Health::Done).then(|| p.status.clone()),
        "ready": format!("{}/{}", p.ready, p.total), "restarts": p.restarts, "node": p.node,
        "owner": p.owner, "age_seconds": age_seconds(now, p.created),
    })
}

/// One deployment as the snapshot reports it.
pub fn deployment_item(d: &DeploymentRow, now: SystemTime) -> serde_json::Value {
    serde_json::json!({
        "namespace": d.namespace, "name": d.name, "ready": d.ready, "desired": d.desired,
        "updated": d.updated, "available": d.available, "revision": d.revision, "images": d.images,
        "rollout": d.rollout, "rollout_message": d.rollout_message, "health": d.health,
        "age_seconds": age_seconds(now, d.created),
    })
}

async fn list_kube(config: &KubernetesConfig) -> Result<(Vec<PodRow>, Vec<DeploymentRow>), String> {
    use crate::sources::kubernetes::{Purpose, connect_for, describe_error};
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let connection = connect_for(config, Purpose::Requests).await?;
    let (client, server) = (connection.client, connection.server);
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
            .map_err(|e| describe_error(&server, &e))?;
        pods.extend(listed.items.iter().map(crate::model::pods::pod_row));
        let listed = deploy_api
            .list(&params)
            .await
            .map_err(|e| describe_error(&server, &e))?;
        deployments.extend(
            listed
                .items
                .iter()
                .map(crate::model::deployments::deployment_row),
        );
    }
    Ok((pods, deployments))
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
