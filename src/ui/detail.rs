//! Detail views as one scrollable document: text (wrapped to the width, every wrapped row
//! counted) and fixed-height widgets (the SLO chart), scrolled by screen rows. The furthest
//! scroll and the page height are left in the view's `drawn` figures, so keys stop at the last
//! page and PgUp/PgDn move by what is on screen.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::Screen;
use crate::app::pane::PaneId;

/// Draws a widget part in the rectangle given.
pub type Draw<'a> = Box<dyn FnOnce(Rect, &mut Buffer) + 'a>;

/// A piece of a detail document.
pub enum Part<'a> {
    /// Lines, wrapped (not trimmed) to the width.
    Lines(Vec<Line<'a>>),
    /// A widget drawn in `height` rows at the full width.
    Widget { height: u16, draw: Draw<'a> },
}

impl<'a> Part<'a> {
    pub fn widget(height: u16, draw: impl FnOnce(Rect, &mut Buffer) + 'a) -> Self {
        Self::Widget {
            height,
            draw: Box::new(draw),
        }
    }
}

/// Draws `parts` in `area`, scrolled by `scroll` rows (clamped to the last page), and records
/// the page height and furthest scroll for `pane`. Returns the scroll drawn.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    parts: Vec<Part<'_>>,
    scroll: usize,
    pane: PaneId,
    screen: &Screen<'_>,
) -> usize {
    if area.width == 0 || area.height == 0 {
        return 0;
    }
    enum Measured<'a> {
        Text(Box<Paragraph<'a>>),
        Widget(Draw<'a>),
    }
    let measured: Vec<(usize, Measured<'_>)> = parts
        .into_iter()
        .map(|part| match part {
            Part::Lines(lines) => {
                let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
                (
                    paragraph.line_count(area.width),
                    Measured::Text(Box::new(paragraph)),
                )
            }
            Part::Widget { height, draw } => (usize::from(height), Measured::Widget(draw)),
        })
        .collect();
    let total: usize = measured.iter().map(|(h, _)| h).sum();
    let page = usize::from(area.height);
    let max_scroll = total.saturating_sub(page);
    screen.view.drawn.set_detail(pane, page, max_scroll);
    let scroll = scroll.min(max_scroll);
    let mut top = 0usize;
    for (height, part) in measured {
        let (start, end) = (top.max(scroll), (top + height).min(scroll + page));
        if start < end {
            let rect = Rect {
                x: area.x,
                y: area.y + u16::try_from(start - scroll).unwrap_or(0),
                width: area.width,
                height: u16::try_from(end - start).unwrap_or(0),
            };
            let skip = start - top;
            match part {
                Measured::Text(paragraph) => {
                    let skip = u16::try_from(skip).unwrap_or(u16::MAX);
                    frame.render_widget(paragraph.scroll((skip, 0)), rect);
                }
                Measured::Widget(draw) if skip == 0 && end - start == height => {
                    draw(rect, frame.buffer_mut());
                }
                Measured::Widget(draw) => {
                    // Partly scrolled out: drawn whole aside, the visible rows copied.
                    let full = Rect::new(0, 0, area.width, u16::try_from(height).unwrap_or(0));
                    let mut aside = Buffer::empty(full);
                    draw(full, &mut aside);
                    let buffer = frame.buffer_mut();
                    for row in 0..rect.height {
                        for x in 0..rect.width {
                            let from = (x, u16::try_from(skip).unwrap_or(0) + row);
                            buffer[(rect.x + x, rect.y + row)] = aside[from].clone();
                        }
                    }
                }
            }
        }
        top += height;
    }
    scroll
}
