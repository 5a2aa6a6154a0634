//! The SLO pane: one row per SLO (worst first) with availability, budget gauge, burn rates, alert
//! badges, time to exhaustion and a 6 h sparkline of the 1 h burn; health endpoints below; a
//! detail view charting short- and long-window burn against each alert threshold over 24 h.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Table, TableState, Wrap};

use super::columns::{Spec, fit_table};
use super::theme::Theme;
use super::{scrolled, waiting_message};
use crate::app::pane::PaneId;
use crate::app::status::Freshness;
use crate::app::{Screen, SloRow};
use crate::config::Severity;
use crate::event::SourceOrigin;
use crate::slo::{HealthResult, HealthStatus, Reading, SloResult, SloState};
use crate::text::format_age;
use crate::text::sanitize;

pub fn render(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let rows = screen.slo_rows();
    let view = &screen.view.panes[PaneId::Slo.index()];
    if view.detail_open {
        match rows.get(view.selected) {
            Some(SloRow::Slo(slo)) => return render_detail(frame, area, slo, screen, theme),
            Some(SloRow::Health(health)) => {
                return render_health_detail(frame, area, health, screen, theme);
            }
            None => {}
        }
    }
    if rows.is_empty() {
        let message = if view.filter.is_some() {
            "no SLOs match the filter (Esc clears it)".to_string()
        } else {
            waiting_message(screen, PaneId::Slo, "SLO results")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let slos: Vec<&SloResult> = rows
        .iter()
        .filter_map(|r| {
            if let SloRow::Slo(s) = r {
                Some(*s)
            } else {
                None
            }
        })
        .collect();
    let endpoints: Vec<&HealthResult> = rows
        .iter()
        .filter_map(|r| {
            if let SloRow::Health(h) = r {
                Some(*h)
            } else {
                None
            }
        })
        .collect();
    // SLOs on top, endpoints below, each with its own header; one selection runs through both.
    let endpoint_height = if endpoints.is_empty() {
        0
    } else {
        (endpoints.len() as u16 + 1).min(area.height / 2)
    };
    let [slo_area, endpoint_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(endpoint_height)]).areas(area);
    let focused = screen.view.focus == PaneId::Slo;
    let highlight = if focused {
        theme.selected
    } else {
        Style::default()
    };
    // Rows of a source that is not live are greyed and say how old they are: an `ok` under a
    // title that says error would be a lie.
    let prometheus_age = not_live_age(screen, |o| o == SourceOrigin::Prometheus);
    if !slos.is_empty() {
        let height = usize::from(slo_area.height.saturating_sub(1));
        let selected = (view.selected < slos.len()).then_some(view.selected);
        let (offset, in_window) = scrolled(selected.unwrap_or(0), height);
        let rows = slos
            .iter()
            .skip(offset)
            .take(height)
            .map(|slo| greyed(slo_row(slo, theme), prometheus_age.as_deref(), 5, theme))
            .collect();
        let fitted = fit_table(&SLO_COLUMNS, rows, slo_area.width, theme.title);
        let table = Table::new(fitted.rows, fitted.widths)
            .header(fitted.header)
            .row_highlight_style(highlight)
            .column_spacing(1);
        let mut state = TableState::default().with_selected(selected.map(|_| in_window));
        frame.render_stateful_widget(table, slo_area, &mut state);
    }
    if !endpoints.is_empty() {
        let height = usize::from(endpoint_area.height.saturating_sub(1));
        let selected = view.selected.checked_sub(slos.len());
        let (offset, in_window) = scrolled(selected.unwrap_or(0), height);
        let rows = endpoints
            .iter()
            .skip(offset)
            .take(height)
            .map(|h| {
                // The endpoint's own source: results are kept by `[[targets.health]]` index.
                let index = screen
                    .shown()
                    .slo
                    .health
                    .iter()
                    .find(|(_, r)| std::ptr::eq(*r, *h))
                    .map(|(i, _)| *i);
                let age = not_live_age(screen, |o| Some(o) == index.map(SourceOrigin::Health));
                greyed(health_row(h, screen, theme), age.as_deref(), 1, theme)
            })
            .collect();
        let fitted = fit_table(&HEALTH_COLUMNS, rows, endpoint_area.width, theme.title);
        let table = Table::new(fitted.rows, fitted.widths)
            .header(fitted.header)
            .row_highlight_style(highlight)
            .column_spacing(1);
        let mut state = TableState::default().with_selected(selected.map(|_| in_window));
        frame.render_stateful_widget(table, endpoint_area, &mut state);
    }
}

/// The SLO table: name, budget, burn and alert stay longest; objective, availability, time to
/// exhaustion and the sparkline come as the pane widens.
const SLO_COLUMNS: [Spec; 8] = [
    Spec::name("SLO", 12),
    Spec::text("OBJ", 6, 7, 4),
    Spec::text("AVAIL", 7, 10, 3),
    Spec::text("BUDGET", 12, 12, 1),
    Spec::text("BURN 5m / 1h / 6h", 12, 40, 0),
    Spec::text("ALERT", 4, 24, 0),
    Spec::text("EXHAUST", 5, 9, 5),
    Spec::text("1h BURN 6h", 14, 14, 6),
];

const HEALTH_COLUMNS: [Spec; 6] = [
    Spec::name("ENDPOINT", 10),
    Spec::text("STATUS", 6, 20, 0),
    Spec::text("HTTP", 4, 4, 1),
    Spec::text("LATENCY", 6, 8, 3),
    Spec::text("CHECKS", 10, 80, 4),
    Spec::text("CHECKED", 6, 9, 2),
];

/// How old the data of the matching source is, when that source is not live (stale, in error,
/// not connected); None while live or before any data.
fn not_live_age(screen: &Screen<'_>, origin: impl Fn(SourceOrigin) -> bool) -> Option<String> {
    let source = screen.visible_sources().iter().find(|s| origin(s.origin))?;
    match source.freshness(screen.view.now) {
        Freshness::Live | Freshness::Connecting | Freshness::NotConfigured => None,
        _ => Some(source.last_ok.map_or_else(
            || "no data".to_string(),
            |at| {
                format!(
                    "{} old",
                    format_age(screen.view.now.duration_since(at).unwrap_or_default())
                )
            },
        )),
    }
}

/// A row of a source that is not live: every cell grey, its state cell saying how old it is.
fn greyed(
    mut row: Vec<(String, Style)>,
    age: Option<&str>,
    state_cell: usize,
    theme: &Theme,
) -> Vec<(String, Style)> {
    if let Some(age) = age {
        for (i, (text, style)) in row.iter_mut().enumerate() {
            *style = theme.stale;
            if i == state_cell {
                *text = format!("{text} · {age}");
            }
        }
    }
    row
}

fn reading_text(reading: Reading, format: impl Fn(f64) -> String) -> String {
    match reading {
        Reading::Value(v) if v.is_finite() => format(v),
        Reading::Value(v) if v > 0.0 => "+Inf".into(),
        Reading::Value(_) => "-Inf".into(),
        Reading::NoTraffic => "no traffic".into(),
        Reading::NoData => "no data".into(),
    }
}

pub fn state_style(state: SloState, theme: &Theme) -> Style {
    match state {
        SloState::Page | SloState::Error => theme.crit,
        SloState::Ticket => theme.warn,
        SloState::Ok => theme.ok,
        SloState::NoTraffic | SloState::NoData => theme.stale,
    }
}

fn badge(slo: &SloResult) -> String {
    match slo.state {
        SloState::Page => "PAGE".into(),
        SloState::Ticket => "TICKET".into(),
        SloState::Ok => "ok".into(),
        SloState::NoTraffic => "no traffic".into(),
        SloState::NoData => "no data".into(),
        SloState::Error => "error".into(),
    }
}

/// `▕██████░░░░▏ 62%`: the budget left, red when spent.
fn gauge(reading: Reading) -> String {
    match reading {
        Reading::Value(v) if v.is_finite() => {
            let filled = (v.clamp(0.0, 1.0) * 6.0).round() as usize;
            format!(
                "{}{}{:>5.0}%",
                "█".repeat(filled),
                "░".repeat(6 - filled),
                v * 100.0
            )
        }
        other => reading_text(other, |_| String::new()),
    }
}

fn sparkline(points: &[Reading]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<Option<f64>> = points
        .iter()
        .map(|r| {
            if let Reading::Value(v) = r {
                v.is_finite().then_some(*v)
            } else {
                None
            }
        })
        .collect();
    let max = values
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let step = values.len().div_ceil(14).max(1);
    values
        .chunks(step)
        .map(
            |chunk| match chunk.iter().flatten().copied().reduce(f64::max) {
                Some(v) => BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
                None => ' ',
            },
        )
        .collect()
}

fn burn_of(slo: &SloResult, window: &str) -> Reading {
    slo.burn
        .iter()
        .find(|(w, _)| w == window)
        .map_or(Reading::NoData, |(_, r)| *r)
}

fn slo_row(slo: &SloResult, theme: &Theme) -> Vec<(String, Style)> {
    let style = state_style(slo.state, theme);
    let burns: Vec<String> = ["5m", "1h", "6h"]
        .iter()
        .map(|w| reading_text(burn_of(slo, w), |v| format!("{v:.1}")))
        .collect();
    let burns = burns.join(" / ");
    let budget_style = match slo.budget_remaining {
        Reading::Value(v) if v < 0.0 => theme.crit,
        Reading::Value(v) if v < 0.25 => theme.warn,
        Reading::Value(_) => theme.ok,
        _ => theme.stale,
    };
    vec![
        (sanitize(&slo.name), Style::default()),
        (format!("{:.2}%", slo.objective * 100.0), theme.muted),
        (
            reading_text(slo.availability, |v| format!("{:.3}%", v * 100.0)),
            Style::default(),
        ),
        (gauge(slo.budget_remaining), budget_style),
        // A failed evaluation shows its reason where the burn would be.
        match &slo.error {
            Some(error) => (sanitize(error), theme.crit),
            None => (burns, style),
        },
        (badge(slo), style),
        (slo.exhaustion.map_or_else(|| "-".into(), format_age), style),
        (sparkline(&slo.sparkline), style),
    ]
}

pub fn health_style(status: HealthStatus, theme: &Theme) -> Style {
    match status {
        HealthStatus::Critical | HealthStatus::Down => theme.crit,
        HealthStatus::Degraded => theme.warn,
        HealthStatus::Ok => theme.ok,
        HealthStatus::Unknown => theme.muted,
    }
}

fn health_row(health: &HealthResult, screen: &Screen<'_>, theme: &Theme) -> Vec<(String, Style)> {
    let style = health_style(health.status, theme);
    let status = format!("{:?}", health.status).to_lowercase();
    let code = health
        .http_status
        .map_or_else(|| "-".into(), |c| c.to_string());
    let latency = health
        .latency_ms
        .map_or_else(|| "-".into(), |ms| format!("{ms} ms"));
    let checks: Vec<String> = health
        .checks
        .iter()
        .map(|c| format!("{} {}", sanitize(&c.name), sanitize(&c.status)))
        .collect();
    let detail = health
        .error
        .as_deref()
        .map(sanitize)
        .unwrap_or_else(|| checks.join(" · "));
    let age = health.checked_at.map_or_else(
        || "-".into(),
        |at| {
            format!(
                "{} ago",
                format_age(screen.view.now.duration_since(at).unwrap_or_default())
            )
        },
    );
    vec![
        (sanitize(&health.name), Style::default()),
        (status, style),
        (code, Style::default()),
        (latency, Style::default()),
        (
            detail,
            if health.error.is_some() {
                theme.crit
            } else {
                theme.muted
            },
        ),
        (age, theme.muted),
    ]
}

fn render_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    slo: &SloResult,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    // Queries wrap: the exact PromQL is the point of showing it.
    let query_lines = (slo.queries.len() as u16 * 2 + 1).min(area.height / 3);
    let [top, chart_area, queries] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(query_lines),
    ])
    .areas(area);
    let mut alerts = vec![Span::styled("alerts: ", theme.muted)];
    for alert in &slo.alerts {
        let label = format!(
            "{} {}× {}/{} ",
            if alert.severity == Severity::Page {
                "page"
            } else {
                "ticket"
            },
            alert.factor,
            humantime::format_duration(alert.long),
            humantime::format_duration(alert.short)
        );
        let style = match alert.firing {
            Some(true) => theme.crit,
            Some(false) => theme.ok,
            None => theme.stale,
        };
        alerts.push(Span::styled(label, style));
        alerts.push(Span::styled(
            match alert.firing {
                Some(true) => "FIRING  ",
                Some(false) => "ok  ",
                None => "n/a  ",
            },
            style,
        ));
    }
    let header = vec![
        Line::from(vec![
            Span::styled(sanitize(&slo.name), theme.title),
            Span::styled(
                format!(
                    "  objective {:.3}%  period {}  ",
                    slo.objective * 100.0,
                    humantime::format_duration(slo.period)
                ),
                theme.muted,
            ),
            Span::styled(badge(slo), state_style(slo.state, theme)),
        ]),
        Line::from(vec![
            Span::styled("budget left ", theme.muted),
            Span::raw(reading_text(slo.budget_remaining, |v| {
                format!("{:.1}%", v * 100.0)
            })),
            Span::styled("  availability ", theme.muted),
            Span::raw(reading_text(slo.availability, |v| {
                format!("{:.4}%", v * 100.0)
            })),
            Span::styled("  exhausted in ", theme.muted),
            Span::raw(slo.exhaustion.map_or_else(|| "-".into(), format_age)),
            Span::styled(
                if slo.warnings.is_empty() {
                    String::new()
                } else {
                    format!("  warnings: {}", sanitize(&slo.warnings.join("; ")))
                },
                theme.warn,
            ),
        ]),
        Line::from(alerts),
    ];
    frame.render_widget(Paragraph::new(header), top);
    render_chart(frame, chart_area, slo, screen, theme);
    let mut lines = vec![Line::styled("PromQL sent", theme.title)];
    lines.extend(slo.queries.iter().take(6).map(|(label, query)| {
        Line::from(vec![
            Span::styled(format!("{label:>10} "), theme.muted),
            Span::raw(sanitize(query)),
        ])
    }));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), queries);
}

