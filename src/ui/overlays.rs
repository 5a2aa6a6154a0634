//! Footer hints, the input line, toasts and the help overlay.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::layout::centered;
use super::theme::Theme;
use crate::app::keymap::Command;
use crate::app::pane::PaneId;
use crate::app::{App, DbRow, InputKind, ToastLevel};

/// Footer: the input line while typing, otherwise key hints for the focused context.
pub fn render_footer(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    if let Some(input) = &app.input {
        let prompt = match input.kind {
            InputKind::Filter(_) => "/",
            InputKind::Command => ":",
        };
        let prompt_width = prompt.len() as u16;
        frame.render_widget(
            Paragraph::new(Span::styled(prompt, theme.key)),
            Rect {
                width: prompt_width,
                ..area
            },
        );
        let hint = match input.kind {
            InputKind::Filter(_) => " Enter keep · Esc clear · regex, case-insensitive ",
            InputKind::Command => " :target NAME · :q · :help · Enter run · Esc cancel ",
        };
        let hint_width =
            (hint.chars().count() as u16).min(area.width.saturating_sub(prompt_width + 10));
        let text_rect = Rect {
            x: area.x + prompt_width,
            width: area.width - prompt_width - hint_width,
            ..area
        };
        frame.render_widget(&input.textarea, text_rect);
        let hint_rect = Rect {
            x: area.right() - hint_width,
            width: hint_width,
            ..area
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, theme.muted)), hint_rect);
        return;
    }
    let db_pane = app.focus == PaneId::Db && app.pane_shows_data(PaneId::Db);
    let redis_selected = matches!(app.selected_db(), Some(DbRow::Redis(_)));
    let sort = format!(
        "sort: {}",
        app.panes[PaneId::Db.index()].session_sort.label()
    );
    let hints: Vec<(Command, &str)> = if app.help.is_some() {
        vec![(Command::Back, "close"), (Command::Down, "scroll")]
    } else if db_pane && app.panes[PaneId::Db.index()].detail_open {
        // A cache's client list has no cursor and no order to choose.
        if redis_selected {
            vec![
                (Command::Back, "back"),
                (Command::Zoom, "zoom"),
                (Command::Freeze, "freeze"),
                (Command::Help, "help"),
                (Command::Quit, "quit"),
            ]
        } else {
            vec![
                (Command::Back, "back"),
                (Command::Down, "session"),
                (Command::SortCycle, &sort),
                (Command::Zoom, "zoom"),
                (Command::Freeze, "freeze"),
                (Command::Help, "help"),
                (Command::Quit, "quit"),
            ]
        }
    } else if app.panes[app.focus.index()].detail_open {
        vec![
            (Command::Back, "back"),
            (Command::Down, "scroll"),
            (Command::Zoom, "zoom"),
            (Command::Help, "help"),
            (Command::Quit, "quit"),
        ]
    } else if app.focus == PaneId::Logs && app.pane_shows_data(PaneId::Logs) {
        vec![
            (Command::Help, "help"),
            (Command::Quit, "quit"),
            (Command::FocusNext, "pane"),
            (
                Command::Follow,
                if app.logs.follow { "pause" } else { "follow" },
            ),
            (Command::Down, "move"),
            (Command::Filter, "filter !excl"),
            (Command::LevelCycle, "level"),
            (Command::SourceCycle, "source"),
            (Command::Wrap, "wrap"),
            (Command::RawToggle, "raw"),
            (Command::Copy, "copy"),
            (Command::Save, "save"),
            (Command::Zoom, "zoom"),
        ]
    } else if app.focus == PaneId::Pods && app.pane_shows_data(PaneId::Pods) {
        vec![
            (Command::Help, "help"),
            (Command::Quit, "quit"),
            (Command::FocusNext, "pane"),
            (Command::Down, "move"),
            (Command::Open, "detail"),
            (
                Command::ToggleView,
                if app.panes[PaneId::Pods.index()].alt_view {
                    "pods"
                } else {
                    "deploys"
                },
            ),
            (Command::OpenLogs, "logs"),
            (Command::Filter, "filter"),
            (Command::Zoom, "zoom"),
            (Command::Freeze, "freeze"),
            (Command::CommandLine, "cmd"),
        ]
    } else if db_pane {
        vec![
            (Command::Help, "help"),
            (Command::Quit, "quit"),
            (Command::FocusNext, "pane"),
            (Command::Down, "move"),
            (
                Command::Open,
                if redis_selected {
                    "clients"
                } else {
                    "sessions"
                },
            ),
            (Command::SortCycle, "sort"),
            (Command::Filter, "filter"),
            (Command::Zoom, "zoom"),
            (Command::Freeze, "freeze"),
            (Command::NextTarget, "target"),
            (Command::CommandLine, "cmd"),
        ]
    } else {
        vec![
            (Command::Help, "help"),
            (Command::Quit, "quit"),
            (Command::FocusNext, "pane"),
            (Command::Down, "move"),
            (Command::Open, "detail"),
            (Command::Filter, "filter"),
            (Command::Zoom, "zoom"),
            (Command::Freeze, "freeze"),
            (Command::NextTarget, "target"),
            (Command::CommandLine, "cmd"),
        ]
    };
    let mut hints = hints;
    if app.focus == PaneId::Pods
        && app.panes[PaneId::Pods.index()].detail_open
        && app.help.is_none()
    {
        hints.insert(3, (Command::PreviousLogs, "previous logs"));
    }
    let mut spans = Vec::new();
    if app.policy.is_read_only() {
        spans.push(Span::styled(" read-only ", theme.read_only));
    }
    // Remediations for the selected row come right after help and quit: they are what the
    // operator came for. The planner decides which apply (and which are disabled, and why);
    // none in read-only mode.
    let mut offers = Vec::new();
    if app.help.is_none() {
        for (key, label, enabled, _reason) in super::remediation::offer_hints(app) {
            if key.is_empty() {
                continue;
            }
            if enabled {
                offers.push(Span::styled(format!(" {key}"), theme.key));
                offers.push(Span::styled(format!(" {label} "), theme.base));
            } else {
                offers.push(Span::styled(format!(" {key} {label}✗ "), theme.muted));
            }
        }
    }
    let offers_after = hints
        .iter()
        .take_while(|(c, _)| matches!(c, Command::Help | Command::Quit))
        .count();
    for (i, (command, label)) in hints.into_iter().enumerate() {
        if i == offers_after {
            spans.append(&mut offers);
        }
        if let Some(key) = app.keymap.keys_for(command).first() {
            // Movement shows both directions, e.g. `j/k`.
            let key = match (command, app.keymap.keys_for(Command::Up).first()) {
                (Command::Down, Some(up)) => format!("{key}/{up}"),
                _ => key.to_string(),
            };
            spans.push(Span::styled(format!(" {key}"), theme.key));
            spans.push(Span::styled(format!(" {label} "), theme.muted));
        }
    }
    spans.append(&mut offers);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Toasts stack in the top-right corner of the body.
