//! The Logs pane as one viewer sees it: filter, visible lines, follow or paused selection and
//! display toggles, over the lines in `logs_data::LogsData` (shared by every viewer).

use std::collections::VecDeque;

use super::logs_data::{LogsData, StreamInfo};
use crate::logs::{Level, LogFilter, StreamId};

/// Which streams a Logs view shows, before its filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LogsScope {
    /// Every live stream (previous-container reads excluded).
    #[default]
    Shared,
    /// The streams of these pods alone (labels `pod/container`), whichever source follows them.
    Pods { names: Vec<String>, label: String },
    /// One source alone: an opened workload, or a pod's previous-container logs.
    Source { source: usize, label: String },
}

impl LogsScope {
    /// A pod's previous-container logs (`p`).
    pub fn is_previous(&self) -> bool {
        matches!(self, LogsScope::Source { source, .. } if *source >= super::PREVIOUS_SOURCE)
    }

    /// Whether a line of `stream` belongs in this scope, for a view whose own ad-hoc sources
    /// are numbered `own` (after [`super::ADHOC_SOURCE`]).
    fn holds(&self, stream: Option<&StreamInfo>, own: &std::ops::Range<usize>) -> bool {
        let Some(stream) = stream else {
            return matches!(self, LogsScope::Shared);
        };
        // Configured sources, and the ad-hoc ones this view opened (a served session does not
        // see the streams another session opened).
        let live = stream.source < super::ADHOC_SOURCE
            || (stream.source < super::PREVIOUS_SOURCE
                && own.contains(&(stream.source - super::ADHOC_SOURCE)));
        match self {
            LogsScope::Shared => live,
            LogsScope::Pods { names, .. } => {
                live && stream
                    .label
                    .split_once('/')
                    .is_some_and(|(pod, _)| names.iter().any(|n| n == pod))
            }
            LogsScope::Source { source, .. } => stream.source == *source,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogsView {
    /// The streams shown; the filter applies within them.
    pub scope: LogsScope,
    pub filter: LogFilter,
    /// Sequence numbers of the lines that pass the filter, oldest first.
    pub visible: VecDeque<u64>,
    /// The next sequence number `catch_up` has not looked at yet.
    seen: u64,
    /// The data's `reorders` when `visible` was last rebuilt.
    reorders: u64,
    /// Following the tail, or paused on `selected`.
    pub follow: bool,
    /// The selected line (sequence number) while paused.
    pub selected: Option<u64>,
    /// The ad-hoc sources that are this view's own, as numbered after `ADHOC_SOURCE` (all of
    /// them in the local console; a range of its own for a served session).
    pub own: std::ops::Range<usize>,
    pub wrap: bool,
    pub timestamps: bool,
    /// Show JSON lines raw instead of message + fields.
    pub raw: bool,
}

impl Default for LogsView {
    fn default() -> Self {
        Self {
            scope: LogsScope::Shared,
            filter: LogFilter::default(),
            visible: VecDeque::new(),
            seen: 0,
            reorders: 0,
            follow: true,
            selected: None,
            own: 0..usize::MAX,
            wrap: false,
            timestamps: true,
            raw: false,
        }
    }
}

impl LogsView {
    /// Takes in the lines that arrived since the last call and forgets the evicted ones. Lines
    /// that arrive in time order are only appended, so only new lines are filtered; a line
    /// merged in before newer ones renumbers those, and the visible lines are rebuilt.
    pub fn catch_up(&mut self, data: &LogsData) {
        if self.reorders != data.reorders {
            match data.last_reorder {
                // Only the last batch renumbered lines, from `from` on: the lines before keep
                // their numbers, so only the tail is filtered again.
                Some(reorder) if reorder.before == self.reorders => {
                    self.refilter_from(data, reorder.from);
                }
                _ => self.refilter(data),
            }
            return;
        }
        let first = data.buffer.first_seq();
        let next = data.buffer.next_seq();
        if self.seen > next {
            // Another buffer (a new target): start over.
            self.seen = 0;
            self.visible.clear();
        }
        for seq in self.seen.max(first)..next {
            if data
                .buffer
                .get(seq)
                .is_some_and(|line| self.shows(line, data))
            {
                self.visible.push_back(seq);
            }
        }
        self.seen = next;
        while self.visible.front().is_some_and(|seq| *seq < first) {
            self.visible.pop_front();
        }
        if self.selected.is_some_and(|seq| seq < first) {
            self.selected = self.visible.front().copied();
        }
    }

    /// Whether this view shows `line`: in its scope and passing its filter.
    fn shows(&self, line: &crate::logs::LogLine, data: &LogsData) -> bool {
        self.scope.holds(data.streams.get(&line.stream), &self.own)
            && self.filter.matches(line, self.raw, &data.fields)
    }

    /// Shows `scope` from its newest line, with no filter.
    pub fn enter(&mut self, scope: LogsScope, data: &LogsData) {
        self.scope = scope;
        self.filter = LogFilter::default();
        self.refilter(data);
        self.to_tail();
    }

    /// Rebuilds the visible lines from sequence number `from` on (those before are unchanged).
    fn refilter_from(&mut self, data: &LogsData, from: u64) {
        let first = data.buffer.first_seq();
        let next = data.buffer.next_seq();
        let kept = self.visible.partition_point(|seq| *seq < from);
        self.visible.truncate(kept);
        while self.visible.front().is_some_and(|seq| *seq < first) {
            self.visible.pop_front();
        }
        for seq in from.max(first)..next {
            if data
                .buffer
                .get(seq)
                .is_some_and(|line| self.shows(line, data))
            {
                self.visible.push_back(seq);
            }
        }
        self.seen = next;
        self.reorders = data.reorders;
        self.keep_place();
    }

    /// Keeps the place after a rebuild: the nearest visible line at or before the old selection.
    fn keep_place(&mut self) {
        if let Some(selected) = self.selected {
            let index = self.visible.partition_point(|seq| *seq <= selected);
            self.selected = self.visible.get(index.saturating_sub(1)).copied();
        }
    }

    /// Rebuilds the visible lines after a filter change.
    pub fn refilter(&mut self, data: &LogsData) {
        self.seen = data.buffer.next_seq();
        self.reorders = data.reorders;
        self.visible = data
            .buffer
            .iter()
            .filter(|(_, line)| self.shows(line, data))
            .map(|(seq, _)| seq)
            .collect();
        self.keep_place();
    }

    /// all -> >= info -> >= warn -> >= error -> all.
    pub fn cycle_level(&mut self, data: &LogsData) {
        self.filter.min_level = match self.filter.min_level {
            None => Some(Level::Info),
            Some(Level::Info) => Some(Level::Warn),
            Some(Level::Warn) => Some(Level::Error),
            _ => None,
        };
        self.refilter(data);
    }

    /// all streams -> each stream in turn -> all.
    pub fn cycle_stream(&mut self, data: &LogsData) {
        let ids: Vec<StreamId> = data.streams.keys().copied().collect();
        self.filter.stream = match self.filter.stream {
            None => ids.first().copied(),
            Some(current) => ids.iter().copied().find(|id| *id > current),
        };
        self.refilter(data);
    }

    /// The selected line's index in `visible` (the last one while following).
    pub fn selected_index(&self) -> Option<usize> {
        if self.follow || self.selected.is_none() {
            return self.visible.len().checked_sub(1);
        }
        let selected = self.selected?;
        let index = self.visible.partition_point(|seq| *seq < selected);
        Some(index.min(self.visible.len().saturating_sub(1)))
    }

    /// Moves the selection by `delta` lines, pausing the follow.
    pub fn move_by(&mut self, delta: isize) -> Moved {
        let Some(index) = self.selected_index() else {
            return Moved;
        };
        let target = index
            .saturating_add_signed(delta)
            .min(self.visible.len().saturating_sub(1));
        self.follow = false;
        self.selected = self.visible.get(target).copied();
        Moved
    }

    pub fn to_top(&mut self) -> Moved {
        self.follow = false;
        self.selected = self.visible.front().copied();
        Moved
    }

    pub fn to_tail(&mut self) -> Moved {
        self.follow = true;
        self.selected = None;
        Moved
    }

    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.follow = false;
            self.selected = self.visible.back().copied();
        } else {
            self.to_tail();
        }
    }
}

/// A movement happened; it has no effects for the runtime.
#[derive(Debug, Clone, Copy)]
pub struct Moved;

impl Moved {
    pub fn into_effects(self) -> Vec<super::Effect> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::logs::{LogEvent, parse_line};

