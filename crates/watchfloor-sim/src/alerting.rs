//! The simulated Alertmanager (API v2) and Prometheus alerting API (`/api/v1/alerts`,
//! `/api/v1/rules`), from the world:
//!
//! - `HighErrorRate` (critical) for every Deployment more than 5 % of whose requests hit failing
//!   pods (the bad rollout of platform-v2-api; the rollback resolves it);
//! - `KubePodCrashLooping` (warning) for every pod in CrashLoopBackOff (the crash-looping
//!   operator among them);
//! - `ResourceClaimStuck` (warning) for every claim still provisioning after an hour.
//!
//! Silences live in the world: `POST /api/v2/silences` creates (or updates, with an `id`),
//! `DELETE /api/v2/silence/{id}` expires; an alert a silence matches (Alertmanager's matching:
//! equality or an anchored regex, negated when `isEqual` is false) is `suppressed`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Value, json};
use watchfloor_core::alerts::Matcher;

use super::Shared;
use super::prometheus::rotations;
use super::resources::Res;
use super::respond;
use super::state::WorldState;

/// A fraction of failing requests above this fires `HighErrorRate`.
const ERROR_RATE: f64 = 0.05;
/// A claim provisioning for longer than this fires `ResourceClaimStuck`.
const CLAIM_STUCK_SECS: f64 = 3600.0;

/// One alert the world fires now.
struct Firing {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// Unix seconds.
    since: f64,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn unix_of(text: &str) -> Option<f64> {
    let at = watchfloor_core::timestamp::parse_rfc3339(text)?;
    Some(at.unix_timestamp_nanos() as f64 / 1e9)
}

fn rfc3339(unix: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos((unix * 1e9) as i128)
        .map(watchfloor_core::timestamp::rfc3339_utc)
        .unwrap_or_default()
}

/// What fires in `w` now.
fn firing(w: &WorldState) -> Vec<Firing> {
    let now = w.store.clock.unix();
    let mut out = Vec::new();
    for ((namespace, name), rotation) in rotations(w) {
        let bad = rotation.bad_fraction();
        if rotation.good + rotation.bad > 0 && bad > ERROR_RATE {
            // The rollout that broke it started when its newest pods did.
            let since = w
                .store
                .iter(Res::Pod, Some(&namespace), None)
                .filter(|p| {
                    p["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(&format!("{name}-")))
                })
                .filter_map(|p| unix_of(p["metadata"]["creationTimestamp"].as_str()?))
                .fold(f64::NEG_INFINITY, f64::max);
            out.push(Firing {
                labels: labels(&[
                    ("alertname", "HighErrorRate"),
                    ("severity", "critical"),
                    ("namespace", &namespace),
                    ("deployment", &name),
                    ("service", &name),
                ]),
                annotations: labels(&[
                    (
                        "summary",
                        &format!("{name}: {:.0}% of requests fail", bad * 100.0),
                    ),
                    (
                        "runbook_url",
                        "https://runbooks.example.com/platform/high-error-rate",
                    ),
                ]),
                since: if since.is_finite() { since } else { now },
            });
        }
    }
    for pod in w.store.iter(Res::Pod, None, None) {
        let statuses = pod["status"]["containerStatuses"].as_array();
        let Some(container) = statuses
            .into_iter()
            .flatten()
            .find(|c| c["state"]["waiting"]["reason"].as_str() == Some("CrashLoopBackOff"))
        else {
            continue;
        };
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let container_name = container["name"].as_str().unwrap_or_default();
        let since = container["lastState"]["terminated"]["startedAt"]
            .as_str()
            .and_then(unix_of)
            .or_else(|| unix_of(pod["metadata"]["creationTimestamp"].as_str()?))
            .unwrap_or(now);
        out.push(Firing {
            labels: labels(&[
                ("alertname", "KubePodCrashLooping"),
                ("severity", "warning"),
                ("namespace", namespace),
                ("pod", name),
                ("container", container_name),
            ]),
            annotations: labels(&[
                (
                    "summary",
                    &format!("{namespace}/{name} ({container_name}) is crash looping"),
                ),
                (
                    "runbook_url",
                    "https://runbooks.example.com/kubernetes/pod-crash-looping",
                ),
            ]),
            since,
        });
    }
    for claim in w.store.iter(Res::ResourceClaim, None, None) {
        let state = claim["status"]["summary"]["state"].as_str().unwrap_or("");
        let created = claim["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(unix_of)
            .unwrap_or(now);
        if matches!(state, "provisioning" | "pending" | "") && now - created > CLAIM_STUCK_SECS {
            let namespace = claim["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = claim["metadata"]["name"].as_str().unwrap_or_default();
            out.push(Firing {
                labels: labels(&[
                    ("alertname", "ResourceClaimStuck"),
                    ("severity", "warning"),
                    ("namespace", namespace),
                    ("resourceclaim", name),
                ]),
                annotations: labels(&[(
                    "summary",
                    &format!("claim {namespace}/{name} has been provisioning for over an hour"),
                )]),
                since: created + CLAIM_STUCK_SECS,
            });
        }
    }
    out
}

fn matcher_matches(matcher: &Value, labels: &BTreeMap<String, String>) -> bool {
    Matcher::from_json(matcher).is_some_and(|m| m.matches(labels))
}

/// A silence's state now, as Alertmanager says it.
fn silence_state(silence: &Value, now: f64) -> &'static str {
    let starts = silence["startsAt"]
        .as_str()
        .and_then(unix_of)
        .unwrap_or(0.0);
    let ends = silence["endsAt"].as_str().and_then(unix_of).unwrap_or(0.0);
    if ends <= now {
        "expired"
    } else if starts > now {
        "pending"
    } else {
        "active"
    }
}

fn silences_now(w: &WorldState) -> Vec<Value> {
    let now = w.store.clock.unix();
    w.silences
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["status"] = json!({"state": silence_state(&s, now)});
            s
        })
        .collect()
}

/// `GET /api/v2/alerts`: every alert, or those every `filter` matcher matches (as
/// Alertmanager: `filter=alertname="X"`, repeated); an unreadable filter is a 400.
fn alertmanager_alerts_filtered(w: &WorldState, query: &str) -> Result<Value, String> {
    let filters = crate::util::parse_query(query)
        .into_iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| watchfloor_core::alerts::parse_matcher(&v))
        .collect::<Result<Vec<Matcher>, String>>()?;
    let Value::Array(alerts) = alertmanager_alerts(w) else {
        return Ok(Value::Array(Vec::new()));
    };
    Ok(Value::Array(
        alerts
            .into_iter()
            .filter(|a| {
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(a["labels"].clone()).unwrap_or_default();
                filters.iter().all(|m| m.matches(&labels))
            })
            .collect(),
    ))
}

