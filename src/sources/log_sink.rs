//! How a log source task hands lines to the console without ever blocking the UI: lines are
//! parsed in the task, batched, and sent with `try_send`; when the console is behind, batches
//! wait up to a bound and the rest are counted as dropped, never silently lost.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::event::SourceEvent;
use crate::logs::{LogEvent, LogLine, StreamId, StreamState, parse_line};

/// Lines held back while the console is busy, before dropping.
const MAX_PENDING: usize = 50_000;
/// A batch is sent at this size or age, whichever first.
const BATCH_LINES: usize = 2_000;
pub const BATCH_AGE: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub struct LogSink {
    tx: mpsc::Sender<SourceEvent>,
    generation: u64,
    source: usize,
    pending: Vec<LogLine>,
    oldest: Option<Instant>,
    dropped: u64,
}

impl LogSink {
    pub fn new(tx: mpsc::Sender<SourceEvent>, generation: u64, source: usize) -> Self {
        Self {
            tx,
            generation,
            source,
            pending: Vec::new(),
            oldest: None,
            dropped: 0,
        }
    }

    /// Parses and queues one line.
    pub fn line(&mut self, stream: StreamId, bytes: &[u8], kube_timestamps: bool) {
        self.push(parse_line(
            stream,
            bytes,
            kube_timestamps,
            SystemTime::now(),
        ));
    }

    pub fn push(&mut self, line: LogLine) {
        if self.pending.len() >= MAX_PENDING {
            self.dropped += 1;
            return;
        }
        self.oldest.get_or_insert_with(Instant::now);
        self.pending.push(line);
        if self.pending.len() >= BATCH_LINES {
            self.flush();
        }
    }

    /// Sends what is due: call after each read and on a `BATCH_AGE` timer.
    pub fn flush_due(&mut self) {
        if self.oldest.is_some_and(|at| at.elapsed() >= BATCH_AGE) {
            self.flush();
        }
    }

    /// Sends the pending batch if the console can take it now; otherwise keeps it for later.
    pub fn flush(&mut self) {
        if self.dropped > 0 && self.send_now(LogEvent::Dropped(self.dropped)) {
            self.dropped = 0;
        }
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        match self.tx.try_send(self.report(LogEvent::Lines(batch))) {
            Ok(()) => self.oldest = None,
            Err(mpsc::error::TrySendError::Full(SourceEvent::Logs {
                event: LogEvent::Lines(batch),
                ..
            })) => self.pending = batch,
            Err(_) => {}
        }
    }

    /// Stream lifecycle events are small and rare: they wait for room rather than drop.
    pub async fn event(&mut self, event: LogEvent) -> bool {
        self.flush();
        let action = self.report(event);
        self.tx.send(action).await.is_ok()
    }

    pub async fn state(&mut self, id: StreamId, state: StreamState) -> bool {
        self.event(LogEvent::StreamState { id, state }).await
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    fn send_now(&self, event: LogEvent) -> bool {
        self.tx.try_send(self.report(event)).is_ok()
    }

    fn report(&self, event: LogEvent) -> SourceEvent {
        SourceEvent::Logs {
            generation: self.generation,
            source: self.source,
            event,
        }
    }
}
