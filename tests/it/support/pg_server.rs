//! A private PostgreSQL cluster for tests: `initdb` into a temporary directory, `pg_ctl start` on a
//! free loopback port (and a Unix socket in the same directory), `pg_ctl -m immediate stop` and
//! removal on drop. Never touches the system server on 5432.
//!
//!
//! `initdb` and `pg_ctl` refuse to run as root, so as root they run through `runuser -u postgres`
//! and the directory is handed to `postgres`; otherwise they run directly. The binaries are the
//! newest under `/usr/lib/postgresql/<version>/bin`, or `$PG_BIN` when set. The superuser is
//! always `postgres` and authentication is `trust`: roles log in by name, without a password.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The superuser `initdb` creates.
pub const SUPERUSER: &str = "postgres";

/// How long `pg_ctl start` and the readiness check may take together.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running cluster. Stopped (immediately: nothing in it is worth a clean shutdown) on drop.
pub struct PgServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

impl PgServer {
    /// A cluster with `max_connections = 20`.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A cluster with extra `-c name=value` settings (they override the defaults, e.g.
    /// `("max_connections", "100")`, `("shared_preload_libraries", "pg_stat_statements")`).
    pub fn start_with(settings: &[(&str, &str)]) -> Self {
        let bin = bin_dir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("wf-pg-")
            .tempdir()
            .expect("temporary directory for the cluster");
        if as_postgres {
            run_checked(
                Command::new("chown")
                    .args(["postgres:postgres", &dir.path().display().to_string()]),
            );
        }
        let mut server = Self {
            port: 0,
            dir,
            bin,
            as_postgres,
        };
        server.initdb();
        // Another process may take the port between choosing and binding it: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            server.port = free_port();
            if server.pg_ctl_start(settings) {
                server.wait_ready();
                return server;
            }
            last_log = server.log();
            if !last_log.contains("could not bind") && !last_log.contains("already in use") {
                break;
            }
        }
        panic!("PostgreSQL did not start; its log:\n{last_log}");
    }

    /// The directory holding the data directory, the log and the Unix socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A libpq key/value DSN for `user` over TCP on 127.0.0.1 (no TLS).
    pub fn dsn(&self, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable",
            self.port
        )
    }

    /// A tokio-postgres config for `user`, tagged with `application_name`.
    pub fn config(&self, user: &str, application_name: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(user)
            .dbname("postgres")
            .application_name(application_name)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// Connects as `user` (the connection task is spawned on the current runtime).
    pub async fn connect(&self, user: &str, application_name: &str) -> tokio_postgres::Client {
        let (client, connection) = self
            .config(user, application_name)
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect as {user}: {e}"));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// Runs SQL as the superuser through `psql` (blocking); returns its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let output = Command::new(psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", "postgres", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The server log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn initdb(&self) {
        run_checked(
            self.command("initdb")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-A", "trust", "-U", SUPERUSER, "-N", "-E", "UTF8"])
                .args(["--locale", "C"]),
        );
    }

    /// `pg_ctl start -w`; false when the server did not come up (see the log).
    fn pg_ctl_start(&self, settings: &[(&str, &str)]) -> bool {
        let mut all: Vec<(&str, &str)> = vec![
            ("listen_addresses", "127.0.0.1"),
            ("max_connections", "20"),
            // Throwaway data: no need to wait for the disk.
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ];
        for (name, value) in settings {
            all.retain(|(n, _)| n != name);
            all.push((name, value));
        }
        // pg_ctl hands `-o` to a shell: quote every value.
        let mut options = format!(
            "-p {} -k {}",
            self.port,
            quote(&self.dir().display().to_string())
        );
        for (name, value) in all {
            options.push_str(&format!(" -c {}", quote(&format!("{name}={value}"))));
        }
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir().join("log"))
            .args(["-o", &options, "-w", "-t"])
            .arg(START_DEADLINE.as_secs().to_string())
            .arg("start")
            .output()
            .expect("run pg_ctl");
        status.status.success()
    }

    /// `pg_ctl -w` already waits; this also checks the TCP port answers, within a deadline.
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_DEADLINE;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL is not accepting connections on {addr}; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `$PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin` holding `initdb`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install postgresql, or set PG_BIN)",
                root.display()
            )
        })
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no PostgreSQL under {} (or set PG_BIN)", root.display()))
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn run_checked(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
