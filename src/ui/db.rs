//! The DB pane: "are we running out of connections, and who is holding them?"
//!
//! A block per database: PostgreSQL shows used against usable slots with a gauge, sessions by
//! state, what the console's role can see and signal, long-running queries, old idle
//! transactions, blocking chains as trees and the top clients; Redis shows clients, memory,
//! evictions, rejections, throughput and hit ratio. When space is short the selected block keeps
//! its room and the others fold to their header. The detail views list a database's sessions in
//! the app's chosen order, or a cache's clients.
//!
//! Everything here only reads `App`: orders and filters were built by `App::prepare_view`.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, TableState, Wrap};
use unicode_width::UnicodeWidthStr;

use super::columns::{Cut, Spec, fit_table, fit_table_with};
use super::detail::{self, Part};
use super::theme::Theme;
use super::{freshness_style, health_style, scrolled, waiting_message};
use crate::app::pane::PaneId;
use crate::app::sort::Table as Sorted;
use crate::app::status::{Freshness, SourceOrigin, format_age};
use crate::app::{DbRow, Screen};
use crate::db::postgres::{PgStatus, STATES, Session, UNKNOWN_STATE, waiting_on};
use crate::db::redis::RedisStatus;
use crate::text::sanitize;

/// The selected block keeps at least this many lines when many databases compete for room.
const MIN_EXPANDED: usize = 4;

pub fn render(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>, theme: &Theme) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let view = &screen.view.panes[PaneId::Db.index()];
    if view.detail_open
        && let Some(row) = screen.selected_db()
    {
        if let (DbRow::Postgres(index), Some(pid)) = (row, view.session) {
            render_session_detail(frame, area, screen, theme, index, pid);
            return;
        }
        match row {
            DbRow::Postgres(index) => render_sessions(frame, area, screen, theme, index),
            DbRow::Redis(index) => render_clients(frame, area, screen, theme, index),
        }
        return;
    }
    if screen.view.visible.db.is_empty() {
        let message = if view.filter.is_some() {
            "no databases match the filter (Esc clears it)".to_string()
        } else {
            waiting_message(screen, PaneId::Db, "databases")
        };
        frame.render_widget(
            Paragraph::new(Line::styled(message, theme.muted)).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let width = usize::from(area.width);
    let height = usize::from(area.height);
    let rows = &screen.view.visible.db;
    // Every database shows at least its header: a page is all of them.
    screen.view.drawn.set_page(PaneId::Db, rows.len());
    let selected = view.selected.min(rows.len() - 1);
    // With several databases, the focused pane marks the one Enter opens.
    let focused = screen.view.focus == PaneId::Db;
    let several = rows.len() > 1 && focused;
    let blocks: Vec<DbBlock> = rows
        .iter()
        .map(|row| block(screen, theme, *row, width, height))
        .collect();

    let full: Vec<usize> = blocks.iter().map(DbBlock::full_height).collect();
    let (budgets, gaps) = plan(&full, selected, height);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut selected_span = (0, 0);
    for (i, (block, budget)) in blocks.iter().zip(&budgets).enumerate() {
        if i > 0 && gaps[i - 1] {
            lines.push(Line::raw(""));
        }
        let start = lines.len();
        let marker = if !several {
            ""
        } else if i == selected {
            "▸ "
        } else {
            "  "
        };
        let mut block_lines = block.lines(*budget, width, marker, theme);
        if i == selected
            && focused
            && let Some(header) = block_lines.first_mut()
        {
            *header = std::mem::take(header).style(theme.selected);
        }
        lines.extend(block_lines);
        if i == selected {
            selected_span = (start, lines.len() - start);
        }
    }
    // Keep the selected block in view, its header first.
    let (start, len) = selected_span;
    let offset = (start + len).saturating_sub(height).min(start);
    frame.render_widget(
        Paragraph::new(
            lines
                .into_iter()
                .skip(offset)
                .take(height)
                .collect::<Vec<_>>(),
        ),
        area,
    );
}

/// How many lines each block gets, and whether a blank line follows it. Everything when it
/// fits; otherwise the selected block first, then the other blocks that fit whole (smallest
/// first), then what is left to the next one, the rest folded to their header. Blank lines go
/// around open blocks only, and only when there is room to spare.
fn plan(full: &[usize], selected: usize, height: usize) -> (Vec<usize>, Vec<bool>) {
    let n = full.len();
    let gaps_room = n.saturating_sub(1);
    if full.iter().sum::<usize>() + gaps_room <= height {
        return (full.to_vec(), vec![true; gaps_room]);
    }
    let spaced = height > gaps_room + 2 * MIN_EXPANDED;
    let avail = if spaced { height - gaps_room } else { height };
    let others = n - 1;
    let mut budgets = vec![1; n];
    budgets[selected] = full[selected].min(
        avail
            .saturating_sub(others)
            .max(avail.min(MIN_EXPANDED))
            .max(1),
    );
    let mut room = avail.saturating_sub(budgets[selected] + others);
    // A handful of databases: sorting their indexes is trivial.
    let mut by_size: Vec<usize> = (0..n).filter(|i| *i != selected).collect();
    by_size.sort_by_key(|i| full[*i]);
    for i in by_size {
        if full[i] - 1 <= room {
            room -= full[i] - 1;
            budgets[i] = full[i];
        }
    }
    for i in 0..n {
        if i != selected && budgets[i] == 1 && room >= 2 {
            budgets[i] = full[i].min(1 + room);
            room -= budgets[i] - 1;
        }
    }
    let gaps: Vec<bool> = (1..n)
        .map(|i| spaced && (budgets[i - 1] > 1 || budgets[i] > 1))
        .collect();
    if spaced {
        // Blank lines not drawn between two folded headers go back to the selected block.
        let unused = gaps.iter().filter(|g| !**g).count();
        budgets[selected] = full[selected].min(budgets[selected] + unused);
    }
    (budgets, gaps)
}

/// Whether any database of the pane has figures to summarise.
pub fn has_data(screen: &Screen<'_>) -> bool {
    let db = screen.visible_db();
    screen.view.visible.db.iter().any(|row| match row {
        DbRow::Postgres(i) => db.postgres.contains_key(i),
        DbRow::Redis(i) => db.redis.contains_key(i),
    })
}

/// The one-line summary of the stacked layout, e.g.
/// `· platform-db 41/47 ▮▮▮▮▯ 1 chain 2 idle-in-tx · platform-cache 412/10000`.
pub fn summary(screen: &Screen<'_>, theme: &Theme) -> Vec<Span<'static>> {
    let db = screen.visible_db();
    let mut spans = vec![Span::styled("·", theme.muted)];
    for (n, row) in screen.view.visible.db.iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" ·", theme.muted));
        }
        spans.push(Span::styled(
            format!(" {}", row_name(screen, *row)),
            theme.base,
        ));
        let freshness = row_freshness(screen, *row);
        let live = matches!(freshness, Freshness::Live);
        match row {
            DbRow::Postgres(i) => match db.postgres.get(i) {
                Some(status) => {
                    let style = data_style(health_style(status.level, theme), live, theme);
                    spans.push(Span::styled(
                        format!(" {}/{}", status.used, status.usable),
                        style,
                    ));
                    spans.push(Span::styled(
                        format!(" {}", mini_gauge(ratio(status.used, status.usable))),
                        style,
                    ));
                    let chains = status.blocking.len();
                    if chains > 0 {
                        spans.push(Span::styled(
                            format!(" {chains} chain{}", plural(chains)),
                            data_style(theme.crit, live, theme),
                        ));
                    }
                    let idle = status.idle_in_transaction.len();
                    if idle > 0 {
                        spans.push(Span::styled(
                            format!(" {idle} idle-in-tx"),
                            data_style(theme.warn, live, theme),
                        ));
                    }
                    let long = status.long_running.len();
                    if long > 0 {
                        spans.push(Span::styled(
                            format!(" {long} long"),
                            data_style(theme.warn, live, theme),
                        ));
                    }
                    if status.sample.simulated {
                        spans.push(Span::styled(" SIM", theme.stale));
                    }
                }
                None => spans.push(Span::styled(
                    format!(" {}", short_freshness(&freshness)),
                    freshness_style(&freshness, theme),
                )),
            },
            DbRow::Redis(i) => match db.redis.get(i) {
                Some(status) => {
                    let style = status.maxclients.map_or(theme.base, |max| {
                        fraction_style(status.connected_clients as f64 / max.max(1) as f64, theme)
                    });
                    let style = data_style(style, live, theme);
                    let clients = match status.maxclients {
                        Some(max) => format!(" {}/{max}", status.connected_clients),
                        None => format!(" {} clients", status.connected_clients),
                    };
                    spans.push(Span::styled(clients, style));
                    if status.rejected_per_s.is_some_and(|r| r > 0.0) {
                        spans.push(Span::styled(
                            " rejecting",
                            data_style(theme.crit, live, theme),
                        ));
                    }
                    if status.evicted_per_s.is_some_and(|r| r > 0.0) {
                        spans.push(Span::styled(
                            " evicting",
                            data_style(theme.warn, live, theme),
                        ));
                    }
                    if status.simulated {
                        spans.push(Span::styled(" SIM", theme.stale));
                    }
                }
                None => spans.push(Span::styled(
                    format!(" {}", short_freshness(&freshness)),
                    freshness_style(&freshness, theme),
                )),
            },
        }
        if !live && has_row_data(screen, *row) {
            spans.push(Span::styled(
                format!(" ({})", short_freshness(&freshness)),
                freshness_style(&freshness, theme),
            ));
        }
    }
    spans
}

