//! What will fail once the console runs, although the file itself is valid: a secret whose
//! environment variable is unset or whose file cannot be read, a kubeconfig that is missing or
//! lacks the configured context, a Prometheus CA file that cannot be read. These depend on the
//! machine, not on the file, so they are warnings: `check-config` prints them and the console
//! shows them when it starts.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use kube::config::Kubeconfig;
use toml::de::DeTable;

use crate::redact::redact;
use watchfloor_core::config::{
    ClaimSource, Config, KeyPath, KubernetesConfig, LoadedConfig, LogSource, Secret, TargetConfig,
    line_column, span_of, suggest,
};

/// A located warning about the config, shown as `file:line:column: key `…`: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `targets[0].postgres[0].password`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: key `{}`: {}",
            self.path.display(),
            self.line,
            self.column,
            self.key,
            self.message
        )
    }
}

/// The warnings of a loaded config, in file order. Reads the environment, secret
/// files and kubeconfigs (never prints a secret's value); the config file is read again only to
/// locate the keys (line 1, column 1 when it cannot be, e.g. for the demo's built-in config).
pub fn warnings(loaded: &LoadedConfig) -> Vec<ConfigWarning> {
    locate(loaded, problems(&loaded.config, &KubeEnv::from_process()))
}

/// Problems found by key, located in the config's file (line 1, column 1 when it cannot be) and
/// sorted in file order.
pub fn locate(loaded: &LoadedConfig, found: Vec<(KeyPath, String)>) -> Vec<ConfigWarning> {
    let text = std::fs::read_to_string(&loaded.path).unwrap_or_default();
    let document = DeTable::parse(&text).ok();
    let mut located: Vec<ConfigWarning> = found
        .into_iter()
        .map(|(key, message)| {
            let span = document.as_ref().and_then(|d| span_of(d, &key));
            let (line, column) = span.map_or((1, 1), |s| line_column(&text, s.start));
            ConfigWarning {
                path: loaded.path.clone(),
                line,
                column,
                key: key.to_string(),
                message: redact(&message).into_owned(),
            }
        })
        .collect();
    located.sort_by_key(|w| (w.line, w.column));
    located
}

/// Where the Kubernetes client looks for its config when none is configured.
#[derive(Debug, Clone, Default)]
struct KubeEnv {
    /// `KUBECONFIG`: paths to merge.
    kubeconfig: Option<OsString>,
    home: Option<PathBuf>,
    /// `KUBERNETES_SERVICE_HOST` and `_PORT` are set: running in a pod.
    in_cluster: bool,
}

impl KubeEnv {
    fn from_process() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::home_dir(),
            in_cluster: set("KUBERNETES_SERVICE_HOST") && set("KUBERNETES_SERVICE_PORT"),
        }
    }
}

fn problems(config: &Config, env: &KubeEnv) -> Vec<(KeyPath, String)> {
    let mut found = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        let key = KeyPath::root().key("targets").index(i);
        for (secret_key, secret) in secrets(target, &key) {
            if let Err(why) = secret.resolve() {
                found.push((secret_key, why));
            }
        }
        if let Some(ca_file) = target.prometheus.as_ref().and_then(|p| p.ca_file.as_ref())
            && let Err(error) = std::fs::File::open(ca_file)
        {
            found.push((
                key.clone().key("prometheus").key("ca_file"),
                format!("cannot read {}: {error}", ca_file.display()),
            ));
        }
        if uses_kubernetes(target) {
            let kubernetes = target.kubernetes.clone().unwrap_or_default();
            found.extend(kubeconfig_problems(
                &kubernetes,
                key.clone().key("kubernetes"),
                env,
            ));
        }
    }
    found
}

/// Every secret of a target, with its key.
fn secrets<'a>(target: &'a TargetConfig, key: &KeyPath) -> Vec<(KeyPath, &'a Secret)> {
    let mut all = Vec::new();
    if let Some(prometheus) = &target.prometheus {
        let prometheus_key = key.clone().key("prometheus");
        if let Some(token) = &prometheus.token {
            all.push((prometheus_key.clone().key("token"), token));
        }
        if let Some(password) = &prometheus.password {
            all.push((prometheus_key.clone().key("password"), password));
        }
        for (name, value) in &prometheus.headers {
            all.push((prometheus_key.clone().key("headers").key(name), value));
        }
    }
    for (j, postgres) in target.postgres.iter().enumerate() {
        let entry = key.clone().key("postgres").index(j);
        all.push((entry.clone().key("dsn"), &postgres.dsn));
        if let Some(password) = &postgres.password {
            all.push((entry.key("password"), password));
        }
    }
    for (j, redis) in target.redis.iter().enumerate() {
        let entry = key.clone().key("redis").index(j);
        all.push((entry.clone().key("url"), &redis.url));
        if let Some(username) = &redis.username {
            all.push((entry.clone().key("username"), username));
        }
        if let Some(password) = &redis.password {
            all.push((entry.key("password"), password));
        }
    }
    all
}

/// Whether a target talks to a Kubernetes API (with `[targets.kubernetes]` or its defaults).
fn uses_kubernetes(target: &TargetConfig) -> bool {
    target.kubernetes.is_some()
        || !target.operators.is_empty()
        || target
            .claims
            .iter()
            .any(|c| *c.source.get_ref() == ClaimSource::Crd)
        || target
            .logs
            .iter()
            .any(|l| *l.source.get_ref() == LogSource::Kubernetes)
}

