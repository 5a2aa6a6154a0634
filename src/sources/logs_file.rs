//! Log files: follows a path or a glob like `tail -F -n 200`, one stream per file.
//!
//! Each matching file is a stream with a stable id per path. Files that exist at startup show
//! their last lines (at most `TAIL_BYTES`, at most `tail` lines, default 200), then are followed;
//! files that appear later are read from their start. Rotation (a new file at the path) finishes
//! the old file first: it is read to its end and kept open a short while for late writes.
//! Truncation (copytruncate) starts over from the top. A literal path that does not exist is
//! waited for; a glob is re-evaluated every second.
//!
//! The files are polled (no inotify: it misses NFS and some container mounts, and a poll of a
//! few files every 150 ms costs nothing). All file I/O of a round runs in one `spawn_blocking`
//! call, with a read budget per file, so the runtime is never blocked.

use super::backoff::Backoff;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::logs::line::MAX_LINE_BYTES;
use crate::logs::{LogEvent, StreamId, StreamState};
use crate::sources::log_sink::{BATCH_AGE, LogSink};
use watchfloor_core::config::LogsConfig;

/// How often files are checked for new data, rotation and truncation.
const POLL: Duration = Duration::from_millis(150);
/// How often a glob is re-evaluated.
const RESCAN: Duration = Duration::from_secs(1);
/// At startup, at most this much of the end of each existing file is shown...
const TAIL_BYTES: u64 = 64 * 1024;
/// ...and at most this many lines (unless the config's `tail` says otherwise).
const TAIL_LINES: usize = 200;
/// A line without its newline yet is shown once it is this old.
const PARTIAL_AGE: Duration = Duration::from_secs(1);
/// A rotated or removed file is read until it has been quiet this long.
const ROTATE_GRACE: Duration = Duration::from_secs(1);
/// At most this much is read from one file in one round; more is read in the next round, at once.
const READ_BUDGET: u64 = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// Where a closed file was left, to resume there if it turns up again (renamed into the glob).
const REMEMBER: Duration = Duration::from_secs(30);
const REMEMBER_MAX: usize = 256;
/// The last bytes read from a file: when they change, the file was rewritten in place.
const MARK_BYTES: usize = 64;
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const WAITING: &str = "waiting for the file to appear";

/// Follows the files of one `source = "file"` entry until the console drops `sink`.
pub async fn run(config: LogsConfig, mut sink: LogSink) {
    let pattern = config.path.clone().unwrap_or_default();
    let tail_lines = config
        .tail
        .map_or(TAIL_LINES, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut tailer = match Tailer::new(&pattern, tail_lines, config.max_streams.max(1)) {
        Ok(tailer) => tailer,
        Err(reason) => {
            let opened = LogEvent::StreamOpened {
                id: 0,
                label: pattern,
            };
            if sink.event(opened).await {
                sink.state(0, StreamState::Ended { reason }).await;
            }
            return;
        }
    };
    let mut flush_at: Option<tokio::time::Instant> = None;
    loop {
        if sink.is_closed() {
            return;
        }
        let round = tokio::task::spawn_blocking(move || {
            let batch = tailer.poll(Instant::now());
            (tailer, batch)
        })
        .await;
        let batch = match round {
            Ok((back, batch)) => {
                tailer = back;
                batch
            }
            Err(error) => {
                tracing::error!(%error, "log file poll failed");
                return;
            }
        };
        let mut pushed = false;
        for output in batch.outputs {
            let sent = match output {
                Output::Line(id, bytes) => {
                    sink.line(id, &bytes, false);
                    pushed = true;
                    true
                }
                Output::Opened(id, label) => sink.event(LogEvent::StreamOpened { id, label }).await,
                Output::State(id, state) => sink.state(id, state).await,
                Output::Cap { active, waiting } => {
                    sink.event(LogEvent::CapReached { active, waiting }).await
                }
            };
            if !sent {
                return;
            }
        }
        sink.flush_due();
        if pushed && flush_at.is_none() {
            flush_at = Some(tokio::time::Instant::now() + BATCH_AGE);
        }
        let next_poll =
            tokio::time::Instant::now() + if batch.more { Duration::ZERO } else { POLL };
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next_poll) => break,
                () = sleep_until_some(flush_at), if flush_at.is_some() => {
                    sink.flush_due();
                    flush_at = None;
                }
            }
        }
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// What one round found, in order.
#[derive(Debug)]
enum Output {
    Opened(StreamId, String),
    State(StreamId, StreamState),
    /// One complete line, without its newline.
    Line(StreamId, Vec<u8>),
    Cap {
        active: usize,
        waiting: usize,
    },
}

