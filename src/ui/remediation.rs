//! The remediation flow on screen: the confirmation dialog (plan, dry run, buttons), the rollout
//! undo revision picker, the scale input, the running / following status line, and the key hints
//! of the remediations offered for the selected row.
//!
//! Reads `&App` only. Every string shown comes from servers or config and is drawn as text
//! (sanitised once more here: cheap, and nothing can reach the terminal as a control sequence).
//! Nothing here panics or overflows at tiny sizes: dialogs shrink, dropping their least important
//! rows first (blank lines, key hints, the dry run's details, ...); the input and the buttons go
//! last, and a wrapped name is shown whole or not at all.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph};
use ratatui_textarea::TextArea;

use super::columns::{Column, Cut, fit, layout};
use super::theme::Theme;
use crate::app::Screen;
use crate::app::keymap::{Command, Context, ModalCommand};
use crate::app::remediate::Following;
use crate::app::remediate::{Modal, PreviewState, Running, Stage, verb_text};
use crate::remediation::plan::{Selection, Verb};
use crate::remediation::{ActionKind, HistoryEntry, Place, Plan, Preview, PreviewSession};
use crate::text::format_age;

/// Braille spinner frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Most dry-run detail lines (or sessions) shown at once; a longer list scrolls.
const MAX_PREVIEW_LINES: usize = 10;
/// The least the session table leaves for the query column.
const QUERY_MIN: u16 = 36;
/// Width of the `target  ` / `where   ` labels.
const LABEL_WIDTH: usize = 8;
/// Outer widths the dialogs ask for (less on narrow terminals).
const CONFIRM_WIDTH: u16 = 84;
const HISTORY_WIDTH: u16 = 100;
/// The confirmation dialog listing sessions.
const TABLE_WIDTH: u16 = 100;
const SCALE_WIDTH: u16 = 68;
/// The silence form: room for a matcher with a regex and a sentence of comment.
const SILENCE_WIDTH: u16 = 84;
/// Columns of the scale input.
const SCALE_INPUT_WIDTH: u16 = 8;

/// One remediation key hint: key label (e.g. `r`), what it does, whether it can run now, and
/// why not when it cannot.
pub type OfferHint = (String, String, bool, Option<String>);

/// The remediations offered for the selected row, with their keys, for the footer and help.
/// In read-only mode a single `read-only` entry (no key) with the policy's reasons: no
/// remediation key does anything then.
pub fn offer_hints(screen: &Screen<'_>) -> Vec<OfferHint> {
    if screen.view.policy.is_read_only() {
        let why: Vec<String> = screen
            .view
            .policy
            .reasons()
            .iter()
            .map(ToString::to_string)
            .collect();
        return vec![(
            String::new(),
            "read-only".to_string(),
            false,
            Some(why.join(", ")),
        )];
    }
    screen
        .offers()
        .into_iter()
        .map(|offer| {
            (
                // The first key only: the footer is short at 80 columns.
                screen
                    .view
                    .keymap
                    .keys_for(Command::Remediate(offer.verb))
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                offer.verb.label().to_string(),
                offer.enabled.is_ok(),
                offer.enabled.err(),
            )
        })
        .collect()
}

/// The spinner frame for `now`: moves every 100 ms, and at each 1 s clock tick too (a frame is
/// drawn at least once a second), and is the same for the same `now` (deterministic snapshots).
pub fn spinner(now: SystemTime) -> &'static str {
    let tenths = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        / 100;
    SPINNER[((tenths + tenths / 10) % 10) as usize]
}

/// Splits a status line for running remediations off the bottom of the body, when any run.
pub fn split_body(body: Rect, screen: &Screen<'_>) -> (Rect, Option<Rect>) {
    if screen.view.running.is_empty() || body.height < 4 {
        return (body, None);
    }
    let line = Rect {
        y: body.bottom() - 1,
        height: 1,
        ..body
    };
    (
        Rect {
            height: body.height - 1,
            ..body
        },
        Some(line),
    )
}

/// Draws the running line (when `status` is given) and the open dialog over the body; while a
/// dialog is open the footer shows the dialog's keys (every key goes to it).
pub fn render(
    frame: &mut Frame<'_>,
    body: Rect,
    status: Option<Rect>,
    footer: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    if let Some(area) = status {
        render_running(frame, area, screen, theme);
    }
    if let Some(modal) = &screen.view.modal {
        render_modal(frame, body, footer, screen, modal, theme);
    }
}

// ---------------------------------------------------------------------------------------------
// Running line

fn render_running(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let Some(newest) = screen.view.running.last() else {
        return;
    };
    let width = usize::from(area.width);
    let elapsed = format_age(
        screen
            .view
            .now
            .duration_since(newest.started)
            .unwrap_or_default(),
    );
    let more = screen.view.running.len() - 1;
    let separator = if newest.following.is_some() {
        " · "
    } else {
        " "
    };
    let suffix = if more > 0 {
        format!("{separator}{elapsed} · +{more} more running ")
    } else {
        format!("{separator}{elapsed} ")
    };
    let head = format!(" {} ", spinner(screen.view.now));
    let (label, detail) = running_text(newest);
    // The elapsed time is kept: the label and the rollout's news give way first.
    let room = width.saturating_sub(text_width(&head) + text_width(&suffix));
    let label = truncate(&label, room);
    let detail = truncate(&detail, room.saturating_sub(text_width(&label)));
    let line = Line::from(vec![
        Span::styled(head, theme.key),
        Span::styled(label, theme.title),
        Span::styled(detail, theme.popup),
        Span::styled(suffix, theme.muted),
    ]);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(line).style(theme.base), area);
}

/// `rollout undo deployment/x …` while it runs, then `· following deployment ns/x` and the
/// rollout's news once executed and followed.
fn running_text(running: &Running) -> (String, String) {
    let label = clean(&running.label).into_owned();
    let detail = match &running.following {
        // First the rollout's name, then its news.
        Some(Following::Started(rollout)) => {
            format!(" · following {}", clean(&rollout.to_string()))
        }
        Some(Following::News(news)) => format!(" · {}", rollout_news(&clean(news))),
        None => " …".to_string(),
    };
    (label, detail)
}

