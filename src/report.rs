//! The incident report: what `watchfloor snapshot --format text` prints and the console's `Y`
//! copies, for pasting into an incident channel. A headline per problem, worst first (paging
//! SLOs, crashing workloads, stalled rollouts, stuck claims, databases and caches over threshold,
//! the platform checks' summary line and their worst items: stale or failed CronJobs, nodes with
//! problems, expiring certificates, HPAs at max, the newest warning events; sources that
//! failed), then one line per healthy section (`pods: 42 ok`). Plain text, no JSON.
//!
//! Pure: it reads a [`Snapshot`] (already redacted by the caller) and formats it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use crate::snapshot::{Section, SectionState, Snapshot};
use crate::text::{format_age, sanitize_truncated};

/// How bad a headline is; the report lists the worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Pages someone, or is broken now.
    Crit,
    /// A source could not be read: that part of the platform is not seen.
    Blind,
    /// Tickets, degraded, not settled.
    Warn,
}

impl Level {
    fn tag(self) -> &'static str {
        match self {
            Level::Crit => "CRIT ",
            Level::Blind => "ERROR",
            Level::Warn => "WARN ",
        }
    }
}

struct Headline {
    level: Level,
    text: String,
}

/// Longest query text quoted in a headline.
const QUERY_CHARS: usize = 80;

/// Most headlines per platform kind (CronJobs, nodes, certificates, ...); the rest are counted
/// in one more line. Backups are always listed.
const PER_KIND: usize = 5;

/// Longest event message quoted in a headline.
const EVENT_CHARS: usize = 120;

/// The report of one snapshot.
pub fn incident_text(snapshot: &Snapshot) -> String {
    let mut headlines = Vec::new();
    slo_headlines(&snapshot.slo, &mut headlines);
    alert_headlines(&snapshot.alerts, &mut headlines);
    pod_headlines(&snapshot.pods, &mut headlines);
    rollout_headlines(&snapshot.deployments, &mut headlines);
    claim_headlines(&snapshot.claims, &mut headlines);
    health_headlines(&snapshot.health, &mut headlines);
    postgres_headlines(&snapshot.postgres, &mut headlines);
    redis_headlines(&snapshot.redis, &mut headlines);
    platform_headlines(snapshot, &mut headlines);
    for (name, section) in snapshot.sections() {
        if section.state == SectionState::Error {
            headlines.push(Headline {
                level: Level::Blind,
                text: format!(
                    "{name} not read: {}",
                    clean(section.error.as_deref().unwrap_or("unknown error"))
                ),
            });
        }
    }
    // Stable: within a level, the order above (SLOs, pods, rollouts, claims, ...).
    headlines.sort_by_key(|h| h.level);

    let mut out = String::new();
    let mode = if snapshot.read_only {
        " · read-only"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "watchfloor · target {} · {}{mode}",
        clean(&snapshot.target),
        snapshot.collected_at
    );
    if headlines.is_empty() {
        let _ = writeln!(out, "no problems found");
    }
    for headline in &headlines {
        let _ = writeln!(out, "{} {}", headline.level.tag(), headline.text);
    }
    let healthy: Vec<String> = snapshot
        .sections()
        .iter()
        .filter_map(|(name, section)| healthy_line(name, section))
        .collect();
    if !healthy.is_empty() {
        let _ = writeln!(out, "ok    {}", healthy.join(" · "));
    }
    out
}

/// `pods: 42 ok` for a section whose items are all healthy; None for one with problems, an
/// error, or nothing configured.
fn healthy_line(name: &str, section: &Section) -> Option<String> {
    if section.state != SectionState::Ok {
        return None;
    }
    let ok = section
        .items
        .iter()
        .filter(|item| !is_problem(name, item))
        .count();
    (ok == section.items.len()).then(|| format!("{name}: {ok} ok"))
}

