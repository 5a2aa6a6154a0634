//! Redis for the DB pane: `INFO` and `CLIENT LIST` every `refresh`, turned into a
//! [`RedisStatus`] by the pure functions of [`crate::db::redis`].
//!
//! The source owns one multiplexed connection and re-creates it itself rather than relying on
//! `ConnectionManager`'s background reconnects: that way every failure is seen here, reported
//! with a readable reason, and retried on the console's own backoff, and a refresh that finds
//! the server gone or stalled is bounded by one deadline (connect, INFO and CLIENT LIST
//! together). Holding the connection between refreshes also matters when the server is out of
//! client slots: the console keeps its slot and can still show that clients are being refused.
//!
//! Connections start with `HELLO 3` (RESP3, Redis 6+), falling back to RESP2 for servers and
//! proxies without it. The reason is the error messages: a full server writes
//! `-ERR max number of clients reached` as soon as it accepts, and only a handshake that reads
//! a reply before anything else sees those words; in RESP2 the client library either drops
//! them (no request in flight yet, so the operator would read "connection closed") or, with a
//! password, reports them as a failed authentication. `HELLO 3 AUTH` also keeps the server's
//! `WRONGPASS`/`NOAUTH` text, where RESP2's AUTH check only says "authentication failed".
//!
//! The URL and the credentials are secrets: errors never contain them (they are built from the
//! error kind and the server's reply, and any secret value is redacted as a last resort), and
//! the server is named by `host:port` only.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionInfo, ErrorKind, IntoConnectionInfo, ProtocolVersion,
    Value,
};

use crate::db::DbUpdate;
use crate::db::redis::{RedisCounters, RedisStatus, parse_client_list, parse_info, status_from};
use crate::event::SourceState;
use crate::text::sanitize_truncated;
use watchfloor_core::config::RedisConfig;

use futures::future::BoxFuture;

use super::backends::{Killed, RedisKill, RedisProbe, RedisSample};
use super::backoff::Backoff;
use super::kubernetes::Reporter;

/// Refresh intervals below this are raised to it: a monitoring tool must not hammer the server.
const MIN_REFRESH: Duration = Duration::from_millis(250);
/// The deadline of one refresh is the refresh interval, within these bounds: long enough for a
/// TLS handshake to a remote server, short enough that a stalled server is reported quickly.
const MIN_DEADLINE: Duration = Duration::from_secs(2);
const MAX_DEADLINE: Duration = Duration::from_secs(5);
/// `sample_once`: the first sample (connect, INFO, CLIENT LIST) must finish within this...
const SNAPSHOT_FIRST: Duration = Duration::from_millis(1500);
/// ...then, this much later, a second sample gives the rates (as `redis-cli --stat` does)...
const SNAPSHOT_GAP: Duration = Duration::from_secs(1);
/// ...and everything is over by this; a second sample that does not fit is skipped.
const SNAPSHOT_BUDGET: Duration = Duration::from_secs(3);
/// The shortest deadline worth giving the second sample.
const MIN_SECOND_SAMPLE: Duration = Duration::from_millis(200);
/// The name the console's own connection shows in CLIENT LIST, so operators (and remediation)
/// can tell it apart from the application's clients.
const CLIENT_NAME: &str = "watchfloor";
/// Bound on one remediation call (connect, command).
const CALL_DEADLINE: Duration = Duration::from_secs(5);
/// Longest error reason reported (characters).
const MAX_REASON: usize = 300;

/// Refreshes the server of `config` (see [`run_probe`]).
pub async fn run(config: RedisConfig, index: usize, reporter: Reporter) {
    run_probe(
        Box::new(RedisServer::new(config.clone())),
        config,
        index,
        reporter,
    )
    .await;
}

