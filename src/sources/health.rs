//! Health endpoints: a GET every `interval`, judged by the status code and, when the body is
//! JSON, its overall `status` and its `checks` (a map or a list, as `/healthz/detailed`
//! endpoints write them).
//!
//! Everything the endpoint sends is untrusted: the body is read up to [`BODY_LIMIT`] and no
//! further, the whole check is bounded by the configured timeout, and every string that reaches
//! the result goes through [`crate::text`] first.

use std::error::Error as _;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, HeaderValue};
use serde_json::{Map, Value};

use crate::event::SourceEvent;
use crate::event::SourceState;
use crate::slo::{HealthCheck, HealthResult, HealthStatus};
use crate::text::{sanitize, sanitize_truncated};
use watchfloor_core::config::HealthConfig;

use super::kubernetes::Reporter;

/// Bodies larger than this are not read past it, and not parsed.
pub const BODY_LIMIT: usize = 256 * 1024;
/// At most this many `checks` entries are kept.
pub const MAX_CHECKS: usize = 256;
/// Longest string (in characters) kept from a body.
const MAX_TEXT: usize = 200;
/// Timeouts above this are clamped (an absurd config value must not overflow a deadline).
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Intervals below this are raised to it.
const MIN_INTERVAL: Duration = Duration::from_millis(50);

const ACCEPT_VALUE: &str = "application/health+json, application/json;q=0.9, */*;q=0.5";

