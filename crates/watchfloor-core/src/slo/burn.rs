//! Burn-rate maths for SLOs: pure functions, no I/O.
//!
//! Definitions (Google SRE Workbook ch. 5; sloth and pyrra compute the same):
//! - error budget `B = 1 - objective`;
//! - burn rate over a window `b_w = e_w / B`, where `e_w` is the error ratio over the window;
//! - an alert pair (long window, short window, factor) fires when both windows burn faster than
//!   the factor; the factor for "X% of the budget in window w" is `X × P / w`, so the default
//!   pairs (page 14.4 1h/5m, page 6 6h/30m, ticket 3 1d/2h, ticket 1 3d/6h, stated for 30 days)
//!   scale with the SLO period;
//! - budget remaining `r = 1 - b_P` over the period (negative when overspent);
//! - time until the remaining budget is gone at the current burn: `r × P / b_now`.
//!
//! No traffic (a NaN ratio, 0/0) and no data (an empty result) stay distinct states all the way
//! through: they never become 0 and they never make an alert fire or clear.

use std::time::Duration;

use super::{AlertState, Reading, SloState};
use crate::config::{Severity, SloConfig};

/// Relative tolerance when comparing a burn rate with an alert factor: thresholds and burn rates
/// computed in floating point carry artefacts (`0.9990000000000001`), so a burn rate equal to
/// the factor up to rounding does not fire.
pub const FACTOR_TOLERANCE: f64 = 1e-9;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The default multiwindow pairs as `(severity, share of the budget consumed, long, short)`
/// (Workbook table 5-8 plus its 1d/2h ticket tier; sloth's `google-30d.yaml`).
const DEFAULT_PAIRS: [(Severity, f64, u64, u64); 4] = [
    (Severity::Page, 0.02, HOUR, 5 * MINUTE),
    (Severity::Page, 0.05, 6 * HOUR, 30 * MINUTE),
    (Severity::Ticket, 0.10, DAY, 2 * HOUR),
    (Severity::Ticket, 0.10, 3 * DAY, 6 * HOUR),
];

/// The window of the "current" burn rate (time to exhaustion, sparkline).
pub const CURRENT_WINDOW: Duration = Duration::from_secs(HOUR);

/// One multiwindow alert pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertPair {
    pub severity: Severity,
    pub factor: f64,
    pub long: Duration,
    pub short: Duration,
}

/// The burn-rate threshold for consuming `budget_share` (0.02 = 2%) of the budget within
/// `window`, for an SLO over `period`: `X × P / w`.
pub fn threshold_factor(budget_share: f64, period: Duration, window: Duration) -> f64 {
    budget_share * period.as_secs_f64() / window.as_secs_f64()
}

/// The four default pairs with factors for `period` (14.4, 6, 3, 1 for 30 days).
pub fn default_alert_pairs(period: Duration) -> Vec<AlertPair> {
    DEFAULT_PAIRS
        .iter()
        .map(|&(severity, share, long, short)| AlertPair {
            severity,
            factor: threshold_factor(share, period, Duration::from_secs(long)),
            long: Duration::from_secs(long),
            short: Duration::from_secs(short),
        })
        .collect()
}

/// The SLO's pairs: its `alerts` when configured, else the defaults for its period.
pub fn alert_pairs(slo: &SloConfig) -> Vec<AlertPair> {
    match &slo.alerts {
        Some(alerts) => alerts
            .iter()
            .map(|a| AlertPair {
                severity: a.severity,
                factor: a.factor,
                long: a.long,
                short: a.short,
            })
            .collect(),
        None => default_alert_pairs(slo.period),
    }
}

/// The burn-rate windows to query, shortest first: every window of the pairs plus the 1h
/// current window (5m, 30m, 1h, 2h, 6h, 1d, 3d for the defaults).
pub fn burn_windows(pairs: &[AlertPair]) -> Vec<Duration> {
    let mut windows: Vec<Duration> = pairs
        .iter()
        .flat_map(|p| [p.short, p.long])
        .chain([CURRENT_WINDOW])
        .filter(|w| !w.is_zero())
        .collect();
    windows.sort();
    windows.dedup();
    windows
}

/// `1 - objective`.
pub fn error_budget(objective: f64) -> f64 {
    1.0 - objective
}

