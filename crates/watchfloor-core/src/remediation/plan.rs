//! The planner: which remediations apply to the selected row, and the typed plan of one.
//!
//! This is the one place that decides what is offered. The key hints, the help overlay, the
//! key handling and the tests all read [`offers`], so they cannot drift. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::access::{AccessCheck, checks_for, denied_reason};
use super::{ActionKind, Failure, Place, WorkloadKind};
use crate::db::postgres::{PgStatus, SignalRefusal, signal_rule};

/// What is under the cursor, as far as remediations care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Nothing,
    Pod {
        namespace: String,
        name: String,
        /// The Deployment owning it (through its ReplicaSet), when known.
        deployment: Option<String>,
        /// That Deployment's desired replicas, when it is watched (the scale dialog's "from").
        deployment_replicas: Option<u32>,
        /// A StatefulSet or DaemonSet owning it directly (restartable, not undoable here).
        other_owner: Option<(WorkloadKind, String)>,
    },
    Deployment {
        namespace: String,
        name: String,
        replicas: u32,
    },
    /// A PostgreSQL database row (the pane, not a session).
    Database {
        entry: usize,
        database: String,
        idle: IdleSweep,
    },
    /// A session in the DB detail view.
    Session {
        entry: usize,
        database: String,
        pid: i32,
        /// Whether the console may cancel or terminate it, by
        /// [`crate::db::postgres::signal_rule`]; the reason when not.
        signal: Result<(), String>,
        idle: IdleSweep,
    },
    RedisClient {
        entry: usize,
        cache: String,
        id: u64,
    },
    /// A Redis row (the pane, not a client).
    Cache {
        entry: usize,
        cache: String,
    },
    /// A row of the Stuck claims pane: operators configured for the target can be restarted.
    Claim,
    /// An alert group of the SLO pane's alerts section.
    Alert(AlertSelection),
}

/// An alert group under the cursor, as silencing and expiring need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSelection {
    /// The `alertname`.
    pub name: String,
    /// The matchers a new silence starts from ([`crate::alerts::silence_matchers`]).
    pub matchers: Vec<crate::alerts::Matcher>,
    /// Active silences muting any alert of the group: (id, a line describing it).
    pub silences: Vec<(String, String)>,
    /// `false` when the alerts come from Prometheus (no Alertmanager: no silences).
    pub alertmanager: bool,
}

/// A silence as the operator set it up in the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceParams {
    pub matchers: Vec<crate::alerts::Matcher>,
    pub duration_secs: u64,
    pub comment: String,
}

/// The sessions idle in transaction past the threshold, as a terminate-idle sweep (`X`) would
/// treat them now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleSweep {
    /// Those the console's role may signal: the sweep's targets.
    pub targets: usize,
    /// Those it may not (a superuser's, another role's without `pg_signal_backend`...): left
    /// alone.
    pub refused: usize,
    /// Why the first refused one is refused.
    pub reason: Option<String>,
    pub threshold_secs: u64,
}

/// The sweep of a database as its latest refresh shows it: each session idle in transaction
/// past the threshold, judged by [`signal_rule`] (the rule the executor applies again).
pub fn idle_sweep(status: &PgStatus) -> IdleSweep {
    let mut sweep = IdleSweep {
        threshold_secs: status.thresholds.idle_in_transaction_after.as_secs(),
        ..IdleSweep::default()
    };
    for idle in &status.idle_in_transaction {
        let verdict = match status.sample.sessions.iter().find(|s| s.pid == idle.pid) {
            Some(session) => signal_rule(&status.sample, session),
            None => Err(SignalRefusal::NotAProcess),
        };
        match verdict {
            Ok(()) => sweep.targets += 1,
            Err(refusal) => {
                sweep.refused += 1;
                sweep
                    .reason
                    .get_or_insert_with(|| refusal.describe(idle.pid));
            }
        }
    }
    sweep
}

/// A remediation verb, bound to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Verb {
    Restart,
    Undo,
    Scale,
    DeletePod,
    RestartOperator,
    Cancel,
    /// Terminate a PostgreSQL session or kill a Redis client.
    Kill,
    KillIdle,
    /// Silence an alert (Alertmanager).
    Silence,
    /// Expire a silence (Alertmanager).
    Expire,
}

impl Verb {
    pub const ALL: [Self; 10] = [
        Self::Restart,
        Self::Undo,
        Self::Scale,
        Self::DeletePod,
        Self::RestartOperator,
        Self::Cancel,
        Self::Kill,
        Self::KillIdle,
        Self::Silence,
        Self::Expire,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Restart => "rollout restart",
            Self::Undo => "rollout undo",
            Self::Scale => "scale",
            Self::DeletePod => "delete pod",
            Self::RestartOperator => "restart operator",
            Self::Cancel => "cancel query",
            Self::Kill => "terminate / kill",
            Self::KillIdle => "terminate idle-in-transaction",
            Self::Silence => "silence alert",
            Self::Expire => "expire silence",
        }
    }
}

