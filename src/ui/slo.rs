//! The SLO pane: one row per SLO (worst first) with availability, budget gauge, burn rates, alert
//! badges, time to exhaustion and a 6 h sparkline of the 1 h burn; health endpoints below; a
//! detail view charting short- and long-window burn against each alert threshold over 24 h.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, TableState, Wrap};

use super::columns::{Spec, fit_table};
use super::detail::{self, Part};
use super::theme::Theme;
use super::{scrolled, waiting_message};
use crate::app::pane::PaneId;
use crate::app::status::Freshness;
use crate::app::{ChartRange, Screen, SloRow};
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
            Some(SloRow::Alert(data, group)) => {
                let lines = super::alerts::detail_lines(data, group, screen, theme);
                let scroll = view.detail_scroll;
                detail::render(
                    frame,
                    area,
                    vec![Part::Lines(lines)],
                    scroll,
                    PaneId::Slo,
                    screen,
                );
                return;
            }
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
    let alerts: Vec<(&crate::app::AlertsData, &crate::alerts::AlertGroup)> = rows
        .iter()
        .filter_map(|r| match r {
            SloRow::Alert(data, group) => Some((*data, *group)),
            _ => None,
        })
        .collect();
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
    // Alerts on top, SLOs, endpoints below, each with its own header; one selection runs
    // through all three.
    let alert_height = if alerts.is_empty() {
        0
    } else if slos.is_empty() && endpoints.is_empty() {
        area.height
    } else {
        (alerts.len() as u16 + 1).min(area.height / 3).max(2)
    };
    let rest = area.height.saturating_sub(alert_height);
    let endpoint_height = if endpoints.is_empty() {
        0
    } else if slos.is_empty() {
        rest
    } else {
        (endpoints.len() as u16 + 1).min(rest / 2)
    };
    let [alert_area, slo_area, endpoint_area] = Layout::vertical([
        Constraint::Length(alert_height),
        Constraint::Fill(1),
        Constraint::Length(endpoint_height),
    ])
    .areas(area);
    let focused = screen.view.focus == PaneId::Slo;
    let highlight = if focused {
        theme.selected
    } else {
        Style::default()
    };
    // Rows of a source that is not live are greyed and say how old they are: an `ok` under a
    // title that says error would be a lie.
    let prometheus_age = not_live_age(screen, |o| o == SourceOrigin::Prometheus);
    let alerts_age = not_live_age(screen, |o| o == SourceOrigin::Alerts);
    if !alerts.is_empty() {
        let height = usize::from(alert_area.height.saturating_sub(1));
        let selected = (view.selected < alerts.len()).then_some(view.selected);
        let (offset, in_window) = scrolled(selected.unwrap_or(0), height);
        let rows = alerts
            .iter()
            .skip(offset)
            .take(height)
            .map(|(data, group)| {
                greyed(
                    super::alerts::row(data, group, screen, theme),
                    alerts_age.as_deref(),
                    2,
                    theme,
                )
            })
            .collect();
        let fitted = fit_table(&super::alerts::COLUMNS, rows, alert_area.width, theme.title);
        let table = fitted.table(highlight);
        let mut state = TableState::default().with_selected(selected.map(|_| in_window));
        frame.render_stateful_widget(table, alert_area, &mut state);
    }
    if !slos.is_empty() {
        let height = usize::from(slo_area.height.saturating_sub(1));
        screen.view.drawn.set_page(PaneId::Slo, height);
        let selected = view
            .selected
            .checked_sub(alerts.len())
            .filter(|i| *i < slos.len());
        let (offset, in_window) = scrolled(selected.unwrap_or(0), height);
        let rows = slos
            .iter()
            .skip(offset)
            .take(height)
            .map(|slo| greyed(slo_row(slo, theme), prometheus_age.as_deref(), 5, theme))
            .collect();
        let fitted = fit_table(&SLO_COLUMNS, rows, slo_area.width, theme.title);
        let table = fitted.table(highlight);
        let mut state = TableState::default().with_selected(selected.map(|_| in_window));
        frame.render_stateful_widget(table, slo_area, &mut state);
    }
    if !endpoints.is_empty() {
        let height = usize::from(endpoint_area.height.saturating_sub(1));
        let selected = view.selected.checked_sub(alerts.len() + slos.len());
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
        let table = fitted.table(highlight);
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
    let view = &screen.view.panes[PaneId::Slo.index()];
    let mut alerts = vec![Span::styled("alerts: ", theme.muted)];
    for alert in &slo.alerts {
        let style = match alert.firing {
            Some(true) => theme.crit,
            Some(false) => theme.ok,
            None => theme.stale,
        };
        alerts.push(Span::styled(format!("{} ", alert_label(alert)), style));
        alerts.push(Span::styled(
            match alert.firing {
                Some(true) => "FIRING  ",
                Some(false) => "ok  ",
                None => "n/a  ",
            },
            style,
        ));
    }
    let mut top = vec![
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
        ]),
    ];
    if !slo.warnings.is_empty() {
        top.push(Line::styled(
            format!("warnings: {}", sanitize(&slo.warnings.join("; "))),
            theme.warn,
        ));
    }
    if let Some(error) = &slo.error {
        top.push(Line::styled(sanitize(error), theme.crit));
    }
    top.push(Line::from(alerts));

    // The chart's window: the range asked for, within the history the source fetched.
    let chart = ChartWindow::new(slo, view.range, screen);
    let colours = series_colours(theme);
    let mut ranges = vec![Span::styled("burn rate · range ", theme.muted)];
    for range in [
        ChartRange::Hour,
        ChartRange::SixHours,
        ChartRange::Day,
        ChartRange::Week,
    ] {
        let style = if range == view.range {
            theme.key
        } else {
            theme.muted
        };
        ranges.push(Span::styled(format!(" {} ", range.label()), style));
    }
    let range_key = screen
        .view
        .keymap
        .keys_for(crate::app::keymap::Command::ChartRange)
        .first()
        .map(ToString::to_string);
    if let Some(key) = range_key {
        ranges.push(Span::styled(format!(" ({key})"), theme.muted));
    }
    top.push(Line::from(ranges));
    if let Some(note) = chart.shortfall() {
        top.push(Line::styled(note, theme.warn));
    }
    // The legend: each series in its colour, the thresholds as the chart labels them.
    let mut legend: Vec<Span<'static>> = Vec::new();
    for (i, (label, _)) in slo.history.iter().enumerate() {
        legend.push(Span::styled("━━ ", colours[i % colours.len()]));
        legend.push(Span::styled(format!("{}   ", sanitize(label)), theme.base));
    }
    if !slo.alerts.is_empty() {
        legend.push(Span::styled("┈┈ ", theme.muted));
        legend.push(Span::styled(
            "alert thresholds (labelled on the right)",
            theme.base,
        ));
    }
    if !legend.is_empty() && !slo.history.is_empty() {
        top.push(Line::from(legend));
    }
    // Every query sent, whole: the exact PromQL is the point of showing it.
    let mut queries = vec![Line::styled(
        format!("PromQL sent ({})", slo.queries.len()),
        theme.title,
    )];
    queries.extend(slo.queries.iter().map(|(label, query)| {
        Line::from(vec![
            Span::styled(format!("{label:>10} "), theme.muted),
            Span::raw(sanitize(query)),
        ])
    }));
    queries.push(Line::styled("Esc: back to the list", theme.muted));
    let mut parts = Vec::new();
    if slo.history.is_empty() {
        top.push(Line::styled("no burn history yet", theme.muted));
        parts.push(Part::Lines(top));
    } else {
        // The chart takes the room the text leaves, never less than a readable minimum (the
        // view then scrolls to the queries).
        let text_rows = [&top, &queries]
            .iter()
            .map(|lines| {
                Paragraph::new(lines.to_vec())
                    .wrap(Wrap { trim: false })
                    .line_count(area.width)
            })
            .sum::<usize>();
        let room = usize::from(area.height).saturating_sub(text_rows);
        let height = u16::try_from(room.max(CHART_MIN_HEIGHT)).unwrap_or(u16::MAX);
        let theme = *theme;
        parts.push(Part::Lines(top));
        parts.push(Part::widget(height, move |rect, buf| {
            draw_chart(rect, buf, slo, &chart, &theme);
        }));
    }
    parts.push(Part::Lines(queries));
    detail::render(frame, area, parts, view.detail_scroll, PaneId::Slo, screen);
}

