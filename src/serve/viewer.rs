//! One served session's console: its own [`View`] over the hub's shared data, its own terminal
//! (size from `pty-req`/`window-change`, colours from `TERM`), its own remediations.
//!
//! Two halves run together: the console loop (input, clock, data changes, news, effects,
//! drawing) and the writer, which sends one frame at a time to the client and waits on its
//! SSH window. The console draws only when the writer has taken the previous frame, so a slow
//! or stalled client costs one pending frame: the frames in between are never made, and the
//! next one (ratatui diffs against what was last sent) brings the latest state. Nothing else
//! waits for a viewer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossterm::event::{Event, KeyEventKind};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::hub::Hub;
use super::input::Decoder;
use super::presence::{Membership, headline};
use super::session::{Output, SessionInput, ViewerSession};
use crate::app::keymap::Keymap;
use crate::app::{Action, Effect, Served, View, policy_for};
use crate::config::ServeRole;
use crate::policy::ReadOnlyInputs;
use crate::remediation::audit::Operator;
use crate::remediation::{Plan, Progress};
use crate::runtime::effects::{
    AbortOnDrop, Asker, EffectExecutor, Flow, Inbox, adhoc_logs, close_adhoc_logs,
};
use crate::ui::{self, theme::ColorSupport, theme::Theme};

/// What a client's terminal is put in at the start: the alternate screen, no cursor, bracketed
/// paste.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[2J";
/// What it is given back at the end (also written before a server's goodbye).
pub const LEAVE: &str = "\x1b[?2004l\x1b[?25h\x1b[?1049l";

/// Source-driven redraws wait this long at least; input is drawn at once.
fn frame_interval(max_fps: u32) -> Duration {
    Duration::from_secs(1) / max_fps.max(1)
}

/// Serves the console to one session until the viewer quits or its input ends.
pub async fn run(hub: Arc<Hub>, session: ViewerSession, number: u64) {
    let ViewerSession {
        who,
        peer,
        terminal,
        input,
        output,
    } = session;
    let (frames, pending_frames) = mpsc::channel::<Vec<u8>>(1);
    let (console, inbox, clipboard) = Console::new(&hub, &who, peer, &terminal, number);
    tokio::join!(
        console.run(input, frames, inbox, clipboard),
        write_frames(pending_frames, output)
    );
}

/// Sends frames to the client, one at a time; ends when the console is done or the client is
/// gone.
async fn write_frames(mut frames: mpsc::Receiver<Vec<u8>>, output: Output) {
    while let Some(frame) = frames.recv().await {
        if output.write(frame).await.is_err() {
            return;
        }
    }
}

/// The remediation attempts of this session under way, for news and holds.
struct Attempt {
    plan: Plan,
}

struct Console {
    hub: Arc<Hub>,
    name: String,
    inputs: ReadOnlyInputs,
    target: usize,
    view: View,
    theme: Theme,
    terminal: Terminal<CrosstermBackend<Vec<u8>>>,
    effects: EffectExecutor,
    membership: Membership,
    attempts: HashMap<u64, Attempt>,
    /// The ad-hoc log streams this session opened (`l`, `p`), by source: their target and the
    /// task, stopped when dropped.
    adhoc: HashMap<usize, (usize, AbortOnDrop)>,
    frame_interval: Duration,
}

