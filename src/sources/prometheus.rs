//! The Prometheus source: evaluates the target's SLOs through the HTTP API
//! (`/api/v1/query` and `/api/v1/query_range`) every `refresh`.
//!
//! Every query carries an explicit `time` (or `start`/`end`) and a server-side `timeout`
//! slightly below the client timeout, so the server stops working when the console gives up.
//! The queries of one refresh run concurrently, at most [`CONCURRENCY`] at a time. Successful
//! answers are cached for the refresh interval. No response body, however malformed, panics:
//! it becomes a readable error on the SLO it belongs to.

use super::backoff::Backoff;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::event::SourceEvent;
use crate::event::SourceState;
use crate::slo::burn::{self, AlertPair};
use crate::slo::{Reading, SloResult, SloState};
use crate::sources::kubernetes::Reporter;
use watchfloor_core::config::{PrometheusConfig, SloConfig};

/// Queries in flight at once per refresh.
pub const CONCURRENCY: usize = 8;
/// The sparkline: 1h burn over the last 6 hours, one point per 5 minutes (73 points).
pub const SPARKLINE_SPAN: Duration = Duration::from_secs(6 * 3600);
pub const SPARKLINE_STEP: Duration = Duration::from_secs(300);
/// The detail history: every alert window's burn over the last 24 hours, one point per 15
/// minutes (97 points).
pub const HISTORY_SPAN: Duration = Duration::from_secs(24 * 3600);
pub const HISTORY_STEP: Duration = Duration::from_secs(900);
/// Response bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A Prometheus API client for one target.
pub struct PromClient {
    http: reqwest::Client,
    /// The configured URL without a trailing slash; API paths are appended.
    base: String,
    timeout: Duration,
    refresh: Duration,
    cache: Mutex<HashMap<String, CacheEntry>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for PromClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromClient")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct CacheEntry {
    at: f64,
    fetched: Instant,
    data: ApiData,
}

/// The `data` of a successful answer, plus its warnings.
#[derive(Debug, Clone)]
struct ApiData {
    result_type: String,
    result: Value,
    warnings: Vec<String>,
}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq)]
enum QueryError {
    /// Prometheus could not be reached or did not answer with its API (connection refused,
    /// timeout, TLS, a proxy's HTML error page...).
    Transport(String),
    /// Prometheus answered with an API error (`errorType`).
    Api { error_type: String, message: String },
    /// Prometheus answered, but the result is unusable for an SLO.
    Result(String),
}

impl QueryError {
    /// Whether this error says Prometheus as a whole is unavailable (not one bad query).
    fn is_unreachable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Api { error_type, .. } => error_type == "unavailable",
            Self::Result(_) => false,
        }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(m) | Self::Result(m) => f.write_str(m),
            Self::Api {
                error_type,
                message,
            } => {
                let what = match error_type.as_str() {
                    "bad_data" => "Prometheus rejected the query (bad_data)",
                    "execution" => "the query failed in Prometheus (execution)",
                    "timeout" => "the query timed out in Prometheus (timeout)",
                    "canceled" => "the query was canceled (canceled)",
                    "unavailable" => "Prometheus is unavailable (unavailable)",
                    "internal" => "Prometheus failed internally (internal)",
                    "not_found" => "Prometheus does not know this endpoint (not_found)",
                    "not_acceptable" => "Prometheus refused the request (not_acceptable)",
                    other => return write!(f, "Prometheus error ({other}): {message}"),
                };
                if message.is_empty() {
                    f.write_str(what)
                } else {
                    write!(f, "{what}: {message}")
                }
            }
        }
    }
}

/// One request to the API.
#[derive(Debug, Clone)]
enum Request {
    Instant {
        query: String,
        at: f64,
    },
    Range {
        query: String,
        start: f64,
        end: f64,
        step: Duration,
    },
}

impl Request {
    fn at(&self) -> f64 {
        match self {
            Self::Instant { at, .. } => *at,
            Self::Range { end, .. } => *end,
        }
    }