/// Refreshes the probe's server every `config.refresh` (the first at once) and reports each
/// result as a [`DbUpdate::Redis`] followed by [`SourceState::Live`]. A failed refresh reports
/// [`SourceState::Error`] with the reason and is retried after a [`Backoff`] (reset by a success);
/// a real server's connection is re-created after any failure that may have broken it, so a
/// restarted server is picked up by itself. Ends when the console is gone.
pub async fn run_probe(
    probe: Box<dyn RedisProbe>,
    config: RedisConfig,
    index: usize,
    reporter: Reporter,
) {
    let refresh = config.refresh.max(MIN_REFRESH);
    let deadline = refresh_deadline(refresh);
    let mut previous: Option<RedisCounters> = None;
    let mut backoff = Backoff::STANDARD;
    loop {
        let started = tokio::time::Instant::now();
        match probe.sample(deadline).await {
            Ok(sample) => {
                backoff.succeeded();
                let status = status_of(&config, &sample, previous.as_ref());
                previous = Some(status.counters);
                let update = DbUpdate::Redis {
                    index,
                    status: Box::new(status),
                };
                if !reporter.db(update).await {
                    return;
                }
                let state = match sample.client_list_error {
                    // The figures are there, the client table is not: say why, on the normal
                    // cadence (retrying sooner would not grant the permission).
                    Some(reason) => SourceState::Error {
                        reason: format!("CLIENT LIST refused ({reason}); clients not shown"),
                        retry_at: Some(std::time::SystemTime::now() + refresh),
                    },
                    None => SourceState::Live,
                };
                if !reporter.state(state).await {
                    return;
                }
                tokio::time::sleep_until(started + refresh).await;
            }
            Err(reason) => {
                if !backoff.report_and_wait(&reporter, reason).await {
                    return;
                }
            }
        }
    }
}

/// The status of one sample, with rates against `previous`.
fn status_of(
    config: &RedisConfig,
    sample: &RedisSample,
    previous: Option<&RedisCounters>,
) -> RedisStatus {
    let mut status = status_from(
        &config.name,
        &sample.info,
        sample.clients.clone(),
        previous,
        sample.at,
    );
    status.simulated = sample.simulated;
    status
}

/// One sample of a real server for `watchfloor snapshot` (see [`probe_once`]).
pub async fn sample_once(config: &RedisConfig) -> Result<RedisStatus, String> {
    probe_once(&RedisServer::new(config.clone()), config).await
}

/// One sample for `watchfloor snapshot`. Two samples are taken [`SNAPSHOT_GAP`] apart so the
/// snapshot has the rates and the hit ratio (and the level that depends on them: evictions and
/// rejections *now*, not totals since the server started); it all takes about 1 s and at most
/// [`SNAPSHOT_BUDGET`] (3 s). When the second sample fails or does not fit, the first is
/// returned without rates. A CLIENT LIST the user may not run leaves the client table empty.
pub async fn probe_once(
    probe: &dyn RedisProbe,
    config: &RedisConfig,
) -> Result<RedisStatus, String> {
    let started = tokio::time::Instant::now();
    let first = probe.sample(SNAPSHOT_FIRST).await?;
    let first_status = status_of(config, &first, None);

    // The second sample gets what is left of the budget after the gap; too little is no
    // sample (a rate over a cut-short refresh would be noise).
    let remaining = SNAPSHOT_BUDGET.saturating_sub(started.elapsed() + SNAPSHOT_GAP);
    if remaining < MIN_SECOND_SAMPLE {
        return Ok(first_status);
    }
    let second_at = tokio::time::Instant::now() + SNAPSHOT_GAP;
    tokio::time::sleep_until(second_at).await;
    match probe.sample(remaining).await {
        Ok(sample) => Ok(status_of(config, &sample, Some(&first_status.counters))),
        Err(_) => Ok(first_status),
    }
}

/// A real Redis server: one connection kept between refreshes (re-created after a failure
/// that may have broken it), and short-lived ones for remediations.
pub struct RedisServer {
    config: RedisConfig,
    session: tokio::sync::Mutex<Session>,
    /// The probe's clock, for rates.
    clock: Instant,
}

impl RedisServer {
    pub fn new(config: RedisConfig) -> Self {
        Self {
            config,
            session: tokio::sync::Mutex::new(Session::default()),
            clock: Instant::now(),
        }
    }

    /// A connection of its own for one remediation call, bounded by [`CALL_DEADLINE`].
    async fn call<T: redis::FromRedisValue>(
        &self,
        command: &'static str,
        cmd: redis::Cmd,
    ) -> Result<T, String> {
        let target = Target::from_config(&self.config)?;
        let work = async {
            let mut connection = target
                .connect(CALL_DEADLINE, &mut false)
                .await
                .map_err(|e| target.reason("", &e, CALL_DEADLINE))?;
            cmd.query_async::<T>(&mut connection)
                .await
                .map_err(|e| target.reason(command, &e, CALL_DEADLINE))
        };
        tokio::time::timeout(CALL_DEADLINE, work)
            .await
            .unwrap_or_else(|_| Err(no_answer(CALL_DEADLINE)))
    }
}

