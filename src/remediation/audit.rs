//! The audit trail of remediations: one JSON line per step of every attempt (planned, then
//! cancelled, denied, failed or succeeded), appended to a local file that is the source of truth,
//! and optionally mirrored into a PostgreSQL table.
//!
//! **Fail closed.** [`AuditLog::append`] returns only once the line is on disk (`sync_data`).
//! A caller that gets an `Err` from it MUST NOT run the remediation: an action that cannot be
//! audited does not happen. The `planned` line is written before anything is sent to a server.
//!
//! Lines stay whole with several processes appending: each append opens the file with
//! `O_APPEND`, takes an exclusive advisory lock (`flock`), terminates a torn line left by a
//! writer that died mid-write, writes the whole line with one `write_all` and syncs it.
//!
//! The PostgreSQL mirror ([`AuditMirror`]) is best-effort: it never decides whether an action
//! runs, and its failures are returned for the caller to show.

use std::fs::{DirBuilder, File, OpenOptions};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{ActionKind, Place};
use crate::config::{Config, PostgresConfig};
use crate::sources::pg_connect;
use crate::text::sanitize;

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// `$USER` (else `$LOGNAME`, else the password database's name of the process's uid).
    pub user: Option<String>,
    /// The client address of the SSH session (first field of `$SSH_CONNECTION`, else of
    /// `$SSH_CLIENT`), when the console runs over SSH.
    pub ssh_client: Option<String>,
    /// The kubeconfig context's user, when known.
    pub kube_user: Option<String>,
    /// A served session's SSH key (`SHA256:…` fingerprint); `user` is then the
    /// `[[serve.users]]` name the key belongs to.
    #[serde(default)]
    pub key: Option<String>,
}

/// The login name of the process's uid from /etc/passwd, for when the environment names
/// nobody (a service, `env -i`, some SSH setups): an audit line must still say who acted.
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    name_of_uid(&passwd, uid)
}

/// The name of `uid` in a passwd file's text (`name:x:uid:gid:...`).
fn name_of_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

impl Operator {
    /// The operator as the process environment describes them.
    pub fn from_env(kube_user: Option<String>) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            user: var("USER")
                .or_else(|| var("LOGNAME"))
                .or_else(user_from_passwd),
            ssh_client: var("SSH_CONNECTION")
                .or_else(|| var("SSH_CLIENT"))
                .as_deref()
                .and_then(first_field),
            kube_user,
            key: None,
        }
    }

    /// `user (key)@ssh_client as kube_user`, the parts that are known.
    pub fn display(&self) -> String {
        let mut text = self.user.clone().unwrap_or_else(|| "?".into());
        if let Some(key) = &self.key {
            text.push_str(" (");
            text.push_str(key);
            text.push(')');
        }
        if let Some(client) = &self.ssh_client {
            text.push('@');
            text.push_str(client);
        }
        if let Some(kube) = &self.kube_user {
            text.push_str(" as ");
            text.push_str(kube);
        }
        text
    }
}

fn first_field(text: &str) -> Option<String> {
    text.split_whitespace().next().map(str::to_string)
}

/// The outcome of a step, serialised lowercase (`planned`, `cancelled`, `denied`, `failed`,
/// `succeeded`), which the trail also reads back.
pub use super::{OUTCOMES, Outcome, outcome_name};

/// One line of the trail. Every field is always written (`null` when unknown), in this order.
/// `place` and `action` hold [`Place`] and [`ActionKind`] as they serialise, so the trail stays
/// readable when those types grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC, milliseconds: `2025-01-31T12:34:56.789Z`.
    pub time: String,
    pub operator: Operator,
    /// The target's name.
    pub target: String,
    pub place: Value,
    pub action: Value,
    /// What is acted on, e.g. `deployment/platform-v2-stable/platform-v2-api`, `pid 4242`.
    pub object: String,
    pub parameters: Value,
    /// The preview's summary (dry run, rows that would be touched), when there was one.
    pub preview: Option<String>,
    pub outcome: Outcome,
    /// The server's error verbatim, or why the attempt was denied.
    pub error: Option<String>,
    /// How long the execution took; `null` when nothing was executed.
    pub duration_ms: Option<u64>,
    /// PostgreSQL actions: the pids of the sessions the execution hit (signalled), `[]` when it
    /// found none; `null` on lines of attempts that did not execute and for other actions.
    /// (Lines written before this field read back as `null`.)
    #[serde(default)]
    pub pids: Option<Vec<i32>>,
    /// Shared by the lines of one attempt (planned, then its result).
    pub attempt: String,
}

