//! What a simulated container does, chosen per image by scenario rules.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Behavior {
    /// Starts, becomes ready, logs steadily.
    #[default]
    Healthy,
    /// Starts, logs a stack trace, exits 1; restarts with back-off.
    CrashLoop,
    /// Like `CrashLoop` but killed by the OOM killer (exit 137).
    OomKilled,
    /// The image cannot be pulled.
    ImagePull,
    /// The scheduler finds no node.
    Unschedulable,
    /// Runs but its readiness probe keeps failing.
    NeverReady,
}

impl Behavior {
    pub fn crashes(self) -> bool {
        matches!(self, Behavior::CrashLoop | Behavior::OomKilled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogStyle {
    #[default]
    Plain,
    Json,
}

/// A scenario rule: containers whose image contains `image` behave this way.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    pub image: String,
    #[serde(default)]
    pub behavior: Behavior,
    #[serde(default)]
    pub log_style: Option<LogStyle>,
    /// Lines per second while running (world time).
    #[serde(default)]
    pub log_rate: Option<f64>,
    /// What a crashing container reports before dying.
    #[serde(default)]
    pub crash_message: Option<String>,
    /// Only the pods present when the scenario loaded misbehave; pods created afterwards (a
    /// deleted pod's replacement, a rollout restart) are healthy. E.g. an operator whose expired
    /// service-account token is renewed when its pod is recreated.
    #[serde(default)]
    pub heals_on_restart: bool,
}

/// How one container behaves and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub behavior: Behavior,
    pub style: LogStyle,
    pub rate: f64,
    pub crash_message: String,
}

/// The rule table plus defaults.
#[derive(Debug, Clone)]
pub struct Rules {
    pub images: Vec<ImageRule>,
    pub default_rate: f64,
    /// Cap of the crash back-off, seconds (Kubernetes: 300).
    pub max_backoff: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            images: Vec::new(),
            default_rate: 1.0,
            max_backoff: 300.0,
        }
    }
}

pub const DEFAULT_CRASH: &str =
    "panic: failed to connect to database: dial tcp 10.96.12.7:5432: connect: connection refused";

impl Rules {
    /// The first rule whose `image` is part of `image`.
    fn rule(&self, image: &str) -> Option<&ImageRule> {
        self.images
            .iter()
            .find(|r| image.contains(r.image.as_str()))
    }

    /// Does a container of `image` behave only in pods created after the scenario loaded?
    pub fn heals_on_restart(&self, image: &str) -> bool {
        self.rule(image).is_some_and(|r| r.heals_on_restart)
    }

    /// A container's behaviour: `forced` wins; else the image's rule, except that a `replacement`
    /// pod (created after the scenario loaded) of a `heals_on_restart` image is healthy.
    pub fn behavior(&self, image: &str, forced: Option<Behavior>, replacement: bool) -> Behavior {
        if let Some(b) = forced {
            return b;
        }
        match self.rule(image) {
            Some(r) if r.heals_on_restart && replacement => Behavior::Healthy,
            Some(r) => r.behavior,
            None => Behavior::default(),
        }
    }

    /// How a container of `image` behaves and logs (in a pod present when the scenario loaded).
    pub fn profile(&self, image: &str, forced: Option<Behavior>) -> Profile {
        self.pod_profile(image, forced, false)
    }

    /// How a container of `image` behaves and logs in a pod present at load (`replacement`
    /// false) or created afterwards (see [`Rules::behavior`]).
    pub fn pod_profile(&self, image: &str, forced: Option<Behavior>, replacement: bool) -> Profile {
        let rule = self.rule(image);
        Profile {
            behavior: self.behavior(image, forced, replacement),
            style: rule.and_then(|r| r.log_style).unwrap_or_default(),
            rate: rule.and_then(|r| r.log_rate).unwrap_or(self.default_rate),
            crash_message: rule
                .and_then(|r| r.crash_message.clone())
                .unwrap_or_else(|| DEFAULT_CRASH.to_string()),
        }
    }

    /// Back-off before restart number `restarts` (10 s doubling, capped).
    pub fn backoff_secs(&self, restarts: u64) -> f64 {
        let exp = restarts.saturating_sub(1).min(16) as i32;
        (10.0 * 2f64.powi(exp)).min(self.max_backoff)
    }
}
