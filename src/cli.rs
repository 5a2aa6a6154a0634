//! Command-line interface.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  watchfloor demo                                  the console on a simulated platform
  watchfloor --config config.example.toml          run the console
  watchfloor --target babylon-prod --read-only     observe one target, no remediations
  watchfloor check-config ~/.config/watchfloor/config.toml
  watchfloor snapshot --format text                paste-ready report of the target
  watchfloor audit --since 1h                      remediations of the last hour
  watchfloor completions bash > /etc/bash_completion.d/watchfloor

Config is read from --config, then $WATCHFLOOR_CONFIG, then
$XDG_CONFIG_HOME/watchfloor/config.toml, then ~/.config/watchfloor/config.toml.
Read-only is on if --read-only, WATCHFLOOR_READ_ONLY=1 or the config says so;
nothing on the command line turns it off.
Logs: $XDG_STATE_HOME/watchfloor/watchfloor.log (level from WATCHFLOOR_LOG).";

#[derive(Debug, Parser)]
#[command(name = "watchfloor", version, about = "A terminal operations console for on-call engineers", after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub selection: Selection,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

/// Which config, target and context, and read-only: the console's and `snapshot`'s flags.
/// Given before a subcommand they apply to it too (`watchfloor --config x.toml audit`); each
/// subcommand lists only the flags it uses.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Selection {
    /// Config file (default: $WATCHFLOOR_CONFIG, then $XDG_CONFIG_HOME/watchfloor/config.toml).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Target to open (default: $WATCHFLOOR_TARGET, then the first in the config).
    #[arg(long, short = 't', value_name = "NAME")]
    pub target: Option<String>,
    /// Kubernetes context to use for the target, overriding its `kubernetes.context`.
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Observer mode: every remediation is impossible. Cannot be turned off from the command line.
    #[arg(long)]
    pub read_only: bool,
}

impl Selection {
    /// These flags with `later` (given after the subcommand) taking precedence.
    fn merged(&self, later: &Selection) -> Selection {
        Selection {
            config: later.config.clone().or_else(|| self.config.clone()),
            target: later.target.clone().or_else(|| self.target.clone()),
            context: later.context.clone().or_else(|| self.context.clone()),
            read_only: self.read_only || later.read_only,
        }
    }
}

impl Cli {
    /// The effective selection: the flags before the subcommand, overridden by the
    /// subcommand's own; the target from `$WATCHFLOOR_TARGET` when no flag names one.
    pub fn selection(&self) -> Selection {
        let mut selection = self.given_selection();
        if selection.target.is_none() {
            selection.target = std::env::var("WATCHFLOOR_TARGET")
                .ok()
                .filter(|t| !t.is_empty());
        }
        selection
    }

    fn given_selection(&self) -> Selection {
        match &self.command {
            Some(Commands::Snapshot { selection, .. }) => self.selection.merged(selection),
            Some(Commands::Demo {
                config, read_only, ..
            }) => self.selection.merged(&Selection {
                config: config.clone(),
                read_only: *read_only,
                ..Selection::default()
            }),
            Some(Commands::Audit { config, .. } | Commands::Serve { config, .. }) => {
                self.selection.merged(&Selection {
                    config: config.clone(),
                    ..Selection::default()
                })
            }
            _ => self.selection.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Validate a config file and print a summary of its targets and sources.
    CheckConfig {
        /// Config file (default: the same search as the console).
        path: Option<PathBuf>,
    },
    /// Collect every configured source of a target once, print, and exit
    /// (0 all answered, 1 some failed, 2 usage or config error).
    Snapshot {
        #[command(flatten)]
        selection: Selection,
        /// json: every section; text: a paste-ready report, worst problem first.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Bound on each source's collection, e.g. 10s, 1m.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Run the console against a built-in simulated platform (no cluster needed).
    Demo {
        /// Scenario to run.
        #[arg(long, default_value = "incident", value_parser = scenario_names())]
        scenario: String,
        /// A config whose `[ui]`, `[ui.keys]` and `[audit]` the demo uses (its targets are not).
        #[arg(long, short = 'c', value_name = "PATH")]
        config: Option<PathBuf>,
        /// Observer mode: every remediation is impossible.
        #[arg(long)]
        read_only: bool,
        /// Show this PostgreSQL in the DB pane (libpq DSN or URL) instead of the simulated one,
        /// e.g. "host=127.0.0.1 user=postgres dbname=postgres".
        #[arg(long, value_name = "DSN")]
        postgres: Option<String>,
        /// Show this Redis in the DB pane instead of the simulated one, e.g. redis://127.0.0.1:6379.
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
        /// Serve the demo over SSH instead of drawing it here (default 127.0.0.1:2222), with a
        /// generated operator key and observer key whose paths it prints.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:2222")]
        serve: Option<std::net::SocketAddr>,
    },
    /// Print the audit trail of remediations (the config's `[audit] path`, else the default
    /// $XDG_STATE_HOME/watchfloor/audit.jsonl).
    Audit {
        /// Config file whose `[audit] path` to read.
        #[arg(long, short = 'c', value_name = "PATH")]
        config: Option<PathBuf>,
        /// Only records from this long ago on, e.g. 1h, 30m, 7d.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: Option<Duration>,
        /// text: aligned columns; json: one record per line, as stored.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Serve the console over SSH to the keys of the config's [[serve.users]]: every target's
    /// data collected once, each session its own view; observers read-only.
    Serve {
        /// Config file whose `[serve]` section says who may connect.
        #[arg(long, short = 'c', value_name = "PATH")]
        config: Option<PathBuf>,
        /// Address to listen on instead of `[serve] listen`, e.g. 127.0.0.1:2222.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Serve a simulated platform's Kubernetes API on loopback, for kubectl and other tools.
    Sim(SimArgs),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

/// The demo's scenarios, for `--scenario` checking, help and completions.
#[cfg(feature = "demo")]
fn scenario_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(watchfloor_sim::Scenario::names())
}

/// Without the simulator any name parses; `demo` then says it is not built in.
#[cfg(not(feature = "demo"))]
fn scenario_names() -> clap::builder::NonEmptyStringValueParser {
    clap::builder::NonEmptyStringValueParser::new()
}

#[cfg(feature = "demo")]
pub use watchfloor_sim::SimArgs;

/// Without the `demo` feature there is no simulator: `watchfloor sim` takes any arguments and
/// says so.
#[cfg(not(feature = "demo"))]
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 10s, 1m, 500ms)"))
}