/// A client for one endpoint. Redirects are followed (at most 5) unless the expected status is
/// itself a redirect.
pub fn client(config: &HealthConfig) -> Result<reqwest::Client, String> {
    let redirect = if (300..400).contains(&config.expect_status) {
        reqwest::redirect::Policy::none()
    } else {
        reqwest::redirect::Policy::limited(5)
    };
    reqwest::Client::builder()
        .user_agent(concat!("watchfloor/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        .connect_timeout(clamp_timeout(config.timeout))
        .build()
        .map_err(|e| sanitize(&chain(&e)))
}

/// Checks `config`'s endpoint once. `previous_failures` is the `consecutive_failures` of the
/// last result (0 at first). Never panics, and returns within about `config.timeout`.
pub async fn check(
    client: &reqwest::Client,
    config: &HealthConfig,
    previous_failures: u32,
) -> HealthResult {
    let timeout = clamp_timeout(config.timeout);
    let mut result = HealthResult {
        name: sanitize(&config.name),
        url: display_url(&config.url),
        status: HealthStatus::Unknown,
        http_status: None,
        latency_ms: None,
        body_status: None,
        checks: Vec::new(),
        error: None,
        consecutive_failures: 0,
        checked_at: None,
    };
    let failure = match fetch(client, &config.url, timeout).await {
        Err(reason) => Some(reason),
        Ok(fetched) => judge(&mut result, fetched, config.expect_status),
    };
    result.checked_at = Some(SystemTime::now());
    match failure {
        Some(reason) => {
            let failures = previous_failures.saturating_add(1);
            result.consecutive_failures = failures;
            result.status = if failures >= 2 {
                HealthStatus::Critical
            } else {
                HealthStatus::Down
            };
            result.error = Some(match result.error.take() {
                Some(note) => format!("{reason}; {note}"),
                None => reason,
            });
        }
        None => {
            result.consecutive_failures = 0;
            if result.status == HealthStatus::Unknown {
                result.status = HealthStatus::Ok;
            }
        }
    }
    if let Some(error) = &mut result.error {
        *error = sanitize_truncated(error, 2 * MAX_TEXT);
    }
    result
}

/// Checks the endpoint every `config.interval` and reports each result as `SourceEvent::Health`.
/// An endpoint that answered (even unhealthy: a 500, a `down` body) is data, and the source is
/// live; one that could not be reached or did not answer in time (refused, reset, timed out, not
/// HTTP) leaves the source in error with the reason and the next check's time, as `snapshot`
/// counts it. Ends when the console is gone.
pub async fn run(config: HealthConfig, index: usize, reporter: Reporter) {
    let interval = config.interval.max(MIN_INTERVAL);
    let client = loop {
        match client(&config) {
            Ok(client) => break client,
            Err(reason) => {
                let reason = format!("cannot build an HTTP client: {reason}");
                if !reporter.error(reason, interval).await {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        }
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0;
    loop {
        let started = ticks.tick().await;
        let result = check(&client, &config, failures).await;
        failures = result.consecutive_failures;
        let state = match result.http_status {
            Some(_) => SourceState::Live,
            None => SourceState::Error {
                reason: format!(
                    "{}: {}",
                    result.name,
                    result.error.as_deref().unwrap_or("no answer")
                ),
                retry_at: Some(SystemTime::now() + interval.saturating_sub(started.elapsed())),
            },
        };
        let sent = reporter
            .tx
            .send(SourceEvent::Health {
                generation: reporter.generation,
                index,
                result,
            })
            .await;
        if sent.is_err() || !reporter.state(state).await {
            return;
        }
    }
}

/// What came back from the endpoint.
struct Fetched {
    http_status: u16,
    latency: Duration,
    body: Body,
}

enum Body {
    Complete(Vec<u8>),
    /// Over [`BODY_LIMIT`]; reading stopped there.
    TooLarge,
    /// The body did not arrive whole (deadline or a broken connection): why.
    Incomplete(String),
}

/// GETs `url`; headers and body share one deadline. `Err` is a readable reason.
async fn fetch(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<Fetched, String> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(tokio::time::Instant::now);
    let request = client
        .get(url)
        .header(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE))
        .timeout(timeout);
    let mut response = match tokio::time::timeout_at(deadline, request.send()).await {
        Err(_) => return Err(timed_out(timeout)),
        Ok(Err(error)) => return Err(describe(error, timeout)),
        Ok(Ok(response)) => response,
    };
    let latency = started.elapsed();
    let http_status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|length| length > BODY_LIMIT as u64)
    {
        return Ok(Fetched {
            http_status,
            latency,
            body: Body::TooLarge,
        });
    }
    let mut bytes = Vec::new();
    let body = loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => break Body::Incomplete(format!("not complete after {}", duration(timeout))),
            Ok(Err(error)) if error.is_timeout() => {
                break Body::Incomplete(format!("not complete after {}", duration(timeout)));
            }
            Ok(Err(error)) => break Body::Incomplete(describe(error, timeout)),
            Ok(Ok(None)) => break Body::Complete(bytes),
            Ok(Ok(Some(chunk))) => {
                if bytes.len().saturating_add(chunk.len()) > BODY_LIMIT {
                    break Body::TooLarge;
                }
                bytes.extend_from_slice(&chunk);
            }
        }
    };
    // Dropping the response here closes the connection: an unread rest is never downloaded.
    drop(response);
    Ok(Fetched {
        http_status,
        latency,
        body,
    })
}

/// Fills `result` from a response; returns the failure, if the check failed. Notes about the
/// body that are not failures go in `result.error`.
fn judge(result: &mut HealthResult, fetched: Fetched, expect_status: u16) -> Option<String> {
    result.http_status = Some(fetched.http_status);
    result.latency_ms = Some(u64::try_from(fetched.latency.as_millis()).unwrap_or(u64::MAX));
    let mut body_status = None;
    match fetched.body {
        Body::Complete(bytes) => {
            // Not JSON (plain text, HTML, garbage) is fine: only the status code counts then.
            if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
                let (status, checks) = parse_body(&json);
                result.body_status = status.as_ref().map(|(text, _)| text.clone());
                result.checks = checks;
                body_status = status;
            }
        }
        Body::TooLarge => {
            result.error = Some(format!("body over {} KiB; not read", BODY_LIMIT / 1024));
        }
        Body::Incomplete(why) => {
            result.error = Some(format!("body {why}; not read"));
        }
    }
    if fetched.http_status != expect_status {
        return Some(format!(
            "HTTP {} (expected {expect_status})",
            fetched.http_status
        ));
    }
    match body_status {
        Some((text, HealthStatus::Down)) => Some(format!("body status {text:?}")),
        Some((_, status)) => {
            result.status = status;
            None
        }
        None => None,
    }
}

