//! Tables whose rows span namespaces (pods, deployments, claims): every row says which
//! namespace it is in, at every width.
//!
//! - Rows of one namespace only: the NAMESPACE column is an ordinary column (the first to
//!   hide; the pane's summary names the namespace).
//! - Rows grouped by namespace (each namespace's rows together, as the default order and the
//!   namespace order list them in a healthy cluster): the NAMESPACE column while it fits, else
//!   a group line (`── babylon-prod ──`) over each namespace's first row in view. Group lines
//!   are not rows: the cursor, PgUp/PgDn and `row N/M` count table rows only.
//! - Namespaces interleaved (sorted by name, age, restarts, or worst first across namespaces):
//!   group lines would come at almost every row, so the NAMESPACE column stays, cut in the
//!   middle down to what keeps the namespaces in view apart.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, TableState};

use super::columns::{self, Column, Cut, ESSENTIAL, Spec, fit_table_with};
use super::theme::Theme;
use crate::app::Screen;
use crate::app::pane::PaneId;

pub use crate::model::Spread;

/// A table over namespaced rows, as [`render`] draws it.
pub struct Table<'a> {
    /// The columns, one of them NAMESPACE.
    pub specs: &'a [Spec],
    /// The NAMESPACE column's index in `specs` (and in each row's cells).
    pub namespace: usize,
    /// How many rows the table has (all of them, not only those in view).
    pub len: usize,
    /// Row `i`'s namespace.
    pub namespace_of: &'a dyn Fn(usize) -> &'a str,
    /// How all the rows spread over namespaces (computed when they were ordered).
    pub spread: Spread,
    /// Row `i`'s cells, one per column of `specs`.
    pub cells: &'a dyn Fn(usize) -> Vec<(String, Style)>,
    /// The row under the cursor.
    pub selected: usize,
    /// A header as drawn (the sort column marked).
    pub label: &'a dyn Fn(&'static str) -> Cow<'static, str>,
    /// The pane it is drawn in, for what the frame showed (`Drawn`).
    pub pane: PaneId,
}

/// What one line of the table area under the header shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Group(usize),
    Row(usize),
}

/// The lines for `height` lines with a group line over each namespace's first row in view,
/// `selected` in view: the rows from the first that lets it be, then as many as fit.
fn window<'a>(
    len: usize,
    selected: usize,
    height: usize,
    namespace_of: &dyn Fn(usize) -> &'a str,
) -> Vec<Entry> {
    if len == 0 || height == 0 {
        return Vec::new();
    }
    let selected = selected.min(len - 1);
    // The first row: walk back from the selected one while the lines fit.
    let mut first = selected;
    let mut lines = 2.min(height);
    while first > 0 {
        let more = if namespace_of(first - 1) == namespace_of(first) {
            1
        } else {
            2
        };
        if lines + more > height {
            break;
        }
        lines += more;
        first -= 1;
    }
    let mut entries = Vec::with_capacity(height);
    for i in first..len {
        let starts = i == first || namespace_of(i) != namespace_of(i - 1);
        // A group line needs its first row below it.
        if starts && height >= 2 {
            if entries.len() + 2 > height {
                break;
            }
            entries.push(Entry::Group(i));
        }
        if entries.len() >= height {
            break;
        }
        entries.push(Entry::Row(i));
    }
    entries
}

/// The columns for interleaved namespaces: NAMESPACE among the columns the name shrinks for,
/// after the others of them, never narrower than what keeps `namespaces` apart.
fn mixed_specs<'s>(
    specs: &[Spec],
    namespace: usize,
    namespaces: impl IntoIterator<Item = &'s str> + Clone,
) -> Vec<Spec> {
    let apart = Column::measure("", 0, Cut::Middle, true, namespaces).min;
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut spec = *spec;
            if i == namespace {
                spec.priority = ESSENTIAL;
                spec.min = spec.min.max(apart);
                spec.max = spec.max.max(spec.min);
                spec.cut = Cut::Middle;
            } else if spec.priority <= ESSENTIAL {
                // Placed before the namespace: it gets what they leave.
                spec.priority = 0;
            }
            spec
        })
        .collect()
}

