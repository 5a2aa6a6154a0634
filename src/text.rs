//! Making untrusted text (names, error messages, query text, log lines) safe for the terminal.
//!
//! Removes every C0/C1 control and ESC-introduced sequence (CSI, OSC, DCS, APC, PM, SOS and two-byte
//! escapes), bidi overrides and isolates, and expands tabs, so nothing can move the cursor, retitle
//! the window, touch the clipboard or reorder what the operator reads.

/// Sanitises one line of untrusted text for display. Newlines become a visible `⏎`.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 string and control-sequence introducers: skip their payload like the ESC forms.
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\t' => {
                let column = out.chars().rev().take_while(|c| *c != '\n').count();
                out.extend(std::iter::repeat_n(' ', 8 - column % 8));
            }
            '\n' | '\r' => out.push('⏎'),
            c if is_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Sanitises and truncates to at most `max_chars` characters, marking the cut with `…`.
pub fn sanitize_truncated(input: &str, max_chars: usize) -> String {
    let clean = sanitize(input);
    if clean.chars().count() <= max_chars {
        return clean;
    }
    let mut cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200e}' | '\u{200f}'           // LRM, RLM
            | '\u{202a}'..='\u{202e}'         // LRE, RLE, PDF, LRO, RLO
            | '\u{2066}'..='\u{2069}'         // LRI, RLI, FSI, PDI
            | '\u{061c}'                      // ALM
            | '\u{feff}'                      // BOM / zero-width no-break space
        )
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | '_' | '^' | 'X') => skip_string(chars),
        // nF escapes (ESC SP F, ESC ( B ...): intermediates then one final byte.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            chars.next();
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS/APC/PM/SOS payload, ended by BEL, ST (ESC \) or the C1 ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_escape_family() {
        let hostile = "a\u{1b}[31mred\u{1b}[0m\u{1b}]0;pwned\u{7}b\u{1b}]52;c;ZXZpbA==\u{1b}\\c\u{1b}Pq#0\u{1b}\\d\u{1b}_apc\u{1b}\\e\u{9b}2Jf\u{1b}(Bg";
        assert_eq!(sanitize(hostile), "aredbcdefg");
    }

    #[test]
    fn strips_controls_and_bidi() {
        assert_eq!(sanitize("x\u{0}y\u{7}z\u{202e}evil\u{2066}"), "xyzevil");
        assert_eq!(sanitize("a\tb"), "a       b");
        assert_eq!(sanitize("one\ntwo"), "one⏎two");
    }

    #[test]
    fn truncates_with_marker() {
        assert_eq!(sanitize_truncated("abcdef", 4), "abc…");
        assert_eq!(sanitize_truncated("abc", 4), "abc");
    }
}