/// Whether an item of section `name` makes a headline (the one rule both the headlines and
/// the healthy lines use).
fn is_problem(name: &str, item: &Value) -> bool {
    match name {
        "slo" => matches!(str_of(item, "state"), "page" | "ticket" | "error"),
        "pods" | "deployments" | "claims" | "workloads" | "nodes" | "certificates" => {
            matches!(str_of(item, "health"), "crit" | "warn")
        }
        "events" => item["warning"] == true,
        "health" => !matches!(str_of(item, "status"), "ok" | "healthy"),
        "postgres" | "redis" => str_of(item, "state") != "ok",
        "logs" => str_of(item, "state") != "ok",
        _ => false,
    }
}

fn str_of<'a>(item: &'a Value, key: &str) -> &'a str {
    item[key].as_str().unwrap_or("")
}

/// Untrusted text (names, reasons, queries) as one safe line.
fn clean(text: &str) -> String {
    sanitize_truncated(text, 400)
}

fn age(seconds: &Value) -> Option<String> {
    seconds.as_u64().map(|s| format_age(Duration::from_secs(s)))
}

fn slo_headlines(section: &Section, out: &mut Vec<Headline>) {
    for item in &section.items {
        let level = match str_of(item, "state") {
            "page" => Level::Crit,
            "ticket" => Level::Warn,
            _ => continue,
        };
        let mut windows: Vec<(u64, String)> = item["burn"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(window, burn)| {
                let seconds = humantime::parse_duration(window).map_or(u64::MAX, |d| d.as_secs());
                let value = burn
                    .as_f64()
                    .map_or_else(|| "no data".to_string(), |b| format!("{b:.1}x"));
                (seconds, format!("{window} {value}"))
            })
            .collect();
        windows.sort();
        let burns: Vec<String> = windows.into_iter().map(|(_, text)| text).collect();
        let budget = item["budget_remaining"]
            .as_f64()
            .map(|b| format!(" · budget {:.0}% left", b * 100.0))
            .unwrap_or_default();
        let what = if level == Level::Crit {
            "paging"
        } else {
            "ticket"
        };
        out.push(Headline {
            level,
            text: format!(
                "SLO {} {what}: burn {}{budget}",
                clean(str_of(item, "name")),
                burns.join(" · ")
            ),
        });
    }
}

/// The workload a pod belongs to: its owner's name without the ReplicaSet's template hash
/// (`ReplicaSet/web-7d4b9c` is `web`), or the pod's own name for a bare pod.
fn workload_of(pod: &Value) -> String {
    match str_of(pod, "owner").split_once('/') {
        Some(("ReplicaSet", rs)) => rs
            .rsplit_once('-')
            .map_or(rs, |(deployment, _hash)| deployment)
            .to_string(),
        Some((_, owner)) => owner.to_string(),
        None => str_of(pod, "name").to_string(),
    }
}

fn pod_headlines(section: &Section, out: &mut Vec<Headline>) {
    // (level, namespace, workload, reason) -> (pods, restarts)
    let mut groups: BTreeMap<(Level, String, String, String), (usize, u64)> = BTreeMap::new();
    for pod in &section.items {
        let level = match str_of(pod, "health") {
            "crit" => Level::Crit,
            "warn" => Level::Warn,
            _ => continue,
        };
        let reason = pod["reason"].as_str().unwrap_or(str_of(pod, "status"));
        let group = groups
            .entry((
                level,
                str_of(pod, "namespace").to_string(),
                workload_of(pod),
                reason.to_string(),
            ))
            .or_default();
        group.0 += 1;
        group.1 += pod["restarts"].as_u64().unwrap_or(0);
    }
    for ((level, namespace, workload, reason), (pods, restarts)) in groups {
        let restarts = if restarts > 0 {
            format!(", {restarts} restarts")
        } else {
            String::new()
        };
        let noun = if pods == 1 { "pod" } else { "pods" };
        out.push(Headline {
            level,
            text: format!(
                "pods {}/{}: {pods} {noun} {}{restarts}",
                clean(&namespace),
                clean(&workload),
                clean(&reason)
            ),
        });
    }
}

