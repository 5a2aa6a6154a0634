//! Readable and trustworthy at every width (issue #13): every pane (focused and zoomed), every
//! detail and every dialog of the demo's incident and large scenarios drawn at 80x24, 120x40 and
//! 200x50, each drawing checked for
//! - (a) distinct rows: no two visible rows of the focused pane (or the dialog) read the same
//!   (details, which are prose, aside), and rows of different names never show the same name;
//! - (b) unbroken names: a table's name cell (and NAMESPACE cell) is its row's real name, whole
//!   or cut once in the middle (`babylon-catalog-api-…-x5xc8`); anywhere on screen a real name
//!   is never clipped at a pane's edge without `…`, cut from the left (image references are,
//!   to keep the tag) or cut in the middle into something no real name is; free text (a
//!   message quoting a name) is cut on the right by design;
//! - (c) monotonic: a row's name shows at least as much of itself at a larger size;
//! - the cursor's row is in view, and PgUp/PgDn move by the table rows shown;
//! - (d) toasts: with a message on the status line, everything above the status line is drawn
//!   as without it;
//! - namespaces: a pods, deployments or claims table over several namespaces shows a NAMESPACE
//!   column or group lines, and a row's group line names its namespace.
//!
//! The dialogs are opened by their keys and closed with Esc: nothing is executed.
//! Failures print the drawn screen; `MATRIX_DUMP=DIR` writes every drawing to DIR.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use watchfloor::app::pane::PaneId;
use watchfloor::app::remediate::{PreviewState, Stage};
use watchfloor::app::{App, DbRow, SloRow};
use watchfloor::policy::ReadOnlyInputs;

