//! Making untrusted text (names, error messages, query text, log lines) safe for the terminal.
//!
//! Removes every C0/C1 control and ESC-introduced sequence (CSI, OSC, DCS, APC, PM, SOS, nF and
//! two-byte escapes, in their 7-bit and 8-bit forms), bidi embeddings, overrides, isolates and
//! marks, the BOM and interlinear annotation controls; turns U+2028/U+2029 into spaces, line breaks
//! into a visible `⏎` and expands tabs. The output never contains a character for which
//! `char::is_control` holds, so nothing can move the cursor, retitle the window, touch the
//! clipboard or the palette, or reorder what the operator reads.
//!
//! Text that needs none of this (the common case) is detected with a word-at-a-time scan and
//! returned as is ([`sanitize_cow`] borrows it).

use std::borrow::Cow;

/// Sanitises one line of untrusted text for display. Newlines become a visible `⏎`.
pub fn sanitize(input: &str) -> String {
    sanitize_cow(input).into_owned()
}

/// Like [`sanitize`], borrowing the input when it is already safe.
pub fn sanitize_cow(input: &str) -> Cow<'_, str> {
    sanitize_limited(input, usize::MAX).0
}

/// Sanitises, stopping before the output would exceed `max_bytes` (always on a character
/// boundary). Returns the text and whether it was cut. The output is bounded even when tab
/// expansion makes it longer than the input.
pub fn sanitize_limited(input: &str, max_bytes: usize) -> (Cow<'_, str>, bool) {
    let bytes = input.as_bytes();
    let first = next_unsafe(bytes, 0);
    if first == bytes.len() {
        if input.len() <= max_bytes {
            return (Cow::Borrowed(input), false);
        }
        return (
            Cow::Borrowed(&input[..floor_char_boundary(input, max_bytes)]),
            true,
        );
    }
    let mut out = Out {
        text: String::with_capacity(input.len().min(max_bytes).saturating_add(8)),
        max: max_bytes,
        column: 0,
        counted: 0,
        full: false,
    };
    out.push_str(&input[..first]);
    let mut i = first;
    while i < bytes.len() && !out.full {
        let b = bytes[i];
        i = match b {
            b'\t' => {
                out.tab();
                i + 1
            }
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.push_str("⏎");
                i + 2
            }
            b'\n' | b'\r' => {
                out.push_str("⏎");
                i + 1
            }
            0x1b => skip_escape(bytes, i + 1),
            0xc2 => match bytes[i + 1] {
                // 8-bit CSI, and the string introducers DCS, SOS, OSC, PM, APC.
                0x9b => skip_csi(bytes, i + 2),
                0x90 | 0x98 | 0x9d | 0x9e | 0x9f => skip_string(bytes, i + 2),
                _ => i + 2, // any other C1 control
            },
            0xe2 if bytes[i + 1] == 0x80 && matches!(bytes[i + 2], 0xa8 | 0xa9) => {
                out.push_str(" "); // LINE / PARAGRAPH SEPARATOR
                i + 3
            }
            // The rest of what `next_unsafe` stops at is dropped: other C0 controls, DEL, and
            // invisible format characters (bidi, BOM, annotations), whatever their length.
            _ => i + utf8_len(b),
        };
        if i < bytes.len() && !out.full {
            let next = next_unsafe(bytes, i);
            out.push_str(&input[i..next]);
            i = next;
        }
    }
    let truncated = out.full;
    (Cow::Owned(out.text), truncated)
}

/// Whether `input` is displayed as is by [`sanitize`].
pub fn is_clean(input: &str) -> bool {
    next_unsafe(input.as_bytes(), 0) == input.len()
}