/// The overall status (as shown, and as judged) and the checks of a JSON body.
fn parse_body(json: &Value) -> (Option<(String, HealthStatus)>, Vec<HealthCheck>) {
    let mut checks = Vec::new();
    let status = match json {
        Value::Object(object) => {
            if let Some(entries) = ["checks", "components", "details"]
                .iter()
                .find_map(|key| object.get(*key))
            {
                collect_checks(entries, &mut checks);
            }
            object.get("status").and_then(overall_status)
        }
        // A bare list of checks, without an overall status.
        Value::Array(_) => {
            collect_checks(json, &mut checks);
            None
        }
        _ => None,
    };
    (status, checks)
}

/// The body's overall `status`: a string or a boolean; any other JSON type is ignored.
fn overall_status(value: &Value) -> Option<(String, HealthStatus)> {
    let text = match value {
        Value::String(text) => sanitize_truncated(text, MAX_TEXT),
        Value::Bool(true) => "true".to_string(),
        Value::Bool(false) => "false".to_string(),
        _ => return None,
    };
    let status = classify(&text);
    Some((text, status))
}

/// ok/healthy/pass/up (and friends) are Ok, degraded/warn are Degraded, anything else is Down.
pub fn classify(status: &str) -> HealthStatus {
    match status.trim().to_ascii_lowercase().as_str() {
        "ok" | "healthy" | "pass" | "passed" | "passing" | "up" | "green" | "good" | "true"
        | "success" | "serving" | "available" | "alive" | "ready" => HealthStatus::Ok,
        "degraded" | "warn" | "warning" | "warned" | "yellow" | "partial" => HealthStatus::Degraded,
        _ => HealthStatus::Down,
    }
}