fn alertmanager_alerts(w: &WorldState) -> Value {
    let silences = silences_now(w);
    let alerts: Vec<Value> = firing(w)
        .into_iter()
        .map(|f| {
            let silenced_by: Vec<&str> = silences
                .iter()
                .filter(|s| s["status"]["state"] == "active")
                .filter(|s| {
                    s["matchers"].as_array().is_some_and(|m| {
                        !m.is_empty() && m.iter().all(|m| matcher_matches(m, &f.labels))
                    })
                })
                .filter_map(|s| s["id"].as_str())
                .collect();
            let state = if silenced_by.is_empty() {
                "active"
            } else {
                "suppressed"
            };
            let fingerprint = format!(
                "{:016x}",
                f.labels.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, (k, v)| {
                    k.bytes()
                        .chain(v.bytes())
                        .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
                })
            );
            json!({
                "labels": f.labels,
                "annotations": f.annotations,
                "startsAt": rfc3339(f.since),
                "endsAt": rfc3339(w.store.clock.unix() + 240.0),
                "updatedAt": w.store.clock.rfc3339(),
                "generatorURL": "http://prometheus.example.com/graph",
                "fingerprint": fingerprint,
                "receivers": [{"name": "oncall"}],
                "status": {"state": state, "silencedBy": silenced_by, "inhibitedBy": []},
            })
        })
        .collect();
    Value::Array(alerts)
}

fn prometheus_alerts(w: &WorldState) -> Value {
    let alerts: Vec<Value> = firing(w)
        .into_iter()
        .map(|f| {
            json!({
                "labels": f.labels,
                "annotations": f.annotations,
                "state": "firing",
                "activeAt": rfc3339(f.since),
                "value": "1e+00",
            })
        })
        .collect();
    json!({"status": "success", "data": {"alerts": alerts}})
}

