//! The effect executor: what `update` asks for, done. One implementation, used by the event
//! loop and by the test harness alike, so a test exercises the same code paths as the console.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::remediations::Runner;
use crate::app::{Action, App, Effect};
use crate::config::Config;
use crate::event::SourceEvent;
use crate::logs::LogEvent;
use crate::sources::log_sink::LogSink;
use crate::sources::{self, SourceSet};

/// What the console needs from the place it runs in: where OSC 52 clipboard text goes.
pub type Clipboard = Box<dyn Fn(&str) + Send>;

/// Who asks for an effect: the target whose data the view shows and its read-only policy.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub target_index: usize,
    pub target: Option<&'a crate::config::TargetConfig>,
    pub policy: &'a crate::policy::ReadOnlyPolicy,
}

impl<'a> Asker<'a> {
    pub fn of(data: &'a crate::app::Data, view: &'a crate::app::View) -> Self {
        Self {
            target_index: data.target_index,
            target: data.target(),
            policy: &view.policy,
        }
    }
}

/// Whether the executor owns the target's sources (the local console) or a server collects
/// every target once for all its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sources {
    Owned,
    /// Served: `StartSources` is the hub's business; per-session log streams and saving files on
    /// the server are refused with a message.
    Shared,
}

/// Receivers of what the executor's tasks send back.
pub struct Inbox {
    /// Remediation answers and notices.
    pub actions: mpsc::Receiver<Action>,
    /// Source reports (sources, pod detail, logs).
    pub reports: mpsc::Receiver<SourceEvent>,
}

/// Whether the loop goes on after an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct EffectExecutor {
    config: Arc<Config>,
    actions: mpsc::Sender<Action>,
    reports: mpsc::Sender<SourceEvent>,
    remediations: Runner,
    clipboard: Clipboard,
    mode: Sources,
    /// The current target's sources; replacing it stops the previous target's tasks.
    sources: Option<SourceSet>,
    pod_detail: Option<AbortOnDrop>,
    /// The YAML view's fetch, while under way.
    yaml: Option<AbortOnDrop>,
    /// Ad-hoc log tasks (`OpenLogs`, `PreviousLogs`) by source: each runs until its source is
    /// closed (`CloseLogs`) or the target's sources stop.
    adhoc_logs: BTreeMap<usize, AbortOnDrop>,
}

impl EffectExecutor {
    /// The local console's executor. Must be called inside a Tokio runtime (effects spawn
    /// tasks).
    pub fn new(config: Arc<Config>, clipboard: Clipboard) -> (Self, Inbox) {
        let (actions, actions_rx) = mpsc::channel(1024);
        let (reports, reports_rx) = mpsc::channel(4096);
        let remediations = Runner::new(Arc::clone(&config), actions.clone());
        Self::assemble(
            config,
            clipboard,
            Sources::Owned,
            remediations,
            (actions, actions_rx),
            (reports, reports_rx),
        )
    }

    /// A served session's executor: remediations through the server's shared audit writer and
    /// backends, acting as `operator`.
    pub fn served(
        config: Arc<Config>,
        clipboard: Clipboard,
        shared: Arc<super::remediations::Shared>,
        operator: crate::remediation::audit::Operator,
    ) -> (Self, Inbox) {
        let (actions, actions_rx) = mpsc::channel(256);
        // Only this session's answers (pod detail, YAML) come here.
        let (reports, reports_rx) = mpsc::channel(64);
        let remediations =
            Runner::with(Arc::clone(&config), actions.clone(), shared, Some(operator));
        Self::assemble(
            config,
            clipboard,
            Sources::Shared,
            remediations,
            (actions, actions_rx),
            (reports, reports_rx),
        )
    }

    fn assemble(
        config: Arc<Config>,
        clipboard: Clipboard,
        mode: Sources,
        remediations: Runner,
        (actions, actions_rx): (mpsc::Sender<Action>, mpsc::Receiver<Action>),
        (reports, reports_rx): (mpsc::Sender<SourceEvent>, mpsc::Receiver<SourceEvent>),
    ) -> (Self, Inbox) {
        let executor = Self {
            config,
            actions,
            reports,
            remediations,
            clipboard,
            mode,
            sources: None,
            pod_detail: None,
            yaml: None,
            adhoc_logs: BTreeMap::new(),
        };
        let inbox = Inbox {
            actions: actions_rx,
            reports: reports_rx,
        };
        (executor, inbox)
    }

    /// Does what `effect` asks; `app` is the state that asked (its target and policy).
    pub fn execute(&mut self, effect: Effect, app: &App) -> Flow {
        self.execute_for(effect, Asker::of(&app.data, &app.view))
    }

