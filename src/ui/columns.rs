//! One column layout for every table: which columns show at a width, how wide each is, and how
//! a cell too long for its column is cut.
//!
//! Each column has a minimum, a preferred width (its widest cell, header included) and a
//! priority; one column identifies the row (the name). The rules:
//! - a column empty on every row (`-` or nothing) takes no space;
//! - the other columns shrink to their minimum before the identifying one shrinks, and the
//!   identifying one never goes below the width that keeps the visible rows distinct; when even
//!   that does not fit, the least important columns are hidden;
//! - every column's width only grows as the terminal grows (no width at which a wider terminal
//!   shows less of a name);
//! - names are cut in the middle so the distinguishing suffix stays (`babylon-catalog-…-x5xc8`),
//!   image references from the left so the tag stays (`…/platform-v2-api:7.0.0`), other text on
//!   the right.
//!
//! Pure: no drawing here; the table widgets take the widths and the cut cells.

use std::borrow::Cow;

use ratatui::layout::Constraint;
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a cell longer than its column is shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Keep the start (free text, states).
    Right,
    /// Keep the start and the end (names: the suffix tells replicas apart).
    Middle,
    /// Keep the end (image references: the tag).
    Left,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    /// Width below which the column is hidden rather than shown.
    pub min: u16,
    /// The widest cell (header included); 0 when every cell is empty.
    pub preferred: u16,
    pub cut: Cut,
    /// The column that tells rows apart (at most one per table); it is placed first.
    pub identifying: bool,
    /// Importance among the other columns: lower shows first and hides last (ties: table order).
    pub priority: u8,
}

/// A cell that says nothing ("-" or blank), for deciding that a column is empty.
fn is_empty_cell(cell: &str) -> bool {
    matches!(cell.trim(), "" | "-" | "<none>")
}

impl Column {
    /// A column measured on its cells: preferred is the widest cell or the header, 0 when every
    /// cell is empty. An identifying column's minimum is what keeps `cells` distinct.
    pub fn measure<'a>(
        header: &'static str,
        min: u16,
        cut: Cut,
        identifying: bool,
        cells: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Self {
        let widest = cells
            .clone()
            .into_iter()
            .filter(|c| !is_empty_cell(c))
            .map(UnicodeWidthStr::width)
            .max();
        let preferred = widest.map_or(0, |w| w.max(header.width()));
        let preferred = u16::try_from(preferred).unwrap_or(u16::MAX);
        let min = if identifying {
            min.max(distinct_width(cells, cut)).min(preferred)
        } else {
            min.min(preferred)
        };
        Column {
            header,
            min,
            preferred,
            cut,
            identifying,
            priority: 0,
        }
    }

    /// The same column with importance `priority` (lower shows first, hides last).
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }
}

/// Columns of this priority or more important are the ones the name shrinks for.
pub const ESSENTIAL: u8 = 1;

/// The widths of `columns` (in table order) in `width` cells with `spacing` between shown
/// columns; 0 = hidden. The identifying column is placed first, then the others by priority.
pub fn layout(columns: &[Column], width: u16, spacing: u16) -> Vec<u16> {
    let mut widths = vec![0u16; columns.len()];
    let shown = |c: &Column| c.preferred > 0;
    // What the essential columns need at their minimum: the identifying column gives way to
    // them only down to its own minimum, and takes everything above their minimums up to its
    // preferred. Less important columns get what is left: they never cut the name.
    let others_min: u32 = columns
        .iter()
        .filter(|c| shown(c) && !c.identifying && c.priority <= ESSENTIAL)
        .map(|c| u32::from(c.min) + u32::from(spacing))
        .sum();
    let width32 = u32::from(width);
    let mut left = width32;
    if let Some(i) = columns.iter().position(|c| c.identifying && shown(c)) {
        let c = &columns[i];
        let w = width32
            .saturating_sub(others_min)
            .max(u32::from(c.min))
            .min(u32::from(c.preferred))
            .min(width32);
        widths[i] = w as u16;
        left -= w;
    }
    let mut order: Vec<usize> = (0..columns.len())
        .filter(|&i| !columns[i].identifying && shown(&columns[i]))
        .collect();
    order.sort_by_key(|&i| (columns[i].priority, i));
    let need = |i: usize| u32::from(columns[i].min) + u32::from(spacing);
    let (essential, rest): (Vec<usize>, Vec<usize>) = order
        .into_iter()
        .partition(|&i| columns[i].priority <= ESSENTIAL);
    // Essential columns: their minimums first, then what is left widens them in importance
    // order. While not all of them fit, those that do stay at their minimum (so one appearing
    // never narrows another: widths only grow with the terminal).
    let fitting = essential
        .iter()
        .scan(0u32, |used, &i| {
            *used += need(i);
            Some(*used)
        })
        .take_while(|used| *used <= left)
        .count();
    for &i in &essential[..fitting] {
        widths[i] = columns[i].min;
        left -= need(i);
    }
    if fitting == essential.len() {
        for &i in &essential {
            let extra = (u32::from(columns[i].preferred) - u32::from(columns[i].min)).min(left);
            widths[i] += extra as u16;
            left -= extra;
        }
    } else {
        left = 0;
    }
    // The others in importance order: each gets up to its preferred width; the first that cannot
    // have its minimum hides it and everything less important (so no column appears by
    // squeezing a more important one).
    for i in rest {
        let c = &columns[i];
        if left < need(i) {
            break;
        }
        let w = (left - u32::from(spacing)).min(u32::from(c.preferred));
        widths[i] = w as u16;
        left -= w + u32::from(spacing);
    }
    widths
}