/// Short- and long-window burn over 24 h against each alert threshold.
fn render_chart(
    frame: &mut Frame<'_>,
    area: Rect,
    slo: &SloResult,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    if slo.history.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no burn history yet", theme.muted)),
            area,
        );
        return;
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = slo
        .history
        .iter()
        .map(|(label, points)| {
            let values = points.iter().filter_map(|(t, r)| match r {
                Reading::Value(v) if v.is_finite() => Some((*t, *v)),
                _ => None,
            });
            (label.clone(), values.collect())
        })
        .collect();
    let (mut t_min, mut t_max, mut y_max) = (f64::MAX, f64::MIN, 1.0_f64);
    for (_, points) in &series {
        for (t, v) in points {
            t_min = t_min.min(*t);
            t_max = t_max.max(*t);
            y_max = y_max.max(*v);
        }
    }
    for alert in &slo.alerts {
        y_max = y_max.max(alert.factor * 1.1);
    }
    if t_min >= t_max {
        let now = screen
            .view
            .now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        (t_min, t_max) = (now - 86_400.0, now);
    }
    let thresholds: Vec<(String, Vec<(f64, f64)>)> = slo
        .alerts
        .iter()
        .map(|a| {
            (
                format!("{}×", a.factor),
                vec![(t_min, a.factor), (t_max, a.factor)],
            )
        })
        .collect();
    let colours = [
        theme.crit,
        theme.warn,
        theme.ok,
        theme.stale,
        theme.key,
        theme.base,
    ];
    let mut datasets: Vec<Dataset<'_>> = series
        .iter()
        .enumerate()
        .map(|(i, (label, points))| {
            Dataset::default()
                .name(sanitize(label))
                .marker(symbols::Marker::Braille)
                .graph_type(GraphType::Line)
                .style(colours[i % colours.len()])
                .data(points)
        })
        .collect();
    datasets.extend(thresholds.iter().map(|(label, points)| {
        Dataset::default()
            .name(label.clone())
            .marker(symbols::Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.muted)
            .data(points)
    }));
    let hours_ago = |t: f64| format!("-{:.0}h", (t_max - t) / 3600.0);
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([t_min, t_max])
                .labels(vec![Span::raw(hours_ago(t_min)), Span::raw("now")])
                .style(theme.muted),
        )
        .y_axis(
            Axis::default()
                .title("burn")
                .bounds([0.0, y_max])
                .labels(vec![Span::raw("0"), Span::raw(format!("{y_max:.0}"))])
                .style(theme.muted),
        );
    frame.render_widget(chart, area);
}

