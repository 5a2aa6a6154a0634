//! Collect once, view many: every configured target's sources run once in the server, whatever
//! the number of viewers, each into one shared [`Data`] that the sessions' views read.
//!
//! A target's `Data` sits behind a read-write lock: its feed task takes the write side for one
//! burst of reports (applied, then ordered, so a reader never sees rows out of order), viewers
//! take the read side while they handle a key or draw a frame into memory, never across an
//! `.await`. A watch channel tells viewers that the data changed; a viewer that is slow or
//! stalled just reads the latest state when it gets round to it: nothing ever waits for it.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, watch};

use super::presence::Presence;
use crate::app::{Data, redacted_event};
use crate::config::Config;
use crate::event::SourceEvent;
use crate::policy::ReadOnlyInputs;
use crate::runtime::remediations;
use crate::sources::{self, SourceSet};

/// Source reports applied under one hold of the write lock before readers get a turn.
const MAX_BURST: usize = 256;

/// Everything the sessions of one server share.
pub struct Hub {
    pub config: Arc<Config>,
    pub config_path: PathBuf,
    /// Read-only inputs of the process (flag, environment, config); a session adds its role.
    pub read_only: ReadOnlyInputs,
    pub feeds: Vec<Feed>,
    pub presence: Arc<Presence>,
    /// One audit writer and one set of backends for every session's remediations.
    pub remediation: Arc<remediations::Shared>,
    /// The sources, stopped when the hub is dropped.
    _sources: Vec<SourceSet>,
}

/// One target's collected data and its change signal.
pub struct Feed {
    data: Arc<RwLock<Data>>,
    changed: watch::Receiver<u64>,
    /// Where the target's sources report: a session's ad-hoc log streams report here too.
    pub reports: mpsc::Sender<SourceEvent>,
    /// The generation the target's reports carry.
    pub generation: u64,
}

impl Feed {
    /// The data, for as long as the guard lives (never across an `.await`).
    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes when the data changed (its revision).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.clone()
    }
}

impl Hub {
    /// Starts every target's sources. Must be called inside a Tokio runtime.
    pub fn start(config: Arc<Config>, config_path: PathBuf, read_only: ReadOnlyInputs) -> Self {
        let mut feeds = Vec::new();
        let mut running = Vec::new();
        for (index, target) in config.targets.iter().enumerate() {
            // Generations tell targets apart: an answer asked of one target's data is never
            // taken for another's.
            let generation = index as u64 + 1;
            let data = Arc::new(RwLock::new(Data::new(
                Arc::clone(&config),
                index,
                generation,
            )));
            let (tx, rx) = mpsc::channel(4096);
            running.push(sources::start(target, generation, tx.clone()));
            let (changed_tx, changed) = watch::channel(0);
            tokio::spawn(feed(rx, Arc::clone(&data), changed_tx));
            feeds.push(Feed {
                data,
                changed,
                reports: tx,
                generation,
            });
        }
        let remediation = remediations::Shared::open(&config, true);
        Self {
            config,
            config_path,
            read_only,
            feeds,
            presence: Arc::new(Presence::default()),
            remediation,
            _sources: running,
        }
    }

    pub fn feed(&self, target: usize) -> &Feed {
        &self.feeds[target.min(self.feeds.len().saturating_sub(1))]
    }
}

/// Applies a target's reports to its data, a burst at a time, and tells the viewers.
async fn feed(
    mut reports: mpsc::Receiver<SourceEvent>,
    data: Arc<RwLock<Data>>,
    changed: watch::Sender<u64>,
) {
    while let Some(first) = reports.recv().await {
        let revision = {
            let mut data = data.write().unwrap_or_else(PoisonError::into_inner);
            let now = SystemTime::now();
            data.apply(redacted_event(first), now);
            for _ in 1..MAX_BURST {
                let Ok(next) = reports.try_recv() else {
                    break;
                };
                data.apply(redacted_event(next), now);
            }
            data.prepare();
            data.revision
        };
        changed.send_replace(revision);
    }
}