impl RedisProbe for RedisServer {
    fn sample(&self, deadline: Duration) -> BoxFuture<'_, Result<RedisSample, String>> {
        Box::pin(async move {
            let mut session = self.session.lock().await;
            match bounded(&self.config, deadline, &mut session, self.clock).await {
                Ok(sample) => Ok(sample),
                Err(failure) => {
                    if failure.broken {
                        session.live = None;
                    }
                    Err(failure.reason)
                }
            }
        })
    }
}

impl RedisKill for RedisServer {
    /// `CLIENT LIST ID id`.
    fn client_list(&self, id: u64) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("CLIENT");
            cmd.arg("LIST").arg("ID").arg(id);
            let reply: Value = self.call("CLIENT LIST", cmd).await?;
            reply_text(reply).ok_or_else(|| "CLIENT LIST: unexpected reply (not text)".to_string())
        })
    }

    fn kill(&self, id: u64) -> BoxFuture<'_, Result<Killed, String>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("CLIENT");
            cmd.arg("KILL").arg("ID").arg(id).arg("SKIPME").arg("yes");
            self.call::<i64>("CLIENT KILL", cmd)
                .await
                .map(Killed::Connections)
        })
    }
}

/// What is kept between refreshes.
#[derive(Default)]
struct Session {
    /// The open connection, and the target it was opened with; `None` until (re)connected.
    live: Option<Live>,
    /// `host:port` of the last target built, for a deadline that expires while connecting.
    shown: Option<String>,
    /// The server (or a proxy in front of it) has no `HELLO`: connect with RESP2.
    resp2: bool,
}

struct Live {
    target: Target,
    connection: MultiplexedConnection,
}

/// [`refresh_once`] within `deadline`, whatever the server does (or does not do).
async fn bounded(
    config: &RedisConfig,
    deadline: Duration,
    session: &mut Session,
    clock: Instant,
) -> Result<RedisSample, Failure> {
    match tokio::time::timeout(deadline, refresh_once(config, deadline, session, clock)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let reason = no_answer(deadline);
            Err(Failure {
                // Named like the other network failures.
                reason: match &session.shown {
                    Some(shown) => format!("{shown}: {reason}"),
                    None => reason,
                },
                broken: true,
            })
        }
    }
}

/// A failed refresh: the reason to show, and whether the connection must be re-created.
struct Failure {
    reason: String,
    broken: bool,
}

/// Connects if needed, then reads INFO and CLIENT LIST. Every step is bounded by `deadline`
/// inside the client too (connection and response timeouts), so a stalled server cannot leave
/// a request pending on a connection that is reused.
async fn refresh_once(
    config: &RedisConfig,
    deadline: Duration,
    session: &mut Session,
    clock: Instant,
) -> Result<RedisSample, Failure> {
    let Live { target, connection } = match &mut session.live {
        Some(live) => live,
        None => {
            let target = Target::from_config(config).map_err(|reason| Failure {
                reason,
                broken: true,
            })?;
            session.shown = Some(target.shown.clone());
            let connection = target
                .connect(deadline, &mut session.resp2)
                .await
                .map_err(|e| Failure {
                    reason: target.reason("", &e, deadline),
                    broken: true,
                })?;
            session.live.insert(Live { target, connection })
        }
    };
    let info = redis::cmd("INFO")
        .query_async::<Value>(connection)
        .await
        .map_err(|e| target.failure("INFO", &e, deadline))?;
    let at = clock.elapsed().as_secs_f64();
    let info = parse_info(&reply_text(info).ok_or_else(|| Failure {
        reason: "INFO: unexpected reply (not text)".into(),
        broken: false,
    })?);
    let (clients, client_list_error) = match redis::cmd("CLIENT")
        .arg("LIST")
        .query_async::<Value>(connection)
        .await
    {
        Ok(reply) => match reply_text(reply) {
            Some(text) => (parse_client_list(&text), None),
            None => (Vec::new(), Some("unexpected reply (not text)".to_string())),
        },
        Err(error) if is_server_reply(&error) => (
            Vec::new(),
            Some(target.failure("", &error, deadline).reason),
        ),
        Err(error) => return Err(target.failure("CLIENT LIST", &error, deadline)),
    };
    Ok(RedisSample {
        info,
        clients,
        at,
        client_list_error,
        simulated: false,
    })
}

