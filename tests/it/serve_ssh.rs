//! `watchfloor serve` against the real OpenSSH client (`ssh`, `ssh-keygen` from openssh-client):
//! who gets in (a listed key, whatever the SSH user name), who does not (unknown keys,
//! passwords), what a session may not ask for (exec, port forwarding), the host key's life
//! (made 0600, reused, refused when others may read it), seats and shutdown.
//!
//! The server listens on `127.0.0.1:0` and prints the address it got; every wait polls a
//! condition (a line printed, a process exited) against a deadline, never a sleep.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Upper bound for any one step, for a loaded 2-core machine.
pub(super) const DEADLINE: Duration = Duration::from_secs(30);
pub(super) const POLL: Duration = Duration::from_millis(20);

/// Output of a child, collected by a thread as it comes.
#[derive(Clone, Default)]
pub(super) struct Collected(Arc<Mutex<Vec<u8>>>);

impl Collected {
    fn from(mut reader: impl Read + Send + 'static) -> Self {
        let collected = Self::default();
        let sink = collected.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        collected
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Polls `check` until it gives a value; panics with `what` and `state()` after [`DEADLINE`].
pub(super) fn wait_for<T>(
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    state: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen:\n{}",
            state()
        );
        std::thread::sleep(POLL);
    }
}

/// A running child process with its output; killed (if still running) when dropped.
pub(super) struct Process {
    pub(super) child: Child,
    pub(super) stdin: Option<ChildStdin>,
    pub(super) stdout: Collected,
    pub(super) stderr: Collected,
}

impl Process {
    pub(super) fn spawn(command: &mut Command, stdin: bool) -> Self {
        command
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let stdout = Collected::from(child.stdout.take().unwrap());
        let stderr = Collected::from(child.stderr.take().unwrap());
        Self {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    pub(super) fn shown(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.text(),
            self.stderr.text()
        )
    }

    /// Waits for stdout to contain `needle`; fails early if the process exits without it.
    pub(super) fn wait_stdout(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let text = self.stdout.text();
            if text.contains(needle) {
                return text;
            }
            if self.child.try_wait().unwrap().is_some() {
                wait_for_drain(&self.stdout, &self.stderr);
                let text = self.stdout.text();
                assert!(
                    text.contains(needle),
                    "exited without printing {needle:?}; {}",
                    self.shown()
                );
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; {}",
                self.shown()
            );
            std::thread::sleep(POLL);
        }
    }

    pub(super) fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the readers drain what the process wrote last.
                let _ = wait_for_drain(&self.stdout, &self.stderr);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit; {}",
                self.shown()
            );
            std::thread::sleep(POLL);
        }
    }

    pub(super) fn signal(&self, signal: rustix::process::Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal)
            .unwrap();
    }
}