// ---------------------------------------------------------------------------------------------
// Blocks

/// A titled list inside a block, e.g. the long-running queries.
struct Section {
    title: Vec<Span<'static>>,
    /// The first items (no more than the pane can show).
    items: Vec<Vec<Span<'static>>>,
    /// How many there are in all.
    total: usize,
    /// Something is wrong (a blocking chain, a long query...): gets a line before the rest.
    alert: bool,
}

/// One database as the pane draws it, before it is fitted to its share of the height.
struct DbBlock {
    header: Vec<Span<'static>>,
    /// The header when the block is folded to one line: compact, with its alerts.
    folded: Vec<Span<'static>>,
    /// Shown under the header whenever the block is open.
    lead: Vec<Vec<Span<'static>>>,
    /// In priority order: when room is short, later sections get less.
    sections: Vec<Section>,
    /// Old figures (stale or in error): drawn muted.
    dim: bool,
}

impl DbBlock {
    fn full_height(&self) -> usize {
        1 + self.lead.len() + self.sections.iter().map(|s| 1 + s.total).sum::<usize>()
    }

    /// At most `budget` lines: the header, the lead, then section titles (with their counts),
    /// then items: first one per alert section, then the rest in priority order. A cut list says how
    /// many it leaves out in its title.
    fn lines(
        &self,
        budget: usize,
        width: usize,
        marker: &'static str,
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        let folded = budget <= 1 && self.full_height() > 1;
        let mut header = vec![Span::styled(marker, theme.key)];
        header.extend(
            if folded { &self.folded } else { &self.header }
                .iter()
                .cloned(),
        );
        let mut lines = vec![fit(header, width)];
        let mut room = budget.saturating_sub(1);
        let dim = |spans: &[Span<'static>]| -> Vec<Span<'static>> {
            if self.dim {
                spans
                    .iter()
                    .map(|s| Span::styled(s.content.clone(), theme.muted))
                    .collect()
            } else {
                spans.to_vec()
            }
        };
        for lead in self.lead.iter().take(room) {
            lines.push(fit(lead.clone(), width));
        }
        room = room.saturating_sub(self.lead.len());
        // Alert sections' titles first (they carry the counts), then one item each, then the
        // rest in priority order; other sections only when they can show something.
        let mut shown = vec![false; self.sections.len()];
        let mut counts = vec![0usize; self.sections.len()];
        for (show, section) in shown.iter_mut().zip(&self.sections) {
            if room > 0 && section.alert {
                *show = true;
                room -= 1;
            }
        }
        for ((count, show), section) in counts.iter_mut().zip(&shown).zip(&self.sections) {
            if *show && room > 0 && section.total > 0 {
                *count = 1;
                room -= 1;
            }
        }
        for ((count, show), section) in counts.iter_mut().zip(&mut shown).zip(&self.sections) {
            if !*show && !section.alert && room >= 2 {
                *show = true;
                room -= 1;
            }
            if *show {
                let more = section.total.saturating_sub(*count).min(room);
                *count += more;
                room -= more;
            }
        }
        for ((section, count), show) in self.sections.iter().zip(counts).zip(shown) {
            if !show {
                continue;
            }
            let mut title = dim(&section.title);
            if count > 0 && count < section.total {
                title.push(Span::styled(
                    format!(" · +{} not shown", section.total - count),
                    theme.muted,
                ));
            }
            lines.push(fit(title, width));
            for item in section.items.iter().take(count) {
                lines.push(fit(dim(item), width));
            }
        }
        lines
    }
}

fn block(screen: &Screen<'_>, theme: &Theme, row: DbRow, width: usize, height: usize) -> DbBlock {
    let freshness = row_freshness(screen, row);
    let name = row_name(screen, row);
    let db = screen.visible_db();
    let data = match row {
        DbRow::Postgres(i) => db
            .postgres
            .get(&i)
            .map(|s| pg_block(s, &freshness, width, height, theme)),
        DbRow::Redis(i) => db
            .redis
            .get(&i)
            .map(|s| redis_block(s, &freshness, width, theme)),
    };
    match data {
        Some(mut block) => {
            block
                .header
                .insert(0, Span::styled(name.clone(), theme.title));
            block.folded.insert(0, Span::styled(name, theme.title));
            block
        }
        None => waiting_block(screen, row, name, &freshness, theme),
    }
}

/// A database without figures yet: its state, and what it is reaching for.
fn waiting_block(
    screen: &Screen<'_>,
    row: DbRow,
    name: String,
    freshness: &Freshness,
    theme: &Theme,
) -> DbBlock {
    let state = match freshness {
        Freshness::Connecting => "connecting…".to_string(),
        Freshness::Live | Freshness::Stale { .. } => {
            format!("no sample yet · {}", sanitize(&freshness.label()))
        }
        other => sanitize(&other.label()),
    };
    let detail = screen
        .visible_sources()
        .iter()
        .find(|s| s.origin == origin(row))
        .map(|s| format!("{} · {}", s.kind, sanitize(&s.detail)));
    let header = vec![
        Span::styled(name, theme.title),
        Span::styled(" · ", theme.muted),
        Span::styled(state, freshness_style(freshness, theme)),
    ];
    DbBlock {
        folded: header.clone(),
        header,
        lead: detail
            .map(|d| vec![Span::styled(format!("  {d}"), theme.muted)])
            .into_iter()
            .collect(),
        sections: Vec::new(),
        dim: false,
    }
}

/// `platform-db SIMULATED · 41/47 (max 50, 3 reserved) ██████████████████░░ 87% · live`
fn pg_block(
    status: &PgStatus,
    freshness: &Freshness,
    width: usize,
    height: usize,
    theme: &Theme,
) -> DbBlock {
    let live = matches!(freshness, Freshness::Live);
    let wide = width >= 100;
    let narrow = width < 70;
    let level = data_style(health_style(status.level, theme), live, theme);
    let used_ratio = ratio(status.used, status.usable);
    let mut badge = Vec::new();
    if status.sample.simulated {
        badge.push(Span::raw(" "));
        badge.push(simulated_badge(narrow, theme));
    }
    let used = [
        Span::styled(" · ", theme.muted),
        Span::styled(
            format!("{}/{}", status.used, status.usable),
            level.add_modifier(Modifier::BOLD),
        ),
    ];
    let meter = [
        Span::styled(format!(" {}", gauge(used_ratio, gauge_width(width))), level),
        Span::styled(percent(used_ratio), level),
    ];
    let fresh = [
        Span::styled(" · ", theme.muted),
        Span::styled(
            short_freshness(freshness),
            freshness_style(freshness, theme),
        ),
    ];
    let mut header = badge.clone();
    header.extend(used.clone());
    if !narrow {
        header.push(Span::styled(
            format!(
                " (max {}, {} reserved)",
                status.sample.max_connections, status.sample.superuser_reserved
            ),
            theme.muted,
        ));
    }
    header.extend(meter.clone());
    header.extend(fresh.clone());
    // Folded: the figures, then what is wrong.
    let mut folded = badge;
    folded.extend(used);
    folded.extend(meter);
    let mut alert = |n: usize, what: String, style: Style| {
        if n > 0 {
            folded.push(Span::styled(" · ", theme.muted));
            folded.push(Span::styled(what, data_style(style, live, theme)));
        }
    };
    let chains = status.blocking.len();
    alert(
        chains,
        format!("{chains} chain{}", plural(chains)),
        theme.crit,
    );
    let idle = status.idle_in_transaction.len();
    alert(idle, format!("{idle} idle-in-tx"), theme.warn);
    let long = status.long_running.len();
    alert(long, format!("{long} long"), theme.warn);
    folded.extend(fresh);

    let mut lead = Vec::new();
    if let Some(line) = old_data_line(freshness, theme) {
        lead.push(line);
    }
    let count = |state: &str| status.by_state.get(state).copied().unwrap_or(0);
    let hidden = count(UNKNOWN_STATE);
    let privileges = status.sample.privileges;
    // Sessions by state; zeros are muted, and narrow panes keep only the ones that count.
    let mut states = vec![Span::raw("  ")];
    let mut first = true;
    for state in STATES {
        let n = count(state);
        if n == 0 && !wide && !matches!(state, "active" | "idle") {
            continue;
        }
        if !first {
            states.push(Span::styled(" · ", theme.muted));
        }
        first = false;
        let style = match (state, n) {
            (_, 0) => theme.muted,
            ("idle in transaction", _) => theme.warn,
            ("idle in transaction (aborted)", _) => theme.crit,
            (UNKNOWN_STATE, _) => theme.warn,
            _ => theme.base,
        };
        states.push(Span::styled(
            format!("{} ", state_label(Some(state))),
            theme.muted,
        ));
        states.push(Span::styled(n.to_string(), data_style(style, live, theme)));
    }
    lead.push(states);

    // What the console's role may see and do.
    let mut role = vec![Span::raw("  ")];
    if privileges.superuser {
        role.push(Span::styled(
            "role: superuser · sees and signals all",
            theme.muted,
        ));
    } else {
        if privileges.sees_all() {
            role.push(Span::styled("role: sees all sessions", theme.muted));
        } else if hidden > 0 {
            role.push(Span::styled(
                format!("{hidden} hidden: role lacks pg_read_all_stats"),
                data_style(theme.warn, live, theme),
            ));
        } else {
            role.push(Span::styled(
                "role: sees its own sessions only (no pg_read_all_stats)",
                theme.muted,
            ));
        }
        role.push(Span::styled(
            if privileges.can_signal() {
                " · can cancel/terminate"
            } else {
                " · cannot signal others (no pg_signal_backend)"
            },
            theme.muted,
        ));
    }
    if !status.sample.server_version.is_empty() {
        role.push(Span::styled(
            format!(" · PostgreSQL {}", sanitize(&status.sample.server_version)),
            theme.muted,
        ));
    }
    if status.sample.query_ms.is_finite() && status.sample.query_ms >= 0.0 {
        role.push(Span::styled(
            format!(" · sampled in {:.0} ms", status.sample.query_ms),
            theme.muted,
        ));
    }
    lead.push(role);

    let mut sections = Vec::new();
    if !status.blocking.is_empty() {
        sections.push(blocking_section(status, width, height, theme));
    }
    if !status.long_running.is_empty() {
        let query_at = 2 + 7 + 2 + 7 + 2 + if wide { 22 + 14 } else { 20 };
        sections.push(Section {
            title: vec![
                Span::styled(
                    format!(
                        "long-running > {}: ",
                        format_age(status.thresholds.long_running_after)
                    ),
                    theme.title,
                ),
                Span::styled(status.long_running.len().to_string(), theme.warn),
            ],
            items: status
                .long_running
                .iter()
                .take(height)
                .map(|q| {
                    let wait = q.wait.as_deref().map_or_else(|| "-".to_string(), sanitize);
                    let mut item = vec![
                        Span::styled(format!("  {:>7}", q.pid), theme.base),
                        Span::styled(format!("  {:>7}", seconds(q.seconds)), theme.warn),
                        Span::styled(
                            format!(
                                "  {:<w$}",
                                clip(&wait, if wide { 20 } else { 18 }),
                                w = if wide { 20 } else { 18 }
                            ),
                            if q.wait.is_some() {
                                theme.warn
                            } else {
                                theme.muted
                            },
                        ),
                    ];
                    if wide {
                        let user = q
                            .usename
                            .as_deref()
                            .map_or_else(|| "-".to_string(), sanitize);
                        item.push(Span::styled(
                            format!("  {:<12}", clip(&user, 12)),
                            theme.muted,
                        ));
                    }
                    item.push(Span::raw("  "));
                    item.push(Span::raw(clip(
                        &sanitize(&q.query),
                        width.saturating_sub(query_at),
                    )));
                    item
                })
                .collect(),
            total: status.long_running.len(),
            alert: true,
        });
    }
    if !status.idle_in_transaction.is_empty() {
        sections.push(Section {
            title: vec![
                Span::styled(
                    format!(
                        "idle in transaction > {}: ",
                        format_age(status.thresholds.idle_in_transaction_after)
                    ),
                    theme.title,
                ),
                Span::styled(status.idle_in_transaction.len().to_string(), theme.warn),
            ],
            items: status
                .idle_in_transaction
                .iter()
                .take(height)
                .map(|t| {
                    let who_width = if wide { 28 } else { 22 };
                    let who = who(
                        &sanitize(t.usename.as_deref().unwrap_or("-")),
                        &sanitize(t.application_name.as_deref().unwrap_or("-")),
                        who_width,
                    );
                    let mut item = vec![
                        Span::styled(format!("  {:>7}", t.pid), theme.base),
                        Span::styled(format!("  {:>7}", seconds(t.seconds)), theme.warn),
                        Span::styled(
                            format!("  {:<who_width$}", clip(&who, who_width)),
                            theme.base,
                        ),
                        Span::styled(
                            if t.aborted { "  aborted" } else { "         " },
                            theme.crit,
                        ),
                    ];
                    let query_at = 2 + 7 + 2 + 7 + 2 + who_width + 9 + 2;
                    item.push(Span::raw("  "));
                    item.push(Span::styled(
                        clip(&sanitize(&t.query), width.saturating_sub(query_at)),
                        theme.muted,
                    ));
                    item
                })
                .collect(),
            total: status.idle_in_transaction.len(),
            alert: true,
        });
    }
    if !status.top_clients.is_empty() {
        sections.push(Section {
            title: vec![Span::styled(
                "top clients (app · user · address)",
                theme.title,
            )],
            items: status
                .top_clients
                .iter()
                .take(height)
                .map(|c| {
                    vec![
                        Span::styled(format!("  {:>7}", c.sessions), theme.base),
                        Span::styled(format!("  {}", sanitize(&c.label)), theme.base),
                    ]
                })
                .collect(),
            total: status.top_clients.len(),
            alert: false,
        });
    }
    DbBlock {
        header,
        folded,
        lead,
        sections,
        dim: !live,
    }
}

/// Blocking chains as trees: the root blocker, then who waits behind it, indented by depth.
fn blocking_section(status: &PgStatus, width: usize, height: usize, theme: &Theme) -> Section {
    let chains = &status.blocking;
    let waiting: usize = chains.iter().map(|c| c.blocked.len()).sum();
    let depth = chains.iter().map(|c| c.depth).max().unwrap_or(0);
    let mut items = Vec::new();
    for chain in chains {
        if items.len() >= height {
            break;
        }
        let state = state_label(Some(&chain.root_state));
        let age = chain.root_seconds.map_or_else(|| "-".to_string(), seconds);
        let mut root = vec![
            Span::styled(
                format!("  {}", chain.root),
                theme.crit.add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("  {state}"),
                state_style(Some(&chain.root_state), theme),
            ),
            Span::styled(format!("  xact {age}"), theme.warn),
            Span::styled("  blocks ", theme.muted),
            Span::styled(chain.blocked.len().to_string(), theme.crit),
            Span::raw("  "),
        ];
        let used: usize = root.iter().map(Span::width).sum();
        root.push(Span::styled(
            clip(&sanitize(&chain.root_query), width.saturating_sub(used)),
            theme.muted,
        ));
        items.push(root);
        // Whether each node is the last child of its parent: scan backwards, remembering which
        // depths have a later sibling before the subtree closes.
        let mut last = vec![false; chain.blocked.len()];
        let mut later: Vec<bool> = Vec::new();
        for (i, node) in chain.blocked.iter().enumerate().rev() {
            let d = node.depth.max(1) as usize;
            if later.len() <= d {
                later.resize(d + 1, false);
            }
            last[i] = !later[d];
            later[d] = true;
            later.truncate(d + 1);
        }
        // Walk down, drawing `│` for ancestors that have siblings still to come.
        let mut open: Vec<bool> = Vec::new();
        for (node, is_last) in chain.blocked.iter().zip(last) {
            if items.len() >= height {
                break;
            }
            let d = node.depth.max(1) as usize;
            open.resize(d - 1, false);
            let mut prefix = String::from("  ");
            for ancestor_open in &open {
                prefix.push_str(if *ancestor_open { "│  " } else { "   " });
            }
            prefix.push_str(if is_last { "└─ " } else { "├─ " });
            open.push(!is_last);
            let wait = node
                .wait
                .as_deref()
                .map_or_else(|| "not waiting".to_string(), sanitize);
            let age = node.seconds.map_or_else(|| "-".to_string(), seconds);
            let mut item = vec![
                Span::styled(prefix, theme.muted),
                Span::styled(node.pid.to_string(), theme.base),
                Span::styled(format!("  {wait}"), theme.warn),
                Span::styled(format!("  {age}"), theme.base),
                Span::raw("  "),
            ];
            let used: usize = item.iter().map(Span::width).sum();
            item.push(Span::styled(
                clip(&sanitize(&node.query), width.saturating_sub(used)),
                theme.muted,
            ));
            items.push(item);
        }
    }
    Section {
        title: vec![
            Span::styled("blocking: ", theme.title),
            Span::styled(
                format!(
                    "{} chain{} · {waiting} waiting · depth {depth}",
                    chains.len(),
                    plural(chains.len())
                ),
                theme.crit,
            ),
        ],
        items,
        total: chains.iter().map(|c| 1 + c.blocked.len()).sum(),
        alert: true,
    }
}

/// `platform-cache · clients 412/10000 ░░░░░░░░ 4% · live`, then memory and rates.
fn redis_block(
    status: &RedisStatus,
    freshness: &Freshness,
    width: usize,
    theme: &Theme,
) -> DbBlock {
    let live = matches!(freshness, Freshness::Live);
    let narrow = width < 70;
    // The clients figure is coloured by its own use; memory and rates colour themselves below
    // (the overall level mixes them all).
    let clients_ratio = status
        .maxclients
        .map(|max| status.connected_clients as f64 / max.max(1) as f64);
    let level = data_style(
        clients_ratio.map_or(theme.base, |r| fraction_style(r, theme)),
        live,
        theme,
    );
    let mut header = Vec::new();
    if status.simulated {
        header.push(Span::raw(" "));
        header.push(simulated_badge(narrow, theme));
    }
    header.push(Span::styled(" · clients ", theme.muted));
    match (status.maxclients, clients_ratio) {
        (Some(max), Some(used)) => {
            header.push(Span::styled(
                format!("{}/{max}", status.connected_clients),
                level.add_modifier(Modifier::BOLD),
            ));
            header.push(Span::styled(
                format!(" {}", gauge(used, gauge_width(width))),
                level,
            ));
            header.push(Span::styled(percent(used), level));
        }
        _ => {
            header.push(Span::styled(
                status.connected_clients.to_string(),
                level.add_modifier(Modifier::BOLD),
            ));
            header.push(Span::styled(" (maxclients unknown)", theme.muted));
        }
    }
    let mut folded = header.clone();
    let memory_ratio =
        (status.maxmemory > 0).then(|| status.used_memory as f64 / status.maxmemory as f64);
    let mut alert = |what: String, style: Style| {
        folded.push(Span::styled(" · ", theme.muted));
        folded.push(Span::styled(what, data_style(style, live, theme)));
    };
    if let Some(r) = status.rejected_per_s.filter(|r| *r > 0.0) {
        alert(format!("rejecting {}", rate(Some(r))), theme.crit);
    }
    if let Some(r) = status.evicted_per_s.filter(|r| *r > 0.0) {
        alert(format!("evicting {}", rate(Some(r))), theme.warn);
    }
    if let Some(r) = memory_ratio.filter(|r| *r >= 0.9) {
        alert(format!("memory{}", percent(r)), theme.warn);
    }
    let fresh = [
        Span::styled(" · ", theme.muted),
        Span::styled(
            short_freshness(freshness),
            freshness_style(freshness, theme),
        ),
    ];
    header.extend(fresh.clone());
    folded.extend(fresh);

    let mut lead = Vec::new();
    if let Some(line) = old_data_line(freshness, theme) {
        lead.push(line);
    }
    let policy = sanitize(&status.policy);
    let mut memory = vec![Span::styled("  memory ", theme.muted)];
    if let Some(used) = memory_ratio {
        let style = if used >= 0.95 && policy == "noeviction" {
            theme.crit
        } else if used >= 0.9 {
            theme.warn
        } else {
            theme.base
        };
        memory.push(Span::styled(
            format!(
                "{} / {} ({})",
                bytes(status.used_memory),
                bytes(status.maxmemory),
                percent(used).trim()
            ),
            data_style(style, live, theme),
        ));
    } else {
        memory.push(Span::styled(bytes(status.used_memory), theme.base));
        memory.push(Span::styled(" (no maxmemory)", theme.muted));
    }
    if !policy.is_empty() {
        memory.push(Span::styled(format!(" {policy}"), theme.muted));
    }
    let rate_style = |rate: Option<f64>, bad: Style| match rate {
        Some(r) if r > 0.0 => data_style(bad, live, theme),
        _ => theme.base,
    };
    memory.push(Span::styled(" · evicted ", theme.muted));
    memory.push(Span::styled(
        rate(status.evicted_per_s),
        rate_style(status.evicted_per_s, theme.warn),
    ));
    memory.push(Span::styled(" · rejected ", theme.muted));
    memory.push(Span::styled(
        rate(status.rejected_per_s),
        rate_style(status.rejected_per_s, theme.crit),
    ));
    lead.push(memory);
    let mut traffic = vec![
        Span::styled("  ", theme.muted),
        Span::styled(format!("{} ops/s", status.ops_per_s), theme.base),
        Span::styled(" · hit ratio ", theme.muted),
        Span::styled(
            status
                .hit_ratio
                .filter(|r| r.is_finite())
                .map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0)),
            match status.hit_ratio {
                Some(r) if r < 0.8 => data_style(theme.warn, live, theme),
                _ => theme.base,
            },
        ),
        Span::styled(" · blocked ", theme.muted),
        Span::styled(
            status.blocked_clients.to_string(),
            if status.blocked_clients > 0 {
                data_style(theme.warn, live, theme)
            } else {
                theme.base
            },
        ),
    ];
    if !status.version.is_empty() {
        traffic.push(Span::styled(
            format!(" · Redis {}", sanitize(&status.version)),
            theme.muted,
        ));
    }
    lead.push(traffic);
    DbBlock {
        header,
        folded,
        lead,
        sections: Vec::new(),
        dim: !live,
    }
}