/// The config's check of a `[[targets.redis]]` URL, parsed as the source will parse it
/// (`redis://`, `rediss://`, `unix://`); username and password secrets are not checked here.
pub fn check_url(entry: &RedisConfig) -> Result<(), String> {
    let url_only = RedisConfig {
        username: None,
        password: None,
        ..entry.clone()
    };
    Target::from_config(&url_only).map(|_| ())
}

/// Where and how to connect, from the config entry; built anew for each connection, so a
/// rotated secret (env var or file) is picked up when the console reconnects. Remediations
/// (`CLIENT KILL`) connect through it too.
pub struct Target {
    info: ConnectionInfo,
    /// `host:port` (or the socket path): what errors may name.
    shown: String,
    /// Values that must never appear in a reason.
    secrets: Vec<String>,
}

impl Target {
    pub fn from_config(config: &RedisConfig) -> Result<Self, String> {
        let url = config.url.resolve().map_err(|e| format!("url: {e}"))?;
        let mut secrets = vec![url.clone()];
        let info = url.as_str().into_connection_info().map_err(|e| {
            redact(
                &format!("url is not a valid redis:// or rediss:// URL ({e})"),
                &secrets,
            )
        })?;
        let mut settings = info.redis_settings().clone();
        if let Some(password) = settings.password() {
            secrets.push(password.to_string());
        }
        if let Some(username) = &config.username {
            let username = username.resolve().map_err(|e| format!("username: {e}"))?;
            settings = settings.set_username(username);
        }
        if let Some(password) = &config.password {
            let password = password.resolve().map_err(|e| format!("password: {e}"))?;
            secrets.push(password.clone());
            settings = settings.set_password(password);
        }
        // The name is set with CLIENT SETNAME after connecting, where its reply can be read;
        // CLIENT SETINFO (7.2+) would only be an error on older servers.
        settings = settings.set_skip_set_lib_name();
        // Empty or one-character secrets would redact half of every message.
        secrets.retain(|s| s.len() >= 3);
        let shown = sanitize_truncated(&info.addr().to_string(), 200);
        Ok(Self {
            info: info.set_redis_settings(settings),
            shown,
            secrets,
        })
    }

    /// Connects with RESP3, or RESP2 when the server has no `HELLO` (remembered in `resp2`),
    /// and names the connection.
    pub async fn connect(
        &self,
        deadline: Duration,
        resp2: &mut bool,
    ) -> Result<MultiplexedConnection, redis::RedisError> {
        if !*resp2 {
            match self.open(ProtocolVersion::RESP3, deadline).await {
                Err(error) if lacks_hello(&error) => *resp2 = true,
                other => return other,
            }
        }
        self.open(ProtocolVersion::RESP2, deadline).await
    }

    async fn open(
        &self,
        protocol: ProtocolVersion,
        deadline: Duration,
    ) -> Result<MultiplexedConnection, redis::RedisError> {
        let settings = self.info.redis_settings().clone().set_protocol(protocol);
        let client = Client::open(self.info.clone().set_redis_settings(settings))?;
        let options = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(deadline))
            .set_response_timeout(Some(deadline));
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&options)
            .await?;
        match redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(CLIENT_NAME)
            .query_async::<Value>(&mut connection)
            .await
        {
            Ok(_) => Ok(connection),
            // An ACL that forbids naming the connection is no reason not to monitor.
            Err(error) if is_server_reply(&error) && !is_fatal_reply(&error) => Ok(connection),
            Err(error) => Err(error),
        }
    }

    /// A failed command: its reason, and whether the connection is still usable (the server
    /// answered with an error reply, e.g. NOPERM or LOADING) or must be re-created.
    fn failure(&self, command: &str, error: &redis::RedisError, deadline: Duration) -> Failure {
        Failure {
            reason: self.reason(command, error, deadline),
            broken: !is_server_reply(error) || is_fatal_reply(error),
        }
    }

    /// A failed command in words: the server's reply, or what happened to the connection,
    /// naming the server by `host:port` and never a secret.
    pub fn reason(&self, command: &str, error: &redis::RedisError, deadline: Duration) -> String {
        let what = describe(error, deadline);
        let text = match (command.is_empty(), is_server_reply(error)) {
            (true, true) => what,
            (false, true) => format!("{command}: {what}"),
            (_, false) => format!("{}: {what}", self.shown),
        };
        sanitize_truncated(&redact(&text, &self.secrets), MAX_REASON)
    }
}