pub fn render_toasts(frame: &mut Frame<'_>, body: Rect, app: &App, theme: &Theme) {
    let mut y = body.y;
    for toast in app.toasts.iter().rev() {
        let style = match toast.level {
            ToastLevel::Info => theme.ok,
            ToastLevel::Warn => theme.warn,
            ToastLevel::Error => theme.crit,
        };
        let width = (toast.text.chars().count() as u16 + 4)
            .min(body.width.saturating_sub(2))
            .min(90);
        let inner_width = width.saturating_sub(2).max(1) as usize;
        let height = (toast.text.chars().count().div_ceil(inner_width) as u16 + 2).min(5);
        if y + height > body.bottom() {
            break;
        }
        let rect = Rect {
            x: body.right().saturating_sub(width + 1),
            y,
            width,
            height,
        };
        frame.render_widget(Clear, rect);
        let block = Block::new()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(style);
        frame.render_widget(
            Paragraph::new(toast.text.as_str())
                .style(theme.popup)
                .block(block)
                .wrap(Wrap { trim: true }),
            rect,
        );
        y += height;
    }
}

/// The help overlay, generated from the key table.
pub fn render_help(frame: &mut Frame<'_>, body: Rect, app: &App, theme: &Theme, scroll: u16) {
    let mut lines = Vec::new();
    for (context, rows) in app.keymap.help_sections(app.policy.is_read_only()) {
        lines.push(Line::styled(context.title().to_string(), theme.title));
        for (keys, description) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<14}"), theme.key),
                Span::raw(description),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("Command line (:)", theme.title));
    for (cmd, what) in [
        (":target NAME", "switch target"),
        (":q", "quit"),
        (":help", "this help"),
        (":freeze", "freeze display"),
        (":zoom", "zoom pane"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {cmd:<14}"), theme.key),
            Span::raw(what),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Remediations", theme.title));
    if app.policy.is_read_only() {
        let why: Vec<String> = app
            .policy
            .reasons()
            .iter()
            .map(ToString::to_string)
            .collect();
        lines.push(Line::styled(
            format!("  disabled: read-only ({})", why.join(", ")),
            theme.read_only,
        ));
    } else {
        lines.push(Line::styled("  none in this build yet", theme.muted));
    }
    for warning in &app.keymap.warnings {
        lines.push(Line::styled(format!("  ! {warning}"), theme.warn));
    }
    let rect = centered(body, 64, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Line::styled(
            " Help · j/k scroll · Esc closes ",
            theme.title,
        ));
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.popup)
            .block(block)
            .scroll((scroll, 0)),
        rect,
    );
}
