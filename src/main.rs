use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use watchfloor::cli::{Cli, Commands, Format};
use watchfloor::config::{self, LoadError, LoadedConfig, SearchEnv};
use watchfloor::policy::{ReadOnlyInputs, ReadOnlyPolicy};
use watchfloor::redact::redact;
use watchfloor::{app::status::SourceStatus, runtime, snapshot};

/// Exit code for usage and config errors.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    // Before anything reads a secret: no core file, no same-user ptrace (every subcommand).
    let hardening = watchfloor::hardening::forbid_core_dumps();
    let mut cli = Cli::parse();
    // Flags given after the subcommand (`snapshot --target x`) and before it apply alike.
    cli.selection = cli.selection();
    let _log_guard = watchfloor::logging::init();
    for (what, error) in hardening {
        tracing::warn!(%error, "{what} failed");
    }
    install_hooks();
    match cli.command {
        Some(Commands::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut completion_command(cli.selection.config.as_deref()),
                "watchfloor",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Commands::CheckConfig { ref path }) => {
            check_config(path.as_deref().or(cli.selection.config.as_deref()))
        }
        Some(Commands::Snapshot {
            format, timeout, ..
        }) => {
            let Some((loaded, index)) = load_with_target(&cli) else {
                return ExitCode::from(USAGE);
            };
            let target = &loaded.config.targets[index];
            let policy = ReadOnlyPolicy::new(read_only_inputs(&cli, &loaded), target.read_only);
            let snap = match tokio_runtime() {
                Ok(rt) => rt.block_on(snapshot::collect(target, policy.is_read_only(), timeout)),
                Err(e) => {
                    eprintln!("watchfloor: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let out = match format {
                Format::Json => format!("{}\n", snap.to_json()),
                Format::Text => watchfloor::report::incident_text(&snap.redacted()),
            };
            {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                // A closed pipe or a terminal that went away: nothing left to report to.
                let _ = stdout
                    .write_all(out.as_bytes())
                    .and_then(|()| stdout.flush());
            }
            ExitCode::from(snap.exit_code() as u8)
        }
        #[cfg(feature = "demo")]
        Some(Commands::Demo {
            ref scenario,
            ref postgres,
            ref redis,
            serve,
            ..
        }) => run_demo(
            &cli,
            scenario,
            watchfloor::demo::LocalServers {
                postgres: postgres.clone(),
                redis: redis.clone(),
            },
            serve,
        ),
        Some(Commands::Audit { since, format, .. }) => audit(&cli, since, format),
        Some(Commands::Serve { listen, .. }) => match load(cli.selection.config.as_deref()) {
            Some(loaded) => {
                let inputs = read_only_inputs(&cli, &loaded);
                watchfloor::serve::main(loaded, listen, inputs)
            }
            None => ExitCode::from(USAGE),
        },
        #[cfg(feature = "demo")]
        Some(Commands::Sim(args)) => watchfloor_sim::run_cli(args),
        #[cfg(not(feature = "demo"))]
        Some(Commands::Demo { .. } | Commands::Sim(_)) => {
            eprintln!(
                "watchfloor: the simulated platform is not built in (this build was made without the `demo` feature); run the console with a config instead"
            );
            ExitCode::from(USAGE)
        }
        None => run_console(&cli),
    }
}

fn run_console(cli: &Cli) -> ExitCode {
    let Some((loaded, index)) = load_with_target(cli) else {
        return ExitCode::from(USAGE);
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "watchfloor: the console needs a terminal; for a one-shot report run `watchfloor snapshot`"
        );
        return ExitCode::from(USAGE);
    }
    let inputs = read_only_inputs(cli, &loaded);
    let rt = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchfloor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(runtime::run(loaded, index, inputs));
    // Source tasks may be mid-request; they must not hold the process open.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(error) => {
            watchfloor::terminal::restore();
            tracing::error!("{error:#}");
            report(format_args!("watchfloor: {error:?}"));
            ExitCode::FAILURE
        }
    }
}

/// The command line for shell completions: `--target` completes the target names of the config
/// found now (the same search as the console), when there is one; scenario names are static.
fn completion_command(path: Option<&std::path::Path>) -> clap::Command {
    let command = Cli::command();
    let Ok(loaded) = config::load(path, &SearchEnv::from_process()) else {
        return command;
    };
    let names: Vec<String> = loaded
        .config
        .targets
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    if names.is_empty() {
        return command;
    }
    let with_names =
        |arg: clap::Arg| arg.value_parser(clap::builder::PossibleValuesParser::new(names.clone()));
    command
        .mut_arg("target", with_names)
        .mut_subcommand("snapshot", |sub| sub.mut_arg("target", with_names))
}

