//! The Pods pane: pods worst first (or deployments), and the pod detail view.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::columns::{Cut, Spec};
use super::detail::{self, Part};
use super::namespaces;
use super::theme::Theme;
use super::{health_style, waiting_message};
use crate::app::Screen;
use crate::app::pane::{PaneId, PodsMode};
use crate::app::sort::Table as Sorted;
use crate::model::deployments::{DeploymentRow, RolloutState};
use crate::model::pods::PodRow;
use crate::text::format_age;
use crate::text::{sanitize, sanitize_truncated};

pub fn render(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let view = &screen.view.panes[PaneId::Pods.index()];
    if view.detail_open
        && view.mode == PodsMode::Pods
        && let Some(pod) = screen.selected_pod()
    {
        render_detail(frame, area, pod, screen, theme);
        return;
    }
    if view.detail_open
        && view.mode == PodsMode::Deployments
        && let Some(deployment) = screen
            .view
            .visible
            .deployments
            .get(view.selected)
            .and_then(|key| screen.visible_kube().deployments.get(key))
    {
        render_deployment_detail(frame, area, deployment, screen, theme);
        return;
    }
    let [summary, table] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    render_summary(frame, summary, screen, theme);
    match view.mode {
        PodsMode::Pods => render_pods(frame, table, screen, theme),
        PodsMode::Deployments => render_deployments(frame, table, screen, theme),
        mode => super::platform::render(frame, table, mode, screen, theme),
    }
}