/// The SLO detail chart's least height, axis rows included.
const CHART_MIN_HEIGHT: usize = 8;

/// `page 14.4× 1h/5m`.
fn alert_label(alert: &crate::slo::AlertState) -> String {
    format!(
        "{} {}× {}/{}",
        if alert.severity == Severity::Page {
            "page"
        } else {
            "ticket"
        },
        alert.factor,
        humantime::format_duration(alert.long),
        humantime::format_duration(alert.short)
    )
}

fn series_colours(theme: &Theme) -> [Style; 6] {
    [
        theme.crit,
        theme.warn,
        theme.ok,
        theme.stale,
        theme.key,
        theme.base,
    ]
}

/// The time window the chart shows: the range asked for, cut to the history there is.
#[derive(Debug, Clone, Copy)]
struct ChartWindow {
    range: ChartRange,
    /// Unix seconds.
    start: f64,
    end: f64,
    /// How much history the source fetched (first to last point), seconds.
    fetched: Option<f64>,
}

impl ChartWindow {
    fn new(slo: &SloResult, range: ChartRange, screen: &Screen<'_>) -> Self {
        let times = slo
            .history
            .iter()
            .flat_map(|(_, points)| points.iter().map(|(t, _)| *t));
        let (first, last) = times.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let now = screen
            .view
            .now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let (end, fetched) = if first < last {
            (last, Some(last - first))
        } else {
            (now, None)
        };
        let start = match fetched {
            Some(span) => end - range.seconds().min(span),
            None => end - range.seconds(),
        };
        Self {
            range,
            start,
            end,
            fetched,
        }
    }

