//! The remediation flow, as pure state: key -> plan -> preview -> confirm -> execute -> result.
//!
//! Every step that needs a backend is an `Effect`; its answer comes back as an `Action`. The
//! runtime writes the audit trail and refuses to execute when it cannot (fail closed).

use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::keymap::{self, Context, KeyChord, ModalCommand as M};
use super::pane::{PaneId, PodsMode};
use super::silence::{Field, FormOutcome, SilenceForm};
use super::{Data, DbRow, Effect, Screen, ToastLevel, View};
use crate::db::postgres::signal_rule;
use crate::remediation::plan::{self, Offer, Params, PlanContext, Selection, Verb};
use crate::remediation::{Failure, HistoryEntry, Outcome, Plan, Preview, Progress, WorkloadKind};

/// Longest replica count accepted from the scale input.
const MAX_REPLICAS: u32 = 10_000;

/// The remediation modal on screen.
#[derive(Debug)]
pub struct Modal {
    pub attempt: u64,
    pub stage: Stage,
}

/// Where the flow is.
#[derive(Debug)]
pub enum Stage {
    /// Rollout undo: pick a revision.
    History {
        namespace: String,
        name: String,
        selection: Selection,
        revisions: Option<Result<Vec<HistoryEntry>, String>>,
        selected: usize,
    },
    /// Restart operator, with several configured: pick one (name, namespace, selector).
    Operators {
        operators: Vec<(String, String, String)>,
        selected: usize,
    },
    /// Scale: type the replica count.
    Scale {
        selection: Selection,
        name: String,
        current: u32,
        input: TextArea<'static>,
        error: Option<String>,
    },
    /// Silence: the matchers, the duration, the comment.
    Silence {
        selection: Selection,
        /// Boxed: the form's text areas would make every stage as large.
        form: Box<SilenceForm>,
    },
    /// Expire, with several silences muting the alert: pick one.
    PickSilence {
        selection: Selection,
        silences: Vec<(String, String)>,
        selected: usize,
    },
    /// The plan, its preview and the question. No is focused.
    Confirm {
        plan: Box<Plan>,
        /// For delete pod: the selection, so `F` can re-plan as a forced delete.
        selection: Selection,
        preview: PreviewState,
        /// Protected targets: the object's name must be typed here first.
        typed: Option<TextArea<'static>>,
        /// Yes is focused (Tab / arrows); Enter activates the focused button.
        yes_focused: bool,
        /// The first entry shown of the preview's list (sessions or lines), when it is longer
        /// than the dialog.
        scroll: usize,
        /// How many entries of the list the last frame showed (0 before the first): set by
        /// the drawing, which alone knows the room, so scrolling stops at the last page.
        shown: std::cell::Cell<usize>,
    },
}

impl Stage {
    /// The key context of this stage: a picker, the confirmation's buttons, or a text input
    /// (scale's count, a protected target's name, where letters are text).
    pub fn key_context(&self) -> Context {
        match self {
            Self::History { .. } | Self::Operators { .. } | Self::PickSilence { .. } => {
                Context::Pick
            }
            Self::Silence { .. } => Context::Form,
            Self::Scale { .. } | Self::Confirm { typed: Some(_), .. } => Context::Input,
            Self::Confirm { typed: None, .. } => Context::Confirm,
        }
    }
}

/// The preview as far as it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewState {
    Loading,
    Ready(Preview),
    /// The dry run or read-only query failed: nothing can be executed.
    Failed(String),
    /// The preview is fine but the audit record could not be written: fail closed.
    AuditFailed {
        preview: Preview,
        error: String,
    },
}

impl PreviewState {
    /// The preview, once there is one (an audit failure keeps it on screen).
    pub fn preview(&self) -> Option<&Preview> {
        match self {
            Self::Ready(preview) | Self::AuditFailed { preview, .. } => Some(preview),
            Self::Loading | Self::Failed(_) => None,
        }
    }

    /// How many entries the dialog's list has: the sessions a PostgreSQL action would hit, or
    /// the preview's detail lines.
    pub fn list_len(&self) -> usize {
        self.preview().map_or(0, |p| {
            if p.sessions.is_empty() {
                p.lines.len()
            } else {
                p.sessions.len()
            }
        })
    }
}

/// A remediation executing in the background, or a rollout being followed after one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub attempt: u64,
    pub verb: Verb,
    pub label: String,
    pub started: SystemTime,
    /// Set once executed: the rollout is being followed.
    pub following: Option<Following>,
}

/// A rollout being followed after a remediation: which one, then kubectl's latest news of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Following {
    Started(crate::remediation::Rollout),
    News(String),
}

impl<'a> Screen<'a> {
    /// What the cursor is on, for the planner.
    pub fn selection(&self) -> Selection {
        // A YAML view shows an object; it offers nothing to do to it.
        if self.view.panes[self.view.focus.index()].yaml.is_some() {
            return Selection::Nothing;
        }
        match self.view.focus {
            PaneId::Pods if self.pane_shows_data(PaneId::Pods) => self.pods_selection(),
            PaneId::Db if self.pane_shows_data(PaneId::Db) => self.db_selection(),
            PaneId::Claims
                if self.pane_shows_data(PaneId::Claims) && self.row_count(PaneId::Claims) > 0 =>
            {
                Selection::Claim
            }
            PaneId::Slo if self.pane_shows_data(PaneId::Slo) => self.alert_selection(),
            _ => Selection::Nothing,
        }
    }