#[derive(Debug, Default)]
struct Batch {
    outputs: Vec<Output>,
    /// A file has more to read than the round's budget: poll again at once.
    more: bool,
}

/// A file, whatever its name now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// All the files of one pattern, with everything the blocking side needs.
#[derive(Debug)]
struct Tailer {
    pattern: String,
    is_glob: bool,
    tail_lines: usize,
    max_streams: usize,
    streams: Vec<Stream>,
    by_path: HashMap<PathBuf, usize>,
    next_scan: Option<Instant>,
    /// The last cap reported: (active, waiting).
    cap: (usize, usize),
    shared: Shared,
}

/// What streams share: rotated files still being read, and where closed files were left.
#[derive(Debug, Default)]
struct Shared {
    draining: Vec<(StreamId, Handle)>,
    remembered: Vec<Resume>,
    scratch: Vec<u8>,
}

#[derive(Debug)]
struct Resume {
    identity: Identity,
    offset: u64,
    mark: Vec<u8>,
    at: Instant,
}

/// One path's stream.
#[derive(Debug)]
struct Stream {
    id: StreamId,
    path: PathBuf,
    handle: Option<Handle>,
    /// Polled: false for a glob's file that is gone (a rescan revives it).
    live: bool,
    /// The file existed at startup and none has been opened yet: show its last lines.
    tail_first: bool,
    shown: Shown,
    backoff: Backoff,
    retry_at: Option<Instant>,
}

/// The state last reported for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Following,
    Waiting,
    Failed,
    Ended,
}

/// An open file and the reading position in it.
#[derive(Debug)]
struct Handle {
    file: File,
    identity: Identity,
    offset: u64,
    /// The last bytes read, ending at `offset`.
    mark: Vec<u8>,
    /// Size and mtime when last checked: the mark is only checked when they change.
    seen: (u64, Option<SystemTime>),
    /// The start of a line whose newline has not been written yet.
    partial: Vec<u8>,
    partial_since: Option<Instant>,
    /// Dropping the rest of a line longer than `MAX_LINE_BYTES` (already shown, truncated).
    skipping: bool,
    /// When data last came, for the rotation grace period.
    last_data: Instant,
}

