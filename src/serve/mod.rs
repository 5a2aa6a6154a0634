//! `watchfloor serve`: the console over SSH. One process collects every target's data once
//! ([`hub`]); each accepted session gets its own view over it ([`viewer`]); [`presence`] says
//! who watches and who holds what. This module is the server: its host key, who may connect
//! and what a session may ask for.
//!
//! What a client may do: authenticate with a public key listed in `[[serve.users]]` (the SSH
//! user name is ignored: the key decides who it is); open one session channel; ask for a pty,
//! a shell and window changes. Everything else is refused and logged: passwords and
//! keyboard-interactive (not even offered), exec, subsystems, env, X11, agent forwarding,
//! port forwarding both ways.

pub mod hub;
pub mod input;
pub mod keys;
pub mod presence;
pub mod session;
pub mod viewer;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use russh::server::VerifiedPublicKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Server as _, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet, SshId};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::ssh_keys::fingerprint;
use crate::config::{LoadedConfig, ServeConfig};
use crate::runtime::{Exit, libc_signal};
use keys::{HostKey, Identity, UserKeys};
use session::{Output, SessionInput, Terminal, ViewerSession};

/// Exit code for usage and config errors (as the other subcommands).
const USAGE: u8 = 2;

/// How long shutdown waits for every session to take its goodbye.
const GOODBYE_WITHIN: Duration = Duration::from_secs(3);

/// `watchfloor serve`: checks the config's `[serve]`, loads or makes the host key, starts every
/// target's sources, listens, and serves until SIGTERM, SIGINT or SIGHUP (exit 128 + n).
/// Errors are printed to stderr.
pub fn main(
    loaded: LoadedConfig,
    listen: Option<SocketAddr>,
    read_only: crate::policy::ReadOnlyInputs,
) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchfloor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(serve(loaded, listen, read_only));
    rt.shutdown_timeout(Duration::from_millis(200));
    code
}

/// [`main`] inside a runtime (`watchfloor demo --serve` has one already).
pub async fn serve(
    loaded: LoadedConfig,
    listen: Option<SocketAddr>,
    read_only: crate::policy::ReadOnlyInputs,
) -> ExitCode {
    if loaded.config.targets.is_empty() {
        eprintln!(
            "watchfloor: {}: no [[targets]]: there is nothing to serve",
            loaded.path.display()
        );
        return ExitCode::from(USAGE);
    }
    let Some(serve) = loaded.config.serve.clone() else {
        eprintln!(
            "watchfloor: {}: no [serve] section: who may connect is not configured (see config.example.toml)",
            loaded.path.display()
        );
        return ExitCode::from(USAGE);
    };
    let (users, problems) = UserKeys::load(&serve);
    let mut fatal = false;
    for problem in &problems {
        let located = crate::config::locate(
            &loaded,
            vec![(problem.key.clone(), problem.message.clone())],
        );
        let line = located
            .first()
            .map_or_else(|| problem.message.clone(), ToString::to_string);
        if problem.fatal {
            fatal = true;
            eprintln!("watchfloor: config error: {line}");
        } else {
            eprintln!("watchfloor: warning: {line}");
        }
        tracing::warn!(fatal = problem.fatal, "serve: {line}");
    }
    if fatal {
        return ExitCode::from(USAGE);
    }
    if users.is_empty() {
        eprintln!("watchfloor: no [[serve.users]] key is usable: nobody could connect");
        return ExitCode::from(USAGE);
    }
    let Some(path) = keys::host_key_path(&serve) else {
        eprintln!(
            "watchfloor: set [serve] host_key: neither XDG_STATE_HOME nor HOME is set for the default"
        );
        return ExitCode::from(USAGE);
    };
    let host_key = match keys::load_or_generate_host_key(&path) {
        Ok(key) => key,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("watchfloor: {error}");
            return ExitCode::FAILURE;
        }
    };
    let made = if host_key.generated {
        ", generated now"
    } else {
        ""
    };
    say(format_args!(
        "watchfloor serve: host key {} ({}{made})",
        host_key.fingerprint(),
        host_key.path.display()
    ));
    tracing::info!(
        fingerprint = %host_key.fingerprint(),
        path = %host_key.path.display(),
        generated = host_key.generated,
        "serve: host key"
    );
    // Checked by the config's rules; the flag is parsed by clap.
    let listen = listen
        .or_else(|| serve.listen_addr())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 2222)));
    let hub = Arc::new(hub::Hub::start(
        Arc::new(loaded.config),
        loaded.path,
        read_only,
    ));
    match run(&serve, listen, host_key, users, hub).await {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(error) => {
            tracing::error!("serve: {error}");
            eprintln!("watchfloor: {error}");
            ExitCode::FAILURE
        }
    }
}

