//! The SLO pane's alerts section: alerts grouped by name, worst first (state, severity, the
//! longest firing), with the labels that tell instances apart and the summary; and an alert
//! group's detail: every instance's labels, annotations, state, silences, and the rule.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::columns::Spec;
use super::theme::Theme;
use crate::alerts::{Alert, AlertGroup, AlertOrigin, AlertSeverity, AlertState};
use crate::app::{AlertsData, Screen};
use crate::text::{format_age, sanitize};

/// The alerts table: the name and state stay longest; labels and summary come with width.
pub const COLUMNS: [Spec; 6] = [
    Spec::name("ALERT", 12),
    Spec::text("SEV", 4, 8, 2),
    Spec::text("STATE", 7, 22, 0),
    Spec::text("SINCE", 5, 7, 3),
    Spec::text("INSTANCES", 10, 40, 1),
    Spec::text("SUMMARY", 10, 80, 4),
];

pub fn state_style(state: AlertState, severity: AlertSeverity, theme: &Theme) -> Style {
    match (state, severity) {
        (AlertState::Firing, AlertSeverity::Critical | AlertSeverity::Error) => theme.crit,
        (AlertState::Firing, _) | (AlertState::Pending, _) => theme.warn,
        (AlertState::Silenced | AlertState::Inhibited, _) => theme.muted,
    }
}

fn severity_text(alert: &Alert) -> String {
    sanitize(alert.labels.get("severity").map_or("-", String::as_str))
}

/// `3 firing · 1 silenced`.
fn states_text(data: &AlertsData, group: &AlertGroup) -> String {
    let mut counts: Vec<(AlertState, usize)> = Vec::new();
    for alert in data.members(group) {
        match counts.iter_mut().find(|(s, _)| *s == alert.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((alert.state, 1)),
        }
    }
    counts.sort();
    counts
        .iter()
        .map(|(state, n)| {
            if group.members.len() == 1 {
                state.label().to_string()
            } else {
                format!("{n} {}", state.label())
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// What tells the instances apart: `pod=api-1, api-2 +3`; a single alert: its namespace, pod,
/// service or instance label.
fn instances_text(data: &AlertsData, group: &AlertGroup) -> String {
    let members: Vec<&Alert> = data.members(group).collect();
    let keys: Vec<&str> = if group.varying.is_empty() {
        [
            "namespace",
            "deployment",
            "pod",
            "service",
            "job",
            "instance",
        ]
        .into_iter()
        .filter(|k| members.first().is_some_and(|a| a.labels.contains_key(*k)))
        .take(2)
        .collect()
    } else {
        group.varying.iter().map(String::as_str).take(2).collect()
    };
    let shown: Vec<String> = members
        .iter()
        .take(3)
        .map(|a| {
            keys.iter()
                .filter_map(|k| a.labels.get(*k).map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut text = shown.join(", ");
    if members.len() > 3 {
        text.push_str(&format!(" +{}", members.len() - 3));
    }
    sanitize(&text)
}

/// A row of the alerts table.
pub fn row(
    data: &AlertsData,
    group: &AlertGroup,
    screen: &Screen<'_>,
    theme: &Theme,
) -> Vec<(String, Style)> {
    let worst = data.members(group).next();
    let since = worst
        .and_then(|a| a.starts_at)
        .and_then(|at| screen.view.now.duration_since(at).ok())
        .map_or_else(|| "-".to_string(), format_age);
    let style = state_style(group.state, group.severity, theme);
    vec![
        (sanitize(&group.name), style),
        (worst.map(severity_text).unwrap_or_default(), style),
        (states_text(data, group), style),
        (since, theme.base),
        (instances_text(data, group), theme.base),
        (
            sanitize(worst.and_then(Alert::summary).unwrap_or_default()),
            theme.muted,
        ),
    ]
}

/// The detail of an alert group: each instance, worst first.
pub fn detail_lines(
    data: &AlertsData,
    group: &AlertGroup,
    screen: &Screen<'_>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let now = screen.view.now;
    let age = |at: std::time::SystemTime| format_age(now.duration_since(at).unwrap_or_default());
    let source = match (data.report.origin, &data.report.status) {
        (AlertOrigin::Alertmanager, Some(status)) if status.settling() => {
            format!("{} (settling: silences may be missing)", status.summary())
        }
        (AlertOrigin::Alertmanager, Some(status)) => status.summary(),
        (AlertOrigin::Alertmanager, None) => "Alertmanager".to_string(),
        (AlertOrigin::Prometheus, _) => "Prometheus (no Alertmanager: no silences)".to_string(),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(sanitize(&group.name), theme.title),
            Span::styled(
                format!("  {} · {}", states_text(data, group), source),
                state_style(group.state, group.severity, theme),
            ),
        ]),
        Line::raw(""),
    ];
    for alert in data.members(group) {
        let style = state_style(alert.state, alert.severity, theme);
        let mut head = vec![Span::styled(alert.state.label().to_string(), style)];
        if let Some(at) = alert.starts_at {
            head.push(Span::styled(
                format!("  since {} ago", age(at)),
                theme.muted,
            ));
        }
        head.push(Span::styled(
            format!("  severity {}", severity_text(alert)),
            theme.base,
        ));
        lines.push(Line::from(head));
        let labels: Vec<String> = alert
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.push(Line::styled(
            format!("  labels  {}", sanitize(&labels.join(" "))),
            theme.base,
        ));
        for (key, value) in &alert.annotations {
            lines.push(Line::styled(
                format!("  {key}: {}", sanitize(value)),
                theme.base,
            ));
        }
        if let Some(url) = &alert.generator_url {
            lines.push(Line::styled(
                format!("  source  {}", sanitize(url)),
                theme.muted,
            ));
        }
        if let Some(rule) = data.report.rule_of(alert) {
            lines.push(Line::styled(
                format!(
                    "  rule    {}  for {}",
                    sanitize(&rule.query),
                    format_age(std::time::Duration::from_secs_f64(rule.for_secs.max(0.0)))
                ),
                theme.muted,
            ));
            if let Some(error) = &rule.last_error {
                lines.push(Line::styled(
                    format!("  rule error: {}", sanitize(error)),
                    theme.crit,
                ));
            }
        }
        for silence in data.report.silences_of(alert) {
            let until = silence
                .ends_at
                .and_then(|at| at.duration_since(now).ok())
                .map_or_else(|| "?".to_string(), format_age);
            let matchers: Vec<String> = silence
                .matchers
                .iter()
                .map(crate::alerts::Matcher::text)
                .collect();
            lines.push(Line::styled(
                format!(
                    "  silenced by {} for {until} more: {} ({})",
                    sanitize(&silence.created_by),
                    sanitize(&silence.comment),
                    sanitize(&matchers.join(", "))
                ),
                theme.muted,
            ));
        }
        if !alert.inhibited_by.is_empty() {
            lines.push(Line::styled(
                format!("  inhibited by {} other alert(s)", alert.inhibited_by.len()),
                theme.muted,
            ));
        }
        lines.push(Line::raw(""));
    }
    let link = data
        .members(group)
        .find_map(|alert| crate::app::view::alert_link(alert, screen.shown()));
    let back = match link {
        Some(((namespace, name), deployment)) => format!(
            "Enter: go to {} {}/{} in the Pods pane · Esc: back to the list",
            if deployment { "deployment" } else { "pod" },
            sanitize(&namespace),
            sanitize(&name)
        ),
        None => "Esc: back to the list".to_string(),
    };
    lines.push(Line::styled(back, theme.muted));
    lines
}