/// A reading from a Prometheus sample value: NaN (0/0) is no traffic.
pub fn reading(value: f64) -> Reading {
    if value.is_nan() {
        Reading::NoTraffic
    } else {
        Reading::Value(value)
    }
}

/// Burn rate from an error ratio: `e / (1 - objective)`.
pub fn burn_rate(error_ratio: Reading, objective: f64) -> Reading {
    match error_ratio {
        Reading::Value(e) => reading(e / error_budget(objective)),
        other => other,
    }
}

/// True when `burn` exceeds `factor` beyond rounding.
pub fn exceeds(burn: f64, factor: f64) -> bool {
    burn > factor + factor.abs() * FACTOR_TOLERANCE
}

/// An alert pair's state from the burn rates of its windows: firing when both exceed the
/// factor; `None` when either window has no data or no traffic.
pub fn pair_firing(long: Reading, short: Reading, factor: f64) -> Option<bool> {
    match (long, short) {
        (Reading::Value(l), Reading::Value(s)) => Some(exceeds(l, factor) && exceeds(s, factor)),
        _ => None,
    }
}

/// Evaluates every pair against the burn rates per window.
pub fn alert_states(pairs: &[AlertPair], burn: &[(Duration, Reading)]) -> Vec<AlertState> {
    pairs
        .iter()
        .map(|p| AlertState {
            severity: p.severity,
            factor: p.factor,
            long: p.long,
            short: p.short,
            firing: pair_firing(
                window_reading(burn, p.long),
                window_reading(burn, p.short),
                p.factor,
            ),
        })
        .collect()
}

/// The reading of `window` in `burn`; no data when it was not queried.
pub fn window_reading(burn: &[(Duration, Reading)], window: Duration) -> Reading {
    burn.iter()
        .find(|(w, _)| *w == window)
        .map_or(Reading::NoData, |(_, r)| *r)
}

/// Budget remaining over the period, `1 - b_P`; may be negative.
pub fn budget_remaining(period_burn: Reading) -> Reading {
    match period_burn {
        Reading::Value(b) => Reading::Value(1.0 - b),
        other => other,
    }
}

/// Availability (good / total) over the period from its error ratio, `1 - e_P`.
pub fn availability(period_error_ratio: Reading) -> Reading {
    match period_error_ratio {
        Reading::Value(e) => Reading::Value(1.0 - e),
        other => other,
    }
}

/// Time until the remaining budget is gone at the current burn, `r × P / b_now`.
/// Zero when the budget is already spent; `None` when nothing burns (or nothing is known).
pub fn exhaustion(remaining: Reading, current_burn: Reading, period: Duration) -> Option<Duration> {
    let (Reading::Value(r), Reading::Value(b)) = (remaining, current_burn) else {
        return None;
    };
    if !r.is_finite() || b.is_nan() {
        return None;
    }
    if r <= 0.0 {
        return Some(Duration::ZERO);
    }
    if b <= 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(r * period.as_secs_f64() / b).ok()
}

/// Time for a burn rate to consume a whole budget, `P / b` (pyrra's "exhaustion").
pub fn full_budget_exhaustion(burn: Reading, period: Duration) -> Option<Duration> {
    match burn {
        Reading::Value(b) if b > 0.0 => Duration::try_from_secs_f64(period.as_secs_f64() / b).ok(),
        _ => None,
    }
}

/// The SLO's overall state: `Page` if any page pair fires, else `Ticket` if any ticket pair
/// fires, else `Ok` when every pair could be decided. A pair that cannot be decided makes the
/// state `NoData` (a window without data, e.g. the series went stale) or `NoTraffic` (0/0) —
/// an SLO nobody can judge is never reported as fine. Without pairs, the windows decide.
pub fn overall_state(alerts: &[AlertState], burn: &[(Duration, Reading)]) -> SloState {
    let fires = |severity| {
        alerts
            .iter()
            .any(|a| a.severity == severity && a.firing == Some(true))
    };
    if fires(Severity::Page) {
        return SloState::Page;
    }
    if fires(Severity::Ticket) {
        return SloState::Ticket;
    }
    let undecided: Vec<Reading> = if alerts.is_empty() {
        burn.iter().map(|(_, r)| *r).collect()
    } else {
        alerts
            .iter()
            .filter(|a| a.firing.is_none())
            .flat_map(|a| [window_reading(burn, a.long), window_reading(burn, a.short)])
            .collect()
    };
    if undecided.contains(&Reading::NoData) || (alerts.is_empty() && burn.is_empty()) {
        SloState::NoData
    } else if undecided.contains(&Reading::NoTraffic) {
        SloState::NoTraffic
    } else {
        SloState::Ok
    }
}