    /// Cache key: everything but the evaluation time.
    fn key(&self) -> String {
        match self {
            Self::Instant { query, .. } => format!("query\n{query}"),
            Self::Range {
                query,
                start,
                end,
                step,
            } => format!("range\n{}\n{}\n{query}", end - start, step.as_millis()),
        }
    }
}

impl PromClient {
    /// Builds the client: rustls, the configured credentials and headers, the custom CA, the
    /// client timeout. Secrets are resolved here.
    pub fn new(config: &PrometheusConfig) -> Result<Self, String> {
        let url = reqwest::Url::parse(config.url.trim())
            .map_err(|e| format!("invalid Prometheus url {:?}: {e}", config.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "invalid Prometheus url {:?}: the scheme must be http or https",
                config.url
            ));
        }
        let timeout = if config.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            config.timeout
        };
        let http = super::http_client::build(&super::http_client::Access {
            what: "Prometheus",
            token: config.token.as_ref(),
            username: config.username.as_deref(),
            password: config.password.as_ref(),
            headers: &config.headers,
            ca_file: config.ca_file.as_deref(),
            insecure_skip_verify: false,
            timeout,
        })?;
        Ok(Self {
            http,
            base: config.url.trim().trim_end_matches('/').to_string(),
            timeout,
            refresh: config.refresh,
            cache: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far (cache hits send none).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The server-side `timeout`: a little below the client's, so Prometheus gives up first.
    fn server_timeout(&self) -> String {
        let ms = self.timeout.as_millis();
        let ms = (ms - ms / 10).max(1);
        format!("{ms}ms")
    }

    fn cached(&self, request: &Request) -> Option<ApiData> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(&request.key())?;
        let fresh = entry.fetched.elapsed() < self.refresh
            && (entry.at - request.at()).abs() < self.refresh.as_secs_f64();
        fresh.then(|| entry.data.clone())
    }

    fn store(&self, request: &Request, data: &ApiData) {
        if self.refresh.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            let refresh = self.refresh;
            cache.retain(|_, e| e.fetched.elapsed() < refresh);
            cache.insert(
                request.key(),
                CacheEntry {
                    at: request.at(),
                    fetched: Instant::now(),
                    data: data.clone(),
                },
            );
        }
    }

    /// Sends one request (or answers it from the cache).
    async fn send(&self, request: &Request) -> Result<ApiData, QueryError> {
        if let Some(data) = self.cached(request) {
            return Ok(data);
        }
        let timeout = self.server_timeout();
        let (path, params) = match request {
            Request::Instant { query, at } => (
                "/api/v1/query",
                vec![
                    ("query", query.clone()),
                    ("time", format!("{at:.3}")),
                    ("timeout", timeout),
                ],
            ),
            Request::Range {
                query,
                start,
                end,
                step,
            } => (
                "/api/v1/query_range",
                vec![
                    ("query", query.clone()),
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{}", step.as_secs_f64())),
                    ("timeout", timeout),
                ],
            ),
        };
        let url = format!("{}{path}", self.base);
        self.requests.fetch_add(1, Ordering::Relaxed);
        // POST a form: queries can be long (Prometheus accepts both).
        let response = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_encode(&params))
            .send()
            .await
            .map_err(|e| QueryError::Transport(transport_message(&e, &self.base, self.timeout)))?;
        let status = response.status();
        let body = read_body(response)
            .await
            .map_err(|e| QueryError::Transport(transport_message(&e, &self.base, self.timeout)))?;
        let data = parse_envelope(status.as_u16(), &body, &self.base)?;
        self.store(request, &data);
        Ok(data)
    }
}

/// `application/x-www-form-urlencoded` without reqwest's `form` feature.
fn form_encode(params: &[(&str, String)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("static URL parses");
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    url.query().unwrap_or_default().to_string()
}

/// Reads a body up to [`MAX_BODY`].
pub(crate) async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            break;
        }
    }
    Ok(body)
}

