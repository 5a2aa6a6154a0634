//! The incident report: what `watchfloor snapshot --format text` prints and the console's `Y`
//! copies, for pasting into an incident channel. A headline per problem, worst first (paging
//! SLOs, crashing workloads, stalled rollouts, stuck claims, databases and caches over threshold,
//! sources that failed), then one line per healthy section (`pods: 42 ok`). Plain text, no JSON.
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
        "pods" | "deployments" | "claims" => matches!(str_of(item, "health"), "crit" | "warn"),
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
        let images: Vec<String> = deployment["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(clean)
            .collect();
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
}