/// For `check-config`: a summary of `[serve]` (None when there is none), and the problems of
/// the users' keys files as warnings (they depend on files outside the config, as kubeconfigs
/// do; `serve` refuses to start on the fatal ones).
pub fn check(loaded: &LoadedConfig) -> Option<(Vec<String>, Vec<crate::config::ConfigWarning>)> {
    let serve = loaded.config.serve.as_ref()?;
    let (users, problems) = UserKeys::load(serve);
    let host_key = keys::host_key_path(serve).map_or_else(
        || "(unset: no XDG_STATE_HOME or HOME)".to_string(),
        |p| p.display().to_string(),
    );
    let mut lines = vec![format!(
        "serve: listen {}, host key {host_key}, up to {} viewers, idle timeout {}; {} key{} of {} user{}",
        serve.listen.trim(),
        serve.max_viewers,
        humantime::format_duration(serve.idle_timeout),
        users.len(),
        plural(users.len()),
        serve.users.len(),
        plural(serve.users.len()),
    )];
    for user in &serve.users {
        let mut from = Vec::new();
        if !user.keys.is_empty() {
            from.push(format!(
                "{} key{}",
                user.keys.len(),
                plural(user.keys.len())
            ));
        }
        if let Some(path) = &user.authorized_keys {
            from.push(path.display().to_string());
        }
        lines.push(format!(
            "  {} ({}): {}",
            user.name.trim(),
            user.role.as_str(),
            from.join(" + ")
        ));
    }
    let warnings = crate::config::locate(
        loaded,
        problems.into_iter().map(|p| (p.key, p.message)).collect(),
    );
    Some((lines, warnings))
}

/// What every connection shares.
struct Shared {
    users: UserKeys,
    idle_timeout: Duration,
    seats: Arc<Seats>,
    /// Set once, to the goodbye line, when the server shuts down.
    shutdown: watch::Sender<Option<String>>,
    /// The collected data and everything sessions share.
    hub: Arc<hub::Hub>,
    /// Sessions started so far (each numbers its remediation attempts apart).
    sessions: std::sync::atomic::AtomicU64,
}

/// Who is served and who is still attached.
struct Seats {
    max_viewers: usize,
    /// Sessions being served (a seat each).
    seated: watch::Sender<usize>,
    /// Connections that started a session and have not ended (their goodbye may still be on
    /// its way until the client hangs up).
    attached: watch::Sender<usize>,
}

impl Seats {
    fn new(max_viewers: usize) -> Arc<Self> {
        Arc::new(Self {
            max_viewers,
            seated: watch::Sender::new(0),
            attached: watch::Sender::new(0),
        })
    }
}

/// A session's seat among `max_viewers`; given back when dropped.
struct Seat(Arc<Seats>);