impl AuditRecord {
    /// The first line of a new attempt, stamped now, with a fresh attempt id. `parameters` start
    /// as the action's own fields (e.g. `{"name": …, "from": 3, "to": 5}`); replace them with
    /// [`with_parameters`](Self::with_parameters).
    pub fn new(
        operator: Operator,
        target: &str,
        place: &Place,
        action: &ActionKind,
        object: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        let action = serde_json::to_value(action).unwrap_or(Value::Null);
        let parameters = match &action {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(key, _)| key.as_str() != "action")
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            ),
            _ => Value::Null,
        };
        Self {
            time: format_time(SystemTime::now()),
            operator,
            target: target.to_string(),
            place: serde_json::to_value(place).unwrap_or(Value::Null),
            action,
            object: object.into(),
            parameters,
            preview: None,
            outcome,
            error: None,
            duration_ms: None,
            pids: None,
            attempt: new_attempt_id(),
        }
    }

    /// The next line of the same attempt: same attempt id, operator, target, place, action,
    /// object, parameters and preview; stamped now, with `outcome` and no error, duration or
    /// pids.
    pub fn then(&self, outcome: Outcome) -> Self {
        Self {
            time: format_time(SystemTime::now()),
            outcome,
            error: None,
            duration_ms: None,
            pids: None,
            ..self.clone()
        }
    }

    /// Replaces the fresh attempt id, e.g. with [`session_attempt_id`].
    pub fn with_attempt(mut self, attempt: impl Into<String>) -> Self {
        self.attempt = attempt.into();
        self
    }

    pub fn with_parameters(mut self, parameters: Value) -> Self {
        self.parameters = parameters;
        self
    }

    pub fn with_preview(mut self, preview: impl Into<String>) -> Self {
        self.preview = Some(preview.into());
        self
    }

    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// The sessions a PostgreSQL action hit.
    pub fn with_pids(mut self, pids: Vec<i32>) -> Self {
        self.pids = Some(pids);
        self
    }

    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Re-stamps the record (imports, tests).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.time = format_time(time);
        self
    }

    /// A copy with every free-text field through [`crate::redact`].
    pub fn redacted(&self) -> Self {
        use crate::redact::{redact_in_place, redact_json};
        let mut copy = self.clone();
        redact_in_place(&mut copy.target);
        redact_in_place(&mut copy.object);
        redact_json(&mut copy.place);
        redact_json(&mut copy.action);
        redact_json(&mut copy.parameters);
        copy.preview.iter_mut().for_each(redact_in_place);
        copy.error.iter_mut().for_each(redact_in_place);
        copy
    }

    /// `time` parsed; None when it is not RFC 3339.
    pub fn timestamp(&self) -> Option<SystemTime> {
        crate::timestamp::parse_rfc3339(&self.time).map(SystemTime::from)
    }

    /// The action's name, e.g. `scale`.
    pub fn action_name(&self) -> &str {
        self.action
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or("?")
    }

    /// The action as the text view names it: `delete_pod (graceful)` or `delete_pod (force)`
    /// for a pod deletion, else its name.
    pub fn action_label(&self) -> String {
        let name = self.action_name();
        match self.action.get("force").and_then(Value::as_bool) {
            Some(true) if name == "delete_pod" => format!("{name} (force)"),
            Some(false) if name == "delete_pod" => format!("{name} (graceful)"),
            _ => name.to_string(),
        }
    }

    /// The object as the text view shows it: with the pids a PostgreSQL action hit, unless
    /// they are the object itself (`pid 4242`).
    pub fn object_label(&self) -> String {
        let Some(pids) = &self.pids else {
            return self.object.clone();
        };
        match pids.as_slice() {
            [pid] if self.object == format!("pid {pid}") => self.object.clone(),
            [] => format!("{} · hit none", self.object),
            [pid] => format!("{} · hit pid {pid}", self.object),
            pids => {
                let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
                format!("{} · hit pids {}", self.object, list.join(", "))
            }
        }
    }

    /// The line as stored: compact JSON and a newline, every string redacted
    /// ([`crate::redact`]): server errors and previews may quote URLs and DSNs.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(&self.redacted()).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// RFC 3339 in UTC with milliseconds.
