//! A remote terminal's bytes as crossterm events: `terminput` parses them (crossterm's own
//! parser is private) and `terminput-crossterm` converts them, so the keymap works unchanged.
//!
//! The parser reads one event from the start of a buffer; this decoder finds where each event
//! ends. A lone ESC is a key only when nothing follows it in the same read (as terminals send
//! an escape sequence in one write); an incomplete sequence at the end of a read waits for the
//! next one.

use crossterm::event::Event;

/// A bracketed paste larger than this is dropped whole (a paste is a filter or a command).
const MAX_PENDING: usize = 64 * 1024;

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// The events `bytes` complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while start < self.pending.len() {
            match next_event(&self.pending[start..]) {
                Step::Event(event, used) => {
                    if let Some(event) = event {
                        events.push(event);
                    }
                    start += used;
                }
                Step::Incomplete => break,
            }
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
        }
        events
    }
}

enum Step {
    /// An event (None: bytes that mean nothing, skipped) and how many bytes it took.
    Event(Option<Event>, usize),
    Incomplete,
}

fn next_event(buffer: &[u8]) -> Step {
    // A paste is found by its end marker rather than re-parsed byte by byte.
    if buffer.starts_with(PASTE_START) {
        let Some(end) = find(buffer, PASTE_END) else {
            return Step::Incomplete;
        };
        let used = end + PASTE_END.len();
        let text = String::from_utf8_lossy(&buffer[PASTE_START.len()..end]).into_owned();
        return Step::Event(Some(Event::Paste(text)), used);
    }
    for end in 1..=buffer.len() {
        let more_follows = end < buffer.len();
        // ESC is the start of a sequence when more came in the same read.
        if end == 1 && buffer[0] == 0x1b && more_follows {
            continue;
        }
        match terminput::Event::parse_from(&buffer[..end]) {
            Ok(Some(event)) => {
                return Step::Event(terminput_crossterm::to_crossterm(event).ok(), end);
            }
            Ok(None) => {}
            // Not an event: skip what was read so far and go on.
            Err(_) => return Step::Event(None, end),
        }
    }
    Step::Incomplete
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn keys(events: &[Event]) -> Vec<(KeyCode, KeyModifiers)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Key(KeyEvent {
                    code, modifiers, ..
                }) => Some((*code, *modifiers)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_keys_arrows_and_control_keys() {
        let mut d = Decoder::default();
        let events = d.feed(b"jk\x1b[A\x1b[B\r\x03\t");
        assert_eq!(
            keys(&events),
            vec![
                (KeyCode::Char('j'), KeyModifiers::NONE),
                (KeyCode::Char('k'), KeyModifiers::NONE),
                (KeyCode::Up, KeyModifiers::NONE),
                (KeyCode::Down, KeyModifiers::NONE),
                (KeyCode::Enter, KeyModifiers::NONE),
                (KeyCode::Char('c'), KeyModifiers::CONTROL),
                (KeyCode::Tab, KeyModifiers::NONE),
            ]
        );
    }

    #[test]
    fn a_lone_escape_is_a_key_and_a_split_sequence_waits() {
        let mut d = Decoder::default();
        assert_eq!(
            keys(&d.feed(b"\x1b")),
            vec![(KeyCode::Esc, KeyModifiers::NONE)]
        );
        assert!(d.feed(b"\x1b[").is_empty());
        assert_eq!(keys(&d.feed(b"A")), vec![(KeyCode::Up, KeyModifiers::NONE)]);
        assert_eq!(
            keys(&d.feed("é".as_bytes())),
            vec![(KeyCode::Char('é'), KeyModifiers::NONE)]
        );
    }

    #[test]
    fn bracketed_paste_comes_whole_even_when_split() {
        let mut d = Decoder::default();
        assert!(d.feed(b"\x1b[200~api-").is_empty());
        let events = d.feed(b"server\x1b[201~q");
        assert!(matches!(&events[0], Event::Paste(text) if text == "api-server"));
        assert_eq!(
            keys(&events[1..]),
            vec![(KeyCode::Char('q'), KeyModifiers::NONE)]
        );
    }

    #[test]
    fn garbage_is_skipped_and_never_grows_without_bound() {
        let mut d = Decoder::default();
        let mut junk = b"\x1b[200~".to_vec();
        junk.extend(std::iter::repeat_n(b'x', MAX_PENDING + 10));
        assert!(d.feed(&junk).is_empty());
        assert!(d.pending.is_empty());
        assert_eq!(
            keys(&d.feed(b"q")),
            vec![(KeyCode::Char('q'), KeyModifiers::NONE)]
        );
    }
}