/// The deadline of one refresh: the interval, within [`MIN_DEADLINE`]..=[`MAX_DEADLINE`].
fn refresh_deadline(refresh: Duration) -> Duration {
    refresh.clamp(MIN_DEADLINE, MAX_DEADLINE)
}

fn no_answer(deadline: Duration) -> String {
    format!("no answer within {}", humantime::format_duration(deadline))
}

/// The server answered with an error reply (as opposed to I/O, timeout or protocol trouble).
fn is_server_reply(error: &redis::RedisError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Server(_) | ErrorKind::Extension | ErrorKind::AuthenticationFailed
    )
}

/// The server (or a proxy) will not do `HELLO`: Redis before 6 says "unknown command", some
/// proxies "unsupported", an ACL may deny it (NOPERM) while allowing AUTH. Refusals that name a
/// real problem (a password, a full server) are not this: RESP2 would only hide their words.
fn lacks_hello(error: &redis::RedisError) -> bool {
    if error.kind() == ErrorKind::RESP3NotSupported || error.code() == Some("NOPERM") {
        return true;
    }
    if error.code() != Some("ERR") {
        return false;
    }
    let detail = error.detail().unwrap_or_default().to_ascii_lowercase();
    detail.contains("unknown command") || detail.contains("unsupported")
}

/// Error replies after which the connection cannot be used: the server closes it after a
/// maxclients refusal, and a connection that is not authenticated will not become so.
fn is_fatal_reply(error: &redis::RedisError) -> bool {
    matches!(error.code(), Some("NOAUTH" | "WRONGPASS"))
        || error.kind() == ErrorKind::AuthenticationFailed
        || error
            .detail()
            .is_some_and(|d| d.contains("max number of clients"))
}

/// A short reason: the server's own words for an error reply (`ERR max number of clients
/// reached`, `NOAUTH Authentication required.`), plain words for the usual network failures.
fn describe(error: &redis::RedisError, deadline: Duration) -> String {
    if error.is_timeout() {
        return no_answer(deadline);
    }
    if error.is_connection_refusal() {
        return "connection refused".into();
    }
    if error.kind() == ErrorKind::AuthenticationFailed {
        return "authentication failed (wrong username or password?)".into();
    }
    if error.kind() == ErrorKind::Parse {
        // The client library's wording is a multi-line parser trace quoting the bytes.
        return "the answer is not the Redis protocol (is this a Redis server?)".into();
    }
    if let Some(code) = error.code()
        && is_server_reply(error)
    {
        return match error.detail() {
            Some(detail) => format!("{code} {detail}"),
            None => code.to_string(),
        };
    }
    if let Some(io) =
        std::error::Error::source(error).and_then(|source| source.downcast_ref::<std::io::Error>())
    {
        use std::io::ErrorKind as Io;
        match io.kind() {
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                return "connection closed by the server".into();
            }
            Io::TimedOut => return no_answer(deadline),
            _ => {}
        }
    }
    if error.is_connection_dropped() {
        return "connection closed by the server".into();
    }
    error.to_string()
}

/// Replaces every secret value in `text`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if !secret.is_empty() && text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