fn rollout_headlines(section: &Section, out: &mut Vec<Headline>) {
    for deployment in &section.items {
        let rollout = str_of(deployment, "rollout");
        let level = match (rollout, str_of(deployment, "health")) {
            ("stalled", _) => Level::Crit,
            (_, "crit") => Level::Crit,
            (_, "warn") => Level::Warn,
            _ => continue,
        };
        let images = strings(&deployment["images"]);
        let revision = deployment["revision"]
            .as_i64()
            .map(|r| format!(" rev {r}"))
            .unwrap_or_default();
        let message = deployment["rollout_message"]
            .as_str()
            .map(|m| format!(": {}", clean(m)))
            .unwrap_or_default();
        out.push(Headline {
            level,
            text: format!(
                "rollout {}/{} {} {}/{} ready{revision} ({}){message}",
                clean(str_of(deployment, "namespace")),
                clean(str_of(deployment, "name")),
                rollout.replace('_', " "),
                deployment["ready"].as_u64().unwrap_or(0),
                deployment["desired"].as_u64().unwrap_or(0),
                images.join(", ")
            ),
        });
    }
}

fn claim_headlines(section: &Section, out: &mut Vec<Headline>) {
    for claim in &section.items {
        let level = match str_of(claim, "health") {
            "crit" => Level::Crit,
            "warn" => Level::Warn,
            _ => continue,
        };
        let name = match claim["namespace"].as_str() {
            Some(ns) => format!("{}/{}", clean(ns), clean(str_of(claim, "name"))),
            None => clean(str_of(claim, "name")),
        };
        let stuck = if claim["stuck"] == true { "stuck " } else { "" };
        let since = age(&claim["age_seconds"])
            .map(|a| format!(" for {a}"))
            .unwrap_or_default();
        let why = str_of(claim, "why");
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(": {}", clean(why))
        };
        out.push(Headline {
            level,
            text: format!(
                "claim {name} {stuck}{}{since}{why}",
                clean(str_of(claim, "state"))
            ),
        });
    }
}

/// Firing alerts by name: `alert HighErrorRate firing ×2 (critical): summary`; critical and
/// error severities are CRIT, the rest WARN. Silenced, inhibited and pending ones are not
/// headlines.
fn alert_headlines(section: &Section, out: &mut Vec<Headline>) {
    let mut by_name: Vec<(&str, &str, usize, &str)> = Vec::new();
    for alert in &section.items {
        if str_of(alert, "state") != "firing" {
            continue;
        }
        let name = str_of(alert, "name");
        match by_name.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, _, count, _)) => *count += 1,
            None => by_name.push((
                name,
                str_of(alert, "severity"),
                1,
                alert["annotations"]["summary"].as_str().unwrap_or_default(),
            )),
        }
    }
    for (name, severity, count, summary) in by_name {
        let level = match severity.to_ascii_lowercase().as_str() {
            "critical" | "page" | "error" | "emergency" | "fatal" => Level::Crit,
            _ => Level::Warn,
        };
        let times = if count > 1 {
            format!(" ×{count}")
        } else {
            String::new()
        };
        let severity = if severity.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(severity))
        };
        let summary = if summary.is_empty() {
            String::new()
        } else {
            format!(": {}", clean(summary))
        };
        out.push(Headline {
            level,
            text: format!("alert {} firing{times}{severity}{summary}", clean(name)),
        });
    }
}

fn health_headlines(section: &Section, out: &mut Vec<Headline>) {
    for check in &section.items {
        if !is_problem("health", check) || check["http_status"].is_null() {
            // Unreachable endpoints are reported with the section's error.
            continue;
        }
        out.push(Headline {
            level: Level::Warn,
            text: format!(
                "health {} {} (HTTP {})",
                clean(str_of(check, "name")),
                clean(str_of(check, "status")),
                check["http_status"]
            ),
        });
    }
}