impl Tailer {
    fn new(pattern: &str, tail_lines: usize, max_streams: usize) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("no path configured".into());
        }
        let is_glob = pattern.contains(['*', '?', '[']);
        if is_glob {
            glob::Pattern::new(pattern).map_err(|e| format!("invalid glob {pattern:?}: {e}"))?;
        }
        Ok(Self {
            pattern: pattern.to_string(),
            is_glob,
            tail_lines,
            max_streams,
            streams: Vec::new(),
            by_path: HashMap::new(),
            next_scan: None,
            cap: (0, 0),
            shared: Shared {
                scratch: vec![0; CHUNK],
                ..Shared::default()
            },
        })
    }

    /// One round: rescan if due, read rotated files, then every stream.
    fn poll(&mut self, now: Instant) -> Batch {
        let mut out = Vec::new();
        let first = self.next_scan.is_none();
        if self.next_scan.is_none_or(|at| now >= at) {
            self.next_scan = Some(now + RESCAN);
            self.rescan(first, &mut out);
            self.shared.forget_old(now);
        }
        let mut more = self.shared.drain(now, &mut out);
        for stream in &mut self.streams {
            more |= stream.poll(
                self.is_glob,
                self.tail_lines,
                &mut self.shared,
                now,
                &mut out,
            );
        }
        Batch { outputs: out, more }
    }

    fn rescan(&mut self, first: bool, out: &mut Vec<Output>) {
        if !self.is_glob {
            if first {
                let path = PathBuf::from(&self.pattern);
                self.add(path, self.pattern.clone(), true, out);
            }
            return;
        }
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let Ok(paths) = glob::glob_with(&self.pattern, options) else {
            return;
        };
        let mut new = Vec::new();
        for entry in paths {
            let path = match entry {
                Ok(path) => path,
                Err(error) => {
                    tracing::debug!(%error, "log glob");
                    continue;
                }
            };
            if let Some(&index) = self.by_path.get(&path)
                && self.streams[index].live
            {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => new.push((path, meta.modified().ok())),
                _ => {}
            }
        }
        let active = self.streams.iter().filter(|s| s.live).count();
        let room = self.max_streams.saturating_sub(active);
        let waiting = new.len().saturating_sub(room);
        if waiting > 0 {
            // The most recently written files first.
            new.sort_by_key(|(_, modified)| std::cmp::Reverse(*modified));
            new.truncate(room);
            new.sort();
        }
        let opened = new.len();
        for (path, _) in new {
            match self.by_path.get(&path) {
                Some(&index) => {
                    let stream = &mut self.streams[index];
                    stream.live = true;
                    stream.backoff.succeeded();
                    stream.retry_at = None;
                }
                None => {
                    let label = path.display().to_string();
                    self.add(path, label, first, out);
                }
            }
        }
        let cap = (active + opened, waiting);
        if cap != self.cap && (waiting > 0 || self.cap.1 > 0) {
            out.push(Output::Cap {
                active: cap.0,
                waiting: cap.1,
            });
        }
        self.cap = cap;
    }

    fn add(&mut self, path: PathBuf, label: String, tail_first: bool, out: &mut Vec<Output>) {
        let id = StreamId::try_from(self.streams.len()).unwrap_or(StreamId::MAX);
        out.push(Output::Opened(id, label));
        self.by_path.insert(path.clone(), self.streams.len());
        self.streams.push(Stream {
            id,
            path,
            handle: None,
            live: true,
            tail_first,
            shown: Shown::Following,
            backoff: BACKOFF,
            retry_at: None,
        });
    }
}

impl Shared {
    /// Reads the rotated files; closes those quiet for `ROTATE_GRACE`.
    fn drain(&mut self, now: Instant, out: &mut Vec<Output>) -> bool {
        let mut more = false;
        let mut i = 0;
        while i < self.draining.len() {
            let (id, handle) = &mut self.draining[i];
            let id = *id;
            match handle.read(id, &mut self.scratch, out, now) {
                Ok(true) => {
                    more = true;
                    i += 1;
                }
                Ok(false) if now.duration_since(handle.last_data) < ROTATE_GRACE => {
                    handle.flush_old_partial(id, out, now);
                    i += 1;
                }
                _ => {
                    let (id, handle) = self.draining.swap_remove(i);
                    self.close(id, handle, out, now);
                }
            }
        }
        more
    }

    /// A stream's file was rotated, removed or failed: read it to its end now, and keep
    /// reading it for a while (writers often finish a line or two before reopening).
    fn retire(&mut self, id: StreamId, mut handle: Handle, out: &mut Vec<Output>, now: Instant) {
        match handle.read(id, &mut self.scratch, out, now) {
            Ok(_) => {
                handle.last_data = now;
                self.draining.push((id, handle));
            }
            Err(_) => self.close(id, handle, out, now),
        }
    }

    fn close(&mut self, id: StreamId, mut handle: Handle, out: &mut Vec<Output>, now: Instant) {
        handle.finish_partial(id, out);
        // A file that still has a name may come back under one the glob matches.
        if handle.file.metadata().is_ok_and(|m| m.nlink() > 0) {
            self.remembered.push(Resume {
                identity: handle.identity,
                offset: handle.offset,
                mark: handle.mark,
                at: now,
            });
            if self.remembered.len() > REMEMBER_MAX {
                self.remembered.remove(0);
            }
        }
    }

    fn forget_old(&mut self, now: Instant) {
        self.remembered
            .retain(|r| now.duration_since(r.at) < REMEMBER);
    }

    /// A handle on this file, still open from before.
    fn take_draining(&mut self, identity: Identity) -> Option<Handle> {
        let index = self
            .draining
            .iter()
            .position(|(_, h)| h.identity == identity)?;
        Some(self.draining.swap_remove(index).1)
    }

