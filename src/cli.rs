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
    /// Config file (default: $WATCHFLOOR_CONFIG, then $XDG_CONFIG_HOME/watchfloor/config.toml).
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Target to open (default: the first in the config).
    #[arg(
        long,
        short = 't',
        global = true,
        value_name = "NAME",
        env = "WATCHFLOOR_TARGET"
    )]
    pub target: Option<String>,
    /// Kubernetes context to use for the target, overriding its `kubernetes.context`.
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Observer mode: every remediation is impossible. Cannot be turned off from the command line.
    #[arg(long, global = true)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Commands>,
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
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Bound on each source's collection, e.g. 10s, 1m.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Run the console against a built-in simulated platform (no cluster needed).
    Demo {
        /// Scenario: incident, calm or large.
        #[arg(long, default_value = "incident")]
        scenario: String,
        /// Show this PostgreSQL in the DB pane (libpq DSN or URL) instead of the simulated one,
        /// e.g. "host=127.0.0.1 user=postgres dbname=postgres".
        #[arg(long, value_name = "DSN")]
        postgres: Option<String>,
        /// Show this Redis in the DB pane instead of the simulated one, e.g. redis://127.0.0.1:6379.
        #[arg(long, value_name = "URL")]
        redis: Option<String>,
    },
    /// Print the audit trail of remediations (the config's `[audit] path`, else the default
    /// $XDG_STATE_HOME/watchfloor/audit.jsonl).
    Audit {
        /// Only records from this long ago on, e.g. 1h, 30m, 7d.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: Option<Duration>,
        /// text: aligned columns; json: one record per line, as stored.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Serve a simulated platform's Kubernetes API on loopback, for kubectl and other tools.
    Sim(SimArgs),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
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
