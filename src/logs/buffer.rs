//! A bounded ring buffer of lines with sequence numbers, so a scrolled view keeps its place while
//! new lines arrive and old ones are evicted.

use std::collections::VecDeque;

use super::LogLine;

#[derive(Debug, Clone)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Sequence number of the oldest line kept.
    first_seq: u64,
    pub evicted: u64,
    pub dropped: u64,
}

impl LogBuffer {
    pub fn new(capacity: usize) -> Self {
        Self { lines: VecDeque::with_capacity(capacity.min(4096)), capacity: capacity.max(1), first_seq: 0, evicted: 0, dropped: 0 }
    }

    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.first_seq += 1;
            self.evicted += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sequence number of the oldest line kept; the newest is `first_seq() + len() - 1`.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The line with this sequence number, if still kept.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        seq.checked_sub(self.first_seq).and_then(|i| self.lines.get(usize::try_from(i).ok()?))
    }

    /// Lines with their sequence numbers, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> + ExactSizeIterator {
        let first = self.first_seq;
        self.lines.iter().enumerate().map(move |(i, line)| (first + i as u64, line))
    }

    pub fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
    }
}