/// What the planner needs to know besides the row.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    pub target: String,
    /// Remediations need the object's name typed before confirmation.
    pub protected: bool,
    /// `Some(why)` when read-only: nothing is offered, nothing is planned.
    pub read_only: Option<String>,
    pub kube_context: Option<String>,
    /// Configured operators: (name, namespace, selector).
    pub operators: Vec<(String, String, String)>,
    /// Permission answers: `Some(Err(reason))` means the identity may not do it.
    pub permission: PermissionView,
    /// Deployments an HPA controls, by (namespace, name): the HPA in words
    /// (`hpa/web scales it between 2 and 10 replicas`). A scale preview says it, since the
    /// HPA will scale the deployment back.
    pub autoscaled: BTreeMap<(String, String), String>,
}

/// The access review answers the planner consults, by check (see [`super::access`]). What
/// PostgreSQL's roles allow comes with each refresh instead ([`signal_rule`]).
#[derive(Debug, Clone, Default)]
pub struct PermissionView {
    /// Per check: `Ok(true)` allowed, `Ok(false)` denied, `Err(Failure::Forbidden)` denied with
    /// the server's reason, any other `Err` the review failed. Absent = not asked yet (allowed
    /// until known: the server decides at the dry run anyway).
    pub answers: Arc<BTreeMap<AccessCheck, Result<bool, Failure>>>,
}

impl PermissionView {
    /// Why the identity may not do what needs `checks`; `None` when allowed or unknown. A
    /// review that failed is not a denial.
    pub fn denied(&self, checks: &[AccessCheck]) -> Option<String> {
        let denied: Vec<(AccessCheck, Result<bool, Failure>)> = checks
            .iter()
            .filter_map(|check| {
                let answer = self.answers.get(check)?;
                let denies = match answer {
                    Ok(allowed) => !allowed,
                    Err(Failure::Forbidden(_)) => true,
                    Err(
                        Failure::Failed(_) | Failure::ReadOnly(_) | Failure::AuditUnavailable(_),
                    ) => false,
                };
                denies.then(|| (check.clone(), answer.clone()))
            })
            .collect();
        denied_reason(&denied)
    }
}

/// A remediation offered for the selection: enabled, or disabled with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub verb: Verb,
    pub enabled: Result<(), String>,
}

/// A typed plan: what, where, on which object, and the exact change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub target: String,
    pub place: Place,
    pub action: ActionKind,
    /// e.g. `deployment/platform-v2-api`, `pid 4242`, `pods app=poolboy`.
    pub object: String,
    /// The change in words, e.g. `replicas 3 -> 5`.
    pub change: String,
    /// The operator must type this before confirming (protected targets).
    pub confirm_text: Option<String>,
}

/// Parameters a verb needs beyond the selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub to_revision: i64,
    pub replicas: Option<u32>,
    pub force: bool,
    /// Index into `PlanContext::operators`.
    pub operator: usize,
    /// Silence: the matchers, duration and comment from the dialog (`None`: the alert's own
    /// matchers, for the audit line of an attempt that ended before the dialog was filled).
    pub silence: Option<SilenceParams>,
    /// Expire: index into the selection's silences.
    pub silence_index: usize,
}

/// The verbs that apply to a selection at all (before read-only and permissions).
fn applicable(selection: &Selection, ctx: &PlanContext) -> Vec<Verb> {
    match selection {
        Selection::Nothing => vec![],
        Selection::Pod {
            deployment,
            other_owner,
            ..
        } => {
            let mut verbs = vec![Verb::DeletePod];
            if deployment.is_some() {
                verbs.splice(0..0, [Verb::Restart, Verb::Undo, Verb::Scale]);
            } else if other_owner.is_some() {
                verbs.insert(0, Verb::Restart);
            }
            verbs
        }
        Selection::Deployment { .. } => vec![Verb::Restart, Verb::Undo, Verb::Scale],
        Selection::Database { .. } => vec![Verb::KillIdle],
        Selection::Session { .. } => vec![Verb::Cancel, Verb::Kill, Verb::KillIdle],
        Selection::RedisClient { .. } => vec![Verb::Kill],
        Selection::Cache { .. } => vec![],
        Selection::Claim if !ctx.operators.is_empty() => vec![Verb::RestartOperator],
        Selection::Claim => vec![],
        Selection::Alert(alert) if !alert.silences.is_empty() => {
            vec![Verb::Silence, Verb::Expire]
        }
        Selection::Alert(_) => vec![Verb::Silence],
    }
}

/// The access reviews `verb` on the selection needs (with `params`: which operator), from its
/// plan: the kind and namespace it would act on.
fn kube_checks(
    selection: &Selection,
    ctx: &PlanContext,
    verb: Verb,
    params: &Params,
) -> Vec<AccessCheck> {
    let params = Params {
        replicas: Some(params.replicas.unwrap_or(0)),
        ..params.clone()
    };
    match describe(verb, selection, &params, ctx) {
        Ok(Plan {
            place: Place::Kubernetes { namespace, .. },
            action,
            ..
        }) => checks_for(&action, &namespace),
        _ => Vec::new(),
    }
}

/// Every access review the selection's offers depend on (none in read-only mode, where
/// nothing is offered): what the console asks the cluster, and nothing more.
pub fn access_checks(selection: &Selection, ctx: &PlanContext) -> Vec<AccessCheck> {
    if ctx.read_only.is_some() {
        return Vec::new();
    }
    let mut checks = BTreeSet::new();
    for verb in applicable(selection, ctx) {
        if verb == Verb::RestartOperator {
            for operator in 0..ctx.operators.len() {
                let params = Params {
                    operator,
                    ..Params::default()
                };
                checks.extend(kube_checks(selection, ctx, verb, &params));
            }
        } else {
            checks.extend(kube_checks(selection, ctx, verb, &Params::default()));
        }
    }
    checks.into_iter().collect()
}