    fn pods_selection(&self) -> Selection {
        let view = &self.view.panes[PaneId::Pods.index()];
        let kube = self.visible_kube();
        if view.mode == PodsMode::Deployments {
            return self
                .view
                .visible
                .deployments
                .get(view.selected)
                .and_then(|k| kube.deployments.get(k))
                .map_or(Selection::Nothing, |d| Selection::Deployment {
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                    replicas: d.desired,
                });
        }
        let Some(pod) = self.selected_pod() else {
            return Selection::Nothing;
        };
        let deployment = pod
            .owner
            .as_deref()
            .and_then(|o| o.strip_prefix("ReplicaSet/"))
            .and_then(|rs| {
                kube.replicasets
                    .get(&(pod.namespace.clone(), rs.to_string()))
            })
            .and_then(|rs| rs.deployment.clone());
        let deployment_replicas = deployment.as_ref().and_then(|name| {
            kube.deployments
                .get(&(pod.namespace.clone(), name.clone()))
                .map(|d| d.desired)
        });
        let other_owner = pod.owner.as_deref().and_then(|o| {
            let (kind, name) = o.split_once('/')?;
            let kind = match kind {
                "StatefulSet" => WorkloadKind::StatefulSet,
                "DaemonSet" => WorkloadKind::DaemonSet,
                _ => return None,
            };
            Some((kind, name.to_string()))
        });
        Selection::Pod {
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            deployment,
            deployment_replicas,
            other_owner,
        }
    }

    /// The alert group under the cursor of the SLO pane (list or its detail), with the
    /// matchers a silence of it starts from and the silences that mute it now.
    fn alert_selection(&self) -> Selection {
        let selected = self.view.panes[PaneId::Slo.index()].selected;
        let Some(super::SloRow::Alert(data, group)) = self.slo_rows().get(selected).copied() else {
            return Selection::Nothing;
        };
        let members: Vec<&crate::alerts::Alert> = data.members(group).collect();
        let mut silences: Vec<(String, String)> = Vec::new();
        for alert in &members {
            for silence in data.report.silences_of(alert) {
                if silences.iter().any(|(id, _)| *id == silence.id) {
                    continue;
                }
                let until = silence
                    .ends_at
                    .map_or_else(|| "?".to_string(), crate::timestamp::rfc3339_system);
                let text = format!(
                    "by {} until {until}: {}",
                    silence.created_by, silence.comment
                );
                silences.push((silence.id.clone(), crate::text::sanitize(&text)));
            }
        }
        Selection::Alert(plan::AlertSelection {
            name: group.name.clone(),
            matchers: crate::alerts::silence_matchers(&members),
            silences,
            alertmanager: data.report.origin == crate::alerts::AlertOrigin::Alertmanager,
        })
    }

    fn db_selection(&self) -> Selection {
        let view = &self.view.panes[PaneId::Db.index()];
        let db = self.visible_db();
        match self.selected_db() {
            Some(DbRow::Postgres(entry)) => {
                let Some(status) = db.postgres.get(&entry) else {
                    return Selection::Nothing;
                };
                let idle = plan::idle_sweep(status);
                let database = status.name.clone();
                match self.selected_session() {
                    Some(session) if view.detail_open => Selection::Session {
                        entry,
                        database,
                        pid: session.pid,
                        // The one rule, on what the latest refresh read: disabled before any
                        // dialog, with the reason, when the console's role may not do it.
                        signal: signal_rule(&status.sample, session).map_err(|r| r.to_string()),
                        idle,
                    },
                    _ => Selection::Database {
                        entry,
                        database,
                        idle,
                    },
                }
            }
            Some(DbRow::Redis(entry)) => {
                let Some(status) = db.redis.get(&entry) else {
                    return Selection::Nothing;
                };
                match status.clients.get(view.detail_scroll) {
                    Some(client) if view.detail_open => Selection::RedisClient {
                        entry,
                        cache: status.name.clone(),
                        id: client.id,
                    },
                    _ => Selection::Cache {
                        entry,
                        cache: status.name.clone(),
                    },
                }
            }
            None => Selection::Nothing,
        }
    }

    /// [`Self::plan_context`] with the HPA that scales `selection`'s deployment, if any: the
    /// scale preview says the HPA will override the count.
    pub fn plan_context_for(&self, selection: &Selection) -> PlanContext {
        let mut ctx = self.plan_context();
        let (namespace, name) = match selection {
            Selection::Deployment {
                namespace, name, ..
            }
            | Selection::Pod {
                namespace,
                deployment: Some(name),
                ..
            } => (namespace, name),
            _ => return ctx,
        };
        let hpas = self.visible_kube().hpas.values();
        if let Some(hpa) =
            watchfloor_core::platform::hpa::hpa_for(hpas, "Deployment", namespace, name)
        {
            ctx.autoscaled.insert(
                (namespace.clone(), name.clone()),
                format!(
                    "hpa/{} scales it between {} and {} replicas",
                    hpa.name, hpa.min_replicas, hpa.max_replicas
                ),
            );
        }
        ctx
    }

