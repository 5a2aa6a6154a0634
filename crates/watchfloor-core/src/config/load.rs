//! Finding, reading and validating the config file, with errors that name file, line, column and key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::schema::{
    ClaimSource, Config, LogSource, PostgresConfig, RedisConfig, ServeConfig, TargetConfig,
};
use super::secret::Secret;
use super::selector::check_label_selector;
use crate::redact::redact;

/// A config problem, located in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `targets[0].kubernetes.contxt`.
    pub key: Option<String>,
    pub message: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Where the config came from and what it says.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: Config,
}

/// The environment the config search depends on, injectable for tests.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    pub watchfloor_config: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl SearchEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            watchfloor_config: var("WATCHFLOOR_CONFIG"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            home: var("HOME"),
        }
    }
}

/// The places searched, in order; the first that exists wins. An explicit path (flag or
/// `WATCHFLOOR_CONFIG`) is the only candidate when given, so a typo is not silently skipped.
pub fn candidate_paths(explicit: Option<&Path>, env: &SearchEnv) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path.to_path_buf()];
    }
    if let Some(path) = &env.watchfloor_config {
        return vec![path.clone()];
    }
    let mut paths = Vec::new();
    if let Some(xdg) = &env.xdg_config_home {
        paths.push(xdg.join("watchfloor/config.toml"));
    }
    if let Some(home) = &env.home {
        let fallback = home.join(".config/watchfloor/config.toml");
        if !paths.contains(&fallback) {
            paths.push(fallback);
        }
    }
    paths
}

/// Why no config could be loaded.
#[derive(Debug)]
pub enum LoadError {
    NotFound {
        searched: Vec<PathBuf>,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Invalid(Box<ConfigError>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { searched } => {
                writeln!(f, "no watchfloor config file found. Looked in:")?;
                for path in searched {
                    writeln!(f, "  {}", path.display())?;
                }
                if searched.is_empty() {
                    writeln!(f, "  (nowhere: set --config, WATCHFLOOR_CONFIG or HOME)")?;
                }
                writeln!(f, "To start:")?;
                writeln!(
                    f,
                    "  watchfloor --config config.example.toml   # the documented example, every key explained"
                )?;
                write!(
                    f,
                    "  or copy config.example.toml to ~/.config/watchfloor/config.toml and edit it"
                )
            }
            Self::Io { path, error } => {
                write!(f, "{}: cannot read config: {error}", path.display())
            }
            Self::Invalid(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Finds and loads the config.
pub fn load(
    explicit: Option<&Path>,
    env: &SearchEnv,
    parsers: &ClientParsers,
) -> Result<LoadedConfig, LoadError> {
    let candidates = candidate_paths(explicit, env);
    let explicit_given = explicit.is_some() || env.watchfloor_config.is_some();
    let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
        if explicit_given && let Some(path) = candidates.first().filter(|p| p.exists()) {
            return Err(LoadError::Io {
                path: path.clone(),
                error: std::io::Error::other("not a regular file"),
            });
        }
        return Err(LoadError::NotFound {
            searched: candidates,
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|error| LoadError::Io {
        path: path.clone(),
        error,
    })?;
    let config = parse(&path, &text, parsers).map_err(|e| LoadError::Invalid(Box::new(e)))?;
    Ok(LoadedConfig { path, config })
}

/// Parses and validates config text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str, parsers: &ClientParsers) -> Result<Config, ConfigError> {
    let locate = |span: Option<Range<usize>>, key: Option<String>, message: String, suggestion| {
        let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            key,
            // Messages may quote a value (a URL, a DSN): never with its credentials.
            message: redact(&message).into_owned(),
            suggestion,
        }
    };
    if text.trim().is_empty() {
        return Err(locate(
            None,
            None,
            "the file is empty: a config needs at least one [[targets]] entry (see config.example.toml)"
                .into(),
            None,
        ));
    }
    let document = DeTable::parse(text).map_err(|e| {
        let message = first_line(e.message());
        // The span of a duplicate key is the key itself; name it.
        let key = e
            .span()
            .filter(|_| message.starts_with("duplicate key"))
            .and_then(|span| text.get(span))
            .map(str::to_string);
        locate(e.span(), key, message, None)
    })?;
    let deserializer = toml::de::Deserializer::from(document.clone());
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let mut key = KeyPath::from_serde(e.path());
        let inner = e.into_inner();
        let message = first_line(inner.message());
        let mut suggestion = None;
        if let Some((name, expected)) = unknown_name(&message) {
            suggestion = suggest(&name, &expected);
            // Derived structs put an unknown field in the path; hand-written visitors do not.
            if message.starts_with("unknown field") && !key.ends_with(&name) {
                key = key.key(&name);
            }
        }
        if let Some(field) = missing_field(&message) {
            key = key.key(field);
        }
        let key = (!key.is_root()).then(|| key.to_string());
        locate(inner.span(), key, message, suggestion)
    })?;
    validate(&config, parsers).map_err(|problem| {
        locate(
            span_of(&document, &problem.key),
            Some(problem.key.to_string()),
            problem.message,
            problem.suggestion,
        )
    })?;
    Ok(config)
}

/// The rules `parse` checks beyond the schema, for a config built in code (the demo's): the
/// first problem, as `key `…`: message`.
pub fn validate_config(config: &Config, parsers: &ClientParsers) -> Result<(), String> {
    validate(config, parsers)
        .map_err(|problem| format!("key `{}`: {}", problem.key, redact(&problem.message)))
}

/// A rule `validate` found broken, and the key that breaks it.
struct Problem {
    key: KeyPath,
    message: String,
    suggestion: Option<String>,
}

impl Problem {
    fn new(key: KeyPath, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
            suggestion: None,
        }
    }