/// Why a verb cannot run on this selection now, if it cannot.
fn blocked(selection: &Selection, ctx: &PlanContext, verb: Verb) -> Option<String> {
    if let Some(why) = &ctx.read_only {
        return Some(why.clone());
    }
    if let Some(reason) =
        ctx.permission
            .denied(&kube_checks(selection, ctx, verb, &Params::default()))
    {
        return Some(reason);
    }
    match verb {
        Verb::Cancel | Verb::Kill => match selection {
            Selection::Session { signal, .. } => signal.clone().err(),
            _ => None,
        },
        Verb::KillIdle => match selection {
            Selection::Session { idle, .. } | Selection::Database { idle, .. }
                if idle.targets == 0 =>
            {
                let past =
                    crate::text::format_age(std::time::Duration::from_secs(idle.threshold_secs));
                Some(match &idle.reason {
                    Some(reason) if idle.refused > 0 => format!(
                        "no session idle in transaction for more than {past} that the console's \
                         role may signal ({} refused: {reason})",
                        idle.refused
                    ),
                    _ => format!("no session idle in transaction for more than {past}"),
                })
            }
            _ => None,
        },
        Verb::Silence | Verb::Expire => match selection {
            Selection::Alert(alert) if !alert.alertmanager => Some(
                "these alerts come from Prometheus: silences need a [targets.alertmanager]".into(),
            ),
            // Alertmanager (or its proxy) refused a silence write before: its reason.
            _ => match ctx.permission.answers.get(&super::access::silences_write()) {
                Some(Err(Failure::Forbidden(reason))) => {
                    Some(format!("Alertmanager refused silences: {reason}"))
                }
                _ => None,
            },
        },
        // The server decides (access reviews above, then the dry run).
        Verb::Restart | Verb::Undo | Verb::Scale | Verb::DeletePod | Verb::RestartOperator => None,
    }
}

/// Every remediation that applies to the selection, each enabled or disabled with the reason.
/// In read-only mode nothing is offered at all.
pub fn offers(selection: &Selection, ctx: &PlanContext) -> Vec<Offer> {
    if ctx.read_only.is_some() {
        return Vec::new();
    }
    applicable(selection, ctx)
        .into_iter()
        .map(|verb| Offer {
            verb,
            enabled: match blocked(selection, ctx, verb) {
                Some(reason) => Err(reason),
                None => Ok(()),
            },
        })
        .collect()
}

/// The plan of `verb` on the selection. Refuses in read-only mode (the planner's layer of the
/// read-only guarantee), when the verb does not apply, or when it is disabled.
pub fn plan(
    verb: Verb,
    selection: &Selection,
    params: &Params,
    ctx: &PlanContext,
) -> Result<Plan, String> {
    if let Some(why) = &ctx.read_only {
        return Err(why.clone());
    }
    if !applicable(selection, ctx).contains(&verb) {
        return Err(format!("{} does not apply here", verb.label()));
    }
    if let Some(reason) = blocked(selection, ctx, verb) {
        return Err(reason);
    }
    // The picked operator's own namespace (`blocked` could only look at the first).
    if verb == Verb::RestartOperator
        && let Some(reason) = ctx
            .permission
            .denied(&kube_checks(selection, ctx, verb, params))
    {
        return Err(reason);
    }
    describe(verb, selection, params, ctx)
}