    fn take_resume(&mut self, identity: Identity) -> Option<Resume> {
        let index = self
            .remembered
            .iter()
            .rposition(|r| r.identity == identity)?;
        Some(self.remembered.remove(index))
    }
}

impl Stream {
    /// Returns whether there is more to read at once.
    fn poll(
        &mut self,
        is_glob: bool,
        tail_lines: usize,
        shared: &mut Shared,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> bool {
        if !self.live || self.retry_at.is_some_and(|at| now < at) {
            return false;
        }
        match self.step(is_glob, tail_lines, shared, now, out) {
            Ok(more) => more,
            Err(error) => {
                self.fail(error, shared, now, out);
                false
            }
        }
    }

    fn step(
        &mut self,
        is_glob: bool,
        tail_lines: usize,
        shared: &mut Shared,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> io::Result<bool> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                self.missing(is_glob, shared, now, out);
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        if let Some(handle) = self.handle.take_if(|h| h.identity != Identity::of(&meta)) {
            // Rotated: the old file's lines come first.
            shared.retire(self.id, handle, out, now);
        }
        if self.handle.is_none() {
            let Some((mut handle, at_tail)) = self.open(shared, now)? else {
                self.missing(is_glob, shared, now, out);
                return Ok(false);
            };
            // The state first, then the lines.
            self.show(Shown::Following, StreamState::Following, out);
            if at_tail {
                handle.start_at_tail(self.id, tail_lines, meta.len(), out, now)?;
            }
            self.handle = Some(handle);
            self.tail_first = false;
            self.backoff.succeeded();
            self.retry_at = None;
        }
        let Some(handle) = self.handle.as_mut() else {
            return Ok(false);
        };
        if handle.rewritten(&meta)? {
            handle.restart(self.id, out);
        }
        let more = handle.read(self.id, &mut shared.scratch, out, now)?;
        handle.flush_old_partial(self.id, out, now);
        Ok(more)
    }

    /// Opens the file at the path (`None` if it is gone again), positioned where reading
    /// resumes; `true` if it is to be positioned at its tail instead.
    fn open(&mut self, shared: &mut Shared, now: Instant) -> io::Result<Option<(Handle, bool)>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let identity = Identity::of(&meta);
        // Renamed into the glob (or back) while still open: carry on where it was.
        if let Some(handle) = shared.take_draining(identity) {
            return Ok(Some((handle, false)));
        }
        let mut handle = Handle::new(file, identity, &meta, now);
        if let Some(resume) = shared.take_resume(identity)
            && handle.has_mark(resume.offset, &resume.mark)
        {
            handle.offset = resume.offset;
            handle.mark = resume.mark;
            return Ok(Some((handle, false)));
        }
        Ok(Some((handle, self.tail_first)))
    }

    fn missing(&mut self, is_glob: bool, shared: &mut Shared, now: Instant, out: &mut Vec<Output>) {
        if let Some(handle) = self.handle.take() {
            shared.retire(self.id, handle, out, now);
        }
        self.tail_first = false;
        self.backoff.succeeded();
        self.retry_at = None;
        if is_glob {
            self.live = false;
            let reason = "file removed".to_string();
            self.show(Shown::Ended, StreamState::Ended { reason }, out);
        } else {
            let state = StreamState::Reconnecting {
                reason: WAITING.into(),
                retry_at: SystemTime::now() + RESCAN,
            };
            self.show(Shown::Waiting, state, out);
        }
    }

    fn fail(&mut self, error: io::Error, shared: &mut Shared, now: Instant, out: &mut Vec<Output>) {
        tracing::debug!(path = %self.path.display(), %error, "log file");
        if let Some(handle) = self.handle.take() {
            shared.retire(self.id, handle, out, now);
        }
        let delay = self.backoff.failed();
        self.retry_at = Some(now + delay);
        let state = StreamState::Reconnecting {
            reason: error.to_string(),
            retry_at: SystemTime::now() + delay,
        };
        self.show(Shown::Failed, state, out);
    }

    /// Reports a state change (every failure, for its new retry time).
    fn show(&mut self, shown: Shown, state: StreamState, out: &mut Vec<Output>) {
        if shown != self.shown || shown == Shown::Failed {
            self.shown = shown;
            out.push(Output::State(self.id, state));
        }
    }
}

