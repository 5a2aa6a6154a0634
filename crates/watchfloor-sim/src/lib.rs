//! A simulated Kubernetes API server: the test bed for every Kubernetes feature and the engine of
//! `watchfloor demo`. Wire-faithful enough for kube-rs (watcher, logs, patch) and stock kubectl.
//!
//! Layout: `store` (objects, resourceVersion, event log), `http` (routing), `writes` (list paging,
//! create/replace/patch/delete, scale), `watch`, `logs`, `discovery`, `selectors`, `patch`,
//! `policy` (SSAR and 403s), `controller` + `pods` + `events` + `claims` (the ticking world),
//! `scenario` (assets/scenarios/*.toml), `faults` (test hooks and the request log), `kubeconfig`.
//! The platform kinds: `jobs` (Jobs, CronJobs) with `cron`, `autoscaling` (HPA status), `certs`
//! (cert-manager), `platform` (their scenario sections, nodes), `metrics` (metrics.k8s.io) and
//! `table` (server-side printing for `kubectl get`); `proto` reads kubectl's protobuf bodies.

mod alerting;
mod autoscaling;
mod behavior;
mod certs;
mod claims;
mod clock;
mod controller;
mod cron;
mod db;
mod discovery;
mod events;
mod faults;
mod health;
mod http;
mod jobs;
mod kubeconfig;
mod logs;
mod metrics;
mod patch;
mod platform;
mod pods;
mod policy;
mod prometheus;
mod proto;
mod resources;
mod respond;
mod scenario;
mod selectors;
mod state;
mod status;
mod store;
mod table;
mod templates;
mod util;
mod watch;
mod world;
mod writes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::watch as twatch;

pub use behavior::Behavior;
pub use faults::{Faults, RequestRecord};
pub use policy::Rule;
pub use resources::Res;
pub use scenario::Scenario;
pub use world::World;

use faults::FaultState;
use state::WorldState;

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Append every request as one JSON line here.
    pub request_log: Option<PathBuf>,
    /// World speed: 1.0 = real time; 10.0 = crash loops, rollouts and grace periods 10x faster.
    pub speed: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            request_log: None,
            speed: 1.0,
        }
    }
}

/// State shared by the server, the controller task and the handles.
pub(crate) struct Shared {
    state: Mutex<WorldState>,
    rv_tx: twatch::Sender<u64>,
    pub(crate) faults: FaultState,
    stop: twatch::Sender<bool>,
    addr: OnceLock<SocketAddr>,
    bookmark_ms: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Run `f` under the world lock; wakes watchers when the resourceVersion moved.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut WorldState) -> R) -> R {
        let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let before = g.store.rv();
        let r = f(&mut g);
        let after = g.store.rv();
        drop(g);
        if after != before {
            self.rv_tx.send_replace(after);
        }
        r
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
            .get()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub(crate) fn bookmark_interval(&self) -> Duration {
        Duration::from_millis(
            self.bookmark_ms
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(10),
        )
    }
}

/// A running simulator.
pub struct Sim {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    faults: Faults,
    server: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Controller tick period (real time).
const TICK: Duration = Duration::from_millis(200);

impl Sim {
    /// Load `scenario`, bind `listen` (use 127.0.0.1:0 for a free port) and start serving.
    pub async fn start(
        scenario: Scenario,
        listen: SocketAddr,
        options: SimOptions,
    ) -> std::io::Result<Sim> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let speed = if options.speed.is_finite() && options.speed > 0.0 {
            options.speed
        } else {
            1.0
        };
        let mut state = WorldState {
            rules: scenario.rules().map_err(invalid)?,
            speed,
            ..WorldState::default()
        };
        scenario.load(&mut state).map_err(invalid)?;
        // Settle statuses (e.g. ProgressDeadlineExceeded) before the first client looks.
        state.tick();
        state.finish_boot();
        state.store.compact();
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let rv = state.store.rv();
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            rv_tx: twatch::channel(rv).0,
            faults: FaultState::new(options.request_log.as_deref())?,
            stop: twatch::channel(false).0,
            addr: OnceLock::new(),
            bookmark_ms: std::sync::atomic::AtomicU64::new(10_000),
        });
        let _ = shared.addr.set(addr);
        let router = axum::Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let mut stop_rx = shared.stop.subscribe();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await;
        });
        let tick_shared = shared.clone();
        let mut tick_stop = shared.stop.subscribe();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => tick_shared.with(WorldState::tick),
                    _ = tick_stop.wait_for(|s| *s) => return,
                }
            }
        });
        Ok(Sim {
            addr,
            faults: Faults {
                shared: shared.clone(),
            },
            shared,
            server,
            ticker,
        })
    }

    /// Kubeconfig YAML: server http://ADDR, a bearer-token user, `context` as current-context.
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        kubeconfig::yaml(self.addr, context)
    }

    pub fn write_kubeconfig(&self, path: &std::path::Path, context: &str) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(context))
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A handle to read and change the world.
    pub fn world(&self) -> World {
        World {
            shared: self.shared.clone(),
        }
    }

    /// Period of BOOKMARK events on watches that allow them (default 10 s).
    pub fn set_bookmark_interval(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.shared
            .bookmark_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stop serving: ends streams, closes connections, stops the controller.
    pub async fn shutdown(self) {
        self.shared.stop.send_replace(true);
        let _ = self.ticker.await;
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(3), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

/// `watchfloor sim` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Scenario to load (incident, calm, large).
    #[arg(long, default_value = "incident")]
    pub scenario: String,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Where to write the kubeconfig (default: a file in the temp directory).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Append every request as a JSON line to this file.
    #[arg(long)]
    pub request_log: Option<PathBuf>,
    /// World speed (1.0 = real time).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Run without the metrics API (metrics.k8s.io answers 404, as without metrics-server).
    #[arg(long)]
    pub no_metrics_api: bool,
    /// Run without cert-manager (no Certificates or their CRD; the TLS Secrets stay).
    #[arg(long)]
    pub no_cert_manager: bool,
}

/// Run the simulator until SIGINT/SIGTERM.
pub fn run_cli(args: SimArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let scenario = match Scenario::builtin(&args.scenario) {
        Ok(s) => s
            .with_metrics_api(!args.no_metrics_api)
            .with_cert_manager(!args.no_cert_manager),
        Err(e) => {
            eprintln!("watchfloor sim: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchfloor sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let options = SimOptions {
            request_log: args.request_log.clone(),
            speed: args.speed,
        };
        let sim = match Sim::start(scenario, args.listen, options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("watchfloor sim: cannot start on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let path = args.kubeconfig_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("watchfloor-sim-{}.kubeconfig", sim.addr.port()))
        });
        if let Err(e) = sim.write_kubeconfig(&path, "watchfloor-sim") {
            eprintln!("watchfloor sim: cannot write {}: {e}", path.display());
            sim.shutdown().await;
            return ExitCode::FAILURE;
        }
        println!(
            "watchfloor sim: scenario {:?} serving on http://{}",
            args.scenario, sim.addr
        );
        println!("kubeconfig: {}", path.display());
        println!("try:  kubectl --kubeconfig {} get pods -A", path.display());
        println!(
            "      kubectl --kubeconfig {} -n platform-v2-stable rollout undo deploy/platform-v2-api",
            path.display()
        );
        println!("Ctrl-C to stop.");
        wait_for_signal().await;
        println!("watchfloor sim: stopping");
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
