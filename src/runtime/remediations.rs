//! The runtime side of remediations: previews, execution, rollout following, permission checks
//! and the audit trail, each in a background task that reports back as an `Action`.
//!
//! Audit is fail-closed: a plan whose `planned` line cannot be written is not even previewed
//! (nothing is sent to the cluster or database before that line is on disk) and cannot be
//! confirmed, and an execution without an audit trail does not run. The lines are written by
//! the audit writer task ([`AuditWriter`]), in the order the effects came, off the UI task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::app::{Action, Effect};
use crate::config::Config;
use crate::policy::ReadOnlyPolicy;
use crate::remediation::audit::{
    AuditLog, AuditMirror, AuditRecord, AuditWriter, Operator, session_attempt_id,
};
use crate::remediation::exec::{self, Backends};
use crate::remediation::kube_exec::AccessCheck;
use crate::remediation::{Failure, Outcome, Plan, Rollout};

/// How long a rollout is followed after a remediation before giving up watching.
const FOLLOW_FOR: Duration = Duration::from_secs(600);
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Runs remediation effects for the console.
pub struct Runner {
    config: Arc<Config>,
    tx: mpsc::Sender<Action>,
    shared: Arc<Shared>,
    /// Who acts, when the process's environment does not say it (a served session's user).
    operator: Option<Operator>,
    /// Each attempt's preview summary, for the lines that follow its `planned` line.
    previews: Arc<Mutex<HashMap<u64, String>>>,
    /// Attempts whose last line is written (cancelled, denied, failed, succeeded).
    closed: Arc<Mutex<std::collections::HashSet<u64>>>,
}

/// What every runner of a process shares: one audit writer (one order of lines), one mirror,
/// the targets' backends.
pub struct Shared {
    audit: Arc<Result<AuditWriter, String>>,
    mirror: Arc<tokio::sync::OnceCell<Option<AuditMirror>>>,
    /// Backends by target index. The local console keeps only its current target's (the
    /// previous target's connections close on switch); a server keeps every target's.
    backends: Mutex<Vec<(usize, Arc<Backends>)>>,
    keep_every_target: bool,
}

impl Shared {
    /// Opens the audit trail (must be called inside a Tokio runtime: the writer is a task).
    pub fn open(config: &Config, keep_every_target: bool) -> Arc<Self> {
        let path = crate::remediation::audit::configured_path(config);
        let audit = AuditLog::open(&path).map(AuditWriter::start);
        if let Err(error) = &audit {
            tracing::error!(%error, "audit trail cannot be opened: remediations are disabled");
        }
        Arc::new(Self {
            audit: Arc::new(audit),
            mirror: Arc::new(tokio::sync::OnceCell::new()),
            backends: Mutex::new(Vec::new()),
            keep_every_target,
        })
    }

    fn backends(&self, config: &Config, target_index: usize) -> Option<Arc<Backends>> {
        let mut slots = self.backends.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, backends)) = slots.iter().find(|(index, _)| *index == target_index) {
            return Some(backends.clone());
        }
        let target = config.targets.get(target_index)?.clone();
        let backends = Arc::new(Backends::new(target));
        if !self.keep_every_target {
            slots.clear();
        }
        slots.push((target_index, backends.clone()));
        Some(backends)
    }
}

impl Runner {
    /// The local console's runner: its own audit writer; the operator from the environment.
    pub fn new(config: Arc<Config>, tx: mpsc::Sender<Action>) -> Self {
        let shared = Shared::open(&config, false);
        Self::with(config, tx, shared, None)
    }

    /// A runner over `shared` (a served session's), acting as `operator` when given.
    pub fn with(
        config: Arc<Config>,
        tx: mpsc::Sender<Action>,
        shared: Arc<Shared>,
        operator: Option<Operator>,
    ) -> Self {
        Self {
            config,
            tx,
            shared,
            operator,
            previews: Arc::new(Mutex::new(HashMap::new())),
            closed: Arc::new(Mutex::new(std::collections::HashSet::new())),
        }
    }