/// The kubeconfig the Kubernetes sources will read (as `sources::kubernetes::connect` finds it)
/// cannot be read, or lacks the context they will ask for.
fn kubeconfig_problems(
    kubernetes: &KubernetesConfig,
    key: KeyPath,
    env: &KubeEnv,
) -> Vec<(KeyPath, String)> {
    let (read, source, blame) = match &kubernetes.kubeconfig {
        Some(path) => (
            Kubeconfig::read_from(path).map_err(|e| e.to_string()),
            format!("kubeconfig {}", path.display()),
            key.clone().key("kubeconfig"),
        ),
        None => {
            let listed: Vec<PathBuf> = env
                .kubeconfig
                .as_ref()
                .map(|value| {
                    std::env::split_paths(value)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !listed.is_empty() {
                let read = listed
                    .iter()
                    .try_fold(Kubeconfig::default(), |merged, path| {
                        Kubeconfig::read_from(path).and_then(|next| merged.merge(next))
                    });
                let shown: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
                (
                    read.map_err(|e| e.to_string()),
                    format!("the kubeconfig of KUBECONFIG ({})", shown.join(", ")),
                    key.clone(),
                )
            } else if let Some(home) = &env.home {
                let path = home.join(".kube").join("config");
                (
                    Kubeconfig::read_from(&path).map_err(|e| e.to_string()),
                    format!("kubeconfig {}", path.display()),
                    key.clone(),
                )
            } else {
                (
                    Err("no kubeconfig: neither KUBECONFIG nor HOME is set".to_string()),
                    "the kubeconfig".to_string(),
                    key.clone(),
                )
            }
        }
    };
    let kubeconfig = match read {
        Ok(kubeconfig) => kubeconfig,
        // The sources fall back to the pod's service account only when nothing was asked of a
        // kubeconfig.
        Err(_)
            if kubernetes.kubeconfig.is_none()
                && kubernetes.context.is_none()
                && env.in_cluster =>
        {
            return Vec::new();
        }
        Err(why) => {
            let fallback = if kubernetes.kubeconfig.is_none() && kubernetes.context.is_none() {
                " and this is not a pod with a service account"
            } else {
                ""
            };
            return vec![(
                blame,
                format!("{why}{fallback}: the Kubernetes sources cannot connect"),
            )];
        }
    };
    let contexts: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let listed = if contexts.is_empty() {
        "it has no contexts".to_string()
    } else {
        format!("its contexts: {}", contexts.join(", "))
    };
    match (&kubernetes.context, &kubeconfig.current_context) {
        (Some(context), _) if !contexts.contains(context) => {
            let hint = suggest(context, &contexts)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            vec![(
                key.key("context"),
                format!("context {context:?} is not in {source}{hint}; {listed}"),
            )]
        }
        (None, None) => vec![(
            key,
            format!("{source} has no current-context and no `context` is configured; {listed}"),
        )],
        (None, Some(current)) if !contexts.contains(current) => vec![(
            key,
            format!(
                "the current-context {current:?} of {source} is not among its contexts; {listed}"
            ),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: prod\n  context:\n    cluster: c\n    user: u\n- name: staging\n  context:\n    cluster: c\n    user: u\n";

    fn kube(kubeconfig: Option<PathBuf>, context: Option<&str>) -> KubernetesConfig {
        KubernetesConfig {
            kubeconfig,
            context: context.map(str::to_string),
            ..KubernetesConfig::default()
        }
    }

    fn messages(found: Vec<(KeyPath, String)>) -> Vec<String> {
        found
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect()
    }

    #[test]
    fn a_configured_kubeconfig_and_context_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let key = KeyPath::root().key("kubernetes");
        let env = KubeEnv::default();
        assert!(kubeconfig_problems(&kube(Some(path.clone()), None), key.clone(), &env).is_empty());
        assert!(
            kubeconfig_problems(
                &kube(Some(path.clone()), Some("staging")),
                key.clone(),
                &env
            )
            .is_empty()
        );
        let found = messages(kubeconfig_problems(
            &kube(Some(path.clone()), Some("stagin")),
            key.clone(),
            &env,
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("kubernetes.context: context \"stagin\" is not in"));
        assert!(found[0].contains("did you mean `staging`"), "{found:?}");
        let missing = dir.path().join("nope");
        let found = messages(kubeconfig_problems(&kube(Some(missing), None), key, &env));
        assert!(found[0].starts_with("kubernetes.kubeconfig: "), "{found:?}");
        assert!(found[0].contains("cannot connect"), "{found:?}");
    }

    #[test]
    fn the_default_kubeconfig_is_home_then_kubeconfig_env_and_in_cluster_is_a_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPath::root().key("kubernetes");
        let mut env = KubeEnv {
            home: Some(dir.path().to_path_buf()),
            ..KubeEnv::default()
        };
        let found = messages(kubeconfig_problems(&kube(None, None), key.clone(), &env));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(".kube"), "{found:?}");
        env.in_cluster = true;
        assert!(kubeconfig_problems(&kube(None, None), key.clone(), &env).is_empty());
        // A context asked for cannot come from the service account.
        assert_eq!(
            kubeconfig_problems(&kube(None, Some("prod")), key.clone(), &env).len(),
            1
        );
        let path = dir.path().join("merged");
        std::fs::write(&path, KUBECONFIG).unwrap();
        env.kubeconfig = Some(path.into_os_string());
        assert!(kubeconfig_problems(&kube(None, Some("prod")), key, &env).is_empty());
    }
}