/// The plan `verb` would have, without asking whether it may run: for the audit line of an
/// attempt that was denied or cancelled before it was fully planned.
pub fn describe(
    verb: Verb,
    selection: &Selection,
    params: &Params,
    ctx: &PlanContext,
) -> Result<Plan, String> {
    let context = ctx
        .kube_context
        .clone()
        .unwrap_or_else(|| "(current)".into());
    let kube = |namespace: &str| Place::Kubernetes {
        context: context.clone(),
        namespace: namespace.to_string(),
    };
    let not_here = || format!("{} does not apply here", verb.label());
    // By verb first, exhaustively: a new verb does not compile until it is planned here.
    let (place, action, object, change) = match verb {
        Verb::Restart | Verb::Undo | Verb::Scale => match selection {
            Selection::Pod {
                namespace,
                deployment: Some(deployment),
                deployment_replicas,
                ..
            } => deployment_plan(
                verb,
                &kube(namespace),
                deployment,
                *deployment_replicas,
                params,
                ctx.autoscaled.get(&(namespace.clone(), deployment.clone())),
            )?,
            Selection::Pod {
                namespace,
                other_owner: Some((kind, owner)),
                ..
            } if verb == Verb::Restart => (
                kube(namespace),
                ActionKind::RolloutRestart {
                    kind: *kind,
                    name: owner.clone(),
                },
                format!("{}/{owner}", kind.singular()),
                "restart every pod (rolling, as the controller does)".to_string(),
            ),
            Selection::Deployment {
                namespace,
                name,
                replicas,
            } => deployment_plan(
                verb,
                &kube(namespace),
                name,
                Some(*replicas),
                params,
                ctx.autoscaled.get(&(namespace.clone(), name.clone())),
            )?,
            _ => return Err(not_here()),
        },
        Verb::DeletePod => match selection {
            Selection::Pod {
                namespace, name, ..
            } => {
                let change = if params.force {
                    "force delete (grace 0: the kubelet is not waited for)".to_string()
                } else {
                    "delete gracefully (the pod's termination grace period)".to_string()
                };
                (
                    kube(namespace),
                    ActionKind::DeletePod {
                        name: name.clone(),
                        grace: params.force.then_some(0),
                        force: params.force,
                    },
                    format!("pod/{name}"),
                    change,
                )
            }
            _ => return Err(not_here()),
        },
        Verb::RestartOperator => match selection {
            Selection::Claim => {
                let (name, namespace, selector) = ctx
                    .operators
                    .get(params.operator)
                    .ok_or("no such operator")?;
                (
                    kube(namespace),
                    ActionKind::RestartOperator {
                        selector: selector.clone(),
                    },
                    format!("operator {name}: pods {selector}"),
                    "delete its pods; its Deployment starts new ones".to_string(),
                )
            }
            _ => return Err(not_here()),
        },
        Verb::Cancel | Verb::Kill => match selection {
            Selection::Session {
                entry,
                database,
                pid,
                ..
            } => {
                let (action, change) = if verb == Verb::Cancel {
                    (
                        ActionKind::PgCancel { pid: *pid },
                        "cancel the running query (the session stays)",
                    )
                } else {
                    (
                        ActionKind::PgTerminate { pid: *pid },
                        "terminate the session (closes the connection, rolls back its transaction)",
                    )
                };
                (
                    Place::Postgres {
                        entry: *entry,
                        database: database.clone(),
                    },
                    action,
                    format!("pid {pid}"),
                    change.to_string(),
                )
            }
            Selection::RedisClient { entry, cache, id } if verb == Verb::Kill => (
                Place::Redis {
                    entry: *entry,
                    cache: cache.clone(),
                },
                ActionKind::RedisKill { id: *id },
                format!("client id {id}"),
                "close the client's connection (CLIENT KILL ID)".to_string(),
            ),
            _ => return Err(not_here()),
        },
        Verb::KillIdle => match selection {
            Selection::Session {
                entry,
                database,
                idle,
                ..
            }
            | Selection::Database {
                entry,
                database,
                idle,
            } => {
                let mut change = format!(
                    "terminate sessions idle in transaction for more than {}",
                    crate::text::format_age(std::time::Duration::from_secs(idle.threshold_secs))
                );
                if idle.refused > 0 {
                    change.push_str(&format!(
                        "; {} more the console's role may not signal are left alone ({})",
                        idle.refused,
                        idle.reason.as_deref().unwrap_or("refused")
                    ));
                }
                (
                    Place::Postgres {
                        entry: *entry,
                        database: database.clone(),
                    },
                    ActionKind::PgTerminateIdle {
                        older_than_secs: idle.threshold_secs,
                    },
                    format!("{} idle-in-transaction sessions", idle.targets),
                    change,
                )
            }
            _ => return Err(not_here()),
        },
        Verb::Silence => match selection {
            Selection::Alert(alert) => silence_plan(alert, params.silence.as_ref())?,
            _ => return Err(not_here()),
        },
        Verb::Expire => match selection {
            Selection::Alert(alert) => {
                let (id, text) = alert
                    .silences
                    .get(params.silence_index)
                    .ok_or("no such silence")?;
                (
                    Place::Alertmanager,
                    ActionKind::ExpireSilence { id: id.clone() },
                    format!("silence {id}"),
                    format!("expire it now ({text}); the alerts it mutes notify again"),
                )
            }
            _ => return Err(not_here()),
        },
    };
    let confirm_text = ctx.protected.then(|| confirm_word(&action, &object));
    Ok(Plan {
        target: ctx.target.clone(),
        place,
        action,
        object,
        change,
        confirm_text,
    })
}

/// What the operator of a protected target types: the object's own name.
fn confirm_word(action: &ActionKind, object: &str) -> String {
    let word = match action {
        ActionKind::RolloutRestart { name, .. }
        | ActionKind::RolloutUndo { name, .. }
        | ActionKind::Scale { name, .. }
        | ActionKind::DeletePod { name, .. } => name.clone(),
        ActionKind::RestartOperator { selector } => selector.clone(),
        ActionKind::PgCancel { pid } | ActionKind::PgTerminate { pid } => pid.to_string(),
        ActionKind::PgTerminateIdle { .. } => "terminate".into(),
        ActionKind::RedisKill { id } => id.to_string(),
        ActionKind::Silence { matchers, .. } => matchers
            .iter()
            .find(|m| m.name == "alertname")
            .map_or_else(|| "silence".into(), |m| m.value.clone()),
        ActionKind::ExpireSilence { id } => id.clone(),
    };
    let word: String = word.chars().filter(|c| !c.is_control()).collect();
    if word.trim().is_empty() {
        object.to_string()
    } else {
        word.trim().to_string()
    }
}

type Planned = (Place, ActionKind, String, String);

/// Longest silence the dialog accepts (a silence is for while a known problem is fixed).
pub const MAX_SILENCE_SECS: u64 = 30 * 24 * 3600;

