//! The executor: previews and executes a `Plan` against its backend. It is the third layer of the
//! read-only guarantee: `execute` refuses in read-only mode whoever calls it.

use std::time::Duration;

use reqwest::Method;

use crate::alerts;
use crate::config::TargetConfig;
use crate::policy::ReadOnlyPolicy;
use crate::text::sanitize_truncated;

use super::kube_exec;
use super::sql_exec;
use super::{
    ActionKind, Failure, HistoryEntry, Place, Plan, Preview, PreviewSession, Progress, Rollout,
};

/// Longest line of a preview.
const LINE: usize = 160;

/// A target's backends, connected on first use.
pub struct Backends {
    target: TargetConfig,
    kube: tokio::sync::OnceCell<kube::Client>,
    /// The kubeconfig context's user, for the audit trail: read once, off the UI task.
    kube_user: tokio::sync::OnceCell<Option<String>>,
    alertmanager: tokio::sync::OnceCell<crate::sources::alerts::Endpoint>,
}

/// Who a remediation is for, where the backend records it (an Alertmanager silence's
/// `createdBy` and comment): the operator as the audit trail names them, and the attempt's
/// audit id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub operator: String,
    pub attempt_id: String,
}

impl Signature {
    /// For tests that call the executor directly.
    pub fn test() -> Self {
        Self {
            operator: "test".into(),
            attempt_id: "00000000-0000-0000-0000-000000000000".into(),
        }
    }
}

impl Backends {
    pub fn new(target: TargetConfig) -> Self {
        Self {
            target,
            kube: tokio::sync::OnceCell::new(),
            kube_user: tokio::sync::OnceCell::new(),
            alertmanager: tokio::sync::OnceCell::new(),
        }
    }

    /// The target's Alertmanager client (built on first use).
    async fn alertmanager(&self) -> Result<&crate::sources::alerts::Endpoint, String> {
        let config = self
            .target
            .alertmanager
            .as_ref()
            .ok_or("this target has no [targets.alertmanager]")?;
        self.alertmanager
            .get_or_try_init(|| async { crate::sources::alerts::Endpoint::alertmanager(config) })
            .await
    }

    /// The kubeconfig user of the target's context (for the audit trail), read from the file
    /// on a blocking thread the first time it is asked for, then remembered.
    pub async fn kube_user(&self) -> Option<String> {
        self.kube_user
            .get_or_init(|| async {
                let config = self.target.kubernetes.clone();
                tokio::task::spawn_blocking(move || kube_user(config.as_ref()))
                    .await
                    .ok()
                    .flatten()
            })
            .await
            .clone()
    }

    pub fn target(&self) -> &TargetConfig {
        &self.target
    }

    pub async fn kube(&self) -> Result<&kube::Client, String> {
        let config = self
            .target
            .kubernetes
            .clone()
            .ok_or("this target has no [targets.kubernetes]")?;
        self.kube
            .get_or_try_init(|| async move {
                crate::sources::kubernetes::connect(&config)
                    .await
                    .map(|(client, _)| client)
            })
            .await
    }

    fn postgres(&self, entry: usize) -> Result<&crate::config::PostgresConfig, String> {
        self.target
            .postgres
            .get(entry)
            .ok_or_else(|| format!("no [[targets.postgres]] entry {entry}"))
    }

    fn redis(&self, entry: usize) -> Result<&crate::config::RedisConfig, String> {
        self.target
            .redis
            .get(entry)
            .ok_or_else(|| format!("no [[targets.redis]] entry {entry}"))
    }
}

/// The kubeconfig user of the target's context.
fn kube_user(config: Option<&crate::config::KubernetesConfig>) -> Option<String> {
    let config = config?;
    let kubeconfig = match &config.kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path).ok()?,
        None => kube::config::Kubeconfig::read().ok()?,
    };
    let context = config
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())?;
    kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.user.clone())
}