fn render_health_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    health: &HealthResult,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let style = health_style(health.status, theme);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(sanitize(&health.name), theme.title),
            Span::styled(
                format!("  {}", sanitize(&crate::redact::redact(&health.url))),
                theme.muted,
            ),
        ]),
        Line::from(vec![
            Span::styled(format!("{:?}", health.status).to_lowercase(), style),
            Span::styled(
                format!(
                    "  HTTP {}",
                    health
                        .http_status
                        .map_or_else(|| "-".into(), |c| c.to_string())
                ),
                theme.base,
            ),
            Span::styled(
                format!(
                    "  {} ms",
                    health
                        .latency_ms
                        .map_or_else(|| "-".into(), |m| m.to_string())
                ),
                theme.base,
            ),
            Span::styled(
                format!("  {} consecutive failures", health.consecutive_failures),
                theme.muted,
            ),
        ]),
    ];
    if let Some(error) = &health.error {
        lines.push(Line::styled(sanitize(error), theme.crit));
    }
    if let Some(at) = health.checked_at {
        lines.push(Line::styled(
            format!(
                "checked {} ago",
                format_age(screen.view.now.duration_since(at).unwrap_or_default())
            ),
            theme.muted,
        ));
    }
    lines.push(Line::styled(
        format!(
            "body status: {}",
            sanitize(health.body_status.as_deref().unwrap_or("-"))
        ),
        theme.base,
    ));
    for check in &health.checks {
        let ok = matches!(
            check.status.to_ascii_lowercase().as_str(),
            "ok" | "pass" | "healthy" | "up"
        );
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<24}", sanitize(&check.name)), theme.base),
            Span::styled(
                format!("{:<10}", sanitize(&check.status)),
                if ok { theme.ok } else { theme.warn },
            ),
            Span::styled(
                sanitize(check.response_time.as_deref().unwrap_or("")),
                theme.muted,
            ),
        ]));
    }
    lines.push(Line::styled("Esc: back to the list", theme.muted));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
