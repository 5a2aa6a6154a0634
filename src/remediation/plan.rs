//! The planner: which remediations apply to the selected row, and the typed plan of one.
//!
//! This is the one place that decides what is offered. The key hints, the help overlay, the
//! key handling and the tests all read [`offers`], so they cannot drift. Pure: no I/O.

use serde::Serialize;

use super::{ActionKind, Place, WorkloadKind};

/// What is under the cursor, as far as remediations care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Nothing,
    Pod {
        namespace: String,
        name: String,
        /// The Deployment owning it (through its ReplicaSet), when known.
        deployment: Option<String>,
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
        /// Sessions idle in transaction past the threshold, now.
        idle_over: usize,
        threshold_secs: u64,
    },
    /// A session in the DB detail view.
    Session {
        entry: usize,
        database: String,
        pid: i32,
        own: bool,
        /// A client backend the console may signal (not a background worker, not pid 0).
        client: bool,
        idle_over: usize,
        threshold_secs: u64,
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
}

impl Verb {
    pub const ALL: [Self; 8] = [
        Self::Restart,
        Self::Undo,
        Self::Scale,
        Self::DeletePod,
        Self::RestartOperator,
        Self::Cancel,
        Self::Kill,
        Self::KillIdle,
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
}

/// Permission answers the planner consults (from access reviews and PostgreSQL roles).
#[derive(Debug, Clone, Default)]
pub struct PermissionView {
    /// (namespace, verb) -> denial reason; absent = allowed or not yet known.
    pub kube_denied: std::collections::BTreeMap<(String, Verb), String>,
    /// PostgreSQL entry -> the role cannot signal other roles' sessions.
    pub pg_denied: std::collections::BTreeMap<usize, String>,
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
    }
}

fn namespace_of(selection: &Selection, ctx: &PlanContext, verb: Verb) -> Option<String> {
    match selection {
        Selection::Pod { namespace, .. } | Selection::Deployment { namespace, .. } => {
            Some(namespace.clone())
        }
        Selection::Claim if verb == Verb::RestartOperator => {
            ctx.operators.first().map(|(_, ns, _)| ns.clone())
        }
        _ => None,
    }
}

