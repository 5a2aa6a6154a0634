//! `GET /healthz/detailed`: platform-v2-api's detailed health endpoint, reflecting the world.
//!
//! Body: `{"status": "ok"|"degraded"|"down", "checks": {name: {"status", "response_time"}}}`.
//! The checks are two static dependencies (`database`, `cache`) and every Deployment in the
//! `platform-v2-stable` namespace: `ok` when every pod in its Service's rotation is healthy,
//! `degraded` while some requests hit failing pods (the bad rollout's crash-looping revision),
//! `down` when nothing healthy serves. The overall status is the worst check; `down` answers 503.

use std::sync::Arc;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Shared;
use super::prometheus::rotations;
use super::respond;

/// The namespace whose Deployments the endpoint reports.
const NAMESPACE: &str = "platform-v2-stable";

fn rank(status: &str) -> u8 {
    match status {
        "down" => 2,
        "degraded" => 1,
        _ => 0,
    }
}

pub(crate) fn serve(sh: &Arc<Shared>, method: &Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return respond::json(
            405,
            &json!({"status": "error", "error": "method not allowed"}),
        );
    }
    let rot = sh.with(|w| rotations(w));
    // A little jitter so the numbers look alive; deterministic per second.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 5);
    let mut checks = Map::new();
    checks.insert(
        "database".into(),
        json!({"status": "ok", "response_time": format!("{}ms", 3 + jitter)}),
    );
    checks.insert(
        "cache".into(),
        json!({"status": "ok", "response_time": format!("{}ms", 1 + jitter % 2)}),
    );
    for ((_, name), r) in rot.iter().filter(|((ns, _), _)| ns == NAMESPACE) {
        let (status, time) = if r.good == 0 {
            ("down", "timeout".to_string())
        } else if r.bad > 0 {
            ("degraded", format!("{}ms", 850 + 37 * jitter))
        } else {
            ("ok", format!("{}ms", 12 + jitter))
        };
        checks.insert(
            name.clone(),
            json!({"status": status, "response_time": time}),
        );
    }
    let worst = checks
        .values()
        .filter_map(|c| c["status"].as_str())
        .max_by_key(|s| rank(s))
        .unwrap_or("ok")
        .to_string();
    let code = if worst == "down" { 503 } else { 200 };
    respond::json(
        code,
        &json!({"status": worst, "checks": Value::Object(checks)}),
    )
}