    fn push(data: &mut LogsData, texts: &[&str]) {
        let lines = texts
            .iter()
            .map(|t| parse_line(0, t.as_bytes(), false, SystemTime::UNIX_EPOCH))
            .collect();
        data.apply(0, LogEvent::Lines(lines));
    }

    fn shown(view: &LogsView, data: &LogsData) -> Vec<String> {
        view.visible
            .iter()
            .filter_map(|seq| data.buffer.get(*seq))
            .map(|line| line.raw.to_string())
            .collect()
    }

    #[test]
    fn two_views_filter_one_buffer_each_their_own_way() {
        let mut data = LogsData::with_capacity(3);
        let mut all = LogsView::default();
        let mut errors = LogsView::default();
        errors.filter.set_text("error");
        push(&mut data, &["error one", "ok two"]);
        all.catch_up(&data);
        errors.catch_up(&data);
        assert_eq!(shown(&all, &data), ["error one", "ok two"]);
        assert_eq!(shown(&errors, &data), ["error one"]);

        // Only the new lines are taken in; evicted ones are forgotten.
        push(&mut data, &["error three", "ok four"]);
        all.catch_up(&data);
        all.catch_up(&data);
        errors.catch_up(&data);
        assert_eq!(shown(&all, &data), ["ok two", "error three", "ok four"]);
        assert_eq!(shown(&errors, &data), ["error three"]);

        // A new filter reads the buffer again, and catching up after it adds nothing twice.
        errors.filter.set_text("ok");
        errors.refilter(&data);
        errors.catch_up(&data);
        assert_eq!(shown(&errors, &data), ["ok two", "ok four"]);
    }

