//! Finding, reading and validating the config file, with errors that name file, line, column and key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

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
    validate(&config).map_err(|problem| {
        locate(
            span_of(&document, &problem.key),
            Some(problem.key.to_string()),
            problem.message,
            problem.suggestion,
        )
    })?;
    Ok(config)
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
fn validate(config: &Config) -> Result<(), Problem> {
    if config.ui.max_fps == 0 || config.ui.max_fps > 120 {
        return Err(Problem::new(
            KeyPath::root().key("ui").key("max_fps"),
            format!("must be between 1 and 120, got {}", config.ui.max_fps),
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
    Ok(())
}

/// A path to a key in the document, e.g. `targets[0].postgres[1].warn_at`.
#[derive(Debug, Clone, Default, PartialEq)]
struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    fn root() -> Self {
        Self::default()
    }

    fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_string()));
        self
    }

    fn index(mut self, index: usize) -> Self {
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
fn span_of(document: &Spanned<DeTable<'_>>, path: &KeyPath) -> Option<Range<usize>> {
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
