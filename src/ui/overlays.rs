//! Footer hints, the input line, toasts and the help overlay.

use std::borrow::Cow;

use unicode_width::UnicodeWidthStr;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::layout::centered;
use super::theme::Theme;
use crate::app::keymap::{Command, Context, ModalCommand};
use crate::app::pane::{PaneId, PodsMode};
use crate::app::{DbRow, HelpPage, Input, InputKind, Screen, Toast, ToastLevel};

/// Footer: the input line while typing, otherwise key hints for the focused context, from the
/// key table.
pub fn render_footer(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    if let Some(input) = &screen.view.input {
        render_input_line(frame, area, screen, input, theme);
        return;
    }
    if let Some(toast) = screen.view.live_toast() {
        render_toast(frame, area, toast, theme);
        return;
    }
    let mut spans = Vec::new();
    if screen.view.policy.is_read_only() {
        spans.push(Span::styled(" read-only ", theme.read_only));
    }
    let mut hints: Vec<(String, Cow<'static, str>, Command)> = if screen.view.help.is_some() {
        screen
            .view
            .keymap
            .hints(&[Context::Help], false)
            .into_iter()
            .map(|h| (h.keys, Cow::Borrowed(h.label), h.command))
            .collect()
    } else {
        let detail = shows_detail(screen);
        screen
            .view
            .keymap
            .hints(&screen.key_contexts(), detail)
            .into_iter()
            .filter_map(|h| Some((h.keys, footer_label(screen, h.command, h.label)?, h.command)))
            .collect()
    };
    let detail = shows_detail(screen);
    let is_help_or_quit = |c: &Command| matches!(c, Command::Help | Command::Quit);
    if detail && screen.view.help.is_none() {
        // A detail view is about its row: what acts on it first, help and quit last.
        hints.sort_by_key(|(_, _, command)| is_help_or_quit(command));
    }
    // In a list, help, quit and navigation (pane, move, Enter, `/`) come first so a newcomer
    // at 80 columns finds their way; then the remediations for the selected row, before the
    // pane's other keys. In a detail view the remediations come first: they are what the
    // operator came for. The planner decides which apply (and which are disabled, and why);
    // none in read-only mode.
    let navigation = |c: &Command| {
        is_help_or_quit(c)
            || (!detail
                && matches!(
                    c,
                    Command::FocusNext | Command::Down | Command::Open | Command::Filter
                ))
    };
    let mut offers = Vec::new();
    if screen.view.help.is_none() {
        for (key, label, enabled, _reason) in super::remediation::offer_hints(screen) {
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
    if !detail {
        // Stable: within each group, the key table's order.
        hints.sort_by_key(|(_, _, command)| !navigation(command));
    }
    // A hint of a detail view that is there only where it fits: it never pushes help and quit
    // off the line (`y` is in the help and the README).
    let width = |spans: &[Span<'_>]| spans.iter().map(Span::width).sum::<usize>();
    let hint_width =
        |(keys, label, _): &(String, Cow<'static, str>, Command)| keys.width() + label.width() + 3;
    let needed = width(&spans) + width(&offers) + hints.iter().map(hint_width).sum::<usize>();
    if needed > usize::from(area.width) && !shows_yaml(screen) {
        hints.retain(|(_, _, command)| *command != Command::Yaml);
    }
    for (keys, label, command) in hints {
        if !navigation(&command) {
            spans.append(&mut offers);
        }
        spans.push(Span::styled(format!(" {keys}"), theme.key));
        spans.push(Span::styled(format!(" {label} "), theme.muted));
    }
    spans.append(&mut offers);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Whether the focused pane shows a detail view (its own, or a YAML view): its footer hints
/// are a detail's.
fn shows_detail(screen: &Screen<'_>) -> bool {
    let view = &screen.view.panes[screen.view.focus.index()];
    view.detail_open || view.yaml.is_some()
}

/// Whether the focused pane shows a YAML view.
fn shows_yaml(screen: &Screen<'_>) -> bool {
    screen.view.panes[screen.view.focus.index()].yaml.is_some()
}

/// A footer hint's label for what is on screen now, or None where the command does nothing.
fn footer_label(
    screen: &Screen<'_>,
    command: Command,
    label: &'static str,
) -> Option<Cow<'static, str>> {
    let focus = screen.view.focus;
    let view = &screen.view.panes[focus.index()];
    let data = screen.pane_shows_data(focus);
    // A cache's client list has a cursor (the client `K` acts on) but no order to choose.
    let clients = focus == PaneId::Db && matches!(screen.selected_db(), Some(DbRow::Redis(_)));
    if view.yaml.is_some() {
        // The YAML view scrolls, fetches again and closes; the pane's own keys wait below it.
        return match command {
            Command::Down => Some(Cow::Borrowed("scroll")),
            Command::Yaml => Some(Cow::Borrowed("fetch again")),
            Command::Help | Command::Quit | Command::Back | Command::Zoom | Command::Freeze => {
                Some(Cow::Borrowed(label))
            }
            _ => None,
        };
    }
    let label = match command.context() {
        Context::Pods
        | Context::Kube
        | Context::Logs
        | Context::Db
        | Context::Claims
        | Context::Slo
            if !data =>
        {
            return None;
        }
        _ => match command {
            Command::Down
                if view.detail_open && view.session.is_none() && focus == PaneId::Db && data =>
            {
                if clients {
                    "client"
                } else {
                    "session"
                }
            }
            Command::Down if view.detail_open => "scroll",
            Command::Open if focus == PaneId::Logs && data => return None,
            Command::Open if focus == PaneId::Db && data => {
                if clients {
                    "clients"
                } else {
                    "sessions"
                }
            }
            Command::Filter if focus == PaneId::Logs && data => "filter !excl",
            Command::PreviousLogs if focus != PaneId::Pods => return None,
            // Only while this view has ad-hoc streams to stop.
            Command::StopLogs if screen.view.adhoc_sources(screen.data).is_empty() => {
                return None;
            }
            Command::ToggleView if view.mode != PodsMode::Pods => "next view",
            Command::Follow if screen.view.logs.follow => "pause",
            // Only the DB pane's footer names `o` (the help lists it for every table).
            Command::SortCycle if focus != PaneId::Db || !data || view.session.is_some() => {
                return None;
            }
            Command::SortCycle if view.detail_open => {
                if clients {
                    return None;
                }
                let table = crate::app::sort::Table::Sessions;
                let sort = view.sort;
                let label = sort.key(table).field.label();
                return Some(Cow::Owned(if sort.reversed {
                    format!("sort: {label} {}", sort.arrow(table))
                } else {
                    format!("sort: {label}")
                }));
            }
            _ => label,
        },
    };
    Some(Cow::Borrowed(label))
}

/// The input line: prompt, text, and what Enter and Esc do here.
fn render_input_line(
    frame: &mut Frame<'_>,
    area: Rect,
    screen: &Screen<'_>,
    input: &Input,
    theme: &Theme,
) {
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
    let mut parts: Vec<String> = Vec::new();
    if input.kind == InputKind::Command {
        parts.push(":target NAME · :q · :help".into());
    }
    for hint in screen.view.keymap.hints(&[Context::Input], false) {
        let label = match (hint.command, input.kind) {
            (Command::Modal(ModalCommand::InputSubmit), InputKind::Filter(_)) => "keep",
            (Command::Modal(ModalCommand::InputSubmit), InputKind::Command) => "run",
            (Command::Modal(ModalCommand::InputCancel), InputKind::Filter(_)) => "clear",
            _ => hint.label,
        };
        parts.push(format!("{} {label}", hint.keys));
    }
    if matches!(input.kind, InputKind::Filter(_)) {
        parts.push("regex, case-insensitive".into());
    }
    let hint = format!(" {} ", parts.join(" · "));
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
}

/// The status line while a message is live: the newest message (newest wins, repeats counted),
/// in a fixed place that never covers a pane's rows.
fn render_toast(frame: &mut Frame<'_>, area: Rect, toast: &Toast, theme: &Theme) {
    let style = match toast.level {
        ToastLevel::Info => theme.ok,
        ToastLevel::Warn => theme.warn,
        ToastLevel::Error => theme.crit,
    };
    let head = " ● ";
    let repeats = if toast.repeats > 1 {
        format!(" ×{}", toast.repeats)
    } else {
        String::new()
    };
    let mut hint = "  (:messages)";
    // A long message is cut with `…` (never clipped mid-word at the edge); the count and the
    // hint that `:messages` has it in full stay, the hint giving way first in narrow lines.
    let width = usize::from(area.width);
    let fixed = |hint: &str| head.width() + repeats.width() + hint.width();
    if toast.text.width() + fixed(hint) > width && width < fixed(hint) + MIN_TOAST_TEXT {
        hint = "";
    }
    let room = u16::try_from(width.saturating_sub(fixed(hint))).unwrap_or(u16::MAX);
    let text = super::columns::fit(&toast.text, room, super::columns::Cut::Right);
    let spans = vec![
        Span::styled(head, style),
        Span::styled(text, theme.base),
        Span::styled(repeats, theme.muted),
        Span::styled(hint, theme.muted),
    ];
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A message keeps at least this much of itself before the `(:messages)` hint gives way.
const MIN_TOAST_TEXT: usize = 20;

/// `:messages`: this session's messages, newest first, with their time.
/// `:who`: each viewer of the served console, as `name role target since idle`.
fn who_lines(screen: &Screen<'_>, theme: &Theme) -> Vec<Line<'static>> {
    let Some(served) = &screen.view.served else {
        return vec![Line::styled("  this console is not served", theme.muted)];
    };
    let now = screen.view.now;
    let age = |at: std::time::SystemTime| {
        crate::app::status::format_age(now.duration_since(at).unwrap_or_default())
    };
    let name_width = served
        .who
        .iter()
        .map(|v| v.name.width())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<name_width$}  {:<8}  {:>6}  {:>6}  TARGET",
            "NAME", "ROLE", "SINCE", "IDLE"
        ),
        theme.header,
    )];
    lines.extend(served.who.iter().map(|viewer| {
        let me = if viewer.me { "  (you)" } else { "" };
        Line::styled(
            format!(
                "  {:<name_width$}  {:<8}  {:>6}  {:>6}  {}{me}",
                crate::text::sanitize(&viewer.name),
                viewer.role,
                age(viewer.since),
                age(viewer.last_input),
                crate::text::sanitize(&viewer.target),
            ),
            theme.base,
        )
    }));
    lines
}

fn message_lines(screen: &Screen<'_>, theme: &Theme) -> Vec<Line<'static>> {
    if screen.view.toasts.is_empty() {
        return vec![Line::styled("  no messages yet", theme.muted)];
    }
    screen
        .view
        .toasts
        .iter()
        .rev()
        .map(|toast| {
            let style = match toast.level {
                ToastLevel::Info => theme.ok,
                ToastLevel::Warn => theme.warn,
                ToastLevel::Error => theme.crit,
            };
            let at = time::OffsetDateTime::from(toast.at);
            let repeats = if toast.repeats > 1 {
                format!(" ×{}", toast.repeats)
            } else {
                String::new()
            };
            Line::from(vec![
                Span::styled(
                    format!("{:02}:{:02}:{:02} ", at.hour(), at.minute(), at.second()),
                    theme.muted,
                ),
                Span::styled("● ", style),
                Span::styled(format!("{}{repeats}", toast.text), theme.base),
            ])
        })
        .collect()
}

/// The help overlay, generated from the key table.
pub fn render_help(
    frame: &mut Frame<'_>,
    body: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
    scroll: u16,
) {
    if matches!(screen.view.help_page, HelpPage::Messages | HelpPage::Who) {
        let (lines, title) = if screen.view.help_page == HelpPage::Who {
            (who_lines(screen, theme), "Watching")
        } else {
            (message_lines(screen, theme), "Messages")
        };
        let rect = centered(body, 90, lines.len() as u16 + 2);
        frame.render_widget(Clear, rect);
        let close = hint_keys(screen, ModalCommand::HelpClose).unwrap_or_default();
        let block = Block::new()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(theme.border_focused)
            .title(Line::styled(
                format!(" {title} · {close} closes "),
                theme.title,
            ));
        // Long messages (server errors) wrap here in full.
        frame.render_widget(
            Paragraph::new(lines)
                .style(theme.popup)
                .block(block)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .scroll((scroll, 0)),
            rect,
        );
        return;
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    for context in [
        Context::Global,
        Context::List,
        Context::Kube,
        Context::Pods,
        Context::Logs,
        Context::Db,
        Context::Claims,
        Context::Slo,
    ] {
        help_section(
            &mut lines,
            theme,
            context.title(),
            screen.view.keymap.help_rows(context),
        );
    }
    let command_line = [
        (":target NAME", "switch target"),
        (":q", "quit"),
        (":help", "this help"),
        (":freeze", "freeze display"),
        (":messages", "the messages shown so far"),
        (":who", "who watches (served console)"),
        (":zoom", "zoom pane"),
        (":deploy :sts :ds", "Pods pane: workloads"),
        (":jobs :cronjobs", "Pods pane: jobs, backups"),
        (":hpa :nodes", "Pods pane: autoscalers, nodes"),
        (":events :certs", "Pods pane: events, certs"),
        (":pods", "Pods pane: pods again"),
    ];
    help_section(
        &mut lines,
        theme,
        "Command line (:)",
        command_line
            .into_iter()
            .map(|(cmd, what)| (cmd.to_string(), what))
            .collect(),
    );
    if screen.view.policy.is_read_only() {
        let why: Vec<String> = screen
            .view
            .policy
            .reasons()
            .iter()
            .map(ToString::to_string)
            .collect();
        lines.push(Line::styled("Remediations", theme.title));
        lines.push(Line::styled(
            format!("  disabled: read-only ({})", why.join(", ")),
            theme.read_only,
        ));
        lines.push(Line::raw(""));
    } else {
        help_section(
            &mut lines,
            theme,
            "Remediations (selected row; dry run, then confirm)",
            screen.view.keymap.remediation_rows(),
        );
        for context in [Context::Confirm, Context::Pick, Context::Form] {
            help_section(
                &mut lines,
                theme,
                context.title(),
                screen.view.keymap.help_rows(context),
            );
        }
    }
    // Layers that open in read-only mode too; least needed, so last.
    for context in [Context::Input, Context::Help] {
        help_section(
            &mut lines,
            theme,
            context.title(),
            screen.view.keymap.help_rows(context),
        );
    }
    lines.pop();
    for warning in &screen.view.keymap.warnings {
        lines.push(Line::styled(format!("  ! {warning}"), theme.warn));
    }
    let rect = centered(body, 64, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    // The title names the keys as the table binds them.
    let title = match (
        hint_keys(screen, ModalCommand::HelpDown),
        hint_keys(screen, ModalCommand::HelpClose),
    ) {
        (Some(scroll), Some(close)) => format!(" Help · {scroll} scroll · {close} closes "),
        _ => " Help ".to_string(),
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Line::styled(title, theme.title));
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.popup)
            .block(block)
            .scroll((scroll, 0)),
        rect,
    );
}

/// A titled section of `keys  what` rows and a blank line; nothing when it has no rows.
fn help_section(
    lines: &mut Vec<Line<'static>>,
    theme: &Theme,
    title: &str,
    rows: Vec<(String, &str)>,
) {
    if rows.is_empty() {
        return;
    }
    lines.push(Line::styled(title.to_string(), theme.title));
    for (keys, description) in rows {
        lines.push(Line::from(vec![
            // At least one space after keys longer than the column.
            Span::styled(format!("  {keys:<13} "), theme.key),
            Span::raw(description.to_string()),
        ]));
    }
    lines.push(Line::raw(""));
}

/// The keys the help overlay's hint for `command` names.
fn hint_keys(screen: &Screen<'_>, command: ModalCommand) -> Option<String> {
    screen
        .view
        .keymap
        .hints(&[Context::Help], false)
        .into_iter()
        .find(|h| h.command == Command::Modal(command))
        .map(|h| h.keys)
}