/// `42 pods · 3 crit · 5 warn │ ns-a 2✗ 1! /10 · ns-b ...`
fn render_summary(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let Some(summary) = &screen.visible_kube().pod_summary else {
        return;
    };
    let mut spans = vec![
        Span::styled(format!("{} pods", summary.total), theme.base),
        Span::styled(
            format!(" · {} crit", summary.crit),
            if summary.crit > 0 {
                theme.crit
            } else {
                theme.muted
            },
        ),
        Span::styled(
            format!(" · {} warn", summary.warn),
            if summary.warn > 0 {
                theme.warn
            } else {
                theme.muted
            },
        ),
        Span::styled(" │", theme.muted),
    ];
    // The platform's problems come first: a stale backup matters more than a namespace count.
    let kube = screen.visible_kube();
    for problem in kube.platform.headline() {
        spans.push(Span::styled(format!(" {}", sanitize(&problem)), theme.crit));
        spans.push(Span::styled(" │", theme.muted));
    }
    // Namespaces whole, as many as fit, then how many more: a name is never clipped.
    let width = usize::from(area.width);
    let mut used: usize = spans.iter().map(Span::width).sum();
    let entries = &summary.per_namespace;
    let more = |n: usize| format!(" +{n} more");
    let mut shown = 0;
    for (i, (namespace, crit, warn, total)) in entries.iter().enumerate() {
        let mut entry = vec![Span::styled(
            format!(" {}", sanitize(namespace)),
            theme.base,
        )];
        if *crit > 0 {
            entry.push(Span::styled(format!(" {crit}✗"), theme.crit));
        }
        if *warn > 0 {
            entry.push(Span::styled(format!(" {warn}!"), theme.warn));
        }
        entry.push(Span::styled(format!(" /{total} "), theme.muted));
        let after = entries.len() - i - 1;
        let tail = if after > 0 { more(after).width() } else { 0 };
        let entry_width: usize = entry.iter().map(Span::width).sum();
        if used + entry_width + tail > width {
            break;
        }
        used += entry_width;
        spans.extend(entry);
        shown += 1;
    }
    if shown < entries.len() && used + more(entries.len() - shown).width() <= width {
        spans.push(Span::styled(more(entries.len() - shown), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `3h00m`, the time from `at` to `now`; `-` without a time.
pub(super) fn age(now: SystemTime, at: Option<SystemTime>) -> String {
    at.map_or_else(
        || "-".into(),
        |at| format_age(now.duration_since(at).unwrap_or_default()),
    )
}

fn restarts(pod: &PodRow, now: SystemTime) -> String {
    match (pod.restarts, pod.last_restart) {
        (0, _) => "0".into(),
        (n, Some(at)) => format!("{n} ({} ago)", age(now, Some(at))),
        (n, None) => n.to_string(),
    }
}

/// `576 22s` for narrow terminals: count and the age of the last restart.
fn restarts_compact(pod: &PodRow, now: SystemTime) -> String {
    match (pod.restarts, pod.last_restart) {
        (0, _) => "0".into(),
        (n, Some(at)) => {
            let age = now.duration_since(at).unwrap_or_default().as_secs();
            let age = match age {
                0..60 => format!("{age}s"),
                60..3600 => format!("{}m", age / 60),
                3600..86400 => format!("{}h", age / 3600),
                _ => format!("{}d", age / 86400),
            };
            format!("{n} {age}")
        }
        (n, None) => n.to_string(),
    }
}

fn render_pods(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let kube = screen.visible_kube();
    let view = &screen.view.panes[PaneId::Pods.index()];
    if screen.view.visible.pods.is_empty() {
        let message = if view.filter.is_some() {
            "no pods match the filter (Esc clears it)".to_string()
        } else if view.unhealthy && !kube.pods.is_empty() {
            "no unhealthy pods (! shows them all)".to_string()
        } else {
            waiting_message(screen, PaneId::Pods, "pods")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    // Narrow terminals show the restarts compactly (`576 22s`).
    let wide = area.width >= 110;
    let pods = &screen.view.visible.pods;
    let cells = |i: usize| -> Vec<(String, Style)> {
        let Some(pod) = pods.get(i).and_then(|key| kube.pods.get(key)) else {
            return Vec::new();
        };
        let restarts = if wide {
            restarts(pod, screen.view.now)
        } else {
            restarts_compact(pod, screen.view.now)
        };
        vec![
            (sanitize(&pod.namespace), theme.muted),
            (sanitize(&pod.name), Style::default()),
            (
                format!("{}/{}", pod.ready, pod.total),
                if pod.ready < pod.total {
                    theme.warn
                } else {
                    Style::default()
                },
            ),
            (sanitize(&pod.status), health_style(pod.health, theme)),
            (
                restarts,
                if pod.restarts > 0 {
                    theme.warn
                } else {
                    Style::default()
                },
            ),
            (age(screen.view.now, pod.created), Style::default()),
            node_cell(kube, pod, theme),
            cpu_cell(kube, pod),
            memory_cell(kube, pod, theme),
        ]
    };
    let table = namespaces::Table {
        specs: &POD_COLUMNS,
        namespace: 0,
        len: pods.len(),
        namespace_of: &|i| pods[i].0.as_str(),
        spread: screen.view.visible.pods_spread,
        cells: &cells,
        selected: view.selected,
        label: &|h| view.sort.mark(Sorted::Pods, h),
        pane: PaneId::Pods,
    };
    namespaces::render(frame, area, &table, screen, theme);
}

/// The pods table: the name is the last to shrink; the status before the restarts, the age,
/// the namespace (the summary line above names the namespaces) and the node.
/// CPU and MEM (usage against the limit, from the metrics API) hide before the age: the
/// status says what is wrong, usage says how close to OOMKilled.
const POD_COLUMNS: [Spec; 9] = [
    Spec::text("NAMESPACE", 6, 24, 4).cut(Cut::Middle),
    Spec::name("NAME", 12),
    Spec::text("READY", 5, 5, 0),
    Spec::text("STATUS", 7, 28, 1),
    Spec::text("RESTARTS", 3, 14, 2),
    Spec::text("AGE", 3, 6, 3),
    Spec::text("NODE", 6, 30, 5).cut(Cut::Middle),
    Spec::text("CPU", 4, 13, 4),
    Spec::text("MEM", 5, 20, 3),
];

/// `    usage cpu 250m  memory 1.9Gi/2Gi 95%`: the container's last metrics sample against its
/// own memory limit (the OOM killer acts per container), or why there is none.
fn container_usage_line(
    screen: &Screen<'_>,
    pod: &PodRow,
    container: &crate::model::pods::ContainerDetail,
    theme: &Theme,
) -> Option<Line<'static>> {
    use watchfloor_core::platform::{quantity, usage};
    let kube = screen.visible_kube();
    let key = (pod.namespace.clone(), pod.name.clone());
    let Some(sample) = kube.pod_usage.get(&key) else {
        return match &kube.metrics {
            crate::data::MetricsState::Missing(why) => Some(Line::from(vec![
                Span::styled("    usage ", theme.muted),
                Span::styled(sanitize(why), theme.muted),
            ])),
            _ => None,
        };
    };
    let used = sample
        .containers
        .iter()
        .find(|u| u.name == container.name)?;
    // `limits` reads `cpu 500m, memory 2Gi` (or `-`).
    let limit_of = |what: &str| {
        container
            .limits
            .split(',')
            .filter_map(|part| part.trim().strip_prefix(what))
            .map(|q| q.trim().to_string())
            .next()
    };
    let memory_limit = limit_of("memory ").and_then(|q| quantity::memory_bytes(&q));
    let cpu_limit = limit_of("cpu ").and_then(|q| quantity::cpu_millis(&q));
    let level = usage::memory_level(
        used.memory_bytes,
        memory_limit,
        kube.platform_rules().memory_warn,
    );
    Some(Line::from(vec![
        Span::styled("    usage cpu ", theme.muted),
        Span::raw(usage::cpu_cell(used.cpu_millis, cpu_limit)),
        Span::styled("  memory ", theme.muted),
        Span::styled(
            usage::memory_cell(used.memory_bytes, memory_limit),
            match level {
                crate::model::Health::Ok | crate::model::Health::Done => Style::default(),
                level => health_style(level, theme),
            },
        ),
    ]))
}

/// `2-10`, the replica range of the HPA that scales the deployment; `1-3 max` (warned) when
/// it is at its maximum and cannot absorb more load; `-` without an HPA.
fn hpa_cell(
    kube: &crate::data::KubeData,
    deployment: &DeploymentRow,
    theme: &Theme,
) -> (String, Style) {
    match watchfloor_core::platform::hpa::hpa_for(
        kube.hpas.values(),
        "Deployment",
        &deployment.namespace,
        &deployment.name,
    ) {
        Some(hpa) if hpa.at_max => (
            format!("{}-{} max", hpa.min_replicas, hpa.max_replicas),
            theme.warn,
        ),
        Some(hpa) => (
            format!("{}-{}", hpa.min_replicas, hpa.max_replicas),
            Style::default(),
        ),
        None => ("-".into(), Style::default()),
    }
}

/// The pod's node, flagged when the node is not Ready (its pods are about to be evicted).
fn node_cell(kube: &crate::data::KubeData, pod: &PodRow, theme: &Theme) -> (String, Style) {
    match pod.node.as_deref() {
        Some(node) if kube.node_not_ready(node) => {
            (format!("{} NotReady", sanitize(node)), theme.crit)
        }
        Some(node) => (sanitize(node), theme.muted),
        None => ("-".into(), theme.muted),
    }
}

/// `250m/1` (usage / limit), `-` without a sample.
fn cpu_cell(kube: &crate::data::KubeData, pod: &PodRow) -> (String, Style) {
    let key = (pod.namespace.clone(), pod.name.clone());
    match kube.pod_usage.get(&key) {
        Some(usage) => (
            watchfloor_core::platform::usage::cpu_cell(usage.cpu_millis(), pod.resources.cpu_limit),
            Style::default(),
        ),
        None => ("-".into(), Style::default()),
    }
}

/// `1.9Gi/2Gi 95%`, warned near the limit (`[targets.platform] memory_warn`).
fn memory_cell(kube: &crate::data::KubeData, pod: &PodRow, theme: &Theme) -> (String, Style) {
    let key = (pod.namespace.clone(), pod.name.clone());
    match (kube.pod_usage.get(&key), kube.pod_memory_level(&key)) {
        (Some(usage), Some(level)) => (
            watchfloor_core::platform::usage::memory_cell(
                usage.memory_bytes(),
                pod.resources.memory_limit,
            ),
            match level {
                crate::model::Health::Ok | crate::model::Health::Done => Style::default(),
                level => health_style(level, theme),
            },
        ),
        _ => ("-".into(), Style::default()),
    }
}

/// The deployments table: images are cut from the left so the tag stays.
const DEPLOYMENT_COLUMNS: [Spec; 9] = [
    Spec::text("NAMESPACE", 6, 24, 6).cut(Cut::Middle),
    Spec::name("DEPLOYMENT", 10),
    Spec::text("READY", 5, 7, 0),
    Spec::text("UPD", 3, 4, 4),
    Spec::text("AVAIL", 5, 5, 5),
    Spec::text("HPA", 4, 12, 2),
    Spec::text("REV", 3, 4, 2),
    Spec::text("ROLLOUT", 8, 32, 1),
    Spec::text("IMAGES", 12, 60, 3).cut(Cut::Left),
];

fn rollout_label(state: &RolloutState) -> &'static str {
    match state {
        RolloutState::Complete => "complete",
        RolloutState::Progressing => "progressing",
        RolloutState::Stalled => "stalled",
        RolloutState::Paused => "paused",
    }
}

fn render_deployments(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    let kube = screen.visible_kube();
    let view = &screen.view.panes[PaneId::Pods.index()];
    if screen.view.visible.deployments.is_empty() {
        let message = if view.filter.is_some() {
            "no deployments match the filter (Esc clears it)".to_string()
        } else if view.unhealthy && !kube.deployments.is_empty() {
            "no unhealthy deployments (! shows them all)".to_string()
        } else {
            waiting_message(screen, PaneId::Pods, "deployments")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let deployments = &screen.view.visible.deployments;
    let cells = |i: usize| -> Vec<(String, Style)> {
        let Some(d) = deployments.get(i).and_then(|key| kube.deployments.get(key)) else {
            return Vec::new();
        };
        let style = health_style(d.health, theme);
        let rollout = match &d.rollout_message {
            Some(message) if d.rollout != RolloutState::Complete => {
                format!("{}: {}", rollout_label(&d.rollout), message)
            }
            _ => rollout_label(&d.rollout).to_string(),
        };
        vec![
            (sanitize(&d.namespace), theme.muted),
            (sanitize(&d.name), Style::default()),
            (
                format!("{}/{}", d.ready, d.desired),
                if d.ready < d.desired {
                    theme.warn
                } else {
                    Style::default()
                },
            ),
            (d.updated.to_string(), Style::default()),
            (d.available.to_string(), Style::default()),
            hpa_cell(kube, d, theme),
            (
                d.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                Style::default(),
            ),
            (sanitize(&rollout), style),
            (sanitize(&d.images.join(", ")), theme.muted),
        ]
    };
    let table = namespaces::Table {
        specs: &DEPLOYMENT_COLUMNS,
        namespace: 0,
        len: deployments.len(),
        namespace_of: &|i| deployments[i].0.as_str(),
        spread: screen.view.visible.deployments_spread,
        cells: &cells,
        selected: view.selected,
        label: &|h| view.alt_sort.mark(Sorted::Deployments, h),
        pane: PaneId::Pods,
    };
    namespaces::render(frame, area, &table, screen, theme);
}

fn render_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    pod: &PodRow,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let label = |name: &str| Span::styled(format!("{name:>10}  "), theme.muted);
    let mut lines = vec![
        Line::from(vec![
            label("pod"),
            Span::styled(
                format!("{}/{}", sanitize(&pod.namespace), sanitize(&pod.name)),
                theme.title,
            ),
        ]),
        Line::from(vec![
            label("status"),
            Span::styled(sanitize(&pod.status), health_style(pod.health, theme)),
        ]),
        Line::from(vec![
            label("ready"),
            Span::raw(format!(
                "{}/{}   restarts {}   age {}",
                pod.ready,
                pod.total,
                restarts(pod, screen.view.now),
                age(screen.view.now, pod.created)
            )),
        ]),
        Line::from(vec![
            label("node"),
            Span::raw(sanitize(pod.node.as_deref().unwrap_or("-"))),
            Span::styled("   owner ", theme.muted),
            Span::raw(sanitize(pod.owner.as_deref().unwrap_or("-"))),
        ]),
    ];
    match screen.pod_detail(&(pod.namespace.clone(), pod.name.clone())) {
        None => lines.push(Line::styled("loading containers and events…", theme.muted)),
        Some(Err(error)) => lines.push(Line::styled(
            format!("cannot load the pod: {}", sanitize_truncated(error, 300)),
            theme.crit,
        )),
        Some(Ok(detail)) => {
            lines.push(Line::styled("Containers", theme.title));
            for c in &detail.containers {
                let kind = if c.init { " (init)" } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {}{kind}", sanitize(&c.name)), theme.base),
                    Span::styled(format!("  {}", sanitize(&c.image)), theme.muted),
                    Span::styled(
                        format!(
                            "  ready {}  restarts {}",
                            if c.ready { "yes" } else { "no" },
                            c.restarts
                        ),
                        theme.muted,
                    ),
                ]));
                lines.push(Line::from(vec![
                    Span::styled("    state ", theme.muted),
                    Span::raw(sanitize_truncated(&c.state, 200)),
                ]));
                if let Some(t) = &c.last_termination {
                    let when = t
                        .finished
                        .map(|at| format!(" {} ago", age(screen.view.now, Some(at))))
                        .unwrap_or_default();
                    let message = t
                        .message
                        .as_deref()
                        .map(|m| format!(" — {}", sanitize_truncated(m, 120)))
                        .unwrap_or_default();
                    lines.push(Line::from(vec![
                        Span::styled("    last termination ", theme.muted),
                        Span::styled(
                            format!(
                                "{} (exit {}){when}{message}",
                                sanitize(&t.reason),
                                t.exit_code
                            ),
                            theme.crit,
                        ),
                    ]));
                }
                lines.push(Line::from(vec![
                    Span::styled("    requests ", theme.muted),
                    Span::raw(sanitize(&c.requests)),
                    Span::styled("  limits ", theme.muted),
                    Span::raw(sanitize(&c.limits)),
                ]));
                if let Some(line) = container_usage_line(screen, pod, c, theme) {
                    lines.push(line);
                }
            }
            lines.push(Line::styled(
                format!("Events ({})", detail.events.len()),
                theme.title,
            ));
            if detail.events.is_empty() {
                lines.push(Line::styled("  none", theme.muted));
            }
            for e in &detail.events {
                let style = if e.warning { theme.warn } else { theme.muted };
                let count = if e.count > 1 {
                    format!(" x{}", e.count)
                } else {
                    String::new()
                };
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:>6} ", age(screen.view.now, e.last_seen)),
                        theme.muted,
                    ),
                    Span::styled(format!("{}{count} ", sanitize(&e.reason)), style),
                    Span::raw(sanitize_truncated(&e.message, 300)),
                ]));
            }
        }
    }
    lines.push(Line::styled("Esc: back to the list", theme.muted));
    let scroll = screen.view.panes[PaneId::Pods.index()].detail_scroll;
    detail::render(
        frame,
        area,
        vec![Part::Lines(lines)],
        scroll,
        PaneId::Pods,
        screen,
    );
}

