//! The shared console of `watchfloor serve`, seen through the real OpenSSH client in tmux
//! panes (one tmux server per test, each viewer a session of its own size), against the
//! simulator as a process of its own with its request log: several viewers with views of their
//! own over one collection, observers who cannot mutate, an operator whose remediation every
//! viewer sees and the audit trail names, viewers that vanish or stall.
//!
//! Every wait polls what a pane shows (or a file, or a process) against a deadline.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::serve_ssh::{Process, Server, Setup, wait_for};

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "wf-serve-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is required");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A session `name` of `cols`x`rows` running `command` (exec'd: the pane's process is it).
    fn open(&self, name: &str, (cols, rows): (u16, u16), command: &str) {
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            &format!("exec {command}"),
        ]);
        // A pane whose ssh ended stays, for what it last showed.
        self.tmux(&["set-option", "-t", name, "remain-on-exit", "on"]);
    }

    fn screen(&self, name: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", name])
    }

    /// Types `text` literally.
    fn type_text(&self, name: &str, text: &str) {
        self.tmux(&["send-keys", "-t", name, "-l", text]);
    }

    /// Presses named keys (`Enter`, `Escape`, `Tab`).
    fn press(&self, name: &str, key: &str) {
        self.tmux(&["send-keys", "-t", name, key]);
    }

    fn pane_pid(&self, name: &str) -> i32 {
        self.tmux(&["display-message", "-p", "-t", name, "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `name` shows something `holds` accepts; returns the screen.
    fn wait(&self, name: &str, what: &str, holds: impl Fn(&str) -> bool) -> String {
        wait_for(
            &format!("{name}: {what}"),
            || Some(self.screen(name)).filter(|s| holds(s)),
            || self.screen(name),
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The simulator as a process, with its request log.
struct SimProcess {
    _process: Process,
    kubeconfig: PathBuf,
    requests: PathBuf,
}

impl SimProcess {
    fn start(setup: &Setup, scenario: &str) -> Self {
        let kubeconfig = setup.path("kubeconfig");
        let requests = setup.path("requests.jsonl");
        let mut process = Process::spawn(
            setup
                .watchfloor()
                .args(["sim", "--scenario", scenario, "--listen", "127.0.0.1:0"])
                .arg("--kubeconfig-out")
                .arg(&kubeconfig)
                .arg("--request-log")
                .arg(&requests),
            false,
        );
        process.wait_stdout("kubeconfig:");
        Self {
            _process: process,
            kubeconfig,
            requests,
        }
    }

    /// Every request so far: (method, path, verb).
    fn requests(&self) -> Vec<(String, String, String)> {
        fs::read_to_string(&self.requests)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (field("method"), field("path"), field("verb"))
            })
            .collect()
    }

    fn count(&self, verb: &str) -> usize {
        self.requests().iter().filter(|r| r.2 == verb).count()
    }

    /// Requests that change something (access reviews, which only ask, left out).
    fn mutating(&self) -> Vec<(String, String, String)> {
        self.requests()
            .into_iter()
            .filter(|(method, path, _)| {
                matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
                    && !path.contains("selfsubjectaccessreviews")
            })
            .collect()
    }
}

/// Four users: alice and dave operate, bob and carol observe.
struct Console {
    setup: Setup,
    sim: SimProcess,
    server: Server,
    tmux: Tmux,
}

impl Console {
    fn start(scenario: &str) -> Self {
        let setup = Setup::new();
        let keys: Vec<String> = ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|name| setup.key(name))
            .collect();
        let sim = SimProcess::start(&setup, scenario);
        let config = setup.path("config.toml");
        fs::write(
            &config,
            format!(
                r#"[[targets]]
name = "sim"
[targets.kubernetes]
kubeconfig = {kubeconfig:?}
context = "watchfloor-sim"

[audit]
path = {audit:?}

[serve]
host_key = {host_key:?}

[[serve.users]]
name = "alice"
role = "operator"
keys = [{alice:?}]

[[serve.users]]
name = "bob"
keys = [{bob:?}]

[[serve.users]]
name = "carol"
role = "observer"
keys = [{carol:?}]

[[serve.users]]
name = "dave"
role = "operator"
keys = [{dave:?}]
"#,
                kubeconfig = sim.kubeconfig.display().to_string(),
                audit = setup.path("audit.jsonl").display().to_string(),
                host_key = setup.host_key().display().to_string(),
                alice = keys[0],
                bob = keys[1],
                carol = keys[2],
                dave = keys[3],
            ),
        )
        .unwrap();
        let server = setup.serve(&config);
        Self {
            setup,
            sim,
            server,
            tmux: Tmux::new(),
        }
    }

    /// `user` attaches in a tmux session of their name at `size`.
    fn attach(&self, user: &str, size: (u16, u16)) {
        let command = format!(
            "ssh -t -p {port} -i {key} -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=no -o UserKnownHostsFile={known} -F /dev/null x@127.0.0.1",
            port = self.server.port,
            key = self.setup.path(user).display(),
            known = self.setup.path("known_hosts").display(),
        );
        self.tmux.open(user, size, &command);
    }

    /// Waits until `user` sees the console with live pods and `watching` viewers.
    fn wait_console(&self, user: &str, watching: usize) -> String {
        let count = format!("{watching} watching");
        self.tmux.wait(user, &format!("live pods, {count}"), |s| {
            s.contains(&count) && s.contains("Pods · live") && s.contains("platform-v2-api")
        })
    }

    fn audit(&self) -> String {
        fs::read_to_string(self.setup.path("audit.jsonl")).unwrap_or_default()
    }
}

/// The line of `screen` that holds `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

#[test]
fn serve_three_viewers_have_views_of_their_own_over_one_collection() {
    let console = Console::start("incident");
    console.attach("bob", (100, 30));
    console.wait_console("bob", 1);
    // Every watch the console needs is open once the first viewer sees live pods.
    let sim = &console.sim;
    // The shared collection's requests: cluster-wide ones (a viewer's own log stream watches
    // its pod's namespace, and is counted apart below).
    let shared = |verb: &str| {
        sim.requests()
            .iter()
            .filter(|(_, path, v)| v == verb && !path.starts_with("/api/v1/namespaces/"))
            .count()
    };
    let watches_for_one = wait_for(
        "the watches to settle",
        || {
            let before = shared("watch");
            std::thread::sleep(Duration::from_millis(500));
            (before > 0 && shared("watch") == before).then_some(before)
        },
        || format!("{:?}", sim.requests()),
    );
    let lists_for_one = shared("list");

    console.attach("carol", (80, 24));
    console.attach("alice", (140, 45));
    for user in ["bob", "carol", "alice"] {
        console.wait_console(user, 3);
    }

    // Each moves on their own: bob filters pods, carol focuses the Logs pane, alice zooms the
    // deployments.
    console.tmux.type_text("bob", "/image-scanner");
    console.tmux.press("bob", "Enter");
    console.tmux.type_text("carol", "5");
    console.tmux.type_text("alice", "v");
    let bob = console.tmux.wait("bob", "only image-scanner", |s| {
        s.contains("image-scanner") && !s.contains("platform-v2-api-")
    });
    let carol = console.tmux.wait("carol", "the Logs pane focused", |s| {
        line_with(s, "5 Logs").is_some_and(|l| l.contains('┏'))
    });
    let alice = console.tmux.wait("alice", "deployments", |s| {
        s.contains("DEPLOYMENT") && s.contains("ROLLOUT")
    });
    // ... and nobody else's view changed.
    assert!(!bob.contains("DEPLOYMENT"), "{bob}");
    assert!(
        line_with(&bob, "5 Logs").is_some_and(|l| !l.contains('┏')),
        "{bob}"
    );
    assert!(!carol.contains("DEPLOYMENT"), "{carol}");
    assert!(alice.contains("platform-v2-api"), "{alice}");
    // Sizes are each viewer's own: alice's 140 columns, carol's 80.
    assert!(alice.lines().any(|l| l.chars().count() > 100), "{alice}");
    assert!(carol.lines().all(|l| l.chars().count() <= 80), "{carol}");

    // bob follows the selected pod's logs: a stream of his own on the shared collection, which
    // carol (Logs pane focused) does not see.
    console.tmux.type_text("bob", "l");
    console.tmux.wait("bob", "his ad-hoc stream", |s| {
        s.contains("following logs of") || s.contains("logs of platform-v1-exp/image-scanner")
    });
    console
        .tmux
        .wait("bob", "the stream in his Logs pane", |s| {
            line_with(s, "5 Logs").is_some_and(|l| l.contains('┏')) && s.contains("image-scanner")
        });
    let carol = console.tmux.screen("carol");
    assert!(!carol.contains("image-scanner"), "{carol}");

    // `:who` lists all three, roles included.
    console.tmux.type_text("carol", ":who");
    console.tmux.press("carol", "Enter");
    let who = console
        .tmux
        .wait("carol", ":who", |s| s.contains("Watching"));
    for (name, role) in [
        ("alice", "operator"),
        ("bob", "observer"),
        ("carol", "observer"),
    ] {
        assert!(
            line_with(&who, &format!("{name} ")).is_some_and(|l| l.contains(role)),
            "{who}"
        );
    }
    assert!(
        line_with(&who, "(you)").is_some_and(|l| l.contains("carol")),
        "{who}"
    );

    // The same watches for three viewers as for one, and no list since; bob's own stream is
    // one watch of its namespace's pods at most.
    assert_eq!(shared("watch"), watches_for_one, "{:?}", sim.requests());
    assert_eq!(shared("list"), lists_for_one, "{:?}", sim.requests());
    assert!(
        sim.count("watch") <= watches_for_one + 1,
        "{:?}",
        sim.requests()
    );
}

#[test]
fn serve_observers_cannot_mutate_and_everyone_sees_the_operators_undo() {
    let console = Console::start("incident");
    console.attach("bob", (120, 40));
    console.attach("alice", (120, 40));
    console.attach("dave", (120, 40));
    console.wait_console("bob", 3);
    console.wait_console("alice", 3);
    console.wait_console("dave", 3);
    let fingerprint = console.setup.fingerprint(&console.setup.path("alice.pub"));

    // The observer presses every remediation key where it applies (pods, deployments,
    // claims, the DB pane and its sessions) and confirms whatever might have opened.
    let tmux = &console.tmux;
    let walk: [(&str, &[&str]); 5] = [
        ("", &["r", "u", "s", "D", "C-d"]),
        ("v", &["r", "u", "s"]),
        ("v4", &["R"]),
        ("3", &["c", "K", "X"]),
        ("Enter", &["c", "K", "X"]),
    ];
    for (to, keys) in walk {
        match to {
            "" => {}
            "Enter" => tmux.press("bob", "Enter"),
            to => tmux.type_text("bob", to),
        }
        for key in keys {
            tmux.press("bob", key);
            tmux.type_text("bob", "y");
            tmux.press("bob", "Enter");
            tmux.press("bob", "Escape");
        }
    }
    let bob = tmux.screen("bob");
    assert!(bob.contains("READ-ONLY"), "{bob}");
    assert!(!bob.contains("confirm"), "{bob}");

    // The operator rolls platform-v2-api back to revision 6.
    tmux.type_text("alice", "v/platform-v2-api");
    tmux.press("alice", "Enter");
    tmux.type_text("alice", "u");
    tmux.wait("alice", "the revision picker", |s| {
        s.contains("pick a revision")
    });
    tmux.press("alice", "Enter");
    tmux.wait("alice", "the dry run", |s| {
        s.contains("dry run: rolled back")
    });
    // Nothing was sent by the observer: the only requests that change anything are the
    // operator's dry run so far.
    let before_confirm = console.sim.mutating();
    assert!(
        before_confirm
            .iter()
            .all(|(method, path, _)| method == "PATCH" && path.contains("platform-v2-api")),
        "{before_confirm:?}"
    );
    // Every viewer of the target sees the plan ...
    tmux.wait("bob", "the operator's dry run", |s| {
        s.contains("alice: rollout undo deployment/platform-v2-api") && s.contains("dry run ok")
    });
    // dave, an operator too, cannot act on the object alice holds: he is told who holds it.
    tmux.type_text("dave", "v/platform-v2-api");
    tmux.press("dave", "Enter");
    tmux.type_text("dave", "u");
    tmux.wait("dave", "the revision picker", |s| {
        s.contains("pick a revision")
    });
    tmux.press("dave", "Enter");
    tmux.wait("dave", "who holds it", |s| {
        s.contains("held by alice") && s.contains("rollout undo")
    });
    tmux.press("dave", "Escape");
    tmux.type_text("alice", "y");
    // ... and its outcome.
    tmux.wait("bob", "the operator's outcome", |s| {
        s.contains("alice: rollout undo deployment/platform-v2-api")
            && (s.contains("done:") || s.contains("rollout complete"))
    });

    // The audit line names the [[serve.users]] name, the key and the client address.
    let audit = wait_for(
        "the succeeded audit line",
        || Some(console.audit()).filter(|a| a.contains("\"succeeded\"")),
        || console.audit(),
    );
    let line = audit.lines().find(|l| l.contains("\"succeeded\"")).unwrap();
    let record: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(record["operator"]["user"], "alice", "{line}");
    assert_eq!(record["operator"]["key"], fingerprint.as_str(), "{line}");
    assert_eq!(record["operator"]["ssh_client"], "127.0.0.1", "{line}");
    // Only alice's lines are in the trail.
    assert!(
        audit.lines().all(|l| l.contains("\"user\":\"alice\"")),
        "{audit}"
    );
    // `watchfloor audit` shows who.
    let out = console
        .setup
        .watchfloor()
        .args(["audit", "--config"])
        .arg(console.setup.path("config.toml"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("alice ({fingerprint})@127.0.0.1")),
        "{shown}"
    );
}

#[test]
fn serve_a_vanished_and_a_stalled_viewer_hold_up_nobody() {
    let console = Console::start("flood");
    let tmux = &console.tmux;
    for user in ["alice", "bob", "carol"] {
        console.attach(user, (100, 30));
    }
    for user in ["alice", "bob", "carol"] {
        tmux.wait(user, "three watching", |s| s.contains("3 watching"));
    }
    let server_pid = console.server.process.child.id() as i32;
    let rss_before = rss_kib(server_pid);

    // carol's client stops reading; bob's is killed outright.
    let carol = rustix::process::Pid::from_raw(tmux.pane_pid("carol")).unwrap();
    let bob = rustix::process::Pid::from_raw(tmux.pane_pid("bob")).unwrap();
    rustix::process::kill_process(carol, rustix::process::Signal::STOP).unwrap();
    rustix::process::kill_process(bob, rustix::process::Signal::KILL).unwrap();
    // bob's view is freed at once.
    tmux.wait("alice", "bob gone", |s| s.contains("2 watching"));

    // For 30 s of flood alice's console keeps answering her keys.
    let until = Instant::now() + Duration::from_secs(30);
    let mut zoomed = false;
    while Instant::now() < until {
        tmux.type_text("alice", "z");
        zoomed = !zoomed;
        // Zoomed, only the focused pane is drawn: no other pane's title line.
        tmux.wait("alice", "her key answered", |s| {
            s.contains("5 Logs") != zoomed
        });
    }
    let rss_after = rss_kib(server_pid);
    // Bounded: a stalled viewer costs a pending frame, not 30 s of frames.
    assert!(
        rss_after < rss_before + 64 * 1024,
        "server RSS grew from {rss_before} KiB to {rss_after} KiB"
    );

    // carol catches up with the latest state when she reads again.
    rustix::process::kill_process(carol, rustix::process::Signal::CONT).unwrap();
    tmux.wait("carol", "the latest state", |s| s.contains("2 watching"));
    tmux.type_text("carol", "q");
    tmux.wait("alice", "carol gone", |s| s.contains("1 watching"));
}

/// VmRSS of `pid`, KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}
