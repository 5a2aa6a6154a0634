//! The YAML view (`y`) over the Pods or Stuck claims pane: a title line naming the object and
//! the age of what is shown, then the YAML as a detail document (long lines wrapped, every
//! wrapped row counted for scrolling). Its lines were sanitised as they arrived.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::detail::{self, Part};
use super::theme::Theme;
use crate::app::Screen;
use crate::app::pane::PaneId;
use crate::text::{format_age, sanitize};

/// Draws the YAML view of `pane` if one is open; false when there is none.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    pane: PaneId,
    screen: &Screen<'_>,
    theme: &Theme,
) -> bool {
    let Some((open, answer)) = screen.yaml(pane) else {
        return false;
    };
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let mut spans = vec![
        Span::styled("YAML", theme.title),
        Span::styled(" · ", theme.muted),
        Span::styled(sanitize(&open.object.label()), theme.title),
        Span::styled(" · ", theme.muted),
    ];
    let lines: Vec<Line<'_>> = match answer {
        None => {
            spans.push(Span::styled("loading…", theme.muted));
            vec![Line::styled(
                format!("GET {} from the API server…", open.object.api_version()),
                theme.muted,
            )]
        }
        Some(answer) => {
            spans.push(Span::styled(
                format!("fetched {}", ago(screen.view.now, answer.at)),
                theme.muted,
            ));
            match &answer.lines {
                Ok(lines) => {
                    let width = usize::from(body.width);
                    lines
                        .iter()
                        .flat_map(|line| wrapped(line, width, theme))
                        .collect()
                }
                Err(reason) => vec![
                    Line::styled(
                        format!(
                            "cannot show {}: {}",
                            sanitize(&open.object.label()),
                            sanitize(reason)
                        ),
                        theme.crit,
                    ),
                    Line::raw(""),
                    Line::styled("y: fetch again · Esc: back", theme.muted),
                ],
            }
        }
    };
    let scroll = detail::render(
        frame,
        body,
        vec![Part::Lines(lines)],
        open.scroll,
        pane,
        screen,
    );
    // Where the page is, as a pager says it, once the document is longer than the page.
    if let Some((_, end)) = screen.view.drawn.detail(pane).filter(|(_, end)| *end > 0) {
        let place = match scroll {
            0 => "top".to_string(),
            s if s >= end => "end".to_string(),
            s => format!("{}%", s * 100 / end),
        };
        spans.push(Span::styled(format!(" · {place}"), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), title);
    true
}

/// `3s ago`, `just now`.
fn ago(now: SystemTime, at: SystemTime) -> String {
    match now.duration_since(at) {
        Ok(age) if age.as_secs() > 0 => format!("{} ago", format_age(age)),
        _ => "just now".into(),
    }
}

/// A line as rows of at most `width` columns: cut anywhere (YAML values are often one long
/// word), the rest indented past the line's own indentation, as YAML continues a long scalar.
fn wrapped<'a>(line: &'a str, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    use unicode_width::UnicodeWidthChar;
    if line.width() <= width || width < 8 {
        return vec![yaml_line(line, theme)];
    }
    let indent = (indentation(line) + 2).min(width / 2);
    let mut rows = vec![];
    let mut rest = line;
    while !rest.is_empty() {
        let room = if rows.is_empty() {
            width
        } else {
            width - indent
        };
        let mut used = 0;
        let mut cut = 0;
        for (at, c) in rest.char_indices() {
            let w = c.width().unwrap_or(0);
            if used + w > room && at > 0 {
                break;
            }
            used += w;
            cut = at + c.len_utf8();
        }
        let (row, tail) = rest.split_at(cut);
        rows.push(if rows.is_empty() {
            yaml_line(row, theme)
        } else {
            Line::from(vec![Span::raw(" ".repeat(indent)), Span::raw(row)])
        });
        rest = tail;
    }
    rows
}

/// Where a line's content starts: after its spaces and list dashes (`  - - `).
fn indentation(line: &str) -> usize {
    let mut at = line.len() - line.trim_start_matches(' ').len();
    while line[at..].starts_with("- ") {
        at += 2;
    }
    at
}

/// A YAML line with its key marked: `  name: value`, `- name: value`, `key:`.
fn yaml_line<'a>(line: &'a str, theme: &Theme) -> Line<'a> {
    let (indent, body) = line.split_at(indentation(line));
    let key_end = body
        .find(": ")
        .filter(|_| !body.starts_with(['"', '\'']))
        .or_else(|| body.strip_suffix(':').map(str::len));
    match key_end {
        Some(end) if !body.is_empty() => Line::from(vec![
            Span::raw(indent),
            Span::styled(&body[..end], theme.key),
            Span::raw(&body[end..]),
        ]),
        _ => Line::raw(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ThemeName;
    use crate::ui::theme::ColorSupport;

    #[test]
    fn long_lines_are_cut_to_the_width_and_continued_indented() {
        let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
        let rows = |line: &str, width: usize| -> Vec<String> {
            wrapped(line, width, &theme)
                .iter()
                .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
                .collect()
        };
        assert_eq!(rows("  name: api", 20), ["  name: api"]);
        assert_eq!(
            rows("  - --flag=aaaaaaaaaabbbbbbbbbb", 16),
            ["  - --flag=aaaaa", "      aaaaabbbbb", "      bbbbb"]
        );
        // Wide characters are never split over the edge.
        assert_eq!(rows("k: 日本語日本語", 10), ["k: 日本語", "  日本語"]);
        for row in rows(&format!("  message: {}", "x".repeat(300)), 40) {
            assert!(row.chars().count() <= 40, "{row}");
        }
    }

    #[test]
    fn keys_are_marked_and_values_kept_whole() {
        let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
        let spans = |line: &str| -> Vec<String> {
            yaml_line(line, &theme)
                .spans
                .iter()
                .map(|s| s.content.to_string())
                .collect()
        };
        assert_eq!(spans("  name: api"), ["  ", "name", ": api"]);
        assert_eq!(spans("  - name: a: b"), ["  - ", "name", ": a: b"]);
        assert_eq!(spans("metadata:"), ["", "metadata", ":"]);
        assert_eq!(spans("  - api:1"), ["  - api:1"]);
        assert_eq!(spans("    \"quoted: key\""), ["    \"quoted: key\""]);
        assert_eq!(spans("---"), ["---"]);
        assert_eq!(spans("- -1"), ["- -1"]);
    }
}
