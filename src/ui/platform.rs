//! The Pods pane's platform views: StatefulSets, DaemonSets, Jobs, CronJobs, HPAs, nodes,
//! Warning events and certificates, each a table worst first (events: newest first).

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::columns::{Cut, Spec};
use super::namespaces;
use super::pods::age;
use super::theme::Theme;
use super::{health_style, waiting_message};
use crate::app::Screen;
use crate::app::pane::{PaneId, PodsMode};
use crate::app::platform::event_group;
use crate::data::{KubeData, MetricsState, ObjectKey};
use crate::model::Health;
use crate::text::{format_age, sanitize};
use watchfloor_core::platform::certs::CertSource;
use watchfloor_core::platform::events::count_text;
use watchfloor_core::platform::quantity::{format_cpu, format_memory};
use watchfloor_core::platform::workloads::JobState;

const STATEFULSET_COLUMNS: [Spec; 6] = [
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("STATEFULSET", 10),
    Spec::text("READY", 5, 7, 0),
    Spec::text("UPD", 3, 4, 3),
    Spec::text("ROLLOUT", 8, 40, 1),
    Spec::text("AGE", 3, 6, 2),
];

const DAEMONSET_COLUMNS: [Spec; 8] = [
    Spec::text("NAMESPACE", 6, 24, 5).cut(Cut::Middle),
    Spec::name("DAEMONSET", 10),
    Spec::text("DESIRED", 3, 7, 0),
    Spec::text("READY", 3, 5, 0),
    Spec::text("UPD", 3, 4, 3),
    Spec::text("AVAIL", 3, 5, 4),
    Spec::text("ROLLOUT", 8, 40, 1),
    Spec::text("AGE", 3, 6, 2),
];

const JOB_COLUMNS: [Spec; 7] = [
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("JOB", 10),
    Spec::text("STATUS", 6, 10, 0),
    Spec::text("COMPLETIONS", 5, 11, 1),
    Spec::text("DURATION", 3, 8, 3),
    Spec::text("AGE", 3, 6, 2),
    Spec::text("WHY", 8, 60, 5),
];

const CRONJOB_COLUMNS: [Spec; 8] = [
    Spec::text("NAMESPACE", 6, 24, 5).cut(Cut::Middle),
    Spec::name("CRONJOB", 10),
    Spec::text("SCHEDULE", 5, 20, 2),
    Spec::text("SUSPEND", 3, 7, 6),
    Spec::text("ACTIVE", 3, 6, 4),
    Spec::text("LAST RUN", 4, 8, 3),
    Spec::text("LAST OK", 4, 8, 1),
    Spec::text("CHECK", 10, 70, 0),
];

const HPA_COLUMNS: [Spec; 7] = [
    Spec::text("NAMESPACE", 6, 24, 5).cut(Cut::Middle),
    Spec::name("HPA", 8),
    Spec::text("REFERENCE", 8, 40, 3).cut(Cut::Middle),
    Spec::text("TARGETS", 8, 40, 1),
    Spec::text("MIN/MAX", 5, 9, 2),
    Spec::text("REPLICAS", 3, 9, 0),
    Spec::text("STATE", 6, 40, 4),
];

const NODE_COLUMNS: [Spec; 8] = [
    Spec::name("NODE", 10),
    Spec::text("STATUS", 5, 40, 0),
    Spec::text("ROLES", 4, 20, 6),
    Spec::text("PODS", 3, 9, 3),
    Spec::text("CPU REQ", 5, 18, 2),
    Spec::text("MEM REQ", 5, 22, 1),
    Spec::text("USAGE", 6, 24, 4),
    Spec::text("VERSION", 5, 12, 7),
];

const EVENT_COLUMNS: [Spec; 6] = [
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("OBJECT", 12),
    Spec::text("REASON", 6, 24, 0),
    Spec::text("LAST", 3, 6, 1),
    Spec::text("COUNT", 3, 14, 2),
    Spec::text("MESSAGE", 10, 100, 3),
];

