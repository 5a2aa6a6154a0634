//! Semantic styles. Panes ask for `ok`, `warn`, `crit`... never for a colour.

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeName;

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSupport {
    /// `NO_COLOR`: attributes only.
    None,
    Ansi16,
    Ansi256,
}

impl ColorSupport {
    /// From `NO_COLOR`, `COLORTERM` and `TERM`, as most terminal programs decide.
    pub fn detect(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Self::None;
        }
        let colorterm = colorterm.unwrap_or_default();
        let term = term.unwrap_or_default();
        if colorterm.contains("truecolor")
            || colorterm.contains("24bit")
            || term.contains("256color")
            || term.contains("direct")
        {
            Self::Ansi256
        } else {
            Self::Ansi16
        }
    }

    pub fn from_env() -> Self {
        let var = |k| std::env::var(k).ok();
        Self::detect(
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub base: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub stale: Style,
    pub muted: Style,
    pub read_only: Style,
    pub frozen: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub header: Style,
    pub key: Style,
    pub popup: Style,
}

impl Theme {
    pub fn new(name: ThemeName, colors: ColorSupport) -> Self {
        match colors {
            ColorSupport::None => Self::monochrome(),
            ColorSupport::Ansi16 => Self::ansi16(name),
            ColorSupport::Ansi256 => Self::ansi256(name),
        }
    }

    /// No colour at all: state is carried by text and attributes.
    fn monochrome() -> Self {
        let plain = Style::default();
        Self {
            base: plain,
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            crit: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            stale: plain.add_modifier(Modifier::ITALIC),
            muted: plain.add_modifier(Modifier::DIM),
            read_only: plain.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            frozen: plain.add_modifier(Modifier::REVERSED),
            title: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focused: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            header: plain.add_modifier(Modifier::REVERSED),
            key: plain.add_modifier(Modifier::BOLD),
            popup: plain,
        }
    }

    fn ansi16(name: ThemeName) -> Self {
        let (fg, muted, header_bg, selected_bg) = match name {
            ThemeName::Dark => (Color::White, Color::DarkGray, Color::Blue, Color::DarkGray),
            ThemeName::Light => (Color::Black, Color::DarkGray, Color::Cyan, Color::Gray),
        };
        Self::palette(
            fg,
            muted,
            header_bg,
            selected_bg,
            [
                Color::Green,
                Color::Yellow,
                Color::Red,
                Color::Magenta,
                Color::Cyan,
            ],
            name,
        )
    }

    fn ansi256(name: ThemeName) -> Self {
        match name {
            ThemeName::Dark => Self::palette(
                Color::Indexed(252),
                Color::Indexed(244),
                Color::Indexed(24),
                Color::Indexed(238),
                [
                    Color::Indexed(114),
                    Color::Indexed(221),
                    Color::Indexed(203),
                    Color::Indexed(140),
                    Color::Indexed(81),
                ],
                name,
            ),
            ThemeName::Light => Self::palette(
                Color::Indexed(235),
                Color::Indexed(243),
                Color::Indexed(153),
                Color::Indexed(254),
                [
                    Color::Indexed(28),
                    Color::Indexed(130),
                    Color::Indexed(160),
                    Color::Indexed(90),
                    Color::Indexed(25),
                ],
                name,
            ),
        }
    }

    /// `accents`: ok, warn, crit, stale, focus.
    fn palette(
        fg: Color,
        muted: Color,
        header_bg: Color,
        selected_bg: Color,
        accents: [Color; 5],
        name: ThemeName,
    ) -> Self {
        let [ok, warn, crit, stale, focus] = accents;
        let on_header = if name == ThemeName::Dark {
            Color::White
        } else {
            Color::Black
        };
        Self {
            base: Style::default().fg(fg),
            ok: Style::default().fg(ok),
            warn: Style::default().fg(warn).add_modifier(Modifier::BOLD),
            crit: Style::default().fg(crit).add_modifier(Modifier::BOLD),
            stale: Style::default().fg(stale),
            muted: Style::default().fg(muted),
            read_only: Style::default()
                .fg(Color::Black)
                .bg(warn)
                .add_modifier(Modifier::BOLD),
            frozen: Style::default()
                .fg(Color::Black)
                .bg(focus)
                .add_modifier(Modifier::BOLD),
            title: Style::default().fg(fg).add_modifier(Modifier::BOLD),
            border: Style::default().fg(muted),
            border_focused: Style::default().fg(focus),
            selected: Style::default()
                .bg(selected_bg)
                .add_modifier(Modifier::BOLD),
            header: Style::default().fg(on_header).bg(header_bg),
            key: Style::default().fg(focus).add_modifier(Modifier::BOLD),
            popup: Style::default().fg(fg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_colour_support() {
        assert_eq!(
            ColorSupport::detect(Some("1"), Some("truecolor"), None),
            ColorSupport::None
        );
        assert_eq!(
            ColorSupport::detect(Some(""), None, Some("xterm-256color")),
            ColorSupport::Ansi256
        );
        assert_eq!(
            ColorSupport::detect(None, None, Some("xterm")),
            ColorSupport::Ansi16
        );
        assert_eq!(
            ColorSupport::detect(None, Some("truecolor"), Some("screen")),
            ColorSupport::Ansi256
        );
    }

    #[test]
    fn sixteen_colour_theme_uses_only_named_colours() {
        let t = Theme::new(ThemeName::Dark, ColorSupport::Ansi16);
        for style in [t.ok, t.warn, t.crit, t.stale, t.muted, t.header, t.selected] {
            for c in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Indexed(_) | Color::Rgb(..)), "{c:?}");
            }
        }
    }

    #[test]
    fn no_color_has_no_colours() {
        let t = Theme::new(ThemeName::Light, ColorSupport::None);
        assert!(t.crit.fg.is_none() && t.selected.bg.is_none());
    }
}
