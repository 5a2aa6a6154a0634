//! The Logs pane's state: the line buffer, the streams feeding it, filters and the view.

use std::collections::{BTreeMap, VecDeque};

use crate::logs::{Level, LogBuffer, LogEvent, LogFilter, Placed, StreamId, StreamState};

/// Default ring buffer size, in lines.
pub const DEFAULT_CAPACITY: usize = 20_000;

#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// The `[[targets.logs]]` entry (or ad-hoc source) it belongs to.
    pub source: usize,
    pub label: String,
    pub state: StreamState,
    /// Lines received from this stream.
    pub lines: u64,
    pub last_line: Option<std::time::SystemTime>,
}

#[derive(Debug, Clone)]
pub struct LogsView {
    pub buffer: LogBuffer,
    /// Keyed by the app-wide stream id; sources' own ids are mapped in `ids`.
    pub streams: BTreeMap<StreamId, StreamInfo>,
    ids: BTreeMap<(usize, StreamId), StreamId>,
    /// Cap messages per source: (active, waiting).
    pub caps: BTreeMap<usize, (usize, usize)>,
    pub filter: LogFilter,
    /// Sequence numbers of the lines that pass the filter, oldest first.
    pub visible: VecDeque<u64>,
    /// Following the tail, or paused on `selected`.
    pub follow: bool,
    /// The selected line (sequence number) while paused.
    pub selected: Option<u64>,
    pub wrap: bool,
    pub timestamps: bool,
    /// Show JSON lines raw instead of message + fields.
    pub raw: bool,
}