/// `checks` as a map (`{"db": {...}}`, `{"db": "ok"}`, or the health+json draft's
/// `{"db": [{...}]}`) or as a list (`[{"name": "db", ...}]`).
fn collect_checks(entries: &Value, out: &mut Vec<HealthCheck>) {
    match entries {
        Value::Object(map) => {
            for (name, value) in map {
                if out.len() >= MAX_CHECKS {
                    return;
                }
                match value {
                    Value::Array(items) => {
                        for item in items {
                            if out.len() >= MAX_CHECKS {
                                return;
                            }
                            let id = item
                                .get("componentId")
                                .and_then(Value::as_str)
                                .map(|id| format!("{name}:{id}"));
                            out.push(entry(id.as_deref().unwrap_or(name), item));
                        }
                    }
                    _ => out.push(entry(name, value)),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if out.len() >= MAX_CHECKS {
                    return;
                }
                let name = item.as_object().and_then(|object| {
                    ["name", "component", "componentId", "id", "check"]
                        .iter()
                        .find_map(|key| object.get(*key).and_then(Value::as_str))
                });
                let fallback = format!("#{}", i + 1);
                out.push(entry(name.unwrap_or(&fallback), item));
            }
        }
        _ => {}
    }
}

fn entry(name: &str, value: &Value) -> HealthCheck {
    let (status, response_time) = match value {
        Value::Object(object) => (
            object
                .get("status")
                .map_or_else(|| "unknown".to_string(), status_text),
            response_time(object),
        ),
        other => (status_text(other), None),
    };
    HealthCheck {
        name: sanitize_truncated(name, MAX_TEXT),
        status,
        response_time,
    }
}

fn status_text(value: &Value) -> String {
    match value {
        Value::String(text) => sanitize_truncated(text, MAX_TEXT),
        Value::Bool(true) => "ok".to_string(),
        Value::Bool(false) => "down".to_string(),
        Value::Null => "unknown".to_string(),
        Value::Number(number) => number.to_string(),
        Value::Array(_) | Value::Object(_) => "?".to_string(),
    }
}

/// A string as given (`"12ms"`); an integer as milliseconds (`12` -> `"12ms"`); any other number
/// as given, without a unit (its unit is unknown).
fn response_time(object: &Map<String, Value>) -> Option<String> {
    let value = [
        "response_time",
        "responseTime",
        "response_time_ms",
        "latency",
        "latency_ms",
        "duration",
        "duration_ms",
        "time",
    ]
    .iter()
    .find_map(|key| object.get(*key))?;
    match value {
        Value::String(text) => Some(sanitize_truncated(text, 40)),
        Value::Number(number) if number.is_u64() || number.is_i64() => Some(format!("{number}ms")),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn clamp_timeout(timeout: Duration) -> Duration {
    timeout.min(MAX_TIMEOUT)
}

fn duration(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", duration(timeout))
}

/// A readable reason for a request that got no response.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return timed_out(timeout);
    }
    let mut innermost: Option<&(dyn std::error::Error + 'static)> = None;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return "connection refused".into(),
                ErrorKind::ConnectionReset => return "connection reset".into(),
                ErrorKind::ConnectionAborted => return "connection aborted".into(),
                ErrorKind::TimedOut => return timed_out(timeout),
                _ => {}
            }
        }
        innermost = Some(cause);
        source = cause.source();
    }
    let what = if error.is_builder() {
        "invalid URL"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_redirect() {
        "redirects"
    } else {
        "request failed"
    };
    let detail = match innermost {
        Some(cause) => cause.to_string(),
        None => error.without_url().to_string(),
    };
    sanitize_truncated(&format!("{what}: {detail}"), 2 * MAX_TEXT)
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The URL for display, with any password replaced.
fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            sanitize_truncated(parsed.as_str(), 2 * MAX_TEXT)
        }
        _ => sanitize_truncated(url, 2 * MAX_TEXT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        for ok in ["ok", "OK", " healthy ", "pass", "UP", "true"] {
            assert_eq!(classify(ok), HealthStatus::Ok, "{ok}");
        }
        for degraded in ["degraded", "WARN", "warning"] {
            assert_eq!(classify(degraded), HealthStatus::Degraded, "{degraded}");
        }
        for down in ["down", "fail", "", "unknown", "false", "\u{1b}[31m"] {
            assert_eq!(classify(down), HealthStatus::Down, "{down}");
        }
    }

    #[test]
    fn parses_map_list_and_draft_checks() {
        let map: Value = serde_json::from_str(
            r#"{"status":"ok","checks":{"db":{"status":"ok","response_time":"12ms"},"cache":"down","q":true}}"#,
        )
        .unwrap();
        let (status, checks) = parse_body(&map);
        assert_eq!(status, Some(("ok".to_string(), HealthStatus::Ok)));
        let got: Vec<_> = checks
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.status.as_str(),
                    c.response_time.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("cache", "down", None),
                ("db", "ok", Some("12ms")),
                ("q", "ok", None)
            ]
        );

        let list: Value = serde_json::from_str(
            r#"{"status":"degraded","checks":[{"name":"db","status":"ok","response_time":12},{"status":"fail","latency":0.5},7]}"#,
        )
        .unwrap();
        let (status, checks) = parse_body(&list);
        assert_eq!(
            status,
            Some(("degraded".to_string(), HealthStatus::Degraded))
        );
        let got: Vec<_> = checks
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.status.as_str(),
                    c.response_time.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("db", "ok", Some("12ms")),
                ("#2", "fail", Some("0.5")),
                ("#3", "7", None)
            ]
        );

        let draft: Value = serde_json::from_str(
            r#"{"status":"pass","checks":{"db:connections":[{"componentId":"a","status":"warn"},{"status":"pass"}]}}"#,
        )
        .unwrap();
        let (_, checks) = parse_body(&draft);
        let names: Vec<_> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["db:connections:a", "db:connections"]);
    }

    #[test]
    fn odd_json_is_harmless() {
        for body in [
            "null",
            "1",
            "\"ok\"",
            "[]",
            "{}",
            r#"{"status":200}"#,
            r#"{"status":null,"checks":"db"}"#,
            r#"{"checks":[null,[],{"name":5}]}"#,
        ] {
            let json: Value = serde_json::from_str(body).unwrap();
            let (status, checks) = parse_body(&json);
            assert!(status.is_none(), "{body}");
            assert!(checks.len() <= 3, "{body}");
        }
        let many = format!(
            "{{\"checks\":[{}]}}",
            vec!["{\"status\":\"ok\"}"; MAX_CHECKS + 10].join(",")
        );
        let (_, checks) = parse_body(&serde_json::from_str(&many).unwrap());
        assert_eq!(checks.len(), MAX_CHECKS);
    }

    #[test]
    fn hides_url_passwords() {
        assert_eq!(
            display_url("http://user:hunter2@example.com/healthz"),
            "http://user:***@example.com/healthz"
        );
        assert_eq!(display_url("not a url\u{1b}[2J"), "not a url");
    }
}