/// A duration in PromQL syntax with the largest exact unit: `5m`, `1h`, `1d`, `30d`, `90s`.
pub fn prom_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

// The `{{window}}` placeholder is part of the config's schema (load checks for it), so its
// rules live there and are re-exported here where the queries are built.
pub use crate::config::window::{has_window, substitute};

/// The SLO's configured PromQL templates, for checks and display.
pub fn templates(slo: &SloConfig) -> Vec<&str> {
    [&slo.errors, &slo.good, &slo.total, &slo.ratio]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// The PromQL of the SLO's error ratio over `window` (e.g. `5m`, `30d`):
/// - `errors` + `total`: `(errors or vector(0)) / (total)` — a missing error series (no error
///   ever counted) means zero errors, while a missing total still gives no data;
/// - `good` + `total`: `1 - ((good) / (total))`;
/// - `ratio`: the template itself, an error ratio.
///
/// A 0/0 ratio comes back as NaN (no traffic) in every form.
pub fn error_ratio_query(slo: &SloConfig, window: &str) -> Result<String, String> {
    let t = |s: &String| substitute(s.trim(), window);
    match (&slo.errors, &slo.good, &slo.total, &slo.ratio) {
        (Some(errors), None, Some(total), None) => {
            Ok(format!("(({}) or vector(0)) / ({})", t(errors), t(total)))
        }
        (None, Some(good), Some(total), None) => {
            Ok(format!("1 - (({}) / ({}))", t(good), t(total)))
        }
        (None, None, None, Some(ratio)) => Ok(t(ratio)),
        _ => Err(format!(
            "SLO {:?} needs exactly one of `errors` + `total`, `good` + `total`, or `ratio`",
            slo.name
        )),
    }
}

/// Parses a Prometheus sample value (always a JSON string): decimals, exponents (`1e-07`),
/// `NaN`, `+Inf`, `-Inf`. `None` for anything else.
pub fn parse_value(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => {
            // Rust accepts "inf"/"infinity"/"nan" in any case; Prometheus never sends those.
            if other.is_empty()
                || !other
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                return None;
            }
            other.parse::<f64>().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        if a == b {
            return true;
        }
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
    }

    fn value(r: Reading) -> f64 {
        match r {
            Reading::Value(v) => v,
            other => panic!("expected a value, got {other:?}"),
        }
    }

    const D30: Duration = Duration::from_secs(30 * DAY);

    fn slo(text: &str) -> SloConfig {
        let config = crate::config::parse(
            std::path::Path::new("t.toml"),
            &format!(
                "[[targets]]\nname = \"a\"\n[targets.prometheus]\nurl = \"http://p:9090\"\n[[targets.slo]]\nname = \"s\"\nobjective = 0.999\n{text}"
            ),
            &crate::config::ClientParsers::UNCHECKED,
        )
        .expect("config parses");
        config.targets[0].slo[0].clone()
    }

    #[test]
    fn default_pairs_on_30_days_match_the_workbook() {
        let pairs = default_alert_pairs(D30);
        let got: Vec<(Severity, u64, u64)> = pairs
            .iter()
            .map(|p| (p.severity, p.long.as_secs(), p.short.as_secs()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Severity::Page, 3600, 300),
                (Severity::Page, 6 * 3600, 1800),
                (Severity::Ticket, DAY, 2 * 3600),
                (Severity::Ticket, 3 * DAY, 6 * 3600),
            ]
        );
        for (pair, want) in pairs.iter().zip([14.4, 6.0, 3.0, 1.0]) {
            assert!(close(pair.factor, want), "{} vs {want}", pair.factor);
        }
    }

    #[test]
    fn factors_scale_with_the_period() {
        let pairs = default_alert_pairs(Duration::from_secs(28 * DAY));
        for (pair, want) in pairs.iter().zip([13.44, 5.6, 2.8, 28.0 / 30.0]) {
            assert!(close(pair.factor, want), "{} vs {want}", pair.factor);
        }
        let pairs = default_alert_pairs(Duration::from_secs(7 * DAY));
        for (pair, want) in pairs.iter().zip([3.36, 1.4, 0.7, 7.0 / 30.0]) {
            assert!(close(pair.factor, want), "{} vs {want}", pair.factor);
        }
        // The reference's table: X × P / w.
        assert!(close(
            threshold_factor(0.02, D30, Duration::from_secs(3600)),
            14.4
        ));
        assert!(close(
            threshold_factor(0.10, D30, Duration::from_secs(72 * 3600)),
            1.0
        ));
    }

    #[test]
    fn windows_are_the_seven_burn_windows() {
        let labels: Vec<String> = burn_windows(&default_alert_pairs(D30))
            .into_iter()
            .map(prom_duration)
            .collect();
        assert_eq!(labels, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
        // Custom pairs still get the 1h current window.
        let custom = [AlertPair {
            severity: Severity::Page,
            factor: 10.0,
            long: Duration::from_secs(2 * 3600),
            short: Duration::from_secs(600),
        }];
        let labels: Vec<String> = burn_windows(&custom)
            .into_iter()
            .map(prom_duration)
            .collect();
        assert_eq!(labels, ["10m", "1h", "2h"]);
    }

    #[test]
    fn burn_rate_from_error_ratio() {
        assert!(close(value(burn_rate(Reading::Value(0.02), 0.999)), 20.0));
        assert!(close(value(burn_rate(Reading::Value(0.0005), 0.999)), 0.5));
        assert!(close(value(burn_rate(Reading::Value(0.001), 0.999)), 1.0));
        assert!(close(value(burn_rate(Reading::Value(0.01), 0.99)), 1.0));
        assert_eq!(value(burn_rate(Reading::Value(0.0), 0.999)), 0.0);
        assert_eq!(
            burn_rate(Reading::NoTraffic, 0.999),
            Reading::NoTraffic,
            "no traffic is never 0"
        );
        assert_eq!(burn_rate(Reading::NoData, 0.999), Reading::NoData);
        assert_eq!(reading(f64::NAN), Reading::NoTraffic);
        assert_eq!(
            burn_rate(Reading::Value(f64::NAN), 0.999),
            Reading::NoTraffic
        );
        assert_eq!(
            value(burn_rate(Reading::Value(f64::INFINITY), 0.999)),
            f64::INFINITY
        );
        // Budget consumed in w at burn b: b × w / P; 14.4 for 1h on 30d is 2%.
        assert!(close(14.4 * 3600.0 / D30.as_secs_f64(), 0.02));
    }

    #[test]
    fn pair_state_needs_both_windows() {
        let v = Reading::Value;
        assert_eq!(pair_firing(v(20.0), v(20.0), 14.4), Some(true));
        assert_eq!(pair_firing(v(20.0), v(14.0), 14.4), Some(false));
        assert_eq!(pair_firing(v(1.0), v(20.0), 14.4), Some(false));
        assert_eq!(
            pair_firing(v(14.4), v(14.4), 14.4),
            Some(false),
            "not above"
        );
        // A burn equal to the factor up to float artefacts does not fire.
        assert_eq!(
            pair_firing(v(14.400000000000002), v(20.0), 14.4),
            Some(false)
        );
        assert_eq!(pair_firing(v(14.4001), v(14.4001), 14.4), Some(true));
        assert_eq!(pair_firing(Reading::NoData, v(20.0), 14.4), None);
        assert_eq!(pair_firing(v(20.0), Reading::NoTraffic, 14.4), None);
        assert_eq!(pair_firing(Reading::NoTraffic, Reading::NoData, 1.0), None);
    }

    fn spike_burn() -> Vec<(Duration, Reading)> {
        // The reference's known answers (§7.2) for the 7h data set ending in a 1h incident.
        let w = |s: u64| Duration::from_secs(s);
        let v = Reading::Value;
        vec![
            (w(300), v(20.0)),
            (w(1800), v(20.0)),
            (w(3600), v(20.0)),
            (w(7200), v(10.25)),
            (w(6 * 3600), v(3.75)),
            (w(DAY), v(1380.0 / 420.0)),
            (w(3 * DAY), v(1380.0 / 420.0)),
        ]
    }

    #[test]
    fn alert_states_and_overall_state() {
        let pairs = default_alert_pairs(D30);
        let burn = spike_burn();
        let alerts = alert_states(&pairs, &burn);
        let firing: Vec<Option<bool>> = alerts.iter().map(|a| a.firing).collect();
        assert_eq!(firing, [Some(true), Some(false), Some(true), Some(true)]);
        assert_eq!(overall_state(&alerts, &burn), SloState::Page);

        // Only tickets firing.
        let mut burn2 = burn.clone();
        burn2[0].1 = Reading::Value(2.0); // 5m
        let alerts2 = alert_states(&pairs, &burn2);
        assert_eq!(alerts2[0].firing, Some(false));
        assert_eq!(overall_state(&alerts2, &burn2), SloState::Ticket);

        // Steady 0.5 everywhere.
        let steady: Vec<_> = burn
            .iter()
            .map(|(w, _)| (*w, Reading::Value(0.5)))
            .collect();
        let alerts3 = alert_states(&pairs, &steady);
        assert!(alerts3.iter().all(|a| a.firing == Some(false)));
        assert_eq!(overall_state(&alerts3, &steady), SloState::Ok);

        // Traffic stopped 2h ago: short windows are 0/0; the state says so, not "ok".
        let mut idle = steady.clone();
        for entry in idle.iter_mut().take(4) {
            entry.1 = Reading::NoTraffic;
        }
        let alerts4 = alert_states(&pairs, &idle);
        let firing: Vec<_> = alerts4.iter().map(|a| a.firing).collect();
        assert_eq!(firing, [None, None, None, Some(false)]);
        assert_eq!(overall_state(&alerts4, &idle), SloState::NoTraffic);

        // A stale series: short windows empty.
        let mut stale = idle.clone();
        stale[0].1 = Reading::NoData;
        assert_eq!(
            overall_state(&alert_states(&pairs, &stale), &stale),
            SloState::NoData
        );
        // Missing entirely.
        let missing: Vec<_> = burn.iter().map(|(w, _)| (*w, Reading::NoData)).collect();
        let alerts5 = alert_states(&pairs, &missing);
        assert!(alerts5.iter().all(|a| a.firing.is_none()));
        assert_eq!(overall_state(&alerts5, &missing), SloState::NoData);

        // A firing page wins over undecided pairs.
        let mut partial = burn.clone();
        partial[6].1 = Reading::NoData;
        assert_eq!(
            overall_state(&alert_states(&pairs, &partial), &partial),
            SloState::Page
        );

        // Without pairs the windows decide.
        assert_eq!(overall_state(&[], &steady), SloState::Ok);
        assert_eq!(overall_state(&[], &idle), SloState::NoTraffic);
        assert_eq!(overall_state(&[], &[]), SloState::NoData);
    }

    #[test]
    fn budget_availability_exhaustion() {
        // e_P = 0.0005 on 99.9% → r = 50%.
        let b_p = burn_rate(Reading::Value(0.0005), 0.999);
        assert!(close(value(budget_remaining(b_p)), 0.5));
        assert!(close(value(availability(Reading::Value(0.0005))), 0.9995));
        // Overspent budgets go negative.
        assert!(close(
            value(budget_remaining(Reading::Value(1380.0 / 420.0))),
            1.0 - 1380.0 / 420.0
        ));
        assert_eq!(budget_remaining(Reading::NoTraffic), Reading::NoTraffic);
        assert_eq!(availability(Reading::NoData), Reading::NoData);

        // r = 0.5, b = 14.4 → 25h; P / 14.4 = 50h.
        let e = exhaustion(Reading::Value(0.5), Reading::Value(14.4), D30).unwrap();
        assert!(close(e.as_secs_f64(), 25.0 * 3600.0));
        let full = full_budget_exhaustion(Reading::Value(14.4), D30).unwrap();
        assert!(close(full.as_secs_f64(), 50.0 * 3600.0));
        let e = exhaustion(Reading::Value(0.5), Reading::Value(0.5), D30).unwrap();
        assert!(close(e.as_secs_f64(), 720.0 * 3600.0));
        assert_eq!(
            exhaustion(Reading::Value(-0.2), Reading::Value(3.0), D30),
            Some(Duration::ZERO)
        );
        assert_eq!(
            exhaustion(Reading::Value(0.5), Reading::Value(0.0), D30),
            None
        );
        assert_eq!(
            exhaustion(Reading::Value(0.5), Reading::NoTraffic, D30),
            None
        );
        assert_eq!(exhaustion(Reading::NoData, Reading::Value(3.0), D30), None);
        assert_eq!(full_budget_exhaustion(Reading::Value(0.0), D30), None);
    }

    #[test]
    fn durations_in_promql() {
        let s = |secs| prom_duration(Duration::from_secs(secs));
        assert_eq!(s(300), "5m");
        assert_eq!(s(1800), "30m");
        assert_eq!(s(3600), "1h");
        assert_eq!(s(7200), "2h");
        assert_eq!(s(6 * 3600), "6h");
        assert_eq!(s(DAY), "1d");
        assert_eq!(s(3 * DAY), "3d");
        assert_eq!(s(30 * DAY), "30d");
        assert_eq!(s(28 * DAY), "28d");
        assert_eq!(s(90), "90s");
        assert_eq!(s(5400), "90m");
        assert_eq!(s(0), "0s");
        assert_eq!(prom_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn queries_for_each_form() {
        let errors = slo(
            "errors = 'sum(rate(http_requests_total{code=~\"5..\"}[{{window}}]))'\ntotal = 'sum(rate(http_requests_total[{{window}}]))'",
        );
        assert_eq!(
            error_ratio_query(&errors, "5m").unwrap(),
            "((sum(rate(http_requests_total{code=~\"5..\"}[5m]))) or vector(0)) / (sum(rate(http_requests_total[5m])))"
        );
        let good = slo(
            "good = 'sum(rate(lat_bucket{le=\"0.5\"}[{{window}}]))'\ntotal = 'sum(rate(lat_count[{{ window }}]))'",
        );
        assert_eq!(
            error_ratio_query(&good, "30d").unwrap(),
            "1 - ((sum(rate(lat_bucket{le=\"0.5\"}[30d]))) / (sum(rate(lat_count[30d]))))"
        );
        let ratio = slo("ratio = 'slo:sli_error:ratio_rate{{window}}{slo=\"a\"}'");
        assert_eq!(
            error_ratio_query(&ratio, "3d").unwrap(),
            "slo:sli_error:ratio_rate3d{slo=\"a\"}"
        );
        assert_eq!(templates(&errors).len(), 2);
        assert!(has_window(templates(&ratio)[0]));
        assert!(!has_window("up"));
        let mut broken = ratio.clone();
        broken.good = Some("x".into());
        assert!(error_ratio_query(&broken, "5m").is_err());
    }

    #[test]
    fn custom_pairs_replace_the_defaults() {
        let s = slo(
            "ratio = 'r[{{window}}]'\nperiod = '7d'\n[[targets.slo.alerts]]\nseverity = 'page'\nfactor = 10.0\nlong = '1h'\nshort = '5m'",
        );
        let pairs = alert_pairs(&s);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].factor, 10.0);
        let s = slo("ratio = 'r[{{window}}]'\nperiod = '28d'");
        assert!(close(alert_pairs(&s)[0].factor, 13.44));
    }

    #[test]
    fn values_from_prometheus_strings() {
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value("1e-07"), Some(1e-7));
        assert_eq!(parse_value("1e+21"), Some(1e21));
        assert_eq!(parse_value("19.999999999999982"), Some(19.999999999999982));
        assert_eq!(
            parse_value("0.0004999999999999999"),
            Some(0.0004999999999999999)
        );
        assert_eq!(parse_value("-3"), Some(-3.0));
        assert_eq!(parse_value("0"), Some(0.0));
        for bad in [
            "", "abc", "inf", "nan", "infinity", "1,5", "0x10", "--1", "1e",
        ] {
            assert_eq!(parse_value(bad), None, "{bad:?}");
        }
    }
}