/// The output readers finish shortly after the process exits: wait until the output stops
/// growing across two polls.
fn wait_for_drain(stdout: &Collected, stderr: &Collected) -> usize {
    let size = || stdout.0.lock().unwrap().len() + stderr.0.lock().unwrap().len();
    let mut last = usize::MAX;
    loop {
        let now = size();
        if now == last {
            return now;
        }
        last = now;
        std::thread::sleep(POLL * 2);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A temporary directory with users' key pairs and a config.
pub(super) struct Setup {
    pub(super) dir: TempDir,
}

impl Setup {
    pub(super) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("wf-serve-")
            .tempdir()
            .unwrap();
        fs::create_dir_all(dir.path().join("state")).unwrap();
        Self { dir }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ssh-keygen -t ed25519` key pair `name`, `name.pub`: the public key line.
    pub(super) fn key(&self, name: &str) -> String {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("{name}@test"))
            .arg("-f")
            .arg(self.path(name))
            .status()
            .expect("ssh-keygen is required (openssh-client)");
        assert!(status.success());
        fs::read_to_string(self.path(&format!("{name}.pub")))
            .unwrap()
            .trim()
            .to_string()
    }

    /// `SHA256:…` of a key file, as `ssh-keygen -lf` prints it.
    pub(super) fn fingerprint(&self, file: &Path) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    }

    pub(super) fn host_key(&self) -> PathBuf {
        self.path("state/host/ssh_host_ed25519_key")
    }

    /// A config with one target (no sources) and `[serve]` with `serve_extra` and `users`.
    fn config(&self, serve_extra: &str, users: &str) -> PathBuf {
        let path = self.path("config.toml");
        fs::write(
            &path,
            format!(
                "[[targets]]\nname = \"t\"\n\n[serve]\nhost_key = {:?}\n{serve_extra}\n{users}",
                self.host_key().display().to_string()
            ),
        )
        .unwrap();
        path
    }

    pub(super) fn watchfloor(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_watchfloor"));
        command
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env_remove("WATCHFLOOR_CONFIG")
            .env_remove("WATCHFLOOR_LOG");
        command
    }

    /// `watchfloor serve` on a port of its choosing; returns once it listens.
    pub(super) fn serve(&self, config: &Path) -> Server {
        let mut process = Process::spawn(
            self.watchfloor()
                .arg("serve")
                .arg("--config")
                .arg(config)
                .args(["--listen", "127.0.0.1:0"]),
            false,
        );
        let text = process.wait_stdout("listening on 127.0.0.1:");
        let port = text
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("no port in {text}"));
        Server { process, port }
    }

    /// `ssh -tt` to the server with key `key` (SSH user `x`: the name plays no part), `extra`
    /// options before the destination and `after` after it.
    fn ssh(
        &self,
        port: u16,
        key: Option<&str>,
        extra: &[&str],
        after: &[&str],
        stdin: bool,
    ) -> Process {
        let mut command = Command::new("ssh");
        command
            .args(["-p", &port.to_string()])
            .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=no", "-o", "ConnectTimeout=5"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.path("known_hosts").display()
            ))
            .args(["-F", "/dev/null"]);
        if let Some(key) = key {
            command.arg("-i").arg(self.path(key));
        }
        command.args(extra).arg("x@127.0.0.1").args(after);
        Process::spawn(&mut command, stdin)
    }

    pub(super) fn log(&self) -> String {
        fs::read_to_string(self.path("state/watchfloor/watchfloor.log")).unwrap_or_default()
    }
}

pub(super) struct Server {
    pub(super) process: Process,
    pub(super) port: u16,
}

fn users(alice: &str) -> String {
    format!("[[serve.users]]\nname = \"alice\"\nrole = \"operator\"\nkeys = [{alice:?}]\n")
}

#[test]
fn serve_a_listed_key_is_let_in_whatever_the_ssh_user_name_and_q_quits() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("", &users(&alice));
    let server = setup.serve(&config);
    let mut ssh = setup.ssh(server.port, Some("alice"), &["-tt"], &[], true);
    let fingerprint = setup.fingerprint(&setup.path("alice.pub"));
    // The console: its header, and the terminal put in the alternate screen.
    let shown = ssh.wait_stdout("1 watching");
    assert!(shown.contains("target: t"), "{shown}");
    assert!(shown.contains("\x1b[?1049h"), "{shown}");
    ssh.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = ssh.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", ssh.shown());
    let log = wait_for(
        "the accepted key in the log",
        || Some(setup.log()).filter(|l| l.contains("serve: key accepted")),
        || setup.log(),
    );
    assert!(log.contains(&fingerprint), "{log}");
}

#[test]
fn serve_an_unknown_key_and_a_password_are_refused() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    setup.key("mallory");
    let config = setup.config("", &users(&alice));
    let server = setup.serve(&config);

    let mut ssh = setup.ssh(server.port, Some("mallory"), &["-tt"], &[], false);
    let status = ssh.wait_exit();
    assert_eq!(status.code(), Some(255), "{}", ssh.shown());
    assert!(
        ssh.stderr.text().contains("Permission denied (publickey)"),
        "{}",
        ssh.shown()
    );
    assert!(
        !ssh.stdout.text().contains("watchfloor serve"),
        "{}",
        ssh.shown()
    );
    let mallory = setup.fingerprint(&setup.path("mallory.pub"));
    let log = wait_for(
        "the rejected key in the log",
        || Some(setup.log()).filter(|l| l.contains("unknown key rejected") && l.contains(&mallory)),
        || setup.log(),
    );
    assert!(log.contains("peer=127.0.0.1:"), "{log}");

    let mut ssh = setup.ssh(
        server.port,
        None,
        &[
            "-tt",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-o",
            "PubkeyAuthentication=no",
        ],
        &[],
        false,
    );
    let status = ssh.wait_exit();
    assert_eq!(status.code(), Some(255), "{}", ssh.shown());
    assert!(
        ssh.stderr.text().contains("Permission denied (publickey)"),
        "{}",
        ssh.shown()
    );
}

#[test]
fn serve_refuses_exec_and_port_forwarding() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("", &users(&alice));
    let server = setup.serve(&config);

    let mut ssh = setup.ssh(
        server.port,
        Some("alice"),
        &[],
        &["cat", "/etc/passwd"],
        false,
    );
    let status = ssh.wait_exit();
    assert_ne!(status.code(), Some(0), "{}", ssh.shown());
    assert!(
        ssh.stderr.text().contains("exec request failed"),
        "{}",
        ssh.shown()
    );
    assert!(!ssh.stdout.text().contains("root:"), "{}", ssh.shown());

    // -R: the server refuses to listen, and ssh exits on the failure.
    let mut ssh = setup.ssh(
        server.port,
        Some("alice"),
        &[
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:9",
        ],
        &[],
        false,
    );
    let status = ssh.wait_exit();
    assert_eq!(status.code(), Some(255), "{}", ssh.shown());
    assert!(
        ssh.stderr.text().contains("remote port forwarding failed"),
        "{}",
        ssh.shown()
    );

    // -L: the local end listens, but a connection through it is refused by the server. The
    // forward points at the server itself, so a forwarded connection would read its SSH banner.
    let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = local.local_addr().unwrap().port();
    drop(local);
    let forward = format!("{local_port}:127.0.0.1:{}", server.port);
    let ssh = setup.ssh(
        server.port,
        Some("alice"),
        &["-N", "-o", "ExitOnForwardFailure=yes", "-L", &forward],
        &[],
        false,
    );
    let mut stream = wait_for(
        "the forwarded port to listen",
        || std::net::TcpStream::connect(("127.0.0.1", local_port)).ok(),
        || ssh.shown(),
    );
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("SSH-2.0"),
        "the forward reached the server: {got:?}"
    );
    let stderr = ssh.stderr.clone();
    wait_for(
        "ssh to report the refusal",
        || {
            stderr
                .text()
                .contains("administratively prohibited")
                .then_some(())
        },
        || ssh.shown(),
    );
}

#[test]
fn serve_makes_its_host_key_0600_reuses_it_and_exits_128_plus_the_signal() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("", &users(&alice));
    let mut server = setup.serve(&config);
    let first = server.process.stdout.text();
    assert!(first.contains("generated now"), "{first}");
    let key = setup.host_key();
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(key.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let fingerprint = setup.fingerprint(&key);
    assert!(
        first.contains(&format!("host key {fingerprint} (")),
        "{first}"
    );
    server.process.signal(rustix::process::Signal::TERM);
    assert_eq!(server.process.wait_exit().code(), Some(128 + 15));

    let mut again = setup.serve(&config);
    let second = again.process.stdout.text();
    assert!(
        second.contains(&format!("host key {fingerprint} (")),
        "{second}"
    );
    assert!(!second.contains("generated now"), "{second}");
    again.process.signal(rustix::process::Signal::INT);
    assert_eq!(again.process.wait_exit().code(), Some(128 + 2));
}

#[test]
fn serve_refuses_a_host_key_others_may_read() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("", &users(&alice));
    let mut server = setup.serve(&config);
    server.process.signal(rustix::process::Signal::TERM);
    server.process.wait_exit();
    let key = setup.host_key();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let out = setup
        .watchfloor()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&key.display().to_string()), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn serve_turns_away_a_viewer_past_max_viewers_and_says_goodbye_on_sigterm() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("max_viewers = 1", &users(&alice));
    let mut server = setup.serve(&config);
    let mut first = setup.ssh(server.port, Some("alice"), &["-tt"], &[], true);
    first.wait_stdout("1 watching");

    let mut second = setup.ssh(server.port, Some("alice"), &["-tt"], &[], false);
    let status = second.wait_exit();
    assert!(
        second
            .stdout
            .text()
            .contains("all 1 viewer seats are taken"),
        "{}",
        second.shown()
    );
    assert_eq!(status.code(), Some(1), "{}", second.shown());

    server.process.signal(rustix::process::Signal::TERM);
    first.wait_stdout("watchfloor serve is shutting down (SIGTERM); goodbye");
    first.wait_exit();
    assert_eq!(
        server.process.wait_exit().code(),
        Some(143),
        "{}",
        server.process.shown()
    );
    assert!(
        server
            .process
            .stdout
            .text()
            .contains("SIGTERM: closing 1 session"),
        "{}",
        server.process.shown()
    );
}

#[test]
fn serve_closes_a_session_without_input_after_idle_timeout() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let config = setup.config("idle_timeout = \"1s\"", &users(&alice));
    let server = setup.serve(&config);
    // stdin stays open and silent.
    let mut ssh = setup.ssh(server.port, Some("alice"), &["-tt"], &[], true);
    ssh.wait_stdout("1 watching");
    ssh.wait_stdout("watchfloor serve: no input for 1s; closing");
    ssh.wait_exit();
}

#[test]
fn serve_check_config_warns_about_an_unreadable_authorized_keys_file_and_serve_refuses_it() {
    let setup = Setup::new();
    let alice = setup.key("alice");
    let missing = setup.path("no-such-authorized_keys");
    let config = setup.config(
        "",
        &format!(
            "{}[[serve.users]]\nname = \"bob\"\nauthorized_keys = {:?}\n",
            users(&alice),
            missing.display().to_string()
        ),
    );
    let out = setup
        .watchfloor()
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("alice (operator): 1 key"), "{stdout}");
    let warning = format!(
        "warning: {}:13:19: key `serve.users[1].authorized_keys`: cannot read {}",
        config.display(),
        missing.display()
    );
    assert!(
        stdout.contains(&warning),
        "{warning} missing from:\n{stdout}"
    );

    let out = setup
        .watchfloor()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("config error:"), "{stderr}");
    assert!(
        stderr.contains("key `serve.users[1].authorized_keys`"),
        "{stderr}"
    );
}

#[test]
fn serve_without_a_serve_section_says_so() {
    let setup = Setup::new();
    let config = setup.path("plain.toml");
    fs::write(&config, "[[targets]]\nname = \"t\"\n").unwrap();
    let out = setup
        .watchfloor()
        .args(["serve", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no [serve] section"), "{stderr}");
}