fn namespace(plan: &Plan) -> Result<&str, String> {
    match &plan.place {
        Place::Kubernetes { namespace, .. } => Ok(namespace),
        _ => Err("not a Kubernetes action".into()),
    }
}

fn entry(plan: &Plan) -> usize {
    match plan.place {
        Place::Postgres { entry, .. } | Place::Redis { entry, .. } => entry,
        Place::Kubernetes { .. } | Place::Alertmanager => 0,
    }
}

/// The Deployment's revisions, newest first.
pub async fn history(
    backends: &Backends,
    namespace: &str,
    name: &str,
) -> Result<Vec<HistoryEntry>, String> {
    let client = backends.kube().await?;
    let mut revisions = kube_exec::rollout_history(client, namespace, name)
        .await
        .map_err(|e| e.to_string())?;
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    Ok(revisions
        .into_iter()
        .map(|r| HistoryEntry {
            revision: r.revision,
            created: r.created,
            images: r.images,
            change_cause: r.change_cause,
            current: r.current,
        })
        .collect())
}

/// What the plan would do: a server-side dry run (Kubernetes) or a read-only query (SQL, Redis).
/// Changes nothing.
pub async fn preview(backends: &Backends, plan: &Plan) -> Result<Preview, Failure> {
    match &plan.action {
        ActionKind::RolloutRestart { kind, name } => {
            let client = backends.kube().await?;
            let ns = namespace(plan)?;
            let outcome = kube_exec::rollout_restart(client, ns, *kind, name, true).await?;
            Ok(Preview {
                summary: format!(
                    "dry run ok: {} {name} rolls out new pods ({} = {})",
                    kind.resource(),
                    outcome.annotation,
                    outcome.restarted_at
                ),
                lines: Vec::new(),
                ..Preview::default()
            })
        }
        ActionKind::RolloutUndo { name, to_revision } => {
            let client = backends.kube().await?;
            let ns = namespace(plan)?;
            let outcome = kube_exec::rollout_undo(client, ns, name, *to_revision, true).await?;
            let summary = if outcome.skipped {
                outcome.message.clone()
            } else {
                format!(
                    "revision {}: images {} -> {}",
                    outcome.revision,
                    outcome.images_before.join(", "),
                    outcome.images_after.join(", ")
                )
            };
            Ok(Preview {
                summary,
                lines: vec![format!("dry run: {}", outcome.message)],
                ..Preview::default()
            })
        }
        ActionKind::Scale { name, to, .. } => {
            let client = backends.kube().await?;
            let ns = namespace(plan)?;
            let (from, to) = kube_exec::scale(client, ns, name, *to, true).await?;
            let mut lines = Vec::new();
            if to < from {
                lines.push(format!("{} pods would be removed", from - to));
            } else if to > from {
                lines.push(format!("{} pods would be added", to - from));
            }
            Ok(Preview {
                summary: format!("replicas {from} -> {to}"),
                lines,
                ..Preview::default()
            })
        }
        ActionKind::DeletePod { name, grace, force } => {
            let client = backends.kube().await?;
            let ns = namespace(plan)?;
            let text = kube_exec::delete_pod(client, ns, name, *grace, *force, true).await?;
            Ok(Preview {
                summary: format!("pod {name} would go"),
                lines: vec![sanitize_truncated(&text, LINE)],
                ..Preview::default()
            })
        }
        ActionKind::RestartOperator { selector } => {
            let client = backends.kube().await?;
            let ns = namespace(plan)?;
            let names = kube_exec::delete_pods(client, ns, selector, true).await?;
            if names.is_empty() {
                return Err(format!("no pods match {selector} in {ns}").into());
            }
            Ok(Preview {
                summary: match names.len() {
                    1 => "1 pod would be deleted and recreated".to_string(),
                    n => format!("{n} pods would be deleted and recreated"),
                },
                lines: names.iter().map(|n| format!("pod {n}")).collect(),
                ..Preview::default()
            })
        }
        ActionKind::PgCancel { .. }
        | ActionKind::PgTerminate { .. }
        | ActionKind::PgTerminateIdle { .. } => {
            let config = backends.postgres(entry(plan))?;
            let sessions = sql_exec::preview_pg(config, &plan.action).await?;
            if sessions.is_empty() {
                return Err("no session matches now".into());
            }
            let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
            let lines = sessions
                .iter()
                .map(|s| {
                    sanitize_truncated(
                        &format!(
                            "pid {} · {} · {} · {} · {} · {}",
                            s.pid,
                            s.usename.as_deref().unwrap_or("-"),
                            s.application_name.as_deref().unwrap_or("-"),
                            s.state.as_deref().unwrap_or("unknown"),
                            s.seconds.map_or("-".into(), |x| {
                                crate::text::format_age(Duration::from_secs_f64(x.max(0.0)))
                            }),
                            s.query
                        ),
                        LINE,
                    )
                })
                .collect();
            let n = sessions.len();
            let noun = if n == 1 { "session" } else { "sessions" };
            Ok(Preview {
                summary: format!("{n} {noun} would be hit: {}", sql_exec::pid_list(&pids)),
                lines,
                sessions: sessions
                    .into_iter()
                    .map(|s| PreviewSession {
                        pid: s.pid,
                        user: s.usename,
                        application: s.application_name,
                        state: s.state,
                        age_secs: s.seconds.map(|x| x.max(0.0) as u64),
                        query: s.query,
                    })
                    .collect(),
            })
        }
        ActionKind::RedisKill { id } => {
            let config = backends.redis(entry(plan))?;
            let line = sql_exec::preview_redis(config, *id)
                .await?
                .ok_or_else(|| format!("no client with id {id}"))?;
            Ok(Preview {
                summary: format!("client {id} would be disconnected"),
                lines: vec![sanitize_truncated(&line, LINE)],
                ..Preview::default()
            })
        }
        ActionKind::Silence {
            matchers,
            duration_secs,
            ..
        } => {
            // Alertmanager's own matching: the alerts it returns for the matchers as filters.
            let am = backends.alertmanager().await?;
            let path = format!("/api/v2/alerts?{}", alerts::filter_query(matchers));
            let body = am
                .send("Alertmanager alerts", Method::GET, &path, None)
                .await?;
            let hit = alerts::parse_alertmanager_alerts(&body)?;
            let until = std::time::SystemTime::now() + Duration::from_secs(*duration_secs);
            let length = humantime::format_duration(Duration::from_secs(*duration_secs));
            let until = crate::timestamp::rfc3339_system(until);
            let summary = match hit.len() {
                0 => format!("matches no alert now; silenced for {length} (until {until})"),
                1 => format!("1 alert would be silenced for {length} (until {until})"),
                n => format!("{n} alerts would be silenced for {length} (until {until})"),
            };
            Ok(Preview {
                summary,
                lines: hit.iter().map(|a| alert_line(a, matchers)).collect(),
                ..Preview::default()
            })
        }
        ActionKind::ExpireSilence { id } => {
            let am = backends.alertmanager().await?;
            let body = am
                .send(
                    "Alertmanager silences",
                    Method::GET,
                    "/api/v2/silences",
                    None,
                )
                .await?;
            let silence = alerts::parse_silences(&body)?
                .into_iter()
                .find(|s| &s.id == id)
                .filter(|s| s.state != alerts::SilenceState::Expired)
                .ok_or_else(|| format!("silence {id} is not active or pending any more"))?;
            let path = "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true";
            let body = am
                .send("Alertmanager alerts", Method::GET, path, None)
                .await?;
            let muted: Vec<alerts::Alert> = alerts::parse_alertmanager_alerts(&body)?
                .into_iter()
                .filter(|a| a.silenced_by.contains(id))
                .collect();
            let again = muted.iter().filter(|a| a.silenced_by.len() == 1).count();
            let mut lines = vec![sanitize_truncated(
                &format!(
                    "silence {id} by {}: {} ({})",
                    silence.created_by,
                    silence
                        .matchers
                        .iter()
                        .map(alerts::Matcher::text)
                        .collect::<Vec<_>>()
                        .join(", "),
                    silence.comment
                ),
                LINE,
            )];
            for alert in &muted {
                let line = alert_line(alert, &silence.matchers);
                lines.push(if alert.silenced_by.len() == 1 {
                    format!("notifies again: {line}")
                } else {
                    format!("stays silenced by another silence: {line}")
                });
            }
            Ok(Preview {
                summary: match again {
                    1 => "1 alert would notify again".to_string(),
                    n => format!("{n} alerts would notify again"),
                },
                lines,
                ..Preview::default()
            })
        }
    }
}