/// For figures that are not live: why, and how old they are.
fn old_data_line(freshness: &Freshness, theme: &Theme) -> Option<Vec<Span<'static>>> {
    match freshness {
        Freshness::Error { .. } => Some(vec![
            Span::styled(format!("  {}", sanitize(&freshness.label())), theme.crit),
            Span::styled(" · showing the last good sample", theme.muted),
        ]),
        Freshness::Stale { age } => Some(vec![Span::styled(
            format!(
                "  no refresh for {} · showing the last sample",
                format_age(*age)
            ),
            theme.stale,
        )]),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Detail views

/// A detail view whose database has not answered yet: its name, what is missing, its state.
fn render_nothing_yet(
    frame: &mut Frame<'_>,
    area: Rect,
    theme: &Theme,
    name: String,
    what: &str,
    freshness: &Freshness,
) {
    let lines = vec![
        Line::from(vec![
            Span::styled(name, theme.title),
            Span::styled(format!(" · no {what} yet · "), theme.muted),
            Span::styled(
                sanitize(&freshness.label()),
                freshness_style(freshness, theme),
            ),
        ]),
        Line::styled("Esc: back to the databases", theme.muted),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

/// All sessions of a PostgreSQL database, in `screen.view.visible.db_sessions` order.
fn render_sessions(
    frame: &mut Frame<'_>,
    area: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
    index: usize,
) {
    let row = DbRow::Postgres(index);
    let name = row_name(screen, row);
    let freshness = row_freshness(screen, row);
    let Some(status) = screen.visible_db().postgres.get(&index) else {
        render_nothing_yet(frame, area, theme, name, "sessions", &freshness);
        return;
    };
    let view = &screen.view.panes[PaneId::Db.index()];
    let sessions = &screen.view.visible.db_sessions;
    let selected = view.detail_scroll.min(sessions.len().saturating_sub(1));
    let width = usize::from(area.width);
    let live = matches!(freshness, Freshness::Live);

    let level = data_style(health_style(status.level, theme), live, theme);
    let mut header = vec![Span::styled(name, theme.title)];
    if status.sample.simulated {
        header.push(Span::raw(" "));
        header.push(simulated_badge(width < 70, theme));
    }
    header.extend([
        Span::styled(" · ", theme.muted),
        Span::styled(format!("{}/{}", status.used, status.usable), level),
        Span::styled(" sessions · sorted by ", theme.muted),
        Span::styled(view.sort.key(Sorted::Sessions).field.label(), theme.key),
        Span::styled(
            if view.sort.reversed {
                ", reversed (o/O)"
            } else {
                " (o)"
            },
            theme.muted,
        ),
    ]);
    if !sessions.is_empty() {
        header.push(Span::styled(
            format!(" · {}/{}", selected + 1, sessions.len()),
            theme.muted,
        ));
    }
    header.push(Span::styled(" · ", theme.muted));
    header.push(Span::styled(
        short_freshness(&freshness),
        freshness_style(&freshness, theme),
    ));
    let mut top = vec![fit(header, width)];
    if let Some(line) = old_data_line(&freshness, theme) {
        top.push(fit(line, width));
    }
    let hidden = status.by_state.get(UNKNOWN_STATE).copied().unwrap_or(0);
    if hidden > 0 && !status.sample.privileges.sees_all() {
        top.push(fit(
            vec![Span::styled(
                format!(
                    "{hidden} hidden: role lacks pg_read_all_stats (their state, query and wait are not visible)"
                ),
                theme.warn,
            )],
            width,
        ));
    }
    let top_height = (top.len() as u16).min(area.height);
    let [top_area, table_area] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(top), top_area);
    if sessions.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no sessions", theme.muted)),
            table_area,
        );
        return;
    }

    let height = usize::from(table_area.height.saturating_sub(1));
    screen.view.drawn.set_page(PaneId::Db, height);
    let (offset, in_window) = scrolled(selected, height);
    let rows = sessions
        .iter()
        .skip(offset)
        .take(height)
        .filter_map(|pid| status.sample.sessions.iter().find(|s| s.pid == *pid))
        .map(|s| session_row(s, live, theme))
        .collect();
    let fitted = fit_table_with(&SESSION_COLUMNS, rows, area.width, theme.title, |h| {
        view.sort.mark(Sorted::Sessions, h)
    });
    let table = fitted.table(super::selection_style(screen, PaneId::Db, theme));
    frame.render_stateful_widget(
        table,
        table_area,
        &mut TableState::default().with_selected(Some(in_window)),
    );
}