impl Seat {
    fn take(shared: &Arc<Seats>) -> Option<Self> {
        let max = shared.max_viewers;
        shared
            .seated
            .send_if_modified(|n| {
                if *n < max {
                    *n += 1;
                    true
                } else {
                    false
                }
            })
            .then(|| Self(Arc::clone(shared)))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.seated.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Counts a connection that started a session until the connection ends.
struct Attached(Arc<Seats>);

impl Attached {
    fn new(shared: &Arc<Seats>) -> Self {
        shared.attached.send_modify(|n| *n += 1);
        Self(Arc::clone(shared))
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.attached.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Listens on `listen` and serves until a signal; then every session gets a goodbye line.
pub async fn run(
    serve: &ServeConfig,
    listen: SocketAddr,
    host_key: HostKey,
    users: UserKeys,
    hub: Arc<hub::Hub>,
) -> Result<Exit, String> {
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let config = Arc::new(russh::server::Config {
        server_id: SshId::Standard(
            format!("SSH-2.0-watchfloor_{}", env!("CARGO_PKG_VERSION")).into(),
        ),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_secs(1),
        // OpenSSH probes with "none" first: answer it at once.
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        keys: vec![host_key.key],
        // A connection that says nothing (not even a keepalive reply) is dropped; an idle
        // session is closed with a message by `run_session` first.
        inactivity_timeout: Some(serve.idle_timeout + Duration::from_secs(60)),
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        nodelay: true,
        // Messages a session's handle may queue towards its connection (frames among them):
        // with a client's window full, a viewer's frames wait here; a few, not russh's 100.
        channel_buffer_size: 4,
        ..russh::server::Config::default()
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        idle_timeout: serve.idle_timeout,
        seats: Seats::new(serve.max_viewers),
        shutdown: watch::Sender::new(None),
        users,
        hub,
        sessions: std::sync::atomic::AtomicU64::new(0),
    });
    say(format_args!(
        "watchfloor serve: listening on {bound} ({} user{}, {} key{}, up to {} viewers)",
        serve.users.len(),
        plural(serve.users.len()),
        shared.users.len(),
        plural(shared.users.len()),
        serve.max_viewers
    ));
    tracing::info!(%bound, users = serve.users.len(), "serve: listening");
    let mut server = Server {
        shared: Arc::clone(&shared),
    };
    let running = server.run_on_socket(config, &listener);
    let handle = running.handle();
    let (exit, name) = tokio::select! {
        result = running => {
            return Err(match result {
                Ok(()) => "the server stopped".to_string(),
                Err(e) => format!("the server stopped: {e}"),
            });
        }
        _ = sigterm.recv() => (Exit::Signal(libc_signal::TERM), "SIGTERM"),
        _ = sigint.recv() => (Exit::Signal(libc_signal::INT), "SIGINT"),
        _ = sighup.recv() => (Exit::Signal(libc_signal::HUP), "SIGHUP"),
    };
    let open = *shared.seats.seated.borrow();
    say(format_args!(
        "watchfloor serve: {name}: closing {open} session{}",
        plural(open)
    ));
    tracing::info!(signal = name, sessions = open, "serve: shutting down");
    shared.shutdown.send_replace(Some(format!(
        "watchfloor serve is shutting down ({name}); goodbye"
    )));
    // Each session writes its goodbye and closes its channel; the client then hangs up. Wait for
    // that (a disconnect now could overtake the goodbye), within bounds: a stalled client does
    // not hold the exit.
    let mut attached = shared.seats.attached.subscribe();
    let _ = tokio::time::timeout(GOODBYE_WITHIN, attached.wait_for(|n| *n == 0)).await;
    // The rest (connections still authenticating, stalled ones) are disconnected.
    handle.shutdown("watchfloor serve is shutting down".into());
    Ok(exit)
}

/// A line on stdout (the operator's record of the host key and address). Unlike `println!` it
/// cannot panic when stdout is a closed pipe: the server keeps serving.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(line).and_then(|()| out.write_all(b"\n"));
    let _ = out.flush();
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct Server {
    shared: Arc<Shared>,
}

impl russh::server::Server for Server {
    type Handler = Connection;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> Connection {
        Connection {
            shared: Arc::clone(&self.shared),
            peer,
            who: None,
            channel: None,
            terminal: None,
            colorterm: None,
            input: None,
            last_input: None,
            attached: None,
        }
    }
}

/// One client connection: who it turned out to be, and its one session channel.
struct Connection {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    who: Option<Arc<Identity>>,
    channel: Option<ChannelId>,
    terminal: Option<Terminal>,
    /// `COLORTERM` from an env request: a hint for colours, nothing more.
    colorterm: Option<String>,
    /// The running viewer's input, once the shell started.
    input: Option<mpsc::Sender<SessionInput>>,
    last_input: Option<watch::Sender<Instant>>,
    /// Held from the start of the session until the connection ends.
    attached: Option<Attached>,
}

impl Connection {
    fn peer(&self) -> String {
        self.peer.map_or_else(|| "?".to_string(), |p| p.to_string())
    }

    /// Refuses a channel the console does not serve, and logs who asked for what.
    async fn refuse_channel(&self, reply: ChannelOpenHandle, what: String) {
        tracing::warn!(user = self.who(), peer = %self.peer(), "serve: {what}");
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
    }

    fn who(&self) -> &str {
        self.who.as_deref().map_or("?", |w| w.name.as_str())
    }

    /// Refuses a channel request, logging what it was.
    fn refuse(
        &self,
        channel: ChannelId,
        what: &str,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        tracing::warn!(user = self.who(), peer = %self.peer(), "serve: refused {what}");
        session.channel_failure(channel)
    }

    /// Starts the viewer of an accepted shell.
    fn start_viewer(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        self.attached = Some(Attached::new(&self.shared.seats));
        let output = Output::new(session.handle(), channel);
        let Some(who) = self.who.clone() else {
            return session.close(channel);
        };
        let Some(terminal) = self.terminal.clone() else {
            // `ssh -T` or a command's stdin: the console needs a terminal.
            session.channel_success(channel)?;
            tokio::spawn(async move {
                let _ = output
                    .write("watchfloor serve needs a terminal: connect with `ssh -t`\r\n")
                    .await;
                output.close(1).await;
            });
            return Ok(());
        };
        session.channel_success(channel)?;
        let Some(seat) = Seat::take(&self.shared.seats) else {
            let max = self.shared.seats.max_viewers;
            tracing::warn!(user = %who.name, peer = %self.peer(), max, "serve: every viewer seat is taken");
            tokio::spawn(async move {
                let _ = output
                    .write(format!(
                        "watchfloor serve: all {max} viewer seats are taken; try again later\r\n"
                    ))
                    .await;
                output.close(1).await;
            });
            return Ok(());
        };
        let (input, input_rx) = mpsc::channel(session::INPUT_CAPACITY);
        let (last_input, last_input_rx) = watch::channel(Instant::now());
        self.input = Some(input);
        self.last_input = Some(last_input);
        let viewer = ViewerSession {
            who,
            peer: self.peer,
            terminal,
            input: input_rx,
            output,
        };
        tokio::spawn(run_session(
            viewer,
            Arc::clone(&self.shared),
            last_input_rx,
            seat,
        ));
        Ok(())
    }
}

/// Why a session ended.
#[derive(Debug)]
enum Ended {
    /// The viewer returned (a key, the client's input ended).
    Viewer,
    Idle,
    Shutdown(String),
}

/// Runs a viewer until it returns, the session idles past `idle_timeout`, or the server shuts
/// down; then says why (when it was not the viewer) and closes the channel.
async fn run_session(
    viewer: ViewerSession,
    shared: Arc<Shared>,
    mut last_input: watch::Receiver<Instant>,
    seat: Seat,
) {
    let who = Arc::clone(&viewer.who);
    let peer = viewer
        .peer
        .map_or_else(|| "?".to_string(), |p| p.to_string());
    let output = viewer.output.clone();
    tracing::info!(user = %who.name, role = who.role.as_str(), fingerprint = %who.fingerprint, %peer,
        term = %viewer.terminal.term, cols = viewer.terminal.cols, rows = viewer.terminal.rows, "serve: session started");
    let mut shutdown = shared.shutdown.subscribe();
    let idle = shared.idle_timeout;
    let number = shared
        .sessions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    let viewing = viewer::run(Arc::clone(&shared.hub), viewer, number);
    tokio::pin!(viewing);
    let ended = loop {
        let idle_at = *last_input.borrow_and_update() + idle;
        tokio::select! {
            () = &mut viewing => break Ended::Viewer,
            reason = shutdown.wait_for(Option::is_some) => {
                let reason = reason.ok().and_then(|r| r.clone()).unwrap_or_default();
                break Ended::Shutdown(reason);
            }
            () = tokio::time::sleep_until(idle_at) => {
                if last_input.has_changed().unwrap_or(false) {
                    continue;
                }
                break Ended::Idle;
            }
            _ = last_input.changed() => {}
        }
    };
    let farewell = match &ended {
        Ended::Viewer => None,
        Ended::Idle => Some(format!(
            "watchfloor serve: no input for {}; closing",
            humantime::format_duration(idle)
        )),
        Ended::Shutdown(reason) => Some(reason.clone()),
    };
    if let Some(line) = farewell {
        // A stalled client must not hold the shutdown: its goodbye is best effort.
        // The console's screen is left first, so the line stays readable.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            output.write(format!("{}{line}\r\n", viewer::LEAVE)),
        )
        .await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), output.close(0)).await;
    tracing::info!(user = %who.name, %peer, ?ended, "serve: session ended");
    drop(seat);
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.shared.users.identify(offer.public_key).is_some() {
            return Ok(Auth::Accept);
        }
        tracing::warn!(
            fingerprint = %fingerprint(offer.public_key),
            peer = %self.peer(),
            ssh_user = user,
            "serve: unknown key rejected"
        );
        Ok(Auth::reject())
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match self.shared.users.identify(key.public_key) {
            Some(who) => {
                tracing::info!(user = %who.name, role = who.role.as_str(), fingerprint = %who.fingerprint,
                    peer = %self.peer(), ssh_user = user, "serve: key accepted");
                self.who = Some(who);
                Ok(Auth::Accept)
            }
            None => {
                tracing::warn!(fingerprint = %fingerprint(key.public_key), peer = %self.peer(),
                    ssh_user = user, "serve: unknown key rejected");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        tracing::warn!(peer = %self.peer(), ssh_user = user, "serve: password authentication refused");
        Ok(Auth::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.who.is_none() || self.channel.is_some() {
            self.refuse_channel(reply, "refused a second session channel".to_string())
                .await;
            return Ok(());
        }
        self.channel = Some(channel.id());
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        host: &str,
        port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_channel(reply, format!("refused port forwarding to {host}:{port}"))
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse_channel(reply, format!("refused forwarding to {socket_path}"))
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::warn!(user = self.who(), peer = %self.peer(), "serve: refused remote forwarding of {address}:{port}");
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::warn!(user = self.who(), peer = %self.peer(), "serve: refused remote forwarding of {socket_path}");
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::warn!(user = self.who(), peer = %self.peer(), "serve: refused agent forwarding");
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, "X11 forwarding", session)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Refused like every env request (nothing runs in an environment here); COLORTERM is
        // still a fair hint for how many colours the client's terminal shows.
        if name == "COLORTERM" && value.len() < 32 {
            self.colorterm = Some(value.to_string());
            if let Some(terminal) = &mut self.terminal {
                terminal.colorterm = Some(value.to_string());
            }
        }
        // Clients send their SendEnv variables (LANG, …) unasked for a reply: not worth a warning.
        tracing::debug!(user = self.who(), peer = %self.peer(), "serve: refused env {name}");
        session.channel_failure(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The command itself is not logged: it may carry anything.
        self.refuse(channel, "exec", session)?;
        session.close(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, &format!("subsystem {name}"), session)?;
        session.close(channel)
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) || self.input.is_some() {
            return self.refuse(channel, "pty-req", session);
        }
        self.terminal = Some(Terminal {
            term: term.to_string(),
            cols: columns(cols),
            rows: lines(rows),
            colorterm: self.colorterm.clone(),
        });
        session.channel_success(channel)
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) {
            return Ok(());
        }
        let (cols, rows) = (columns(cols), lines(rows));
        if let Some(terminal) = &mut self.terminal {
            terminal.cols = cols;
            terminal.rows = rows;
        }
        if let Some(input) = &self.input {
            let _ = input.send(SessionInput::Resize { cols, rows }).await;
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) || self.input.is_some() {
            return self.refuse(channel, "a second shell", session);
        }
        self.start_viewer(channel, session)
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) {
            return Ok(());
        }
        if let Some(last_input) = &self.last_input {
            last_input.send_replace(Instant::now());
        }
        if let Some(input) = &self.input
            && input
                .send(SessionInput::Bytes(data.to_vec()))
                .await
                .is_err()
        {
            // The viewer is done; later bytes have nowhere to go.
            self.input = None;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            // No more input: the viewer sees its input end.
            self.input = None;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            self.input = None;
            self.last_input = None;
        }
        Ok(())
    }
}

/// A client's terminal width: 0 (unknown, e.g. `ssh -tt` without a terminal) is 80; more
/// than [`MAX_COLUMNS`] is cut there, so a client cannot make the server hold a huge screen.
fn columns(value: u32) -> u16 {
    size(value, 80, MAX_COLUMNS)
}

/// A client's terminal height, as [`columns`]: 0 is 24.
fn lines(value: u32) -> u16 {
    size(value, 24, MAX_LINES)
}

const MAX_COLUMNS: u16 = 512;
const MAX_LINES: u16 = 256;

fn size(value: u32, unknown: u16, max: u16) -> u16 {
    match value {
        0 => unknown,
        n => n.min(u32::from(max)) as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(max_viewers: usize) -> Arc<Seats> {
        Seats::new(max_viewers)
    }

    #[test]
    fn seats_stop_at_max_viewers_and_come_back_when_a_session_ends() {
        let shared = shared(2);
        let first = Seat::take(&shared).unwrap();
        let second = Seat::take(&shared).unwrap();
        assert!(Seat::take(&shared).is_none());
        assert_eq!(*shared.seated.borrow(), 2);
        drop(first);
        let third = Seat::take(&shared).unwrap();
        drop((second, third));
        assert_eq!(*shared.seated.borrow(), 0);
    }

    #[test]
    fn attached_connections_are_counted_until_dropped() {
        let shared = shared(1);
        let one = Attached::new(&shared);
        let two = Attached::new(&shared);
        assert_eq!(*shared.attached.borrow(), 2);
        drop((one, two));
        assert_eq!(*shared.attached.borrow(), 0);
    }

    #[test]
    fn terminal_sizes_are_clamped_to_what_ratatui_takes() {
        assert_eq!((columns(0), lines(0)), (80, 24));
        assert_eq!((columns(1), lines(1)), (1, 1));
        assert_eq!((columns(132), lines(43)), (132, 43));
        assert_eq!(
            (columns(1 << 20), lines(u32::MAX)),
            (MAX_COLUMNS, MAX_LINES)
        );
    }
}