/// kubectl's `Waiting for deployment "x" rollout to finish: 2 of 3 updated replicas are
/// available...` (or `daemon set "x"`) without what the label already says: `Waiting for
/// rollout: 2 of 3 updated replicas are available`.
fn rollout_news(news: &str) -> Cow<'_, str> {
    match news
        .strip_prefix("Waiting for ")
        .and_then(|rest| rest.split_once(" rollout to finish: "))
    {
        Some((_, state)) => Cow::Owned(format!(
            "Waiting for rollout: {}",
            state.trim_end_matches("...")
        )),
        None => Cow::Borrowed(news),
    }
}

// ---------------------------------------------------------------------------------------------
// Dialogs

/// A row of a dialog.
enum Item<'a> {
    Text(Line<'static>),
    /// A prompt, a text input `width` columns wide, and what follows it, on one row.
    Input {
        prompt: Line<'static>,
        input: &'a TextArea<'static>,
        width: u16,
        after: Line<'static>,
    },
}

impl Item<'_> {
    fn blank() -> Self {
        Self::Text(Line::raw(""))
    }
}

/// How much a row matters (0 = most): on a short terminal the least important rows go first.
/// The controls: the input, the buttons, the revisions to pick from.
const CONTROL: u8 = 0;
/// What happens (object, change), and errors about the input.
const CORE: u8 = 1;
/// Why nothing can run (dry run failed, no audit trail).
const REFUSAL: u8 = 2;
/// Where it happens (target, context / namespace), the table header.
const PLACE: u8 = 3;
/// The dry run's summary.
const SUMMARY: u8 = 4;
/// The dry run's detail lines.
const DETAIL: u8 = 5;
/// Key hints: the footer shows them as well.
const HINTS: u8 = 6;
/// Blank separators.
const SPACE: u8 = 7;

/// A row of a dialog, how much it matters, and the rows it goes with.
struct Row<'a> {
    priority: u8,
    group: usize,
    item: Item<'a>,
}

/// The rows of a dialog, in order.
#[derive(Default)]
struct Rows<'a> {
    rows: Vec<Row<'a>>,
    groups: usize,
}

impl<'a> Rows<'a> {
    fn push(&mut self, priority: u8, item: Item<'a>) {
        self.groups += 1;
        let group = self.groups;
        self.rows.push(Row {
            priority,
            group,
            item,
        });
    }

    /// Rows that go together (a wrapped field): shown all or not at all, so that no half of a
    /// name or a namespace is ever taken for the whole.
    fn extend(&mut self, priority: u8, items: impl IntoIterator<Item = Item<'a>>) {
        self.groups += 1;
        let group = self.groups;
        self.rows.extend(items.into_iter().map(|item| Row {
            priority,
            group,
            item,
        }));
    }

    /// Rows that may be cut at the end (a wrapped message, key hints).
    fn extend_lines(&mut self, priority: u8, items: impl IntoIterator<Item = Item<'a>>) {
        for item in items {
            self.push(priority, item);
        }
    }

    fn blank(&mut self) {
        self.push(SPACE, Item::blank());
    }

    fn append(&mut self, other: Self) {
        let offset = self.groups;
        self.rows.extend(other.rows.into_iter().map(|row| Row {
            group: row.group + offset,
            ..row
        }));
        self.groups += other.groups;
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// At most `rows` rows: the least important go first (the last of them first), the order of
    /// the others is kept.
    fn fit(mut self, rows: usize) -> Vec<Item<'a>> {
        while self.rows.len() > rows {
            let worst = self
                .rows
                .iter()
                .map(|r| r.priority)
                .max()
                .unwrap_or_default();
            let Some(victim) = self
                .rows
                .iter()
                .rposition(|r| r.priority == worst)
                .map(|index| self.rows[index].group)
            else {
                break;
            };
            self.rows.retain(|r| r.group != victim);
        }
        self.rows.into_iter().map(|r| r.item).collect()
    }
}

/// The chrome of a dialog.
struct Chrome {
    title: String,
    badge: Option<String>,
    style: Style,
    border: BorderType,
}

