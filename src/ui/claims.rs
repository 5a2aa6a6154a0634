//! The Stuck claims pane: claims worst first with the classifier's WHY.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::columns::{Cut, Spec};
use super::detail::{self, Part};
use super::namespaces;
use super::theme::Theme;
use super::{health_style, waiting_message};
use crate::app::Screen;
use crate::app::pane::PaneId;
use crate::app::sort::Table as Sorted;
use crate::model::claims::ClaimRow;
use crate::text::format_age;
use crate::text::sanitize;

pub fn render(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let kube = screen.visible_kube();
    let view = &screen.view.panes[PaneId::Claims.index()];
    if view.detail_open
        && let Some(claim) = screen
            .view
            .visible
            .claims
            .get(view.selected)
            .and_then(|i| kube.claims_sorted.get(*i))
    {
        render_detail(frame, area, claim, screen, theme);
        return;
    }
    if screen.view.visible.claims.is_empty() {
        let message = if view.filter.is_some() {
            "no claims match the filter (Esc clears it)".to_string()
        } else if view.unhealthy && !kube.claims_sorted.is_empty() {
            "no stuck or unhealthy claims (! shows them all)".to_string()
        } else {
            waiting_message(screen, PaneId::Claims, "claims")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let stuck = screen
        .view
        .visible
        .claims
        .iter()
        .filter(|i| kube.claims_sorted.get(**i).is_some_and(|c| c.stuck))
        .count();
    let [summary, area] =
        ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let style = if stuck > 0 { theme.crit } else { theme.ok };
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("{stuck} stuck of {}", screen.view.visible.claims.len()),
            style,
        )),
        summary,
    );
    let claims = &screen.view.visible.claims;
    let claim = |i: usize| claims.get(i).and_then(|c| kube.claims_sorted.get(*c));
    let cells = |i: usize| -> Vec<(String, Style)> {
        let Some(claim) = claim(i) else {
            return Vec::new();
        };
        let age = claim.since.map_or_else(
            || "-".into(),
            |at| format_age(screen.view.now.duration_since(at).unwrap_or_default()),
        );
        vec![
            (
                if claim.stuck { "STUCK" } else { "" }.to_string(),
                theme.crit,
            ),
            (
                sanitize(claim.namespace.as_deref().unwrap_or("-")),
                theme.muted,
            ),
            (sanitize(&claim.name), Style::default()),
            (sanitize(&claim.state), health_style(claim.health, theme)),
            (age, Style::default()),
            (
                sanitize(&claim.why),
                if claim.stuck { theme.crit } else { theme.muted },
            ),
        ]
    };
    let table = namespaces::Table {
        specs: &CLAIM_COLUMNS,
        namespace: 1,
        len: claims.len(),
        namespace_of: &|i| claim(i).and_then(|c| c.namespace.as_deref()).unwrap_or("-"),
        spread: screen.view.visible.claims_spread,
        cells: &cells,
        selected: view.selected,
        label: &|h| view.sort.mark(Sorted::Claims, h),
        pane: PaneId::Claims,
    };
    namespaces::render(frame, area, &table, screen, theme);
}

/// The claims table: the stuck marker and the name first, the WHY before the namespace.
const CLAIM_COLUMNS: [Spec; 6] = [
    Spec::text("", 5, 5, 0),
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("NAME", 12),
    Spec::text("STATE", 6, 16, 1),
    Spec::text("AGE", 3, 7, 2),
    Spec::text("WHY", 12, 120, 3),
];

fn render_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    claim: &ClaimRow,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let label = |name: &str| Span::styled(format!("{name:>9}  "), theme.muted);
    let age = claim.since.map_or_else(
        || "-".into(),
        |at| format_age(screen.view.now.duration_since(at).unwrap_or_default()),
    );
    let mut lines = vec![
        Line::from(vec![
            label("claim"),
            Span::styled(
                format!(
                    "{}/{}",
                    sanitize(claim.namespace.as_deref().unwrap_or("-")),
                    sanitize(&claim.name)
                ),
                theme.title,
            ),
            Span::styled(format!("  ({})", sanitize(&claim.source)), theme.muted),
        ]),
        Line::from(vec![
            label("state"),
            Span::styled(sanitize(&claim.state), health_style(claim.health, theme)),
            Span::styled(format!("  for {age}"), theme.muted),
        ]),
        Line::from(vec![
            label("stuck"),
            Span::styled(
                if claim.stuck { "yes" } else { "no" },
                if claim.stuck { theme.crit } else { theme.ok },
            ),
            Span::raw("  "),
            Span::raw(sanitize(&claim.why)),
        ]),
    ];
    match &claim.detail {
        Some(detail) => lines.extend(detail.lines().map(|l| Line::raw(sanitize(l)))),
        None => lines.push(Line::styled("no status recorded", theme.muted)),
    }
    lines.push(Line::styled("Esc: back to the list", theme.muted));
    let scroll = screen.view.panes[PaneId::Claims.index()].detail_scroll;
    detail::render(
        frame,
        area,
        vec![Part::Lines(lines)],
        scroll,
        PaneId::Claims,
        screen,
    );
}