/// A deployment: its rollout, conditions, ReplicaSets (revision, replicas, images) and pods.
/// Deployment events are not collected (the pod detail loads a pod's events).
fn render_deployment_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    d: &DeploymentRow,
    screen: &Screen<'_>,
    theme: &Theme,
) {
    let now = screen.view.now;
    let kube = screen.visible_kube();
    let label = |name: &str| Span::styled(format!("{name:>10}  "), theme.muted);
    let rollout = match &d.rollout_message {
        Some(message) => format!("{}: {}", rollout_label(&d.rollout), message),
        None => rollout_label(&d.rollout).to_string(),
    };
    let mut lines = vec![
        Line::from(vec![
            label("deployment"),
            Span::styled(
                format!("{}/{}", sanitize(&d.namespace), sanitize(&d.name)),
                theme.title,
            ),
        ]),
        Line::from(vec![
            label("ready"),
            Span::styled(
                format!("{}/{}", d.ready, d.desired),
                if d.ready < d.desired {
                    theme.warn
                } else {
                    Style::default()
                },
            ),
            Span::raw(format!(
                "   updated {}   available {}   revision {}   age {}",
                d.updated,
                d.available,
                d.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                age(now, d.created)
            )),
        ]),
        Line::from(vec![
            label("rollout"),
            Span::styled(sanitize(&rollout), health_style(d.health, theme)),
        ]),
        Line::from(vec![
            label("images"),
            Span::raw(sanitize(&d.images.join(", "))),
        ]),
        Line::styled(format!("Conditions ({})", d.conditions.len()), theme.title),
    ];
    if d.conditions.is_empty() {
        lines.push(Line::styled("  none reported", theme.muted));
    }
    let kind_width = d
        .conditions
        .iter()
        .map(|c| c.kind.chars().count())
        .max()
        .unwrap_or(0);
    for c in &d.conditions {
        let style = match (c.kind.as_str(), c.status.as_str()) {
            ("ReplicaFailure", "True") => theme.crit,
            (_, "True") => theme.ok,
            (_, "False") => theme.crit,
            _ => theme.warn,
        };
        let since = c
            .last_transition
            .map(|at| format!("  for {}", age(now, Some(at))))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {:<kind_width$}  ", sanitize(&c.kind)),
                theme.base,
            ),
            Span::styled(format!("{:<7}", sanitize(&c.status)), style),
            Span::raw(sanitize(c.reason.as_deref().unwrap_or("-"))),
            Span::styled(since, theme.muted),
        ]));
        if let Some(message) = &c.message {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(kind_width + 4)),
                Span::styled(sanitize(message), theme.muted),
            ]));
        }
    }
    // Its ReplicaSets, newest revision first.
    let mut sets: Vec<&crate::data::ReplicaSetRow> = kube
        .replicasets
        .values()
        .filter(|rs| rs.namespace == d.namespace && rs.deployment.as_deref() == Some(&d.name))
        .collect();
    sets.sort_by(|a, b| {
        b.revision
            .cmp(&a.revision)
            .then_with(|| a.name.cmp(&b.name))
    });
    lines.push(Line::styled(
        format!("ReplicaSets ({})", sets.len()),
        theme.title,
    ));
    if sets.is_empty() {
        lines.push(Line::styled(
            "  none in the data (ReplicaSets are watched with the deployments)",
            theme.muted,
        ));
    } else {
        let name_width = sets
            .iter()
            .map(|rs| rs.name.chars().count())
            .max()
            .unwrap_or(4);
        lines.push(Line::styled(
            format!(
                "    {:>4}  {:<name_width$}  {:>8}  IMAGES",
                "REV", "NAME", "REPLICAS"
            ),
            theme.muted,
        ));
        for rs in &sets {
            let current = rs.revision.is_some() && rs.revision == d.revision;
            let marker = if current { "  ▸ " } else { "    " };
            lines.push(Line::from(vec![
                Span::styled(marker, theme.key),
                Span::styled(
                    format!(
                        "{:>4}  {:<name_width$}  {:>8}  ",
                        rs.revision.map_or_else(|| "-".into(), |r| r.to_string()),
                        sanitize(&rs.name),
                        rs.replicas
                    ),
                    if current { theme.base } else { theme.muted },
                ),
                Span::styled(sanitize(&rs.images.join(", ")), theme.muted),
            ]));
        }
    }
    // Its pods: those a ReplicaSet of it controls.
    let owners: Vec<String> = sets
        .iter()
        .map(|rs| format!("ReplicaSet/{}", rs.name))
        .collect();
    let pods: Vec<&PodRow> = kube
        .pods_sorted()
        .filter(|p| p.namespace == d.namespace)
        .filter(|p| p.owner.as_ref().is_some_and(|o| owners.contains(o)))
        .collect();
    lines.push(Line::styled(format!("Pods ({})", pods.len()), theme.title));
    if pods.is_empty() {
        lines.push(Line::styled("  none", theme.muted));
    }
    for pod in &pods {
        lines.push(Line::from(vec![
            Span::raw(format!("  {}  ", sanitize(&pod.name))),
            Span::styled(sanitize(&pod.status), health_style(pod.health, theme)),
            Span::styled(
                format!(
                    "  ready {}/{}  restarts {}  age {}",
                    pod.ready,
                    pod.total,
                    pod.restarts,
                    age(now, pod.created)
                ),
                theme.muted,
            ),
        ]));
    }
    lines.push(Line::styled("Events", theme.title));
    lines.push(Line::styled(
        "  not collected for deployments: the detail of one of its pods (v, Enter) shows its events",
        theme.muted,
    ));
    lines.push(Line::styled("Esc: back to the list", theme.muted));
    let scroll = screen.view.panes[PaneId::Pods.index()].detail_scroll;
    detail::render(
        frame,
        area,
        vec![Part::Lines(lines)],
        scroll,
        PaneId::Pods,
        screen,
    );
}