/// A key hint: the keys, what they do, and whether they do something now.
type Hint = (String, &'static str, bool);

/// A dialog's key hints, from the key table: the hinted commands of the dialog's context that
/// `now` says apply, with the label it gives (the table's by default) and whether they do
/// something now.
fn dialog_hints(
    screen: &Screen<'_>,
    context: Context,
    now: impl Fn(ModalCommand, &'static str) -> Option<(&'static str, bool)>,
) -> Vec<Hint> {
    screen
        .view
        .keymap
        .hints(&[context], false)
        .into_iter()
        .filter_map(|hint| {
            let Command::Modal(command) = hint.command else {
                return None;
            };
            let (label, enabled) = now(command, hint.label)?;
            Some((hint.keys, label, enabled))
        })
        .collect()
}

/// Outer width of a dialog for this body, and the width of its text inside.
fn dialog_width(body: Rect, want: u16) -> (u16, usize) {
    let mut outer = want.min(body.width.saturating_sub(2));
    if outer < 20 {
        outer = body.width;
    }
    (outer, usize::from(outer.saturating_sub(4)))
}

/// Rows of text a dialog can hold in this body.
fn dialog_rows(body: Rect) -> usize {
    usize::from(body.height.saturating_sub(2))
}

fn render_modal(
    frame: &mut Frame<'_>,
    body: Rect,
    footer: Rect,
    screen: &Screen<'_>,
    modal: &Modal,
    theme: &Theme,
) {
    let rows = dialog_rows(body);
    let (chrome, outer, items, hints) = match &modal.stage {
        Stage::Confirm {
            plan,
            preview,
            typed,
            yes_focused,
            scroll,
            shown,
            ..
        } => {
            // A table of sessions gets the room of a table: the query is what tells them apart.
            let table = preview.preview().is_some_and(|p| !p.sessions.is_empty());
            let want = if table { TABLE_WIDTH } else { CONFIRM_WIDTH };
            let (outer, inner) = dialog_width(body, want);
            let dialog = Confirm {
                plan,
                preview,
                typed: typed.as_ref(),
                yes_focused: *yes_focused,
                scroll: *scroll,
                shown,
            };
            let hints = dialog.hints(screen, modal.stage.key_context());
            let items = dialog.items(screen, theme, inner, rows, &hints);
            (dialog.chrome(theme), outer, items, hints)
        }
        Stage::History {
            namespace,
            name,
            revisions,
            selected,
            ..
        } => {
            let (outer, inner) = dialog_width(body, HISTORY_WIDTH);
            let loaded = matches!(revisions, Some(Ok(list)) if !list.is_empty());
            let hints = dialog_hints(screen, Context::Pick, |command, label| {
                Some((label, loaded || command == ModalCommand::PickCancel))
            });
            let items = history_items(
                screen,
                theme,
                (namespace, name),
                revisions.as_ref(),
                *selected,
                (inner, rows),
                &hints,
            );
            let chrome = Chrome {
                title: format!(" {} · pick a revision ", Verb::Undo.label()),
                badge: protected_badge(screen),
                style: theme.warn,
                border: BorderType::Rounded,
            };
            (chrome, outer, items, hints)
        }
        Stage::Operators {
            operators,
            selected,
        } => {
            let entries: Vec<String> = operators
                .iter()
                .map(|(name, ns, selector)| {
                    format!(
                        "{}  in {}  pods {}",
                        clean(name),
                        clean(ns),
                        clean(selector)
                    )
                })
                .collect();
            pick_list(
                body,
                screen,
                theme,
                &entries,
                *selected,
                format!(" {} · pick an operator ", Verb::RestartOperator.label()),
            )
        }
        Stage::PickSilence {
            silences, selected, ..
        } => {
            let entries: Vec<String> = silences
                .iter()
                .map(|(id, text)| format!("{}  {}", clean(id), clean(text)))
                .collect();
            pick_list(
                body,
                screen,
                theme,
                &entries,
                *selected,
                format!(" {} · pick a silence ", Verb::Expire.label()),
            )
        }
        Stage::Silence { form, .. } => {
            let (outer, inner) = dialog_width(body, SILENCE_WIDTH);
            let hints = dialog_hints(screen, Context::Form, |command, label| {
                use crate::app::silence::Field;
                let field = form.field;
                Some(match command {
                    ModalCommand::FormUp | ModalCommand::FormDown => {
                        (label, field == Field::Matchers)
                    }
                    ModalCommand::FormRemove => {
                        (label, field == Field::Matchers && !form.matchers.is_empty())
                    }
                    ModalCommand::FormPrevChoice | ModalCommand::FormNextChoice => {
                        (label, field == Field::Duration)
                    }
                    ModalCommand::FormSubmit if field == Field::Add => ("add / preview", true),
                    _ => (label, true),
                })
            });
            let items = silence_items(screen, theme, form, inner, &hints);
            let chrome = Chrome {
                title: format!(" {} ", Verb::Silence.label()),
                badge: protected_badge(screen),
                style: theme.warn,
                border: BorderType::Rounded,
            };
            (chrome, outer, items, hints)
        }
        Stage::Scale {
            selection,
            name,
            current,
            input,
            error,
        } => {
            let (outer, inner) = dialog_width(body, SCALE_WIDTH);
            let hints = dialog_hints(screen, Context::Input, |command, label| {
                Some(match command {
                    ModalCommand::InputSubmit => ("preview", true),
                    _ => (label, true),
                })
            });
            let items = scale_items(
                screen,
                theme,
                selection,
                (name, *current),
                input,
                error.as_deref(),
                inner,
                &hints,
            );
            let chrome = Chrome {
                title: format!(" {} ", Verb::Scale.label()),
                badge: protected_badge(screen),
                style: theme.warn,
                border: BorderType::Rounded,
            };
            (chrome, outer, items, hints)
        }
    };
    draw_dialog(frame, body, outer, &chrome, items.fit(rows), theme);
    // Every key goes to the dialog: the footer says which ones do something.
    frame.render_widget(Clear, footer);
    let line = hint_lines(&hints, usize::from(footer.width).saturating_sub(1), theme)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut spans = vec![Span::raw(" ")];
    spans.extend(line.spans);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), footer);
}

/// A dialog to pick one entry of a list (an operator, a silence).
fn pick_list<'a>(
    body: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
    entries: &[String],
    selected: usize,
    title: String,
) -> (Chrome, u16, Rows<'a>, Vec<Hint>) {
    let (outer, inner) = dialog_width(body, HISTORY_WIDTH);
    let hints = dialog_hints(screen, Context::Pick, |_, label| Some((label, true)));
    let mut items = Rows::default();
    items.extend(
        PLACE,
        field("target", screen.target_name(), theme.title, inner, theme),
    );
    items.blank();
    let rows_of = entries.iter().enumerate().map(|(i, entry)| {
        let marker = if i == selected { "▸ " } else { "  " };
        let text = truncate(&format!("{marker}{entry}"), inner);
        let style = if i == selected {
            theme.selected
        } else {
            theme.popup
        };
        Item::Text(Line::styled(text, style))
    });
    items.extend(CONTROL, rows_of.collect::<Vec<_>>());
    items.blank();
    items.extend_lines(
        HINTS,
        hint_lines(&hints, inner, theme).into_iter().map(Item::Text),
    );
    let chrome = Chrome {
        title,
        badge: protected_badge(screen),
        style: theme.warn,
        border: BorderType::Rounded,
    };
    (chrome, outer, items, hints)
}