/// Sanitises and truncates to at most `max_chars` characters, marking the cut with `…`.
pub fn sanitize_truncated(input: &str, max_chars: usize) -> String {
    let clean = sanitize_cow(input);
    match clean.char_indices().nth(max_chars) {
        None => clean.into_owned(),
        Some(_) => {
            let mut cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
    }
}

/// The largest character boundary at or before `index`.
pub fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// The output under construction: tracks the display column for tab stops (counted lazily) and
/// the byte limit.
struct Out {
    text: String,
    max: usize,
    /// Characters in `text[..counted]`.
    column: usize,
    counted: usize,
    full: bool,
}

impl Out {
    fn push_str(&mut self, s: &str) {
        if self.full {
            return;
        }
        if self.text.len() + s.len() <= self.max {
            self.text.push_str(s);
        } else {
            let room = self.max - self.text.len();
            self.text.push_str(&s[..floor_char_boundary(s, room)]);
            self.full = true;
        }
    }

    /// Spaces to the next multiple of 8 columns (the line is shown on one row, so columns count
    /// from its start, `⏎` included).
    fn tab(&mut self) {
        self.column += self.text[self.counted..].chars().count();
        self.counted = self.text.len();
        let spaces = 8 - self.column % 8;
        self.push_str(&"        "[..spaces]);
    }
}

/// Length of the UTF-8 sequence starting with this (valid) lead byte.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether 8 bytes are all printable ASCII (0x20..=0x7e). Exact: the `< 0x20` test is the classic
/// "has less than" word trick (valid for n <= 128), and `x + 1` sets the high bit exactly for 0x7f
/// (bytes >= 0x80 already have it; the only carry comes from 0xff, which is flagged anyway).
#[inline]
fn plain_ascii(x: u64) -> bool {
    let below_space = x.wrapping_sub(0x20 * LO) & !x & HI;
    let del_or_high = (x.wrapping_add(LO) | x) & HI;
    (below_space | del_or_high) == 0
}

/// Index of the first byte, at or after `from` (a character boundary), that starts a character
/// `sanitize` does not pass through as is; `bytes.len()` if none. `bytes` is valid UTF-8.
fn next_unsafe(bytes: &[u8], from: usize) -> usize {
    let len = bytes.len();
    let mut i = from;
    loop {
        // Printable ASCII, 16 bytes at a time.
        while i + 16 <= len {
            let a = u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
            let b = u64::from_le_bytes(bytes[i + 8..i + 16].try_into().unwrap_or_default());
            if !(plain_ascii(a) && plain_ascii(b)) {
                break;
            }
            i += 16;
        }
        // The block that failed (or the tail), one character at a time.
        let end = (i + 16).min(len);
        while i < end {
            let b = bytes[i];
            if b < 0x80 {
                if b < 0x20 || b == 0x7f {
                    return i;
                }
                i += 1;
            } else {
                let at = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
                if is_unsafe_multibyte(b, at(1), at(2)) {
                    return i;
                }
                i += utf8_len(b);
            }
        }
        if i >= len {
            return len;
        }
    }
}

/// Non-ASCII characters that are dropped or replaced, from their first three bytes.
#[inline]
fn is_unsafe_multibyte(b0: u8, b1: u8, b2: u8) -> bool {
    match b0 {
        0xc2 => (0x80..=0x9f).contains(&b1), // C1 controls U+0080..U+009F
        0xd8 => b1 == 0x9c,                  // U+061C ARABIC LETTER MARK
        0xe2 => match b1 {
            0x80 => matches!(b2, 0x8e | 0x8f | 0xa8..=0xae), // LRM, RLM, LS, PS, LRE..RLO
            0x81 => (0xa6..=0xaf).contains(&b2),             // LRI..PDI, deprecated format controls
            _ => false,
        },
        0xef => (b1 == 0xbb && b2 == 0xbf) || (b1 == 0xbf && (0xb9..=0xbb).contains(&b2)), // BOM, annotations
        _ => false,
    }
}

/// After ESC at `i - 1`: skips the sequence and returns where text resumes.
fn skip_escape(bytes: &[u8], i: usize) -> usize {
    let Some(&b) = bytes.get(i) else { return i };
    match b {
        b'[' => skip_csi(bytes, i + 1),
        b']' | b'P' | b'_' | b'^' | b'X' => skip_string(bytes, i + 1),
        // nF escapes (ESC SP F, ESC ( B, ESC # 8 ...): intermediates, then one final byte.
        0x20..=0x2f => {
            let mut j = i + 1;
            while bytes.get(j).is_some_and(|b| (0x20..=0x2f).contains(b)) {
                j += 1;
            }
            match bytes.get(j) {
                Some(0x30..=0x7e) => j + 1,
                _ => j,
            }
        }
        // Two-byte escapes (ESC 7, ESC c, ESC M, ESC =, ...).
        0x30..=0x7e => i + 1,
        // ESC followed by a control, DEL or non-ASCII: drop the ESC, handle what follows.
        _ => i,
    }
}

/// A control sequence's parameters and intermediates (0x20..=0x3f) up to its final byte
/// (0x40..=0x7e). C0 controls inside are dropped (a terminal executes them), CAN/SUB abort it,
/// ESC or a non-ASCII character ends it and is handled on its own. Unterminated: the rest goes.
fn skip_csi(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        match b {
            0x40..=0x7e | 0x18 | 0x1a => return i + 1,
            0x1b | 0x80.. => return i,
            _ => i += 1,
        }
    }
    i
}