fn postgres_headlines(section: &Section, out: &mut Vec<Headline>) {
    for db in &section.items {
        let level = match str_of(db, "state") {
            "crit" => Level::Crit,
            "warn" => Level::Warn,
            _ => continue,
        };
        let mut parts = vec![format!(
            "{}/{} connections",
            db["used"].as_u64().unwrap_or(0),
            db["usable"].as_u64().unwrap_or(0)
        )];
        let idle = db["idle_in_transaction"].as_array().map_or(0, Vec::len);
        if idle > 0 {
            let oldest = db["idle_in_transaction"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["seconds"].as_u64())
                .max()
                .map(|s| format!(" (oldest {})", format_age(Duration::from_secs(s))))
                .unwrap_or_default();
            parts.push(format!("{idle} idle in transaction{oldest}"));
        }
        for chain in db["blocking"].as_array().into_iter().flatten() {
            let blocked = chain["blocked"].as_array().map_or(0, Vec::len);
            let root_age = age(&chain["root_seconds"])
                .map(|a| format!(", {a}"))
                .unwrap_or_default();
            let query = chain["root_query"]
                .as_str()
                .map(|q| format!(": {}", sanitize_truncated(q, QUERY_CHARS).trim_end()))
                .unwrap_or_default();
            parts.push(format!(
                "blocking chain root pid {}{root_age} blocks {blocked}{query}",
                chain["root"]
            ));
        }
        out.push(Headline {
            level,
            text: format!(
                "postgres {}: {}",
                clean(str_of(db, "name")),
                parts.join(" · ")
            ),
        });
    }
}

fn redis_headlines(section: &Section, out: &mut Vec<Headline>) {
    for cache in &section.items {
        let level = match str_of(cache, "state") {
            "crit" => Level::Crit,
            "warn" => Level::Warn,
            _ => continue,
        };
        let mut parts = Vec::new();
        if let (Some(used), Some(max)) =
            (cache["used_memory"].as_u64(), cache["maxmemory"].as_u64())
            && max > 0
        {
            parts.push(format!("memory {}%", used * 100 / max));
        }
        if let (Some(clients), Some(max)) = (
            cache["connected_clients"].as_u64(),
            cache["maxclients"].as_u64(),
        ) {
            parts.push(format!("{clients}/{max} clients"));
        }
        for (key, label) in [
            ("evicted_per_s", "evicted/s"),
            ("rejected_per_s", "rejected/s"),
        ] {
            if let Some(rate) = cache[key].as_f64()
                && rate > 0.0
            {
                parts.push(format!("{rate:.1} {label}"));
            }
        }
        if let Some(blocked) = cache["blocked_clients"].as_u64()
            && blocked > 0
        {
            parts.push(format!("{blocked} blocked clients"));
        }
        out.push(Headline {
            level,
            text: format!(
                "redis {}: {}",
                clean(str_of(cache, "name")),
                parts.join(" · ")
            ),
        });
    }
}

/// The level of an item's `health`; None for a healthy one.
fn level_of(item: &Value) -> Option<Level> {
    match str_of(item, "health") {
        "crit" => Some(Level::Crit),
        "warn" => Some(Level::Warn),
        _ => None,
    }
}

/// The strings of a JSON array, cleaned (none when it is not an array).
fn strings(array: &Value) -> Vec<String> {
    array
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(clean)
        .collect()
}

/// `namespace/name` of an item, cleaned.
fn qualified(item: &Value) -> String {
    format!(
        "{}/{}",
        clean(str_of(item, "namespace")),
        clean(str_of(item, "name"))
    )
}

/// Up to [`PER_KIND`] of `lines` (worst first), then how many more there are.
fn capped(lines: Vec<Headline>, more: &str, out: &mut Vec<Headline>) {
    let total = lines.len();
    let mut lines = lines.into_iter();
    out.extend(lines.by_ref().take(PER_KIND));
    if let Some(first_left) = lines.next() {
        out.push(Headline {
            level: first_left.level,
            text: format!("{more}: {} more", total - PER_KIND),
        });
    }
}

