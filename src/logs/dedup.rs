//! Resuming a stream after it ends: ask again from the last timestamp seen, and drop the lines of
//! the overlap that were already shown.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Remembers the newest timestamp and the lines seen at it, so a resumed stream (which repeats
/// lines from that second on) neither duplicates nor loses lines.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    last: Option<SystemTime>,
    /// Hashes of recent lines at or after `last`'s second.
    recent: VecDeque<(SystemTime, u64)>,
}

const RECENT: usize = 4096;

impl Resume {
    /// Where to resume from: the last timestamp seen.
    pub fn since(&self) -> Option<SystemTime> {
        self.last
    }

    /// Whether a line (its source timestamp and raw bytes) is new; records it if so.
    pub fn is_new(&mut self, timestamp: Option<SystemTime>, raw: &[u8]) -> bool {
        let Some(at) = timestamp else { return true };
        let hash = fxhash(raw);
        if self.last.is_some_and(|last| at < last) {
            return false;
        }
        if self.recent.iter().any(|(t, h)| *t == at && *h == hash) {
            return false;
        }
        self.recent.push_back((at, hash));
        if self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        self.last = Some(self.last.map_or(at, |last| last.max(at)));
        true
    }
}

/// A small, fast, non-cryptographic hash (FNV-1a).
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
