//! SLOs and health endpoints: what the SLO pane shows, and the pure maths behind it.
//! `burn` holds the burn-rate maths; `sources::prometheus` and `sources::health` do the I/O.

pub mod burn;

use std::time::{Duration, SystemTime};

/// One Prometheus reading. No traffic (NaN from 0/0) and no data (an empty result) are different
/// states and never shown as 0.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Reading {
    Value(f64),
    NoTraffic,
    NoData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SloState {
    /// Burning fast enough to page.
    Page,
    Ticket,
    Ok,
    NoTraffic,
    NoData,
    /// The queries failed.
    Error,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertState {
    pub severity: crate::config::Severity,
    pub factor: f64,
    #[serde(with = "humantime_serde")]
    pub long: Duration,
    #[serde(with = "humantime_serde")]
    pub short: Duration,
    /// Both windows above the factor; `None` when a window has no data or no traffic.
    pub firing: Option<bool>,
}

/// One evaluated SLO.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SloResult {
    pub name: String,
    pub objective: f64,
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// Burn rate per window (`5m`, `1h`, ...), in window order.
    pub burn: Vec<(String, Reading)>,
    pub alerts: Vec<AlertState>,
    /// `1 - burn over the period`; may be negative.
    pub budget_remaining: Reading,
    /// Good / total over the period.
    pub availability: Reading,
    /// Time until the remaining budget is gone at the current (1h) burn.
    #[serde(skip)]
    pub exhaustion: Option<Duration>,
    pub state: SloState,
    /// 1h burn over the last 6 hours (query_range), oldest first, for the sparkline.
    #[serde(skip)]
    pub sparkline: Vec<Reading>,
    /// Short- and long-window burn over the last 24 hours per alert pair, for the detail chart:
    /// `(window label, points (unix seconds, reading))`.
    #[serde(skip)]
    pub history: Vec<(String, Vec<(f64, Reading)>)>,
    /// The exact PromQL sent, for the detail view.
    #[serde(skip)]
    pub queries: Vec<(String, String)>,
    /// Prometheus API warnings.
    pub warnings: Vec<String>,
    /// Why the SLO could not be evaluated, when it could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Two or more consecutive failures.
    Critical,
    /// One failure, or the body says degraded.
    Down,
    Degraded,
    Ok,
    /// Not checked yet.
    Unknown,
}

/// One entry of a `/healthz/detailed` body's `checks`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthCheck {
    pub name: String,
    pub status: String,
    pub response_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HealthResult {
    pub name: String,
    pub url: String,
    pub status: HealthStatus,
    pub http_status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// The body's overall `status`, when it is JSON.
    pub body_status: Option<String>,
    pub checks: Vec<HealthCheck>,
    pub error: Option<String>,
    pub consecutive_failures: u32,
    #[serde(skip)]
    pub checked_at: Option<SystemTime>,
}