fn prometheus_rules() -> Value {
    let rule = |name: &str, query: &str, duration: f64, severity: &str| {
        json!({"type": "alerting", "name": name, "query": query, "duration": duration,
               "labels": {"severity": severity}, "annotations": {}, "health": "ok", "lastError": ""})
    };
    json!({"status": "success", "data": {"groups": [{"name": "platform", "rules": [
        rule("HighErrorRate",
             "sum by (namespace, deployment) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (namespace, deployment) (rate(http_requests_total[5m])) > 0.05",
             300.0, "critical"),
        rule("KubePodCrashLooping",
             "max_over_time(kube_pod_container_status_waiting_reason{reason=\"CrashLoopBackOff\"}[5m]) >= 1",
             900.0, "warning"),
        rule("ResourceClaimStuck",
             "time() - poolboy_resource_claim_created_seconds{state=~\"provisioning|pending\"} > 3600",
             0.0, "warning"),
    ]}]}})
}

/// A new silence from the request body, with its id; or why it is refused (400).
fn create_silence(w: &mut WorldState, body: &[u8]) -> Result<String, String> {
    let mut silence: Value =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let matchers = silence["matchers"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or("at least one matcher is required")?;
    for m in matchers {
        if m["name"].as_str().is_none_or(str::is_empty) || m["value"].as_str().is_none() {
            return Err("matcher: name and value are required".into());
        }
        if m["isRegex"].as_bool().unwrap_or(false)
            && regex::Regex::new(m["value"].as_str().unwrap_or_default()).is_err()
        {
            return Err("matcher: invalid regular expression".into());
        }
    }
    let starts = silence["startsAt"].as_str().and_then(unix_of);
    let ends = silence["endsAt"].as_str().and_then(unix_of);
    match (starts, ends) {
        (Some(s), Some(e)) if e > s => {}
        _ => return Err("startsAt and endsAt are required, endsAt after startsAt".into()),
    }
    if silence["createdBy"].as_str().is_none_or(str::is_empty) {
        return Err("createdBy is required".into());
    }
    if silence["comment"].as_str().is_none_or(str::is_empty) {
        return Err("comment is required".into());
    }
    let id = match silence["id"].as_str().filter(|s| !s.is_empty()) {
        Some(id) => {
            w.silences.retain(|s| s["id"] != id);
            id.to_string()
        }
        None => {
            w.silence_count += 1;
            format!("00000000-0000-4000-8000-{:012x}", w.silence_count)
        }
    };
    silence["id"] = json!(id);
    silence["updatedAt"] = json!(w.store.clock.rfc3339());
    w.silences.push(silence);
    Ok(id)
}

/// Every alerting endpoint; `None` when `path` is not one.
pub(crate) fn serve(
    sh: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<Response> {
    let get = *method == Method::GET || *method == Method::HEAD;
    let answer = match (path, get) {
        ("/api/v1/alerts", true) => respond::json(200, &sh.with(|w| prometheus_alerts(w))),
        ("/api/v1/rules", true) => respond::json(200, &prometheus_rules()),
        ("/api/v2/alerts", true) => match sh.with(|w| alertmanager_alerts_filtered(w, query)) {
            Ok(alerts) => respond::json(200, &alerts),
            Err(e) => respond::json_string(400, serde_json::to_string(&e).unwrap_or_default()),
        },
        ("/api/v2/silences", true) => {
            respond::json(200, &Value::Array(sh.with(|w| silences_now(w))))
        }
        ("/api/v2/status", true) => respond::json(
            200,
            &json!({"cluster": {"status": "disabled", "peers": []},
                    "versionInfo": {"version": "0.25.0 (watchfloor sim)"},
                    "config": {"original": ""}, "uptime": "2026-12-06T00:00:00Z"}),
        ),
        ("/api/v2/silences", false) if *method == Method::POST => {
            match sh.with(|w| create_silence(w, body)) {
                Ok(id) => respond::json(200, &json!({"silenceID": id})),
                Err(e) => respond::json_string(400, serde_json::to_string(&e).unwrap_or_default()),
            }
        }
        (path, false) if *method == Method::DELETE && path.starts_with("/api/v2/silence/") => {
            let id = path.trim_start_matches("/api/v2/silence/").to_string();
            let expired = sh.with(|w| {
                let now = w.store.clock.rfc3339();
                let silence = w.silences.iter_mut().find(|s| s["id"] == id.as_str())?;
                silence["endsAt"] = json!(now);
                silence["updatedAt"] = json!(now);
                Some(())
            });
            match expired {
                Some(()) => respond::json(200, &json!({})),
                None => respond::json_string(404, format!("\"silence {id} not found\"")),
            }
        }
        (path, _)
            if path.starts_with("/api/v1/alerts")
                || path.starts_with("/api/v1/rules")
                || path.starts_with("/api/v2/") =>
        {
            respond::json(
                405,
                &json!({"status": "error", "error": "method not allowed"}),
            )
        }
        _ => return None,
    };
    Some(answer)
}