/// One alert of a silence's preview: its name and the labels the matchers do not already
/// pin, sanitised and cut to a line.
fn alert_line(alert: &alerts::Alert, matchers: &[alerts::Matcher]) -> String {
    let pinned = |name: &str| {
        matchers
            .iter()
            .any(|m| m.name == name && m.is_equal && !m.is_regex)
    };
    let labels: Vec<String> = alert
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname" && !pinned(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    sanitize_truncated(
        &format!(
            "{} {} {{{}}}",
            alert.state.label(),
            alert.name,
            labels.join(", ")
        ),
        LINE,
    )
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// One line for the status bar.
    pub summary: String,
    /// PostgreSQL actions: the sessions signalled (for the audit trail); None for the others.
    pub pids: Option<Vec<i32>>,
}

impl From<String> for Done {
    fn from(summary: String) -> Self {
        Self {
            summary,
            pids: None,
        }
    }
}

/// Executes the plan. Refuses in read-only mode before touching anything: this is the last of
/// the three layers, and holds even if the keymap and the planner were bypassed.
/// Returns a one-line summary (and the pids a PostgreSQL action hit), or the server's exact
/// error.
pub async fn execute(
    backends: &Backends,
    plan: &Plan,
    policy: &ReadOnlyPolicy,
    signature: &Signature,
) -> Result<Done, Failure> {
    policy
        .check_mutation_allowed("remediation")
        .map_err(Failure::ReadOnly)?;
    let summary = match &plan.action {
        ActionKind::RolloutRestart { kind, name } => {
            let client = backends.kube().await?;
            let outcome =
                kube_exec::rollout_restart(client, namespace(plan)?, *kind, name, false).await?;
            Ok(format!(
                "restarted {} {name} ({})",
                kind.resource(),
                outcome.restarted_at
            ))
        }
        ActionKind::RolloutUndo { name, to_revision } => {
            let client = backends.kube().await?;
            let outcome =
                kube_exec::rollout_undo(client, namespace(plan)?, name, *to_revision, false)
                    .await?;
            Ok(if outcome.skipped {
                outcome.message
            } else {
                format!(
                    "deployment {name} rolled back to revision {} ({})",
                    outcome.revision,
                    outcome.images_after.join(", ")
                )
            })
        }
        ActionKind::Scale { name, to, .. } => {
            let client = backends.kube().await?;
            let (from, to) = kube_exec::scale(client, namespace(plan)?, name, *to, false).await?;
            Ok(format!("deployment {name} scaled {from} -> {to}"))
        }
        ActionKind::DeletePod { name, grace, force } => {
            let client = backends.kube().await?;
            kube_exec::delete_pod(client, namespace(plan)?, name, *grace, *force, false).await
        }
        ActionKind::RestartOperator { selector } => {
            let client = backends.kube().await?;
            let names = kube_exec::delete_pods(client, namespace(plan)?, selector, false).await?;
            let pods = if names.len() == 1 { "pod" } else { "pods" };
            Ok(format!(
                "deleted {} {pods} ({})",
                names.len(),
                names.join(", ")
            ))
        }
        ActionKind::PgCancel { .. }
        | ActionKind::PgTerminate { .. }
        | ActionKind::PgTerminateIdle { .. } => {
            let config = backends.postgres(entry(plan))?;
            let outcome = sql_exec::execute_pg(config, &plan.action).await?;
            if outcome.signalled.is_empty() && !outcome.failed.is_empty() {
                let reasons: Vec<String> = outcome
                    .failed
                    .iter()
                    .map(|(pid, why)| format!("pid {pid}: {why}"))
                    .collect();
                return Err(reasons.join("; ").into());
            }
            return Ok(Done {
                summary: outcome.summary,
                pids: Some(outcome.signalled),
            });
        }
        ActionKind::RedisKill { id } => {
            let config = backends.redis(entry(plan))?;
            Ok(sql_exec::execute_redis(config, *id).await?)
        }
        ActionKind::Silence {
            matchers,
            duration_secs,
            comment,
        } => {
            let am = backends.alertmanager().await?;
            let now = std::time::SystemTime::now();
            let ends = now + Duration::from_secs(*duration_secs);
            // The comment carries the attempt id: the silence leads back to its audit lines.
            let comment = format!("{comment} (watchfloor attempt {})", signature.attempt_id);
            let body = alerts::silence_body(matchers, now, ends, &signature.operator, &comment);
            let answer = am
                .send(
                    "Alertmanager",
                    Method::POST,
                    "/api/v2/silences",
                    Some(&body),
                )
                .await?;
            let id = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v["silenceID"].as_str().map(str::to_string))
                .unwrap_or_else(|| "(no id in the answer)".into());
            Ok(format!(
                "silence {} created until {}",
                crate::text::sanitize(&id),
                crate::timestamp::rfc3339_system(ends)
            ))
        }
        ActionKind::ExpireSilence { id } => {
            let am = backends.alertmanager().await?;
            let path = alerts::expire_path(id);
            am.send("Alertmanager", Method::DELETE, &path, None).await?;
            Ok(format!("silence {id} expired"))
        }
    };
    summary.map(Done::from)
}