/// The platform checks: the summary line (`platform: backups: 1 stale · certs: 1 expiring in
/// 5d`), at the level of the worst item behind it, then the items: backups and other CronJobs,
/// StatefulSets, DaemonSets, Jobs, HPAs, nodes, certificates, and the newest warning events.
fn platform_headlines(snapshot: &Snapshot, out: &mut Vec<Headline>) {
    let mut items = Vec::new();
    let mut backups = Vec::new();
    let mut by_kind: BTreeMap<&str, Vec<Headline>> = BTreeMap::new();
    for missing in snapshot.platform["backups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| str_of(b, "state") == "missing")
    {
        backups.push(Headline {
            level: Level::Crit,
            text: format!(
                "backup {}/{} missing: no such CronJob",
                clean(str_of(missing, "namespace")),
                clean(str_of(missing, "cronjob"))
            ),
        });
    }
    for item in &snapshot.workloads.items {
        let Some(level) = level_of(item) else {
            continue;
        };
        let kind = str_of(item, "kind");
        let text = match kind {
            "CronJob" if item["backup"] == true => {
                let description = item["description"]
                    .as_str()
                    .map(|d| format!(" ({})", clean(d)))
                    .unwrap_or_default();
                backups.push(Headline {
                    level,
                    text: format!(
                        "backup {}{description}: {}",
                        qualified(item),
                        clean(str_of(item, "reason"))
                    ),
                });
                continue;
            }
            "CronJob" => format!(
                "cronjob {}: {}",
                qualified(item),
                clean(str_of(item, "reason"))
            ),
            // A CronJob's Job is reported by its CronJob (its last Job, failed or not).
            "Job" if !item["cronjob"].is_null() => continue,
            "Job" => {
                let reason = item["reason"]
                    .as_str()
                    .map(|r| format!(": {}", clean(r)))
                    .unwrap_or_default();
                format!(
                    "job {} {}{reason}",
                    qualified(item),
                    clean(str_of(item, "state"))
                )
            }
            "StatefulSet" | "DaemonSet" => format!(
                "{} {} {}/{} ready: {}",
                kind.to_lowercase(),
                qualified(item),
                item["ready"].as_u64().unwrap_or(0),
                item["desired"].as_u64().unwrap_or(0),
                clean(str_of(item, "state"))
            ),
            "HorizontalPodAutoscaler" => {
                let metrics = strings(&item["metrics"]);
                let detail = if item["at_max"] == true {
                    format!(
                        "at max {}/{} replicas",
                        item["current"].as_u64().unwrap_or(0),
                        item["max"].as_u64().unwrap_or(0)
                    )
                } else {
                    item["reason"]
                        .as_str()
                        .map_or_else(|| "not scaling".to_owned(), clean)
                };
                let metrics = if metrics.is_empty() {
                    String::new()
                } else {
                    format!(": {}", metrics.join(", "))
                };
                format!(
                    "HPA {} {detail} ({}){metrics}",
                    qualified(item),
                    clean(str_of(item, "target"))
                )
            }
            _ => continue,
        };
        by_kind
            .entry(kind)
            .or_default()
            .push(Headline { level, text });
    }
    items.extend(backups);
    for (kind, more) in [
        ("CronJob", "CronJobs stale or failed"),
        ("StatefulSet", "StatefulSets not ready"),
        ("DaemonSet", "DaemonSets not ready"),
        ("Job", "Jobs failed or suspended"),
        ("HorizontalPodAutoscaler", "HPAs at max or not scaling"),
    ] {
        capped(by_kind.remove(kind).unwrap_or_default(), more, &mut items);
    }
    let nodes = snapshot
        .nodes
        .items
        .iter()
        .filter_map(|node| {
            Some(Headline {
                level: level_of(node)?,
                text: format!(
                    "node {}: {}",
                    clean(str_of(node, "name")),
                    clean(str_of(node, "state"))
                ),
            })
        })
        .collect();
    capped(nodes, "nodes with problems", &mut items);
    let certificates = snapshot
        .certificates
        .items
        .iter()
        .filter_map(|cert| {
            let secret = match cert["secret"].as_str() {
                Some(secret) if secret != str_of(cert, "name") => {
                    format!(", secret {}", clean(secret))
                }
                _ => String::new(),
            };
            Some(Headline {
                level: level_of(cert)?,
                text: format!(
                    "certificate {} {} ({}{secret})",
                    qualified(cert),
                    clean(str_of(cert, "check")),
                    clean(str_of(cert, "source"))
                ),
            })
        })
        .collect();
    capped(
        certificates,
        "certificates expiring or not ready",
        &mut items,
    );
    // The summary line leads, at the level of the worst item behind it (a warning when no item
    // is behind it: the metrics API missing, say).
    let headline: Vec<String> = snapshot.platform["headline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(clean)
        .collect();
    if !headline.is_empty() {
        let level = items.iter().map(|h| h.level).min().unwrap_or(Level::Warn);
        out.push(Headline {
            level,
            text: format!("platform: {}", headline.join(" · ")),
        });
    }
    out.extend(items);
    let events = snapshot
        .events
        .items
        .iter()
        .filter(|e| e["warning"] == true)
        .map(|event| {
            let times = event["times"]
                .as_str()
                .map(|t| format!(" {}", clean(t)))
                .unwrap_or_default();
            let message = str_of(event, "message");
            let message = if message.is_empty() {
                String::new()
            } else {
                format!(": {}", sanitize_truncated(message, EVENT_CHARS).trim_end())
            };
            Headline {
                level: Level::Warn,
                text: format!(
                    "event {} {}/{} {}{times}{message}",
                    clean(str_of(event, "namespace")),
                    clean(str_of(event, "kind")),
                    clean(str_of(event, "name")),
                    clean(str_of(event, "reason"))
                ),
            }
        })
        .collect();
    capped(events, "warning events", out);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn section(items: Vec<Value>) -> Section {
        Section {
            state: SectionState::Ok,
            error: None,
            items,
        }
    }

    fn unconfigured() -> Section {
        Section {
            state: SectionState::Unconfigured,
            error: None,
            items: vec![],
        }
    }

    fn incident() -> Snapshot {
        let pod = |name: &str, owner: &str, health: &str, reason: Option<&str>, restarts: u64| {
            json!({"namespace": "platform-v2-stable", "name": name, "owner": owner, "health": health,
                   "status": reason.unwrap_or("Running"), "reason": reason, "restarts": restarts})
        };
        Snapshot {
            target: "babylon-prod".into(),
            read_only: true,
            collected_at: "2026-12-05T21:00:00Z".into(),
            alerts: Section::unconfigured(),
            workloads: unconfigured(),
            nodes: unconfigured(),
            certificates: unconfigured(),
            events: unconfigured(),
            platform: Value::Null,
            pods: section(vec![
                pod(
                    "api-7d4b9c-x5xc8",
                    "ReplicaSet/api-7d4b9c",
                    "crit",
                    Some("CrashLoopBackOff"),
                    9,
                ),
                pod(
                    "api-7d4b9c-k2j4p",
                    "ReplicaSet/api-7d4b9c",
                    "crit",
                    Some("CrashLoopBackOff"),
                    8,
                ),
                pod("api-6c5d8f-abcde", "ReplicaSet/api-6c5d8f", "ok", None, 0),
                pod("web-0", "StatefulSet/web", "warn", Some("NotReady"), 0),
            ]),
            deployments: section(vec![json!({
                "namespace": "platform-v2-stable", "name": "api", "ready": 1, "desired": 3,
                "revision": 7, "images": ["quay.io/x/api:7.0.0"], "rollout": "stalled",
                "rollout_message": "ProgressDeadlineExceeded", "health": "crit"})]),
            claims: section(vec![json!({
                "source": "poolboy", "namespace": "user-a", "name": "claim-1", "state": "Provisioning",
                "stuck": true, "why": "operator down", "health": "warn", "age_seconds": 7200})]),
            slo: section(vec![
                json!({"name": "api-availability", "state": "page",
                       "burn": {"1h": 20.0, "5m": 28.44, "6h": null}, "budget_remaining": 0.12}),
                json!({"name": "web-latency", "state": "ok", "burn": {"5m": 0.2}}),
            ]),
            health: unconfigured(),
            postgres: section(vec![json!({
                "name": "babylon-db", "state": "crit", "used": 94, "usable": 97,
                "idle_in_transaction": [{"pid": 1, "seconds": 1800}, {"pid": 2, "seconds": 60}],
                "blocking": [{"root": 41007, "root_seconds": 1830, "blocked": [5, 6],
                              "root_query": "UPDATE accounts\nSET x = 1 \u{1b}[31m"}]})]),
            redis: section(vec![json!({"name": "cache", "state": "ok"})]),
            logs: Section {
                state: SectionState::Error,
                error: Some("api logs: no stream opened".into()),
                items: vec![],
            },
        }
    }

    #[test]
    fn headlines_worst_first_then_healthy_sections() {
        let text = incident_text(&incident());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "watchfloor · target babylon-prod · 2026-12-05T21:00:00Z · read-only",
                "CRIT  SLO api-availability paging: burn 5m 28.4x · 1h 20.0x · 6h no data · budget 12% left",
                "CRIT  pods platform-v2-stable/api: 2 pods CrashLoopBackOff, 17 restarts",
                "CRIT  rollout platform-v2-stable/api stalled 1/3 ready rev 7 (quay.io/x/api:7.0.0): ProgressDeadlineExceeded",
                "CRIT  postgres babylon-db: 94/97 connections · 2 idle in transaction (oldest 30m00s) · blocking chain root pid 41007, 30m30s blocks 2: UPDATE accounts⏎SET x = 1",
                "ERROR logs not read: api logs: no stream opened",
                "WARN  pods platform-v2-stable/web: 1 pod NotReady",
                "WARN  claim user-a/claim-1 stuck Provisioning for 2h00m: operator down",
                "ok    redis: 1 ok",
            ],
            "{text}"
        );
        assert!(!text.contains('{') && !text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn a_quiet_platform_says_so() {
        let mut snapshot = incident();
        snapshot.pods.items.truncate(0);
        snapshot.deployments.items.clear();
        snapshot.claims.items.clear();
        snapshot.slo.items.clear();
        snapshot.postgres = unconfigured();
        snapshot.logs = unconfigured();
        let text = incident_text(&snapshot);
        assert!(text.contains("\nno problems found\n"), "{text}");
        assert!(
            text.ends_with(
                "ok    pods: 0 ok · deployments: 0 ok · claims: 0 ok · slo: 0 ok · redis: 1 ok\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn platform_items_are_capped_per_kind_and_missing_backups_listed() {
        let mut snapshot = incident();
        snapshot.slo.items.clear();
        snapshot.pods.items.clear();
        snapshot.deployments.items.clear();
        snapshot.claims.items.clear();
        snapshot.postgres = unconfigured();
        snapshot.logs = unconfigured();
        snapshot.nodes = section(
            (1..=7)
                .map(
                    |i| json!({"name": format!("node-{i}"), "health": "crit", "state": "NotReady"}),
                )
                .collect(),
        );
        snapshot.workloads = section(vec![
            json!({"kind": "CronJob", "namespace": "shop", "name": "report", "health": "crit",
                   "reason": "last job report-1 failed; last success 1d ago", "backup": false}),
            json!({"kind": "Job", "namespace": "shop", "name": "report-1", "health": "crit",
                   "state": "failed", "cronjob": "report"}),
            json!({"kind": "StatefulSet", "namespace": "db", "name": "pg", "health": "warn",
                   "ready": 1, "desired": 3, "state": "2 pods not ready"}),
        ]);
        snapshot.events = section(vec![]);
        snapshot.platform = json!({
            "headline": ["backups: 1 missing", "cronjobs: 1 stale or failed", "nodes: 7 NotReady"],
            "backups": [{"namespace": "babylon-backup", "cronjob": "nightly", "state": "missing"}],
        });
        let text = incident_text(&snapshot);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "CRIT  platform: backups: 1 missing · cronjobs: 1 stale or failed · nodes: 7 NotReady",
                "CRIT  backup babylon-backup/nightly missing: no such CronJob",
                "CRIT  cronjob shop/report: last job report-1 failed; last success 1d ago",
                "CRIT  node node-1: NotReady",
                "CRIT  node node-2: NotReady",
                "CRIT  node node-3: NotReady",
                "CRIT  node node-4: NotReady",
                "CRIT  node node-5: NotReady",
                "CRIT  nodes with problems: 2 more",
                "WARN  statefulset db/pg 1/3 ready: 2 pods not ready",
                "ok    pods: 0 ok · deployments: 0 ok · events: 0 ok · claims: 0 ok · slo: 0 ok · redis: 1 ok",
            ],
            "{text}"
        );
    }
}
