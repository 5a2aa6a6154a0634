//! Where each pane goes for a terminal size, focus and zoom. Pure, so it is tested without drawing.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::pane::PaneId;

/// At this width and up, all five panes are tiled.
pub const TILE_MIN_WIDTH: u16 = 160;
/// ...and this many body rows.
pub const TILE_MIN_HEIGHT: u16 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneSize {
    /// A bordered pane with its table.
    Full,
    /// One line: title, freshness and summary.
    Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneArea {
    pub pane: PaneId,
    pub rect: Rect,
    pub size: PaneSize,
}

/// The screen split into header, body and footer.
pub fn frame_areas(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area)
}

pub fn pane_areas(body: Rect, focus: PaneId, zoomed: bool) -> Vec<PaneArea> {
    if zoomed {
        return vec![PaneArea {
            pane: focus,
            rect: body,
            size: PaneSize::Full,
        }];
    }
    if body.width >= TILE_MIN_WIDTH && body.height >= TILE_MIN_HEIGHT {
        return tiled(body);
    }
    stacked(body, focus)
}

/// Wide terminals: Pods and SLO on top, DB and claims in the middle, logs across the bottom.
fn tiled(body: Rect) -> Vec<PaneArea> {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Percentage(38),
        Constraint::Percentage(30),
        Constraint::Fill(1),
    ])
    .areas(body);
    let [pods, slo] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Fill(1)]).areas(top);
    let [db, claims] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(middle);
    [
        (PaneId::Pods, pods),
        (PaneId::Slo, slo),
        (PaneId::Db, db),
        (PaneId::Claims, claims),
        (PaneId::Logs, bottom),
    ]
    .into_iter()
    .map(|(pane, rect)| PaneArea {
        pane,
        rect,
        size: PaneSize::Full,
    })
    .collect()
}

/// Narrow terminals: the focused pane large, the others one-line summaries, in pane order.
fn stacked(body: Rect, focus: PaneId) -> Vec<PaneArea> {
    let constraints = PaneId::ALL.map(|p| {
        if p == focus {
            Constraint::Fill(1)
        } else {
            Constraint::Length(1)
        }
    });
    let rects = Layout::vertical(constraints).split(body);
    PaneId::ALL
        .iter()
        .zip(rects.iter())
        .map(|(pane, rect)| PaneArea {
            pane: *pane,
            rect: *rect,
            size: if *pane == focus {
                PaneSize::Full
            } else {
                PaneSize::Summary
            },
        })
        .collect()
}

/// A centred rectangle of at most `width` x `height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_terminal_stacks_with_focus_large() {
        let [_, body, _] = frame_areas(Rect::new(0, 0, 80, 24));
        let areas = pane_areas(body, PaneId::Db, false);
        assert_eq!(areas.len(), 5);
        let db = areas.iter().find(|a| a.pane == PaneId::Db).unwrap();
        assert_eq!((db.size, db.rect.height), (PaneSize::Full, 18));
        assert!(
            areas
                .iter()
                .filter(|a| a.pane != PaneId::Db)
                .all(|a| a.size == PaneSize::Summary && a.rect.height == 1)
        );
    }

    #[test]
    fn wide_terminal_tiles_all_five_without_overlap() {
        let [_, body, _] = frame_areas(Rect::new(0, 0, 200, 60));
        let areas = pane_areas(body, PaneId::Pods, false);
        assert!(
            areas
                .iter()
                .all(|a| a.size == PaneSize::Full && a.rect.height >= 5)
        );
        for (i, a) in areas.iter().enumerate() {
            for b in &areas[i + 1..] {
                assert!(!a.rect.intersects(b.rect), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn zoom_gives_the_whole_body() {
        let body = Rect::new(0, 1, 200, 58);
        assert_eq!(
            pane_areas(body, PaneId::Logs, true),
            vec![PaneArea {
                pane: PaneId::Logs,
                rect: body,
                size: PaneSize::Full
            }]
        );
    }
}
