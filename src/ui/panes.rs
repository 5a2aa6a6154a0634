//! The five panes. Until a pane's backend exists, it lists the target's configured sources for it
//! with their honest state; later issues replace each body with its data table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, TableState, Wrap};

use super::columns::{Spec, fit_table};
use super::layout::{PaneArea, PaneSize};
use super::theme::Theme;
use super::{freshness_style, pane_freshness};
use crate::app::Screen;
use crate::app::pane::PaneId;
use crate::app::status::{SourceState, SourceStatus, format_age};
use crate::text::sanitize;

pub fn render(frame: &mut Frame<'_>, area: PaneArea, screen: &Screen<'_>, theme: &Theme) {
    match area.size {
        PaneSize::Summary => render_summary(frame, area.rect, area.pane, screen, theme),
        PaneSize::Full => render_full(frame, area.rect, area.pane, screen, theme),
    }
}

/// ` 3 DB connections`: the pane's key and name.
fn name_spans(screen: &Screen<'_>, pane: PaneId, theme: &Theme) -> Vec<Span<'static>> {
    let focused = screen.view.focus == pane;
    vec![
        Span::styled(
            format!(" {} ", pane.number()),
            if focused { theme.key } else { theme.muted },
        ),
        Span::styled(
            pane_title(screen, pane),
            if focused { theme.title } else { theme.base },
        ),
    ]
}

/// `Pods`, or `Pods › cronjobs` when the pane shows another of its views.
fn pane_title(screen: &Screen<'_>, pane: PaneId) -> String {
    let mode = screen.view.panes[pane.index()].mode;
    if pane == PaneId::Pods && mode != crate::app::pane::PodsMode::Pods {
        format!("{} › {}", pane.title(), mode.noun())
    } else {
        pane.title().to_string()
    }
}

fn title_spans(screen: &Screen<'_>, pane: PaneId, theme: &Theme) -> Vec<Span<'static>> {
    let freshness = pane_freshness(screen, pane);
    let mut spans = name_spans(screen, pane, theme);
    let (head, tail) = freshness.title_parts();
    spans.extend([
        Span::styled(" · ", theme.muted),
        Span::styled(sanitize(&head), freshness_style(&freshness, theme)),
    ]);
    if !tail.is_empty() {
        spans.push(Span::styled(sanitize(&tail), theme.muted));
    }
    let view = &screen.view.panes[pane.index()];
    if let Some(filter) = &view.filter {
        let rows = screen.row_count(pane);
        spans.push(Span::styled(
            format!(" · /{}/ {rows} match", sanitize(&filter.text)),
            theme.warn,
        ));
        if rows != 1 {
            spans.push(Span::styled("es", theme.warn));
        }
    }
    if view.unhealthy
        && screen.pane_shows_data(pane)
        && matches!(pane, PaneId::Pods | PaneId::Claims)
    {
        spans.push(Span::styled(" · only unhealthy (!)", theme.warn));
    }
    spans.push(Span::raw(" "));
    spans
}

/// `row 4711/10000 `: where the cursor is, when the list is longer than its table shows.
fn position_spans(screen: &Screen<'_>, pane: PaneId, theme: &Theme) -> Vec<Span<'static>> {
    let view = &screen.view.panes[pane.index()];
    let rows = screen.row_count(pane);
    let scrolls = screen.view.drawn.page(pane).is_some_and(|page| rows > page);
    if view.detail_open || view.yaml.is_some() || pane == PaneId::Logs || !scrolls {
        return Vec::new();
    }
    vec![Span::styled(
        format!("row {}/{rows} ", (view.selected + 1).min(rows)),
        theme.muted,
    )]
}

fn render_summary(
    frame: &mut Frame<'_>,
    rect: Rect,
    pane: PaneId,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let mut spans = title_spans(screen, pane, theme);
    let kube = screen.visible_kube();
    match pane {
        PaneId::Pods if screen.pane_shows_data(pane) && kube.pod_summary.is_some() => {
            if let Some(summary) = &kube.pod_summary {
                spans.push(Span::styled(
                    format!("· {} pods", summary.total),
                    theme.base,
                ));
                if summary.crit > 0 {
                    spans.push(Span::styled(
                        format!(" · {} crit", summary.crit),
                        theme.crit,
                    ));
                }
                if summary.warn > 0 {
                    spans.push(Span::styled(
                        format!(" · {} warn", summary.warn),
                        theme.warn,
                    ));
                }
            }
        }
        PaneId::Slo
            if screen.pane_shows_data(pane)
                && !(screen.shown().slo.results.is_empty()
                    && screen.shown().slo.health.is_empty()) =>
        {
            use crate::slo::{HealthStatus, SloState};
            let pages = screen
                .shown()
                .slo
                .results
                .iter()
                .filter(|s| s.state == SloState::Page)
                .count();
            let tickets = screen
                .shown()
                .slo
                .results
                .iter()
                .filter(|s| s.state == SloState::Ticket)
                .count();
            let down = screen
                .shown()
                .slo
                .health
                .values()
                .filter(|h| matches!(h.status, HealthStatus::Critical | HealthStatus::Down))
                .count();
            if let Some(alerts) = screen.shown().alerts.as_deref() {
                let firing = alerts.firing();
                let style = if firing > 0 { theme.crit } else { theme.ok };
                spans.push(Span::styled(format!("· {firing} firing "), style));
            }
            spans.push(Span::styled(
                format!("· {} SLOs", screen.shown().slo.results.len()),
                theme.base,
            ));
            if pages > 0 {
                spans.push(Span::styled(format!(" · {pages} PAGE"), theme.crit));
            }
            if tickets > 0 {
                spans.push(Span::styled(format!(" · {tickets} TICKET"), theme.warn));
            }
            if down > 0 {
                spans.push(Span::styled(
                    format!(
                        " · {down} endpoint{} down",
                        if down == 1 { "" } else { "s" }
                    ),
                    theme.crit,
                ));
            }
        }
        PaneId::Db if screen.pane_shows_data(pane) && super::db::has_data(screen) => {
            // Each database carries its own freshness: the pane's worst label (an error's
            // reason) would crowd the figures out of the line.
            spans = name_spans(screen, pane, theme);
            spans.push(Span::raw(" "));
            spans.extend(super::db::summary(screen, theme));
        }
        PaneId::Claims if screen.pane_shows_data(pane) && !kube.claims.is_empty() => {
            let stuck = kube.claims_sorted.iter().filter(|c| c.stuck).count();
            let style = if stuck > 0 { theme.crit } else { theme.ok };
            spans.push(Span::styled(
                format!("· {stuck} stuck of {}", kube.claims_sorted.len()),
                style,
            ));
        }
        _ => {
            let sources = screen
                .visible_sources()
                .iter()
                .filter(|s| s.pane == pane)
                .count();
            if sources > 0 {
                spans.push(Span::styled(
                    format!("· {sources} source{}", if sources == 1 { "" } else { "s" }),
                    theme.muted,
                ));
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), rect);
}

fn render_full(
    frame: &mut Frame<'_>,
    rect: Rect,
    pane: PaneId,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let focused = screen.view.focus == pane;
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        });
    let inner = block.inner(rect);
    if inner.height > 0 && inner.width > 0 {
        render_body(frame, inner, pane, screen, theme);
    }
    // The frame and title last: the title says where the cursor is among the rows the body
    // just found room for.
    let position = position_spans(screen, pane, theme);
    let mut block = block.title(Line::from(title_spans(screen, pane, theme)));
    if !position.is_empty() {
        block = block.title_top(Line::from(position).right_aligned());
    }
    frame.render_widget(block, rect);
}

fn render_body(
    frame: &mut Frame<'_>,
    inner: Rect,
    pane: PaneId,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    // Ad-hoc logs (`l`, `p`) show even where no log source is configured.
    if !screen.pane_has_sources(pane) && !screen.pane_shows_data(pane) {
        let text = vec![
            Line::styled("not configured for this target", theme.muted),
            Line::styled(
                format!(
                    "{} in {}",
                    pane.config_hint(),
                    screen.view.config_path.display()
                ),
                theme.muted,
            ),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    if super::yaml::render(frame, inner, pane, screen, theme) {
        return;
    }
    match pane {
        PaneId::Pods if screen.pane_shows_data(pane) => {
            return super::pods::render(frame, inner, screen, theme);
        }
        PaneId::Slo if screen.pane_shows_data(pane) => {
            return super::slo::render(frame, inner, screen, theme);
        }
        PaneId::Logs if screen.pane_shows_data(pane) => {
            return super::logs::render(frame, inner, screen, theme);
        }
        PaneId::Claims if screen.pane_shows_data(pane) => {
            return super::claims::render(frame, inner, screen, theme);
        }
        PaneId::Db if screen.pane_shows_data(pane) => {
            return super::db::render(frame, inner, screen, theme);
        }
        _ => {}
    }
    let view = &screen.view.panes[pane.index()];
    if view.detail_open
        && let Some(source) = screen.selected_row(pane)
    {
        render_detail(frame, inner, source, screen, theme);
        return;
    }
    render_source_table(frame, inner, pane, screen, theme);
}

/// A pane's sources: the name first, the state (with its reason) before what it watches.
const SOURCE_COLUMNS: [Spec; 4] = [
    Spec::text("SOURCE", 6, 11, 1),
    Spec::name("NAME", 8),
    Spec::text("STATE", 10, 80, 0),
    Spec::text("WATCHES", 10, 80, 2),
];

fn render_source_table(
    frame: &mut Frame<'_>,
    area: Rect,
    pane: PaneId,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let rows: Vec<Vec<(String, ratatui::style::Style)>> = screen
        .pane_rows(pane)
        .into_iter()
        .map(|source| {
            let freshness = source.freshness(screen.view.now);
            vec![
                (source.kind.to_string(), theme.muted),
                (sanitize(&source.name), ratatui::style::Style::default()),
                (
                    sanitize(&freshness.label()),
                    freshness_style(&freshness, theme),
                ),
                (sanitize(&source.detail), theme.muted),
            ]
        })
        .collect();
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no rows match the filter (Esc clears it)",
                theme.muted,
            )),
            area,
        );
        return;
    }
    let fitted = fit_table(&SOURCE_COLUMNS, rows, area.width, theme.title);
    let table = fitted.table(super::selection_style(screen, pane, theme));
    let not_built = screen
        .pane_rows(pane)
        .iter()
        .any(|s| s.state == SourceState::NotBuilt);
    let note_height = if not_built && area.height > 6 { 2 } else { 0 };
    let [table_area, note_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(note_height)]).areas(area);
    screen
        .view
        .drawn
        .set_page(pane, usize::from(table_area.height.saturating_sub(1)));
    let mut state =
        TableState::default().with_selected(Some(screen.view.panes[pane.index()].selected));
    frame.render_stateful_widget(table, table_area, &mut state);
    if note_height > 0 {
        let note = "This build reads the config and draws the console; the backends for these sources come with later releases.";
        frame.render_widget(
            Paragraph::new(Line::styled(note, theme.muted)).wrap(Wrap { trim: true }),
            note_area,
        );
    }
}

fn render_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    source: &SourceStatus,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let freshness = source.freshness(screen.view.now);
    let last_ok = source.last_ok.map_or_else(
        || "never".to_string(),
        |at| {
            format!(
                "{} ago",
                format_age(screen.view.now.duration_since(at).unwrap_or_default())
            )
        },
    );
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:>12}  "), theme.muted),
            Span::raw(sanitize(&value)),
        ])
    };
    let lines = vec![
        field("source", source.kind.to_string()),
        field("name", source.name.clone()),
        field("watches", source.detail.clone()),
        Line::from(vec![
            Span::styled(format!("{:>12}  ", "state"), theme.muted),
            Span::styled(
                sanitize(&freshness.label()),
                freshness_style(&freshness, theme),
            ),
        ]),
        field("last good", last_ok),
        field("stale after", format_age(source.stale_after)),
        Line::raw(""),
        Line::styled("Esc: back to the list", theme.muted),
    ];
    let scroll = screen.view.panes[source.pane.index()].detail_scroll;
    super::detail::render(
        frame,
        area,
        vec![super::detail::Part::Lines(lines)],
        scroll,
        source.pane,
        screen,
    );
}