    /// What the window lacks: the range asked for is longer than the history fetched.
    fn shortfall(&self) -> Option<String> {
        let fetched = self.fetched?;
        // Points come every 15 minutes: a range within one step of the span is all of it.
        (self.range.seconds() > fetched + 900.0).then(|| {
            format!(
                "{} asked: the source fetches {} of history; the chart shows all of it",
                self.range.label(),
                format_age(std::time::Duration::from_secs_f64(fetched.round()))
            )
        })
    }
}

/// How long before the end of the window, as an axis label: `-45m`, `-6h`.
fn ago_label(seconds: f64) -> String {
    if seconds < 1.0 {
        "now".into()
    } else if seconds < 2.0 * 3600.0 {
        format!("-{:.0}m", seconds / 60.0)
    } else {
        format!("-{:.0}h", seconds / 3600.0)
    }
}

/// Burn per series over the window, each alert threshold a dotted line labelled on the right,
/// the burn axis on the left and the time below.
fn draw_chart(
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
    slo: &SloResult,
    window: &ChartWindow,
    theme: &Theme,
) {
    use ratatui::style::Color;
    use ratatui::widgets::Widget;
    use ratatui::widgets::canvas::{Canvas, Line as CanvasLine, Points};
    if area.width < 12 || area.height < 3 {
        return;
    }
    let (start, end) = (window.start, window.end.max(window.start + 1.0));
    let in_window = |t: f64| t >= start - 1.0 && t <= end + 1.0;
    let mut y_max = 1.0_f64;
    for (_, points) in &slo.history {
        for (t, reading) in points {
            if let Reading::Value(v) = reading
                && v.is_finite()
                && in_window(*t)
            {
                y_max = y_max.max(*v);
            }
        }
    }
    for alert in &slo.alerts {
        y_max = y_max.max(alert.factor * 1.1);
    }
    let y_label = |v: f64| {
        if v >= 10.0 || v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    let gutter = [y_label(y_max), y_label(0.0)]
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as u16
        + 1;
    let plot = Rect {
        x: area.x + gutter,
        y: area.y,
        width: area.width - gutter,
        height: area.height - 1,
    };
    let colour = |style: Style| style.fg.unwrap_or(Color::Reset);
    let colours = series_colours(theme);
    // Series as segments between neighbouring readings: a gap (no data) breaks the line.
    let segments: Vec<(CanvasLine, usize)> = slo
        .history
        .iter()
        .enumerate()
        .flat_map(|(i, (_, points))| {
            points.windows(2).filter_map(move |pair| {
                let ((t1, r1), (t2, r2)) = (pair[0], pair[1]);
                match (r1, r2) {
                    (Reading::Value(a), Reading::Value(b))
                        if a.is_finite() && b.is_finite() && in_window(t1) && in_window(t2) =>
                    {
                        Some((CanvasLine::new(t1, a, t2, b, Color::Reset), i))
                    }
                    _ => None,
                }
            })
        })
        .collect();
    // Thresholds dotted: a dot every other braille column.
    let dots = usize::from(plot.width).max(1);
    let thresholds: Vec<Vec<(f64, f64)>> = slo
        .alerts
        .iter()
        .map(|a| {
            (0..dots)
                .map(|i| (start + (end - start) * i as f64 / dots as f64, a.factor))
                .collect()
        })
        .collect();
    let muted = colour(theme.muted);
    let canvas = Canvas::default()
        .marker(symbols::Marker::Braille)
        .background_color(theme.base.bg.unwrap_or(Color::Reset))
        .x_bounds([start, end])
        .y_bounds([0.0, y_max])
        .paint(|ctx| {
            for coords in &thresholds {
                ctx.draw(&Points::new(coords, muted));
            }
            ctx.layer();
            for (segment, i) in &segments {
                let mut line = segment.clone();
                line.color = colour(colours[i % colours.len()]);
                ctx.draw(&line);
            }
        });
    canvas.render(plot, buf);
    // The row of the plot a burn value's braille dots land on (four dots a row).
    let row_of = |v: f64| {
        let dots = f64::from(plot.height) * 4.0 - 1.0;
        let dot = ((y_max - v) * dots / y_max).clamp(0.0, dots) as u16;
        plot.y + dot / 4
    };
    // Threshold labels at the right end of their lines, highest first; one per row.
    let mut alerts: Vec<&crate::slo::AlertState> = slo.alerts.iter().collect();
    alerts.sort_by(|a, b| b.factor.total_cmp(&a.factor));
    let mut used_rows = Vec::new();
    for alert in alerts {
        let row = row_of(alert.factor);
        if used_rows.contains(&row) {
            continue;
        }
        used_rows.push(row);
        let label = format!(
            " {} {}× ",
            if alert.severity == Severity::Page {
                "page"
            } else {
                "ticket"
            },
            alert.factor
        );
        let style = match alert.firing {
            Some(true) => theme.crit,
            _ => theme.muted,
        };
        let width = label.chars().count() as u16;
        if width < plot.width {
            buf.set_string(plot.right() - width, row, label, style);
        }
    }
    // The burn axis: its top and 0, and a line along the plot.
    for y in plot.y..plot.bottom() {
        buf.set_string(area.x + gutter - 1, y, "│", theme.muted);
    }
    let top = y_label(y_max);
    buf.set_string(
        area.x + gutter - 1 - top.chars().count() as u16,
        plot.y,
        top,
        theme.muted,
    );
    buf.set_string(area.x + gutter - 2, plot.bottom() - 1, "0", theme.muted);
    // The time axis: start, middle, now.
    let y = area.bottom() - 1;
    buf.set_string(plot.x, y, ago_label(end - start), theme.muted);
    let middle = ago_label((end - start) / 2.0);
    let mid_x = plot.x + plot.width / 2 - middle.chars().count() as u16 / 2;
    buf.set_string(mid_x, y, middle, theme.muted);
    buf.set_string(plot.right().saturating_sub(3), y, "now", theme.muted);
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
    let scroll = screen.view.panes[PaneId::Slo.index()].detail_scroll;
    detail::render(
        frame,
        area,
        vec![Part::Lines(lines)],
        scroll,
        PaneId::Slo,
        screen,
    );
}