const CERTIFICATE_COLUMNS: [Spec; 7] = [
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("CERTIFICATE", 10),
    Spec::text("READY", 4, 5, 1),
    Spec::text("EXPIRES", 4, 10, 0),
    Spec::text("CHECK", 10, 60, 2),
    Spec::text("SECRET", 6, 40, 5).cut(Cut::Middle),
    Spec::text("DNS / INGRESS", 6, 60, 6),
];

/// `in 5d`, `2d ago`, from `now` to `at`.
fn until(now: SystemTime, at: Option<SystemTime>) -> String {
    match at {
        None => "-".into(),
        Some(at) => match at.duration_since(now) {
            Ok(left) => format!("in {}", format_age(left)),
            Err(past) => format!("{} ago", format_age(past.duration())),
        },
    }
}

/// The specs, the rows' cells and the namespace column of `mode`'s table.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    mode: PodsMode,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let kube = screen.visible_kube();
    let view = &screen.view.panes[PaneId::Pods.index()];
    let keys = &screen.view.visible.platform;
    let now = screen.view.now;
    if keys.is_empty() {
        let noun = mode.noun();
        let message = if view.filter.is_some() {
            format!("no {noun} match the filter (Esc clears it)")
        } else if view.unhealthy {
            format!("no unhealthy {noun} (! shows them all)")
        } else if let Some((plural, why)) = unavailable(kube, mode) {
            format!("{plural} are not watched: {}", sanitize(why))
        } else if mode == PodsMode::Certificates && kube.cert_manager == Some(false) {
            "no certificates: cert-manager is not installed, and no Ingress names a TLS Secret"
                .into()
        } else {
            waiting_message(screen, PaneId::Pods, noun)
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let cells = |i: usize| -> Vec<(String, Style)> {
        keys.get(i)
            .map(|key| row_cells(kube, mode, key, now, theme))
            .unwrap_or_default()
    };
    let (specs, namespace): (&[Spec], usize) = match mode {
        PodsMode::StatefulSets => (&STATEFULSET_COLUMNS, 0),
        PodsMode::DaemonSets => (&DAEMONSET_COLUMNS, 0),
        PodsMode::Jobs => (&JOB_COLUMNS, 0),
        PodsMode::CronJobs => (&CRONJOB_COLUMNS, 0),
        PodsMode::Hpas => (&HPA_COLUMNS, 0),
        // Nodes have no namespace: the table's "namespace" is the node's (empty) key part.
        PodsMode::Nodes => (&NODE_COLUMNS, usize::MAX),
        PodsMode::Events => (&EVENT_COLUMNS, 0),
        PodsMode::Certificates => (&CERTIFICATE_COLUMNS, 0),
        PodsMode::Pods | PodsMode::Deployments => return,
    };
    let table = namespaces::Table {
        specs,
        namespace,
        len: keys.len(),
        namespace_of: &|i| keys[i].0.as_str(),
        spread: screen.view.visible.platform_spread,
        cells: &cells,
        selected: view.selected,
        label: &|h| std::borrow::Cow::Borrowed(h),
        pane: PaneId::Pods,
    };
    namespaces::render(frame, area, &table, screen, theme);
}

/// Why the platform source left out the kind (or one the view needs): forbidden or not served.
fn unavailable(kube: &KubeData, mode: PodsMode) -> Option<(&str, &str)> {
    let plurals: &[&str] = match mode {
        PodsMode::StatefulSets => &["statefulsets"],
        PodsMode::DaemonSets => &["daemonsets"],
        PodsMode::Jobs => &["jobs"],
        PodsMode::CronJobs => &["cronjobs"],
        PodsMode::Hpas => &["horizontalpodautoscalers"],
        PodsMode::Nodes => &["nodes"],
        PodsMode::Events => &["events"],
        PodsMode::Certificates => &["certificates", "ingresses", "secrets"],
        PodsMode::Pods | PodsMode::Deployments => &[],
    };
    plurals.iter().find_map(|plural| {
        kube.unavailable
            .get_key_value(*plural)
            .map(|(p, why)| (p.as_str(), why.as_str()))
    })
}

fn count_style(ok: bool, theme: &Theme) -> Style {
    if ok { Style::default() } else { theme.warn }
}

/// One row's cells, in the order of its table's specs.
fn row_cells(
    kube: &KubeData,
    mode: PodsMode,
    key: &ObjectKey,
    now: SystemTime,
    theme: &Theme,
) -> Vec<(String, Style)> {
    let muted = theme.muted;
    let plain = Style::default();
    match mode {
        PodsMode::StatefulSets => {
            let Some(s) = kube.statefulsets.get(key) else {
                return Vec::new();
            };
            vec![
                (sanitize(&s.namespace), muted),
                (sanitize(&s.name), plain),
                (
                    format!("{}/{}", s.ready, s.desired),
                    count_style(s.ready >= s.desired, theme),
                ),
                (s.updated.to_string(), plain),
                (sanitize(&s.rollout), health_style(s.health, theme)),
                (age(now, s.created), plain),
            ]
        }
        PodsMode::DaemonSets => {
            let Some(d) = kube.daemonsets.get(key) else {
                return Vec::new();
            };
            vec![
                (sanitize(&d.namespace), muted),
                (sanitize(&d.name), plain),
                (d.desired.to_string(), plain),
                (
                    d.ready.to_string(),
                    count_style(d.ready >= d.desired, theme),
                ),
                (d.updated.to_string(), plain),
                (d.available.to_string(), plain),
                (sanitize(&d.rollout), health_style(d.health, theme)),
                (age(now, d.created), plain),
            ]
        }
        PodsMode::Jobs => {
            let Some(j) = kube.jobs.get(key) else {
                return Vec::new();
            };
            let state = match j.state {
                JobState::Running => "Running",
                JobState::Complete => "Complete",
                JobState::Failed => "Failed",
                JobState::Suspended => "Suspended",
            };
            let completions = match j.completions {
                Some(n) => format!("{}/{n}", j.succeeded),
                None => format!("{}/1 of 1", j.succeeded),
            };
            let duration = match (j.started, j.finished) {
                (Some(start), Some(end)) => {
                    format_age(end.duration_since(start).unwrap_or_default())
                }
                (Some(start), None) => format_age(now.duration_since(start).unwrap_or_default()),
                _ => "-".into(),
            };
            let why = match (&j.reason, j.failed) {
                (Some(reason), _) => reason.clone(),
                (None, 0) => String::new(),
                (None, failed) => format!("{failed} failed pods"),
            };
            vec![
                (sanitize(&j.namespace), muted),
                (sanitize(&j.name), plain),
                (state.into(), health_style(j.health, theme)),
                (completions, plain),
                (duration, plain),
                (age(now, j.created), plain),
                (sanitize(&why), muted),
            ]
        }
        PodsMode::CronJobs => {
            let Some(c) = kube.cronjobs.get(key) else {
                return Vec::new();
            };
            let check = kube.cronjob_checks.get(key);
            let health = check.map_or(Health::Ok, |c| c.health);
            let schedule = match &c.time_zone {
                Some(zone) => format!("{} {zone}", c.schedule),
                None => c.schedule.clone(),
            };
            let backup = kube
                .platform_rules()
                .backups
                .iter()
                .any(|(ns, name)| *ns == c.namespace && *name == c.name);
            let name = if backup {
                format!("{} (backup)", c.name)
            } else {
                c.name.clone()
            };
            vec![
                (sanitize(&c.namespace), muted),
                (sanitize(&name), plain),
                (sanitize(&schedule), muted),
                (
                    if c.suspended { "yes" } else { "-" }.into(),
                    if c.suspended { theme.warn } else { plain },
                ),
                (c.active.to_string(), plain),
                (age(now, c.last_schedule), plain),
                (age(now, c.last_success), health_style(health, theme)),
                (
                    sanitize(check.map(|c| c.reason.as_str()).unwrap_or("-")),
                    health_style(health, theme),
                ),
            ]
        }
        PodsMode::Hpas => {
            let Some(h) = kube.hpas.get(key) else {
                return Vec::new();
            };
            let targets: Vec<String> = h.metrics.iter().map(|m| m.text()).collect();
            let state = match (&h.reason, h.health) {
                (Some(reason), _) => reason.clone(),
                (None, Health::Ok) => "ok".into(),
                (None, _) => "-".into(),
            };
            vec![
                (sanitize(&h.namespace), muted),
                (sanitize(&h.name), plain),
                (
                    sanitize(&format!("{}/{}", h.target_kind, h.target_name)),
                    muted,
                ),
                (sanitize(&targets.join(", ")), plain),
                (format!("{}/{}", h.min_replicas, h.max_replicas), plain),
                (
                    if h.desired_replicas == h.current_replicas {
                        h.current_replicas.to_string()
                    } else {
                        format!("{}→{}", h.current_replicas, h.desired_replicas)
                    },
                    if h.at_max { theme.warn } else { plain },
                ),
                (sanitize(&state), health_style(h.health, theme)),
            ]
        }
        PodsMode::Nodes => {
            let Some(n) = kube.nodes.get(key) else {
                return Vec::new();
            };
            let (health, status) = kube
                .node_checks
                .get(&n.name)
                .cloned()
                .unwrap_or((Health::Ok, "Ready".into()));
            let load = kube.node_loads.get(&n.name).copied().unwrap_or_default();
            let pods = match n.allocatable_pods {
                Some(max) => format!("{}/{max}", load.pods),
                None => load.pods.to_string(),
            };
            let share = |used: u64, of: Option<u64>, fmt: fn(u64) -> String| match of {
                Some(of) if of > 0 => format!(
                    "{}/{} {}%",
                    fmt(used),
                    fmt(of),
                    used.saturating_mul(100) / of
                ),
                _ => fmt(used),
            };
            let usage = match (kube.node_usage.get(&n.name), &kube.metrics) {
                (Some(u), _) => format!(
                    "{} {}",
                    format_cpu(u.cpu_millis),
                    format_memory(u.memory_bytes)
                ),
                (None, MetricsState::Missing(_)) => "n/a".into(),
                (None, _) => "-".into(),
            };
            vec![
                (sanitize(&n.name), plain),
                (sanitize(&status), health_style(health, theme)),
                (sanitize(&n.roles.join(",")), muted),
                (pods, plain),
                (
                    share(load.cpu_requested, n.allocatable_cpu, format_cpu),
                    plain,
                ),
                (
                    share(load.memory_requested, n.allocatable_memory, format_memory),
                    plain,
                ),
                (usage, muted),
                (sanitize(&n.version), muted),
            ]
        }
        PodsMode::Events => {
            let Some(g) = event_group(kube, key) else {
                return Vec::new();
            };
            vec![
                (sanitize(&g.namespace), muted),
                (
                    sanitize(&format!("{}/{}", g.involved_kind, g.involved_name)),
                    plain,
                ),
                (
                    sanitize(&g.reason),
                    if g.warning { theme.warn } else { plain },
                ),
                (age(now, g.last), plain),
                (count_text(g, now), muted),
                (sanitize(&g.message), plain),
            ]
        }
        PodsMode::Certificates => {
            let Some(c) = kube.certificates.get(key) else {
                return Vec::new();
            };
            let (health, check) = kube
                .cert_checks
                .get(key)
                .cloned()
                .unwrap_or((Health::Ok, "-".into()));
            let ready = match c.ready {
                Some(true) => "True",
                Some(false) => "False",
                None => "?",
            };
            let names = match &c.source {
                CertSource::CertManager => c.dns_names.join(","),
                CertSource::IngressSecret { ingresses } => {
                    format!("ingress {}", ingresses.join(","))
                }
            };
            vec![
                (sanitize(&c.namespace), muted),
                (sanitize(&c.name), plain),
                (
                    ready.into(),
                    if c.ready == Some(true) {
                        plain
                    } else {
                        theme.crit
                    },
                ),
                (until(now, c.not_after), health_style(health, theme)),
                (sanitize(&check), health_style(health, theme)),
                (sanitize(c.secret.as_deref().unwrap_or("-")), muted),
                (sanitize(&names), muted),
            ]
        }
        PodsMode::Pods | PodsMode::Deployments => Vec::new(),
    }
}