fn silence_plan(alert: &AlertSelection, params: Option<&SilenceParams>) -> Result<Planned, String> {
    let (matchers, duration_secs, comment) = match params {
        Some(p) => (p.matchers.clone(), p.duration_secs, p.comment.clone()),
        None => (alert.matchers.clone(), 0, String::new()),
    };
    if params.is_some() {
        crate::alerts::check_silence_matchers(&matchers)?;
        if duration_secs == 0 || duration_secs > MAX_SILENCE_SECS {
            return Err("a silence lasts from one minute to 30 days".into());
        }
        if comment.trim().is_empty() {
            return Err("a silence needs a comment (why, and who follows it up)".into());
        }
    }
    let text: Vec<String> = matchers.iter().map(crate::alerts::Matcher::text).collect();
    let change = format!(
        "silence for {}: {}",
        humantime::format_duration(std::time::Duration::from_secs(duration_secs)),
        comment.trim()
    );
    Ok((
        Place::Alertmanager,
        ActionKind::Silence {
            matchers,
            duration_secs,
            comment: comment.trim().to_string(),
        },
        format!("alerts {{{}}}", text.join(", ")),
        change,
    ))
}

fn deployment_plan(
    verb: Verb,
    place: &Place,
    name: &str,
    replicas: Option<u32>,
    params: &Params,
    autoscaler: Option<&String>,
) -> Result<Planned, String> {
    let object = format!("deployment/{name}");
    Ok(match verb {
        Verb::Restart => (
            place.clone(),
            ActionKind::RolloutRestart {
                kind: WorkloadKind::Deployment,
                name: name.to_string(),
            },
            object,
            "restart every pod (new ReplicaSet revision, rolling)".to_string(),
        ),
        Verb::Undo => {
            let change = if params.to_revision == 0 {
                "roll back to the previous revision".to_string()
            } else {
                format!("roll back to revision {}", params.to_revision)
            };
            (
                place.clone(),
                ActionKind::RolloutUndo {
                    name: name.to_string(),
                    to_revision: params.to_revision,
                },
                object,
                change,
            )
        }
        Verb::Scale => {
            let to = params.replicas.ok_or("type a replica count")?;
            // An unknown current count is said so, never guessed as 0 (it is audited as `from`).
            let mut change = match replicas {
                Some(from) => format!("replicas {from} -> {to}"),
                None => format!("replicas ? -> {to} (current count not known here)"),
            };
            if let Some(hpa) = autoscaler {
                change.push_str(&format!("; {hpa}: it will override this count"));
            }
            (
                place.clone(),
                ActionKind::Scale {
                    name: name.to_string(),
                    from: replicas,
                    to,
                },
                object,
                change,
            )
        }
        Verb::DeletePod
        | Verb::RestartOperator
        | Verb::Cancel
        | Verb::Kill
        | Verb::KillIdle
        | Verb::Silence
        | Verb::Expire => {
            return Err(format!("{} does not apply to a deployment", verb.label()));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PlanContext {
        PlanContext {
            target: "prod".into(),
            kube_context: Some("ctx".into()),
            ..PlanContext::default()
        }
    }

    fn deployment() -> Selection {
        Selection::Deployment {
            namespace: "ns".into(),
            name: "api".into(),
            replicas: 3,
        }
    }

    #[test]
    fn all_lists_every_verb_in_order() {
        // Exhaustive: a new verb does not compile until it has a place here; give it the next
        // one and add it to `Verb::ALL`.
        let place = |verb: Verb| match verb {
            Verb::Restart => 0,
            Verb::Undo => 1,
            Verb::Scale => 2,
            Verb::DeletePod => 3,
            Verb::RestartOperator => 4,
            Verb::Cancel => 5,
            Verb::Kill => 6,
            Verb::KillIdle => 7,
            Verb::Silence => 8,
            Verb::Expire => 9,
        };
        let places: Vec<usize> = Verb::ALL.into_iter().map(place).collect();
        assert_eq!(places, (0..Verb::ALL.len()).collect::<Vec<_>>());
    }

    fn alert(silences: usize, alertmanager: bool) -> Selection {
        Selection::Alert(AlertSelection {
            name: "HighErrorRate".into(),
            matchers: vec![
                crate::alerts::Matcher::equal("alertname", "HighErrorRate"),
                crate::alerts::Matcher::equal("namespace", "platform-v2"),
            ],
            silences: (0..silences)
                .map(|i| (format!("id-{i}"), format!("by alice, {i}")))
                .collect(),
            alertmanager,
        })
    }

    fn silence(duration_secs: u64, comment: &str) -> Params {
        Params {
            silence: Some(SilenceParams {
                matchers: vec![crate::alerts::Matcher::equal("alertname", "HighErrorRate")],
                duration_secs,
                comment: comment.into(),
            }),
            ..Params::default()
        }
    }

    #[test]
    fn an_alert_offers_silence_and_expire_only_when_silenced() {
        let verbs = |s: &Selection| offers(s, &ctx()).iter().map(|o| o.verb).collect::<Vec<_>>();
        assert_eq!(verbs(&alert(0, true)), [Verb::Silence]);
        assert_eq!(verbs(&alert(2, true)), [Verb::Silence, Verb::Expire]);
        // From Prometheus: offered, disabled with the reason.
        let offered = offers(&alert(0, false), &ctx());
        assert!(
            offered[0]
                .enabled
                .as_ref()
                .unwrap_err()
                .contains("[targets.alertmanager]")
        );
        // No Kubernetes access review is asked for an alert.
        assert!(access_checks(&alert(1, true), &ctx()).is_empty());
    }

    #[test]
    fn a_silence_plan_carries_the_dialogs_matchers_duration_and_comment() {
        let plan = plan(
            Verb::Silence,
            &alert(0, true),
            &silence(7200, " deploy rollback "),
            &ctx(),
        )
        .unwrap();
        assert_eq!(plan.place, Place::Alertmanager);
        assert_eq!(plan.object, r#"alerts {alertname="HighErrorRate"}"#);
        assert_eq!(plan.change, "silence for 2h: deploy rollback");
        assert_eq!(
            plan.action,
            ActionKind::Silence {
                matchers: vec![crate::alerts::Matcher::equal("alertname", "HighErrorRate")],
                duration_secs: 7200,
                comment: "deploy rollback".into(),
            }
        );
        for (params, why) in [
            (silence(0, "x"), "one minute"),
            (silence(MAX_SILENCE_SECS + 1, "x"), "30 days"),
            (silence(3600, "  "), "comment"),
        ] {
            let error = super::plan(Verb::Silence, &alert(0, true), &params, &ctx()).unwrap_err();
            assert!(error.contains(why), "{error}");
        }
        let mut everything = silence(3600, "x");
        everything.silence.as_mut().unwrap().matchers =
            vec![crate::alerts::parse_matcher(r#"alertname=~".*""#).unwrap()];
        let error = super::plan(Verb::Silence, &alert(0, true), &everything, &ctx()).unwrap_err();
        assert!(error.contains("every alert"), "{error}");
    }

    #[test]
    fn expire_names_the_picked_silence_and_a_refusal_disables_both() {
        let params = Params {
            silence_index: 1,
            ..Params::default()
        };
        let plan = plan(Verb::Expire, &alert(2, true), &params, &ctx()).unwrap();
        assert_eq!(plan.action, ActionKind::ExpireSilence { id: "id-1".into() });
        assert_eq!(plan.object, "silence id-1");
        let mut answers = BTreeMap::new();
        answers.insert(
            super::super::access::silences_write(),
            Err(Failure::Forbidden(
                "403 Forbidden: not in group oncall".into(),
            )),
        );
        let ctx = PlanContext {
            permission: PermissionView {
                answers: Arc::new(answers),
            },
            ..ctx()
        };
        for offer in offers(&alert(1, true), &ctx) {
            let reason = offer.enabled.unwrap_err();
            assert!(reason.contains("not in group oncall"), "{reason}");
        }
    }

    #[test]
    fn a_daemonset_pod_restarts_its_daemonset() {
        let member = Selection::Pod {
            namespace: "logging".into(),
            name: "collector-x1y2z".into(),
            deployment: None,
            deployment_replicas: None,
            other_owner: Some((WorkloadKind::DaemonSet, "collector".into())),
        };
        let plan = plan(Verb::Restart, &member, &Params::default(), &ctx()).unwrap();
        assert_eq!(plan.object, "daemonset/collector");
        let asked: Vec<String> = access_checks(&member, &ctx())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            asked,
            ["delete pods in logging", "patch daemonsets.apps in logging"]
        );
        for verb in [Verb::Undo, Verb::Scale] {
            assert!(super::plan(verb, &member, &Params::default(), &ctx()).is_err());
        }
    }

    #[test]
    fn read_only_offers_nothing_and_plans_nothing() {
        let ctx = PlanContext {
            read_only: Some("read-only mode (--read-only)".into()),
            ..ctx()
        };
        assert!(offers(&deployment(), &ctx).is_empty());
        for verb in Verb::ALL {
            assert!(plan(verb, &deployment(), &Params::default(), &ctx).is_err());
        }
    }

    #[test]
    fn a_deployment_offers_restart_undo_scale() {
        let verbs: Vec<Verb> = offers(&deployment(), &ctx())
            .iter()
            .map(|o| o.verb)
            .collect();
        assert_eq!(verbs, [Verb::Restart, Verb::Undo, Verb::Scale]);
    }

    #[test]
    fn a_pod_of_a_deployment_also_offers_its_deployment() {
        let pod = Selection::Pod {
            namespace: "ns".into(),
            name: "api-1".into(),
            deployment: Some("api".into()),
            deployment_replicas: None,
            other_owner: None,
        };
        let verbs: Vec<Verb> = offers(&pod, &ctx()).iter().map(|o| o.verb).collect();
        assert_eq!(
            verbs,
            [Verb::Restart, Verb::Undo, Verb::Scale, Verb::DeletePod]
        );
        let bare = Selection::Pod {
            namespace: "ns".into(),
            name: "job-1".into(),
            deployment: None,
            deployment_replicas: None,
            other_owner: None,
        };
        let verbs: Vec<Verb> = offers(&bare, &ctx()).iter().map(|o| o.verb).collect();
        assert_eq!(verbs, [Verb::DeletePod]);
        let member = Selection::Pod {
            namespace: "ns".into(),
            name: "db-0".into(),
            deployment: None,
            deployment_replicas: None,
            other_owner: Some((WorkloadKind::StatefulSet, "db".into())),
        };
        let verbs: Vec<Verb> = offers(&member, &ctx()).iter().map(|o| o.verb).collect();
        assert_eq!(verbs, [Verb::Restart, Verb::DeletePod]);
        let plan = plan(Verb::Restart, &member, &Params::default(), &ctx()).unwrap();
        assert_eq!(
            plan.action,
            ActionKind::RolloutRestart {
                kind: WorkloadKind::StatefulSet,
                name: "db".into()
            }
        );
        assert_eq!(plan.object, "statefulset/db");
    }

    #[test]
    fn scale_plan_names_before_and_after() {
        let params = Params {
            replicas: Some(5),
            ..Params::default()
        };
        let plan = plan(Verb::Scale, &deployment(), &params, &ctx()).unwrap();
        assert_eq!(plan.change, "replicas 3 -> 5");
        assert_eq!(plan.object, "deployment/api");
        assert_eq!(
            plan.place,
            Place::Kubernetes {
                context: "ctx".into(),
                namespace: "ns".into()
            }
        );
        assert_eq!(plan.confirm_text, None);
    }

    #[test]
    fn scaling_an_autoscaled_deployment_says_so() {
        let mut ctx = ctx();
        let params = Params {
            replicas: Some(5),
            ..Params::default()
        };
        let plain = plan(Verb::Scale, &deployment(), &params, &ctx).unwrap();
        assert_eq!(plain.change, "replicas 3 -> 5");
        ctx.autoscaled.insert(
            ("ns".into(), "api".into()),
            "hpa/api scales it between 2 and 10 replicas".into(),
        );
        let plan = plan(Verb::Scale, &deployment(), &params, &ctx).unwrap();
        assert_eq!(
            plan.change,
            "replicas 3 -> 5; hpa/api scales it between 2 and 10 replicas: it will override this count"
        );
    }

    #[test]
    fn protected_targets_ask_for_the_name() {
        let ctx = PlanContext {
            protected: true,
            ..ctx()
        };
        let plan = plan(Verb::Restart, &deployment(), &Params::default(), &ctx).unwrap();
        assert_eq!(plan.confirm_text.as_deref(), Some("api"));
    }

    fn answers(list: &[(AccessCheck, Result<bool, Failure>)]) -> PermissionView {
        PermissionView {
            answers: Arc::new(list.iter().cloned().collect()),
        }
    }

    #[test]
    fn denied_permission_disables_with_the_reason() {
        let mut ctx = ctx();
        let scale = checks_for(
            &ActionKind::Scale {
                name: "api".into(),
                from: Some(3),
                to: 0,
            },
            "ns",
        );
        ctx.permission = answers(&[(scale[0].clone(), Ok(false))]);
        let offers = offers(&deployment(), &ctx);
        let scale = offers.iter().find(|o| o.verb == Verb::Scale).unwrap();
        assert_eq!(
            scale.enabled,
            Err("not allowed: patch deployments.apps/scale in ns".into())
        );
        let restart = offers.iter().find(|o| o.verb == Verb::Restart).unwrap();
        assert_eq!(restart.enabled, Ok(()));
        let params = Params {
            replicas: Some(1),
            ..Params::default()
        };
        assert!(plan(Verb::Scale, &deployment(), &params, &ctx).is_err());
    }

    #[test]
    fn a_failed_review_is_not_a_denial_but_a_reasoned_one_is() {
        let delete = AccessCheck {
            namespace: "ns".into(),
            verb: "delete".into(),
            group: String::new(),
            resource: "pods".into(),
            subresource: None,
        };
        let failed = answers(&[(delete.clone(), Err("connection refused".into()))]);
        assert_eq!(failed.denied(std::slice::from_ref(&delete)), None);
        let reasoned = answers(&[(delete.clone(), Err(Failure::Forbidden("RBAC: no".into())))]);
        assert_eq!(
            reasoned.denied(&[delete]).as_deref(),
            Some("not allowed: delete pods in ns: RBAC: no")
        );
    }

    #[test]
    fn access_checks_are_what_the_offers_need() {
        let pod = Selection::Pod {
            namespace: "ns".into(),
            name: "api-1".into(),
            deployment: Some("api".into()),
            deployment_replicas: None,
            other_owner: None,
        };
        let asked: Vec<String> = access_checks(&pod, &ctx())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            asked,
            [
                "delete pods in ns",
                "list replicasets.apps in ns",
                "patch deployments.apps in ns",
                "patch deployments.apps/scale in ns",
            ]
        );
        // A StatefulSet's pod: its restart is a patch of the StatefulSet.
        let member = Selection::Pod {
            namespace: "db".into(),
            name: "db-0".into(),
            deployment: None,
            deployment_replicas: None,
            other_owner: Some((WorkloadKind::StatefulSet, "db".into())),
        };
        let asked: Vec<String> = access_checks(&member, &ctx())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            asked,
            ["delete pods in db", "patch statefulsets.apps in db"]
        );
        // Every configured operator's namespace, for the picker.
        let ctx2 = PlanContext {
            operators: vec![
                ("a".into(), "ns-a".into(), "app=a".into()),
                ("b".into(), "ns-b".into(), "app=b".into()),
            ],
            ..ctx()
        };
        assert_eq!(access_checks(&Selection::Claim, &ctx2).len(), 4);
        // Nothing for PostgreSQL, nothing in read-only mode, nothing for no row.
        let db = Selection::Database {
            entry: 0,
            database: "db".into(),
            idle: IdleSweep::default(),
        };
        assert!(access_checks(&db, &ctx()).is_empty());
        let read_only = PlanContext {
            read_only: Some("read-only".into()),
            ..ctx()
        };
        assert!(access_checks(&pod, &read_only).is_empty());
        assert!(access_checks(&Selection::Nothing, &ctx()).is_empty());
    }

    fn session(signal: Result<(), String>) -> Selection {
        Selection::Session {
            entry: 0,
            database: "db".into(),
            pid: 7,
            signal,
            idle: IdleSweep {
                threshold_secs: 3600,
                ..IdleSweep::default()
            },
        }
    }

    #[test]
    fn a_session_the_rule_refuses_is_disabled_with_the_rules_reason() {
        let reason = "role \"postgres\" is a superuser: only a superuser may signal its sessions";
        let refused = session(Err(reason.into()));
        let offers = offers(&refused, &ctx());
        for verb in [Verb::Cancel, Verb::Kill] {
            let offer = offers.iter().find(|o| o.verb == verb).unwrap();
            assert_eq!(offer.enabled, Err(reason.to_string()), "{verb:?}");
            assert_eq!(
                plan(verb, &refused, &Params::default(), &ctx()),
                Err(reason.to_string())
            );
        }
        let allowed = session(Ok(()));
        let plan = plan(Verb::Cancel, &allowed, &Params::default(), &ctx()).unwrap();
        assert_eq!(plan.action, ActionKind::PgCancel { pid: 7 });
    }

    #[test]
    fn idle_sweep_needs_sessions_the_role_may_signal() {
        let db = |targets: usize, refused: usize| Selection::Database {
            entry: 0,
            database: "db".into(),
            idle: IdleSweep {
                targets,
                refused,
                reason: (refused > 0).then(|| "pid 9: role \"postgres\" is a superuser".into()),
                threshold_secs: 3600,
            },
        };
        let plan = plan(Verb::KillIdle, &db(4, 1), &Params::default(), &ctx()).unwrap();
        assert_eq!(
            plan.action,
            ActionKind::PgTerminateIdle {
                older_than_secs: 3600
            }
        );
        assert_eq!(plan.object, "4 idle-in-transaction sessions");
        assert!(plan.change.contains("1 more"), "{}", plan.change);
        assert_eq!(
            offers(&db(0, 0), &ctx())[0].enabled,
            Err("no session idle in transaction for more than 1h00m".into())
        );
        let refused = offers(&db(0, 2), &ctx())[0].enabled.clone().unwrap_err();
        assert!(
            refused.contains("2 refused") && refused.contains("superuser"),
            "{refused}"
        );
    }

    #[test]
    fn the_sweep_counts_what_the_rule_allows() {
        use crate::db::postgres::{PgSample, Privileges, Session, Thresholds, analyse};
        let idle = |pid: i32, superuser: bool| Session {
            pid,
            usename: Some(if superuser { "postgres" } else { "app" }.into()),
            application_name: None,
            client_addr: None,
            datname: Some("db".into()),
            state: Some("idle in transaction".into()),
            wait_event_type: None,
            wait_event: None,
            backend_type: Some("client backend".into()),
            query_age: Some(100.0),
            state_age: Some(100.0),
            xact_age: Some(100.0),
            backend_age: Some(100.0),
            query: None,
            blocked_by: Vec::new(),
            own: false,
            role_superuser: Some(superuser),
            role_privileges: Some(false),
        };
        let sample = PgSample {
            own_pid: 1,
            database: Some("db".into()),
            privileges: Privileges {
                signal_backend: true,
                ..Privileges::default()
            },
            sessions: vec![idle(10, false), idle(11, true), idle(12, false)],
            ..PgSample::default()
        };
        let thresholds = Thresholds {
            idle_in_transaction_after: std::time::Duration::from_secs(60),
            ..Thresholds::default()
        };
        let sweep = idle_sweep(&analyse("db", sample, thresholds));
        assert_eq!((sweep.targets, sweep.refused), (2, 1));
        assert!(
            sweep
                .reason
                .unwrap()
                .starts_with("pid 11: role \"postgres\"")
        );
        assert_eq!(sweep.threshold_secs, 60);
    }

    #[test]
    fn scaling_from_a_pod_row_names_its_deployments_count_or_says_it_is_unknown() {
        let pod = |replicas| Selection::Pod {
            namespace: "ns".into(),
            name: "api-7d4b9c6f5-x5xc8".into(),
            deployment: Some("api".into()),
            deployment_replicas: replicas,
            other_owner: None,
        };
        let params = Params {
            replicas: Some(5),
            ..Params::default()
        };
        let known = plan(Verb::Scale, &pod(Some(2)), &params, &ctx()).unwrap();
        assert_eq!(known.change, "replicas 2 -> 5");
        assert!(matches!(
            known.action,
            ActionKind::Scale {
                from: Some(2),
                to: 5,
                ..
            }
        ));
        let unknown = plan(Verb::Scale, &pod(None), &params, &ctx()).unwrap();
        assert!(
            unknown.change.starts_with("replicas ? -> 5"),
            "{}",
            unknown.change
        );
        assert!(matches!(
            unknown.action,
            ActionKind::Scale { from: None, .. }
        ));
    }
}