/// How a table column is laid out: see [`Column`].
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub header: &'static str,
    pub min: u16,
    /// The most it takes however long its cells (long free text must not starve the others).
    pub max: u16,
    pub cut: Cut,
    pub identifying: bool,
    pub priority: u8,
}

impl Spec {
    /// A column of plain text, cut on the right.
    pub const fn text(header: &'static str, min: u16, max: u16, priority: u8) -> Self {
        Spec {
            header,
            min,
            max,
            cut: Cut::Right,
            identifying: false,
            priority,
        }
    }

    /// The column that tells rows apart, cut in the middle.
    pub const fn name(header: &'static str, min: u16) -> Self {
        Spec {
            header,
            min,
            max: u16::MAX,
            cut: Cut::Middle,
            identifying: true,
            priority: 0,
        }
    }

    pub const fn cut(mut self, cut: Cut) -> Self {
        self.cut = cut;
        self
    }
}

/// A laid-out table: the shown columns' widths, header and rows, cells cut to fit.
pub struct Fitted<'a> {
    pub widths: Vec<Constraint>,
    pub header: Row<'a>,
    pub rows: Vec<Row<'a>>,
}

impl Fitted<'static> {
    /// The table widget: the fitted widths, header and rows, one space between columns, and
    /// `highlight` on the selected row.
    pub fn table(self, highlight: Style) -> ratatui::widgets::Table<'static> {
        ratatui::widgets::Table::new(self.rows, self.widths)
            .header(self.header)
            .row_highlight_style(highlight)
            .column_spacing(1)
    }
}

/// Lays out a table of `specs` over `rows` (each a text and a style per column) in `width`
/// cells with one space between columns.
pub fn fit_table(
    specs: &[Spec],
    rows: Vec<Vec<(String, Style)>>,
    width: u16,
    header_style: Style,
) -> Fitted<'static> {
    fit_table_with(specs, rows, width, header_style, Cow::Borrowed)
}

/// As [`fit_table`], with headers as `label` draws them (the sort column marked, `AGE↓`): a
/// column with cells is at least as wide as its label.
pub fn fit_table_with(
    specs: &[Spec],
    rows: Vec<Vec<(String, Style)>>,
    width: u16,
    header_style: Style,
    label: impl Fn(&'static str) -> Cow<'static, str>,
) -> Fitted<'static> {
    let headers: Vec<Cow<'static, str>> = specs.iter().map(|s| label(s.header)).collect();
    let widths = widths(specs, &rows, width, &headers);
    let shown: Vec<usize> = (0..specs.len()).filter(|&i| widths[i] > 0).collect();
    let header = Row::new(
        shown
            .iter()
            .map(|&i| Cell::from(fit(&headers[i], widths[i], Cut::Right).into_owned())),
    )
    .style(header_style);
    let rows = rows
        .into_iter()
        .map(|row| {
            let mut row: Vec<Option<(String, Style)>> = row.into_iter().map(Some).collect();
            Row::new(shown.iter().map(|&i| {
                let (text, style) = row.get_mut(i).and_then(Option::take).unwrap_or_default();
                let text = match fit(&text, widths[i], specs[i].cut) {
                    Cow::Borrowed(_) => text,
                    Cow::Owned(cut) => cut,
                };
                Cell::from(text).style(style)
            }))
        })
        .collect();
    Fitted {
        widths: shown
            .iter()
            .map(|&i| Constraint::Length(widths[i]))
            .collect(),
        header,
        rows,
    }
}