    /// Handles one remediation effect for the target `target_index`, whose read-only policy
    /// is `policy`.
    pub fn handle(&self, effect: Effect, target_index: usize, policy: ReadOnlyPolicy) {
        let Some(backends) = self.shared.backends(&self.config, target_index) else {
            return;
        };
        let tx = self.tx.clone();
        let auditor = Auditor {
            log: self.shared.audit.clone(),
            mirror: self.shared.mirror.clone(),
            operator: self.operator.clone(),
            config: self.config.clone(),
            previews: self.previews.clone(),
            closed: self.closed.clone(),
            backends: backends.clone(),
        };
        match effect {
            Effect::LoadHistory {
                generation,
                attempt,
                namespace,
                name,
            } => {
                tokio::spawn(async move {
                    let result = exec::history(&backends, &namespace, &name).await;
                    let _ = tx
                        .send(Action::History {
                            generation,
                            attempt,
                            result,
                        })
                        .await;
                });
            }
            Effect::Preview {
                generation,
                attempt,
                plan,
            } => {
                // The `planned` line is queued here, in order with every other line the
                // console writes (a cancel cannot overtake it), and the dry run waits until it
                // is on disk; the preview's summary goes into the lines that end the attempt.
                let planned = auditor.write(attempt, &plan, Outcome::Planned, None, None, None);
                tokio::spawn(async move {
                    let audit = planned.await;
                    let result = match &audit {
                        Ok(()) => exec::preview(&backends, &plan).await,
                        Err(e) => Err(Failure::AuditUnavailable(e.clone())),
                    };
                    match &result {
                        Ok(preview) => auditor.remember_preview(attempt, &preview.summary),
                        // A failed dry run is the attempt's end: nothing can be executed. A
                        // dry run the server forbade is a denial.
                        Err(Failure::AuditUnavailable(_)) => {}
                        Err(e) if !auditor.is_closed(attempt) => {
                            let _ = auditor
                                .write(attempt, &plan, e.outcome(), Some(e.to_string()), None, None)
                                .await;
                        }
                        Err(_) => {}
                    }
                    // The dialog shows the text as it is.
                    let result = result.map_err(|e| e.to_string());
                    let _ = tx
                        .send(Action::Previewed {
                            generation,
                            attempt,
                            result,
                            audit,
                        })
                        .await;
                });
            }
            Effect::Execute {
                generation,
                attempt,
                plan,
            } => {
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = match auditor.log.as_ref() {
                        // Fail closed: no trail, no action.
                        Err(e) => Err(Failure::AuditUnavailable(e.clone())),
                        Ok(_) => {
                            let signature = auditor.signature(attempt);
                            exec::execute(&backends, &plan, &policy, &signature).await
                        }
                    };
                    let elapsed = started.elapsed();
                    let (outcome, error) = match &result {
                        Ok(_) => (Outcome::Succeeded, None),
                        Err(e) => (e.outcome(), Some(e.to_string())),
                    };
                    // The sessions a PostgreSQL action hit go on its line.
                    let pids = result.as_ref().ok().and_then(|done| done.pids.clone());
                    let result = result.map(|done| done.summary);
                    let audit = auditor
                        .write(attempt, &plan, outcome, error, Some(elapsed), pids)
                        .await;
                    let result = match (result, audit) {
                        (Ok(summary), Err(e)) => {
                            Ok(format!("{summary} (but the audit line failed: {e})"))
                        }
                        (result, _) => result,
                    };
                    let follow = result
                        .is_ok()
                        .then(|| exec::rollout_to_follow(&plan))
                        .flatten();
                    let _ = tx
                        .send(Action::Executed {
                            generation,
                            attempt,
                            result,
                            follow: follow.clone(),
                        })
                        .await;
                    if let Some(rollout) = follow {
                        follow_rollout(&backends, &tx, generation, attempt, &rollout).await;
                    }
                });
            }
            Effect::AuditNote {
                attempt,
                plan,
                outcome,
                error,
            } => {
                let written = auditor.write(attempt, &plan, outcome, error, None, None);
                tokio::spawn(async move {
                    if let Err(e) = written.await {
                        let _ = tx
                            .send(Action::Notify {
                                error: true,
                                text: format!("audit trail: {e}"),
                            })
                            .await;
                    }
                });
            }
            Effect::CheckPermissions {
                generation, checks, ..
            } => {
                tokio::spawn(async move {
                    let answers = access_reviews(&backends, checks).await;
                    let _ = tx
                        .send(Action::Permissions {
                            generation,
                            answers,
                        })
                        .await;
                });
            }
            // Not remediation effects: the runtime handles them. Listed, not `_`, so a new
            // effect is placed on purpose.
            Effect::Quit
            | Effect::StartSources { .. }
            | Effect::OpenPodDetail { .. }
            | Effect::ClosePodDetail
            | Effect::OpenYaml { .. }
            | Effect::CloseYaml
            | Effect::OpenLogs { .. }
            | Effect::PreviousLogs { .. }
            | Effect::CloseLogs { .. }
            | Effect::CopyToClipboard(_)
            | Effect::SaveLogs { .. } => {
                tracing::debug!("not a remediation effect; ignored by the runner");
            }
        }
    }
}

/// Writes audit lines (file first, then the optional PostgreSQL mirror).
struct Auditor {
    log: Arc<Result<AuditWriter, String>>,
    /// Who acts; `None`: the process environment's user.
    operator: Option<Operator>,
    mirror: Arc<tokio::sync::OnceCell<Option<AuditMirror>>>,
    config: Arc<Config>,
    previews: Arc<Mutex<HashMap<u64, String>>>,
    closed: Arc<Mutex<std::collections::HashSet<u64>>>,
    /// The target's backends: the writer reads the kubeconfig user there, once.
    backends: Arc<Backends>,
}

impl Auditor {
    fn remember_preview(&self, attempt: u64, summary: &str) {
        self.previews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(attempt, summary.to_string());
    }

