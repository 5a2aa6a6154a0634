//! The log line model: parsing, sanitising, a bounded buffer, filters and reconnect dedup.
//! Pure logic, no I/O: source tasks (`sources::logs_*`) parse and sanitise lines off the UI task
//! and send them in batches; the app keeps them in `LogBuffer`.

pub mod buffer;
pub mod dedup;
pub mod filter;
pub mod line;

pub use buffer::{LogBuffer, Placed};
pub use filter::LogFilter;
pub use line::{Level, LogLine, Message, parse_line};

/// Identifies one stream (a pod's container, or a file) within the current target.
pub type StreamId = u32;

/// The state of one stream, as the Logs pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    Following,
    /// Ended or failed; reconnecting with backoff from the last line seen.
    Reconnecting {
        reason: String,
        retry_at: std::time::SystemTime,
    },
    /// Gone for good (pod deleted, file removed, previous logs read once).
    Ended {
        reason: String,
    },
}

/// What log sources tell the app. `source` in the action is the index of the `[[targets.logs]]`
/// entry (or of an ad-hoc source opened from the Pods pane).
#[derive(Debug, Clone)]
pub enum LogEvent {
    /// A new stream, with the label shown beside its lines (`pod/container` or a file path).
    StreamOpened {
        id: StreamId,
        label: String,
    },
    StreamState {
        id: StreamId,
        state: StreamState,
    },
    /// Parsed, sanitised lines, oldest first.
    Lines(Vec<LogLine>),
    /// Lines dropped under back-pressure (the console could not keep up).
    Dropped(u64),
    /// The cap on concurrent streams is reached: `waiting` matching streams are not followed.
    CapReached {
        active: usize,
        waiting: usize,
    },
    /// The source was stopped (its task cancelled by the runtime, e.g. the operator closing an
    /// ad-hoc stream): every stream of it has ended, and whatever it still sent is ignored.
    Closed {
        reason: String,
    },
}