    /// What the planner needs besides the selection.
    pub fn plan_context(&self) -> PlanContext {
        let target = self.target();
        PlanContext {
            target: self.target_name().to_string(),
            protected: target.is_some_and(|t| t.protected),
            read_only: self.view.policy.check_mutation_allowed("remediation").err(),
            kube_context: self.shown().kube_context.clone(),
            operators: target
                .map(|t| {
                    t.operators
                        .iter()
                        .map(|o| (o.name.clone(), o.namespace.clone(), o.selector.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            permission: self.view.access.view(),
            // Filled for the selection being planned (`plan_context_for`), not per frame.
            autoscaled: Default::default(),
        }
    }
}

impl View {
    /// The access reviews the selected row's offers need that the cache cannot answer (never
    /// asked, or answered a minute ago or more), as one effect; none when nothing is needed
    /// (read-only mode, a row without Kubernetes remediations) or all is fresh or in flight.
    pub fn ask_access(&mut self, data: &Data) -> Vec<Effect> {
        let screen = self.screen(data);
        if screen.target().is_none_or(|t| t.kubernetes.is_none()) {
            return vec![];
        }
        let needed = plan::access_checks(&screen.selection(), &screen.plan_context());
        if needed.is_empty() {
            return vec![];
        }
        let checks = self.access.to_ask(&needed, self.now);
        if checks.is_empty() {
            return vec![];
        }
        vec![Effect::CheckPermissions {
            generation: data.generation,
            target_index: data.target_index,
            checks,
        }]
    }

    fn next_attempt(&mut self) -> u64 {
        self.attempts += 1;
        self.attempts
    }

    /// A remediation key was pressed.
    pub(super) fn remediate(&mut self, data: &Data, verb: Verb) -> Vec<Effect> {
        let selection = self.screen(data).selection();
        let ctx = self.screen(data).plan_context();
        let offer = plan::offers(&selection, &ctx)
            .into_iter()
            .find(|o| o.verb == verb);
        match offer {
            None => {
                if ctx.read_only.is_none() {
                    self.toast(
                        ToastLevel::Info,
                        format!("{} does not apply to this row", verb.label()),
                    );
                }
                vec![]
            }
            Some(Offer {
                enabled: Err(reason),
                ..
            }) => {
                self.toast(
                    ToastLevel::Error,
                    format!("{}: not possible: {reason}", verb.label()),
                );
                let attempt = self.next_attempt();
                self.screen(data).audit_note(
                    attempt,
                    verb,
                    &selection,
                    Outcome::Denied,
                    Some(reason),
                )
            }
            Some(Offer {
                enabled: Ok(()), ..
            }) => match verb {
                Verb::Undo => self.open_history(data, selection),
                Verb::Scale => self.open_scale(data, selection),
                Verb::Silence => {
                    let Selection::Alert(alert) = &selection else {
                        return vec![];
                    };
                    let form = Box::new(SilenceForm::new(alert.matchers.clone()));
                    let attempt = self.next_attempt();
                    self.modal = Some(Modal {
                        attempt,
                        stage: Stage::Silence { selection, form },
                    });
                    vec![]
                }
                Verb::Expire => match &selection {
                    Selection::Alert(alert) if alert.silences.len() > 1 => {
                        let silences = alert.silences.clone();
                        let attempt = self.next_attempt();
                        self.modal = Some(Modal {
                            attempt,
                            stage: Stage::PickSilence {
                                selection,
                                silences,
                                selected: 0,
                            },
                        });
                        vec![]
                    }
                    _ => self.plan_and_preview(data, verb, selection, &Params::default()),
                },
                Verb::RestartOperator if ctx.operators.len() > 1 => {
                    let attempt = self.next_attempt();
                    self.modal = Some(Modal {
                        attempt,
                        stage: Stage::Operators {
                            operators: ctx.operators,
                            selected: 0,
                        },
                    });
                    vec![]
                }
                _ => self.plan_and_preview(data, verb, selection, &Params::default()),
            },
        }
    }

    fn open_history(&mut self, data: &Data, selection: Selection) -> Vec<Effect> {
        let (namespace, name) = match &selection {
            Selection::Deployment {
                namespace, name, ..
            } => (namespace.clone(), name.clone()),
            Selection::Pod {
                namespace,
                deployment: Some(name),
                ..
            } => (namespace.clone(), name.clone()),
            _ => return vec![],
        };
        let attempt = self.next_attempt();
        self.modal = Some(Modal {
            attempt,
            stage: Stage::History {
                namespace: namespace.clone(),
                name: name.clone(),
                selection,
                revisions: None,
                selected: 0,
            },
        });
        vec![Effect::LoadHistory {
            generation: data.generation,
            attempt,
            namespace,
            name,
        }]
    }

    fn open_scale(&mut self, data: &Data, selection: Selection) -> Vec<Effect> {
        let (name, current) = match &selection {
            Selection::Deployment { name, replicas, .. } => (name.clone(), *replicas),
            Selection::Pod {
                namespace,
                deployment: Some(name),
                ..
            } => {
                let current = self
                    .screen(data)
                    .visible_kube()
                    .deployments
                    .get(&(namespace.clone(), name.clone()))
                    .map_or(0, |d| d.desired);
                (name.clone(), current)
            }
            _ => return vec![],
        };
        let mut input = TextArea::new(vec![current.to_string()]);
        input.set_cursor_line_style(ratatui::style::Style::default());
        // The current count is selected: the first digit typed replaces it, arrows keep it.
        input.set_selection_style(
            ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::REVERSED),
        );
        input.select_all();
        let attempt = self.next_attempt();
        self.modal = Some(Modal {
            attempt,
            stage: Stage::Scale {
                selection,
                name,
                current,
                input,
                error: None,
            },
        });
        vec![]
    }

    fn plan_and_preview(
        &mut self,
        data: &Data,
        verb: Verb,
        selection: Selection,
        params: &Params,
    ) -> Vec<Effect> {
        let ctx = self.screen(data).plan_context_for(&selection);
        let planned = plan::plan(verb, &selection, params, &ctx);
        let attempt = match self.modal.as_ref() {
            Some(m) => m.attempt,
            None => self.next_attempt(),
        };
        match planned {
            Err(reason) => {
                self.modal = None;
                self.toast(ToastLevel::Error, format!("{}: {reason}", verb.label()));
                self.screen(data).audit_note(
                    attempt,
                    verb,
                    &selection,
                    Outcome::Denied,
                    Some(reason),
                )
            }
            Ok(plan) => {
                let typed = plan.confirm_text.as_ref().map(|_| {
                    let mut input = TextArea::default();
                    input.set_cursor_line_style(ratatui::style::Style::default());
                    input
                });
                let plan = Box::new(plan);
                self.modal = Some(Modal {
                    attempt,
                    stage: Stage::Confirm {
                        plan: plan.clone(),
                        selection,
                        preview: PreviewState::Loading,
                        typed,
                        yes_focused: false,
                        scroll: 0,
                        shown: std::cell::Cell::new(0),
                    },
                });
                vec![Effect::Preview {
                    generation: data.generation,
                    attempt,
                    plan,
                }]
            }
        }
    }

    /// Keys while the modal is open: it takes every key (Ctrl-C still quits). What a key does
    /// is the keymap's answer for the stage's context; in a text input, keys it does not bind
    /// are typed.
    pub(super) fn on_modal_key(&mut self, data: &Data, key: KeyEvent) -> Vec<Effect> {
        let Some(modal) = self.modal.as_mut() else {
            return vec![];
        };
        let command = KeyChord::from_event(&key)
            .and_then(|chord| self.keymap.lookup_modal(modal.stage.key_context(), chord));
        match &mut modal.stage {
            Stage::History {
                selection,
                revisions,
                selected,
                ..
            } => {
                let count = revisions
                    .as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, Vec::len);
                match command {
                    Some(M::PickCancel) => return self.cancel_modal(data),
                    Some(M::PickPrev) => *selected = selected.saturating_sub(1),
                    Some(M::PickNext) => {
                        *selected = (*selected + 1).min(count.saturating_sub(1));
                    }
                    Some(M::Pick) => {
                        let Some(Ok(list)) = revisions.as_ref() else {
                            return vec![];
                        };
                        let Some(entry) = list.get(*selected) else {
                            return vec![];
                        };
                        if entry.current {
                            let text = format!("revision {} is the current one", entry.revision);
                            self.toast(ToastLevel::Info, text);
                            return vec![];
                        }
                        let params = Params {
                            to_revision: entry.revision,
                            ..Params::default()
                        };
                        let selection = selection.clone();
                        return self.plan_and_preview(data, Verb::Undo, selection, &params);
                    }
                    _ => {}
                }
                vec![]
            }
            Stage::Operators {
                operators,
                selected,
            } => match command {
                Some(M::PickCancel) => self.cancel_modal(data),
                Some(M::PickPrev) => {
                    *selected = selected.saturating_sub(1);
                    vec![]
                }
                Some(M::PickNext) => {
                    *selected = (*selected + 1).min(operators.len().saturating_sub(1));
                    vec![]
                }
                Some(M::Pick) => {
                    let params = Params {
                        operator: *selected,
                        ..Params::default()
                    };
                    self.plan_and_preview(data, Verb::RestartOperator, Selection::Claim, &params)
                }
                _ => vec![],
            },
            Stage::PickSilence {
                selection,
                silences,
                selected,
            } => match command {
                Some(M::PickCancel) => self.cancel_modal(data),
                Some(M::PickPrev) => {
                    *selected = selected.saturating_sub(1);
                    vec![]
                }
                Some(M::PickNext) => {
                    *selected = (*selected + 1).min(silences.len().saturating_sub(1));
                    vec![]
                }
                Some(M::Pick) => {
                    let params = Params {
                        silence_index: *selected,
                        ..Params::default()
                    };
                    let selection = selection.clone();
                    self.plan_and_preview(data, Verb::Expire, selection, &params)
                }
                _ => vec![],
            },
            Stage::Silence { selection, form } => {
                // In a text field, the keys that edit text are typed, whatever the form binds
                // them to; in the duration field, Left/Right pick even while a custom one is typed.
                let edits_text = matches!(form.field, Field::Add | Field::Comment)
                    && matches!(
                        command,
                        Some(M::FormRemove | M::FormPrevChoice | M::FormNextChoice)
                    );
                match command {
                    Some(M::FormCancel) => self.cancel_modal(data),
                    Some(command) if !edits_text => match form.command(command) {
                        FormOutcome::Editing => vec![],
                        FormOutcome::Submit(silence) => {
                            let params = Params {
                                silence: Some(silence),
                                ..Params::default()
                            };
                            let selection = selection.clone();
                            self.plan_and_preview(data, Verb::Silence, selection, &params)
                        }
                    },
                    _ if keymap::edits_single_line(&key) => {
                        form.type_key(key);
                        vec![]
                    }
                    _ => vec![],
                }
            }
            Stage::Scale {
                selection,
                input,
                error,
                ..
            } => match command {
                Some(M::InputCancel) => self.cancel_modal(data),
                Some(M::InputSubmit) => {
                    let text = input.lines().first().cloned().unwrap_or_default();
                    match text.trim().parse::<u32>() {
                        Ok(n) if n <= MAX_REPLICAS => {
                            let params = Params {
                                replicas: Some(n),
                                ..Params::default()
                            };
                            let selection = selection.clone();
                            self.plan_and_preview(data, Verb::Scale, selection, &params)
                        }
                        _ => {
                            *error = Some(format!(
                                "a replica count from 0 to {MAX_REPLICAS}, not {:?}",
                                crate::text::sanitize(text.trim())
                            ));
                            vec![]
                        }
                    }
                }
                // The field takes digits and editing keys only.
                _ => match key.code {
                    KeyCode::Char(c) if c.is_ascii_digit() => {
                        input.input(key);
                        *error = None;
                        vec![]
                    }
                    KeyCode::Backspace
                    | KeyCode::Delete
                    | KeyCode::Left
                    | KeyCode::Right
                    | KeyCode::Home
                    | KeyCode::End => {
                        input.input(key);
                        vec![]
                    }
                    _ => vec![],
                },
            },
            Stage::Confirm {
                plan,
                selection,
                preview,
                typed,
                yes_focused,
                scroll,
                shown,
            } => {
                let ready = matches!(preview, PreviewState::Ready(_));
                // The first entry of the last page (the last entry before any frame).
                let last = preview.list_len().saturating_sub(shown.get().max(1));
                if let Some(input) = typed {
                    // Protected target: keys go to the name input; submitting confirms when it
                    // matches.
                    return match command {
                        Some(M::InputCancel) => self.cancel_modal(data),
                        Some(M::InputScrollDown) => {
                            *scroll = (*scroll + 1).min(last);
                            vec![]
                        }
                        Some(M::InputScrollUp) => {
                            *scroll = scroll.saturating_sub(1);
                            vec![]
                        }
                        Some(M::InputSubmit) => {
                            let matches = input.lines().first().map(String::as_str)
                                == plan.confirm_text.as_deref();
                            if matches && ready {
                                return self.execute_modal(data);
                            }
                            vec![]
                        }
                        _ if !keymap::edits_single_line(&key) => vec![],
                        _ => {
                            input.input(key);
                            vec![]
                        }
                    };
                }
                match command {
                    Some(M::Cancel) => self.cancel_modal(data),
                    Some(M::Confirm) if ready => self.execute_modal(data),
                    Some(M::ForceDelete)
                        if matches!(
                            plan.action,
                            crate::remediation::ActionKind::DeletePod { force: false, .. }
                        ) =>
                    {
                        // Force is an explicit second choice: the graceful attempt ends (cancelled)
                        // and a new attempt with its own plan and preview begins, so a late
                        // graceful preview cannot land on the forced dialog.
                        let selection = selection.clone();
                        let params = Params {
                            force: true,
                            ..Params::default()
                        };
                        let mut effects = self.close_modal(data, false);
                        effects.extend(self.plan_and_preview(
                            data,
                            Verb::DeletePod,
                            selection,
                            &params,
                        ));
                        effects
                    }
                    Some(M::SwitchButton) => {
                        *yes_focused = !*yes_focused && ready;
                        vec![]
                    }
                    Some(M::PreviewDown) => {
                        *scroll = (*scroll + 1).min(last);
                        vec![]
                    }
                    Some(M::PreviewUp) => {
                        *scroll = scroll.saturating_sub(1);
                        vec![]
                    }
                    Some(M::PressButton) if *yes_focused && ready => self.execute_modal(data),
                    Some(M::PressButton) => self.cancel_modal(data),
                    _ => vec![],
                }
            }
        }
    }

    /// The operator backed out: the dialog closes, its attempt ends (cancelled) and a toast says
    /// nothing was done.
    fn cancel_modal(&mut self, data: &Data) -> Vec<Effect> {
        self.close_modal(data, true)
    }

    /// Closes the dialog and ends its attempt as cancelled; `tell` says so in a toast (not when
    /// a new attempt follows at once, as a forced delete after a graceful one).
    fn close_modal(&mut self, data: &Data, tell: bool) -> Vec<Effect> {
        let Some(modal) = self.modal.take() else {
            return vec![];
        };
        let plan = match modal.stage {
            Stage::History { selection, .. } => plan::describe(
                Verb::Undo,
                &selection,
                &Params::default(),
                &self.screen(data).plan_context(),
            ),
            Stage::Scale {
                selection, current, ..
            } => {
                let params = Params {
                    replicas: Some(current),
                    ..Params::default()
                };
                plan::describe(
                    Verb::Scale,
                    &selection,
                    &params,
                    &self.screen(data).plan_context_for(&selection),
                )
            }
            // A failed dry run already ended the attempt in the trail (`failed`): closing its
            // dialog is not a second outcome.
            Stage::Confirm {
                plan,
                preview: PreviewState::Failed(_),
                ..
            } => {
                if tell {
                    self.toast(ToastLevel::Info, aborted(&plan));
                }
                return vec![];
            }
            Stage::Confirm { plan, .. } => Ok(*plan),
            Stage::Operators { selected, .. } => {
                let params = Params {
                    operator: selected,
                    ..Params::default()
                };
                plan::describe(
                    Verb::RestartOperator,
                    &Selection::Claim,
                    &params,
                    &self.screen(data).plan_context(),
                )
            }
            Stage::Silence { selection, .. } => plan::describe(
                Verb::Silence,
                &selection,
                &Params::default(),
                &self.screen(data).plan_context(),
            ),
            Stage::PickSilence {
                selection,
                selected,
                ..
            } => plan::describe(
                Verb::Expire,
                &selection,
                &Params {
                    silence_index: selected,
                    ..Params::default()
                },
                &self.screen(data).plan_context(),
            ),
        };
        let Ok(plan) = plan else { return vec![] };
        if tell {
            self.toast(ToastLevel::Info, aborted(&plan));
        }
        vec![Effect::AuditNote {
            attempt: modal.attempt,
            plan: Box::new(plan),
            outcome: Outcome::Cancelled,
            error: None,
        }]
    }

    fn execute_modal(&mut self, data: &Data) -> Vec<Effect> {
        let Some(Modal {
            attempt,
            stage:
                Stage::Confirm {
                    plan,
                    preview: PreviewState::Ready(_),
                    ..
                },
        }) = self.modal.take()
        else {
            return vec![];
        };
        // The planner's check again, at the moment of truth: read-only may have been turned on
        // by a target switch, and the executor checks once more.
        if let Err(reason) = self.policy.check_mutation_allowed("remediation") {
            self.toast(ToastLevel::Error, reason.clone());
            return vec![Effect::AuditNote {
                attempt,
                plan,
                outcome: Outcome::Denied,
                error: Some(reason),
            }];
        }
        self.running.push(Running {
            attempt,
            verb: verb_of(&plan.action),
            label: format!("{} {}", verb_of(&plan.action).label(), plan.object),
            started: self.now,
            following: None,
        });
        vec![Effect::Execute {
            generation: data.generation,
            attempt,
            plan,
        }]
    }

    /// The revisions for the undo picker arrived.
    pub(super) fn on_history(&mut self, attempt: u64, result: Result<Vec<HistoryEntry>, String>) {
        if let Some(Modal {
            attempt: open,
            stage:
                Stage::History {
                    revisions,
                    selected,
                    ..
                },
        }) = self.modal.as_mut()
            && *open == attempt
        {
            // Start on the newest revision that is not the current one (kubectl's default).
            *selected = result
                .as_ref()
                .ok()
                .and_then(|list| list.iter().position(|e| !e.current))
                .unwrap_or(0);
            *revisions = Some(result);
        }
    }

    /// The dry run answered (and the `planned` audit line was or was not written).
    pub(super) fn on_preview(
        &mut self,
        attempt: u64,
        result: Result<Preview, String>,
        audit: Result<(), String>,
    ) {
        if let Some(Modal {
            attempt: open,
            stage: Stage::Confirm { preview, .. },
        }) = self.modal.as_mut()
            && *open == attempt
        {
            *preview = match (result, audit) {
                (Err(e), _) => PreviewState::Failed(e),
                (Ok(p), Err(e)) => PreviewState::AuditFailed {
                    preview: p,
                    error: e,
                },
                (Ok(p), Ok(())) => PreviewState::Ready(p),
            };
        }
    }

    /// An execution finished.
    pub(super) fn on_executed(
        &mut self,
        attempt: u64,
        result: Result<String, Failure>,
        follow: Option<crate::remediation::Rollout>,
    ) {
        match result {
            Ok(summary) => {
                self.toast(ToastLevel::Info, format!("done: {summary}"));
                match follow {
                    Some(what) => {
                        if let Some(r) = self.running.iter_mut().find(|r| r.attempt == attempt) {
                            r.following = Some(Following::Started(what));
                        }
                    }
                    None => self.running.retain(|r| r.attempt != attempt),
                }
            }
            Err(failure) => {
                let verb = self
                    .running
                    .iter()
                    .find(|r| r.attempt == attempt)
                    .map(|r| r.verb);
                self.running.retain(|r| r.attempt != attempt);
                let text = match &failure {
                    // Alertmanager (or its proxy) refused a silence write: silencing and
                    // expiring are offered disabled with its reason from now on.
                    Failure::Forbidden(why)
                        if matches!(verb, Some(Verb::Silence | Verb::Expire)) =>
                    {
                        let check = watchfloor_core::remediation::access::silences_write();
                        self.access
                            .answered(vec![(check, Err(failure.clone()))], self.now);
                        format!("failed: {why}")
                    }
                    Failure::ReadOnly(why) => format!("not run: {why}"),
                    // Its Display says it was not run, and why.
                    Failure::AuditUnavailable(_) => failure.to_string(),
                    // The cached access answers said yes: ask the cluster again.
                    Failure::Forbidden(why) => {
                        self.access.expire();
                        format!("failed: {why}")
                    }
                    Failure::Failed(why) => format!("failed: {why}"),
                };
                self.toast(ToastLevel::Error, text);
            }
        }
    }

    /// News of a rollout followed after a remediation.
    pub(super) fn on_progress(&mut self, attempt: u64, progress: Progress) {
        let Some(running) = self.running.iter_mut().find(|r| r.attempt == attempt) else {
            return;
        };
        if let Some(reason) = &progress.failed {
            let text = format!("rollout of {}: {reason}", running.label);
            self.running.retain(|r| r.attempt != attempt);
            self.toast(ToastLevel::Error, text);
        } else if progress.done {
            let text = format!("rollout complete: {}", progress.message);
            self.running.retain(|r| r.attempt != attempt);
            self.toast(ToastLevel::Info, text);
        } else {
            running.following = Some(Following::News(progress.message));
        }
    }
}

/// What the operator is told when they back out of a dialog: the verb, its object and target,
/// and that nothing ran.
fn aborted(plan: &Plan) -> String {
    format!(
        "aborted {} of {} on {}: nothing was done",
        verb_text(&plan.action),
        plan.object,
        plan.target
    )
}

/// The verb as the dialog's title says it: `force delete pod` for a forced deletion.
pub fn verb_text(action: &crate::remediation::ActionKind) -> &'static str {
    match action {
        crate::remediation::ActionKind::DeletePod { force: true, .. } => "force delete pod",
        action => verb_of(action).label(),
    }
}

/// The verb of a planned action.
pub fn verb_of(action: &crate::remediation::ActionKind) -> Verb {
    use crate::remediation::ActionKind as A;
    match action {
        A::RolloutRestart { .. } => Verb::Restart,
        A::RolloutUndo { .. } => Verb::Undo,
        A::Scale { .. } => Verb::Scale,
        A::DeletePod { .. } => Verb::DeletePod,
        A::RestartOperator { .. } => Verb::RestartOperator,
        A::PgCancel { .. } => Verb::Cancel,
        A::PgTerminate { .. } | A::RedisKill { .. } => Verb::Kill,
        A::PgTerminateIdle { .. } => Verb::KillIdle,
        A::Silence { .. } => Verb::Silence,
        A::ExpireSilence { .. } => Verb::Expire,
    }
}

impl Screen<'_> {
    /// The remediations offered for the current selection (feeds key hints and help).
    pub fn offers(&self) -> Vec<Offer> {
        plan::offers(&self.selection(), &self.plan_context())
    }

