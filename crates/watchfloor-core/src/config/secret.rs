//! Secrets in the config: a literal, `{ env = "VAR" }` or `{ file = "path" }`.
//!
//! A secret's value never appears in Debug output, logs or summaries; only where it comes from.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Written inline in the config file.
    Literal(String),
    /// Read from an environment variable when needed.
    Env(String),
    /// Read from a file when needed (trailing newline trimmed).
    File(PathBuf),
}

impl Secret {
    /// Resolves the secret's value. The error names the source, never the value.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            Self::Literal(value) => Ok(value.clone()),
            Self::Env(var) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
            Self::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display())),
        }
    }

    /// Where the secret comes from, safe to show.
    pub fn describe(&self) -> String {
        match self {
            Self::Literal(_) => "inline (redacted)".to_string(),
            Self::Env(var) => format!("env {var}"),
            Self::File(path) => format!("file {}", path.display()),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.describe())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a string, { env = "VAR" } or { file = "path" }"#)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::Literal(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut found: Option<Secret> = None;
        while let Some(key) = map.next_key::<String>()? {
            let secret = match key.as_str() {
                "env" => Secret::Env(map.next_value()?),
                "file" => Secret::File(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["env", "file"])),
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret takes exactly one of `env` or `file`, not both",
                ));
            }
            found = Some(secret);
        }
        found.ok_or_else(|| de::Error::custom("a secret needs `env` or `file`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::Literal("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(
            format!("{:?}", Secret::Env("PGPASS".into())),
            "Secret(env PGPASS)"
        );
    }

    #[test]
    fn resolves_from_file_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(Secret::File(path).resolve().unwrap(), "s3cret");
    }

    #[test]
    fn missing_env_names_the_variable_only() {
        let err = Secret::Env("WATCHFLOOR_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("WATCHFLOOR_TEST_SURELY_UNSET"));
    }
}
