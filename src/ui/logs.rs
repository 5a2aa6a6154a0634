//! The Logs pane: the buffered lines (filtered), newest at the bottom, with per-stream colours,
//! levels, match highlights, and a status line of counters and stream states.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::columns::{Cut, fit};
use super::theme::Theme;
use crate::app::Screen;
use crate::app::logs_data::LogsData;
use crate::app::logs_view::{LogsScope, LogsView};
use crate::app::pane::PaneId;
use crate::logs::{Level, LogLine, StreamState};
use crate::text::format_age;
use crate::text::sanitize;

/// Stream label colours, picked by stream id.
const STREAM_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Blue,
    Color::Green,
    Color::Yellow,
    Color::LightRed,
];

pub fn render(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let logs = &screen.view.logs;
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    render_status(frame, status, logs, &screen.shown().logs, theme);
    // Enter shows every stream and its state; Esc returns to the lines.
    if logs.visible.is_empty() || screen.view.panes[PaneId::Logs.index()].detail_open {
        render_streams(frame, body, screen, theme);
        return;
    }
    render_lines(frame, body, screen, theme);
}

fn render_status(
    frame: &mut Frame<'_>,
    area: Rect,
    logs: &LogsView,
    data: &LogsData,
    theme: &Theme,
) {
    let mut spans = Vec::new();
    let filters = filter_texts(logs, data);
    match &logs.scope {
        LogsScope::Shared => {}
        // Previous-container logs: which filters are on comes right after what is shown (the
        // label gives way, never the filters), and "no filters" when none is.
        LogsScope::Source { label, .. } if logs.scope.is_previous() => {
            let said = if filters.is_empty() {
                "no filters".to_string()
            } else {
                format!("filters: {}", filters.join(" · "))
            };
            spans.push(Span::styled(
                previous_label(&sanitize(label), area.width, said.width()),
                theme.warn,
            ));
            let style = if filters.is_empty() {
                theme.muted
            } else {
                theme.warn.add_modifier(Modifier::BOLD)
            };
            spans.push(Span::styled(said, style));
            spans.push(Span::styled(" · ", theme.warn));
        }
        LogsScope::Pods { label, .. } | LogsScope::Source { label, .. } => {
            spans.push(Span::styled(
                format!("{} only (Esc: all) · ", sanitize(label)),
                theme.warn,
            ))
        }
    }
    spans.push(Span::styled(
        format!("{} lines", logs.visible.len()),
        theme.base,
    ));
    if logs.filter.is_active() {
        spans.push(Span::styled(
            format!(" of {}", data.buffer.len()),
            theme.muted,
        ));
    }
    spans.push(Span::styled(
        if logs.follow {
            " · following"
        } else {
            " · PAUSED (Space/G: tail)"
        },
        if logs.follow { theme.ok } else { theme.warn },
    ));
    if !logs.scope.is_previous() {
        for text in filters {
            spans.push(Span::styled(format!(" · {text}"), theme.warn));
        }
    }
    if data.buffer.evicted > 0 {
        spans.push(Span::styled(
            format!(
                " · {} evicted (buffer {})",
                data.buffer.evicted,
                data.buffer.capacity()
            ),
            theme.muted,
        ));
    }
    if data.buffer.dropped > 0 {
        spans.push(Span::styled(
            format!(" · {} DROPPED (console behind)", data.buffer.dropped),
            theme.crit,
        ));
    }
    let (following, other) = data
        .streams
        .values()
        .fold((0, 0), |(f, o), s| match s.state {
            StreamState::Following => (f + 1, o),
            _ => (f, o + 1),
        });
    spans.push(Span::styled(
        format!(
            " · {following} stream{}",
            if following == 1 { "" } else { "s" }
        ),
        theme.muted,
    ));
    if other > 0 {
        spans.push(Span::styled(format!(", {other} not following"), theme.warn));
    }
    for (active, waiting) in data.caps.values().filter(|(_, waiting)| *waiting > 0) {
        spans.push(Span::styled(
            format!(" · stream cap reached: {active} followed, {waiting} waiting"),
            theme.crit,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Room kept after a previous-logs label for the line count (`12 lines of 400`).
const STATUS_COUNT_ROOM: usize = 14;
/// A pod's name in a previous-logs label is never cut below this (it is left out instead).
const MIN_POD: usize = 8;
/// The longest stream label a source filter is named by (cut in the middle).
const SOURCE_LABEL: u16 = 32;
/// How the label of a previous-logs view begins (`View::previous_logs`).
const PREVIOUS_PREFIX: &str = "previous logs of ";

/// `previous logs of NAMESPACE/POD (Esc: all) · ` in what `width` leaves beside the filters
/// (`filters` columns) and the line count: the filters are never the ones cut. The pod is cut in
/// the middle (its suffix tells replicas apart), then `(Esc: all)` goes, then the pod.
fn previous_label(label: &str, width: u16, filters: usize) -> String {
    let pod = label.strip_prefix(PREVIOUS_PREFIX).unwrap_or(label);
    let head = PREVIOUS_PREFIX.trim_end_matches(" of ");
    let esc = " (Esc: all)";
    let room = usize::from(width)
        .saturating_sub(filters + STATUS_COUNT_ROOM + " · ".width() * 2 + PREVIOUS_PREFIX.width());
    let cut = |room: usize| fit(pod, u16::try_from(room).unwrap_or(u16::MAX), Cut::Middle);
    if room >= esc.width() + MIN_POD {
        format!("{PREVIOUS_PREFIX}{}{esc} · ", cut(room - esc.width()))
    } else if room >= MIN_POD {
        format!("{PREVIOUS_PREFIX}{} · ", cut(room))
    } else {
        format!("{head} · ")
    }
}

/// The filters on, as the status line says them: `level >= warn`, `source api/api`, `/text/`.
/// In a previous-logs view every stream is of one pod: a source is named by its container.
fn filter_texts(logs: &LogsView, data: &LogsData) -> Vec<String> {
    let mut texts = Vec::new();
    if let Some(level) = logs.filter.min_level {
        texts.push(format!("level >= {level:?}").to_lowercase());
    }
    if let Some(stream) = logs.filter.stream {
        let label = sanitize(data.streams.get(&stream).map_or("?", |s| s.label.as_str()));
        let label = match label.split_once('/') {
            Some((_, container)) if logs.scope.is_previous() => container,
            _ => &label,
        };
        texts.push(format!("source {}", fit(label, SOURCE_LABEL, Cut::Middle)));
    }
    if !logs.filter.text.is_empty() {
        texts.push(format!("/{}/", sanitize(&logs.filter.text)));
    }
    texts
}

/// No lines (yet, or none match): the streams and their states, never a blank pane.
fn render_streams(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let logs = &screen.view.logs;
    let data = &screen.shown().logs;
    let mut lines = Vec::new();
    if screen.view.panes[PaneId::Logs.index()].detail_open {
        lines.push(Line::styled(
            format!("{} streams (Esc: back to the lines)", data.streams.len()),
            theme.title,
        ));
    } else if logs.filter.is_active() && !data.buffer.is_empty() {
        lines.push(Line::styled(
            "no lines match the filters (Esc clears the text filter, l the level, s the source)",
            theme.muted,
        ));
    } else if data.streams.is_empty() {
        lines.push(Line::styled(
            super::waiting_message(screen, PaneId::Logs, "log streams"),
            theme.muted,
        ));
    } else {
        lines.push(Line::styled("waiting for lines…", theme.muted));
    }
    for (id, stream) in &data.streams {
        let (state, style) = stream_state(&stream.state, screen, theme);
        let last = stream.last_line.map_or_else(
            || "no lines yet".to_string(),
            |at| {
                format!(
                    "{} lines, last {} ago",
                    stream.lines,
                    format_age(screen.view.now.duration_since(at).unwrap_or_default())
                )
            },
        );
        // The label whole (cut in the middle only when the line has no room for it), the
        // state and its reason cut with `…`: nothing is clipped at the pane's edge.
        let width = usize::from(area.width);
        let label_room = u16::try_from(width.saturating_sub(3)).unwrap_or(u16::MAX);
        let label = format!(
            "  {} ",
            fit(&sanitize(&stream.label), label_room, Cut::Middle)
        );
        let room = width.saturating_sub(label.width());
        let (state, last) = match room.checked_sub(state.width()) {
            Some(left) => (
                state,
                fit(
                    &format!("  {last}"),
                    u16::try_from(left).unwrap_or(u16::MAX),
                    Cut::Right,
                )
                .into_owned(),
            ),
            None => (
                fit(&state, u16::try_from(room).unwrap_or(u16::MAX), Cut::Right).into_owned(),
                String::new(),
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(label, stream_style(*id)),
            Span::styled(state, style),
            Span::styled(last, theme.muted),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn stream_state(state: &StreamState, screen: &Screen<'_>, theme: &Theme) -> (String, Style) {
    match state {
        StreamState::Following => ("following".into(), theme.ok),
        StreamState::Reconnecting { reason, retry_at } => {
            let retry = retry_at.duration_since(screen.view.now).unwrap_or_default();
            (
                format!(
                    "reconnecting in {}: {}",
                    format_age(retry),
                    sanitize(reason)
                ),
                theme.warn,
            )
        }
        StreamState::Ended { reason } => (format!("ended: {}", sanitize(reason)), theme.muted),
    }
}

fn stream_style(id: u32) -> Style {
    Style::default().fg(STREAM_COLORS[id as usize % STREAM_COLORS.len()])
}

fn level_style(level: Level, theme: &Theme) -> Style {
    match level {
        Level::Fatal | Level::Error => theme.crit,
        Level::Warn => theme.warn,
        Level::Info => theme.ok,
        Level::Debug | Level::Trace => theme.muted,
        Level::Unknown => theme.base,
    }
}

fn level_tag(level: Level) -> &'static str {
    match level {
        Level::Fatal => "FTL",
        Level::Error => "ERR",
        Level::Warn => "WRN",
        Level::Info => "INF",
        Level::Debug => "DBG",
        Level::Trace => "TRC",
        Level::Unknown => "   ",
    }
}

/// The narrowest a stream label is shortened to.
const MIN_STREAM_LABEL: usize = 12;

/// A line's stream label in a pane `width` wide: whole while it takes at most a third of the
/// width, else shortened so the messages keep their room (at 80 columns a whole
/// `pod/container` label leaves a stack trace's lines reading the same). A `pod/container`
/// label drops a container its pod is named after; the pod is cut in the middle, so the suffix
/// that tells replicas apart stays.
fn stream_label(label: &str, width: usize) -> String {
    let label = sanitize(label);
    let budget = (width / 3).max(MIN_STREAM_LABEL);
    if label.width() <= budget {
        return label;
    }
    let cut = |text: &str, room: usize| {
        fit(text, u16::try_from(room).unwrap_or(u16::MAX), Cut::Middle).into_owned()
    };
    match label.split_once('/') {
        Some((pod, container)) if !container.contains(['/', ' ']) => {
            if pod.starts_with(container) {
                return cut(pod, budget);
            }
            let room = budget.saturating_sub(container.width() + 1);
            if room >= MIN_STREAM_LABEL {
                return format!("{}/{container}", cut(pod, room));
            }
            cut(&label, budget)
        }
        _ => cut(&label, budget),
    }
}

/// One log line as spans: time, stream, level, message with highlights, chosen fields; the
/// stream label shortened for a pane `width` wide.
fn line_spans<'a>(
    line: &'a LogLine,
    screen: &'a Screen<'a>,
    fields: &'a [String],
    width: usize,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let logs = &screen.view.logs;
    let data = &screen.shown().logs;
    let mut spans = Vec::new();
    if logs.timestamps {
        let at = line.timestamp.unwrap_or(line.received);
        let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let (s, ms) = (secs.as_secs(), secs.subsec_millis());
        spans.push(Span::styled(
            format!(
                "{:02}:{:02}:{:02}.{ms:03} ",
                s / 3600 % 24,
                s / 60 % 60,
                s % 60
            ),
            theme.muted,
        ));
    }
    if data.streams.len() > 1 {
        let label = data
            .streams
            .get(&line.stream)
            .map_or("?", |s| s.label.as_str());
        spans.push(Span::styled(
            format!("{} ", stream_label(label, width)),
            stream_style(line.stream),
        ));
    }
    spans.push(Span::styled(
        format!("{} ", level_tag(line.level)),
        level_style(line.level, theme),
    ));
    let text = line.shown_text(logs.raw);
    let message_style = if line.level >= Level::Error {
        theme.crit.remove_modifier(Modifier::BOLD)
    } else {
        theme.base
    };
    let mut at = 0;
    for range in logs.filter.highlights(text) {
        if range.start < at || range.end > text.len() {
            continue;
        }
        spans.push(Span::styled(&text[at..range.start], message_style));
        spans.push(Span::styled(
            &text[range.clone()],
            theme.selected.add_modifier(Modifier::UNDERLINED),
        ));
        at = range.end;
    }
    spans.push(Span::styled(&text[at..], message_style));
    for (key, value) in line.shown_fields(logs.raw, fields) {
        spans.push(Span::styled(format!(" {key}="), theme.muted));
        spans.push(Span::styled(
            value,
            theme.muted.remove_modifier(Modifier::DIM),
        ));
    }
    spans
}

fn render_lines(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let logs = &screen.view.logs;
    let data = &screen.shown().logs;
    let height = usize::from(area.height);
    screen.view.drawn.set_page(PaneId::Logs, height);
    let width = usize::from(area.width.max(1));
    let fields = &data.fields;
    let Some(bottom) = logs.selected_index() else {
        return;
    };
    // Walk up from the selected line until the pane is full (wrapped lines take several rows).
    let mut rows = 0;
    let mut top = bottom + 1;
    while top > 0 && rows < height {
        let Some(line) = logs
            .visible
            .get(top - 1)
            .and_then(|seq| data.buffer.get(*seq))
        else {
            break;
        };
        let line_width: usize = line_spans(line, screen, fields, width, theme)
            .iter()
            .map(Span::width)
            .sum();
        rows += if logs.wrap {
            line_width.div_ceil(width).max(1)
        } else {
            1
        };
        top -= 1;
    }
    let mut lines = Vec::with_capacity(bottom + 1 - top);
    for index in top..=bottom {
        let Some(line) = logs
            .visible
            .get(index)
            .and_then(|seq| data.buffer.get(*seq))
        else {
            continue;
        };
        let mut rendered = Line::from(line_spans(line, screen, fields, width, theme));
        if !logs.follow && index == bottom {
            rendered = rendered.style(theme.selected);
        }
        lines.push(rendered);
    }
    let mut paragraph = Paragraph::new(lines);
    if logs.wrap {
        paragraph = paragraph.wrap(ratatui::widgets::Wrap { trim: false });
        // Keep the selected line at the bottom when the first line does not fit.
        let overflow = u16::try_from(rows.saturating_sub(height)).unwrap_or(0);
        paragraph = paragraph.scroll((overflow, 0));
    }
    frame.render_widget(paragraph, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_labels_give_way_to_the_messages_and_keep_the_replica() {
        let label = "platform-v2-api-5gjfnmhfbx-4b7hx/platform-v2-api";
        // Wide: whole.
        assert_eq!(stream_label(label, 200), label);
        // 80 columns: the container named like its pod goes, the pod keeps its suffix.
        let short = stream_label(label, 78);
        assert_eq!(short.width(), 26);
        assert!(
            short.starts_with("platform-v2") && short.ends_with("-4b7hx"),
            "{short}"
        );
        // A sidecar keeps its container's name.
        let sidecar = stream_label("babylon-catalog-api-n4s4nctdhs-x5xc8/oauth-proxy", 78);
        assert!(sidecar.ends_with("x5xc8/oauth-proxy"), "{sidecar}");
        assert!(sidecar.width() <= 26, "{sidecar}");
        // A file path is cut in the middle.
        let path = stream_label("/var/log/platform/very/deep/directory/api.log", 60);
        assert!(path.ends_with("api.log") && path.width() == 20, "{path}");
    }
}