#[cfg(feature = "demo")]
/// `watchfloor demo`: the simulator in-process, a private kubeconfig, and the real console
/// talking to it through the real Kubernetes client.
fn run_demo(
    cli: &Cli,
    scenario: &str,
    local: watchfloor::demo::LocalServers,
    serve: Option<std::net::SocketAddr>,
) -> ExitCode {
    let scenario = match watchfloor_sim::Scenario::builtin(scenario) {
        Ok(scenario) => scenario,
        Err(e) => {
            eprintln!("watchfloor: {e}");
            return ExitCode::from(USAGE);
        }
    };
    if serve.is_none() && (!std::io::stdout().is_terminal() || !std::io::stdin().is_terminal()) {
        eprintln!(
            "watchfloor: the console needs a terminal; `watchfloor sim` serves the simulated platform alone"
        );
        return ExitCode::from(USAGE);
    }
    let rt = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("watchfloor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `--config`: the demo keeps its own target but takes the file's [ui], [ui.keys] and
    // [audit] (and its global read_only, which only ever adds safety).
    let base = match cli.selection.config.as_deref() {
        Some(path) => match load(Some(path)) {
            Some(loaded) => Some(loaded.config),
            None => return ExitCode::from(USAGE),
        },
        None => None,
    };
    let inputs = ReadOnlyInputs {
        flag: cli.selection.read_only,
        environment: ReadOnlyInputs::env_value_means_on(
            std::env::var("WATCHFLOOR_READ_ONLY").ok().as_deref(),
        ),
        global_config: base.as_ref().is_some_and(|c| c.read_only),
        observer: false,
    };
    let result = rt.block_on(async {
        let demo = watchfloor::demo::Demo::start(scenario).await?;
        let mut loaded = demo.loaded_config(&local);
        if let Some(base) = base {
            loaded.config.ui = base.ui;
            loaded.config.audit = base.audit;
        }
        if let Some(listen) = serve {
            let code = match demo.serve_config(listen) {
                Ok(serve) => {
                    loaded.config.serve = Some(serve);
                    watchfloor::serve::serve(loaded, Some(listen), inputs).await
                }
                Err(e) => {
                    eprintln!("watchfloor: {e}");
                    ExitCode::FAILURE
                }
            };
            demo.stop().await;
            return Ok(code);
        }
        let exit = runtime::run(loaded, 0, inputs).await;
        demo.stop().await;
        exit.map(|exit| ExitCode::from(exit.code() as u8))
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(error) => {
            watchfloor::terminal::restore();
            tracing::error!("{error:#}");
            report(format_args!("watchfloor: {error:?}"));
            ExitCode::FAILURE
        }
    }
}

/// color-eyre's error report hook, and a panic hook that prints color-eyre's panic report but,
/// unlike color-eyre's own (`eprintln!`), cannot panic when stderr is a terminal that is gone.
fn install_hooks() {
    match color_eyre::config::HookBuilder::default().try_into_hooks() {
        Ok((panic_hook, eyre_hook)) => {
            if let Err(e) = eyre_hook.install() {
                tracing::warn!(error = %e, "cannot install the error report hook");
            }
            watchfloor::terminal::install_panic_hook(Box::new(move |info| {
                use std::fmt::Write;
                let mut text = String::new();
                let _ = write!(text, "{}", panic_hook.panic_report(info));
                text
            }));
        }
        Err(report) => {
            tracing::warn!(%report, "cannot build the error report hooks");
            watchfloor::terminal::install_panic_hook(Box::new(|info| info.to_string()));
        }
    }
}

/// `eprintln!` that ignores errors: after the console ran, stderr may be a hung-up terminal,
/// and `eprintln!` panics when its write fails.
fn report(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(message);
    let _ = err.write_all(b"\n");
}

fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn read_only_inputs(cli: &Cli, loaded: &LoadedConfig) -> ReadOnlyInputs {
    ReadOnlyInputs {
        flag: cli.selection.read_only,
        environment: ReadOnlyInputs::env_value_means_on(
            std::env::var("WATCHFLOOR_READ_ONLY").ok().as_deref(),
        ),
        global_config: loaded.config.read_only,
        observer: false,
    }
}

fn load(path: Option<&std::path::Path>) -> Option<LoadedConfig> {
    match config::load(path, &SearchEnv::from_process()) {
        Ok(loaded) => Some(loaded),
        Err(error @ LoadError::NotFound { .. }) => {
            eprintln!("watchfloor: {error}");
            None
        }
        Err(error) => {
            eprintln!("watchfloor: config error: {}", redact(&error.to_string()));
            None
        }
    }
}

/// Loads the config and picks the target (`--target` or the first).
fn load_with_target(cli: &Cli) -> Option<(LoadedConfig, usize)> {
    let loaded = load(cli.selection.config.as_deref())?;
    let targets = &loaded.config.targets;
    if targets.is_empty() {
        eprintln!(
            "watchfloor: {}: no [[targets]] configured; see config.example.toml",
            loaded.path.display()
        );
        return None;
    }
    let index = match &cli.selection.target {
        None => 0,
        Some(name) => match targets.iter().position(|t| t.name() == name) {
            Some(index) => index,
            None => {
                let names: Vec<String> = targets.iter().map(|t| t.name().to_string()).collect();
                let hint = config::suggest(name, &names)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                eprintln!(
                    "watchfloor: no target named {name:?}{hint}; targets: {}",
                    names.join(", ")
                );
                return None;
            }
        },
    };
    let mut loaded = loaded;
    if let Some(context) = &cli.selection.context {
        let target = &mut loaded.config.targets[index];
        target
            .kubernetes
            .get_or_insert_with(Default::default)
            .context = Some(context.clone());
    }
    Some((loaded, index))
}

/// `watchfloor audit`: the trail of the config's `[audit] path`, or of the default path when no
/// config is found (an explicit `--config` / `WATCHFLOOR_CONFIG` must exist).
fn audit(cli: &Cli, since: Option<std::time::Duration>, format: Format) -> ExitCode {
    use watchfloor::remediation::audit;
    let env = SearchEnv::from_process();
    let explicit = cli.selection.config.is_some() || env.watchfloor_config.is_some();
    let path = match config::load(cli.selection.config.as_deref(), &env) {
        Ok(loaded) => audit::configured_path(&loaded.config),
        Err(LoadError::NotFound { .. }) if !explicit => audit::default_path(),
        Err(error @ LoadError::NotFound { .. }) => {
            eprintln!("watchfloor: {error}");
            return ExitCode::from(USAGE);
        }
        Err(error) => {
            eprintln!("watchfloor: config error: {error}");
            return ExitCode::from(USAGE);
        }
    };
    if !path.exists() {
        eprintln!("watchfloor: no audit trail at {} yet", path.display());
        return ExitCode::SUCCESS;
    }
    let since = match since {
        None => None,
        Some(ago) => match std::time::SystemTime::now().checked_sub(ago) {
            Some(at) => Some(at),
            None => {
                eprintln!("watchfloor: --since {ago:?} reaches before the epoch");
                return ExitCode::from(USAGE);
            }
        },
    };
    let (records, unparsable) = match audit::read(&path, since) {
        Ok(read) => read,
        Err(e) => {
            eprintln!("watchfloor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    match format {
        Format::Json => {
            for record in &records {
                out.push_str(&record.to_line());
            }
        }
        Format::Text => out = audit::to_text(&records),
    }
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush());
    }
    if unparsable > 0 {
        eprintln!(
            "watchfloor: {unparsable} line{} of {} could not be parsed (a torn last line or damage) and {} left out",
            if unparsable == 1 { "" } else { "s" },
            path.display(),
            if unparsable == 1 { "is" } else { "are" },
        );
    }
    ExitCode::SUCCESS
}

fn check_config(path: Option<&std::path::Path>) -> ExitCode {
    let Some(loaded) = load(path) else {
        return ExitCode::from(USAGE);
    };
    let config = &loaded.config;
    println!("{}: valid", loaded.path.display());
    println!(
        "ui: theme {:?}, max {} fps, {} key override{}; audit: {}{}; read_only: {}",
        config.ui.theme,
        config.ui.max_fps,
        config.ui.keys.len(),
        if config.ui.keys.len() == 1 { "" } else { "s" },
        watchfloor::remediation::audit::configured_path(config).display(),
        config
            .audit
            .postgres
            .as_ref()
            .map_or_else(String::new, |entry| format!(" (mirrored to {entry})")),
        config.read_only
    );
    println!("targets: {}", config.targets.len());
    for target in &config.targets {
        let mut flags = Vec::new();
        if target.protected {
            flags.push("protected");
        }
        if target.read_only {
            flags.push("read-only");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        println!("  {}{flags}", target.name());
        let sources = SourceStatus::for_target(target);
        if sources.is_empty() {
            println!("    (no sources)");
        }
        for source in sources {
            // Names and details quote URLs (Prometheus, health endpoints): never credentials.
            println!(
                "    {:<8} {:<11} {} · {}",
                source.pane.title().split(' ').next().unwrap_or_default(),
                source.kind,
                redact(&source.name),
                redact(&source.detail)
            );
        }
    }
    let keymap = watchfloor::app::keymap::Keymap::with_overrides(&config.ui.keys);
    for warning in &keymap.warnings {
        println!("warning: {}", redact(warning));
    }
    // What will fail on this machine although the file is valid (unset secrets, kubeconfig,
    // users' authorized_keys files).
    let mut warnings = config::warnings(&loaded);
    if let Some((lines, serve_warnings)) = watchfloor::serve::check(&loaded) {
        for line in lines {
            println!("{line}");
        }
        warnings.extend(serve_warnings);
    }
    for warning in warnings {
        println!("warning: {}", redact(&warning.to_string()));
    }
    ExitCode::SUCCESS
}