/// The silence form: matchers (a list), a matcher to add, the duration, the comment. The
/// focused field's label is marked `▸` and bold.
fn silence_items<'a>(
    screen: &Screen<'_>,
    theme: &Theme,
    form: &'a crate::app::silence::SilenceForm,
    width: usize,
    hints: &[Hint],
) -> Rows<'a> {
    use crate::app::silence::{DURATIONS, Field};
    let label = |text: &str, field: Field| {
        let focused = form.field == field;
        let marker = if focused { "▸" } else { " " };
        let style = if focused {
            theme.key.add_modifier(Modifier::BOLD)
        } else {
            theme.muted
        };
        Span::styled(format!("{marker}{text:<9}"), style)
    };
    let input_width = u16::try_from(width.saturating_sub(10)).unwrap_or(u16::MAX);
    let mut items = Rows::default();
    items.extend(
        PLACE,
        field("target", screen.target_name(), theme.title, width, theme),
    );
    items.blank();
    let mut list = vec![Item::Text(Line::from(vec![
        label("matchers", Field::Matchers),
        Span::styled(
            format!("{} (all must match)", form.matchers.len()),
            theme.muted,
        ),
    ]))];
    if form.matchers.is_empty() {
        list.push(Item::Text(Line::styled(
            "   none: add one below",
            theme.crit,
        )));
    }
    for (i, matcher) in form.matchers.iter().enumerate() {
        let picked = form.field == Field::Matchers && i == form.selected;
        let marker = if picked { "   ▸ " } else { "     " };
        let style = if picked { theme.selected } else { theme.popup };
        list.push(Item::Text(Line::styled(
            truncate(&format!("{marker}{}", clean(&matcher.text())), width),
            style,
        )));
    }
    items.extend(CONTROL, list);
    items.push(
        CONTROL,
        Item::Input {
            prompt: Line::from(label("add", Field::Add)),
            input: &form.add,
            width: input_width.min(48),
            after: Line::styled(" name=\"v\", =~, !=, !~", theme.muted),
        },
    );
    let mut choices = vec![label("duration", Field::Duration)];
    for (i, (text, _)) in DURATIONS.iter().enumerate() {
        let style = if i == form.duration {
            theme.selected
        } else {
            theme.popup
        };
        choices.push(Span::styled(format!(" {text} "), style));
    }
    let custom = form.duration == DURATIONS.len();
    choices.push(Span::styled(
        " custom ",
        if custom { theme.selected } else { theme.popup },
    ));
    if custom {
        choices.push(Span::raw(" "));
        items.push(
            CONTROL,
            Item::Input {
                prompt: Line::from(choices),
                input: &form.custom,
                width: 10,
                after: Line::styled(" e.g. 90m, 1h30m, 3d", theme.muted),
            },
        );
    } else {
        items.push(CONTROL, Item::Text(Line::from(choices)));
    }
    items.push(
        CONTROL,
        Item::Input {
            prompt: Line::from(label("comment", Field::Comment)),
            input: &form.comment,
            width: input_width,
            after: Line::raw(""),
        },
    );
    if let Some(error) = &form.error {
        items.extend_lines(
            CORE,
            wrap(&clean(error), width.max(1))
                .into_iter()
                .map(|part| Item::Text(Line::styled(part, theme.crit))),
        );
    }
    items.blank();
    items.extend_lines(
        HINTS,
        hint_lines(hints, width, theme).into_iter().map(Item::Text),
    );
    items
}

fn protected_badge(screen: &Screen<'_>) -> Option<String> {
    screen
        .target()
        .is_some_and(|t| t.protected)
        .then(|| " protected target ".to_string())
}

/// Draws a dialog of these rows centred in the body.
fn draw_dialog(
    frame: &mut Frame<'_>,
    body: Rect,
    outer_width: u16,
    chrome: &Chrome,
    items: Vec<Item<'_>>,
    theme: &Theme,
) {
    let height = u16::try_from(items.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let rect = super::layout::centered(body, outer_width, height);
    frame.render_widget(Clear, rect);
    let mut block = Block::bordered()
        .border_type(chrome.border)
        .border_style(chrome.style)
        .padding(Padding::horizontal(1))
        .style(theme.popup)
        .title(Line::styled(
            chrome.title.clone(),
            chrome.style.add_modifier(Modifier::BOLD),
        ));
    if let Some(badge) = &chrome.badge {
        block = block.title_top(Line::styled(badge.clone(), theme.crit).right_aligned());
    }
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    for (row, item) in items.into_iter().enumerate() {
        let Ok(offset) = u16::try_from(row) else {
            break;
        };
        if offset >= inner.height {
            break;
        }
        let area = Rect {
            y: inner.y + offset,
            height: 1,
            ..inner
        };
        draw_item(frame, area, item);
    }
}

fn draw_item(frame: &mut Frame<'_>, area: Rect, item: Item<'_>) {
    match item {
        Item::Text(line) => frame.render_widget(Paragraph::new(line), area),
        Item::Input {
            prompt,
            input,
            width,
            after,
        } => {
            let prompt_width = u16::try_from(prompt.width())
                .unwrap_or(u16::MAX)
                .min(area.width);
            frame.render_widget(Paragraph::new(prompt), area);
            let field = Rect {
                x: area.x + prompt_width,
                width: width.min(area.width - prompt_width),
                ..area
            };
            if field.width == 0 {
                return;
            }
            frame.render_widget(Block::new().style(field_style()), field);
            frame.render_widget(input, field);
            let rest = Rect {
                x: field.right(),
                width: area.right() - field.right(),
                ..area
            };
            if rest.width > 0 {
                frame.render_widget(Paragraph::new(after), rest);
            }
        }
    }
}

/// Underlined, so the input reads as a field in every theme (and without colour).
fn field_style() -> Style {
    Style::default().add_modifier(Modifier::UNDERLINED)
}

/// The key hints, wrapped at `width`: `y confirm · n/Esc cancel · Tab switch`.
fn hint_lines(hints: &[Hint], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (key, what, enabled) in hints {
        let (key_style, what_style) = if *enabled {
            (theme.key, theme.muted)
        } else {
            (theme.muted, theme.muted.add_modifier(Modifier::DIM))
        };
        let needed = text_width(key) + 1 + text_width(what);
        if used > 0 && used + 3 + needed > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        if used > 0 {
            current.push(Span::styled(" · ", theme.muted));
            used += 3;
        }
        current.push(Span::styled(key.clone(), key_style));
        current.push(Span::styled(format!(" {what}"), what_style));
        used += needed;
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}

/// `target  value`, the value wrapped under itself.
fn field(
    label: &str,
    value: &str,
    style: Style,
    width: usize,
    theme: &Theme,
) -> Vec<Item<'static>> {
    let value_width = width.saturating_sub(LABEL_WIDTH).max(1);
    wrap(&clean(value), value_width)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let label = if i == 0 {
                format!("{label:<LABEL_WIDTH$}")
            } else {
                " ".repeat(LABEL_WIDTH)
            };
            Item::Text(Line::from(vec![
                Span::styled(label, theme.muted),
                Span::styled(part, style),
            ]))
        })
        .collect()
}

/// `platform-admin / platform-v2-stable`, `postgres app-db`, `redis cache`.
fn place_text(place: &Place) -> String {
    match place {
        Place::Kubernetes { context, namespace } => format!("{context} / {namespace}"),
        Place::Postgres { database, .. } => format!("postgres {database}"),
        Place::Redis { cache, .. } => format!("redis {cache}"),
        Place::Alertmanager => "alertmanager".to_string(),
    }
}

