//! The Logs pane's data: the line buffer and the streams feeding it, as the backends reported
//! them. Filters, selection and follow are a viewer's business (`logs_view::LogsView`).

use std::collections::BTreeMap;

use crate::logs::{LogBuffer, LogEvent, StreamId, StreamState};

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

/// Where a batch of lines renumbered the buffer: see [`LogsData::last_reorder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reorder {
    pub before: u64,
    pub from: u64,
}

#[derive(Debug, Clone)]
pub struct LogsData {
    pub buffer: LogBuffer,
    /// Keyed by the app-wide stream id; sources' own ids are mapped in `ids`.
    pub streams: BTreeMap<StreamId, StreamInfo>,
    ids: BTreeMap<(usize, StreamId), StreamId>,
    /// Cap messages per source: (active, waiting).
    pub caps: BTreeMap<usize, (usize, usize)>,
    /// Counts lines placed before newer ones (a late stream's backfill merged by time): each
    /// renumbers the lines after it, so views rebuild their visible lines when it moves.
    pub reorders: u64,
    /// The last batch that merged lines in before newer ones: the `reorders` count before it and
    /// the lowest sequence number it renumbered from. A view that had seen everything before
    /// that batch rebuilds only from there.
    pub last_reorder: Option<Reorder>,
    /// The JSON fields the target's log sources choose to show after the message.
    pub fields: Vec<String>,
    /// Sources stopped by the runtime (`LogEvent::Closed`): their streams have ended, and what
    /// their cancelled task had still sent is ignored.
    pub closed: std::collections::BTreeSet<usize>,
}

impl Default for LogsData {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl LogsData {
    /// The same, showing `fields` after each JSON line's message.
    pub fn showing(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buffer: LogBuffer::new(capacity),
            streams: BTreeMap::new(),
            ids: BTreeMap::new(),
            caps: BTreeMap::new(),
            reorders: 0,
            last_reorder: None,
            fields: Vec::new(),
            closed: std::collections::BTreeSet::new(),
        }
    }

    fn app_id(&mut self, source: usize, id: StreamId) -> StreamId {
        let next = StreamId::try_from(self.ids.len()).unwrap_or(StreamId::MAX);
        *self.ids.entry((source, id)).or_insert(next)
    }