    /// Does what `effect` asks for `asker`.
    pub fn execute_for(&mut self, effect: Effect, asker: Asker<'_>) -> Flow {
        let kubernetes = || {
            asker
                .target
                .and_then(|t| t.kubernetes.clone())
                .unwrap_or_default()
        };
        if self.mode == Sources::Shared
            && let Some(why) = not_served(&effect)
        {
            self.notify(why);
            return Flow::Continue;
        }
        match effect {
            Effect::Quit => return Flow::Quit,
            // The server's hub runs every target's sources.
            Effect::StartSources { .. } if self.mode == Sources::Shared => {}
            Effect::StartSources {
                generation,
                target_index,
            } => {
                self.stop_sources();
                if let Some(target) = self.config.targets.get(target_index) {
                    self.sources = Some(sources::start(target, generation, self.reports.clone()));
                }
            }
            Effect::OpenPodDetail { generation, key } => {
                let task =
                    sources::pod_detail::run(kubernetes(), generation, key, self.reports.clone());
                self.pod_detail = Some(AbortOnDrop(tokio::spawn(task)));
            }
            Effect::ClosePodDetail => self.pod_detail = None,
            Effect::OpenYaml { generation, object } => {
                let task =
                    sources::yaml::run(kubernetes(), generation, object, self.reports.clone());
                // A fetch for an earlier question is dropped.
                self.yaml = Some(AbortOnDrop(tokio::spawn(task)));
            }
            Effect::CloseYaml => self.yaml = None,
            effect @ (Effect::OpenLogs { .. } | Effect::PreviousLogs { .. }) => {
                if let Some((source, task)) = adhoc_logs(&effect, kubernetes(), &self.reports) {
                    self.adhoc_logs.insert(source, task);
                }
            }
            Effect::CloseLogs {
                generation,
                sources,
            } => {
                // Configured sources are not in this map: they cannot be stopped here.
                for source in &sources {
                    self.adhoc_logs.remove(source);
                }
                close_adhoc_logs(generation, sources, self.reports.clone());
            }
            effect @ (Effect::LoadHistory { .. }
            | Effect::Preview { .. }
            | Effect::Execute { .. }
            | Effect::AuditNote { .. }
            | Effect::CheckPermissions { .. }) => {
                self.remediations
                    .handle(effect, asker.target_index, asker.policy.clone())
            }
            Effect::CopyToClipboard(text) => (self.clipboard)(&text),
            Effect::SaveLogs { text, lines } => {
                let tx = self.actions.clone();
                tokio::task::spawn_blocking(move || {
                    let (error, text) = match save_logs(&text) {
                        Ok(path) => (false, format!("saved {lines} lines to {}", path.display())),
                        Err(e) => (true, format!("cannot save the logs: {e}")),
                    };
                    let _ = tx.blocking_send(Action::Notify { error, text });
                });
            }
        }
        Flow::Continue
    }

    /// A message for the session (best effort: a full queue drops it).
    fn notify(&self, text: &str) {
        let _ = self.actions.try_send(Action::Notify {
            error: true,
            text: text.to_string(),
        });
    }

    /// Stops every task of the current target (sources, pod detail, YAML fetch, ad-hoc logs).
    pub fn stop_sources(&mut self) {
        self.sources = None;
        self.pod_detail = None;
        self.yaml = None;
        self.adhoc_logs.clear();
    }
}

/// Starts the log task an `OpenLogs` or `PreviousLogs` effect asks for, reporting to
/// `reports`: its source and the handle that stops it. `None` for any other effect.
pub fn adhoc_logs(
    effect: &Effect,
    kubernetes: crate::config::KubernetesConfig,
    reports: &mpsc::Sender<SourceEvent>,
) -> Option<(usize, AbortOnDrop)> {
    let (source, task) = match effect {
        Effect::OpenLogs {
            generation,
            source,
            config,
        } => {
            let sink = LogSink::new(reports.clone(), *generation, *source);
            let task = sources::logs_kube::run(kubernetes, (**config).clone(), sink);
            (*source, tokio::spawn(task))
        }
        Effect::PreviousLogs {
            generation,
            source,
            namespace,
            pod,
        } => {
            let sink = LogSink::new(reports.clone(), *generation, *source);
            let task = sources::logs_kube::previous(
                kubernetes,
                namespace.clone(),
                pod.clone(),
                None,
                0,
                sink,
            );
            (*source, tokio::spawn(task))
        }
        _ => return None,
    };
    Some((source, AbortOnDrop(task)))
}

/// Marks stopped ad-hoc sources' streams ended: through the reports channel, after whatever
/// their tasks had already sent; the data ignores anything of theirs that still comes after.
pub fn close_adhoc_logs(generation: u64, sources: Vec<usize>, reports: mpsc::Sender<SourceEvent>) {
    tokio::spawn(async move {
        for source in sources {
            let event = LogEvent::Closed {
                reason: "stopped by the operator".into(),
            };
            let report = SourceEvent::Logs {
                generation,
                source,
                event,
            };
            if reports.send(report).await.is_err() {
                return;
            }
        }
    });
}

/// Why a served session cannot have `effect`, if it cannot: saved logs would be written on
/// the server. (Its ad-hoc log streams are opened by the session, on the shared collection.)
fn not_served(effect: &Effect) -> Option<&'static str> {
    match effect {
        Effect::SaveLogs { .. } => Some(
            "saving logs writes on the server: copy them to your clipboard with `y` in the Logs pane instead",
        ),
        _ => None,
    }
}

/// Writes saved logs to `$XDG_STATE_HOME/watchfloor/logs-<UTC time>.log`, e.g.
/// `logs-2026-12-06T01-34-12Z.log`, readable by its owner only (log lines can carry secrets).
fn save_logs(text: &str) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = crate::logging::log_path()
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir)?;
    let stamp = crate::timestamp::rfc3339_system(SystemTime::now()).replace(':', "-");
    // Two saves in one second get a counter rather than overwriting each other.
    let mut path = dir.join(format!("logs-{stamp}.log"));
    let mut n = 1;
    let mut file = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => break file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                n += 1;
                path = dir.join(format!("logs-{stamp}-{n}.log"));
            }
            Err(e) => return Err(e),
        }
    };
    file.write_all(text.as_bytes())?;
    Ok(path)
}

/// A background task that ends when its handle is dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
