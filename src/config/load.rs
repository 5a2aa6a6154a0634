//! Finding, reading and validating the config file, with errors that name file, line, column and key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::schema::{ClaimSource, Config, LogSource};

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
pub fn load(explicit: Option<&Path>, env: &SearchEnv) -> Result<LoadedConfig, LoadError> {
    let candidates = candidate_paths(explicit, env);
    let explicit_given = explicit.is_some() || env.watchfloor_config.is_some();
    let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
        if explicit_given {
            if let Some(path) = candidates.first().filter(|p| p.exists()) {
                return Err(LoadError::Io {
                    path: path.clone(),
                    error: std::io::Error::other("not a regular file"),
                });
            }
        }
        return Err(LoadError::NotFound {
            searched: candidates,
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|error| LoadError::Io {
        path: path.clone(),
        error,
    })?;
    let config = parse(&path, &text).map_err(|e| LoadError::Invalid(Box::new(e)))?;
    Ok(LoadedConfig { path, config })
}

/// Parses and validates config text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let locate = |span: Option<Range<usize>>, key: Option<String>, message: String, suggestion| {
        let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            key,
            message,
            suggestion,
        }
    };
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|e| locate(e.span(), None, first_line(e.message()), None))?;
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key_path = e.path().to_string();
        let inner = e.into_inner();
        let message = first_line(inner.message());
        let (key, suggestion) = match unknown_name(&message) {
            Some((name, expected)) => {
                let full = if key_path == "." {
                    name.clone()
                } else {
                    format!("{key_path}.{name}")
                };
                (Some(full), suggest(&name, &expected))
            }
            None => ((key_path != ".").then_some(key_path), None),
        };
        locate(inner.span(), key, message, suggestion)
    })?;
    validate(&config).map_err(|(span, key, message)| locate(span, Some(key), message, None))?;
    Ok(config)
}

type Problem = (Option<Range<usize>>, String, String);

/// Rules serde cannot express. Each problem carries the span of the offending value.
fn validate(config: &Config) -> Result<(), Problem> {
    if config.ui.max_fps == 0 || config.ui.max_fps > 120 {
        return Err((
            None,
            "ui.max_fps".into(),
            format!("must be between 1 and 120, got {}", config.ui.max_fps),
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        let at = |field: &str| format!("targets[{i}].{field}");
        let name = target.name();
        if name.trim().is_empty() {
            return Err((
                Some(target.name.span()),
                at("name"),
                "target name must not be empty".into(),
            ));
        }
        if names.contains(&name) {
            return Err((
                Some(target.name.span()),
                at("name"),
                format!("duplicate target name {name:?}"),
            ));
        }
        names.push(name);
        let target_span = Some(target.name.span());
        for (j, slo) in target.slo.iter().enumerate() {
            let objective = *slo.objective.get_ref();
            if !(objective > 0.0 && objective < 1.0) {
                return Err((
                    Some(slo.objective.span()),
                    at(&format!("slo[{j}].objective")),
                    format!(
                        "must be a fraction between 0 and 1 exclusive (e.g. 0.999), got {objective}"
                    ),
                ));
            }
            let forms = [
                slo.errors.is_some() && slo.total.is_some(),
                slo.good.is_some() && slo.total.is_some(),
                slo.ratio.is_some(),
            ];
            if forms.iter().filter(|f| **f).count() != 1 {
                return Err((
                    Some(slo.objective.span()),
                    at(&format!("slo[{j}]")),
                    format!(
                        "SLO {:?} needs exactly one of `errors` + `total`, `good` + `total`, or `ratio`",
                        slo.name
                    ),
                ));
            }
            if target.prometheus.is_none() {
                return Err((
                    target_span.clone(),
                    at("prometheus"),
                    format!("SLO {:?} needs a [targets.prometheus] section", slo.name),
                ));
            }
        }
        for (j, pg) in target.postgres.iter().enumerate() {
            let (warn, crit) = (*pg.warn_at.get_ref(), *pg.crit_at.get_ref());
            if !(0.0 < warn && warn < crit && crit <= 1.0) {
                let span = if pg.crit_at.span().is_empty() {
                    pg.warn_at.span()
                } else {
                    pg.crit_at.span()
                };
                return Err((
                    Some(span),
                    at(&format!("postgres[{j}].warn_at")),
                    format!(
                        "need 0 < warn_at < crit_at <= 1, got warn_at {warn} and crit_at {crit}"
                    ),
                ));
            }
        }
        for (j, claim) in target.claims.iter().enumerate() {
            let span = Some(claim.source.span());
            let key = at(&format!("claims[{j}]"));
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
                return Err((
                    span,
                    key,
                    format!("source = \"{source}\" needs `{}`", missing.join("`, `")),
                ));
            }
            if let Some(db) = &claim.database {
                if !target.postgres.iter().any(|p| &p.name == db) {
                    return Err((
                        span,
                        key,
                        format!(
                            "`database = {db:?}` names no [[targets.postgres]] entry of this target"
                        ),
                    ));
                }
            }
        }
        for (j, log) in target.logs.iter().enumerate() {
            let span = Some(log.source.span());
            let key = at(&format!("logs[{j}]"));
            match log.source.get_ref() {
                LogSource::Kubernetes => {
                    if log.namespace.is_none() {
                        return Err((
                            span,
                            key,
                            "source = \"kubernetes\" needs `namespace`".into(),
                        ));
                    }
                    if log.selector.is_some() == log.workload.is_some() {
                        return Err((
                            span,
                            key,
                            "source = \"kubernetes\" needs exactly one of `selector` or `workload`"
                                .into(),
                        ));
                    }
                    if let Some(workload) = &log.workload {
                        let ok = workload.split_once('/').is_some_and(|(kind, name)| {
                            ["deploy", "sts", "ds", "job"].contains(&kind) && !name.is_empty()
                        });
                        if !ok {
                            return Err((
                                span,
                                key,
                                format!(
                                    "workload {workload:?} must be deploy/NAME, sts/NAME, ds/NAME or job/NAME"
                                ),
                            ));
                        }
                    }
                }
                LogSource::File => {
                    if log.path.is_none() {
                        return Err((span, key, "source = \"file\" needs `path`".into()));
                    }
                }
            }
            if log.buffer_lines == 0 {
                return Err((span, key, "`buffer_lines` must be at least 1".into()));
            }
        }
    }
    Ok(())
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
    fn suggestion_only_when_close() {
        let expected = vec!["namespaces".to_string(), "context".to_string()];
        assert_eq!(
            suggest("namespace", &expected).as_deref(),
            Some("namespaces")
        );
        assert_eq!(suggest("zzz", &expected), None);
    }
}