impl Default for LogsView {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl LogsView {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buffer: LogBuffer::new(capacity),
            streams: BTreeMap::new(),
            ids: BTreeMap::new(),
            caps: BTreeMap::new(),
            filter: LogFilter::default(),
            visible: VecDeque::new(),
            follow: true,
            selected: None,
            wrap: false,
            timestamps: true,
            raw: false,
        }
    }

    fn app_id(&mut self, source: usize, id: StreamId) -> StreamId {
        let next = StreamId::try_from(self.ids.len()).unwrap_or(StreamId::MAX);
        *self.ids.entry((source, id)).or_insert(next)
    }

    pub fn apply(&mut self, source: usize, event: LogEvent) {
        match event {
            LogEvent::StreamOpened { id, label } => {
                let id = self.app_id(source, id);
                let info = StreamInfo {
                    source,
                    label,
                    state: StreamState::Following,
                    lines: 0,
                    last_line: None,
                };
                self.streams.insert(id, info);
            }
            LogEvent::StreamState { id, state } => {
                let id = self.app_id(source, id);
                if let Some(info) = self.streams.get_mut(&id) {
                    info.state = state;
                }
            }
            LogEvent::Lines(lines) => {
                // A line placed before newer ones (a backfill) renumbers the lines after it.
                let mut renumbered = false;
                for mut line in lines {
                    line.stream = self.app_id(source, line.stream);
                    if let Some(info) = self.streams.get_mut(&line.stream) {
                        info.lines += 1;
                        info.last_line = Some(line.received);
                    }
                    let keep = self.filter.matches(&line);
                    match self.buffer.push(line) {
                        Placed::Appended(seq) if keep && !renumbered => {
                            self.visible.push_back(seq);
                        }
                        Placed::Inserted(_) => renumbered = true,
                        Placed::Appended(_) | Placed::Evicted => {}
                    }
                }
                if renumbered {
                    self.refilter();
                }
                let first = self.buffer.first_seq();
                while self.visible.front().is_some_and(|seq| *seq < first) {
                    self.visible.pop_front();
                }
                if self.selected.is_some_and(|seq| seq < first) {
                    self.selected = self.visible.front().copied();
                }
            }
            LogEvent::Dropped(n) => self.buffer.dropped += n,
            LogEvent::CapReached { active, waiting } => {
                self.caps.insert(source, (active, waiting));
            }
        }
    }

    /// The state of log source `source` as its streams tell it: an error while its own stream
    /// (id 0: connection and pod watch) fails or every stream it opened is failing; live
    /// otherwise. One pod's container in back-off is that stream's state, not the source's.
    pub fn source_state(&self, source: usize) -> crate::event::SourceState {
        use crate::event::SourceState;
        let own = self
            .ids
            .get(&(source, 0))
            .and_then(|id| self.streams.get(id));
        let failing = |info: &StreamInfo| match &info.state {
            StreamState::Reconnecting { reason, retry_at } => Some(SourceState::Error {
                reason: reason.clone(),
                retry_at: Some(*retry_at),
            }),
            _ => None,
        };
        if let Some(own) = own {
            if let Some(error) = failing(own) {
                return error;
            }
            if let StreamState::Ended { reason } = &own.state {
                return SourceState::Error {
                    reason: reason.clone(),
                    retry_at: None,
                };
            }
        }
        let mut streams = self
            .streams
            .values()
            .filter(|info| {
                info.source == source && !matches!(info.state, StreamState::Ended { .. })
            })
            .peekable();
        if streams.peek().is_none() {
            return SourceState::Live;
        }
        let mut errors = streams.map(failing);
        match errors.next() {
            Some(Some(first)) if errors.all(|e| e.is_some()) => first,
            _ => SourceState::Live,
        }
    }

    /// Rebuilds the visible lines after a filter change.
    pub fn refilter(&mut self) {
        self.visible = self
            .buffer
            .iter()
            .filter(|(_, line)| self.filter.matches(line))
            .map(|(seq, _)| seq)
            .collect();
        if let Some(selected) = self.selected {
            // Keep the place: the nearest visible line at or before the old selection.
            let index = self.visible.partition_point(|seq| *seq <= selected);
            self.selected = self.visible.get(index.saturating_sub(1)).copied();
        }
    }

    /// all -> >= info -> >= warn -> >= error -> all.
    pub fn cycle_level(&mut self) {
        self.filter.min_level = match self.filter.min_level {
            None => Some(Level::Info),
            Some(Level::Info) => Some(Level::Warn),
            Some(Level::Warn) => Some(Level::Error),
            _ => None,
        };
        self.refilter();
    }

    /// all streams -> each stream in turn -> all.
    pub fn cycle_stream(&mut self) {
        let ids: Vec<StreamId> = self.streams.keys().copied().collect();
        self.filter.stream = match self.filter.stream {
            None => ids.first().copied(),
            Some(current) => ids.iter().copied().find(|id| *id > current),
        };
        self.refilter();
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
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::event::SourceState;

    fn opened(view: &mut LogsView, source: usize, id: StreamId) {
        view.apply(
            source,
            LogEvent::StreamOpened {
                id,
                label: format!("stream {id}"),
            },
        );
    }

    fn set(view: &mut LogsView, source: usize, id: StreamId, state: StreamState) {
        view.apply(source, LogEvent::StreamState { id, state });
    }

    fn reconnecting(reason: &str) -> StreamState {
        StreamState::Reconnecting {
            reason: reason.into(),
            retry_at: SystemTime::UNIX_EPOCH + Duration::from_secs(5),
        }
    }

    fn lines(stream: StreamId, at: &[(u64, &str)]) -> LogEvent {
        LogEvent::Lines(
            at.iter()
                .map(|(secs, text)| {
                    let mut line = crate::logs::parse_line(
                        stream,
                        text.as_bytes(),
                        false,
                        SystemTime::UNIX_EPOCH + Duration::from_secs(1000),
                    );
                    line.timestamp = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(*secs));
                    line
                })
                .collect(),
        )
    }

    fn shown(view: &LogsView) -> Vec<String> {
        view.visible
            .iter()
            .filter_map(|seq| view.buffer.get(*seq))
            .map(|line| line.raw.to_string())
            .collect()
    }

    #[test]
    fn a_late_streams_backfill_is_merged_by_timestamp_and_filtered() {
        let mut view = LogsView::default();
        opened(&mut view, 0, 1);
        opened(&mut view, 0, 2);
        view.apply(0, lines(1, &[(10, "a GET 200"), (30, "a GET 500")]));
        // Stream 2 opens later and backfills lines from before stream 1's last one.
        view.apply(0, lines(2, &[(5, "b GET 500"), (20, "b GET 200")]));
        assert_eq!(
            shown(&view),
            ["b GET 500", "a GET 200", "b GET 200", "a GET 500"]
        );
        view.filter.set_text("500");
        view.refilter();
        view.apply(0, lines(1, &[(25, "a late 500"), (40, "a GET 500 again")]));
        assert_eq!(
            shown(&view),
            ["b GET 500", "a late 500", "a GET 500", "a GET 500 again"]
        );
    }

    #[test]
    fn the_source_fails_with_its_own_stream() {
        let mut view = LogsView::default();
        opened(&mut view, 0, 1);
        assert_eq!(view.source_state(0), SourceState::Live);
        opened(&mut view, 0, 0);
        set(
            &mut view,
            0,
            0,
            reconnecting("no answer from https://api within 20s"),
        );
        assert!(matches!(
            view.source_state(0),
            SourceState::Error { reason, retry_at: Some(_) } if reason.contains("no answer")
        ));
        set(&mut view, 0, 0, StreamState::Following);
        assert_eq!(view.source_state(0), SourceState::Live);
    }

    #[test]
    fn one_pod_in_back_off_is_not_a_source_error_but_all_failing_is() {
        let mut view = LogsView::default();
        opened(&mut view, 0, 1);
        opened(&mut view, 0, 2);
        set(&mut view, 0, 1, reconnecting("container in back-off"));
        assert_eq!(view.source_state(0), SourceState::Live);
        set(&mut view, 0, 2, reconnecting("connection refused"));
        assert!(matches!(view.source_state(0), SourceState::Error { .. }));
        // Another source's streams do not count.
        opened(&mut view, 1, 1);
        assert_eq!(view.source_state(1), SourceState::Live);
    }

    #[test]
    fn a_source_that_gave_up_is_an_error() {
        let mut view = LogsView::default();
        opened(&mut view, 0, 0);
        set(
            &mut view,
            0,
            0,
            StreamState::Ended {
                reason: "bad container regex".into(),
            },
        );
        assert!(matches!(
            view.source_state(0),
            SourceState::Error { retry_at: None, .. }
        ));
    }
}
