//! What the last frame showed of each pane, for keys that move by what is on screen: PgUp/PgDn
//! move a list by the rows its table shows now, and a detail view scrolls by its screen rows
//! (wrapped lines counted) and stops at its last page.
//!
//! Drawing reads the view immutably (a `Screen`), so the figures are atomics the UI writes as it
//! draws; nothing else about the view changes while drawing.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::pane::PaneId;

#[derive(Debug, Default)]
pub struct Drawn {
    panes: [DrawnPane; 5],
}

#[derive(Debug, Default)]
struct DrawnPane {
    /// Rows of the list shown at once; 0 before the first frame.
    page: AtomicUsize,
    /// The open detail view's height in rows; 0 before it was drawn.
    detail_page: AtomicUsize,
    /// How far the detail view scrolls (its rows minus its height), plus one; 0 = not known.
    detail_end: AtomicUsize,
}

/// A page when nothing was drawn yet (tests that never draw, the first key after start).
pub const FALLBACK_PAGE: usize = 10;

impl Drawn {
    fn pane(&self, pane: PaneId) -> &DrawnPane {
        &self.panes[pane.index()]
    }

    /// The list of `pane` shows `rows` rows at once.
    pub fn set_page(&self, pane: PaneId, rows: usize) {
        self.pane(pane).page.store(rows, Ordering::Relaxed);
    }

    /// Rows of the list shown at once, if it was drawn.
    pub fn page(&self, pane: PaneId) -> Option<usize> {
        Some(self.pane(pane).page.load(Ordering::Relaxed)).filter(|p| *p > 0)
    }

    /// The detail view of `pane` is `height` rows high and scrolls at most `max_scroll` rows.
    pub fn set_detail(&self, pane: PaneId, height: usize, max_scroll: usize) {
        let drawn = self.pane(pane);
        drawn.detail_page.store(height, Ordering::Relaxed);
        drawn
            .detail_end
            .store(max_scroll.saturating_add(1), Ordering::Relaxed);
    }

    /// The detail view's height and furthest scroll, once drawn.
    pub fn detail(&self, pane: PaneId) -> Option<(usize, usize)> {
        let drawn = self.pane(pane);
        let end = drawn.detail_end.load(Ordering::Relaxed);
        (end > 0).then(|| (drawn.detail_page.load(Ordering::Relaxed), end - 1))
    }

    /// A new detail view opened: what the last one measured does not apply.
    pub fn forget_detail(&self, pane: PaneId) {
        let drawn = self.pane(pane);
        drawn.detail_page.store(0, Ordering::Relaxed);
        drawn.detail_end.store(0, Ordering::Relaxed);
    }
}

/// A detail view's scroll after `command`-like movement by `delta` rows (negative: up), within
/// what was drawn: never past the last page, so the next key up moves at once.
pub fn scroll_by(scroll: usize, delta: isize, end: Option<usize>) -> usize {
    let scroll = end.map_or(scroll, |end| scroll.min(end));
    let moved = scroll.saturating_add_signed(delta);
    end.map_or(moved, |end| moved.min(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_what_was_drawn() {
        let drawn = Drawn::default();
        assert_eq!(drawn.page(PaneId::Pods), None);
        drawn.set_page(PaneId::Pods, 17);
        assert_eq!(drawn.page(PaneId::Pods), Some(17));
        assert_eq!(drawn.page(PaneId::Claims), None);
        assert_eq!(drawn.detail(PaneId::Pods), None);
        drawn.set_detail(PaneId::Pods, 12, 0);
        assert_eq!(drawn.detail(PaneId::Pods), Some((12, 0)));
        drawn.forget_detail(PaneId::Pods);
        assert_eq!(drawn.detail(PaneId::Pods), None);
    }

    #[test]
    fn scrolling_stops_at_the_last_page() {
        assert_eq!(scroll_by(0, 1, Some(5)), 1);
        assert_eq!(scroll_by(4, 10, Some(5)), 5);
        // Past the end (content shrank, or `G`): the first key up moves up at once.
        assert_eq!(scroll_by(usize::MAX, -1, Some(5)), 4);
        assert_eq!(scroll_by(3, -10, Some(5)), 0);
        // Not drawn yet: not bounded here (drawing clamps).
        assert_eq!(scroll_by(3, 10, None), 13);
    }
}