/// Why a verb cannot run on this selection now, if it cannot.
fn blocked(selection: &Selection, ctx: &PlanContext, verb: Verb) -> Option<String> {
    if let Some(why) = &ctx.read_only {
        return Some(why.clone());
    }
    if let Some(ns) = namespace_of(selection, ctx, verb)
        && let Some(reason) = ctx.permission.kube_denied.get(&(ns, verb))
    {
        return Some(reason.clone());
    }
    match selection {
        Selection::Session {
            entry, own, client, ..
        } => {
            if matches!(verb, Verb::Cancel | Verb::Kill) {
                if *own {
                    return Some("this is the console's own session".into());
                }
                if !client {
                    return Some(
                        "not a client session (background worker or prepared xact)".into(),
                    );
                }
            }
            if let Some(reason) = ctx.permission.pg_denied.get(entry) {
                return Some(reason.clone());
            }
        }
        Selection::Database { entry, .. } => {
            if let Some(reason) = ctx.permission.pg_denied.get(entry) {
                return Some(reason.clone());
            }
        }
        _ => {}
    }
    match (selection, verb) {
        (
            Selection::Session {
                idle_over: 0,
                threshold_secs,
                ..
            },
            Verb::KillIdle,
        )
        | (
            Selection::Database {
                idle_over: 0,
                threshold_secs,
                ..
            },
            Verb::KillIdle,
        ) => Some(format!(
            "no session idle in transaction for more than {}",
            crate::app::status::format_age(std::time::Duration::from_secs(*threshold_secs))
        )),
        _ => None,
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
        && let Some((_, namespace, _)) = ctx.operators.get(params.operator)
        && let Some(reason) = ctx.permission.kube_denied.get(&(namespace.clone(), verb))
    {
        return Err(reason.clone());
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
    let (place, action, object, change) = match (selection, verb) {
        (
            Selection::Pod {
                namespace, name, ..
            },
            Verb::DeletePod,
        ) => {
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
        (
            Selection::Pod {
                namespace,
                deployment: Some(deployment),
                ..
            },
            _,
        ) => deployment_plan(verb, &kube(namespace), deployment, None, params)?,
        (
            Selection::Pod {
                namespace,
                other_owner: Some((kind, owner)),
                ..
            },
            Verb::Restart,
        ) => (
            kube(namespace),
            ActionKind::RolloutRestart {
                kind: *kind,
                name: owner.clone(),
            },
            format!("{}/{owner}", kind.resource().trim_end_matches('s')),
            "restart every pod (rolling, as the controller does)".to_string(),
        ),
        (
            Selection::Deployment {
                namespace,
                name,
                replicas,
            },
            _,
        ) => deployment_plan(verb, &kube(namespace), name, Some(*replicas), params)?,
        (Selection::Claim, Verb::RestartOperator) => {
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
        (
            Selection::Session {
                entry,
                database,
                pid,
                ..
            },
            Verb::Cancel | Verb::Kill,
        ) => {
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
        (
            Selection::Session {
                entry,
                database,
                idle_over,
                threshold_secs,
                ..
            }
            | Selection::Database {
                entry,
                database,
                idle_over,
                threshold_secs,
            },
            Verb::KillIdle,
        ) => (
            Place::Postgres {
                entry: *entry,
                database: database.clone(),
            },
            ActionKind::PgTerminateIdle {
                older_than_secs: *threshold_secs,
            },
            format!("{idle_over} idle-in-transaction sessions"),
            format!(
                "terminate sessions idle in transaction for more than {}",
                crate::app::status::format_age(std::time::Duration::from_secs(*threshold_secs))
            ),
        ),
        (Selection::RedisClient { entry, cache, id }, Verb::Kill) => (
            Place::Redis {
                entry: *entry,
                cache: cache.clone(),
            },
            ActionKind::RedisKill { id: *id },
            format!("client id {id}"),
            "close the client's connection (CLIENT KILL ID)".to_string(),
        ),
        _ => return Err(format!("{} does not apply here", verb.label())),
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
    };
    let word: String = word.chars().filter(|c| !c.is_control()).collect();
    if word.trim().is_empty() {
        object.to_string()
    } else {
        word.trim().to_string()
    }
}

type Planned = (Place, ActionKind, String, String);

fn deployment_plan(
    verb: Verb,
    place: &Place,
    name: &str,
    replicas: Option<u32>,
    params: &Params,
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
            let from = replicas.unwrap_or(0);
            (
                place.clone(),
                ActionKind::Scale {
                    name: name.to_string(),
                    from,
                    to,
                },
                object,
                format!("replicas {from} -> {to}"),
            )
        }
        _ => return Err(format!("{} does not apply to a deployment", verb.label())),
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
            other_owner: None,
        };
        let verbs: Vec<Verb> = offers(&bare, &ctx()).iter().map(|o| o.verb).collect();
        assert_eq!(verbs, [Verb::DeletePod]);
        let member = Selection::Pod {
            namespace: "ns".into(),
            name: "db-0".into(),
            deployment: None,
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
    fn protected_targets_ask_for_the_name() {
        let ctx = PlanContext {
            protected: true,
            ..ctx()
        };
        let plan = plan(Verb::Restart, &deployment(), &Params::default(), &ctx).unwrap();
        assert_eq!(plan.confirm_text.as_deref(), Some("api"));
    }

    #[test]
    fn denied_permission_disables_with_the_reason() {
        let mut ctx = ctx();
        ctx.permission.kube_denied.insert(
            ("ns".into(), Verb::Scale),
            "not allowed: patch deployments/scale".into(),
        );
        let offers = offers(&deployment(), &ctx);
        let scale = offers.iter().find(|o| o.verb == Verb::Scale).unwrap();
        assert_eq!(
            scale.enabled,
            Err("not allowed: patch deployments/scale".into())
        );
        let params = Params {
            replicas: Some(1),
            ..Params::default()
        };
        assert!(plan(Verb::Scale, &deployment(), &params, &ctx).is_err());
    }

    #[test]
    fn the_console_never_signals_its_own_session() {
        let own = Selection::Session {
            entry: 0,
            database: "db".into(),
            pid: 7,
            own: true,
            client: true,
            idle_over: 0,
            threshold_secs: 3600,
        };
        let offers = offers(&own, &ctx());
        assert!(offers.iter().all(|o| o.enabled.is_err()));
        assert!(plan(Verb::Kill, &own, &Params::default(), &ctx()).is_err());
    }

    #[test]
    fn idle_sweep_needs_idle_sessions() {
        let db = Selection::Database {
            entry: 0,
            database: "db".into(),
            idle_over: 4,
            threshold_secs: 3600,
        };
        let plan = plan(Verb::KillIdle, &db, &Params::default(), &ctx()).unwrap();
        assert_eq!(
            plan.action,
            ActionKind::PgTerminateIdle {
                older_than_secs: 3600
            }
        );
        let none = Selection::Database {
            entry: 0,
            database: "db".into(),
            idle_over: 0,
            threshold_secs: 3600,
        };
        assert!(offers(&none, &ctx())[0].enabled.is_err());
    }
}