fn format_time(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    OffsetDateTime::from(time)
        .format(&format)
        .unwrap_or_default()
}

/// A UUID-shaped id for the console's attempt number `attempt` (a per-session counter): 64 bits
/// drawn once per process, then the number. Unique across sessions, so the runtime can derive
/// the id of every line of an attempt from the number alone.
pub fn session_attempt_id(attempt: u64) -> String {
    static SESSION: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let session = *SESSION.get_or_init(|| {
        let id = new_attempt_id().replace('-', "");
        u64::from_str_radix(&id[..16], 16).unwrap_or_default()
    });
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        session >> 32,
        (session >> 16) & 0xffff,
        session & 0xffff,
        attempt >> 48,
        attempt & 0xffff_ffff_ffff
    )
}

/// 128 random-ish bits in the shape of a version-4 UUID. `RandomState` is seeded from the OS
/// once per thread and changes with every instance; the time, pid and a counter are mixed in.
fn new_attempt_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u64(count);
        hasher.write_u32(std::process::id());
        hasher.write_u64(salt);
        hasher.finish()
    };
    let high = (half(1) & !0xf000) | 0x4000;
    let low = (half(2) & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

/// `$XDG_STATE_HOME/watchfloor/audit.jsonl`, else `~/.local/state/watchfloor/audit.jsonl` (beside
/// watchfloor's own log); `watchfloor-audit.jsonl` in the working directory when neither
/// `XDG_STATE_HOME` nor `HOME` is set.
pub fn default_path() -> PathBuf {
    crate::logging::log_path()
        .map(|log| log.with_file_name("audit.jsonl"))
        .unwrap_or_else(|| PathBuf::from("watchfloor-audit.jsonl"))
}

/// The trail's file path from the config: `[audit] path`, else [`default_path`].
pub fn configured_path(config: &Config) -> PathBuf {
    config.audit.path.clone().unwrap_or_else(default_path)
}

/// The audit writer: a task of its own that appends (and syncs) the lines in the order they
/// were submitted, off the UI task. Each submission is acknowledged once its line is on disk;
/// a caller that must not act before its line is written awaits that acknowledgement.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    jobs: tokio::sync::mpsc::UnboundedSender<AuditJob>,
}

struct AuditJob {
    record: AuditRecord,
    /// Fills in the operator's kubeconfig user, read once per target off the UI task.
    backends: Option<Arc<super::exec::Backends>>,
    ack: tokio::sync::oneshot::Sender<Result<AuditRecord, super::Failure>>,
}

impl AuditWriter {
    /// Starts the writer task of `log` (inside a Tokio runtime). It ends when every handle is
    /// gone.
    pub fn start(log: AuditLog) -> Self {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<AuditJob>();
        let log = Arc::new(log);
        tokio::spawn(async move {
            while let Some(AuditJob {
                mut record,
                backends,
                ack,
            }) = queue.recv().await
            {
                if let Some(backends) = backends {
                    record.operator.kube_user = backends.kube_user().await;
                }
                let log = log.clone();
                let written =
                    tokio::task::spawn_blocking(move || log.append(&record).map(|()| record))
                        .await
                        .unwrap_or_else(|e| Err(format!("audit writer: {e}")))
                        .map_err(super::Failure::AuditUnavailable);
                let _ = ack.send(written);
            }
        });
        Self { jobs }
    }