/// 1 s doubling to 30 s.
const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), MAX_BACKOFF);

#[cfg(test)]
fn backoff(failures: u32) -> Duration {
    BACKOFF.after(failures)
}

impl Handle {
    fn new(file: File, identity: Identity, meta: &std::fs::Metadata, now: Instant) -> Self {
        Self {
            file,
            identity,
            offset: 0,
            mark: Vec::new(),
            seen: (meta.len(), meta.modified().ok()),
            partial: Vec::new(),
            partial_since: None,
            skipping: false,
            last_data: now,
        }
    }

    /// Positions at the last `lines` complete lines within the last `TAIL_BYTES`, and sends them.
    fn start_at_tail(
        &mut self,
        id: StreamId,
        lines: usize,
        len: u64,
        out: &mut Vec<Output>,
        now: Instant,
    ) -> io::Result<()> {
        let window = len.saturating_sub(TAIL_BYTES);
        // One byte before the window tells whether it starts at a line's start.
        let from = window.saturating_sub(1);
        let mut buf = vec![0; usize::try_from(len - from).unwrap_or(0)];
        let mut filled = 0;
        while filled < buf.len() {
            match self.file.read_at(&mut buf[filled..], from + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        buf.truncate(filled);
        self.offset = from + filled as u64;
        self.update_mark(&buf);
        let mut data = &buf[..];
        if window > 0 {
            match data.iter().position(|b| *b == b'\n') {
                Some(newline) => data = &data[newline + 1..],
                // Inside a line longer than the window: skip to its end.
                None => {
                    self.skipping = true;
                    data = &[];
                }
            }
        }
        let mut found = Vec::new();
        self.feed(id, data, &mut found, now);
        let skip = found.len().saturating_sub(lines);
        out.extend(found.into_iter().skip(skip));
        Ok(())
    }

    /// Reads what was appended, up to the budget. `Ok(true)`: there is more.
    fn read(
        &mut self,
        id: StreamId,
        scratch: &mut Vec<u8>,
        out: &mut Vec<Output>,
        now: Instant,
    ) -> io::Result<bool> {
        if scratch.len() < CHUNK {
            scratch.resize(CHUNK, 0);
        }
        let mut total = 0;
        while total < READ_BUDGET {
            let n = match self.file.read_at(scratch, self.offset) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            self.offset += n as u64;
            total += n as u64;
            self.last_data = now;
            self.update_mark(&scratch[..n]);
            self.feed(id, &scratch[..n], out, now);
        }
        Ok(true)
    }

    /// Splits data into lines; holds back the unfinished last one.
    fn feed(&mut self, id: StreamId, data: &[u8], out: &mut Vec<Output>, now: Instant) {
        let mut rest = data;
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            let piece = &rest[..newline];
            rest = &rest[newline + 1..];
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                emit(id, piece, out);
            } else {
                self.append_partial(piece);
                let line = std::mem::take(&mut self.partial);
                emit(id, &line, out);
            }
            self.partial_since = None;
        }
        if rest.is_empty() || self.skipping {
            return;
        }
        self.append_partial(rest);
        if self.partial.is_empty() {
            return;
        }
        self.partial_since.get_or_insert(now);
        if self.partial.len() > MAX_LINE_BYTES {
            // Shown truncated; the rest of it, up to its newline, is dropped.
            self.finish_partial(id, out);
            self.skipping = true;
        }
    }

    /// Adds to the held line, keeping no more than the line model shows, and without the NULs
    /// a copytruncated file's writer leaves before its next line.
    fn append_partial(&mut self, data: &[u8]) {
        let data = if self.partial.is_empty() {
            trim_nuls(data)
        } else {
            data
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&data[..data.len().min(room)]);
    }