/// The width of each of `specs` (0: hidden) over `rows` in `width` cells, one space between
/// columns: each measured on its cells (capped by its `max`), at least as wide as its header as
/// drawn (`headers`), then laid out by [`layout`].
pub fn widths(
    specs: &[Spec],
    rows: &[Vec<(String, Style)>],
    width: u16,
    headers: &[Cow<'static, str>],
) -> Vec<u16> {
    let columns: Vec<Column> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let cells = rows
                .iter()
                .map(move |r| r.get(i).map_or("", |(t, _)| t.as_str()));
            let mut column =
                Column::measure(spec.header, spec.min, spec.cut, spec.identifying, cells)
                    .priority(spec.priority);
            column.preferred = column.preferred.min(spec.max.max(spec.min));
            if column.preferred > 0 {
                let label = headers.get(i).map_or(0, |h| h.width());
                column.preferred = column
                    .preferred
                    .max(u16::try_from(label).unwrap_or(u16::MAX));
            }
            column.min = column.min.min(column.preferred);
            column
        })
        .collect();
    layout(&columns, width, 1)
}

/// `text` in at most `width` cells, shortened with `…` as `cut` says.
pub fn fit(text: &str, width: u16, cut: Cut) -> Cow<'_, str> {
    let width = usize::from(width);
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let room = width - 1; // the ellipsis
    let out = match cut {
        Cut::Right => format!("{}…", take_front(text, room)),
        Cut::Left => format!("…{}", take_back(text, room)),
        Cut::Middle => {
            // The end carries the suffix that tells replicas apart: give it the larger half.
            let back = room.div_ceil(2);
            let front = room - back;
            format!("{}…{}", take_front(text, front), take_back(text, back))
        }
    };
    Cow::Owned(out)
}

/// The longest prefix of `text` at most `cells` wide.
fn take_front(text: &str, cells: usize) -> &str {
    let mut used = 0;
    for (i, ch) in text.char_indices() {
        used += ch.width().unwrap_or(0);
        if used > cells {
            return &text[..i];
        }
    }
    text
}

/// The longest suffix of `text` at most `cells` wide.
fn take_back(text: &str, cells: usize) -> &str {
    let mut used = 0;
    for (i, ch) in text.char_indices().rev() {
        used += ch.width().unwrap_or(0);
        if used > cells {
            return &text[i + ch.len_utf8()..];
        }
    }
    text
}