/// The Kubernetes context remediations act in, as the planner names it.
fn kube_context(screen: &Screen<'_>) -> String {
    screen
        .shown()
        .kube_context
        .clone()
        .unwrap_or_else(|| "(current)".to_string())
}

// ---------------------------------------------------------------------------------------------
// Confirmation

struct Confirm<'a> {
    plan: &'a Plan,
    preview: &'a PreviewState,
    typed: Option<&'a TextArea<'static>>,
    yes_focused: bool,
    /// The first entry of the preview's list shown.
    scroll: usize,
    /// Where the drawing records how many entries it showed.
    shown: &'a std::cell::Cell<usize>,
}

impl<'a> Confirm<'a> {
    fn ready(&self) -> bool {
        matches!(self.preview, PreviewState::Ready(_))
    }

    fn typed_text(&self) -> Option<&'a str> {
        self.typed
            .map(|input| input.lines().first().map_or("", String::as_str))
    }

    /// Protected: what was typed is the confirmation text.
    fn matches(&self) -> bool {
        self.typed_text() == self.plan.confirm_text.as_deref()
    }

    /// Yes would do something now.
    fn yes_enabled(&self) -> bool {
        self.ready() && (self.typed.is_none() || self.matches())
    }

    fn force_offer(&self) -> bool {
        matches!(self.plan.action, ActionKind::DeletePod { force: false, .. })
    }

    fn destructive(&self) -> bool {
        matches!(
            self.plan.action,
            ActionKind::DeletePod { .. }
                | ActionKind::RestartOperator { .. }
                | ActionKind::PgTerminate { .. }
                | ActionKind::PgTerminateIdle { .. }
                | ActionKind::RedisKill { .. }
        )
    }

    /// The preview's list can be longer than the dialog shows.
    fn scrollable(&self) -> bool {
        self.preview.list_len() > MAX_PREVIEW_LINES
    }

    /// The keys that scroll the list now (`j/k`, or `↓/↑` while the name input has the keys).
    fn scroll_keys(&self, screen: &Screen<'_>) -> String {
        let (down, up) = if self.typed.is_some() {
            (ModalCommand::InputScrollDown, ModalCommand::InputScrollUp)
        } else {
            (ModalCommand::PreviewDown, ModalCommand::PreviewUp)
        };
        let first = |command| {
            screen
                .view
                .keymap
                .keys_for(Command::Modal(command))
                .first()
                .map(ToString::to_string)
        };
        match (first(down), first(up)) {
            (Some(down), Some(up)) => format!("{down}/{up}"),
            (Some(key), None) | (None, Some(key)) => key,
            (None, None) => "unbound".into(),
        }
    }

    fn chrome(&self, theme: &Theme) -> Chrome {
        let verb = verb_text(&self.plan.action);
        let failed = matches!(
            self.preview,
            PreviewState::Failed(_) | PreviewState::AuditFailed { .. }
        );
        let alarming = self.typed.is_some() || self.destructive() || failed;
        Chrome {
            title: format!(" {verb} "),
            badge: self.typed.map(|_| " protected target ".to_string()),
            style: if alarming { theme.crit } else { theme.warn },
            border: if alarming {
                BorderType::Double
            } else {
                BorderType::Rounded
            },
        }
    }

    /// The keys of `context`: the buttons', or (protected) the name input's, where y and n
    /// are text.
    fn hints(&self, screen: &Screen<'_>, context: Context) -> Vec<Hint> {
        let ready = self.ready();
        dialog_hints(screen, context, |command, label| match command {
            ModalCommand::InputSubmit => Some(("confirm (when it matches)", self.yes_enabled())),
            ModalCommand::Confirm | ModalCommand::SwitchButton => Some((label, ready)),
            ModalCommand::ForceDelete => self.force_offer().then_some((label, true)),
            ModalCommand::PreviewDown => self.scrollable().then_some((label, true)),
            _ => Some((label, true)),
        })
    }

    fn items(
        &self,
        screen: &Screen<'_>,
        theme: &Theme,
        width: usize,
        rows: usize,
        hints: &[Hint],
    ) -> Rows<'a> {
        let plan = self.plan;
        let mut head = Rows::default();
        head.extend(
            PLACE,
            field("target", &plan.target, theme.title, width, theme),
        );
        let place = place_text(&plan.place);
        head.extend(PLACE, field("where", &place, theme.popup, width, theme));
        head.extend(
            CORE,
            field("object", &plan.object, theme.title, width, theme),
        );
        head.extend(
            CORE,
            field("change", &plan.change, theme.warn, width, theme),
        );
        head.blank();

        let mut tail = Rows::default();
        tail.blank();
        if let (Some(input), Some(expected)) = (self.typed, plan.confirm_text.as_deref()) {
            tail.extend(CONTROL, self.typed_items(input, expected, width, theme));
        }
        tail.push(CONTROL, Item::Text(self.buttons(width, theme)));
        tail.extend_lines(
            HINTS,
            hint_lines(hints, width, theme).into_iter().map(Item::Text),
        );

        // The dry run gets what is left: its detail lines are cut first.
        let room = rows.saturating_sub(head.len() + tail.len());
        head.append(self.preview_items(screen, theme, width, room));
        head.append(tail);
        head
    }

    fn preview_items(
        &self,
        screen: &Screen<'_>,
        theme: &Theme,
        width: usize,
        room: usize,
    ) -> Rows<'a> {
        let mut rows = Rows::default();
        match self.preview {
            PreviewState::Loading => rows.extend(
                SUMMARY,
                field(
                    "preview",
                    &format!("{} dry run…", spinner(screen.view.now)),
                    theme.muted,
                    width,
                    theme,
                ),
            ),
            PreviewState::Ready(preview) => {
                let list = List {
                    room,
                    scroll: self.scroll,
                    keys: self.scroll_keys(screen),
                    shown: self.shown,
                };
                rows = preview_lines(preview, theme, width, &list);
            }
            PreviewState::Failed(error) => {
                let failed = format!("dry run failed: {}", clean(error));
                let nothing = "nothing will be executed";
                rows.extend_lines(REFUSAL, field("preview", &failed, theme.crit, width, theme));
                rows.extend_lines(REFUSAL, field("", nothing, theme.crit, width, theme));
            }
            PreviewState::AuditFailed { preview, error } => {
                let refusal = field(
                    "audit",
                    &format!(
                        "cannot write the audit trail: {} — the action cannot run",
                        clean(error)
                    ),
                    theme.crit,
                    width,
                    theme,
                );
                let list = List {
                    room: room.saturating_sub(refusal.len()),
                    scroll: self.scroll,
                    keys: self.scroll_keys(screen),
                    shown: self.shown,
                };
                rows = preview_lines(preview, theme, width, &list);
                rows.extend_lines(REFUSAL, refusal);
            }
        }
        rows
    }

    /// `type NAME to confirm: [typed]  ✓` — on two rows when it does not fit on one.
    fn typed_items(
        &self,
        input: &'a TextArea<'static>,
        expected: &str,
        width: usize,
        theme: &Theme,
    ) -> Vec<Item<'a>> {
        let typed = self.typed_text().unwrap_or_default();
        let after = if self.matches() {
            Line::styled(" ✓", theme.ok.add_modifier(Modifier::BOLD))
        } else if !expected.starts_with(typed) {
            Line::styled(" ✗", theme.crit.add_modifier(Modifier::BOLD))
        } else {
            Line::raw("")
        };
        let field_width = u16::try_from(text_width(expected).max(text_width(typed)) + 1)
            .unwrap_or(u16::MAX)
            .max(8);
        let prompt = vec![
            Span::styled("type ", theme.popup),
            Span::styled(clean(expected).into_owned(), theme.title),
            Span::styled(" to confirm: ", theme.popup),
        ];
        let prompt_width: usize = prompt.iter().map(Span::width).sum();
        if prompt_width + usize::from(field_width) + 3 <= width {
            return vec![Item::Input {
                prompt: Line::from(prompt),
                input,
                width: field_width,
                after,
            }];
        }
        let mut items: Vec<Item<'a>> = wrap(&Line::from(prompt).to_string(), width.max(1))
            .into_iter()
            .map(|part| Item::Text(Line::styled(part, theme.popup)))
            .collect();
        items.push(Item::Input {
            prompt: Line::styled("> ", theme.key),
            input,
            width: field_width,
            after,
        });
        items
    }

    /// `[ No ]   [ Yes ]`, centred; the focused one in reverse video, Yes dim while it cannot run.
    fn buttons(&self, width: usize, theme: &Theme) -> Line<'static> {
        let reverse = Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        let yes_enabled = self.yes_enabled();
        let (no_style, yes_style) = if self.typed.is_some() {
            // Protected: Enter confirms once the text matches, and does nothing before.
            (theme.popup, if yes_enabled { reverse } else { theme.muted })
        } else if self.yes_focused && yes_enabled {
            (theme.popup, reverse)
        } else {
            (
                reverse,
                if yes_enabled {
                    theme.popup
                } else {
                    theme.muted
                },
            )
        };
        let buttons = "[ No ]   [ Yes ]";
        let pad = width.saturating_sub(text_width(buttons)) / 2;
        Line::from(vec![
            Span::raw(" ".repeat(pad)),
            Span::styled("[ No ]", no_style),
            Span::raw("   "),
            Span::styled("[ Yes ]", yes_style),
        ])
    }
}