/// An error and its sources, joined by ": ", without repeats.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// The innermost cause of an error (e.g. "Connection refused (os error 111)").
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

fn transport_message(error: &reqwest::Error, base: &str, timeout: Duration) -> String {
    if error.is_timeout() {
        format!(
            "Prometheus at {base} did not answer within {}",
            humantime::format_duration(timeout)
        )
    } else if error.is_connect() {
        format!(
            "cannot connect to Prometheus at {base}: {}",
            root_cause(error)
        )
    } else if let Some(cut) = connection_cut(error) {
        format!("the connection to Prometheus at {base} was {cut}")
    } else {
        format!(
            "request to Prometheus at {base} failed: {}",
            error_chain(error)
        )
    }
}

/// `reset` or `closed` when an open connection was cut under the request (the client's own
/// wording is a five-part chain naming the URL twice).
fn connection_cut(error: &reqwest::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => return Some("reset"),
                ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => return Some("closed"),
                _ => {}
            }
        }
        source = cause.source();
    }
    None
}

/// Up to 200 characters of a body, on one line, for error messages. The body is whatever
/// answered (a proxy's page, garbage): escapes and controls are removed here, so the reason is
/// safe wherever it is shown or printed (pane titles, `snapshot`).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let line = crate::text::sanitize(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut out: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// Interprets an API answer: the JSON envelope on any status, or a non-API body.
fn parse_envelope(status: u16, body: &[u8], base: &str) -> Result<ApiData, QueryError> {
    if body.len() > MAX_BODY {
        return Err(QueryError::Result(format!(
            "the answer is larger than {} MiB",
            MAX_BODY / (1024 * 1024)
        )));
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let envelope = json.as_ref().and_then(Value::as_object);
    let api_status = envelope
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str);
    let Some(envelope) = envelope.filter(|_| api_status.is_some()) else {
        let reason = match status {
            200..=299 => "the answer is not Prometheus API JSON (is the url right?)".to_string(),
            401 => "HTTP 401 Unauthorized (check token or username/password)".to_string(),
            403 => "HTTP 403 Forbidden (check token or username/password)".to_string(),
            _ => format!(
                "HTTP {status}{}",
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default()
            ),
        };
        let body = snippet(body);
        return Err(QueryError::Transport(if body.is_empty() {
            format!("Prometheus at {base}: {reason}")
        } else {
            format!("Prometheus at {base}: {reason}: {body}")
        }));
    };
    let strings = |key: &str| -> Vec<String> {
        envelope
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|w| match w {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if api_status != Some("success") {
        let error_type = envelope
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or(if status == 200 { "unknown" } else { "http" })
            .to_string();
        let mut message = envelope
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if error_type == "http" {
            message = format!("HTTP {status} {message}").trim().to_string();
        }
        return Err(QueryError::Api {
            error_type: crate::text::sanitize(&error_type),
            message: crate::text::sanitize(&message),
        });
    }
    let mut warnings = strings("warnings");
    warnings.extend(strings("infos"));
    let data = envelope.get("data").and_then(Value::as_object);
    let result_type = data
        .and_then(|d| d.get("resultType"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let result = data
        .and_then(|d| d.get("result"))
        .cloned()
        .unwrap_or(Value::Null);
    if result_type.is_empty() {
        return Err(QueryError::Result(
            "Prometheus answered success without data.resultType".into(),
        ));
    }
    Ok(ApiData {
        result_type,
        result,
        warnings,
    })
}

/// A `[timestamp, "value"]` pair.
fn sample(pair: &Value) -> Result<(f64, f64), QueryError> {
    let bad = || QueryError::Result(format!("malformed sample {}", short_json(pair)));
    let pair = pair.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let ts = pair[0].as_f64().ok_or_else(bad)?;
    let value = pair[1]
        .as_str()
        .and_then(burn::parse_value)
        .ok_or_else(bad)?;
    Ok((ts, value))
}

fn short_json(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

fn one_series_error(n: usize) -> QueryError {
    QueryError::Result(format!(
        "the query returned {n} series; an SLO query must return one (aggregate it with sum())"
    ))
}

/// The value of an instant query: one series or a scalar; empty is no data, NaN no traffic.
fn instant_reading(data: &ApiData) -> Result<Reading, QueryError> {
    match data.result_type.as_str() {
        "vector" => {
            let series = data
                .result
                .as_array()
                .ok_or_else(|| QueryError::Result("malformed vector result".into()))?;
            match series.as_slice() {
                [] => Ok(Reading::NoData),
                [one] => {
                    if let Some(value) = one.get("value") {
                        Ok(burn::reading(sample(value)?.1))
                    } else if one.get("histogram").is_some() {
                        Err(QueryError::Result(
                            "the query returned a native histogram, not a number".into(),
                        ))
                    } else {
                        Err(QueryError::Result(format!(
                            "malformed vector element {}",
                            short_json(one)
                        )))
                    }
                }
                many => Err(one_series_error(many.len())),
            }
        }
        "scalar" => Ok(burn::reading(sample(&data.result)?.1)),
        other => Err(QueryError::Result(format!(
            "the query returned a {other}, not a number"
        ))),
    }
}

/// The points of a range query at `start + i × step`, missing points as no data.
fn range_readings(
    data: &ApiData,
    start: f64,
    end: f64,
    step: Duration,
) -> Result<Vec<(f64, Reading)>, QueryError> {
    let step_s = step.as_secs_f64().max(0.001);
    let n = ((end - start) / step_s + 1e-9).floor() as usize + 1;
    let mut points: Vec<(f64, Reading)> = (0..n)
        .map(|i| (start + i as f64 * step_s, Reading::NoData))
        .collect();
    if data.result_type != "matrix" {
        return Err(QueryError::Result(format!(
            "the range query returned a {}, not a matrix",
            data.result_type
        )));
    }
    let series = data
        .result
        .as_array()
        .ok_or_else(|| QueryError::Result("malformed matrix result".into()))?;
    match series.as_slice() {
        [] => {}
        [one] => {
            let values = match one.get("values") {
                Some(v) => v
                    .as_array()
                    .ok_or_else(|| QueryError::Result("malformed matrix values".into()))?
                    .as_slice(),
                None => &[],
            };
            for value in values {
                let (ts, v) = sample(value)?;
                let i = ((ts - start) / step_s).round();
                if i >= 0.0 && (i as usize) < n {
                    points[i as usize].1 = burn::reading(v);
                }
            }
        }
        many => return Err(one_series_error(many.len())),
    }
    Ok(points)
}

fn unix_seconds(t: SystemTime) -> Result<f64, String> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .map_err(|_| "evaluation time before 1970".to_string())
}

/// What a request is for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// Error ratio over `windows[i]`.
    Window(usize),
    /// Error ratio over the SLO period.
    Period,
    Sparkline,
    /// Burn over `windows[i]` for the last 24 hours.
    History(usize),
}

struct Plan {
    objective: f64,
    pairs: Vec<AlertPair>,
    windows: Vec<std::time::Duration>,
    queries: Vec<(String, String)>,
    warnings: Vec<String>,
    error: Option<String>,
}

/// Evaluates `slos` at `at`. One SLO failing gives that SLO `state: Error` with `error`; a
/// Prometheus that answers none of the queries (unreachable, not an API, unavailable) is `Err`.
pub async fn evaluate(
    client: &PromClient,
    slos: &[SloConfig],
    at: SystemTime,
) -> Result<Vec<SloResult>, String> {
    let at_s = unix_seconds(at)?;
    let mut plans = Vec::with_capacity(slos.len());
    let mut jobs: Vec<(usize, Purpose, Request)> = Vec::new();
    for (index, slo) in slos.iter().enumerate() {
        let pairs = burn::alert_pairs(slo);
        let windows = burn::burn_windows(&pairs);
        let mut plan = Plan {
            objective: *slo.objective.get_ref(),
            pairs,
            windows,
            queries: Vec::new(),
            warnings: Vec::new(),
            error: None,
        };
        for template in burn::templates(slo) {
            if !burn::has_window(template) {
                plan.warnings.push(format!(
                    "the query {template:?} has no {{{{window}}}}: every window shows the same value"
                ));
            }
        }
        let mut requests = Vec::new();
        let build = |window: Duration| burn::error_ratio_query(slo, &burn::prom_duration(window));
        let built: Result<(), String> = (|| {
            for (i, &window) in plan.windows.iter().enumerate() {
                let query = build(window)?;
                plan.queries
                    .push((burn::prom_duration(window), query.clone()));
                requests.push((Purpose::Window(i), Request::Instant { query, at: at_s }));
            }
            let query = build(slo.period)?;
            plan.queries
                .push((burn::prom_duration(slo.period), query.clone()));
            requests.push((Purpose::Period, Request::Instant { query, at: at_s }));
            let query = build(burn::CURRENT_WINDOW)?;
            requests.push((
                Purpose::Sparkline,
                Request::Range {
                    query,
                    start: at_s - SPARKLINE_SPAN.as_secs_f64(),
                    end: at_s,
                    step: SPARKLINE_STEP,
                },
            ));
            for (i, &window) in plan.windows.iter().enumerate() {
                let in_pairs = plan
                    .pairs
                    .iter()
                    .any(|p| p.long == window || p.short == window);
                if in_pairs {
                    requests.push((
                        Purpose::History(i),
                        Request::Range {
                            query: build(window)?,
                            start: at_s - HISTORY_SPAN.as_secs_f64(),
                            end: at_s,
                            step: HISTORY_STEP,
                        },
                    ));
                }
            }
            Ok(())
        })();
        match built {
            Ok(()) => jobs.extend(requests.into_iter().map(|(p, r)| (index, p, r))),
            Err(e) => plan.error = Some(e),
        }
        plans.push(plan);
    }

    let answers: Vec<(usize, Purpose, Request, Result<ApiData, QueryError>)> =
        futures::stream::iter(
            jobs.into_iter()
                .map(|(index, purpose, request)| async move {
                    let answer = client.send(&request).await;
                    (index, purpose, request, answer)
                }),
        )
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let any_ok = answers.iter().any(|(.., a)| a.is_ok());
    if !answers.is_empty() && !any_ok {
        let first_unreachable = answers.iter().find_map(|(.., a)| match a {
            Err(e) if e.is_unreachable() => Some(e.to_string()),
            _ => None,
        });
        if let Some(reason) = first_unreachable {
            return Err(reason);
        }
    }

    // Assemble per SLO.
    struct Parts {
        ratios: Vec<Option<Reading>>,
        period: Option<Reading>,
        sparkline: Vec<Reading>,
        history: Vec<Option<Vec<(f64, Reading)>>>,
        errors: Vec<(usize, String)>,
        warnings: Vec<String>,
    }
    let mut parts: Vec<Parts> = plans
        .iter()
        .map(|p| Parts {
            ratios: vec![None; p.windows.len()],
            period: None,
            sparkline: Vec::new(),
            history: vec![None; p.windows.len()],
            errors: Vec::new(),
            warnings: Vec::new(),
        })
        .collect();
    for (index, purpose, request, answer) in answers {
        let plan = &plans[index];
        let part = &mut parts[index];
        let label = match purpose {
            Purpose::Window(i) => format!("{} window", burn::prom_duration(plan.windows[i])),
            Purpose::Period => "period".to_string(),
            Purpose::Sparkline => "sparkline".to_string(),
            Purpose::History(i) => {
                format!("{} history", burn::prom_duration(plan.windows[i]))
            }
        };
        // Order errors like the windows, so the message names the shortest failing window.
        let order = match purpose {
            Purpose::Window(i) => i,
            Purpose::Period => plan.windows.len(),
            Purpose::Sparkline => plan.windows.len() + 1,
            Purpose::History(i) => plan.windows.len() + 2 + i,
        };
        let data = match answer {
            Ok(data) => data,
            Err(e) => {
                part.errors.push((order, format!("{label}: {e}")));
                continue;
            }
        };
        for w in &data.warnings {
            if !part.warnings.contains(w) {
                part.warnings.push(w.clone());
            }
        }
        let outcome = match (&purpose, &request) {
            (Purpose::Window(i), _) => instant_reading(&data).map(|r| part.ratios[*i] = Some(r)),
            (Purpose::Period, _) => instant_reading(&data).map(|r| part.period = Some(r)),
            (
                Purpose::Sparkline,
                Request::Range {
                    start, end, step, ..
                },
            ) => range_readings(&data, *start, *end, *step).map(|points| {
                part.sparkline = points
                    .into_iter()
                    .map(|(_, r)| burn::burn_rate(r, plan.objective))
                    .collect();
            }),
            (
                Purpose::History(i),
                Request::Range {
                    start, end, step, ..
                },
            ) => range_readings(&data, *start, *end, *step).map(|points| {
                part.history[*i] = Some(
                    points
                        .into_iter()
                        .map(|(t, r)| (t, burn::burn_rate(r, plan.objective)))
                        .collect(),
                );
            }),
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            part.errors.push((order, format!("{label}: {e}")));
        }
    }

    let mut results = Vec::with_capacity(slos.len());
    for ((slo, plan), mut part) in slos.iter().zip(plans).zip(parts) {
        part.errors.sort_by_key(|(order, _)| *order);
        let instant_failed = part.ratios.iter().any(Option::is_none) || part.period.is_none();
        let mut warnings = plan.warnings;
        warnings.extend(part.warnings);
        let mut result = SloResult {
            name: slo.name.clone(),
            objective: plan.objective,
            period: slo.period,
            burn: Vec::new(),
            alerts: Vec::new(),
            budget_remaining: Reading::NoData,
            availability: Reading::NoData,
            exhaustion: None,
            state: SloState::Error,
            sparkline: part.sparkline,
            history: Vec::new(),
            queries: plan.queries,
            warnings,
            error: None,
        };
        if let Some(error) = plan.error {
            result.error = Some(error);
            results.push(result);
            continue;
        }
        if instant_failed {
            result.error = Some(
                part.errors
                    .first()
                    .map(|(_, e)| e.clone())
                    .unwrap_or_else(|| "the queries did not complete".to_string()),
            );
            results.push(result);
            continue;
        }
        // Range-query failures do not hide the numbers; they are shown as warnings.
        result
            .warnings
            .extend(part.errors.into_iter().map(|(_, e)| e));
        let burn: Vec<(Duration, Reading)> = plan
            .windows
            .iter()
            .zip(&part.ratios)
            .map(|(w, r)| {
                (
                    *w,
                    burn::burn_rate(r.unwrap_or(Reading::NoData), plan.objective),
                )
            })
            .collect();
        let period_ratio = part.period.unwrap_or(Reading::NoData);
        let period_burn = burn::burn_rate(period_ratio, plan.objective);
        result.alerts = burn::alert_states(&plan.pairs, &burn);
        result.state = burn::overall_state(&result.alerts, &burn);
        result.budget_remaining = burn::budget_remaining(period_burn);
        result.availability = burn::availability(period_ratio);
        result.exhaustion = burn::exhaustion(
            result.budget_remaining,
            burn::window_reading(&burn, burn::CURRENT_WINDOW),
            slo.period,
        );
        result.history = plan
            .windows
            .iter()
            .zip(part.history)
            .filter_map(|(w, h)| h.map(|points| (burn::prom_duration(*w), points)))
            .collect();
        result.burn = burn
            .into_iter()
            .map(|(w, r)| (burn::prom_duration(w), r))
            .collect();
        results.push(result);
    }
    Ok(results)
}

/// Delay before retrying after `failures` consecutive failures: 1 s doubling, at most the
/// refresh interval (at least 1 s).
pub fn retry_delay(failures: u32, refresh: Duration) -> Duration {
    Backoff::new(Duration::from_secs(1), refresh.max(Duration::from_secs(1))).after(failures)
}

/// The source task: evaluates the SLOs every `refresh`, sends the results and `Live`; on
/// failure reports the reason and retries with backoff. The app keeps the last good results.
pub async fn run(config: PrometheusConfig, slos: Vec<SloConfig>, reporter: Reporter) {
    let refresh = config.refresh.max(Duration::from_millis(500));
    let client = loop {
        match PromClient::new(&config) {
            Ok(client) => break client,
            Err(reason) => {
                // A configuration problem (secret, CA file): check again now and then.
                let delay = Duration::from_secs(60);
                if !reporter.error(reason, delay).await {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    };
    let mut backoff = Backoff::new(Duration::from_secs(1), refresh.max(Duration::from_secs(1)));
    loop {
        match evaluate(&client, &slos, SystemTime::now()).await {
            Ok(results) => {
                backoff.succeeded();
                let action = SourceEvent::Slo {
                    generation: reporter.generation,
                    results,
                };
                if reporter.tx.send(action).await.is_err() {
                    return;
                }
                if !reporter.state(SourceState::Live).await {
                    return;
                }
                tokio::time::sleep(refresh).await;
            }
            Err(reason) => {
                if !backoff.report_and_wait(&reporter, reason).await {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(body: &str) -> Result<ApiData, QueryError> {
        parse_envelope(200, body.as_bytes(), "http://p")
    }

    #[test]
    fn instant_shapes() {
        let r = |body: &str| instant_reading(&data(body).unwrap());
        assert_eq!(
            r(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795258140,"19.999999999999982"]}]}}"#
            ),
            Ok(Reading::Value(19.999999999999982))
        );
        assert_eq!(
            r(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#),
            Ok(Reading::NoData)
        );
        assert_eq!(
            r(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#
            ),
            Ok(Reading::NoTraffic)
        );
        assert_eq!(
            r(
                r#"{"status":"success","data":{"resultType":"scalar","result":[1795258140,"+Inf"]}}"#
            ),
            Ok(Reading::Value(f64::INFINITY))
        );
        assert_eq!(
            r(
                r#"{"status":"success","data":{"resultType":"scalar","result":[1795258140,"1e-07"]}}"#
            ),
            Ok(Reading::Value(1e-7))
        );
        assert!(
            r(r#"{"status":"success","data":{"resultType":"string","result":[1,"hello"]}}"#)
                .is_err()
        );
        let two = r(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}"#,
        );
        assert!(matches!(two, Err(QueryError::Result(m)) if m.contains("2 series")));
    }

    #[test]
    fn garbage_never_panics() {
        let bodies: &[&[u8]] = &[
            b"",
            b"null",
            b"[]",
            b"<html>502 Bad Gateway</html>",
            b"{\"status\":\"success\"}",
            b"{\"status\":\"success\",\"data\":null}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[1,2]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1]}]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[\"x\",\"1\"]}]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,1]}]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":\"x\"}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":[[1e300,\"1\"],[-5,\"2\"],[1,\"bad\"]]}]}}",
            b"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":null}]}}",
            b"{\"status\":\"error\"}",
            b"{\"status\":7}",
            b"\xff\xfe\x00",
        ];
        for status in [200u16, 400, 422, 500, 503] {
            for body in bodies {
                if let Ok(d) = parse_envelope(status, body, "http://p") {
                    let _ = instant_reading(&d);
                    let _ = range_readings(&d, 0.0, 600.0, Duration::from_secs(60));
                }
            }
        }
    }

    #[test]
    fn errors_read_well() {
        let e = parse_envelope(
            400,
            br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:10: parse error: unclosed left parenthesis"}"#,
            "http://p",
        )
        .unwrap_err();
        assert!(!e.is_unreachable());
        assert_eq!(
            e.to_string(),
            "Prometheus rejected the query (bad_data): invalid parameter \"query\": 1:10: parse error: unclosed left parenthesis"
        );
        for (kind, says) in [
            ("execution", "failed in Prometheus"),
            ("timeout", "timed out"),
            ("canceled", "canceled"),
            ("unavailable", "unavailable"),
            ("internal", "internally"),
            ("weird", "Prometheus error (weird)"),
        ] {
            let body = format!(r#"{{"status":"error","errorType":"{kind}","error":"boom"}}"#);
            let e = parse_envelope(503, body.as_bytes(), "http://p").unwrap_err();
            let text = e.to_string();
            assert!(text.contains(says) && text.ends_with("boom"), "{text}");
            assert_eq!(e.is_unreachable(), kind == "unavailable");
        }
        let e =
            parse_envelope(502, b"<html><body>Bad Gateway</body></html>", "http://p").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Prometheus at http://p: HTTP 502 Bad Gateway: <html><body>Bad Gateway</body></html>"
        );
        assert!(e.is_unreachable());
        let e = parse_envelope(401, b"", "http://p").unwrap_err();
        assert!(e.to_string().contains("401 Unauthorized"), "{e}");
        let e = parse_envelope(200, b"<html>grafana</html>", "http://p").unwrap_err();
        assert!(e.to_string().contains("not Prometheus API JSON"), "{e}");
    }

    #[test]
    fn warnings_and_infos_are_kept() {
        let d = data(r#"{"status":"success","warnings":["PromQL warning: x"],"infos":["PromQL info: y"],"data":{"resultType":"vector","result":[]}}"#).unwrap();
        assert_eq!(d.warnings, ["PromQL warning: x", "PromQL info: y"]);
    }

    #[test]
    fn range_points_are_aligned() {
        let d = data(r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1200,"0.5"],[1320,"NaN"]]}]}}"#).unwrap();
        let points = range_readings(&d, 1080.0, 1320.0, Duration::from_secs(60)).unwrap();
        assert_eq!(
            points,
            vec![
                (1080.0, Reading::NoData),
                (1140.0, Reading::NoData),
                (1200.0, Reading::Value(0.5)),
                (1260.0, Reading::NoData),
                (1320.0, Reading::NoTraffic),
            ]
        );
    }

    #[test]
    fn form_and_backoff() {
        assert_eq!(
            form_encode(&[("query", "sum(rate(x{a=\"b c\"}[5m])) / 2 + 1".into())]),
            "query=sum%28rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29%29+%2F+2+%2B+1"
        );
        let r = Duration::from_secs(30);
        let d: Vec<u64> = (1..=8).map(|n| retry_delay(n, r).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(
            retry_delay(3, Duration::from_millis(200)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn answers_quoted_in_reasons_are_sanitised() {
        let garbage = "\u{1b}]0;pwned\u{7}<html>not the API</html>\u{1b}[2J{\"broken\":";
        let reason = parse_envelope(200, garbage.as_bytes(), "http://p")
            .unwrap_err()
            .to_string();
        assert_eq!(
            reason,
            "Prometheus at http://p: the answer is not Prometheus API JSON (is the url right?): \
             <html>not the API</html>{\"broken\":"
        );
        let api = r#"{"status":"error","errorType":"bad_data\u001b[31m","error":"bad\u001b]0;x\u0007 query"}"#;
        let reason = parse_envelope(400, api.as_bytes(), "http://p")
            .unwrap_err()
            .to_string();
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.contains("bad query"), "{reason}");
    }
}