/// One session over the sessions list (Enter on it): the whole query wrapped, where it comes
/// from, when its backend, transaction and query started, what it waits for, who blocks it
/// (`pg_blocking_pids`) and whom it blocks.
fn render_session_detail(
    frame: &mut Frame<'_>,
    area: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
    index: usize,
    pid: i32,
) {
    let row = DbRow::Postgres(index);
    let name = row_name(screen, row);
    let freshness = row_freshness(screen, row);
    let view = &screen.view.panes[PaneId::Db.index()];
    let scroll = view.session_scroll;
    let status = screen.visible_db().postgres.get(&index);
    let session = status.and_then(|st| st.sample.sessions.iter().find(|s| s.pid == pid));
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("session {pid}"), theme.title),
        Span::styled(format!(" · {name} · "), theme.muted),
        Span::styled(
            short_freshness(&freshness),
            freshness_style(&freshness, theme),
        ),
    ])];
    let (Some(status), Some(s)) = (status, session) else {
        lines.push(Line::styled(
            format!(
                "session {pid} is no longer listed: it ended, or the last refresh did not see it"
            ),
            theme.warn,
        ));
        lines.push(Line::styled("Esc: back to the sessions", theme.muted));
        detail::render(
            frame,
            area,
            vec![Part::Lines(lines)],
            scroll,
            PaneId::Db,
            screen,
        );
        return;
    };
    if let Some(line) = old_data_line(&freshness, theme) {
        lines.push(Line::from(line));
    }
    let now = screen.view.now;
    // Ages are as of the refresh that read them: the source's last good read.
    let sampled = screen
        .visible_sources()
        .iter()
        .find(|src| src.origin == origin(row))
        .and_then(|src| src.last_ok);
    let when = |age: Option<f64>| -> String {
        let Some(age) = age.filter(|a| a.is_finite()) else {
            return "-".to_string();
        };
        let age = Duration::from_secs_f64(age.max(0.0));
        match sampled.and_then(|at| at.checked_sub(age)) {
            Some(start) => {
                let ago = now.duration_since(start).unwrap_or_default();
                // The clock time, with the date once it is not about today.
                let at = if ago >= Duration::from_secs(20 * 3600) {
                    crate::timestamp::rfc3339_system(start)
                } else {
                    super::clock(start)
                };
                format!("{} ago ({at})", format_age(ago))
            }
            None => format!("{} before the last refresh", format_age(age)),
        }
    };
    let label = |text: &str| Span::styled(format!("{text:>13}  "), theme.muted);
    let text = |value: Option<&str>| sanitize(value.unwrap_or("-"));
    let hidden = s.state.is_none();
    lines.push(Line::from(vec![
        label("state"),
        Span::styled(
            if hidden {
                "hidden (no pg_read_all_stats)".to_string()
            } else {
                sanitize(s.state.as_deref().unwrap_or("-"))
            },
            state_style(s.state.as_deref(), theme),
        ),
        Span::styled(
            s.state_age
                .filter(|a| a.is_finite())
                .map(|a| format!("  for {}", seconds(a)))
                .unwrap_or_default(),
            theme.muted,
        ),
        Span::styled(if s.own { "  (this console)" } else { "" }, theme.muted),
    ]));
    lines.push(Line::from(vec![
        label("wait event"),
        match waiting_on(s) {
            Some(wait) => Span::styled(
                sanitize(&wait),
                if s.wait_event_type.as_deref() == Some("Lock") {
                    theme.crit
                } else {
                    theme.warn
                },
            ),
            None => Span::styled("not waiting", theme.muted),
        },
    ]));
    lines.push(Line::from(vec![
        label("user"),
        Span::raw(text(s.usename.as_deref())),
        Span::styled("   application ", theme.muted),
        Span::raw(text(s.application_name.as_deref())),
    ]));
    lines.push(Line::from(vec![
        label("client"),
        Span::raw(text(s.client_addr.as_deref())),
        Span::styled("   database ", theme.muted),
        Span::raw(text(s.datname.as_deref())),
        Span::styled("   backend ", theme.muted),
        Span::raw(text(s.backend_type.as_deref())),
    ]));
    lines.push(Line::from(vec![
        label("backend start"),
        Span::raw(when(s.backend_age)),
    ]));
    lines.push(Line::from(vec![
        label("xact start"),
        match s.xact_age {
            Some(_) => Span::raw(when(s.xact_age)),
            None => Span::styled("no transaction open", theme.muted),
        },
    ]));
    lines.push(Line::from(vec![
        label("query start"),
        Span::raw(when(s.query_age)),
    ]));
    // Who holds it up, and whom it holds up.
    let brief = |other: i32| -> Line<'static> {
        let found = status.sample.sessions.iter().find(|o| o.pid == other);
        let mut spans = vec![Span::styled(format!("  {other:>7}  "), theme.base)];
        match found {
            Some(o) => {
                spans.push(Span::styled(
                    state_label(o.state.as_deref()).to_string(),
                    state_style(o.state.as_deref(), theme),
                ));
                let wait = waiting_on(o).map(|w| format!("  {}", sanitize(&w)));
                spans.push(Span::styled(wait.unwrap_or_default(), theme.warn));
                let age = o.xact_age.or(o.query_age).filter(|a| a.is_finite());
                spans.push(Span::styled(
                    age.map(|a| format!("  xact {}", seconds(a)))
                        .unwrap_or_default(),
                    theme.muted,
                ));
                spans.push(Span::styled(
                    format!("  {}", sanitize(o.query.as_deref().unwrap_or(""))),
                    theme.muted,
                ));
            }
            None if other == 0 => {
                spans.push(Span::styled("a prepared transaction", theme.warn));
            }
            None => spans.push(Span::styled("not among the sessions read", theme.muted)),
        }
        Line::from(spans)
    };
    lines.push(Line::styled(
        format!("Blocked by ({}, pg_blocking_pids)", s.blocked_by.len()),
        theme.title,
    ));
    if s.blocked_by.is_empty() {
        lines.push(Line::styled("  nobody", theme.muted));
    }
    lines.extend(s.blocked_by.iter().map(|other| brief(*other)));
    let blocks: Vec<i32> = status
        .sample
        .sessions
        .iter()
        .filter(|o| o.blocked_by.contains(&pid))
        .map(|o| o.pid)
        .collect();
    lines.push(Line::styled(
        format!("Blocks ({} waiting for it)", blocks.len()),
        if blocks.is_empty() {
            theme.title
        } else {
            theme.crit
        },
    ));
    if blocks.is_empty() {
        lines.push(Line::styled("  nobody", theme.muted));
    }
    lines.extend(blocks.iter().map(|other| brief(*other)));
    if let Some(chain) = status
        .blocking
        .iter()
        .find(|c| c.root == pid || c.blocked.iter().any(|n| n.pid == pid))
    {
        let place = if chain.root == pid {
            "the root".to_string()
        } else {
            let depth = chain
                .blocked
                .iter()
                .find(|n| n.pid == pid)
                .map_or(0, |n| n.depth);
            format!("{depth} deep")
        };
        lines.push(Line::from(vec![
            Span::styled("  chain: ", theme.muted),
            Span::styled(
                format!(
                    "{place} of the chain rooted at {} ({} waiting, depth {})",
                    chain.root,
                    chain.blocked.len(),
                    chain.depth
                ),
                theme.crit,
            ),
        ]));
    }
    lines.push(Line::styled("Query", theme.title));
    // The whole query as the server keeps it, line by line, wrapped to the width.
    if hidden {
        lines.push(Line::styled("  hidden (no pg_read_all_stats)", theme.muted));
    } else {
        let query = s.query.as_deref().unwrap_or("-");
        lines.extend(
            query
                .lines()
                .map(|l| Line::raw(format!("  {}", sanitize(l)))),
        );
    }
    lines.push(Line::styled("Esc: back to the sessions", theme.muted));
    detail::render(
        frame,
        area,
        vec![Part::Lines(lines)],
        scroll,
        PaneId::Db,
        screen,
    );
}