/// How the preview's list is shown: the rows it may take, the first entry shown, the keys
/// that scroll it, and where to record how many entries were shown (the key handling stops
/// scrolling at the last page by it).
struct List<'a> {
    room: usize,
    scroll: usize,
    keys: String,
    shown: &'a std::cell::Cell<usize>,
}

/// The dry run's summary, then its list: the sessions a PostgreSQL action would hit as a table
/// (pid, user, application, state, age, last query), or its detail lines. A list longer than
/// `room` (or `MAX_PREVIEW_LINES`) shows a window from `scroll` and a line saying which entries
/// are shown and how to scroll.
fn preview_lines<'a>(preview: &Preview, theme: &Theme, width: usize, list: &List<'_>) -> Rows<'a> {
    let summary = if preview.summary.is_empty() {
        "(no summary)".to_string()
    } else {
        clean(&preview.summary).into_owned()
    };
    let mut rows = Rows::default();
    rows.extend(
        SUMMARY,
        field("preview", &summary, theme.popup, width, theme),
    );
    let table = !preview.sessions.is_empty();
    let header = usize::from(table);
    let total = if table {
        preview.sessions.len()
    } else {
        preview.lines.len()
    };
    let room = list
        .room
        .saturating_sub(rows.len())
        .min(MAX_PREVIEW_LINES + header)
        .saturating_sub(header);
    if total == 0 || room == 0 {
        list.shown.set(0);
        return rows;
    }
    // All of it, or a window and the line that says where it is.
    let window = if total <= room { total } else { room - 1 };
    let offset = list.scroll.min(total - window);
    list.shown.set(window);
    if table {
        let (head, body) = session_table(&preview.sessions, width, (offset, window));
        rows.push(
            DETAIL,
            Item::Text(Line::styled(head, theme.muted.add_modifier(Modifier::BOLD))),
        );
        for line in body {
            rows.push(DETAIL, Item::Text(Line::styled(line, theme.popup)));
        }
    } else {
        let detail_width = width.saturating_sub(LABEL_WIDTH);
        let indent = " ".repeat(LABEL_WIDTH);
        for line in preview.lines.iter().skip(offset).take(window) {
            rows.push(
                DETAIL,
                Item::Text(Line::from(vec![
                    Span::raw(indent.clone()),
                    Span::styled(truncate(&clean(line), detail_width), theme.popup),
                ])),
            );
        }
    }
    if window < total {
        let indent = if table { TABLE_INDENT } else { LABEL_WIDTH };
        let place = if window == 0 {
            format!("… {total} in all")
        } else {
            format!("… {}–{} of {total}", offset + 1, offset + window)
        };
        rows.push(
            DETAIL,
            Item::Text(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(
                    truncate(
                        &format!("{place} · {} scroll", list.keys),
                        width.saturating_sub(indent),
                    ),
                    theme.muted,
                ),
            ])),
        );
    }
    rows
}

/// The session table's indent under the `preview` label.
const TABLE_INDENT: usize = 2;