use crate::support::headless::{Headless, key, screen};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// What is drawn, each from the start (the Pods pane focused, its list, not zoomed).
const STEPS: &[Step] = &[
    // Panes, focused then zoomed.
    Step::pane("pods", "1", Shows::Pods),
    Step::pane("pods zoomed", "1z", Shows::Pods),
    Step::pane("deployments", "1v", Shows::Deployments),
    Step::pane("deployments zoomed", "1vz", Shows::Deployments),
    Step::pane("pods sorted by name", "1oo", Shows::Pods),
    Step::pane("pods a page down", "1<PgDn>", Shows::Pods),
    Step::pane("pods at the bottom", "1G", Shows::Pods),
    Step::pane("deployments a page down", "1v<PgDn>", Shows::Deployments),
    Step::pane("deployments at the bottom", "1vG", Shows::Deployments),
    Step::pane("slo", "2", Shows::Slo),
    Step::pane("slo zoomed", "2z", Shows::Slo),
    Step::pane("db", "3", Shows::Text),
    Step::pane("db zoomed", "3z", Shows::Text),
    Step::pane("postgres sessions", "3<Enter>", Shows::Sessions),
    Step::pane("postgres sessions zoomed", "3z<Enter>", Shows::Sessions),
    Step::pane("redis clients", "3j<Enter>", Shows::Clients),
    Step::pane("redis clients zoomed", "3jz<Enter>", Shows::Clients),
    Step::pane("claims", "4", Shows::Claims),
    Step::pane("claims zoomed", "4z", Shows::Claims),
    Step::pane("logs", "5", Shows::Logs),
    Step::pane("logs zoomed", "5z", Shows::Logs),
    Step::pane("log streams", "5<Enter>", Shows::Text),
    Step::pane("log streams zoomed", "5z<Enter>", Shows::Text),
    // Details.
    Step::pane("pod detail", "1<Enter>~", Shows::Detail),
    Step::pane("pod detail zoomed", "1z<Enter>~", Shows::Detail),
    Step::pane("deployment detail", "1v<Enter>", Shows::Detail),
    Step::pane("deployment detail zoomed", "1vz<Enter>", Shows::Detail),
    Step::pane("slo detail", "2<Enter>", Shows::Detail),
    Step::pane("slo detail zoomed", "2z<Enter>", Shows::Detail),
    Step::pane("endpoint detail", "2j<Enter>", Shows::Detail),
    Step::pane("session detail", "3<Enter><Enter>", Shows::Detail),
    Step::pane("session detail zoomed", "3z<Enter><Enter>", Shows::Detail),
    Step::pane("claim detail", "4<Enter>", Shows::Detail).only("incident"),
    Step::pane("claim detail zoomed", "4z<Enter>", Shows::Detail).only("incident"),
    // YAML of a row and of a detail (fetched: `~` waits for the answer).
    Step::pane("pod yaml", "1y~", Shows::Detail),
    Step::pane("deployment yaml zoomed", "1vzy~", Shows::Detail),
    Step::pane("pod detail yaml", "1<Enter>~y~", Shows::Detail),
    Step::pane("claim yaml", "4y~", Shows::Detail).only("incident"),
    // Dialogs: opened over a list by their keys, closed with Esc.
    Step::dialog("rollout restart", "1", Shows::Pods, "r"),
    Step::dialog(
        "rollout restart of a deployment",
        "1v",
        Shows::Deployments,
        "r",
    ),
    Step::dialog("rollout undo picker", "1jj", Shows::Pods, "u"),
    // Only the incident's platform-v2-api has earlier revisions.
    Step::dialog("rollout undo preview", "1jj", Shows::Pods, "u~j<Enter>").only("incident"),
    Step::dialog("scale input", "1", Shows::Pods, "s"),
    Step::dialog("scale preview", "1", Shows::Pods, "s5<Enter>"),
    Step::dialog("delete pod", "1", Shows::Pods, "D"),
    Step::dialog("delete pod zoomed", "1z", Shows::Pods, "D"),
    // Only the incident has sessions idle in transaction, claims and so an operator to restart.
    Step::dialog("terminate idle in transaction", "3", Shows::Text, "X").only("incident"),
    Step::dialog("cancel backend", "3<Enter>", Shows::Sessions, "c"),
    Step::dialog("terminate backend", "3<Enter>", Shows::Sessions, "K"),
    Step::dialog(
        "terminate backend zoomed",
        "3z<Enter>",
        Shows::Sessions,
        "K",
    ),
    Step::dialog("kill redis client", "3j<Enter>", Shows::Clients, "K"),
    Step::dialog("operator picker", "4", Shows::Claims, "R").only("incident"),
    Step::dialog("restart operator", "4", Shows::Claims, "R~<Enter>").only("incident"),
    // Overlays.
    Step::dialog("help", "1", Shows::Pods, "?"),
    Step::dialog("messages", "1", Shows::Pods, ":messages<Enter>").shows(Shows::Messages),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_at_three_sizes() {
    run_matrix("incident", |app| {
        let data = &app.data;
        data.kube.pods.len() >= 5
            && !data.kube.deployments.is_empty()
            && data.kube.claims.values().any(|c| !c.is_empty())
            && !data.db.postgres.is_empty()
            && !data.db.redis.is_empty()
            && !data.slo.results.is_empty()
            && !data.logs.buffer.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_at_three_sizes() {
    run_matrix("large", |app| {
        let data = &app.data;
        data.kube.pods.len() >= 10_000
            && data.kube.deployments.len() >= 1_000
            && !data.db.postgres.is_empty()
            && !data.db.redis.is_empty()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The steps

/// What a drawing shows, for reading its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    Pods,
    Deployments,
    Claims,
    /// The SLO table and the health endpoints' table.
    Slo,
    Sessions,
    Clients,
    /// The `:messages` overlay: a message per row, wrapped.
    Messages,
    /// The log lines: clipped at the pane's edge by design (`w` wraps them).
    Logs,
    /// A pane without a table of names (the database blocks, the log streams), a dialog.
    Text,
    /// A detail view: prose and wrapped text, whose lines may repeat (`nobody`, JSON).
    Detail,
}

struct Step {
    what: &'static str,
    /// Keys from the start (Pods pane focused, its list, not zoomed). `<Enter>`, `<Esc>`,
    /// `<Down>`, `<PgDn>` name keys; `~` waits for what they opened to load.
    keys: &'static str,
    /// What `keys` show.
    shows: Shows,
    /// Keys that open a dialog over what `keys` show (closed with Esc afterwards), and what
    /// the dialog shows.
    dialog: Option<(&'static str, Shows)>,
    /// The scenario the step applies to, when not both.
    only: Option<&'static str>,
}

impl Step {
    const fn pane(what: &'static str, keys: &'static str, shows: Shows) -> Self {
        Step {
            what,
            keys,
            shows,
            dialog: None,
            only: None,
        }
    }

    const fn dialog(
        what: &'static str,
        keys: &'static str,
        shows: Shows,
        dialog: &'static str,
    ) -> Self {
        Step {
            what,
            keys,
            shows,
            dialog: Some((dialog, Shows::Text)),
            only: None,
        }
    }

    /// What the dialog shows (the messages overlay).
    const fn shows(mut self, shows: Shows) -> Self {
        if let Some((keys, _)) = self.dialog {
            self.dialog = Some((keys, shows));
        }
        self
    }

    const fn only(mut self, scenario: &'static str) -> Self {
        self.only = Some(scenario);
        self
    }
}

async fn run_matrix(scenario: &str, ready: impl Fn(&App) -> bool) {
    let started = Instant::now();
    let demo = watchfloor::demo::Demo::start(watchfloor_sim::Scenario::builtin(scenario).unwrap())
        .await
        .unwrap();
    let audit = tempfile::tempdir().unwrap();
    let mut loaded = demo.loaded_config(&watchfloor::demo::LocalServers::default());
    loaded.config.audit.path = Some(audit.path().join("audit.jsonl"));
    let mut console = Headless::with_config(Arc::new(loaded.config), ReadOnlyInputs::default());
    console
        .settle_until(
            &format!("the {scenario} scenario's data"),
            Duration::from_secs(120),
            ready,
        )
        .await;
    let settled = started.elapsed();
    // Hold the data still while drawing.
    console.press_str("f");
    let mut matrix = Matrix::new(scenario, &console.app);
    for step in STEPS
        .iter()
        .filter(|s| s.only.is_none_or(|only| only == scenario))
    {
        matrix.step(&mut console, step).await;
    }
    eprintln!(
        "{scenario}: data in {settled:?}, {} drawings in {:?}",
        matrix.drawings,
        started.elapsed() - settled
    );
    demo.stop().await;
    matrix.finish();
}

// ---------------------------------------------------------------------------------------------
// Driving the console

/// Presses `keys` (see [`Step::keys`]), waiting where they say.
async fn press(console: &mut Headless, keys: &str) {
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').expect("a key name ends with >");
            let code = match &rest[1..end] {
                "Enter" => KeyCode::Enter,
                "Esc" => KeyCode::Esc,
                "Down" => KeyCode::Down,
                "PgDn" => KeyCode::PageDown,
                other => panic!("unknown key <{other}>"),
            };
            console.press(key(code));
            rest = &rest[end + 1..];
            continue;
        }
        if c == '~' {
            loaded(console).await;
        } else {
            console.press_str(&c.to_string());
        }
        rest = &rest[c.len_utf8()..];
    }
}

/// Waits until what the keys opened has loaded: a dialog's revisions or dry run, the pod
/// detail's containers and events.
async fn loaded(console: &mut Headless) {
    console
        .settle_until(
            "the dialog's revisions or dry run, the pod's detail, the YAML",
            Duration::from_secs(30),
            |app| {
                let dialog = match app.view.modal.as_ref().map(|m| &m.stage) {
                    Some(Stage::History { revisions, .. }) => revisions.is_some(),
                    Some(Stage::Confirm { preview, .. }) => *preview != PreviewState::Loading,
                    _ => true,
                };
                let screen = app.screen();
                let pods = &app.view.panes[PaneId::Pods.index()];
                let detail = !pods.detail_open
                    || pods.mode != watchfloor::app::pane::PodsMode::Pods
                    || screen.selected_pod().is_none_or(|p| {
                        screen
                            .pod_detail(&(p.namespace.clone(), p.name.clone()))
                            .is_some()
                    });
                let yaml = [PaneId::Pods, PaneId::Claims]
                    .iter()
                    .all(|&pane| screen.yaml(pane).is_none_or(|(_, answer)| answer.is_some()));
                dialog && detail && yaml
            },
        )
        .await;
}

/// Back to the start: dialogs, overlays, details and zoom closed, the Pods pane's pods focused
/// on their first row, worst first.
fn reset(console: &mut Headless) {
    for _ in 0..4 {
        let view = &console.app.view;
        if view.modal.is_some() || view.help.is_some() || view.input.is_some() {
            console.press(key(KeyCode::Esc));
        }
    }
    for pane in 0..5 {
        for _ in 0..3 {
            let view = &console.app.view.panes[pane];
            if view.detail_open || view.yaml.is_some() {
                console.press_str(&(pane + 1).to_string());
                console.press(key(KeyCode::Esc));
            }
        }
    }
    if console.app.view.zoomed {
        console.press(key(KeyCode::Esc));
    }
    console.press_str("3g1g");
    while console.app.view.panes[0].mode != watchfloor::app::pane::PodsMode::Pods {
        console.press_str("v");
    }
    while !console.app.view.panes[0].sort.is_default() {
        console.press_str("o");
    }
    let view = &console.app.view;
    assert!(
        !view.zoomed
            && view
                .panes
                .iter()
                .all(|p| !p.detail_open && p.yaml.is_none())
            && view.modal.is_none(),
        "back to the start"
    );
}

// ---------------------------------------------------------------------------------------------
// The matrix

struct Matrix {
    scenario: String,
    known: Known,
    failures: Vec<String>,
    drawings: usize,
    dump: Option<std::path::PathBuf>,
}

/// A drawing at one size and what its tables are known to hold.
struct Drawn {
    size: (u16, u16),
    shot: Shot,
    tables: Vec<Read>,
}

impl Matrix {
    fn new(scenario: &str, app: &App) -> Self {
        let dump = std::env::var_os("MATRIX_DUMP").map(|dir| {
            let dir = std::path::PathBuf::from(dir).join(scenario);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        });
        Matrix {
            scenario: scenario.to_string(),
            known: Known::of(app),
            failures: Vec::new(),
            drawings: 0,
            dump,
        }
    }

    fn fail(&mut self, what: &str, size: (u16, u16), problem: String, shot: &Shot) {
        let mut text = format!(
            "{} / {what} at {}x{}: {problem}\n",
            self.scenario, size.0, size.1
        );
        for line in &shot.lines {
            let _ = writeln!(text, "  |{}|", line.iter().collect::<String>());
        }
        self.failures.push(text);
    }

    /// Draws at every size, checks each drawing alone, then the sizes against each other.
    fn draw_all(&mut self, app: &App, what: &str, shows: Shows) -> Vec<Drawn> {
        let mut all = Vec::new();
        for size in SIZES {
            let shot = Shot::new(&screen(app, size));
            self.drawings += 1;
            if let Some(dir) = &self.dump {
                let file = format!("{}-{}x{}.txt", what.replace(' ', "_"), size.0, size.1);
                std::fs::write(dir.join(file), shot.text()).unwrap();
            }
            let mut problems = Vec::new();
            let tables = check_drawing(app, &shot, shows, &self.known, &mut problems);
            for problem in problems {
                self.fail(what, size, problem, &shot);
            }
            all.push(Drawn { size, shot, tables });
        }
        for pair in all.windows(2) {
            for problem in monotonic(&pair[0], &pair[1]) {
                self.fail(what, pair[1].size, problem, &pair[1].shot);
            }
        }
        all
    }

    async fn step(&mut self, console: &mut Headless, step: &Step) {
        reset(console);
        expire_toasts(console);
        press(console, step.keys).await;
        if console.app.view.modal.is_some() {
            loaded(console).await;
        }
        let before = self.draw_all(&console.app, step.what, step.shows);
        match step.dialog {
            None => {
                // (d) A message on the status line covers nothing above it.
                console.press_str("t");
                assert!(
                    console.app.view.live_toast().is_some(),
                    "{}: t shows a message",
                    step.what
                );
                let after = self.draw_all(
                    &console.app,
                    &format!("{} with a toast", step.what),
                    step.shows,
                );
                self.same_above_status_line(step.what, &before, &after);
            }
            Some((keys, shows)) => {
                press(console, keys).await;
                if console.app.view.modal.is_some() {
                    loaded(console).await;
                }
                let open = console.app.view.modal.is_some() || console.app.view.help.is_some();
                if !open {
                    let toasts = console.toast_texts();
                    self.fail(
                        step.what,
                        SIZES[0],
                        format!("{keys} opened no dialog; messages: {toasts:?}"),
                        &before[0].shot,
                    );
                    return;
                }
                self.draw_all(&console.app, step.what, shows);
                console.press(key(KeyCode::Esc));
                if console.app.view.modal.is_some() || console.app.view.help.is_some() {
                    console.press(key(KeyCode::Esc));
                }
                // (d) The dialog is gone; its message (if any) covers nothing.
                let after =
                    self.draw_all(&console.app, &format!("{} closed", step.what), step.shows);
                self.same_above_status_line(step.what, &before, &after);
            }
        }
    }

    fn same_above_status_line(&mut self, what: &str, before: &[Drawn], after: &[Drawn]) {
        for (b, a) in before.iter().zip(after) {
            let rows = b.shot.lines.len() - 1;
            if let Some(y) = (0..rows).find(|y| b.shot.lines[*y] != a.shot.lines[*y]) {
                let problem = format!(
                    "with a message on the status line, row {y} changed from\n  |{}|",
                    b.shot.line(y)
                );
                self.fail(what, a.size, problem, &a.shot);
            }
        }
    }

    fn finish(self) {
        if self.failures.is_empty() {
            return;
        }
        let count = self.failures.len();
        for failure in &self.failures {
            eprintln!("{failure}");
        }
        panic!(
            "{count} problems in the {} matrix (screens above); first:\n{}",
            self.scenario, self.failures[0]
        );
    }
}

/// Lets time pass until no message is on the status line.
fn expire_toasts(console: &mut Headless) {
    if let Some(toast) = console.app.view.live_toast() {
        let at = toast.expires + Duration::from_secs(1);
        console.tick(at);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a drawing

/// A drawn screen, one char per cell (the demo draws no wide characters).
struct Shot {
    lines: Vec<Vec<char>>,
}

/// A box on screen: its inside, in cells.
#[derive(Debug, Clone, Copy)]
struct Region {
    left: usize,
    top: usize,
    right: usize,
    bottom: usize,
}

impl Shot {
    fn new(text: &str) -> Self {
        Shot {
            lines: text.lines().map(|l| l.chars().collect()).collect(),
        }
    }

    fn text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.extend(line.iter());
            text.push('\n');
        }
        text
    }

    fn line(&self, y: usize) -> String {
        self.lines[y].iter().collect()
    }

    /// The inside of the box whose top-left corner is `corner` (`┏` the focused pane, `╭` a
    /// dialog or overlay).
    fn boxed(&self, corner: char) -> Option<Region> {
        let (top, left) = self
            .lines
            .iter()
            .enumerate()
            .find_map(|(y, l)| l.iter().position(|c| *c == corner).map(|x| (y, x)))?;
        let (right_corner, bottom_corner) = match corner {
            '┏' => ('┓', '┗'),
            '╔' => ('╗', '╚'),
            _ => ('╮', '╰'),
        };
        let right =
            (left + 1..self.lines[top].len()).find(|x| self.lines[top][*x] == right_corner)?;
        let bottom = (top + 1..self.lines.len())
            .find(|y| self.lines[*y].get(left) == Some(&bottom_corner))?;
        Some(Region {
            left: left + 1,
            top: top + 1,
            right,
            bottom,
        })
    }

    /// The lines inside `region`.
    fn inside(&self, region: Region) -> Vec<String> {
        (region.top..region.bottom)
            .map(|y| self.lines[y][region.left..region.right].iter().collect())
            .collect()
    }
}

/// A table found in a drawing: the name column's cells of its data rows, with the rows' real
/// names in order.
struct Read {
    header: &'static str,
    /// (real key, real name, cell as drawn)
    rows: Vec<(String, String, String)>,
}

/// The rows a table is known to list, in order: (key, name, namespace).
type Expected = Vec<(String, String, Option<String>)>;

fn expected(app: &App, shows: Shows) -> Vec<(&'static str, Expected)> {
    let screen = app.screen();
    let kube = screen.visible_kube();
    let visible = &app.view.visible;
    match shows {
        Shows::Pods => vec![(
            "NAME",
            visible
                .pods
                .iter()
                .filter_map(|k| kube.pods.get(k))
                .map(|p| {
                    (
                        format!("{}/{}", p.namespace, p.name),
                        p.name.clone(),
                        Some(p.namespace.clone()),
                    )
                })
                .collect(),
        )],
        Shows::Deployments => vec![(
            "DEPLOYMENT",
            visible
                .deployments
                .iter()
                .filter_map(|k| kube.deployments.get(k))
                .map(|d| {
                    (
                        format!("{}/{}", d.namespace, d.name),
                        d.name.clone(),
                        Some(d.namespace.clone()),
                    )
                })
                .collect(),
        )],
        Shows::Claims => vec![(
            "NAME",
            visible
                .claims
                .iter()
                .filter_map(|i| kube.claims_sorted.get(*i))
                .map(|c| {
                    let ns = c.namespace.clone().unwrap_or_default();
                    (
                        format!("{ns}/{}", c.name),
                        c.name.clone(),
                        c.namespace.clone(),
                    )
                })
                .collect(),
        )],
        Shows::Slo => {
            let rows = screen.slo_rows();
            let slos = rows
                .iter()
                .filter_map(|r| match r {
                    SloRow::Slo(s) => Some((s.name.clone(), s.name.clone(), None)),
                    SloRow::Health(_) | SloRow::Alert(..) => None,
                })
                .collect();
            let endpoints = rows
                .iter()
                .filter_map(|r| match r {
                    SloRow::Health(h) => Some((h.name.clone(), h.name.clone(), None)),
                    SloRow::Slo(_) | SloRow::Alert(..) => None,
                })
                .collect();
            vec![("SLO", slos), ("ENDPOINT", endpoints)]
        }
        Shows::Sessions => vec![(
            "PID",
            visible
                .db_sessions
                .iter()
                .map(|pid| (pid.to_string(), pid.to_string(), None))
                .collect(),
        )],
        Shows::Clients => {
            let clients = match screen.selected_db() {
                Some(DbRow::Redis(i)) => screen
                    .visible_db()
                    .redis
                    .get(&i)
                    .map(|r| {
                        r.clients
                            .iter()
                            .map(|c| (c.id.to_string(), c.id.to_string(), None))
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            vec![("ID", clients)]
        }
        Shows::Text | Shows::Messages | Shows::Logs | Shows::Detail => Vec::new(),
    }
}

/// The pane and the row of a table with a cursor.
fn cursor(app: &App, shows: Shows) -> Option<(PaneId, usize)> {
    let panes = &app.view.panes;
    match shows {
        Shows::Pods | Shows::Deployments => {
            Some((PaneId::Pods, panes[PaneId::Pods.index()].selected))
        }
        Shows::Claims => Some((PaneId::Claims, panes[PaneId::Claims.index()].selected)),
        Shows::Sessions | Shows::Clients => {
            Some((PaneId::Db, panes[PaneId::Db.index()].detail_scroll))
        }
        _ => None,
    }
}

/// The header line's column starts: (start, token) for each run of non-blank text.
fn header_cells(line: &[char]) -> Vec<(usize, String)> {
    let mut cells = Vec::new();
    let mut x = 0;
    while x < line.len() {
        if line[x] == ' ' {
            x += 1;
            continue;
        }
        let start = x;
        while x < line.len() && line[x] != ' ' {
            x += 1;
        }
        cells.push((start, line[start..x].iter().collect()));
    }
    cells
}

/// Lines that are not rows: each stale database's block says so under its header, in the
/// same words when they are as old.
const NOT_ROWS: &[&str] = &["no refresh for "];

/// Checks one drawing alone; returns the tables it read.
fn check_drawing(
    app: &App,
    shot: &Shot,
    shows: Shows,
    known: &Known,
    problems: &mut Vec<String>,
) -> Vec<Read> {
    let modal = app.view.modal.is_some() || app.view.help.is_some();
    let region = if modal {
        shot.boxed('╭').or_else(|| shot.boxed('╔'))
    } else {
        shot.boxed('┏')
    };
    let Some(region) = region else {
        problems.push(format!(
            "no {} on screen",
            if modal { "dialog" } else { "focused pane" }
        ));
        return Vec::new();
    };
    let inside = shot.inside(region);
    // (a) No two rows read the same (blank and drawn-only lines aside).
    let mut seen = HashSet::new();
    for row in inside.iter().filter(|_| shows != Shows::Detail) {
        let text = row.trim_end();
        if !text.chars().any(char::is_alphanumeric) || NOT_ROWS.iter().any(|s| text.contains(s)) {
            continue;
        }
        // `:messages` wraps long messages: a row is a message, from its time on.
        if shows == Shows::Messages && !text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if !seen.insert(text) {
            problems.push(format!("two rows read the same: {text:?}"));
        }
    }
    // (b) Real names are never broken anywhere on screen; over a dialog, in the dialog (what
    // it covers is drawn without it too).
    if modal {
        known.audit(&Shot::new(&inside.join("\n")), None, problems);
    } else {
        let clipped = (shows == Shows::Logs).then_some(region);
        known.audit(shot, clipped, problems);
    }
    let mut reads = Vec::new();
    let near = cursor(app, shows).map(|(_, row)| row);
    for (header, rows) in expected(app, shows) {
        if let Some(read) = read_table(&inside, header, &rows, near, problems) {
            reads.push(read);
        }
    }
    // The cursor's row is in view; in tables with group lines, PgUp/PgDn move by the table
    // rows shown (group lines are not rows).
    if let (Some((pane, selected)), [read]) = (cursor(app, shows), reads.as_slice()) {
        let rows = &expected(app, shows)[0].1;
        if let Some((key, _, _)) = rows.get(selected)
            && !read.rows.iter().any(|(k, _, _)| k == key)
        {
            problems.push(format!("the selected row {key} is not in view"));
        }
        let page = app.view.drawn.page(pane);
        let namespaced = matches!(shows, Shows::Pods | Shows::Deployments | Shows::Claims);
        if namespaced && page != Some(read.rows.len()) {
            problems.push(format!(
                "{} table rows shown, but a page is {page:?}",
                read.rows.len()
            ));
        }
    }
    reads
}

/// Reads the table whose name column is headed `header` in `inside`, checks its name cells
/// against `rows` (the real rows in order) and its namespaces.
/// `near`: the cursor's row, which the rows shown include.
fn read_table(
    inside: &[String],
    header: &'static str,
    rows: &Expected,
    near: Option<usize>,
    problems: &mut Vec<String>,
) -> Option<Read> {
    let lines: Vec<Vec<char>> = inside.iter().map(|l| l.chars().collect()).collect();
    let is_header = |cells: &[(usize, String)]| {
        cells
            .iter()
            .any(|(_, t)| t.trim_end_matches(['↑', '↓']) == header)
    };
    let Some(header_y) = lines.iter().position(|l| is_header(&header_cells(l))) else {
        if !rows.is_empty() {
            problems.push(format!("no table headed {header} for {} rows", rows.len()));
        }
        return None;
    };
    let cells = header_cells(&lines[header_y]);
    let at = cells
        .iter()
        .position(|(_, t)| t.trim_end_matches(['↑', '↓']) == header)?;
    let start = cells[at].0;
    let end = cells.get(at + 1).map_or(usize::MAX, |(x, _)| x - 1);
    // NAMESPACE, or cut (`NAMES…`) where the column is narrow.
    let namespace_at = cells
        .iter()
        .find(|(_, t)| {
            let t = t.trim_end_matches(['↑', '↓']);
            t == "NAMESPACE"
                || t.strip_suffix('…')
                    .is_some_and(|t| "NAMESPACE".starts_with(t))
        })
        .map(|(x, _)| {
            let next = cells
                .iter()
                .find(|(nx, _)| nx > x)
                .map_or(usize::MAX, |(nx, _)| nx - 1);
            (*x, next)
        });
    let cell = |line: &[char], (from, to): (usize, usize)| -> String {
        let to = to.min(line.len());
        if from >= to {
            return String::new();
        }
        line[from..to]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string()
    };
    // The lines under the header: group lines and rows (name cell, namespace cell).
    let mut drawn: Vec<Result<(String, Option<String>), String>> = Vec::new();
    for line in &lines[header_y + 1..] {
        let text: String = line.iter().collect();
        // The end of the rows, or another table below (the SLO pane's endpoints).
        if text.trim().is_empty() || drawn.iter().filter(|d| d.is_ok()).count() == rows.len() {
            break;
        }
        match group_line(&text) {
            Some(namespace) => drawn.push(Err(namespace)),
            None => drawn.push(Ok((
                cell(line, (start, end)),
                namespace_at.map(|range| cell(line, range)),
            ))),
        }
    }
    let shown: Vec<&(String, Option<String>)> =
        drawn.iter().filter_map(|d| d.as_ref().ok()).collect();
    // Which rows they are: the run of the table's rows they show (scrolled to the cursor).
    let fits = |first: usize| {
        shown.iter().enumerate().all(|(i, (name, _))| {
            rows.get(first + i)
                .is_some_and(|(_, real, _)| cut_problem(name, real).is_none())
        })
    };
    let candidates = match near {
        Some(cursor) => cursor.saturating_sub(drawn.len())..=cursor,
        None => 0..=0,
    };
    let first = candidates.clone().find(|k| fits(*k)).unwrap_or_else(|| {
        problems.push(format!(
            "{header}: the rows shown are not rows {candidates:?}.. of the table in order"
        ));
        *candidates.start()
    });
    let mut read = Read {
        header,
        rows: Vec::new(),
    };
    let mut names_seen: BTreeMap<String, String> = BTreeMap::new();
    let mut group: Option<String> = None;
    let mut groups = 0;
    let mut namespaces = BTreeSet::new();
    let mut expected = rows.iter().skip(first);
    for line in &drawn {
        let (shown, shown_namespace) = match line {
            Err(namespace) => {
                group = Some(namespace.clone());
                groups += 1;
                continue;
            }
            Ok(cells) => cells,
        };
        let Some((key, name, namespace)) = expected.next() else {
            break;
        };
        // Rows of the same name in two namespaces show the same name, others never.
        if let Some(other) = names_seen.insert(shown.clone(), name.clone())
            && other != *name
        {
            problems.push(format!(
                "{header}: {other:?} and {name:?} both show as {shown:?}"
            ));
        }
        if let Some(problem) = cut_problem(shown, name) {
            problems.push(format!("{header}: {problem}"));
        }
        if let Some(namespace) = namespace {
            namespaces.insert(namespace.clone());
            if let Some(shown) = shown_namespace {
                if let Some(problem) = cut_problem(shown, namespace) {
                    problems.push(format!("NAMESPACE: {problem}"));
                }
            } else if let Some(group) = &group
                && group != namespace
            {
                problems.push(format!(
                    "{name} of {namespace} is listed under the group line of {group}"
                ));
            }
        }
        read.rows.push((key.clone(), name.clone(), shown.clone()));
    }
    if namespaces.len() > 1 && namespace_at.is_none() && groups == 0 {
        problems.push(format!(
            "{header}: rows of {} namespaces with neither a NAMESPACE column nor group lines",
            namespaces.len()
        ));
    }
    Some(read)
}

/// A namespace group line (`── babylon-prod ──`): its namespace.
fn group_line(text: &str) -> Option<String> {
    let inner = text
        .trim()
        .strip_prefix("──")?
        .trim_end()
        .strip_suffix("──")?;
    Some(inner.trim().to_string())
}

/// Why `shown` is not `real` whole or cut once in the middle, keeping a prefix and a suffix.
fn cut_problem(shown: &str, real: &str) -> Option<String> {
    if shown == real {
        return None;
    }
    let parts: Vec<&str> = shown.split('…').collect();
    match parts.as_slice() {
        [front, back] if !front.is_empty() && !back.is_empty() => {
            if real.starts_with(front)
                && real.ends_with(back)
                && front.len() + back.len() < real.len()
            {
                None
            } else {
                Some(format!("{shown:?} is not a middle cut of {real:?}"))
            }
        }
        [_, _] => Some(format!(
            "{shown:?} cuts {real:?} at one end (a name keeps its prefix and its suffix)"
        )),
        [_] => Some(format!("{shown:?} is {real:?} broken without an ellipsis")),
        _ => Some(format!("{shown:?} cuts {real:?} more than once")),
    }
}

/// (c) Every row shown at the smaller size shows at least as much of its name at the larger.
fn monotonic(small: &Drawn, large: &Drawn) -> Vec<String> {
    let mut problems = Vec::new();
    for table in &small.tables {
        let Some(wide) = large.tables.iter().find(|t| t.header == table.header) else {
            continue;
        };
        let wide: BTreeMap<&str, &str> = wide
            .rows
            .iter()
            .map(|(key, _, shown)| (key.as_str(), shown.as_str()))
            .collect();
        for (key, real, shown) in &table.rows {
            let Some(larger) = wide.get(key.as_str()) else {
                continue;
            };
            let (front, back) = shown.split_once('…').unwrap_or((shown, ""));
            let (wide_front, wide_back) = larger.split_once('…').unwrap_or((larger, ""));
            let whole = shown == real;
            let ok = if whole {
                larger == real
            } else {
                *larger == real || (wide_front.starts_with(front) && wide_back.ends_with(back))
            };
            if !ok {
                problems.push(format!(
                    "{}: {real:?} shows as {shown:?} at {}x{} but as {larger:?} here",
                    table.header, small.size.0, small.size.1
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Real names

/// The names the data holds (pods, deployments, ReplicaSets, namespaces, nodes, claims,
/// databases, SLOs, endpoints) and the image references, for finding broken ones anywhere on
/// screen.
struct Known {
    names: BTreeSet<String>,
    reversed: BTreeSet<String>,
    images_reversed: BTreeSet<String>,
}

/// Characters a name or an image reference is made of.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '/' | '@' | '…')
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

impl Known {
    fn of(app: &App) -> Self {
        let data = app.screen().shown();
        let kube = &data.kube;
        let mut names = BTreeSet::new();
        let mut images = BTreeSet::new();
        for pod in kube.pods.values() {
            names.insert(pod.name.clone());
            names.insert(pod.namespace.clone());
            names.extend(pod.node.clone());
        }
        for d in kube.deployments.values() {
            names.insert(d.name.clone());
            images.extend(d.images.iter().cloned());
        }
        for rs in kube.replicasets.values() {
            names.insert(rs.name.clone());
            images.extend(rs.images.iter().cloned());
        }
        for claim in &kube.claims_sorted {
            names.insert(claim.name.clone());
            names.extend(claim.namespace.clone());
        }
        for pg in data.db.postgres.values() {
            for session in &pg.sample.sessions {
                names.extend(session.usename.clone());
                names.extend(session.application_name.clone());
            }
        }
        for redis in data.db.redis.values() {
            names.extend(redis.clients.iter().map(|c| c.name.clone()));
        }
        // Short names are words as much as names: only names long enough to tell.
        names.retain(|n: &String| n.len() >= 6);
        Known {
            reversed: names.iter().map(|n| reverse(n)).collect(),
            images_reversed: images.iter().map(|n| reverse(n)).collect(),
            names,
        }
    }

    fn starts<'a>(set: &'a BTreeSet<String>, prefix: &'a str) -> impl Iterator<Item = &'a String> {
        set.range(prefix.to_string()..)
            .take_while(move |n| n.starts_with(prefix))
    }

    /// A real name longer than `prefix` starts with it.
    fn strict_prefix(&self, prefix: &str) -> bool {
        Self::starts(&self.names, prefix).any(|n| n.len() > prefix.len())
    }

    fn strict_suffix(&self, suffix: &str) -> bool {
        Self::starts(&self.reversed, &reverse(suffix)).any(|n| n.len() > suffix.len())
    }

    fn middle_cut(&self, front: &str, back: &str) -> bool {
        Self::starts(&self.names, front)
            .any(|n| n.ends_with(back) && n.len() > front.len() + back.len())
    }

    fn image_cut(&self, back: &str) -> bool {
        Self::starts(&self.images_reversed, &reverse(back))
            .next()
            .is_some()
    }

    /// What is wrong with `segment` (a `/`-separated part of a word); `edge`: it touches the
    /// right edge of a pane or the screen.
    fn segment_problem(&self, segment: &str, word: &str, edge: bool) -> Option<String> {
        let parts: Vec<&str> = segment.split('…').collect();
        match parts.as_slice() {
            [whole] => (edge
                && whole.len() >= 4
                && !self.names.contains(*whole)
                && self.strict_prefix(whole))
            .then(|| format!("{word:?} is a name clipped at the edge")),
            // Free text is cut on the right (a message quoting a name too).
            [_, ""] => None,
            ["", back] => {
                let image = word
                    .rsplit_once('…')
                    .is_some_and(|(_, b)| self.image_cut(b));
                (back.len() >= 4
                    && !image
                    && !self.names.contains(*back)
                    && self.strict_suffix(back))
                .then(|| format!("{word:?} cuts a name from the left"))
            }
            [front, back] => {
                (front.len() >= 3 && self.strict_prefix(front) && !self.middle_cut(front, back))
                    .then(|| format!("{word:?} is not a cut of any real name"))
            }
            _ => Some(format!("{word:?} is cut more than once")),
        }
    }

    /// Every word of the screen: no real name broken (in `clipped`, text may be clipped at
    /// the edge).
    fn audit(&self, shot: &Shot, clipped: Option<Region>, problems: &mut Vec<String>) {
        let mut reported = HashSet::new();
        for (y, line) in shot.lines.iter().enumerate() {
            let clips = clipped.is_some_and(|r| (r.top..r.bottom).contains(&y));
            let mut x = 0;
            while x < line.len() {
                if !name_char(line[x]) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < line.len() && name_char(line[x]) {
                    x += 1;
                }
                let word: String = line[start..x].iter().collect();
                // The word ends at a border or the screen's edge.
                let edge = !clips && (x == line.len() || matches!(line[x], '│' | '┃'));
                let segments: Vec<&str> = word.split('/').collect();
                for (i, segment) in segments.iter().enumerate() {
                    let edge = edge && i + 1 == segments.len();
                    if let Some(problem) = self.segment_problem(segment, &word, edge)
                        && reported.insert(problem.clone())
                    {
                        problems.push(problem);
                    }
                }
            }
        }
    }
}