    fn suggesting(self, suggestion: Option<String>) -> Self {
        Self { suggestion, ..self }
    }
}

/// Rules serde cannot express. Each problem names the key to blame, which `parse` locates.
fn validate(config: &Config, parsers: &ClientParsers) -> Result<(), Problem> {
    if config.ui.max_fps == 0 || config.ui.max_fps > 120 {
        return Err(Problem::new(
            KeyPath::root().key("ui").key("max_fps"),
            format!("must be between 1 and 120, got {}", config.ui.max_fps),
        ));
    }
    if config.targets.is_empty() {
        return Err(Problem::new(
            KeyPath::root().key("targets"),
            "no [[targets]] configured: the console needs at least one (see config.example.toml)",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        let target_key = KeyPath::root().key("targets").index(i);
        let name = target.name();
        if name.trim().is_empty() {
            return Err(Problem::new(
                target_key.key("name"),
                "target name must not be empty",
            ));
        }
        if names.contains(&name) {
            return Err(Problem::new(
                target_key.key("name"),
                format!("duplicate target name {name:?}"),
            ));
        }
        names.push(name);
        for (j, slo) in target.slo.iter().enumerate() {
            let slo_key = target_key.clone().key("slo").index(j);
            let objective = *slo.objective.get_ref();
            if !(objective > 0.0 && objective < 1.0) {
                return Err(Problem::new(
                    slo_key.key("objective"),
                    format!(
                        "must be a fraction between 0 and 1 exclusive (e.g. 0.999), got {objective}"
                    ),
                ));
            }
            let forms: Vec<&str> = [
                ("errors", slo.errors.is_some() && slo.total.is_some()),
                ("good", slo.good.is_some() && slo.total.is_some()),
                ("ratio", slo.ratio.is_some()),
            ]
            .into_iter()
            .filter_map(|(form, present)| present.then_some(form))
            .collect();
            if forms.len() != 1 {
                // With too many forms, blame the last one; with none, the SLO itself.
                let key = match forms.last() {
                    Some(form) => slo_key.key(form),
                    None => slo_key,
                };
                return Err(Problem::new(
                    key,
                    format!(
                        "SLO {:?} needs exactly one of `errors` + `total`, `good` + `total`, or `ratio`",
                        slo.name
                    ),
                ));
            }
            if target.prometheus.is_none() {
                return Err(Problem::new(
                    target_key.key("prometheus"),
                    format!("SLO {:?} needs a [targets.prometheus] section", slo.name),
                ));
            }
        }
        for (j, pg) in target.postgres.iter().enumerate() {
            let (warn, crit) = (*pg.warn_at.get_ref(), *pg.crit_at.get_ref());
            if !(0.0 < warn && warn < crit && crit <= 1.0) {
                // An empty span means `crit_at` is the default, so `warn_at` is to blame.
                let field = if warn > 0.0 && !pg.crit_at.span().is_empty() {
                    "crit_at"
                } else {
                    "warn_at"
                };
                return Err(Problem::new(
                    target_key.clone().key("postgres").index(j).key(field),
                    format!(
                        "need 0 < warn_at < crit_at <= 1, got warn_at {warn} and crit_at {crit}"
                    ),
                ));
            }
        }
        for (j, claim) in target.claims.iter().enumerate() {
            let claim_key = target_key.clone().key("claims").index(j);
            let missing: Vec<&str> = match claim.source.get_ref() {
                ClaimSource::Crd => [
                    ("group", claim.group.is_some()),
                    ("version", claim.version.is_some()),
                    ("kind", claim.kind.is_some()),
                    ("plural", claim.plural.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| !present)
                .map(|(k, _)| k)
                .collect(),
                ClaimSource::Sql => [
                    ("database", claim.database.is_some()),
                    ("query", claim.query.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| !present)
                .map(|(k, _)| k)
                .collect(),
            };
            if !missing.is_empty() {
                let source = match claim.source.get_ref() {
                    ClaimSource::Crd => "crd",
                    ClaimSource::Sql => "sql",
                };
                return Err(Problem::new(
                    claim_key,
                    format!("source = \"{source}\" needs `{}`", missing.join("`, `")),
                ));
            }
            if let Some(db) = &claim.database {
                let databases: Vec<String> =
                    target.postgres.iter().map(|p| p.name.clone()).collect();
                if !databases.contains(db) {
                    return Err(Problem::new(
                        claim_key.key("database"),
                        format!("{db:?} names no [[targets.postgres]] entry of this target"),
                    )
                    .suggesting(suggest(db, &databases)));
                }
            }
        }
        for (j, log) in target.logs.iter().enumerate() {
            let log_key = target_key.clone().key("logs").index(j);
            match log.source.get_ref() {
                LogSource::Kubernetes => {
                    if log.namespace.is_none() {
                        return Err(Problem::new(
                            log_key,
                            "source = \"kubernetes\" needs `namespace`",
                        ));
                    }
                    if log.selector.is_some() == log.workload.is_some() {
                        let key = if log.workload.is_some() {
                            log_key.key("workload")
                        } else {
                            log_key
                        };
                        return Err(Problem::new(
                            key,
                            "source = \"kubernetes\" needs exactly one of `selector` or `workload`",
                        ));
                    }
                    if let Some(workload) = &log.workload {
                        let ok = workload.split_once('/').is_some_and(|(kind, name)| {
                            ["deploy", "sts", "ds", "job"].contains(&kind) && !name.is_empty()
                        });
                        if !ok {
                            return Err(Problem::new(
                                log_key.key("workload"),
                                format!(
                                    "{workload:?} must be deploy/NAME, sts/NAME, ds/NAME or job/NAME"
                                ),
                            ));
                        }
                    }
                }
                LogSource::File => {
                    if log.path.is_none() {
                        return Err(Problem::new(log_key, "source = \"file\" needs `path`"));
                    }
                }
            }
            if log.buffer_lines == 0 {
                return Err(Problem::new(
                    log_key.key("buffer_lines"),
                    "must be at least 1",
                ));
            }
        }
        check_target(target, &target_key, parsers)?;
    }
    if let Err(message) = config.audit_postgres() {
        let entries: Vec<String> = config
            .targets
            .iter()
            .flat_map(|t| t.postgres.iter().map(|p| p.name.clone()))
            .collect();
        let name = config.audit.postgres.as_deref().unwrap_or_default();
        return Err(
            Problem::new(KeyPath::root().key("audit").key("postgres"), message)
                .suggesting(suggest(name, &entries).filter(|s| s != name)),
        );
    }
    if let Some(serve) = &config.serve {
        check_serve(serve, parsers)?;
    }
    Ok(())
}

/// `[serve]`: an address to listen on, limits that admit someone, and users each known by at
/// least one key that parses and names nobody else.
fn check_serve(serve: &ServeConfig, parsers: &ClientParsers) -> Result<(), Problem> {
    let key = KeyPath::root().key("serve");
    if serve.listen_addr().is_none() {
        return Err(Problem::new(
            key.key("listen"),
            format!(
                "{:?} is not an address and port (e.g. \"127.0.0.1:2222\" or \"[::]:2222\")",
                serve.listen
            ),
        ));
    }
    if serve.max_viewers == 0 {
        return Err(Problem::new(key.key("max_viewers"), "must be at least 1"));
    }
    positive(key.clone().key("idle_timeout"), serve.idle_timeout)?;
    if serve.users.is_empty() {
        return Err(Problem::new(
            key.key("users"),
            "no [[serve.users]]: nobody could connect; list at least one user with `keys` or `authorized_keys`",
        ));
    }
    // Each key's identity (as the parser gives it) and where it was first listed.
    let mut seen: Vec<(String, usize, KeyPath)> = Vec::new();
    for (j, user) in serve.users.iter().enumerate() {
        let user_key = key.clone().key("users").index(j);
        let name = user.name.trim();
        if name.is_empty() {
            return Err(Problem::new(
                user_key.key("name"),
                "user name must not be empty",
            ));
        }
        if let Some(first) = serve.users[..j].iter().position(|u| u.name.trim() == name) {
            return Err(Problem::new(
                user_key.key("name"),
                format!(
                    "duplicate user name {name:?} (also {})",
                    key.clone().key("users").index(first)
                ),
            ));
        }
        if user.keys.is_empty() && user.authorized_keys.is_none() {
            return Err(Problem::new(
                user_key,
                format!(
                    "user {name:?} has no `keys` and no `authorized_keys`: nobody could log in as them"
                ),
            ));
        }
        for (k, line) in user.keys.iter().enumerate() {
            let line_key = user_key.clone().key("keys").index(k);
            let identity = (parsers.ssh_public_key)(line).map_err(|why| {
                Problem::new(
                    line_key.clone(),
                    format!(
                        "not an OpenSSH public key line (\"ssh-ed25519 AAAA… comment\"): {why}"
                    ),
                )
            })?;
            if let Some((_, owner, first)) = seen.iter().find(|(id, _, _)| *id == identity)
                && *owner != j
            {
                return Err(Problem::new(
                    line_key,
                    format!(
                        "this key is also listed for user {:?} ({first}): a key must name one user",
                        serve.users[*owner].name
                    ),
                ));
            }
            seen.push((identity, j, line_key));
        }
    }
    Ok(())
}

/// The rules that catch, before the console starts, what would only fail once it runs:
/// durations of zero, queries without `{{window}}`, URLs and DSNs that do not parse, regexes,
/// label selectors, and names used twice within a kind.
fn check_target(
    target: &TargetConfig,
    key: &KeyPath,
    parsers: &ClientParsers,
) -> Result<(), Problem> {
    if let Some(selector) = target
        .kubernetes
        .as_ref()
        .and_then(|k| k.label_selector.as_ref())
    {
        label_selector(
            key.clone().key("kubernetes").key("label_selector"),
            selector,
        )?;
    }
    if let Some(alertmanager) = &target.alertmanager {
        let am_key = key.clone().key("alertmanager");
        http_url(am_key.clone().key("url"), alertmanager.url.trim())?;
        positive(am_key.clone().key("timeout"), alertmanager.timeout)?;
        positive(am_key.clone().key("refresh"), alertmanager.refresh)?;
        // Alertmanager anchors the receiver regex itself, as a matcher's.
        if let Some(receiver) = &alertmanager.receiver
            && let Err(error) = regex::Regex::new(&format!("^(?:{receiver})$"))
        {
            return Err(Problem::new(
                am_key.key("receiver"),
                format!("{receiver:?} is not a valid regex: {}", last_line(&error)),
            ));
        }
    }
    if let Some(prometheus) = &target.prometheus {
        let prometheus_key = key.clone().key("prometheus");
        http_url(prometheus_key.clone().key("url"), prometheus.url.trim())?;
        positive(prometheus_key.clone().key("timeout"), prometheus.timeout)?;
        positive(prometheus_key.key("refresh"), prometheus.refresh)?;
    }
    for (j, slo) in target.slo.iter().enumerate() {
        let slo_key = key.clone().key("slo").index(j);
        positive(slo_key.clone().key("period"), slo.period)?;
        let forms = [
            ("errors", &slo.errors),
            ("good", &slo.good),
            ("total", &slo.total),
            ("ratio", &slo.ratio),
        ];
        for (form, template) in forms {
            if let Some(template) = template
                && !super::window::has_window(template)
            {
                return Err(Problem::new(
                    slo_key.clone().key(form),
                    "the query has no {{window}}, so every burn window would read the same; \
                     write it where the range goes, e.g. rate(x[{{window}}])",
                ));
            }
        }
        for (k, pair) in slo.alerts.iter().flatten().enumerate() {
            let pair_key = slo_key.clone().key("alerts").index(k);
            if !(pair.factor.is_finite() && pair.factor > 0.0) {
                return Err(Problem::new(
                    pair_key.key("factor"),
                    format!("must be a positive number, got {}", pair.factor),
                ));
            }
            positive(pair_key.clone().key("long"), pair.long)?;
            positive(pair_key.key("short"), pair.short)?;
        }
    }
    for (j, health) in target.health.iter().enumerate() {
        let health_key = key.clone().key("health").index(j);
        http_url(health_key.clone().key("url"), &health.url)?;
        if !(100..=599).contains(&health.expect_status) {
            return Err(Problem::new(
                health_key.key("expect_status"),
                format!(
                    "must be an HTTP status (100-599), got {}",
                    health.expect_status
                ),
            ));
        }
        positive(health_key.clone().key("timeout"), health.timeout)?;
        positive(health_key.key("interval"), health.interval)?;
    }
    for (j, postgres) in target.postgres.iter().enumerate() {
        let postgres_key = key.clone().key("postgres").index(j);
        postgres_dsn(postgres_key.clone().key("dsn"), postgres, parsers)?;
        positive(
            postgres_key.clone().key("long_running_after"),
            postgres.long_running_after,
        )?;
        positive(
            postgres_key.clone().key("idle_in_transaction_after"),
            postgres.idle_in_transaction_after,
        )?;
        positive(postgres_key.key("refresh"), postgres.refresh)?;
    }
    for (j, redis) in target.redis.iter().enumerate() {
        let redis_key = key.clone().key("redis").index(j);
        redis_url(redis_key.clone().key("url"), redis, parsers)?;
        positive(redis_key.key("refresh"), redis.refresh)?;
    }
    for (j, claim) in target.claims.iter().enumerate() {
        let claim_key = key.clone().key("claims").index(j);
        positive(claim_key.key("stuck_after"), claim.stuck_after)?;
    }
    for (j, log) in target.logs.iter().enumerate() {
        let log_key = key.clone().key("logs").index(j);
        if let Some(selector) = &log.selector {
            label_selector(log_key.clone().key("selector"), selector)?;
        }
        // As the pod log source compiles it: the whole container name must match.
        if let Some(container) = log.container.as_deref().map(str::trim)
            && !container.is_empty()
            && container != "*"
            && let Err(error) = regex::Regex::new(&format!("^(?:{container})$"))
        {
            return Err(Problem::new(
                log_key.key("container"),
                format!(
                    "{container:?} is not a valid container name or regex: {}",
                    last_line(&error)
                ),
            ));
        }
        if log.max_streams == 0 {
            return Err(Problem::new(
                log_key.key("max_streams"),
                "must be at least 1",
            ));
        }
    }
    check_platform(target, key)?;
    for (j, operator) in target.operators.iter().enumerate() {
        let selector_key = key.clone().key("operators").index(j).key("selector");
        if operator.selector.trim().is_empty() {
            return Err(Problem::new(
                selector_key,
                "must not be empty: it would select every pod of the namespace",
            ));
        }
        label_selector(selector_key, &operator.selector)?;
    }
    unique(
        key.clone().key("slo"),
        "SLO",
        named(target.slo.iter().map(|s| &s.name)),
    )?;
    unique(
        key.clone().key("health"),
        "health endpoint",
        named(target.health.iter().map(|h| &h.name)),
    )?;
    unique(
        key.clone().key("postgres"),
        "postgres",
        named(target.postgres.iter().map(|p| &p.name)),
    )?;
    unique(
        key.clone().key("redis"),
        "redis",
        named(target.redis.iter().map(|r| &r.name)),
    )?;
    unique(
        key.clone().key("claims"),
        "claims",
        target
            .claims
            .iter()
            .map(|c| (c.display_name(), c.name.is_some()))
            .collect(),
    )?;
    unique(
        key.clone().key("logs"),
        "logs",
        target
            .logs
            .iter()
            .map(|l| (l.display_name(), l.name.is_some()))
            .collect(),
    )?;
    unique(
        key.clone().key("operators"),
        "operator",
        named(target.operators.iter().map(|o| &o.name)),
    )?;
    Ok(())
}

/// `[targets.platform]` thresholds and `[[targets.backups]]` names; both need
/// `[targets.kubernetes]`.
fn check_platform(target: &TargetConfig, key: &KeyPath) -> Result<(), Problem> {
    if target.kubernetes.is_none() {
        let section = if target.platform.is_some() {
            Some(("platform", "[targets.platform]"))
        } else if !target.backups.is_empty() {
            Some(("backups", "[[targets.backups]]"))
        } else {
            None
        };
        if let Some((field, section)) = section {
            return Err(Problem::new(
                key.clone().key(field),
                format!("{section} needs a [targets.kubernetes] section"),
            ));
        }
    }
    if let Some(platform) = &target.platform {
        let platform_key = key.clone().key("platform");
        if platform.metrics_interval < Duration::from_secs(1) {
            return Err(Problem::new(
                platform_key.key("metrics_interval"),
                "must be at least 1s (the metrics API's own window is 15s or more)",
            ));
        }
        let memory_warn = *platform.memory_warn.get_ref();
        if !(memory_warn > 0.0 && memory_warn <= 1.0) {
            return Err(Problem::new(
                platform_key.key("memory_warn"),
                format!(
                    "must be a fraction of the limit, 0 < x <= 1 (e.g. 0.9), got {memory_warn}"
                ),
            ));
        }
        let factor = *platform.cronjob_stale_factor.get_ref();
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(Problem::new(
                platform_key.key("cronjob_stale_factor"),
                format!("must be at least 1 (a run is due once per interval), got {factor}"),
            ));
        }
        positive(platform_key.clone().key("cert_warn"), platform.cert_warn)?;
        positive(platform_key.clone().key("cert_crit"), platform.cert_crit)?;
        if platform.cert_crit >= platform.cert_warn {
            return Err(Problem::new(
                platform_key.key("cert_crit"),
                format!(
                    "must be shorter than cert_warn ({}), got {}",
                    humantime::format_duration(platform.cert_warn),
                    humantime::format_duration(platform.cert_crit)
                ),
            ));
        }
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (j, backup) in target.backups.iter().enumerate() {
        let backup_key = key.clone().key("backups").index(j);
        if let Err(why) = dns_label(&backup.namespace) {
            return Err(Problem::new(
                backup_key.key("namespace"),
                format!("{:?} is not a namespace name: {why}", backup.namespace),
            ));
        }
        if let Err(why) = cronjob_name(&backup.cronjob) {
            return Err(Problem::new(
                backup_key.key("cronjob"),
                format!("{:?} is not a CronJob name: {why}", backup.cronjob),
            ));
        }
        let pair = (backup.namespace.as_str(), backup.cronjob.as_str());
        if let Some(first) = seen.iter().position(|p| *p == pair) {
            return Err(Problem::new(
                backup_key.key("cronjob"),
                format!(
                    "duplicate backup {}/{} (also {})",
                    pair.0,
                    pair.1,
                    key.clone().key("backups").index(first)
                ),
            ));
        }
        seen.push(pair);
    }
    Ok(())
}

/// An RFC 1123 label, as namespaces are named: at most 63 lowercase letters, digits and
/// `-`, starting and ending with a letter or digit.
fn dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err("longer than 63 characters".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("only lowercase letters, digits and '-' are allowed".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A CronJob name: a DNS subdomain of at most 52 characters (the controller appends an
/// 11-character suffix to name its Jobs).
fn cronjob_name(name: &str) -> Result<(), String> {
    if name.len() > 52 {
        return Err("longer than 52 characters".into());
    }
    name.split('.').try_for_each(dns_label)
}

/// Names written as `name`, for `unique`.
fn named<'a>(names: impl Iterator<Item = &'a String>) -> Vec<(String, bool)> {
    names.map(|name| (name.clone(), true)).collect()
}

/// A duration that must not be zero (a timeout, an interval, a threshold).
fn positive(key: KeyPath, value: Duration) -> Result<(), Problem> {
    if value.is_zero() {
        return Err(Problem::new(
            key,
            "must be a positive duration (e.g. \"30s\"), not zero",
        ));
    }
    Ok(())
}

fn label_selector(key: KeyPath, selector: &str) -> Result<(), Problem> {
    check_label_selector(selector)
        .map_err(|why| Problem::new(key, format!("label selector {selector:?}: {why}")))
}

/// An `http://` or `https://` URL with a host, as reqwest will need it.
fn http_url(key: KeyPath, url: &str) -> Result<(), Problem> {
    let shown = redact(url);
    let why = match url::Url::parse(url) {
        Err(error) => format!("is not a valid URL: {error}"),
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => {
            format!(
                "the scheme must be http or https, not {:?}",
                parsed.scheme()
            )
        }
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => "has no host".to_string(),
        Ok(_) => return Ok(()),
    };
    Err(Problem::new(key, format!("{shown:?} {why}")))
}

/// Where a secret's value came from, for messages about the value (never the value).
fn origin(secret: &Secret) -> String {
    match secret {
        Secret::Literal(_) => String::new(),
        Secret::Env(var) => format!(" (the value of environment variable {var})"),
        Secret::File(path) => format!(" (the contents of {})", path.display()),
    }
}

/// The backends' own parsers of connection strings (tokio-postgres DSNs, redis URLs). The
/// config checks entries with them so that `check-config` fails where the source would; this
/// crate cannot link the clients, so whoever loads a config supplies them.
#[derive(Debug, Clone, Copy)]
pub struct ClientParsers {
    pub postgres_dsn: fn(&PostgresConfig) -> Result<(), String>,
    pub redis_url: fn(&RedisConfig) -> Result<(), String>,
    /// An OpenSSH public key line: the key's identity (the same for the same key whatever
    /// the comment), or why it does not parse.
    pub ssh_public_key: fn(&str) -> Result<String, String>,
}

impl ClientParsers {
    /// Accepts every DSN and URL, and every key line of two fields (the key being those two):
    /// for tests of the rest of the rules.
    pub const UNCHECKED: Self = Self {
        postgres_dsn: |_| Ok(()),
        redis_url: |_| Ok(()),
        ssh_public_key: |line| {
            let mut fields = line.split_whitespace();
            match (fields.next(), fields.next()) {
                (Some(algorithm), Some(key)) => Ok(format!("{algorithm} {key}")),
                _ => Err("expected an algorithm and a base64 key".to_string()),
            }
        },
    };
}

/// The DSN parsed as the PostgreSQL source will parse it. An `{ env }` or `{ file }` DSN is
/// checked when it resolves; when it does not, that is a warning (see `warnings`).
fn postgres_dsn(
    key: KeyPath,
    entry: &PostgresConfig,
    parsers: &ClientParsers,
) -> Result<(), Problem> {
    if entry.dsn.resolve().is_err() {
        return Ok(());
    }
    (parsers.postgres_dsn)(entry)
        .map_err(|why| Problem::new(key, format!("{why}{}", origin(&entry.dsn))))
}

/// The URL parsed as the Redis source will parse it (`redis://`, `rediss://`, `unix://`).
fn redis_url(key: KeyPath, entry: &RedisConfig, parsers: &ClientParsers) -> Result<(), Problem> {
    if entry.url.resolve().is_err() {
        return Ok(());
    }
    (parsers.redis_url)(entry)
        .map_err(|why| Problem::new(key, format!("{why}{}", origin(&entry.url))))
}

/// No two entries of `list` share a name: (name, written as `name`) of each entry.
fn unique(list: KeyPath, what: &str, names: Vec<(String, bool)>) -> Result<(), Problem> {
    for (j, (name, explicit)) in names.iter().enumerate() {
        let Some(first) = names[..j].iter().position(|(other, _)| other == name) else {
            continue;
        };
        let entry = list.clone().index(j);
        let (key, hint) = if *explicit {
            (entry.key("name"), "")
        } else {
            (entry, "; give one a `name`")
        };
        return Err(Problem::new(
            key,
            format!(
                "duplicate {what} name {name:?} (also {}){hint}",
                list.clone().index(first)
            ),
        ));
    }
    Ok(())
}

/// A path to a key in the document, e.g. `targets[0].postgres[1].warn_at`.
#[derive(Debug, Clone, Default, PartialEq)]
/// A dotted key path into the config (`targets[0].postgres[1].dsn`), which `span_of` locates.
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }

    fn ends_with(&self, key: &str) -> bool {
        matches!(self.0.last(), Some(Segment::Key(last)) if last == key)
    }

    fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys of serde's path. Enum variants are values, not keys, and `Spanned` adds a
    /// private key of its own; both are left out.
    fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as Serde;
        let segments = path.iter().filter_map(|segment| match segment {
            Serde::Seq { index } => Some(Segment::Index(*index)),
            Serde::Map { key } if key.starts_with("$__serde_spanned_private") => None,
            Serde::Map { key } => Some(Segment::Key(key.clone())),
            Serde::Enum { .. } => None,
            Serde::Unknown => Some(Segment::Key("?".into())),
        });
        Self(segments.collect())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The span of the value at `path`, or of its deepest ancestor present in the document (a
/// missing key is blamed on the table that lacks it). A table's span is its `[header]`.
pub fn span_of(document: &Spanned<DeTable<'_>>, path: &KeyPath) -> Option<Range<usize>> {
    let mut segments = path.0.iter();
    let Some(Segment::Key(first)) = segments.next() else {
        return None;
    };
    let mut value = document.get_ref().get(first.as_str())?;
    for segment in segments {
        let next = match (segment, value.get_ref()) {
            (Segment::Key(key), DeValue::Table(table)) => table.get(key.as_str()),
            (Segment::Index(index), DeValue::Array(array)) => array.get(*index),
            _ => None,
        };
        let Some(next) = next else { break };
        value = next;
    }
    Some(value.span())
}

/// From serde's "missing field `x`", the field.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split_once('`')
        .map(|(field, _)| field)
}

fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"), the name and
/// the expected names.
fn unknown_name(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((name.to_string(), expected))
}

/// The closest expected name, when close enough to be a likely typo.
pub fn suggest(name: &str, expected: &[String]) -> Option<String> {
    expected
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.clone())
}

/// What a regex syntax error says, in one line: it draws the pattern over several lines and the
/// last says why.
fn last_line(error: &regex::Error) -> String {
    error
        .to_string()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("a\nbc\n", 3), (2, 2));
        assert_eq!(line_column("", 0), (1, 1));
    }

    #[test]
    fn search_order_prefers_flag_then_env_then_xdg_then_home() {
        let env = SearchEnv {
            watchfloor_config: Some("/env.toml".into()),
            xdg_config_home: Some("/xdg".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(
            candidate_paths(Some(Path::new("/flag.toml")), &env),
            vec![PathBuf::from("/flag.toml")]
        );
        assert_eq!(
            candidate_paths(None, &env),
            vec![PathBuf::from("/env.toml")]
        );
        let env = SearchEnv {
            watchfloor_config: None,
            ..env
        };
        assert_eq!(
            candidate_paths(None, &env),
            vec![
                PathBuf::from("/xdg/watchfloor/config.toml"),
                PathBuf::from("/home/u/.config/watchfloor/config.toml")
            ]
        );
    }

    #[test]
    fn key_paths_read_like_toml_and_locate_their_value_or_table() {
        let path = KeyPath::root()
            .key("targets")
            .index(0)
            .key("prometheus")
            .key("headers")
            .key("X.Org");
        assert_eq!(path.to_string(), r#"targets[0].prometheus.headers."X.Org""#);
        let text = "[[targets]]\nname = \"a\"\n";
        let document = DeTable::parse(text).unwrap();
        let name = KeyPath::root().key("targets").index(0).key("name");
        assert_eq!(span_of(&document, &name), Some(19..22));
        let missing = KeyPath::root().key("targets").index(0).key("prometheus");
        assert_eq!(span_of(&document, &missing), Some(0..11));
    }

    const TARGET: &str = "[[targets]]\nname = \"a\"\n";

    fn serve_error(serve: &str) -> String {
        let text = format!("{TARGET}{serve}");
        match parse(Path::new("w.toml"), &text, &ClientParsers::UNCHECKED) {
            Ok(_) => panic!("parsed:\n{text}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn serve_defaults_and_a_minimal_user() {
        let text = format!(
            "{TARGET}[serve]\n[[serve.users]]\nname = \"alice\"\nkeys = [\"ssh-ed25519 AAAA alice@x\"]\n"
        );
        let config = parse(Path::new("w.toml"), &text, &ClientParsers::UNCHECKED).unwrap();
        let serve = config.serve.unwrap();
        assert_eq!(serve.listen_addr(), Some("127.0.0.1:2222".parse().unwrap()));
        assert_eq!(serve.max_viewers, 32);
        assert_eq!(serve.idle_timeout, Duration::from_secs(1800));
        assert_eq!(serve.users[0].role, crate::config::ServeRole::Observer);
        assert!(serve.host_key.is_none());
        let config = parse(Path::new("w.toml"), TARGET, &ClientParsers::UNCHECKED).unwrap();
        assert!(config.serve.is_none());
    }

    #[test]
    fn serve_rules_name_line_and_key() {
        let alice = "[[serve.users]]\nname = \"alice\"\nkeys = [\"ssh-ed25519 AAAA\"]\n";
        let cases: &[(&str, &str)] = &[
            (
                "[serve]\nlisten = \"localhost\"\n",
                "w.toml:4:10: key `serve.listen`: ",
            ),
            (
                "[serve]\nmax_viewers = 0\n",
                "w.toml:4:15: key `serve.max_viewers`",
            ),
            (
                "[serve]\nidle_timeout = \"0s\"\n",
                "w.toml:4:16: key `serve.idle_timeout`",
            ),
            (
                "[serve]\nidle_timeout = \"soon\"\n",
                "key `serve.idle_timeout`",
            ),
            ("[serve]\n", "key `serve.users`: no [[serve.users]]"),
            (
                "[[serve.users]]\nname = \"bob\"\n",
                "w.toml:3:1: key `serve.users[0]`: user \"bob\" has no `keys`",
            ),
            (
                "[[serve.users]]\nname = \"bob\"\nkeys = [\"nonsense\"]\n",
                "w.toml:5:9: key `serve.users[0].keys[0]`: not an OpenSSH public key line",
            ),
            (
                "[[serve.users]]\nname = \"bob\"\nrole = \"admin\"\nkeys = [\"a b\"]\n",
                "key `serve.users[0].role`: unknown variant",
            ),
            (
                "[[serve.users]]\nname = \"bob\"\nkey = [\"a b\"]\n",
                "did you mean `keys`",
            ),
        ];
        for (serve, says) in cases {
            let error = serve_error(serve);
            assert!(error.contains(says), "{serve}: {error}");
        }
        let error = serve_error(&format!(
            "{alice}[[serve.users]]\nname = \"alice\"\nkeys = [\"x y\"]\n"
        ));
        assert!(error.starts_with("w.toml:7:8: key `serve.users[1].name`: duplicate user name \"alice\" (also serve.users[0])"), "{error}");
        let error = serve_error(&format!(
            "{alice}[[serve.users]]\nname = \"bob\"\nkeys = [\"x y\", \"ssh-ed25519 AAAA other comment\"]\n"
        ));
        assert!(error.starts_with("w.toml:8:16: key `serve.users[1].keys[1]`: this key is also listed for user \"alice\" (serve.users[0].keys[0])"), "{error}");
        // The same key twice for one user is harmless.
        let text = format!("{TARGET}[[serve.users]]\nname = \"a\"\nkeys = [\"x y\", \"x y c\"]\n");
        parse(Path::new("w.toml"), &text, &ClientParsers::UNCHECKED).unwrap();
    }

    const KUBE_TARGET: &str =
        "[[targets]]\nname = \"a\"\n[targets.kubernetes]\nnamespaces = [\"shop\"]\n";

    fn platform_error(extra: &str) -> String {
        let text = format!("{KUBE_TARGET}{extra}");
        match parse(Path::new("w.toml"), &text, &ClientParsers::UNCHECKED) {
            Ok(_) => panic!("parsed:\n{text}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn platform_defaults_and_backups_namespaces() {
        let text = format!(
            "{KUBE_TARGET}[[targets.backups]]\nnamespace = \"babylon-backup\"\ncronjob = \"db-backup\"\n"
        );
        let config = parse(Path::new("w.toml"), &text, &ClientParsers::UNCHECKED).unwrap();
        let target = &config.targets[0];
        let platform = target.platform();
        assert!(platform.metrics && platform.events && platform.nodes && platform.certificates);
        assert_eq!(platform.metrics_interval, Duration::from_secs(15));
        assert_eq!(*platform.memory_warn.get_ref(), 0.9);
        assert_eq!(*platform.cronjob_stale_factor.get_ref(), 1.5);
        assert_eq!(platform.cert_warn, Duration::from_secs(14 * 86_400));
        assert_eq!(platform.cert_crit, Duration::from_secs(3 * 86_400));
        assert_eq!(target.watched_namespaces(), ["shop", "babylon-backup"]);
        let rules = crate::data::PlatformRules::from_target(target);
        assert_eq!(
            rules.backups,
            [("babylon-backup".to_string(), "db-backup".to_string())]
        );
        let text = "[[targets]]\nname = \"a\"\n[targets.kubernetes]\n[[targets.backups]]\nnamespace = \"b\"\ncronjob = \"c\"\n";
        let config = parse(Path::new("w.toml"), text, &ClientParsers::UNCHECKED).unwrap();
        assert!(
            config.targets[0].watched_namespaces().is_empty(),
            "all namespaces"
        );
    }

    #[test]
    fn platform_rules_name_line_and_key() {
        let cases: &[(&str, &str)] = &[
            (
                "[targets.platform]\nmetrics_interval = \"500ms\"\n",
                "w.toml:6:20: key `targets[0].platform.metrics_interval`: must be at least 1s",
            ),
            (
                "[targets.platform]\nmemory_warn = 0\n",
                "w.toml:6:15: key `targets[0].platform.memory_warn`: must be a fraction",
            ),
            (
                "[targets.platform]\nmemory_warn = 1.5\n",
                "key `targets[0].platform.memory_warn`",
            ),
            (
                "[targets.platform]\ncronjob_stale_factor = 0.5\n",
                "w.toml:6:24: key `targets[0].platform.cronjob_stale_factor`: must be at least 1",
            ),
            (
                "[targets.platform]\ncert_warn = \"2d\"\n",
                "key `targets[0].platform.cert_crit`: must be shorter than cert_warn (2days), got 3days",
            ),
            (
                "[targets.platform]\ncert_crit = \"0s\"\n",
                "key `targets[0].platform.cert_crit`: must be a positive duration",
            ),
            (
                "[targets.platform]\ncert_warn = \"soon\"\n",
                "key `targets[0].platform.cert_warn`",
            ),
            (
                "[targets.platform]\nmetric = true\n",
                "did you mean `metrics`",
            ),
            (
                "[[targets.backups]]\nnamespace = \"Backups\"\ncronjob = \"db\"\n",
                "w.toml:6:13: key `targets[0].backups[0].namespace`: \"Backups\" is not a namespace name",
            ),
            (
                "[[targets.backups]]\nnamespace = \"b\"\ncronjob = \"db_backup\"\n",
                "key `targets[0].backups[0].cronjob`: \"db_backup\" is not a CronJob name",
            ),
            (
                "[[targets.backups]]\nnamespace = \"b\"\n",
                "missing field `cronjob`",
            ),
            (
                "[[targets.backups]]\nnamespace = \"b\"\ncronjob = \"db\"\n[[targets.backups]]\nnamespace = \"b\"\ncronjob = \"db\"\n",
                "key `targets[0].backups[1].cronjob`: duplicate backup b/db (also targets[0].backups[0])",
            ),
        ];
        for (extra, says) in cases {
            let error = platform_error(extra);
            assert!(error.contains(says), "{extra}: {error}");
        }
        let long = "x".repeat(53);
        let error = platform_error(&format!(
            "[[targets.backups]]\nnamespace = \"b\"\ncronjob = \"{long}\"\n"
        ));
        assert!(error.contains("longer than 52"), "{error}");
        let text = "[[targets]]\nname = \"a\"\n[targets.platform]\n";
        let error = parse(Path::new("w.toml"), text, &ClientParsers::UNCHECKED).unwrap_err();
        assert!(
            error.to_string().contains(
                "key `targets[0].platform`: [targets.platform] needs a [targets.kubernetes] section"
            ),
            "{error}"
        );
    }

    #[test]
    fn the_documented_example_parses_with_its_platform_keys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let config =
            parse(&path, &text, &ClientParsers::UNCHECKED).unwrap_or_else(|e| panic!("{e}"));
        let babylon = &config.targets[0];
        assert!(babylon.platform.is_some());
        assert_eq!(babylon.backups.len(), 1);
        assert!(
            babylon
                .watched_namespaces()
                .contains(&"babylon-backup".to_string())
        );
    }

    #[test]
    fn suggestion_only_when_close() {
        let expected = vec!["namespaces".to_string(), "context".to_string()];
        assert_eq!(
            suggest("namespace", &expected).as_deref(),
            Some("namespaces")
        );
        assert_eq!(suggest("zzz", &expected), None);
    }
}
