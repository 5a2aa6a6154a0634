//! Fault hooks for tests and the request log.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::Shared;

/// One served request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// Kubernetes verb: list, watch, get, create, update, patch, delete, logs, discovery, ...
    pub verb: String,
}

impl RequestRecord {
    pub fn is_list(&self) -> bool {
        self.verb == "list"
    }
    pub fn is_watch(&self) -> bool {
        self.verb == "watch"
    }
    /// A request to the metrics API (metrics.k8s.io), which clients poll.
    pub fn is_metrics(&self) -> bool {
        self.verb == "metrics"
    }
}

/// Fault state shared with the server.
#[derive(Debug)]
pub(crate) struct FaultState {
    fail: Mutex<Option<(u16, usize)>>,
    /// Like `fail`, for changes only (writes that are not access reviews or dry runs).
    fail_writes: Mutex<Option<(u16, usize)>>,
    latency_ms: AtomicU64,
    pub split_chunks: AtomicBool,
    /// Bumped to end every watch stream.
    pub watch_gen: watch::Sender<u64>,
    /// Bumped to end every `follow` log stream.
    pub log_gen: watch::Sender<u64>,
    requests: Mutex<Vec<RequestRecord>>,
    log_file: Mutex<Option<std::fs::File>>,
}

impl FaultState {
    pub fn new(request_log: Option<&Path>) -> std::io::Result<Self> {
        let file = match request_log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        Ok(FaultState {
            fail: Mutex::new(None),
            fail_writes: Mutex::new(None),
            latency_ms: AtomicU64::new(0),
            split_chunks: AtomicBool::new(false),
            watch_gen: watch::channel(0).0,
            log_gen: watch::channel(0).0,
            requests: Mutex::new(Vec::new()),
            log_file: Mutex::new(file),
        })
    }

    /// The injected status for a request (`is_change`: it would change the world), if any
    /// remain.
    pub fn take_failure_for(&self, is_change: bool) -> Option<u16> {
        if is_change && let Some(code) = Self::take(&self.fail_writes) {
            return Some(code);
        }
        Self::take(&self.fail)
    }

    fn take(fail: &Mutex<Option<(u16, usize)>>) -> Option<u16> {
        let mut f = fail.lock().unwrap_or_else(PoisonError::into_inner);
        match f.as_mut() {
            Some((code, n)) if *n > 0 => {
                *n -= 1;
                let c = *code;
                if *n == 0 {
                    *f = None;
                }
                Some(c)
            }
            _ => None,
        }
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    pub fn record(&self, rec: RequestRecord) {
        if let Some(f) = self
            .log_file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            && let Ok(line) = serde_json::to_string(&rec)
        {
            let _ = writeln!(f, "{line}");
        }
        let mut reqs = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        if reqs.len() >= 100_000 {
            reqs.drain(..50_000);
        }
        reqs.push(rec);
    }
}

/// Test and demo handle for injecting faults.
#[derive(Clone)]
pub struct Faults {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Faults {
    /// Close every open watch stream now (clients re-watch from their last RV).
    pub fn drop_watches(&self) {
        self.shared.faults.watch_gen.send_modify(|g| *g += 1);
    }

    /// Forget the event history: re-watching from any earlier RV gets a 410 ERROR event.
    pub fn compact_history(&self) {
        self.shared.with(|w| w.store.compact());
    }

    /// Answer the next `n` requests with `status` (403, 429, 500, ...) as a Status error.
    /// Fail the next `n` changes (not reads, watches, access reviews or dry runs, which run on
    /// their own timers) with `status`.
    pub fn fail_next_writes(&self, status: u16, n: usize) {
        *self
            .shared
            .faults
            .fail_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (n > 0).then_some((status, n));
    }

    pub fn fail_next(&self, status: u16, n: usize) {
        *self
            .shared
            .faults
            .fail
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (n > 0).then_some((status, n));
    }

    /// Delay every response by `d` (zero to turn off).
    pub fn set_latency(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.shared.faults.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Split every watch line across two chunks.
    pub fn set_split_chunks(&self, on: bool) {
        self.shared.faults.split_chunks.store(on, Ordering::Relaxed);
    }

    /// End every `follow=true` log stream now.
    pub fn end_log_streams(&self) {
        self.shared.faults.log_gen.send_modify(|g| *g += 1);
    }

    /// Every request served so far (oldest first).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .faults
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear_requests(&self) {
        self.shared
            .faults
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Number of LIST requests (GET on a collection without `watch`).
    pub fn list_count(&self) -> usize {
        self.requests().iter().filter(|r| r.is_list()).count()
    }
}