/// The sessions table: narrow panes keep the pid, what state, how old, the application, what
/// it waits for and the query; the user and the client address come as the pane widens.
const SESSION_COLUMNS: [Spec; 8] = [
    Spec::name("PID", 3).cut(Cut::Right),
    Spec::text("USER", 6, 12, 3).cut(Cut::Middle),
    Spec::text("APP", 6, 18, 1).cut(Cut::Middle),
    Spec::text("CLIENT", 7, 15, 5),
    Spec::text("STATE", 6, 19, 0),
    Spec::text("WAIT", 6, 20, 2),
    Spec::text("XACT/QUERY", 7, 13, 0),
    Spec::text("QUERY", 10, 80, 4),
];

fn session_row(s: &Session, live: bool, theme: &Theme) -> Vec<(String, Style)> {
    let text = |value: Option<&str>| sanitize(value.unwrap_or("-"));
    let hidden = s.state.is_none();
    let wait = waiting_on(s).unwrap_or_else(|| "-".to_string());
    let wait_style = match s.wait_event_type.as_deref() {
        Some("Lock") => theme.crit,
        Some("LWLock" | "IO" | "BufferPin") => theme.warn,
        _ => theme.muted,
    };
    let age = |a: Option<f64>| a.map_or_else(|| "-".to_string(), seconds);
    let query = if hidden {
        "hidden (no pg_read_all_stats)".to_string()
    } else {
        sanitize(s.query.as_deref().unwrap_or(""))
    };
    let query = if s.own {
        format!("(this console) {query}")
    } else {
        query
    };
    let state = if hidden {
        "hidden".to_string()
    } else {
        state_label(s.state.as_deref()).to_string()
    };
    // The console's own session and rows of a source that is not live are muted whole.
    let muted = s.own || !live;
    let plain = if muted { theme.muted } else { Style::default() };
    let styled = |style: Style| {
        if muted {
            theme.muted
        } else {
            data_style(style, live, theme)
        }
    };
    vec![
        (s.pid.to_string(), plain),
        (text(s.usename.as_deref()), plain),
        (text(s.application_name.as_deref()), plain),
        (text(s.client_addr.as_deref()), theme.muted),
        (state, styled(state_style(s.state.as_deref(), theme))),
        (sanitize(&wait), styled(wait_style)),
        (format!("{}/{}", age(s.xact_age), age(s.query_age)), plain),
        (query, theme.muted),
    ]
}