    /// Who acts in attempt `attempt`, as the audit trail names them, for the backend's own
    /// record (an Alertmanager silence's `createdBy` and comment).
    fn signature(&self, attempt: u64) -> exec::Signature {
        let operator = self
            .operator
            .clone()
            .unwrap_or_else(|| Operator::from_env(None));
        exec::Signature {
            operator: operator.display(),
            attempt_id: session_attempt_id(attempt),
        }
    }

    fn is_closed(&self, attempt: u64) -> bool {
        self.closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&attempt)
    }

    /// Queues one line now (so lines of one attempt are written in the order they happen);
    /// the answer comes once the writer task has appended and synced it, and the line is then
    /// mirrored in the background. An action whose line cannot be written does not run.
    fn write(
        &self,
        attempt: u64,
        plan: &Plan,
        outcome: Outcome,
        error: Option<String>,
        duration: Option<Duration>,
        pids: Option<Vec<i32>>,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send + 'static {
        let writer = self.log.as_ref().as_ref().map_err(Clone::clone);
        // The kubeconfig user is filled in by the writer.
        let mut record = AuditRecord::new(
            self.operator
                .clone()
                .unwrap_or_else(|| Operator::from_env(None)),
            &plan.target,
            &plan.place,
            &plan.action,
            plan.object.clone(),
            outcome,
        )
        .with_attempt(session_attempt_id(attempt));
        let preview = self
            .previews
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&attempt)
            .cloned();
        if let Some(preview) = preview {
            record = record.with_preview(preview);
        }
        if let Some(error) = error {
            record = record.with_error(error);
        }
        if let Some(duration) = duration {
            record = record.with_duration(duration);
        }
        if let Some(pids) = pids {
            record = record.with_pids(pids);
        }
        let written = writer.map(|w| w.submit(record, Some(self.backends.clone())));
        if outcome != Outcome::Planned {
            self.previews
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&attempt);
            self.closed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(attempt);
        }
        // The mirror is best effort: the file is the record. Mirrored lines may arrive out of
        // order; each carries its time and attempt id.
        let config = self.config.clone();
        let mirror = self.mirror.clone();
        async move {
            let record = written?.await.map_err(|e| e.reason().to_string())?;
            tokio::spawn(mirror_line(config, mirror, record));
            Ok(())
        }
    }
}

/// Mirrors one written line to the PostgreSQL mirror, when there is one.
async fn mirror_line(
    config: Arc<Config>,
    mirror: Arc<tokio::sync::OnceCell<Option<AuditMirror>>>,
    record: AuditRecord,
) {
    {
        let mirror = mirror
            .get_or_init(|| async move {
                let entry = crate::remediation::audit::mirror_entry(&config)?.clone();
                match AuditMirror::connect(&entry).await {
                    Ok(mirror) => Some(mirror),
                    Err(error) => {
                        tracing::warn!(%error, "audit mirror unavailable");
                        None
                    }
                }
            })
            .await;
        if let Some(mirror) = mirror
            && let Err(error) = mirror.mirror(&record).await
        {
            tracing::warn!(%error, "audit mirror write failed; the file holds the record");
        }
    }
}

/// Follows a rollout, by its kind's `rollout status` rule, until it completes, fails or
/// stalls (or for `FOLLOW_FOR`).
async fn follow_rollout(
    backends: &Backends,
    tx: &mpsc::Sender<Action>,
    generation: u64,
    attempt: u64,
    rollout: &Rollout,
) {
    let until = Instant::now() + FOLLOW_FOR;
    let mut last = None;
    while Instant::now() < until {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let progress = match exec::progress(backends, rollout).await {
            Ok(p) => p,
            Err(e) => crate::remediation::Progress {
                done: false,
                failed: None,
                message: format!("status unavailable: {e}"),
            },
        };
        let finished = progress.done || progress.failed.is_some();
        if last.as_ref() != Some(&progress) {
            last = Some(progress.clone());
            if tx
                .send(Action::Progress {
                    generation,
                    attempt,
                    progress,
                })
                .await
                .is_err()
            {
                return;
            }
        }
        if finished {
            return;
        }
    }
    let _ = tx
        .send(Action::Progress {
            generation,
            attempt,
            progress: crate::remediation::Progress {
                done: false,
                failed: Some(format!(
                    "still rolling after {}s; no longer followed",
                    FOLLOW_FOR.as_secs()
                )),
                message: String::new(),
            },
        })
        .await;
}

/// One SelfSubjectAccessReview per check. Without a Kubernetes client, each check's answer is
/// the failure (not a denial: the server decides at the dry run), so it is not asked again
/// before its minute is up.
async fn access_reviews(
    backends: &Backends,
    checks: Vec<AccessCheck>,
) -> Vec<(AccessCheck, Result<bool, Failure>)> {
    match backends.kube().await {
        Ok(client) => crate::remediation::kube_exec::access(client, &checks).await,
        Err(e) => checks
            .into_iter()
            .map(|c| (c, Err(Failure::Failed(e.clone()))))
            .collect(),
    }
}