    pub fn apply(&mut self, source: usize, event: LogEvent) {
        if self.closed.contains(&source) {
            // A cancelled task's last reports may still be on their way: none reopens a stream.
            return;
        }
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
            LogEvent::Lines(mut lines) => {
                for line in &mut lines {
                    line.stream = self.app_id(source, line.stream);
                    if let Some(info) = self.streams.get_mut(&line.stream) {
                        info.lines += 1;
                        info.last_line = Some(line.received);
                    }
                }
                // Merged by time in one pass (a late stream's lines land among their moment's).
                if let Some(from) = self.buffer.push_batch(lines) {
                    let before = self.reorders;
                    self.reorders += 1;
                    self.last_reorder = Some(Reorder { before, from });
                }
            }
            LogEvent::Dropped(n) => self.buffer.dropped += n,
            LogEvent::CapReached { active, waiting } => {
                self.caps.insert(source, (active, waiting));
            }
            LogEvent::Closed { reason } => {
                self.closed.insert(source);
                self.caps.remove(&source);
                for info in self.streams.values_mut().filter(|i| i.source == source) {
                    if !matches!(info.state, StreamState::Ended { .. }) {
                        info.state = StreamState::Ended {
                            reason: reason.clone(),
                        };
                    }
                }
            }
        }
    }

    /// Streams of `source` that have not ended (following or reconnecting).
    pub fn open_streams(&self, source: usize) -> usize {
        self.streams
            .values()
            .filter(|i| i.source == source && !matches!(i.state, StreamState::Ended { .. }))
            .count()
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
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::event::SourceState;

    fn opened(logs: &mut LogsData, source: usize, id: StreamId) {
        logs.apply(
            source,
            LogEvent::StreamOpened {
                id,
                label: format!("stream {id}"),
            },
        );
    }

    fn set(logs: &mut LogsData, source: usize, id: StreamId, state: StreamState) {
        logs.apply(source, LogEvent::StreamState { id, state });
    }

    fn reconnecting(reason: &str) -> StreamState {
        StreamState::Reconnecting {
            reason: reason.into(),
            retry_at: SystemTime::UNIX_EPOCH + Duration::from_secs(5),
        }
    }

    #[test]
    fn the_source_fails_with_its_own_stream() {
        let mut logs = LogsData::default();
        opened(&mut logs, 0, 1);
        assert_eq!(logs.source_state(0), SourceState::Live);
        opened(&mut logs, 0, 0);
        set(
            &mut logs,
            0,
            0,
            reconnecting("no answer from https://api within 20s"),
        );
        assert!(matches!(
            logs.source_state(0),
            SourceState::Error { reason, retry_at: Some(_) } if reason.contains("no answer")
        ));
        set(&mut logs, 0, 0, StreamState::Following);
        assert_eq!(logs.source_state(0), SourceState::Live);
    }

    #[test]
    fn one_pod_in_back_off_is_not_a_source_error_but_all_failing_is() {
        let mut logs = LogsData::default();
        opened(&mut logs, 0, 1);
        opened(&mut logs, 0, 2);
        set(&mut logs, 0, 1, reconnecting("container in back-off"));
        assert_eq!(logs.source_state(0), SourceState::Live);
        set(&mut logs, 0, 2, reconnecting("connection refused"));
        assert!(matches!(logs.source_state(0), SourceState::Error { .. }));
        // Another source's streams do not count.
        opened(&mut logs, 1, 1);
        assert_eq!(logs.source_state(1), SourceState::Live);
    }

    #[test]
    fn a_closed_source_ends_its_streams_and_ignores_late_reports() {
        let mut logs = LogsData::default();
        opened(&mut logs, 0, 1);
        opened(&mut logs, 10_001, 1);
        opened(&mut logs, 10_001, 2);
        set(
            &mut logs,
            10_001,
            2,
            StreamState::Ended {
                reason: "pod deleted".into(),
            },
        );
        assert_eq!(logs.open_streams(10_001), 1);
        logs.apply(
            10_001,
            LogEvent::Closed {
                reason: "stopped".into(),
            },
        );
        assert_eq!(logs.open_streams(10_001), 0);
        let states: Vec<&StreamState> = logs
            .streams
            .values()
            .filter(|i| i.source == 10_001)
            .map(|i| &i.state)
            .collect();
        assert_eq!(
            states,
            [
                &StreamState::Ended {
                    reason: "stopped".into()
                },
                // An earlier end keeps its own reason.
                &StreamState::Ended {
                    reason: "pod deleted".into()
                },
            ]
        );
        // What the cancelled task had still sent reopens nothing and adds no line.
        opened(&mut logs, 10_001, 3);
        set(&mut logs, 10_001, 1, StreamState::Following);
        let lines = vec![crate::logs::parse_line(
            1,
            b"late",
            false,
            SystemTime::UNIX_EPOCH,
        )];
        logs.apply(10_001, LogEvent::Lines(lines));
        assert_eq!(logs.open_streams(10_001), 0);
        assert!(logs.buffer.is_empty());
        // Another source is untouched.
        assert_eq!(logs.open_streams(0), 1);
    }

    #[test]
    fn a_source_that_gave_up_is_an_error() {
        let mut logs = LogsData::default();
        opened(&mut logs, 0, 0);
        set(
            &mut logs,
            0,
            0,
            StreamState::Ended {
                reason: "bad container regex".into(),
            },
        );
        assert!(matches!(
            logs.source_state(0),
            SourceState::Error { retry_at: None, .. }
        ));
    }
}