/// The workload a successful plan rolls ([`ActionKind::rolls`]), to follow until it settles.
pub fn rollout_to_follow(plan: &Plan) -> Option<Rollout> {
    let (kind, name) = plan.action.rolls()?;
    Some(Rollout {
        namespace: namespace(plan).ok()?.to_string(),
        kind,
        name: name.to_string(),
    })
}

/// One observation of a rollout, by its kind's `rollout status` rule.
pub async fn progress(backends: &Backends, rollout: &Rollout) -> Result<Progress, Failure> {
    let client = backends.kube().await?;
    kube_exec::rollout_status(client, &rollout.namespace, rollout.kind, &rollout.name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ReadOnlyInputs;

    #[tokio::test]
    async fn the_executor_refuses_in_read_only_mode_before_any_io() {
        // The kube config points nowhere: if the executor tried, it would fail differently.
        let target: TargetConfig = toml::from_str(
            "name = \"prod\"\n[kubernetes]\nkubeconfig = \"/nonexistent/kubeconfig\"\n",
        )
        .unwrap();
        let backends = Backends::new(target);
        let policy = ReadOnlyPolicy::new(
            ReadOnlyInputs {
                flag: true,
                ..ReadOnlyInputs::default()
            },
            false,
        );
        let plan = Plan {
            target: "prod".into(),
            place: Place::Kubernetes {
                context: "c".into(),
                namespace: "ns".into(),
            },
            action: ActionKind::Scale {
                name: "api".into(),
                from: Some(3),
                to: 0,
            },
            object: "deployment/api".into(),
            change: "replicas 3 -> 0".into(),
            confirm_text: None,
        };
        let error = execute(&backends, &plan, &policy, &Signature::test())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Failure::ReadOnly(why) if why.starts_with("read-only mode")),
            "{error:?}"
        );
        assert!(backends.kube.get().is_none(), "no connection was even made");
    }
}