/// Draws `table` in `area`: a header, the rows in view and, where the NAMESPACE column does
/// not fit, group lines; records the rows shown for PgUp/PgDn.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    table: &Table<'_>,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let height = usize::from(area.height.saturating_sub(1));
    let namespace_of = table.namespace_of;
    let spread = table.spread;
    let (offset, _) = super::scrolled(table.selected, height);
    let plain: Vec<Entry> = (offset..table.len.min(offset + height))
        .map(Entry::Row)
        .collect();
    let cells_of = |entries: &[Entry]| -> Vec<Vec<(String, Style)>> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Row(i) => Some((table.cells)(*i)),
                Entry::Group(_) => None,
            })
            .collect()
    };
    let mut rows = cells_of(&plain);
    let mut entries = plain;
    let specs: Vec<Spec> = match spread {
        Spread::One => table.specs.to_vec(),
        Spread::Mixed => mixed_specs(
            table.specs,
            table.namespace,
            entries.iter().filter_map(|e| match e {
                Entry::Row(i) => Some(namespace_of(*i)),
                Entry::Group(_) => None,
            }),
        ),
        Spread::Grouped
            if columns::widths(
                table.specs,
                &rows,
                area.width,
                &table
                    .specs
                    .iter()
                    .map(|s| (table.label)(s.header))
                    .collect::<Vec<_>>(),
            )[table.namespace]
                > 0 =>
        {
            table.specs.to_vec()
        }
        Spread::Grouped => {
            // Group lines instead of the column.
            entries = window(table.len, table.selected, height, namespace_of);
            rows = cells_of(&entries);
            for row in rows.iter_mut().filter(|row| row.len() > table.namespace) {
                row.remove(table.namespace);
            }
            let mut specs = table.specs.to_vec();
            specs.remove(table.namespace);
            specs
        }
    };
    let shown_rows = rows.len();
    screen.view.drawn.set_page(table.pane, shown_rows);
    let fitted = fit_table_with(&specs, rows, area.width, theme.title, |h| (table.label)(h));
    let highlight = super::selection_style(screen, table.pane, theme);
    // Group lines are blank rows of the table, written over below.
    let mut data = fitted.rows.into_iter();
    let lines: Vec<Row<'static>> = entries
        .iter()
        .map(|e| match e {
            Entry::Row(_) => data.next().unwrap_or_default(),
            // `Row::default()` is no line high.
            Entry::Group(_) => Row::new(Vec::<ratatui::widgets::Cell>::new()),
        })
        .collect();
    let selected = entries
        .iter()
        .position(|e| *e == Entry::Row(table.selected));
    let widget = columns::Fitted {
        widths: fitted.widths,
        header: fitted.header,
        rows: lines,
    }
    .table(highlight);
    frame.render_stateful_widget(
        widget,
        area,
        &mut TableState::default().with_selected(selected),
    );
    for (y, entry) in entries.iter().enumerate() {
        if let Entry::Group(i) = entry {
            let line = group_line(namespace_of(*i), area.width);
            let rect = Rect {
                y: area.y + 1 + y as u16,
                height: 1,
                ..area
            };
            frame.render_widget(Paragraph::new(Line::styled(line, theme.muted)), rect);
        }
    }
}

/// `── babylon-prod ──`, the namespace cut in the middle to fit `width`.
fn group_line(namespace: &str, width: u16) -> String {
    let namespace = crate::text::sanitize(namespace);
    let room = width.saturating_sub(6);
    format!("── {} ──", columns::fit(&namespace, room, Cut::Middle))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: [&str; 7] = ["a", "a", "a", "b", "b", "c", "c"];

    fn of(i: usize) -> &'static str {
        NS[i]
    }

    #[test]
    fn group_lines_come_over_each_namespace_in_view_and_are_not_rows() {
        use Entry::{Group as G, Row as R};
        // Everything fits: a group line per namespace.
        assert_eq!(
            window(7, 0, 10, &of),
            [G(0), R(0), R(1), R(2), G(3), R(3), R(4), G(5), R(5), R(6)]
        );
        // Five lines: no group line without its row under it.
        assert_eq!(window(7, 0, 5, &of), [G(0), R(0), R(1), R(2)]);
        // The cursor further down: the window starts at the first row that lets its row be
        // in view, with its namespace's line; no group line without its row.
        assert_eq!(window(7, 4, 4, &of), [G(3), R(3), R(4)]);
        // The first row in view gets its namespace's line even mid-namespace.
        assert_eq!(window(7, 2, 2, &of), [G(2), R(2)]);
        // One line: the row alone.
        assert_eq!(window(7, 2, 1, &of), [R(2)]);
        assert_eq!(window(7, 6, 3, &of), [G(5), R(5), R(6)]);
        assert_eq!(window(0, 0, 3, &of), []);
    }

    #[test]
    fn group_lines_cut_long_namespaces_in_the_middle() {
        assert_eq!(group_line("babylon-prod", 40), "── babylon-prod ──");
        assert_eq!(
            group_line("user-jdoe-redhat-com-sandbox-a", 20),
            "── user-j…ndbox-a ──"
        );
    }
}
