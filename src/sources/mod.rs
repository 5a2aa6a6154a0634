//! Backend sources: one task per configured source, reporting to the UI through `Action`s.
//!
//! Each task owns its connection, timeouts and backoff; the UI task never waits on a backend.
//! This build has no backends yet, so every configured source reports `NotBuilt` honestly.

use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::Action;
use crate::app::status::{SourceState, SourceStatus};
use crate::config::TargetConfig;

/// The running source tasks of one target. Dropping it stops them all.
#[derive(Debug, Default)]
pub struct SourceSet {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SourceSet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the sources of `target`, tagging their reports with `generation`.
pub fn start(target: &TargetConfig, generation: u64, tx: mpsc::Sender<Action>) -> SourceSet {
    let sources = SourceStatus::for_target(target);
    let task = tokio::spawn(async move {
        for index in 0..sources.len() {
            let report = Action::Source {
                generation,
                index,
                state: SourceState::NotBuilt,
                at: SystemTime::now(),
            };
            if tx.send(report).await.is_err() {
                return;
            }
        }
    });
    SourceSet { tasks: vec![task] }
}