    /// Queues `record` (in order with every other submission; never blocks). The answer is the
    /// record as written, or why it could not be.
    pub fn submit(
        &self,
        record: AuditRecord,
        backends: Option<Arc<super::exec::Backends>>,
    ) -> impl std::future::Future<Output = Result<AuditRecord, super::Failure>> + Send + 'static
    {
        let (ack, answer) = tokio::sync::oneshot::channel();
        let queued = self.jobs.send(AuditJob {
            record,
            backends,
            ack,
        });
        async move {
            queued.map_err(|_| super::Failure::AuditUnavailable("audit writer stopped".into()))?;
            answer.await.unwrap_or_else(|_| {
                Err(super::Failure::AuditUnavailable(
                    "audit writer stopped".into(),
                ))
            })
        }
    }
}

/// The append-only trail file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// Creates the missing directories (mode 0700) and the file (mode 0600) and checks that the
    /// file can be opened for appending. Existing directories and files keep their modes. The
    /// error names the path and the reason.
    pub fn open(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    format!(
                        "audit trail {}: cannot create directory {}: {e}",
                        path.display(),
                        dir.display()
                    )
                })?;
        }
        let log = Self {
            path: path.to_path_buf(),
        };
        log.open_file()?;
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and syncs it to disk. **If this fails the caller must not run the
    /// action** (fail closed). Several processes may append at once; lines never interleave.
    pub fn append(&self, record: &AuditRecord) -> Result<(), String> {
        let line = record.to_line();
        let file = self.open_file()?;
        file.lock().map_err(|e| self.error("cannot lock", &e))?;
        let written = write_line(&file, line.as_bytes());
        // Closing the file releases the lock too; unlocking first is only tidier.
        let _ = file.unlock();
        written.map_err(|e| self.error("cannot write", &e))
    }

    /// Opened anew for every append, so a trail moved away by log rotation is followed and a
    /// vanished directory is an error rather than a write into a deleted file.
    fn open_file(&self) -> Result<File, String> {
        if let Ok(meta) = std::fs::metadata(&self.path)
            && !meta.is_file()
        {
            return Err(format!(
                "audit trail {}: not a regular file",
                self.path.display()
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| self.error("cannot open", &e))?;
        Ok(file)
    }

    fn error(&self, what: &str, error: &std::io::Error) -> String {
        format!("audit trail {}: {what}: {error}", self.path.display())
    }
}

/// Under the lock: terminates a torn last line (a writer killed mid-write), then writes the whole
/// line at once and syncs it.
fn write_line(mut file: &File, line: &[u8]) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    let mut buffer = Vec::with_capacity(line.len() + 1);
    if len > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            buffer.push(b'\n');
        }
    }
    buffer.extend_from_slice(line);
    file.write_all(&buffer)?;
    file.sync_data()
}

/// Reads the trail: the records stamped at or after `since` (all when None), in file order, and
/// how many non-empty lines could not be parsed (a torn last line, garbage). Only failing to
/// open or read the file is an error.
pub fn read(path: &Path, since: Option<SystemTime>) -> Result<(Vec<AuditRecord>, usize), String> {
    let file = File::open(path).map_err(|e| format!("audit trail {}: {e}", path.display()))?;
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut unparsable = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("audit trail {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let parsed = serde_json::from_slice::<AuditRecord>(text)
            .ok()
            .and_then(|record| record.timestamp().map(|at| (record, at)));
        match parsed {
            Some((record, at)) => {
                if since.is_none_or(|since| at >= since) {
                    records.push(record);
                }
            }
            None => unparsable += 1,
        }
    }
    Ok((records, unparsable))
}