/// A cache's CLIENT LIST, most idle first (the order the source keeps).
fn render_clients(
    frame: &mut Frame<'_>,
    area: Rect,
    screen: &Screen<'_>,
    theme: &Theme,
    index: usize,
) {
    let row = DbRow::Redis(index);
    let name = row_name(screen, row);
    let freshness = row_freshness(screen, row);
    let Some(status) = screen.visible_db().redis.get(&index) else {
        render_nothing_yet(frame, area, theme, name, "clients", &freshness);
        return;
    };
    let width = usize::from(area.width);
    let live = matches!(freshness, Freshness::Live);
    let clients = &status.clients;
    let mut top = Vec::new();
    if let Some(line) = old_data_line(&freshness, theme) {
        top.push(fit(line, width));
    }
    let top_height = (top.len() as u16 + 1).min(area.height);
    let [top_area, table_area] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Fill(1)]).areas(area);
    let height = usize::from(table_area.height.saturating_sub(1));
    let mut header = vec![Span::styled(name, theme.title)];
    if status.simulated {
        header.push(Span::raw(" "));
        header.push(simulated_badge(width < 70, theme));
    }
    header.push(Span::styled(
        format!(
            " · {} connected · CLIENT LIST: {} listed, most idle first",
            status.connected_clients,
            clients.len()
        ),
        theme.muted,
    ));
    let cursor = screen.view.panes[PaneId::Db.index()]
        .detail_scroll
        .min(clients.len().saturating_sub(1));
    if clients.len() > height {
        header.push(Span::styled(
            format!(" · {}/{}", cursor + 1, clients.len()),
            theme.muted,
        ));
    }
    header.push(Span::styled(" · ", theme.muted));
    header.push(Span::styled(
        short_freshness(&freshness),
        freshness_style(&freshness, theme),
    ));
    top.insert(0, fit(header, width));
    frame.render_widget(Paragraph::new(top), top_area);
    if clients.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no clients listed", theme.muted)),
            table_area,
        );
        return;
    }
    screen.view.drawn.set_page(PaneId::Db, height);
    let (offset, in_window) = scrolled(cursor, height);
    let plain = if live { theme.base } else { theme.muted };
    let rows = clients
        .iter()
        .skip(offset)
        .take(height)
        .map(|c| {
            let flagged = |warn: bool, otherwise: Style| {
                if !live {
                    theme.muted
                } else if warn {
                    data_style(theme.warn, live, theme)
                } else {
                    otherwise
                }
            };
            vec![
                (c.id.to_string(), plain),
                (sanitize(&c.addr), theme.muted),
                (
                    sanitize(if c.name.is_empty() { "-" } else { &c.name }),
                    plain,
                ),
                (format_age(Duration::from_secs(c.age)), plain),
                (
                    format_age(Duration::from_secs(c.idle)),
                    flagged(c.idle >= 3600, theme.base),
                ),
                (
                    sanitize(&c.flags),
                    flagged(c.flags.contains('b'), theme.muted),
                ),
                (c.db.to_string(), theme.muted),
                (sanitize(&c.cmd), plain),
                (sanitize(&c.user), theme.muted),
            ]
        })
        .collect();
    let fitted = fit_table(&CLIENT_COLUMNS, rows, area.width, theme.title);
    // The cursor is the client `K` acts on.
    let table = fitted.table(super::selection_style(screen, PaneId::Db, theme));
    frame.render_stateful_widget(
        table,
        table_area,
        &mut TableState::default().with_selected(Some(in_window)),
    );
}