    /// The audit line of an attempt that ended before it was executed.
    fn audit_note(
        &self,
        attempt: u64,
        verb: Verb,
        selection: &Selection,
        outcome: Outcome,
        error: Option<String>,
    ) -> Vec<Effect> {
        let params = match selection {
            Selection::Deployment { replicas, .. } => Params {
                replicas: Some(*replicas),
                ..Params::default()
            },
            _ => Params {
                replicas: Some(0),
                ..Params::default()
            },
        };
        match plan::describe(verb, selection, &params, &self.plan_context_for(selection)) {
            Ok(plan) => vec![Effect::AuditNote {
                attempt,
                plan: Box::new(plan),
                outcome,
                error,
            }],
            // Nothing that could be named was attempted.
            Err(_) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::app::{Action, App};
    use crate::data::KubeUpdate;
    use crate::policy::ReadOnlyInputs;

    /// A target with two operators and a stuck claim under the cursor, with `keys` as its
    /// `[ui.keys]`.
    fn app(keys: &str) -> App {
        let text = format!(
            r#"
[ui.keys]
{keys}

[[targets]]
name = "babylon"
[targets.kubernetes]
[[targets.claims]]
source = "crd"
group = "poolboy.gpte.redhat.com"
version = "v1"
kind = "ResourceClaim"
plural = "resourceclaims"
[[targets.operators]]
name = "anarchy"
namespace = "anarchy-operator"
selector = "app=anarchy-operator"
[[targets.operators]]
name = "poolboy"
namespace = "poolboy"
selector = "app=poolboy"
"#
        );
        let config = crate::config::parse(std::path::Path::new("test.toml"), &text).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut app = App::new(
            Arc::new(config),
            "test.toml".into(),
            0,
            ReadOnlyInputs::default(),
            now,
        );
        let row = crate::model::claims::ClaimRow {
            source: "resourceclaims".into(),
            namespace: Some("user-a".into()),
            name: "lab-1".into(),
            state: "provisioning".into(),
            since: Some(now),
            stuck: true,
            why: "provisioning for 3h".into(),
            health: crate::model::Health::Crit,
            detail: None,
        };
        app.update(Action::Backend(crate::event::SourceEvent::Kube {
            generation: app.data.generation,
            update: KubeUpdate::Claims {
                source: 0,
                rows: vec![row],
            },
        }));
        app.prepare_view();
        assert!(
            app.view.keymap.warnings.is_empty(),
            "{:?}",
            app.view.keymap.warnings
        );
        app
    }

    fn press(app: &mut App, codes: &[KeyCode]) -> Vec<Effect> {
        codes
            .iter()
            .flat_map(|code| app.update(Action::Key(KeyEvent::from(*code))))
            .collect()
    }

    fn picking(app: &App) -> Option<usize> {
        match app.view.modal.as_ref().map(|m| &m.stage) {
            Some(Stage::Operators { selected, .. }) => Some(*selected),
            _ => None,
        }
    }

    #[test]
    fn picker_keys_are_the_keymaps() {
        let mut app = app("");
        press(&mut app, &[KeyCode::Char('4'), KeyCode::Char('R')]);
        assert_eq!(picking(&app), Some(0));
        press(&mut app, &[KeyCode::Char('j')]);
        assert_eq!(picking(&app), Some(1));
        press(&mut app, &[KeyCode::Up]);
        assert_eq!(picking(&app), Some(0));
        press(&mut app, &[KeyCode::Char('q')]);
        assert_eq!(picking(&app), None, "q cancels by default");
    }

    fn confirm_scroll(app: &App) -> Option<usize> {
        match app.view.modal.as_ref().map(|m| &m.stage) {
            Some(Stage::Confirm { scroll, .. }) => Some(*scroll),
            _ => None,
        }
    }

    #[test]
    fn the_confirmation_list_scrolls_within_its_entries() {
        let mut app = app("");
        press(
            &mut app,
            &[KeyCode::Char('4'), KeyCode::Char('R'), KeyCode::Enter],
        );
        assert_eq!(confirm_scroll(&app), Some(0));
        // Nothing to scroll before the dry run answers.
        press(&mut app, &[KeyCode::Char('j')]);
        assert_eq!(confirm_scroll(&app), Some(0));
        let attempt = app.view.modal.as_ref().map(|m| m.attempt).unwrap();
        app.update(Action::Previewed {
            generation: app.data.generation,
            attempt,
            result: Ok(Preview {
                summary: "3 pods would be deleted and recreated".into(),
                lines: vec!["pod a".into(), "pod b".into(), "pod c".into()],
                ..Preview::default()
            }),
            audit: Ok(()),
        });
        press(&mut app, &[KeyCode::Char('j'), KeyCode::Down]);
        assert_eq!(confirm_scroll(&app), Some(2));
        press(&mut app, &[KeyCode::Char('j')]);
        assert_eq!(confirm_scroll(&app), Some(2), "stops at the last entry");
        press(&mut app, &[KeyCode::Char('k'), KeyCode::Up, KeyCode::Up]);
        assert_eq!(confirm_scroll(&app), Some(0));
        // n aborts, and says what was not done.
        press(&mut app, &[KeyCode::Char('n')]);
        assert!(app.view.modal.is_none());
        assert_eq!(
            app.view.toasts.last().map(|t| t.text.as_str()),
            Some(
                "aborted restart operator of operator anarchy: pods app=anarchy-operator on \
                 babylon: nothing was done"
            )
        );
    }

    #[test]
    fn rebound_picker_keys_replace_the_defaults() {
        let mut app = app("pick = \"space\"\npick_next = \"l\"\npick_cancel = \"x\"");
        press(&mut app, &[KeyCode::Char('4'), KeyCode::Char('R')]);
        press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('l')]);
        assert_eq!(picking(&app), Some(1), "j moves no more, l does");
        // The old keys do nothing: Enter does not pick, Esc and q do not cancel.
        let effects = press(
            &mut app,
            &[KeyCode::Enter, KeyCode::Esc, KeyCode::Char('q')],
        );
        assert!(effects.iter().all(|e| !matches!(e, Effect::Preview { .. })));
        assert_eq!(picking(&app), Some(1));
        let effects = press(&mut app, &[KeyCode::Char(' ')]);
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Preview { .. })),
            "{effects:?}"
        );
        // And in the confirmation dialog that follows, x is just a key: n still cancels.
        press(&mut app, &[KeyCode::Char('x')]);
        assert!(matches!(
            app.view.modal.as_ref().map(|m| &m.stage),
            Some(Stage::Confirm { .. })
        ));
        press(&mut app, &[KeyCode::Char('n')]);
        assert!(app.view.modal.is_none());
    }
}