/// INFO and CLIENT LIST answer with a verbatim string in RESP3 and a bulk string in RESP2;
/// anything else is not what was asked for. Bytes that are not
/// UTF-8 are replaced rather than failing the refresh.
pub fn reply_text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchfloor_core::config::Secret;

    fn config(url: &str) -> RedisConfig {
        RedisConfig {
            name: "cache".into(),
            url: Secret::Literal(url.into()),
            username: None,
            password: None,
            refresh: Duration::from_secs(2),
        }
    }

    #[test]
    fn targets_show_host_and_port_only() {
        let target =
            Target::from_config(&config("redis://app:hunter22@cache.local:6380/2")).unwrap();
        assert_eq!(target.shown, "cache.local:6380");
        assert_eq!(target.info.redis_settings().password(), Some("hunter22"));
        assert_eq!(target.info.redis_settings().db(), 2);
        assert!(target.secrets.contains(&"hunter22".to_string()));

        let mut with_secrets = config("rediss://cache.local");
        with_secrets.username = Some(Secret::Literal("mon".into()));
        with_secrets.password = Some(Secret::Literal("s3cret-pw".into()));
        let target = Target::from_config(&with_secrets).unwrap();
        assert_eq!(target.shown, "cache.local:6379");
        assert_eq!(target.info.redis_settings().username(), Some("mon"));
        assert_eq!(target.info.redis_settings().password(), Some("s3cret-pw"));
    }

    #[test]
    fn bad_urls_and_secrets_never_leak() {
        for url in [
            "http://u:hunter22@host:1",
            "redis://u:hunter22@0.0.0.0:1",
            "redis://u:hunter22@host:1/notadb",
            "hunter22",
        ] {
            let Err(reason) = Target::from_config(&config(url)) else {
                panic!("{url} accepted");
            };
            assert!(!reason.contains("hunter22"), "{reason}");
            assert!(reason.contains("not a valid"), "{reason}");
        }
        let mut missing = config("redis://host");
        missing.password = Some(Secret::Env("WATCHFLOOR_TEST_UNSET_VAR_4711".into()));
        let Err(reason) = Target::from_config(&missing) else {
            panic!("missing secret accepted");
        };
        assert_eq!(
            reason,
            "password: environment variable WATCHFLOOR_TEST_UNSET_VAR_4711 is not set"
        );
        assert_eq!(redact("a hunter22 b", &["hunter22".into()]), "a *** b");
    }

    #[test]
    fn deadlines_are_bounded() {
        assert_eq!(refresh_deadline(Duration::from_millis(1)), MIN_DEADLINE);
        assert_eq!(
            refresh_deadline(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(refresh_deadline(Duration::from_secs(3600)), MAX_DEADLINE);
        assert_eq!(no_answer(Duration::from_secs(2)), "no answer within 2s");
    }

    #[test]
    fn reasons_are_short_and_in_the_servers_words() {
        let deadline = Duration::from_secs(2);
        let io = |kind| redis::RedisError::from(std::io::Error::from(kind));
        use std::io::ErrorKind as Io;
        assert_eq!(
            describe(&io(Io::ConnectionRefused), deadline),
            "connection refused"
        );
        assert_eq!(
            describe(&io(Io::ConnectionReset), deadline),
            "connection closed by the server"
        );
        assert_eq!(describe(&io(Io::TimedOut), deadline), "no answer within 2s");
        let full = redis::RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "An error was signalled by the server",
            "max number of clients reached".to_string(),
        ));
        assert_eq!(
            describe(&full, deadline),
            "ERR max number of clients reached"
        );
        assert!(is_fatal_reply(&full) && !lacks_hello(&full));
        let wrongpass = redis::make_extension_error(
            "WRONGPASS".into(),
            Some("invalid username-password pair or user is disabled.".into()),
        );
        assert_eq!(
            describe(&wrongpass, deadline),
            "WRONGPASS invalid username-password pair or user is disabled."
        );
        assert!(is_fatal_reply(&wrongpass) && !lacks_hello(&wrongpass));
        let old = redis::RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "An error was signalled by the server",
            "unknown command 'HELLO', with args beginning with: '3'".to_string(),
        ));
        assert!(lacks_hello(&old));
        let denied = redis::make_extension_error("NOPERM".into(), Some("no".into()));
        assert!(lacks_hello(&denied) && !is_fatal_reply(&denied));
    }

    #[test]
    fn replies_that_are_not_text_are_refused() {
        assert_eq!(
            reply_text(Value::BulkString(b"a:1".to_vec())).as_deref(),
            Some("a:1")
        );
        assert_eq!(
            reply_text(Value::BulkString(vec![b'a', 0xff])).as_deref(),
            Some("a\u{fffd}")
        );
        assert_eq!(reply_text(Value::Nil), None);
        assert_eq!(reply_text(Value::Int(3)), None);
        assert_eq!(reply_text(Value::Array(vec![])), None);
    }
}