impl Console {
    fn new(
        hub: &Arc<Hub>,
        who: &super::keys::Identity,
        peer: Option<std::net::SocketAddr>,
        term: &super::session::Terminal,
        number: u64,
    ) -> (Self, Inbox, mpsc::Receiver<String>) {
        let config = Arc::clone(&hub.config);
        // An observer is read-only in every layer (keymap, planner, executor), whatever the
        // config says; an operator is as the config says.
        let inputs = ReadOnlyInputs {
            observer: who.role == ServeRole::Observer,
            ..hub.read_only
        };
        let now = SystemTime::now();
        let target = 0;
        let mut view = {
            let data = hub.feed(target).read();
            View::new(
                // Hints name the config file, not where it lives on the server.
                std::path::PathBuf::from(format!(
                    "the server's {}",
                    hub.config_path
                        .file_name()
                        .map_or("config".into(), |n| n.to_string_lossy())
                )),
                Keymap::with_overrides(&config.ui.keys),
                policy_for(&data, inputs),
                now,
            )
        };
        // Sessions number their attempts and ad-hoc log sources in ranges of their own.
        view.number_attempts_from(number << 32);
        view.own_log_sources(number as usize * crate::app::SESSION_SOURCES);
        let colors = ColorSupport::detect(None, term.colorterm.as_deref(), Some(&term.term));
        let theme = Theme::new(config.ui.theme, colors);
        let area = Rect::new(0, 0, term.cols, term.rows);
        let terminal = Terminal::with_options(
            CrosstermBackend::new(Vec::new()),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )
        .expect("an in-memory terminal cannot fail");
        let (clip_tx, clipboard) = mpsc::channel(4);
        let copy = move |text: &str| {
            // A clipboard write the client is too slow for is dropped.
            let _ = clip_tx.try_send(text.to_string());
        };
        let operator = Operator {
            user: Some(who.name.clone()),
            ssh_client: peer.map(|p| p.ip().to_string()),
            kube_user: None,
            key: Some(who.fingerprint.clone()),
        };
        let (effects, inbox) = EffectExecutor::served(
            Arc::clone(&config),
            Box::new(copy),
            Arc::clone(&hub.remediation),
            operator,
        );
        let target_name = hub.feed(target).read().target_name().to_string();
        let membership = hub
            .presence
            .join(&who.name, who.role, target, &target_name, now);
        let console = Self {
            hub: Arc::clone(hub),
            name: who.name.clone(),
            inputs,
            target,
            view,
            theme,
            terminal,
            effects,
            membership,
            attempts: HashMap::new(),
            adhoc: HashMap::new(),
            frame_interval: frame_interval(config.ui.max_fps),
        };
        (console, inbox, clipboard)
    }

