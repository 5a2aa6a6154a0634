//! Resuming a stream after it ends: ask again from the last timestamp seen, and drop the lines of
//! the overlap that were already shown.
//!
//! A resumed request (`sinceTime`, which the API server keeps to the second) repeats lines from
//! the start of that second. Within a stream timestamps do not go backwards, so a line older than
//! the last one seen was already shown; a line at exactly the last timestamp was shown if its
//! bytes match one recorded at that timestamp; anything newer is new. Only the lines at the last
//! timestamp are remembered, so checking a line costs next to nothing.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Remembers the newest timestamp and the lines seen at it, so a resumed stream (which repeats
/// lines from that second on) neither duplicates nor loses lines.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    last: Option<SystemTime>,
    /// Hashes of the lines shown at exactly `last`, oldest first (at most `RECENT`).
    at_last: VecDeque<u64>,
    /// After `restart`: the lines at `last` the resumed stream has not repeated yet.
    unmatched: Vec<u64>,
    /// Between `restart` and the first line newer than `last`.
    resuming: bool,
}

/// Lines remembered at one timestamp; beyond this, repeats of the earliest ones are shown again.
const RECENT: usize = 4096;

impl Resume {
    /// Where to resume from: the last timestamp seen.
    pub fn since(&self) -> Option<SystemTime> {
        self.last
    }

    /// Optional: call when the stream is reopened from `since()`. Repeats at the last timestamp
    /// are then matched one for one, so a line that really was logged twice at that same instant
    /// is shown twice; without it, the second copy is taken for a repeat.
    pub fn restart(&mut self) {
        self.resuming = self.last.is_some();
        self.unmatched = self.at_last.iter().copied().collect();
    }

    /// Whether a line (its source timestamp and raw bytes) is new; records it if so. Lines
    /// without a timestamp are always new; lines older than the last one seen never are.
    pub fn is_new(&mut self, timestamp: Option<SystemTime>, raw: &[u8]) -> bool {
        let Some(at) = timestamp else { return true };
        match self.last {
            Some(last) if at < last => false,
            Some(last) if at == last => {
                let hash = fnv1a(raw);
                if self.resuming {
                    if let Some(i) = self.unmatched.iter().position(|h| *h == hash) {
                        self.unmatched.swap_remove(i);
                        return false;
                    }
                } else if self.at_last.contains(&hash) {
                    return false;
                }
                if self.at_last.len() == RECENT {
                    self.at_last.pop_front();
                }
                self.at_last.push_back(hash);
                true
            }
            _ => {
                self.last = Some(at);
                self.at_last.clear();
                self.at_last.push_back(fnv1a(raw));
                self.unmatched.clear();
                self.resuming = false;
                true
            }
        }
    }
}

/// A small, fast, non-cryptographic hash (FNV-1a).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(millis: u64) -> Option<SystemTime> {
        Some(
            SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_800_000_000)
                + Duration::from_millis(millis),
        )
    }

    /// Feeds `(millis, text)` lines and returns the texts that were new.
    fn feed<'a>(resume: &mut Resume, lines: &[(u64, &'a str)]) -> Vec<&'a str> {
        lines
            .iter()
            .filter(|(ms, text)| resume.is_new(at(*ms), text.as_bytes()))
            .map(|(_, text)| *text)
            .collect()
    }

    #[test]
    fn resumed_overlap_is_dropped_and_new_lines_kept() {
        let mut resume = Resume::default();
        assert_eq!(resume.since(), None);
        let first = [(100, "a"), (200, "b"), (700, "c"), (700, "d")];
        assert_eq!(feed(&mut resume, &first), ["a", "b", "c", "d"]);
        assert_eq!(resume.since(), at(700));
        // Resumed from the start of the second: repeats lines from 0 ms on.
        let second = [
            (100, "a"), // older: already shown
            (200, "b"),
            (700, "c"),   // same timestamp, same line: duplicate
            (700, "e"),   // same timestamp, new line: kept
            (700, "d"),   // duplicate, out of its original order
            (1200, "f"),  // newer: kept
            (1200, "f2"), // newer, same timestamp as the previous new line
            (900, "late"),
        ];
        assert_eq!(feed(&mut resume, &second), ["e", "f", "f2"]);
        assert_eq!(resume.since(), at(1200));
    }

    #[test]
    fn restart_matches_repeats_one_for_one() {
        let mut resume = Resume::default();
        assert_eq!(
            feed(&mut resume, &[(5, "x"), (5, "same"), (5, "same")]),
            ["x", "same"]
        );
        // With `restart`, counted: a line logged twice at the same instant after a resume is kept.
        let mut resume = Resume::default();
        resume.restart(); // nothing seen yet: no effect
        assert_eq!(feed(&mut resume, &[(5, "x"), (5, "y")]), ["x", "y"]);
        resume.restart();
        assert_eq!(
            feed(
                &mut resume,
                &[(1, "old"), (5, "x"), (5, "x"), (5, "y"), (5, "z")]
            ),
            ["x", "z"]
        );
        assert_eq!(feed(&mut resume, &[(6, "w"), (6, "w")]), ["w"]);
        // The repeats a restart accepted are remembered for the next one.
        resume.restart();
        assert_eq!(feed(&mut resume, &[(6, "w"), (7, "v")]), ["v"]);
    }

    #[test]
    fn lines_without_timestamps_are_always_new() {
        let mut resume = Resume::default();
        assert!(resume.is_new(None, b"a"));
        assert!(resume.is_new(None, b"a"));
        assert_eq!(resume.since(), None);
    }

    #[test]
    fn memory_is_bounded_at_one_timestamp() {
        let mut resume = Resume::default();
        for i in 0..(RECENT + 10) {
            assert!(resume.is_new(at(1), format!("line {i}").as_bytes()));
        }
        assert_eq!(resume.at_last.len(), RECENT);
        assert!(!resume.is_new(at(1), format!("line {}", RECENT + 9).as_bytes()));
    }
}