/// The Redis clients table: id, how idle, flags and the command first.
const CLIENT_COLUMNS: [Spec; 9] = [
    Spec::name("ID", 2).cut(Cut::Right),
    Spec::text("ADDR", 9, 21, 1).cut(Cut::Middle),
    Spec::text("NAME", 6, 16, 2).cut(Cut::Middle),
    Spec::text("AGE", 3, 7, 5),
    Spec::text("IDLE", 3, 7, 0),
    Spec::text("FLAGS", 3, 6, 3),
    Spec::text("DB", 2, 3, 6),
    Spec::text("CMD", 4, 14, 0),
    Spec::text("USER", 4, 32, 4),
];

// ---------------------------------------------------------------------------------------------
// Helpers

fn origin(row: DbRow) -> SourceOrigin {
    match row {
        DbRow::Postgres(i) => SourceOrigin::Postgres(i),
        DbRow::Redis(i) => SourceOrigin::Redis(i),
    }
}

fn row_freshness(screen: &Screen<'_>, row: DbRow) -> Freshness {
    screen
        .visible_sources()
        .iter()
        .find(|s| s.origin == origin(row))
        .map_or(Freshness::NotConfigured, |s| s.freshness(screen.view.now))
}

fn has_row_data(screen: &Screen<'_>, row: DbRow) -> bool {
    let db = screen.visible_db();
    match row {
        DbRow::Postgres(i) => db.postgres.contains_key(&i),
        DbRow::Redis(i) => db.redis.contains_key(&i),
    }
}

/// The config entry's name (known before any data arrives).
fn row_name(screen: &Screen<'_>, row: DbRow) -> String {
    let target = screen.target();
    let name = match row {
        DbRow::Postgres(i) => target
            .and_then(|t| t.postgres.get(i))
            .map(|p| p.name.as_str()),
        DbRow::Redis(i) => target.and_then(|t| t.redis.get(i)).map(|r| r.name.as_str()),
    };
    sanitize(name.unwrap_or("?"))
}

/// Freshness in a few words, for headers: the full reason goes on its own line.
fn short_freshness(freshness: &Freshness) -> String {
    match freshness {
        Freshness::Live => "live".into(),
        Freshness::Stale { age } => format!("stale {}", format_age(*age)),
        Freshness::Connecting => "connecting…".into(),
        Freshness::NotConfigured => "not configured".into(),
        Freshness::NotConnected { .. } => "not connected".into(),
        Freshness::Error { age: Some(age), .. } => format!("ERROR · data {} old", format_age(*age)),
        Freshness::Error { age: None, .. } => "ERROR".into(),
    }
}

/// Figures that are not live lose their colour: old numbers must not look current.
fn data_style(style: Style, live: bool, theme: &Theme) -> Style {
    if live { style } else { theme.muted }
}