/// `PID  USER  APPLICATION  STATE  AGE  QUERY`: the header and the rows `offset..+window`, in
/// `width` columns. Column widths are measured on every session, so scrolling does not move
/// them; the query takes what the others leave (at least `QUERY_MIN`) and is cut on the right.
/// When narrow, the state goes first (its column needs room beyond the query's minimum), then
/// the application, then the user.
fn session_table(
    sessions: &[PreviewSession],
    width: usize,
    (offset, window): (usize, usize),
) -> (String, Vec<String>) {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map_or_else(|| "-".to_string(), |v| clean(v).into_owned())
    };
    let cells: Vec<[String; 6]> = sessions
        .iter()
        .map(|s| {
            [
                s.pid.to_string(),
                text(&s.user),
                text(&s.application),
                s.state
                    .as_deref()
                    .map_or_else(|| "-".to_string(), short_state),
                s.age_secs.map_or_else(
                    || "-".to_string(),
                    |secs| format_age(std::time::Duration::from_secs(secs)),
                ),
                // One line: newlines and tabs of a multi-line query become spaces.
                clean(&s.query.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned(),
            ]
        })
        .collect();
    // (header, min, max, cut, identifying, priority)
    let specs: [(&'static str, u16, u16, Cut, bool, u8); 5] = [
        ("PID", 3, u16::MAX, Cut::Right, true, 0),
        ("USER", 4, 16, Cut::Middle, false, 1),
        ("APPLICATION", 4, 20, Cut::Middle, false, 2),
        ("STATE", 6, 12, Cut::Right, false, 3),
        ("AGE", 3, 8, Cut::Right, false, 0),
    ];
    let columns: Vec<Column> = specs
        .iter()
        .enumerate()
        .map(|(i, (header, min, max, cut, identifying, priority))| {
            let mut column = Column::measure(
                header,
                *min,
                *cut,
                *identifying,
                cells.iter().map(|c| c[i].as_str()),
            )
            .priority(*priority);
            column.preferred = column.preferred.min(*max);
            column.min = column.min.min(column.preferred);
            column
        })
        .collect();
    let table_width = u16::try_from(width.saturating_sub(TABLE_INDENT)).unwrap_or(u16::MAX);
    let mut widths = layout(&columns, table_width.saturating_sub(QUERY_MIN + 2), 2);
    let used: u16 = widths.iter().filter(|w| **w > 0).map(|w| w + 2).sum();
    widths.push(table_width.saturating_sub(used));
    let cuts = [
        Cut::Right,
        Cut::Middle,
        Cut::Middle,
        Cut::Right,
        Cut::Right,
        Cut::Right,
    ];
    let row = |cells: [&str; 6]| {
        let mut line = " ".repeat(TABLE_INDENT);
        let mut first = true;
        for (i, cell) in cells.iter().enumerate() {
            let w = widths[i];
            if w == 0 {
                continue;
            }
            if !first {
                line.push_str("  ");
            }
            first = false;
            let cut = fit(cell, w, cuts[i]);
            line.push_str(&cut);
            line.push_str(&" ".repeat(usize::from(w).saturating_sub(text_width(&cut))));
        }
        truncate(line.trim_end(), width)
    };
    let head = row(["PID", "USER", "APPLICATION", "STATE", "AGE", "QUERY"]);
    let body = cells
        .iter()
        .skip(offset)
        .take(window)
        .map(|[pid, user, app, state, age, query]| row([pid, user, app, state, age, query]))
        .collect();
    (head, body)
}

/// PostgreSQL's session states, short enough for the table, as the DB pane says them.
fn short_state(state: &str) -> String {
    match state {
        "idle in transaction" => "idle in tx".into(),
        "idle in transaction (aborted)" => "aborted tx".into(),
        other => clean(other).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Rollout undo: the revision picker

fn history_items<'a>(
    screen: &Screen<'_>,
    theme: &Theme,
    (namespace, name): (&str, &str),
    revisions: Option<&Result<Vec<HistoryEntry>, String>>,
    selected: usize,
    (width, rows): (usize, usize),
    hints: &[Hint],
) -> Rows<'a> {
    let mut items = Rows::default();
    items.extend(
        PLACE,
        field("target", screen.target_name(), theme.title, width, theme),
    );
    let place = format!("{} / {}", kube_context(screen), clean(namespace));
    items.extend(PLACE, field("where", &place, theme.popup, width, theme));
    let object = format!("deployment/{}", clean(name));
    items.extend(CORE, field("object", &object, theme.title, width, theme));
    items.blank();
    let mut tail = Rows::default();
    tail.blank();
    tail.extend_lines(
        HINTS,
        hint_lines(hints, width, theme).into_iter().map(Item::Text),
    );
    match revisions {
        None => items.push(
            CORE,
            Item::Text(Line::styled(
                format!("{} loading revisions…", spinner(screen.view.now)),
                theme.muted,
            )),
        ),
        Some(Err(error)) => items.extend_lines(
            CORE,
            wrap(
                &format!("cannot list revisions: {}", clean(error)),
                width.max(1),
            )
            .into_iter()
            .map(|part| Item::Text(Line::styled(part, theme.crit))),
        ),
        Some(Ok(list)) if list.is_empty() => items.push(
            CORE,
            Item::Text(Line::styled(
                "no revisions recorded for this deployment",
                theme.muted,
            )),
        ),
        Some(Ok(list)) => {
            // What is left after the rest and the header; at least three revisions when the
            // details above can give way.
            let room = rows
                .saturating_sub(items.len() + tail.len() + 1)
                .max(rows.saturating_sub(1).min(3));
            items.append(revision_table(screen, theme, list, selected, width, room));
        }
    }
    items.append(tail);
    items
}

/// `REV  AGE  IMAGES  CHANGE-CAUSE`, scrolled so the selected revision is shown.
fn revision_table<'a>(
    screen: &Screen<'_>,
    theme: &Theme,
    list: &[HistoryEntry],
    selected: usize,
    width: usize,
    room: usize,
) -> Rows<'a> {
    let rev = |e: &HistoryEntry| {
        if e.current {
            format!("{} (current)", e.revision)
        } else {
            e.revision.to_string()
        }
    };
    let age = |e: &HistoryEntry| {
        e.created
            .and_then(|at| screen.view.now.duration_since(at).ok())
            .map_or_else(|| "-".to_string(), format_age)
    };
    let images = |e: &HistoryEntry| {
        e.images
            .iter()
            .map(|i| clean(i).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let cause = |e: &HistoryEntry| {
        e.change_cause
            .as_deref()
            .map_or(Cow::Borrowed("-"), clean)
            .into_owned()
    };
    let cells: Vec<[String; 4]> = list
        .iter()
        .map(|e| [rev(e), age(e), images(e), cause(e)])
        .collect();
    // The shared column rules: the revision never cut, images cut from the left so the tag
    // stays, a CHANGE-CAUSE that is `-` on every revision takes no space.
    let specs: [(&'static str, u16, Cut, bool, u8); 4] = [
        ("REV", 3, Cut::Right, true, 0),
        ("AGE", 3, Cut::Right, false, 1),
        ("IMAGES", 12, Cut::Left, false, 0),
        ("CHANGE-CAUSE", 10, Cut::Right, false, 2),
    ];
    let columns: Vec<Column> = specs
        .iter()
        .enumerate()
        .map(|(i, (header, min, cut, identifying, priority))| {
            Column::measure(
                header,
                *min,
                *cut,
                *identifying,
                cells.iter().map(|c| c[i].as_str()),
            )
            .priority(*priority)
        })
        .collect();
    let widths = layout(
        &columns,
        u16::try_from(width.saturating_sub(2)).unwrap_or(u16::MAX),
        2,
    );
    let row = |marker: &str, cells: [&str; 4]| {
        let mut line = format!("{marker:<2}");
        for (i, cell) in cells.iter().enumerate() {
            let w = widths[i];
            if w == 0 {
                continue;
            }
            if line.chars().count() > 2 {
                line.push_str("  ");
            }
            let cut = fit(cell, w, specs[i].2);
            line.push_str(&cut);
            let pad = usize::from(w).saturating_sub(text_width(&cut));
            line.push_str(&" ".repeat(pad));
        }
        line.trim_end().to_string()
    };
    let mut items = Rows::default();
    items.push(
        PLACE,
        Item::Text(Line::styled(
            truncate(&row("", ["REV", "AGE", "IMAGES", "CHANGE-CAUSE"]), width),
            theme.muted.add_modifier(Modifier::BOLD),
        )),
    );
    let height = room.max(1);
    let selected = selected.min(list.len().saturating_sub(1));
    let (offset, _) = super::scrolled(selected, height);
    for (index, entry) in list.iter().enumerate().skip(offset).take(height) {
        let is_selected = index == selected;
        let [rev, age, images, cause] = &cells[index];
        let text = row(
            if is_selected { "▸" } else { "" },
            [rev, age, images, cause],
        );
        let style = if is_selected {
            theme.selected
        } else if entry.current {
            theme.muted
        } else {
            theme.popup
        };
        items.push(
            CONTROL,
            Item::Text(Line::styled(truncate(&text, width), style)),
        );
    }
    if list.len() > offset + height {
        items.push(
            PLACE,
            Item::Text(Line::styled(
                format!("  … {} older", list.len() - offset - height),
                theme.muted,
            )),
        );
    }
    items
}

// ---------------------------------------------------------------------------------------------
// Scale

#[allow(clippy::too_many_arguments)]
fn scale_items<'a>(
    screen: &Screen<'_>,
    theme: &Theme,
    selection: &Selection,
    (name, current): (&str, u32),
    input: &'a TextArea<'static>,
    error: Option<&str>,
    width: usize,
    hints: &[Hint],
) -> Rows<'a> {
    let mut items = Rows::default();
    items.extend(
        PLACE,
        field("target", screen.target_name(), theme.title, width, theme),
    );
    if let Selection::Deployment { namespace, .. } | Selection::Pod { namespace, .. } = selection {
        let place = format!("{} / {}", kube_context(screen), clean(namespace));
        items.extend(PLACE, field("where", &place, theme.popup, width, theme));
    }
    items.blank();
    // `deployment/x  replicas 3 -> [5]`, or the name on a row of its own when narrow.
    let object = format!("deployment/{}", clean(name));
    let replicas = format!("replicas {current} -> ");
    let one_row = text_width(&object) + 2 + text_width(&replicas) + usize::from(SCALE_INPUT_WIDTH);
    let mut prompt = vec![Span::styled(replicas, theme.popup)];
    let mut rows = Vec::new();
    if one_row <= width {
        prompt.insert(0, Span::styled(format!("{object}  "), theme.title));
    } else {
        rows.extend(
            wrap(&object, width.max(1))
                .into_iter()
                .map(|part| Item::Text(Line::styled(part, theme.title))),
        );
    }
    rows.push(Item::Input {
        prompt: Line::from(prompt),
        input,
        width: SCALE_INPUT_WIDTH,
        after: Line::raw(""),
    });
    items.extend(CONTROL, rows);
    if let Some(error) = error {
        items.extend_lines(
            CORE,
            wrap(&clean(error), width.max(1))
                .into_iter()
                .map(|part| Item::Text(Line::styled(part, theme.crit))),
        );
    }
    items.blank();
    items.extend_lines(
        HINTS,
        hint_lines(hints, width, theme).into_iter().map(Item::Text),
    );
    items
}

