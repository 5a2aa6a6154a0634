//! Drawing. Reads a `Screen` (one view over one data) only; all state changes happen in
//! `app::App::update`.

mod alerts;
mod claims;
pub mod columns;
pub mod db;
mod detail;
pub mod layout;
mod logs;
mod namespaces;
mod overlays;
mod panes;
mod platform;
mod pods;
pub mod remediation;
mod slo;
pub mod theme;
mod yaml;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::Screen;
use crate::app::pane::PaneId;
use crate::app::status::{Freshness, format_age};
use layout::{frame_areas, pane_areas};
use theme::Theme;

/// Smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 8;

pub fn render(frame: &mut Frame<'_>, screen: &Screen<'_>, theme: &Theme) {
    let area = frame.area();
    // The base style under everything, set cell by cell in one pass (a styled Block would look
    // up every cell by its position: a fifth of a frame's time at 200x60).
    for cell in &mut frame.buffer_mut().content {
        cell.set_style(theme.base);
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}x{} (need {MIN_WIDTH}x{MIN_HEIGHT})",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.warn)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, body, footer] = frame_areas(area);
    let (body, running) = remediation::split_body(body, screen);
    render_header(frame, header, screen, theme);
    for pane_area in pane_areas(body, screen.view.focus, screen.view.zoomed) {
        panes::render(frame, pane_area, screen, theme);
    }
    overlays::render_footer(frame, footer, screen, theme);
    remediation::render(frame, body, running, footer, screen, theme);
    if let Some(scroll) = screen.view.help {
        overlays::render_help(frame, body, screen, theme, scroll);
    }
}

/// The selected row's style in `pane`'s table: highlighted only while the pane has focus.
pub fn selection_style(screen: &Screen<'_>, pane: PaneId, theme: &Theme) -> Style {
    if screen.view.focus == pane {
        theme.selected
    } else {
        Style::default()
    }
}

/// The pane's freshness: the worst of its sources, or "not configured".
pub fn pane_freshness(screen: &Screen<'_>, pane: PaneId) -> Freshness {
    Freshness::worst(
        screen
            .visible_sources()
            .iter()
            .filter(|s| s.pane == pane && feeds_view(screen, pane, s.origin))
            .map(|s| s.freshness(screen.view.now)),
    )
}

/// Whether `origin` feeds what `pane` shows now: the Pods pane's pods and deployments come
/// from the Kubernetes source, its platform views from the platform source, and each view
/// says `live` only while its own source proves it.
fn feeds_view(screen: &Screen<'_>, pane: PaneId, origin: crate::event::SourceOrigin) -> bool {
    if pane != PaneId::Pods {
        return true;
    }
    let platform_view = screen.view.panes[pane.index()].mode.is_platform();
    (origin == crate::event::SourceOrigin::Platform) == platform_view
}

pub fn freshness_style(freshness: &Freshness, theme: &Theme) -> Style {
    match freshness {
        Freshness::Live => theme.ok,
        Freshness::NotConfigured | Freshness::Connecting => theme.muted,
        Freshness::NotConnected { .. } | Freshness::Stale { .. } => theme.stale,
        Freshness::Error { .. } => theme.crit,
    }
}