    async fn run(
        mut self,
        mut input: mpsc::Receiver<SessionInput>,
        frames: mpsc::Sender<Vec<u8>>,
        mut inbox: Inbox,
        mut clipboard: mpsc::Receiver<String>,
    ) {
        if frames.send(ENTER.to_vec()).await.is_err() {
            return;
        }
        let mut changed = self.hub.feed(self.target).subscribe();
        let mut viewers = self.hub.presence.count();
        let mut news = self.hub.presence.news();
        let mut decoder = Decoder::default();
        let mut clock = interval(Duration::from_secs(1));
        clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut pending: Vec<Effect> = {
            let data = self.hub.feed(self.target).read();
            self.view.ask_access(&data)
        };
        let mut dirty = true;
        let mut urgent = true;
        let mut last_draw: Option<Instant> = None;
        loop {
            for effect in pending.drain(..) {
                self.execute(effect);
            }
            if self.view.should_quit {
                break;
            }
            let next_draw = last_draw.map_or_else(Instant::now, |at| at + self.frame_interval);
            let may_draw = dirty && (urgent || Instant::now() >= next_draw);
            tokio::select! {
                permit = frames.reserve(), if may_draw => {
                    let Ok(permit) = permit else { break };
                    permit.send(self.draw());
                    dirty = false;
                    urgent = false;
                    last_draw = Some(Instant::now());
                }
                () = sleep_until(next_draw), if dirty && !may_draw => {}
                got = input.recv() => {
                    let Some(got) = got else { break };
                    let now = SystemTime::now();
                    self.hub.presence.touched(self.membership.id, now);
                    for action in self.actions_of(got, &mut decoder) {
                        pending.extend(self.update(action));
                    }
                    dirty = true;
                    urgent = true;
                }
                Some(action) = inbox.actions.recv() => {
                    self.tell_news(&action);
                    pending.extend(self.update(action));
                    dirty = true;
                }
                Some(report) = inbox.reports.recv() => {
                    pending.extend(self.update(Action::Backend(report)));
                    dirty = true;
                }
                Ok(()) = changed.changed() => {
                    let data = self.hub.feed(self.target).read();
                    // The rows under the cursor may need access reviews.
                    pending.extend(self.view.ask_access(&data));
                    dirty = true;
                }
                Ok(()) = viewers.changed() => dirty = true,
                heard = news.recv() => match heard {
                    Ok(news) if news.target == self.target && news.from != self.membership.id => {
                        self.view.toast(crate::app::ToastLevel::Info, news.text);
                        dirty = true;
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {}
                },
                Some(text) = clipboard.recv() => {
                    let _ = frames.try_send(osc52(&text).into_bytes());
                }
                _ = clock.tick() => {
                    pending.extend(self.update(Action::Tick(SystemTime::now())));
                    dirty = true;
                }
            }
            if self.view.switch_to.is_some() {
                pending.extend(self.switch_target());
                changed = self.hub.feed(self.target).subscribe();
                dirty = true;
            }
        }
        self.close_adhoc(|_| true);
        let _ = frames.send(LEAVE.as_bytes().to_vec()).await;
    }

    /// Stops this session's ad-hoc log streams of the targets `which` picks, and marks them
    /// ended in the shared data.
    fn close_adhoc(&mut self, which: impl Fn(usize) -> bool) {
        let mut by_target: HashMap<usize, Vec<usize>> = HashMap::new();
        self.adhoc.retain(|source, (target, _)| {
            if which(*target) {
                by_target.entry(*target).or_default().push(*source);
                false
            } else {
                true
            }
        });
        for (target, sources) in by_target {
            let feed = self.hub.feed(target);
            close_adhoc_logs(feed.generation, sources, feed.reports.clone());
        }
    }

    /// The actions a piece of session input makes.
    fn actions_of(&mut self, got: SessionInput, decoder: &mut Decoder) -> Vec<Action> {
        match got {
            SessionInput::Resize { cols, rows } => {
                // A full redraw follows: the client's screen is cleared.
                let _ = self.terminal.resize(Rect::new(0, 0, cols, rows));
                vec![Action::Resize]
            }
            SessionInput::Bytes(bytes) => decoder
                .feed(&bytes)
                .into_iter()
                .filter_map(|event| match event {
                    Event::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
                    Event::Paste(text) => Some(Action::Paste(text)),
                    _ => None,
                })
                .collect(),
        }
    }

    fn update(&mut self, action: Action) -> Vec<Effect> {
        let data = self.hub.feed(self.target).read();
        self.view.update(&data, action)
    }

    /// Moves the view to the target its keys asked for: that target's data, already collected.
    fn switch_target(&mut self) -> Vec<Effect> {
        let Some(index) = self.view.switch_to.take() else {
            return vec![];
        };
        // The ad-hoc streams of the target left stop, as in the local console.
        let left = self.target;
        self.close_adhoc(|target| target == left);
        self.target = index.min(self.hub.feeds.len().saturating_sub(1));
        let data = self.hub.feed(self.target).read();
        self.view.reset_for_target(policy_for(&data, self.inputs));
        let name = data.target_name().to_string();
        self.hub
            .presence
            .moved(self.membership.id, self.target, &name);
        self.view
            .toast(crate::app::ToastLevel::Info, format!("target: {name}"));
        self.view.ask_access(&data)
    }

    /// Runs an effect: remediations hold their object first and are news for the target.
    fn execute(&mut self, effect: Effect) {
        match &effect {
            Effect::Preview {
                generation,
                attempt,
                plan,
            } => {
                if let Err(why) = self.hub.presence.hold(self.membership.id, plan) {
                    let refused = Action::Previewed {
                        generation: *generation,
                        attempt: *attempt,
                        result: Err(why),
                        audit: Ok(()),
                    };
                    let _ = self.update(refused);
                    return;
                }
                self.attempts.insert(
                    *attempt,
                    Attempt {
                        plan: (**plan).clone(),
                    },
                );
                self.announce(plan, "planning (dry run)");
            }
            Effect::Execute { attempt, plan, .. } => {
                if let Err(why) = self.hub.presence.hold(self.membership.id, plan) {
                    let refused = Action::Executed {
                        generation: 0,
                        attempt: *attempt,
                        result: Err(crate::remediation::Failure::Failed(why)),
                        follow: None,
                    };
                    let _ = self.update(refused);
                    return;
                }
                self.announce(plan, "confirmed, running");
            }
            // Ad-hoc log streams: on the shared collection, numbered in this session's range.
            Effect::OpenLogs { .. } | Effect::PreviousLogs { .. } => {
                let kubernetes = self
                    .hub
                    .config
                    .targets
                    .get(self.target)
                    .and_then(|t| t.kubernetes.clone())
                    .unwrap_or_default();
                let reports = &self.hub.feed(self.target).reports;
                if let Some((source, task)) = adhoc_logs(&effect, kubernetes, reports) {
                    self.adhoc.insert(source, (self.target, task));
                }
                return;
            }
            Effect::CloseLogs { sources, .. } => {
                let sources = sources.clone();
                let mine: Vec<usize> = sources
                    .into_iter()
                    .filter(|s| self.adhoc.remove(s).is_some())
                    .collect();
                let feed = self.hub.feed(self.target);
                close_adhoc_logs(feed.generation, mine, feed.reports.clone());
                return;
            }
            // A cancelled or denied attempt lets its object go.
            Effect::AuditNote {
                attempt,
                plan,
                outcome,
                ..
            } if self.attempts.remove(attempt).is_some() => {
                self.hub.presence.release(self.membership.id, plan);
                self.announce(plan, crate::remediation::outcome_name(*outcome));
            }
            _ => {}
        }
        let flow = {
            let data = self.hub.feed(self.target).read();
            self.effects
                .execute_for(effect, Asker::of(&data, &self.view))
        };
        if flow == Flow::Quit {
            self.view.should_quit = true;
        }
    }

    /// Tells the target's other viewers how this session's remediation went, and lets its
    /// object go once it ran or failed.
    fn tell_news(&mut self, action: &Action) {
        let (attempt, stage, done) = match action {
            Action::Previewed {
                attempt, result, ..
            } => match result {
                Ok(_) => (*attempt, "dry run ok".to_string(), false),
                Err(e) => (*attempt, format!("dry run failed: {e}"), true),
            },
            Action::Executed {
                attempt, result, ..
            } => match result {
                Ok(summary) => (*attempt, format!("done: {summary}"), false),
                Err(e) => (*attempt, format!("failed: {e}"), true),
            },
            Action::Progress {
                attempt,
                progress: Progress { done, failed, .. },
                ..
            } => match (done, failed) {
                (true, _) => (*attempt, "rollout complete".to_string(), true),
                (_, Some(why)) => (*attempt, format!("rollout failed: {why}"), true),
                _ => return,
            },
            _ => return,
        };
        let Some(plan) = self.attempts.get(&attempt).map(|a| a.plan.clone()) else {
            return;
        };
        // Once executed the object is free again (a rollout being followed holds nothing).
        if done || matches!(action, Action::Executed { .. }) {
            self.hub.presence.release(self.membership.id, &plan);
        }
        if done {
            self.attempts.remove(&attempt);
        }
        self.announce(&plan, &stage);
    }

    fn announce(&self, plan: &Plan, stage: &str) {
        let text = format!("{}: {} — {stage}", self.name, headline(plan));
        self.hub.presence.tell(
            self.target,
            self.membership.id,
            crate::redact::redacted(&text),
        );
    }

    /// Draws the view into memory and returns the bytes that bring the client's screen there.
    fn draw(&mut self) -> Vec<u8> {
        let viewers = self.hub.presence.viewers(self.membership.id);
        self.view.served = Some(Served {
            viewers: viewers.len(),
            who: viewers,
        });
        {
            let data = self.hub.feed(self.target).read();
            self.view.prepare(&data);
            let screen = self.view.screen(&data);
            let theme = self.theme;
            let _ = self
                .terminal
                .draw(|frame| ui::render(frame, &screen, &theme));
        }
        std::mem::take(self.terminal.backend_mut().writer_mut())
    }
}

/// OSC 52: the client's terminal puts the text on its clipboard.
fn osc52(text: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}