/// An OSC/DCS/APC/PM/SOS payload, ended by BEL, ST (ESC \ or the 8-bit U+009C) or CAN/SUB; ESC
/// followed by anything else ends it and starts a new sequence. Unterminated: the rest goes.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        match b {
            0x07 | 0x18 | 0x1a => return i + 1,
            0x1b if bytes.get(i + 1) == Some(&b'\\') => return i + 2,
            0x1b => return i,
            0xc2 if bytes.get(i + 1) == Some(&0x9c) => return i + 2,
            _ => i += 1,
        }
    }
    i
}

/// Compact age: `42s`, `3m12s`, `2h5m`, `3d4h`.
pub fn format_age(age: std::time::Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86400, secs % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No control character, no bidi or other invisible format control.
    pub(crate) fn assert_safe(text: &str) {
        for c in text.chars() {
            assert!(!c.is_control(), "control {c:?} in {text:?}");
            assert!(
                !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}' | '\u{2028}' | '\u{2029}'),
                "format control {c:?} in {text:?}"
            );
        }
    }

    #[test]
    fn strips_every_escape_family() {
        let hostile = "a\u{1b}[31mred\u{1b}[0m\u{1b}]0;pwned\u{7}b\u{1b}]52;c;ZXZpbA==\u{1b}\\c\u{1b}Pq#0\u{1b}\\d\u{1b}_apc\u{1b}\\e\u{9b}2Jf\u{1b}(Bg";
        assert_eq!(sanitize(hostile), "aredbcdefg");
    }

    #[test]
    fn hostile_corpus() {
        let cases: &[(&str, &str)] = &[
            ("\u{1b}[1;31mbold red\u{1b}[0m", "bold red"),
            ("\u{1b}[38;2;255;0;0mtruecolor\u{1b}[m", "truecolor"),
            (
                "up\u{1b}[2Aleft\u{1b}[10D\u{1b}[H\u{1b}[2J\u{1b}[?25l\u{1b}[?1049h",
                "upleft",
            ),
            (
                "\u{1b}[0 qcursor style\u{1b}[!psoft reset",
                "cursor stylesoft reset",
            ),
            ("\u{1b}7save\u{1b}8\u{1b}c\u{1b}M\u{1b}=\u{1b}#8", "save"),
            ("t\u{1b}]0;title\u{7}x", "tx"),
            ("t\u{1b}]2;title\u{1b}\\x", "tx"),
            ("c\u{1b}]52;c;cm0gLXJmIC8=\u{7}x", "cx"),
            (
                "\u{1b}]8;;http://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                "link",
            ),
            ("p\u{1b}]4;1;rgb:ff/00/00\u{7}x", "px"),
            ("p\u{1b}]104\u{7}x\u{1b}]10;?\u{7}", "px"),
            ("d\u{1b}P1$r0m\u{1b}\\x", "dx"),
            ("d\u{1b}Pq#0;2;0;0;0#0~~@@vv\u{1b}\\x", "dx"),
            ("a\u{1b}_Gf=100;AAAA\u{1b}\\x", "ax"),
            ("m\u{1b}^privacy\u{1b}\\x", "mx"),
            ("s\u{1b}Xstart of string\u{1b}\\x", "sx"),
            ("8\u{9b}31mbit\u{9b}2J", "8bit"),
            ("o\u{9d}0;title\u{9c}x", "ox"),
            ("o\u{9d}52;c;AAAA\u{7}x", "ox"),
            (
                "d\u{90}q#0\u{9c}x\u{9f}apc\u{9c}y\u{9e}pm\u{9c}z\u{98}sos\u{9c}!",
                "dxyz!",
            ),
            ("c1\u{85}\u{84}\u{8d}\u{9c}", "c1"),
            ("esc at end\u{1b}", "esc at end"),
            ("csi at end\u{1b}[", "csi at end"),
            ("csi params at end\u{1b}[12;3", "csi params at end"),
            ("8-bit csi at end\u{9b}", "8-bit csi at end"),
            (
                "unterminated\u{1b}]0;swallow everything after",
                "unterminated",
            ),
            ("unterminated dcs\u{1b}Pq rest\nof line", "unterminated dcs"),
            // OSC ended by ESC [: the CSI that follows is removed too, not shown as text.
            ("osc then csi\u{1b}]0;t\u{1b}[31mred", "osc then csired"),
            ("esc esc\u{1b}\u{1b}[31mx", "esc escx"),
            ("csi aborted\u{1b}[3\u{18}x", "csi abortedx"),
            ("csi with newline\u{1b}[3\n1mx", "csi with newlinex"),
            (
                "nul\u{0}bel\u{7}bs\u{8}del\u{7f}vt\u{b}ff\u{c}",
                "nulbelbsdelvtff",
            ),
            (
                "bidi \u{202e}evil\u{202c} \u{2066}iso\u{2069} \u{200f}\u{200e}\u{061c}\u{feff}",
                "bidi evil iso ",
            ),
            (
                "dep\u{206a}\u{206f}recated\u{fff9}ann\u{fffb}",
                "deprecatedann",
            ),
            ("line\u{2028}sep\u{2029}para", "line sep para"),
            ("crlf\r\nand\rcr\nlf", "crlf⏎and⏎cr⏎lf"),
            (
                "zwj \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} ok",
                "zwj \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} ok",
            ),
            ("esc then utf8\u{1b}é", "esc then utf8é"),
        ];
        for (input, want) in cases {
            let got = sanitize(input);
            assert_safe(&got);
            assert_eq!(&got, want, "input {input:?}");
        }
    }

    #[test]
    fn strips_controls_and_bidi() {
        assert_eq!(sanitize("x\u{0}y\u{7}z\u{202e}evil\u{2066}"), "xyzevil");
        assert_eq!(sanitize("one\ntwo"), "one⏎two");
    }

    #[test]
    fn expands_tabs_to_stops() {
        assert_eq!(sanitize("a\tb"), "a       b");
        assert_eq!(sanitize("\t"), "        ");
        assert_eq!(sanitize("abcdefgh\tx"), "abcdefgh        x");
        assert_eq!(sanitize("é\tx"), "é       x");
        assert_eq!(sanitize("\u{1b}[31ma\u{1b}[0m\tb"), "a       b");
        // Linear, not quadratic, in the number of tabs.
        let tabs = "\t".repeat(64 * 1024);
        assert_eq!(sanitize(&tabs).len(), 8 * 64 * 1024);
    }

    #[test]
    fn clean_text_is_borrowed() {
        for clean in [
            "",
            "plain ascii text that is longer than sixteen bytes",
            "日本語のログ行 — ünïcödé …",
            "zero\u{200d}width joiner",
        ] {
            assert!(matches!(sanitize_cow(clean), Cow::Borrowed(_)), "{clean:?}");
            assert!(is_clean(clean));
        }
        for dirty in [
            "tab\there",
            "a long line of ascii text then an escape \u{1b}[0m",
            "c1 \u{85}",
            "rlo \u{202e}",
            "ls \u{2028}",
        ] {
            assert!(matches!(sanitize_cow(dirty), Cow::Owned(_)), "{dirty:?}");
            assert!(!is_clean(dirty));
        }
    }

    /// The word-at-a-time scan agrees with a character-by-character definition.
    #[test]
    fn scan_matches_naive_definition() {
        fn naive(s: &str) -> usize {
            s.char_indices()
                .find(|(_, c)| {
                    c.is_control()
                        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{206f}' | '\u{061c}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
                })
                .map_or(s.len(), |(i, _)| i)
        }
        let alphabet = [
            'a',
            ' ',
            '~',
            '\u{7f}',
            '\u{1f}',
            '\t',
            '\u{0}',
            'é',
            '\u{85}',
            '\u{9f}',
            '\u{a0}',
            '\u{202e}',
            '\u{2028}',
            '\u{2030}',
            '\u{2066}',
            '\u{2070}',
            '\u{feff}',
            '\u{fffd}',
            '\u{1f600}',
            '日',
            '\u{61c}',
            '\u{600}',
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for k in 0..len {
                let pick = (seed.rotate_left(k as u32 * 5) % 97) as usize;
                // Mostly printable ASCII, so the 16-byte path is exercised.
                s.push(if pick < 75 {
                    char::from(b'a' + (pick % 26) as u8)
                } else {
                    alphabet[pick % alphabet.len()]
                });
            }
            assert_eq!(next_unsafe(s.as_bytes(), 0), naive(&s), "{s:?}");
            assert_safe(&sanitize(&s));
        }
    }

    /// Random mixes of sequence fragments never panic and never leak a control, at any limit.
    #[test]
    fn random_fragments_are_always_safe() {
        let pieces = [
            "\u{1b}",
            "[",
            "]",
            "P",
            "_",
            "^",
            "X",
            "\\",
            "\u{7}",
            "\u{9b}",
            "\u{9c}",
            "\u{9d}",
            "\u{90}",
            "\u{85}",
            "0;",
            "31m",
            " ",
            "\t",
            "\r",
            "\n",
            "\u{18}",
            "é",
            "日",
            "\u{202e}",
            "\u{2028}",
            "\u{1f600}",
            "(",
            "#",
            "?25l",
            "abc",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut s = String::new();
            for k in 0..(seed % 24) {
                s.push_str(pieces[(seed.rotate_left(k as u32 * 3) % pieces.len() as u64) as usize]);
            }
            assert_safe(&sanitize(&s));
            let limit = (seed % 16) as usize;
            let (text, _) = sanitize_limited(&s, limit);
            assert!(text.len() <= limit, "{s:?} limited to {limit}: {text:?}");
            assert_safe(&text);
        }
    }

    #[test]
    fn limited_output_is_bounded_and_cut_on_char_boundary() {
        let (text, cut) = sanitize_limited("ééééé", 5);
        assert_eq!((text.as_ref(), cut), ("éé", true));
        let (text, cut) = sanitize_limited("\tx", 4);
        assert_eq!((text.as_ref(), cut), ("    ", true));
        let (text, cut) = sanitize_limited("ab\u{1b}[0mcdé", 5);
        assert_eq!((text.as_ref(), cut), ("abcd", true));
        let (text, cut) = sanitize_limited("abc", 3);
        assert_eq!((text.as_ref(), cut), ("abc", false));
    }

    #[test]
    fn truncates_with_marker() {
        assert_eq!(sanitize_truncated("abcdef", 4), "abc…");
        assert_eq!(sanitize_truncated("abcd", 4), "abcd");
        assert_eq!(sanitize_truncated("abc", 4), "abc");
    }
}