fn render_header(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    // Segments in display order with a priority (lower = kept first when the line is too narrow).
    let mut left: Vec<(u8, Span<'static>)> = vec![
        (
            0,
            Span::styled(" watchfloor ", theme.header.add_modifier(Modifier::BOLD)),
        ),
        (
            0,
            Span::styled(
                format!(" target: {}", crate::text::sanitize(screen.target_name())),
                theme.header,
            ),
        ),
    ];
    if screen.data.config.targets.len() > 1 {
        left.push((
            4,
            Span::styled(
                format!(
                    " [{}/{}]",
                    screen.data.target_index + 1,
                    screen.data.config.targets.len()
                ),
                theme.header,
            ),
        ));
    }
    if screen.view.policy.is_read_only() {
        left.push((0, Span::styled(" ", theme.header)));
        left.push((0, Span::styled(" READ-ONLY ", theme.read_only)));
    }
    if let Some(served) = &screen.view.served {
        left.push((
            1,
            Span::styled(format!(" · {} watching", served.viewers), theme.header),
        ));
    }
    if let Some(frozen) = &screen.view.frozen {
        let age = screen
            .view
            .now
            .duration_since(frozen.at)
            .unwrap_or_default();
        left.push((0, Span::styled(" ", theme.header)));
        left.push((
            0,
            Span::styled(format!(" FROZEN {} ", format_age(age)), theme.frozen),
        ));
    }
    if screen.target().is_some_and(|t| t.protected) {
        left.push((3, Span::styled(" protected", theme.header)));
    }
    let context = screen.shown().kube_context.clone().or_else(|| {
        screen
            .target()
            .and_then(|t| t.kubernetes.as_ref())
            .map(|k| k.context.clone().unwrap_or_else(|| "current".into()))
    });
    if let Some(context) = context {
        left.push((
            5,
            Span::styled(
                format!(" · ctx: {}", crate::text::sanitize(&context)),
                theme.header,
            ),
        ));
    }
    let (status, style) = overall_status(screen, theme);
    let status = (
        1,
        Span::styled(
            format!(" {status} "),
            style.bg(theme.header.bg.unwrap_or_default()),
        ),
    );
    let clock = (
        2,
        Span::styled(format!(" {} ", clock(screen.view.now)), theme.header),
    );

    // Drop the least important segments until everything fits.
    let width = usize::from(area.width);
    let mut budget_priority = 5;
    let fits = |max: u8| {
        left.iter()
            .chain([&status, &clock])
            .filter(|(p, _)| *p <= max)
            .map(|(_, s)| s.width())
            .sum::<usize>()
            < width
    };
    while budget_priority > 0 && !fits(budget_priority) {
        budget_priority -= 1;
    }
    let keep = |(p, s): &(u8, Span<'static>)| (*p <= budget_priority).then(|| s.clone());
    let left_spans: Vec<Span<'static>> = left.iter().filter_map(keep).collect();
    let right_spans: Vec<Span<'static>> = [&status, &clock].into_iter().filter_map(keep).collect();
    let right_width: u16 = right_spans.iter().map(|s| s.width() as u16).sum();
    frame.render_widget(
        Paragraph::new(Line::from(left_spans)).style(theme.header),
        area,
    );
    let rect = Rect {
        x: area.right().saturating_sub(right_width),
        width: right_width.min(area.width),
        ..area
    };
    frame.render_widget(
        Paragraph::new(Line::from(right_spans)).style(theme.header),
        rect,
    );
}

/// One phrase for the whole console: the worst thing happening.
fn overall_status(screen: &Screen<'_>, theme: &Theme) -> (String, Style) {
    let all: Vec<Freshness> = screen
        .visible_sources()
        .iter()
        .map(|s| s.freshness(screen.view.now))
        .collect();
    let count = |f: fn(&Freshness) -> bool| all.iter().filter(|x| f(x)).count();
    let errors = count(|f| matches!(f, Freshness::Error { .. }));
    let stale = count(|f| matches!(f, Freshness::Stale { .. }));
    let not_connected = count(|f| matches!(f, Freshness::NotConnected { .. }));
    let connecting = count(|f| matches!(f, Freshness::Connecting));
    if all.is_empty() {
        ("● no sources configured".into(), theme.muted)
    } else if errors > 0 {
        (
            format!("● {errors} source error{}", plural(errors)),
            theme.crit,
        )
    } else if stale > 0 {
        (format!("● {stale} stale"), theme.stale)
    } else if not_connected > 0 {
        (format!("● {not_connected} not connected"), theme.stale)
    } else if connecting > 0 {
        (format!("● {connecting} connecting"), theme.muted)
    } else {
        ("● all live".into(), theme.ok)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `HH:MM:SS UTC`.
pub fn clock(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn health_style(health: crate::model::Health, theme: &Theme) -> Style {
    match health {
        crate::model::Health::Crit => theme.crit,
        crate::model::Health::Warn => theme.warn,
        crate::model::Health::Ok => theme.ok,
        crate::model::Health::Done => theme.muted,
    }
}

/// Scroll so the selected row is visible: returns the first row shown and the selection's
/// position within the window.
pub fn scrolled(selected: usize, height: usize) -> (usize, usize) {
    let offset = (selected + 1).saturating_sub(height.max(1));
    (offset, selected - offset)
}

/// What an empty data table says: the source's state, never a blank.
pub fn waiting_message(screen: &Screen<'_>, pane: PaneId, what: &str) -> String {
    match pane_freshness(screen, pane) {
        Freshness::Live => format!("no {what}"),
        Freshness::Connecting => format!("connecting… (waiting for the first list of {what})"),
        // The label quotes backend error text: sanitised like every other label drawn.
        other => format!("no {what} yet — {}", crate::text::sanitize(&other.label())),
    }
}