    fn finish_partial(&mut self, id: StreamId, out: &mut Vec<Output>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            emit(id, &line, out);
        }
        self.partial_since = None;
    }

    /// A line whose writer has not finished it in `PARTIAL_AGE` is shown as it is.
    fn flush_old_partial(&mut self, id: StreamId, out: &mut Vec<Output>, now: Instant) {
        if self
            .partial_since
            .is_some_and(|since| now.duration_since(since) >= PARTIAL_AGE)
        {
            self.finish_partial(id, out);
        }
    }

    fn update_mark(&mut self, data: &[u8]) {
        if data.len() >= MARK_BYTES {
            self.mark.clear();
            self.mark
                .extend_from_slice(&data[data.len() - MARK_BYTES..]);
        } else {
            self.mark.extend_from_slice(data);
            let excess = self.mark.len().saturating_sub(MARK_BYTES);
            self.mark.drain(..excess);
        }
    }

    /// Whether the file was truncated or rewritten under the read position (copytruncate):
    /// it shrank below it, or the bytes just before it are no longer those read.
    fn rewritten(&mut self, meta: &std::fs::Metadata) -> io::Result<bool> {
        let seen = (meta.len(), meta.modified().ok());
        if seen == self.seen {
            return Ok(false);
        }
        self.seen = seen;
        if meta.len() < self.offset {
            return Ok(true);
        }
        Ok(!self.has_mark(self.offset, &self.mark))
    }

    /// Whether `mark` is what the file holds just before `offset`.
    fn has_mark(&self, offset: u64, mark: &[u8]) -> bool {
        let Some(start) = offset.checked_sub(mark.len() as u64) else {
            return false;
        };
        let mut buf = [0; MARK_BYTES];
        let Some(buf) = buf.get_mut(..mark.len()) else {
            return false;
        };
        self.file.read_exact_at(buf, start).is_ok() && buf == mark
    }

    /// Starts over from the top (truncated): the held line is shown, nothing else is lost.
    fn restart(&mut self, id: StreamId, out: &mut Vec<Output>) {
        self.finish_partial(id, out);
        self.offset = 0;
        self.mark.clear();
        self.skipping = false;
    }
}

/// One line out, without its CR and leading NULs (a line of only NULs is not one).
fn emit(id: StreamId, line: &[u8], out: &mut Vec<Output>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let trimmed = trim_nuls(line);
    if trimmed.is_empty() && !line.is_empty() {
        return;
    }
    out.push(Output::Line(id, trimmed.to_vec()));
}

fn trim_nuls(data: &[u8]) -> &[u8] {
    let start = data.iter().position(|b| *b != 0).unwrap_or(data.len());
    &data[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(out: &[Output]) -> Vec<String> {
        out.iter()
            .filter_map(|o| match o {
                Output::Line(_, bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                _ => None,
            })
            .collect()
    }

    fn handle() -> Handle {
        let file = tempfile::tempfile().unwrap();
        let meta = file.metadata().unwrap();
        let identity = Identity::of(&meta);
        Handle::new(file, identity, &meta, Instant::now())
    }

    #[test]
    fn feed_holds_partial_lines_and_strips_crlf() {
        let mut h = handle();
        let mut out = Vec::new();
        let now = Instant::now();
        h.feed(1, b"one\r\ntw", &mut out, now);
        assert_eq!(lines(&out), ["one"]);
        h.feed(1, b"o\r", &mut out, now);
        h.feed(1, b"\n\nthree", &mut out, now);
        assert_eq!(lines(&out), ["one", "two", ""]);
        h.flush_old_partial(1, &mut out, now + PARTIAL_AGE);
        assert_eq!(lines(&out), ["one", "two", "", "three"]);
    }

    #[test]
    fn over_long_partial_is_shown_once_and_the_rest_dropped() {
        let mut h = handle();
        let mut out = Vec::new();
        let now = Instant::now();
        let piece = vec![b'x'; 40 * 1024];
        h.feed(1, &piece, &mut out, now);
        assert!(out.is_empty());
        h.feed(1, &piece, &mut out, now);
        h.feed(1, &piece, &mut out, now);
        h.feed(1, b"xx\nnext\n", &mut out, now);
        let got = lines(&out);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE_BYTES + 1);
        assert_eq!(got[1], "next");
    }

    #[test]
    fn nul_padding_before_a_line_is_dropped() {
        let mut h = handle();
        let mut out = Vec::new();
        h.feed(1, b"\0\0\0\0line\n\0\0\n", &mut out, Instant::now());
        assert_eq!(lines(&out), ["line"]);
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(100), MAX_BACKOFF);
    }
}