fn simulated_badge(narrow: bool, theme: &Theme) -> Span<'static> {
    Span::styled(
        if narrow { " SIM " } else { " SIMULATED " },
        theme
            .stale
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    )
}

/// Short labels of `pg_stat_activity.state`.
fn state_label(state: Option<&str>) -> &str {
    match state {
        Some("idle in transaction") => "idle in tx",
        Some("idle in transaction (aborted)") => "aborted tx",
        Some("fastpath function call") => "fastpath",
        Some(other) => other,
        None => UNKNOWN_STATE,
    }
}

fn state_style(state: Option<&str>, theme: &Theme) -> Style {
    match state {
        Some("active") => theme.base,
        Some("idle") => theme.muted,
        Some("idle in transaction") => theme.warn,
        Some("idle in transaction (aborted)") => theme.crit,
        None | Some(UNKNOWN_STATE) => theme.warn,
        Some(_) => theme.base,
    }
}

/// A cache's clients against maxclients, with the PostgreSQL defaults (80 %, 95 %).
fn fraction_style(ratio: f64, theme: &Theme) -> Style {
    if ratio >= 0.95 {
        theme.crit
    } else if ratio >= 0.8 {
        theme.warn
    } else {
        theme.ok
    }
}

fn ratio(used: u32, of: u32) -> f64 {
    f64::from(used) / f64::from(of.max(1))
}

fn gauge_width(width: usize) -> usize {
    if width >= 100 {
        20
    } else if width >= 70 {
        12
    } else {
        6
    }
}

/// `██████░░░░`: the used fraction, full past 100 %.
fn gauge(ratio: f64, width: usize) -> String {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = ((ratio * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// `▮▮▮▯▯` for one-line summaries.
fn mini_gauge(ratio: f64) -> String {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Full only when full; anything in use shows at least one mark.
    let filled = ((ratio * 5.0).floor() as usize).clamp(usize::from(ratio > 0.0), 5);
    format!("{}{}", "▮".repeat(filled), "▯".repeat(5 - filled))
}

fn percent(ratio: f64) -> String {
    if ratio.is_finite() {
        format!(" {:>3.0}%", ratio * 100.0)
    } else {
        " -".into()
    }
}

/// An age in seconds from the server (finite and positive, or `-`).
fn seconds(secs: f64) -> String {
    if secs.is_finite() && secs >= 0.0 {
        format_age(Duration::from_secs(secs as u64))
    } else {
        "-".into()
    }
}

fn rate(per_s: Option<f64>) -> String {
    match per_s {
        Some(r) if r.is_finite() && r >= 10.0 => format!("{r:.0}/s"),
        Some(r) if r.is_finite() && r > 0.0 => format!("{r:.1}/s"),
        Some(r) if r.is_finite() => "0/s".into(),
        _ => "-".into(),
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `user/application` in at most `width` columns: the application (what holds the
/// transaction, often a deployment's name) is kept whole as long as the user keeps a few
/// characters; both are cut in the middle, never at the end.
fn who(user: &str, application: &str, width: usize) -> String {
    let whole = format!("{user}/{application}");
    if whole.width() <= width {
        return whole;
    }
    let middle = |text: &str, room: usize| {
        super::columns::fit(text, u16::try_from(room).unwrap_or(u16::MAX), Cut::Middle).into_owned()
    };
    // The user keeps at least `pl…app`.
    const USER: usize = 6;
    let user_room = width
        .saturating_sub(application.width() + 1)
        .max(USER.min(user.width()));
    let user = middle(user, user_room);
    let application = middle(application, width.saturating_sub(user.width() + 1));
    format!("{user}/{application}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `text` cut to `width` columns, the cut marked with `…`.
fn clip(text: &str, width: usize) -> String {
    super::columns::fit(text, u16::try_from(width).unwrap_or(u16::MAX), Cut::Right).into_owned()
}

/// A line no wider than `width`: the span that overflows is cut with `…`, the rest dropped.
fn fit(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = Vec::with_capacity(spans.len());
    let mut used = 0;
    for span in spans {
        let w = span.width();
        if used + w <= width {
            used += w;
            out.push(span);
            continue;
        }
        let room = width - used;
        if room > 0 {
            out.push(Span::styled(clip(&span.content, room), span.style));
        }
        break;
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_marks_the_cut_and_respects_width() {
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abcdef", 1), "…");
        assert_eq!(clip("abcdef", 0), "");
        assert_eq!(Span::raw(clip("日本語のテキスト", 5)).width(), 5);
    }

    #[test]
    fn who_keeps_the_application_and_cuts_in_the_middle() {
        assert_eq!(who("billing", "reconciler", 22), "billing/reconciler");
        assert_eq!(
            who("platform_app", "platform-v2-api", 22),
            "pl…app/platform-v2-api"
        );
        let long = who("platform_app", "platform-v2-api-canary-worker", 22);
        assert_eq!(long.width(), 22);
        assert!(
            long.starts_with("pl…app/platfor") && long.ends_with("-worker"),
            "{long}"
        );
    }

    #[test]
    fn gauges_clamp() {
        assert_eq!(gauge(0.5, 4), "██░░");
        assert_eq!(gauge(1.7, 4), "████");
        assert_eq!(gauge(f64::NAN, 4), "░░░░");
        assert_eq!(mini_gauge(0.6), "▮▮▮▯▯");
        assert_eq!(mini_gauge(0.9), "▮▮▮▮▯");
        assert_eq!(mini_gauge(0.01), "▮▯▯▯▯");
        assert_eq!(mini_gauge(0.0), "▯▯▯▯▯");
    }

    #[test]
    fn everything_when_it_fits_with_blank_lines_between() {
        assert_eq!(plan(&[5, 3, 3], 1, 20), (vec![5, 3, 3], vec![true, true]));
        assert_eq!(plan(&[5], 0, 5), (vec![5], vec![]));
    }

    #[test]
    fn the_selected_block_first_then_small_ones_whole_then_the_rest() {
        // 30 lines for 23 + 7 + 3: the selected 7, the 3 whole, 18 of the 23, two blank lines.
        assert_eq!(plan(&[23, 7, 3], 1, 30), (vec![18, 7, 3], vec![true, true]));
        // 16 lines: the selected database gets all but the others' headers and one blank line.
        assert_eq!(
            plan(&[23, 7, 3], 0, 16),
            (vec![13, 1, 1], vec![true, false])
        );
        // Too short for blank lines: headers only around the selected block.
        assert_eq!(plan(&[23, 7, 3], 2, 6), (vec![1, 1, 3], vec![false, false]));
    }

    #[test]
    fn many_databases_in_little_room_keep_the_selected_one_open() {
        let (budgets, _) = plan(&[9; 12], 11, 6);
        assert_eq!(budgets[11], MIN_EXPANDED);
        let (budgets, gaps) = plan(&[9, 9], 0, 1);
        assert_eq!((budgets, gaps), (vec![1, 1], vec![false]));
    }

    #[test]
    fn server_numbers_never_panic() {
        assert_eq!(seconds(f64::NAN), "-");
        assert_eq!(seconds(-3.0), "-");
        assert_eq!(seconds(f64::INFINITY), "-");
        assert_eq!(seconds(1e300), format_age(Duration::from_secs(u64::MAX)));
        assert_eq!(rate(Some(f64::NAN)), "-");
        assert_eq!(rate(Some(35.2)), "35/s");
        assert_eq!(rate(Some(3.25)), "3.2/s");
        assert_eq!(bytes(1_857_000_000), "1.7 GiB");
        assert_eq!(bytes(512), "512 B");
    }
}