/// The trail as aligned columns: time, operator, target, action (a pod deletion says graceful or
/// force), object (with the pids a PostgreSQL action hit), outcome, and the error or the
/// duration. Every field is sanitised for the terminal.
pub fn to_text(records: &[AuditRecord]) -> String {
    let header = [
        "TIME",
        "OPERATOR",
        "TARGET",
        "ACTION",
        "OBJECT",
        "OUTCOME",
        "ERROR/DURATION",
    ];
    let mut rows: Vec<[String; 7]> = vec![header.map(str::to_string)];
    for record in records {
        let last = match (&record.error, record.duration_ms) {
            (Some(error), _) => error.clone(),
            (None, Some(ms)) if ms >= 1000 => format!("{:.1}s", ms as f64 / 1000.0),
            (None, Some(ms)) => format!("{ms}ms"),
            (None, None) => "-".into(),
        };
        rows.push(
            [
                record.time.clone(),
                record.operator.display(),
                record.target.clone(),
                record.action_label(),
                record.object_label(),
                outcome_name(record.outcome).to_string(),
                last,
            ]
            .map(|cell| sanitize(&cell)),
        );
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// How long one mirror call (reconnect included) may take.
const MIRROR_TIMEOUT: Duration = Duration::from_secs(10);
/// The mirror session's `statement_timeout`.
const MIRROR_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

const CREATE_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS watchfloor_audit (
    id bigserial PRIMARY KEY,
    at timestamptz,
    attempt text,
    operator jsonb,
    target text,
    place jsonb,
    action jsonb,
    object text,
    parameters jsonb,
    preview text,
    outcome text,
    error text,
    duration_ms bigint,
    record jsonb
)";

/// One parameter, the record's JSON; the columns are taken from it so the row always equals the
/// file's line.
const INSERT: &str = "\
INSERT INTO watchfloor_audit
    (at, attempt, operator, target, place, action, object, parameters, preview, outcome, error,
     duration_ms, record)
SELECT (r->>'time')::timestamptz, r->>'attempt', r->'operator', r->>'target', r->'place',
       r->'action', r->>'object', r->'parameters', r->>'preview', r->>'outcome', r->>'error',
       (r->>'duration_ms')::bigint, r
FROM (SELECT $1::text::jsonb AS r) AS input";

/// The `[[targets.postgres]]` entry `[audit] postgres` names, if any (see
/// [`Config::audit_postgres`]).
pub fn mirror_entry(config: &Config) -> Option<&PostgresConfig> {
    config
        .audit_postgres()
        .ok()
        .flatten()
        .map(|(_, entry)| entry)
}

/// A best-effort copy of the trail in the table `watchfloor_audit` of a PostgreSQL database.
/// Cheap to clone and `Send + Sync`: the runtime can hand a clone to a spawned task
/// ([`spawn`](Self::spawn)) so the console never waits on it. One connection, used by one
/// insert at a time (rows keep the trail's order), re-established when it has dropped.
#[derive(Debug, Clone)]
pub struct AuditMirror {
    inner: Arc<MirrorInner>,
}

#[derive(Debug)]
struct MirrorInner {
    entry: String,
    target: pg_connect::Target,
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

impl AuditMirror {
    /// Connects to the entry and creates the table if it does not exist.
    pub async fn connect(entry: &PostgresConfig) -> Result<Self, String> {
        let target = pg_connect::parse(entry)?;
        let client = tokio::time::timeout(MIRROR_TIMEOUT, prepare(&target))
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
            .map_err(|e| format!("audit mirror {:?}: {e}", entry.name))?;
        Ok(Self {
            inner: Arc::new(MirrorInner {
                entry: entry.name.clone(),
                target,
                client: tokio::sync::Mutex::new(Some(client)),
            }),
        })
    }

    /// The `[[targets.postgres]]` entry's name.
    pub fn entry(&self) -> &str {
        &self.inner.entry
    }

    /// Inserts one row; reconnects first if the connection has dropped. Bounded in time. An
    /// error is for the operator to see: the file, not the mirror, decides what ran.
    pub async fn mirror(&self, record: &AuditRecord) -> Result<(), String> {
        let json = serde_json::to_string(&record.redacted()).map_err(|e| e.to_string())?;
        let insert = async {
            let mut client = self.inner.client.lock().await;
            if client
                .as_ref()
                .is_none_or(tokio_postgres::Client::is_closed)
            {
                *client = None;
                *client = Some(prepare(&self.inner.target).await?);
            }
            let Some(client) = client.as_ref() else {
                return Err("not connected".to_string());
            };
            client
                .execute(INSERT, &[&json])
                .await
                .map_err(|e| pg_connect::describe_error(&e))?;
            Ok(())
        };
        tokio::time::timeout(MIRROR_TIMEOUT, insert)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
            .map_err(|e| format!("audit mirror {:?}: {e}", self.inner.entry))
    }

    /// [`mirror`](Self::mirror) on a spawned task; must be called within a Tokio runtime.
    pub fn spawn(&self, record: AuditRecord) -> tokio::task::JoinHandle<Result<(), String>> {
        let mirror = self.clone();
        tokio::spawn(async move { mirror.mirror(&record).await })
    }
}

async fn prepare(target: &pg_connect::Target) -> Result<tokio_postgres::Client, String> {
    let client = pg_connect::connect(target, MIRROR_STATEMENT_TIMEOUT).await?;
    client
        .batch_execute(CREATE_TABLE)
        .await
        .map_err(|e| pg_connect::describe_error(&e))?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_falls_back_to_the_password_database() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(name_of_uid(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(name_of_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_of_uid(passwd, 4242), None);
    }

    fn record(outcome: Outcome) -> AuditRecord {
        AuditRecord::new(
            Operator {
                user: Some("alice".into()),
                ssh_client: Some("10.1.2.3".into()),
                kube_user: Some("admin".into()),
                key: None,
            },
            "prod",
            &Place::Kubernetes {
                context: "prod-admin".into(),
                namespace: "shop".into(),
            },
            &ActionKind::Scale {
                name: "api".into(),
                from: Some(3),
                to: 5,
            },
            "deployment/shop/api",
            outcome,
        )
    }

    #[test]
    fn time_is_rfc3339_utc_with_millis() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_time(at), "2023-11-14T22:13:20.123Z");
        let record = record(Outcome::Planned).at(at);
        assert_eq!(record.timestamp(), Some(at));
    }

    #[test]
    fn attempt_ids_look_like_uuids_and_differ() {
        let a = new_attempt_id();
        let b = new_attempt_id();
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert_eq!(&a[14..15], "4", "{a}");
        assert!("89ab".contains(&a[19..20]), "{a}");
    }

    #[test]
    fn parameters_default_to_the_actions_fields_and_follow_ups_share_the_attempt() {
        let planned = record(Outcome::Planned).with_preview("3 -> 5 replicas");
        assert_eq!(planned.action_name(), "scale");
        assert_eq!(
            planned.parameters,
            serde_json::json!({"name": "api", "from": 3, "to": 5})
        );
        assert_eq!(planned.place["kind"], "kubernetes");
        let done = planned
            .then(Outcome::Failed)
            .with_error("forbidden")
            .with_duration(Duration::from_millis(42));
        assert_eq!(done.attempt, planned.attempt);
        assert_eq!(done.preview, planned.preview);
        assert_eq!(done.outcome, Outcome::Failed);
        assert_eq!(done.duration_ms, Some(42));
        let line = done.to_line();
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, done);
    }

    #[test]
    fn every_field_is_written_even_when_null() {
        let value = serde_json::to_value(record(Outcome::Cancelled)).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "time",
            "operator",
            "target",
            "place",
            "action",
            "object",
            "parameters",
            "preview",
            "outcome",
            "error",
            "duration_ms",
            "pids",
            "attempt",
        ] {
            assert!(keys.contains(&key), "{key} missing from {value}");
        }
        assert_eq!(value["outcome"], "cancelled");
        assert!(value["error"].is_null() && value["duration_ms"].is_null());
    }

    #[test]
    fn session_attempt_ids_share_a_prefix_and_differ_by_number() {
        let (one, two) = (session_attempt_id(1), session_attempt_id(2));
        assert_eq!(one[..19], two[..19]);
        assert!(one.ends_with("-0000-000000000001"), "{one}");
        assert_eq!(session_attempt_id(1), one);
    }

    #[test]
    fn outcomes_read_back_as_written() {
        for (name, outcome) in OUTCOMES {
            let value = serde_json::to_value(outcome).unwrap();
            assert_eq!(value, name);
            assert_eq!(outcome_name(outcome), name);
            assert_eq!(serde_json::from_value::<Outcome>(value).unwrap(), outcome);
        }
        assert!(serde_json::from_str::<Outcome>("\"exploded\"").is_err());
    }

    #[test]
    fn ssh_client_is_the_first_field() {
        assert_eq!(
            first_field("10.0.0.7 51234 10.0.0.1 22").as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(first_field("   "), None);
    }

    #[test]
    fn pids_and_force_are_recorded_and_shown() {
        let pg = |action: ActionKind, object: &str| {
            AuditRecord::new(
                Operator::default(),
                "prod",
                &Place::Postgres {
                    entry: 0,
                    database: "app".into(),
                },
                &action,
                object,
                Outcome::Planned,
            )
        };
        let idle = pg(
            ActionKind::PgTerminateIdle {
                older_than_secs: 300,
            },
            "3 idle-in-transaction sessions",
        );
        assert_eq!(idle.pids, None, "nothing hit before it ran");
        let done = idle
            .then(Outcome::Succeeded)
            .with_pids(vec![4242, 4250, 4301]);
        let value = serde_json::to_value(&done).unwrap();
        assert_eq!(value["pids"], serde_json::json!([4242, 4250, 4301]));
        assert_eq!(
            done.object_label(),
            "3 idle-in-transaction sessions · hit pids 4242, 4250, 4301"
        );
        assert_eq!(done.then(Outcome::Failed).pids, None);
        let none = idle.then(Outcome::Succeeded).with_pids(vec![]);
        assert_eq!(
            none.object_label(),
            "3 idle-in-transaction sessions · hit none"
        );
        let one = pg(ActionKind::PgTerminate { pid: 7 }, "pid 7")
            .then(Outcome::Succeeded)
            .with_pids(vec![7]);
        assert_eq!(one.object_label(), "pid 7");
        // A line written before the field existed reads back without it.
        let mut old = serde_json::to_value(&idle).unwrap();
        old.as_object_mut().unwrap().remove("pids");
        let back: AuditRecord = serde_json::from_value(old).unwrap();
        assert_eq!(back.pids, None);

        let delete = |force: bool| {
            AuditRecord::new(
                Operator::default(),
                "prod",
                &Place::Kubernetes {
                    context: "c".into(),
                    namespace: "shop".into(),
                },
                &ActionKind::DeletePod {
                    name: "api-1".into(),
                    grace: force.then_some(0),
                    force,
                },
                "pod/api-1",
                Outcome::Succeeded,
            )
        };
        assert_eq!(delete(false).parameters["force"], false);
        assert_eq!(delete(true).parameters["force"], true);
        let text = to_text(&[delete(false), delete(true), done]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("delete_pod (graceful)"), "{text}");
        assert!(lines[2].contains("delete_pod (force)"), "{text}");
        assert!(lines[3].contains("hit pids 4242, 4250, 4301"), "{text}");
        assert_eq!(record(Outcome::Planned).action_label(), "scale");
    }

    #[test]
    fn text_is_aligned_and_sanitised() {
        let ok = record(Outcome::Succeeded).with_duration(Duration::from_millis(1500));
        let bad = record(Outcome::Failed).with_error("no\x1b[31m\nway");
        let text = to_text(&[ok, bad]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("TIME"));
        assert!(lines[1].ends_with("1.5s"), "{text}");
        assert!(lines[1].contains("alice@10.1.2.3 as admin"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let column = lines[0].find("OUTCOME").unwrap();
        assert_eq!(&lines[1][column..column + 9], "succeeded");
        assert_eq!(&lines[2][column..column + 6], "failed");
    }
}
