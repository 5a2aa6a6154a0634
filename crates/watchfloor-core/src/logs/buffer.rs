//! A bounded buffer of lines in time order with sequence numbers, so a scrolled view keeps its
//! place while new lines arrive and old ones are evicted. Lines from several streams are merged
//! by their timestamps (see [`LogBuffer::push`]).
//!
//! Memory is bounded by the line count: the deque grows by doubling up to exactly `capacity`
//! slots (never past it), and each line owns only its sanitised text (see `LogLine::heap_bytes`).

use std::collections::VecDeque;

use super::LogLine;

/// Where [`LogBuffer::push`] put a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// At the end, with this sequence number.
    Appended(u64),
    /// Before newer lines: it has this sequence number and every later line's moved up by one.
    Inserted(u64),
    /// Older than everything a full buffer keeps: counted as evicted, not kept.
    Evicted,
}

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
        Self {
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            first_seq: 0,
            evicted: 0,
            dropped: 0,
        }
    }

    /// Adds a line in time order: after every kept line whose time (the source's timestamp, else
    /// when it was received) is not later, so a stream's backfill lands among the lines of its
    /// moment rather than at the end. Lines arriving in order (the common case) are appended in
    /// O(1); a line older than everything in a full buffer is evicted at once.
    pub fn push(&mut self, line: LogLine) -> Placed {
        let at = line.time();
        let full = self.lines.len() == self.capacity;
        // Older than everything a full buffer keeps (a late backfill): no search, no move.
        if full && self.lines.front().is_some_and(|oldest| at < oldest.time()) {
            self.evicted += 1;
            return Placed::Evicted;
        }
        let index = if self.lines.back().is_none_or(|last| last.time() <= at) {
            self.lines.len()
        } else {
            self.lines.partition_point(|kept| kept.time() <= at)
        };
        if full {
            // `index` is not 0: the line is not older than the oldest kept.
            self.lines.pop_front();
            self.first_seq += 1;
            self.evicted += 1;
            return self.place(index - 1, line);
        }
        self.make_room();
        self.place(index, line)
    }

    /// Adds a batch of lines where [`push`](Self::push) would put them one by one, in one pass:
    /// the batch is sorted by time (stably) and merged with the kept lines newer than its oldest
    /// line. Several streams' batches overlap in time, so one by one each line would move every
    /// newer line (thousands under a flood: a memmove per line); merged, each moves once.
    /// Returns the sequence number from which kept lines were renumbered, if any were.
    pub fn push_batch(&mut self, mut lines: Vec<LogLine>) -> Option<u64> {
        if !lines.is_sorted_by_key(LogLine::time) {
            lines.sort_by_key(LogLine::time);
        }
        let at = lines.first()?.time();
        if self.lines.back().is_none_or(|last| last.time() <= at) {
            // A live stream's batch: all newer than what is kept, appended in bulk. The oldest
            // lines make room first (kept ones, then the batch's own if it alone overflows),
            // counted as evicted as pushing one by one would.
            let overflow = (self.lines.len() + lines.len()).saturating_sub(self.capacity);
            let from_kept = overflow.min(self.lines.len());
            self.lines.drain(..from_kept);
            lines.drain(..overflow - from_kept);
            self.first_seq += overflow as u64;
            self.evicted += overflow as u64;
            let needed = self.lines.len() + lines.len();
            if needed > self.lines.capacity() {
                let target = (self.lines.capacity() * 2)
                    .max(16)
                    .max(needed)
                    .min(self.capacity);
                self.lines.reserve_exact(target - self.lines.len());
            }
            self.lines.extend(lines);
            return None;
        }
        let split = self.lines.partition_point(|kept| kept.time() <= at);
        let renumbered = (split < self.lines.len()).then_some(self.first_seq + split as u64);
        let mut kept = self.lines.split_off(split).into_iter().peekable();
        let mut new = lines.into_iter().peekable();
        loop {
            // Equal times: the kept line first, as `push` places a line after its equals.
            let next = match (kept.peek(), new.peek()) {
                (Some(k), Some(n)) if k.time() <= n.time() => kept.next(),
                (_, Some(_)) => new.next(),
                (Some(_), None) => kept.next(),
                (None, None) => break,
            };
            if let Some(line) = next {
                self.push_back_evicting(line);
            }
        }
        renumbered
    }

    /// Appends, evicting the oldest line when full.
    fn push_back_evicting(&mut self, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.first_seq += 1;
            self.evicted += 1;
        } else {
            self.make_room();
        }
        self.lines.push_back(line);
    }

    /// Room for one more line in a buffer not yet full: the deque grows by doubling, but never
    /// past `capacity` slots.
    fn make_room(&mut self) {
        if self.lines.len() == self.lines.capacity() {
            let target = (self.lines.len() * 2).max(16).min(self.capacity);
            self.lines.reserve_exact(target - self.lines.len());
        }
    }

    fn place(&mut self, index: usize, line: LogLine) -> Placed {
        let seq = self.first_seq + index as u64;
        if index == self.lines.len() {
            self.lines.push_back(line);
            Placed::Appended(seq)
        } else {
            self.lines.insert(index, line);
            Placed::Inserted(seq)
        }
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

    /// Sequence number the next pushed line gets.
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    /// The line with this sequence number, if still kept.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        seq.checked_sub(self.first_seq)
            .and_then(|i| self.lines.get(usize::try_from(i).ok()?))
    }

    /// Lines with their sequence numbers, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> + ExactSizeIterator {
        let first = self.first_seq;
        self.lines
            .iter()
            .enumerate()
            .map(move |(i, line)| (first + i as u64, line))
    }

    pub fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
    }

    /// Heap bytes held: the deque's slots plus what each line owns (allocator overhead excluded).
    pub fn heap_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<LogLine>()
            + self.lines.iter().map(LogLine::heap_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::logs::parse_line;

    fn line(text: &str) -> LogLine {
        parse_line(0, text.as_bytes(), false, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn evicts_oldest_and_keeps_sequence_numbers() {
        let mut buffer = LogBuffer::new(3);
        assert!(buffer.is_empty());
        assert_eq!((buffer.first_seq(), buffer.next_seq()), (0, 0));
        for i in 0..5 {
            buffer.push(line(&format!("line {i}")));
        }
        assert_eq!((buffer.len(), buffer.capacity(), buffer.evicted), (3, 3, 2));
        assert_eq!((buffer.first_seq(), buffer.next_seq()), (2, 5));
        assert!(buffer.get(1).is_none());
        assert_eq!(&*buffer.get(2).unwrap().raw, "line 2");
        assert_eq!(&*buffer.get(4).unwrap().raw, "line 4");
        assert!(buffer.get(5).is_none());
        let seen: Vec<(u64, &str)> = buffer.iter().map(|(seq, l)| (seq, &*l.raw)).collect();
        assert_eq!(seen, [(2, "line 2"), (3, "line 3"), (4, "line 4")]);
        assert_eq!(buffer.iter().next_back().map(|(seq, _)| seq), Some(4));
        assert_eq!(buffer.iter().len(), 3);
    }

    fn at(text: &str, secs: u64) -> LogLine {
        let mut l = line(text);
        l.timestamp = Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs));
        l
    }

    #[test]
    fn lines_are_merged_by_timestamp() {
        let mut buffer = LogBuffer::new(10);
        assert_eq!(buffer.push(at("a10", 10)), Placed::Appended(0));
        assert_eq!(buffer.push(at("b30", 30)), Placed::Appended(1));
        // A second stream's backfill arrives late: each line goes to its moment.
        assert_eq!(buffer.push(at("c20", 20)), Placed::Inserted(1));
        assert_eq!(buffer.push(at("d5", 5)), Placed::Inserted(0));
        // Equal times keep arrival order.
        assert_eq!(buffer.push(at("e20", 20)), Placed::Inserted(3));
        let order: Vec<&str> = buffer.iter().map(|(_, l)| &*l.raw).collect();
        assert_eq!(order, ["d5", "a10", "c20", "e20", "b30"]);
    }

    #[test]
    fn a_full_buffer_evicts_the_oldest_even_when_inserting() {
        let mut buffer = LogBuffer::new(3);
        for (text, secs) in [("a", 10), ("b", 20), ("c", 30)] {
            buffer.push(at(text, secs));
        }
        assert_eq!(buffer.push(at("old", 1)), Placed::Evicted);
        assert_eq!(buffer.push(at("mid", 25)), Placed::Inserted(2));
        let order: Vec<(u64, &str)> = buffer.iter().map(|(s, l)| (s, &*l.raw)).collect();
        assert_eq!(order, [(1, "b"), (2, "mid"), (3, "c")]);
        assert_eq!(buffer.evicted, 2);
    }

    #[test]
    fn clear_keeps_numbering() {
        let mut buffer = LogBuffer::new(10);
        for i in 0..4 {
            buffer.push(line(&format!("{i}")));
        }
        buffer.clear();
        assert!(buffer.is_empty());
        assert_eq!((buffer.first_seq(), buffer.evicted), (4, 0));
        buffer.push(line("after"));
        assert_eq!(&*buffer.get(4).unwrap().raw, "after");
    }

    #[test]
    fn zero_capacity_keeps_one() {
        let mut buffer = LogBuffer::new(0);
        buffer.push(line("a"));
        buffer.push(line("b"));
        assert_eq!(
            (buffer.len(), buffer.evicted, buffer.first_seq()),
            (1, 1, 1)
        );
    }

    #[test]
    fn slots_never_exceed_capacity() {
        let mut buffer = LogBuffer::new(20_000);
        let template = line("x");
        for _ in 0..25_000 {
            buffer.push(template.clone());
        }
        assert_eq!(buffer.lines.capacity(), 20_000);
        assert_eq!(buffer.evicted, 5_000);
        assert_eq!(
            buffer.heap_bytes(),
            20_000 * (std::mem::size_of::<LogLine>() + 1)
        );
    }

    #[test]
    fn a_newer_batch_is_appended_as_pushing_each_line_would() {
        use std::time::{Duration, UNIX_EPOCH};
        let mut one_by_one = LogBuffer::new(20);
        let mut appended = LogBuffer::new(20);
        let mut t = 0;
        // Sizes that fill, overflow, exceed the whole capacity, and nothing.
        for size in [3, 12, 9, 25, 0, 20, 1] {
            let lines: Vec<LogLine> = (0..size)
                .map(|i| {
                    t += 1;
                    let mut l = line(&format!("{t}-{i}"));
                    l.timestamp = Some(UNIX_EPOCH + Duration::from_secs(t));
                    l
                })
                .collect();
            for l in lines.clone() {
                one_by_one.push(l);
            }
            assert_eq!(appended.push_batch(lines), None, "nothing renumbered");
            let seqs = |b: &LogBuffer| -> Vec<(u64, String)> {
                b.iter().map(|(seq, l)| (seq, l.raw.to_string())).collect()
            };
            assert_eq!(seqs(&appended), seqs(&one_by_one), "batch of {size}");
            assert_eq!(appended.evicted, one_by_one.evicted, "batch of {size}");
            assert!(
                appended.lines.capacity() <= 20,
                "never more slots than lines kept"
            );
        }
    }

    #[test]
    fn a_merged_batch_ends_as_pushing_each_line_would() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |t: u64, text: &str| {
            let mut l = line(text);
            l.timestamp = Some(UNIX_EPOCH + Duration::from_secs(t));
            l
        };
        let mut seed = 11u64;
        let mut one_by_one = LogBuffer::new(50);
        let mut merged = LogBuffer::new(50);
        for batch in 0..40u64 {
            let lines: Vec<LogLine> = (0..9)
                .map(|i| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    at(batch * 5 + (seed >> 33) % 30, &format!("b{batch}-{i}"))
                })
                .collect();
            let mut sorted = lines.clone();
            sorted.sort_by_key(LogLine::time);
            let before: Vec<u64> = merged.iter().map(|(seq, _)| seq).collect();
            let mut inserted = false;
            for l in sorted {
                inserted |= matches!(one_by_one.push(l), Placed::Inserted(_));
            }
            let renumbered = merged.push_batch(lines);
            let texts = |b: &LogBuffer| -> Vec<String> {
                b.iter().map(|(_, l)| l.raw.to_string()).collect()
            };
            assert_eq!(texts(&merged), texts(&one_by_one), "batch {batch}");
            assert_eq!(merged.evicted, one_by_one.evicted, "batch {batch}");
            // Lines before the renumbered point kept their numbers (a view keeps them as is).
            if inserted {
                let from = renumbered.expect("lines were renumbered");
                assert!(
                    before
                        .iter()
                        .all(|seq| *seq < from || *seq >= merged.first_seq())
                );
            }
        }
        assert!(merged.len() == 50 && merged.lines.capacity() <= 64);
    }
}