/// The narrowest width at which `cells` cut with `cut` are as distinct as they are in full.
fn distinct_width<'a>(cells: impl IntoIterator<Item = &'a str>, cut: Cut) -> u16 {
    let mut cells: Vec<&str> = cells.into_iter().collect();
    cells.sort_unstable();
    cells.dedup();
    let widest = cells.iter().map(|c| c.width()).max().unwrap_or(0);
    if cells.len() < 2 {
        return 0;
    }
    // Binary search: a wider cut keeps more of each end, so once the cells are distinct at a
    // width they stay distinct wider (checked exhaustively by the tests). Drawing calls this
    // every frame, so a handful of trials instead of one per width.
    let mut seen = std::collections::HashSet::with_capacity(cells.len());
    let mut distinct_at = |width: u16| {
        seen.clear();
        cells.iter().all(|c| seen.insert(fit(c, width, cut)))
    };
    let (mut low, mut high) = (1u16, u16::try_from(widest).unwrap_or(u16::MAX));
    while low < high {
        let mid = low + (high - low) / 2;
        if distinct_at(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    high
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: [&str; 3] = [
        "babylon-catalog-api-7d4b9c6f5-x5xc8",
        "babylon-catalog-api-7d4b9c6f5-k2j4p",
        "babylon-catalog-ui-5c8d7b9f4-q9w2e",
    ];

    #[test]
    fn names_keep_their_suffix_and_images_their_tag() {
        assert_eq!(fit(PODS[0], 20, Cut::Middle), "babylon-c…c6f5-x5xc8");
        assert_eq!(fit(PODS[0], 20, Cut::Middle).width(), 20);
        assert_eq!(
            fit("quay.io/gpte/platform-v2-api:7.0.0", 23, Cut::Left),
            "…/platform-v2-api:7.0.0"
        );
        assert_eq!(fit("CrashLoopBackOff", 8, Cut::Right), "CrashLo…");
        assert_eq!(fit("short", 8, Cut::Middle), "short");
        assert_eq!(fit("ab", 0, Cut::Middle), "");
    }

    #[test]
    fn the_name_column_never_cuts_rows_into_the_same_text() {
        let name = Column::measure("NAME", 8, Cut::Middle, true, PODS);
        for width in name.min..=name.preferred {
            let cut: std::collections::HashSet<_> =
                PODS.iter().map(|p| fit(p, width, Cut::Middle)).collect();
            assert_eq!(cut.len(), PODS.len(), "at {width}: {cut:?}");
        }
        // One column only: it gets its minimum even when the pane is narrower.
        assert_eq!(layout(std::slice::from_ref(&name), 4, 1), [name.min.min(4)]);
    }

    #[test]
    fn empty_columns_take_no_space() {
        let cause = Column::measure("CHANGE-CAUSE", 6, Cut::Right, false, ["-", "-", ""]);
        assert_eq!(cause.preferred, 0);
        let name = Column::measure("NAME", 8, Cut::Middle, true, PODS);
        assert_eq!(layout(&[name.clone(), cause], 200, 1), [name.preferred, 0]);
    }

    #[test]
    fn others_shrink_first_then_the_name_then_columns_hide() {
        let name = Column::measure("NAME", 8, Cut::Middle, true, PODS);
        let status = Column::measure("STATUS", 7, Cut::Right, false, ["CrashLoopBackOff"]);
        let image = Column::measure(
            "IMAGE",
            12,
            Cut::Left,
            false,
            ["quay.io/gpte/platform-v2-api:7.0.0"],
        );
        let columns = [name.clone(), status.clone(), image.clone()];
        let full = name.preferred + status.preferred + image.preferred + 2;
        assert_eq!(
            layout(&columns, full, 1),
            [name.preferred, status.preferred, image.preferred]
        );
        // A little short: the image column gives way, the name keeps its width.
        let w = layout(&columns, full - 5, 1);
        assert_eq!(w[0], name.preferred);
        assert!(w[2] < image.preferred);
        // Very narrow: the least important column is hidden, the name stays distinct.
        let w = layout(&columns, name.min + status.min + 1, 1);
        assert_eq!(w, [name.min, status.min, 0]);
    }

    #[test]
    fn widths_only_grow_with_the_terminal() {
        let name = Column::measure("NAME", 8, Cut::Middle, true, PODS);
        let columns = [
            Column::measure("NAMESPACE", 6, Cut::Middle, false, ["user-jdoe-redhat-com"]),
            name,
            Column::measure("READY", 5, Cut::Right, false, ["1/1"]),
            Column::measure("STATUS", 7, Cut::Right, false, ["CrashLoopBackOff"]),
            Column::measure("RESTARTS", 3, Cut::Right, false, ["14 (2m ago)"]),
            Column::measure("IMAGE", 12, Cut::Left, false, ["quay.io/gpte/x:7.0.0"]).priority(2),
            Column::measure("AGE", 3, Cut::Right, false, ["45d"]).priority(1),
        ];
        let mut before = layout(&columns, 0, 1);
        for width in 1..=220 {
            let now = layout(&columns, width, 1);
            let used: u32 = now.iter().map(|w| u32::from(*w)).sum::<u32>()
                + now.iter().filter(|w| **w > 0).count().saturating_sub(1) as u32;
            assert!(
                used <= u32::from(width).max(u32::from(columns[1].min)),
                "{width}: {now:?}"
            );
            for (i, (b, n)) in before.iter().zip(&now).enumerate() {
                assert!(n >= b, "column {i} shrank from {b} to {n} at width {width}");
            }
            before = now;
        }
    }

    #[test]
    fn essential_columns_hide_only_when_their_minimums_do_not_fit() {
        // NAME 20..36, READY 5, STATUS 7..28, NAMESPACE 8..22 (priority 1) at width 78: every
        // minimum fits, so STATUS gives up width before NAMESPACE is hidden.
        let column = |header, min, preferred, priority, identifying| Column {
            header,
            min,
            preferred,
            cut: Cut::Right,
            identifying,
            priority,
        };
        let columns = [
            column("NAME", 20, 36, 0, true),
            column("READY", 5, 5, 0, false),
            column("STATUS", 7, 28, 0, false),
            column("NAMESPACE", 8, 22, 1, false),
        ];
        let w = layout(&columns, 78, 1);
        assert!(w[3] >= 8, "namespace shown: {w:?}");
        assert_eq!(w[0], 36, "the name keeps its width: {w:?}");
        assert!(
            w.iter().map(|w| u32::from(*w)).sum::<u32>() + 3 <= 78,
            "{w:?}"
        );
    }
}