// ---------------------------------------------------------------------------------------------
// Text helpers

fn clean(text: &str) -> Cow<'_, str> {
    crate::text::sanitize_cow(text)
}

fn char_width(c: char) -> usize {
    let mut buf = [0; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

fn text_width(text: &str) -> usize {
    Span::raw(text).width()
}

/// At most `width` columns, the cut marked with `…`.
fn truncate(text: &str, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Word-wraps to `width` columns; words longer than a line are broken.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let word_width = text_width(word);
        if used > 0 && used + 1 + word_width <= width {
            line.push(' ');
            line.push_str(word);
            used += 1 + word_width;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let w = char_width(c);
            if used + w > width && used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_truncates_by_display_width() {
        assert_eq!(
            wrap("roll back to revision 6", 10),
            ["roll back", "to", "revision 6"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(truncate("deployment/x", 6), "deplo…");
        assert_eq!(truncate("短い名前です", 5), "短い…");
        assert_eq!(truncate("x", 0), "x".get(..0).unwrap());
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn spinner_moves_with_time_and_ticks() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(spinner(t), "⠋");
        assert_ne!(
            spinner(t),
            spinner(t + std::time::Duration::from_millis(100))
        );
        assert_ne!(spinner(t), spinner(t + std::time::Duration::from_secs(1)));
    }
}