    fn at(stream: StreamId, lines: &[(u64, &str)]) -> LogEvent {
        LogEvent::Lines(
            lines
                .iter()
                .map(|(secs, text)| {
                    let received = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
                    let mut line = parse_line(stream, text.as_bytes(), false, received);
                    line.timestamp =
                        Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(*secs));
                    line
                })
                .collect(),
        )
    }

    #[test]
    fn a_late_streams_backfill_is_merged_by_timestamp_and_filtered() {
        let mut data = LogsData::default();
        let mut all = LogsView::default();
        let mut errors = LogsView::default();
        errors.filter.set_text("500");
        data.apply(0, at(1, &[(10, "a GET 200"), (30, "a GET 500")]));
        all.catch_up(&data);
        errors.catch_up(&data);
        // Stream 2 opens later and backfills lines from before stream 1's last one.
        data.apply(0, at(2, &[(5, "b GET 500"), (20, "b GET 200")]));
        all.catch_up(&data);
        errors.catch_up(&data);
        assert_eq!(
            shown(&all, &data),
            ["b GET 500", "a GET 200", "b GET 200", "a GET 500"]
        );
        assert_eq!(shown(&errors, &data), ["b GET 500", "a GET 500"]);
        data.apply(0, at(1, &[(25, "a late 500"), (40, "a GET 500 again")]));
        errors.catch_up(&data);
        assert_eq!(
            shown(&errors, &data),
            ["b GET 500", "a late 500", "a GET 500", "a GET 500 again"]
        );
    }

    #[test]
    fn catching_up_after_merged_batches_equals_rebuilding() {
        // Interleaved streams, small buffer (evictions), a filter, a view that catches up after
        // every batch and one that falls two batches behind: each must equal a full rebuild.
        let mut data = LogsData::with_capacity(40);
        let mut every = LogsView::default();
        let mut behind = LogsView::default();
        for view in [&mut every, &mut behind] {
            view.filter.set_text("5");
        }
        let mut seed = 7u64;
        for batch in 0..60u64 {
            let lines: Vec<(u64, String)> = (0..8)
                .map(|i| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let t = batch * 10 + (seed >> 33) % 25;
                    (t, format!("s{batch}-{i} t{t}"))
                })
                .collect();
            let refs: Vec<(u64, &str)> = lines.iter().map(|(t, s)| (*t, s.as_str())).collect();
            data.apply(0, at((batch % 3) as StreamId, &refs));
            every.catch_up(&data);
            if batch % 3 == 0 {
                behind.catch_up(&data);
            }
            let mut fresh = LogsView::default();
            fresh.filter.set_text("5");
            fresh.refilter(&data);
            assert_eq!(every.visible, fresh.visible, "batch {batch}");
            if batch % 3 == 0 {
                assert_eq!(behind.visible, fresh.visible, "batch {batch}, behind");
            }
        }
        assert!(
            data.reorders > 0,
            "the batches were merged, not only appended"
        );
    }
}
