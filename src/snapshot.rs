//! `watchfloor snapshot`: collect every configured source of a target once and print a report.
//!
//! The JSON shape is a stable interface (documented in the README): every section is
//! `{"state": "ok"|"error"|"unconfigured", "error": str|null, "items": [...]}`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::TargetConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionState {
    Ok,
    Error,
    Unconfigured,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub state: SectionState,
    pub error: Option<String>,
    pub items: Vec<serde_json::Value>,
}

impl Section {
    fn unconfigured() -> Self {
        Self {
            state: SectionState::Unconfigured,
            error: None,
            items: vec![],
        }
    }

    fn error(message: impl Into<String>) -> Self {
        Self {
            state: SectionState::Error,
            error: Some(message.into()),
            items: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub target: String,
    pub read_only: bool,
    pub collected_at: String,
    pub pods: Section,
    pub deployments: Section,
    pub claims: Section,
    pub slo: Section,
    pub health: Section,
    pub postgres: Section,
    pub redis: Section,
}

impl Snapshot {
    /// Sections in report order, with their names.
    pub fn sections(&self) -> [(&'static str, &Section); 7] {
        [
            ("pods", &self.pods),
            ("deployments", &self.deployments),
            ("claims", &self.claims),
            ("slo", &self.slo),
            ("health", &self.health),
            ("postgres", &self.postgres),
            ("redis", &self.redis),
        ]
    }

    /// 0 when every configured source answered, 1 when any failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(
            self.sections()
                .iter()
                .any(|(_, s)| s.state == SectionState::Error),
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A compact report for pasting into an incident channel.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mode = if self.read_only { " · read-only" } else { "" };
        let _ = writeln!(
            out,
            "watchfloor snapshot · target {} · {}{mode}",
            self.target, self.collected_at
        );
        for (name, section) in self.sections() {
            let state = match section.state {
                SectionState::Ok => format!(
                    "ok ({} item{})",
                    section.items.len(),
                    if section.items.len() == 1 { "" } else { "s" }
                ),
                SectionState::Error => {
                    format!("ERROR: {}", section.error.as_deref().unwrap_or("unknown"))
                }
                SectionState::Unconfigured => "not configured".to_string(),
            };
            let _ = writeln!(out, "{name:<12} {state}");
            for item in &section.items {
                let _ = writeln!(out, "  {item}");
            }
        }
        out
    }
}

/// Collects one target. Each section is bounded by `timeout`; a section still unanswered then is an
/// error naming the timeout.
pub async fn collect(target: &TargetConfig, read_only: bool, timeout: Duration) -> Snapshot {
    let collected_at = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default();
    let bounded = |configured: bool, kind: &'static str| async move {
        let collection = async move { not_built(configured, kind) };
        tokio::time::timeout(timeout, collection)
            .await
            .unwrap_or_else(|_| {
                Section::error(format!(
                    "timed out after {}",
                    humantime::format_duration(timeout)
                ))
            })
    };
    let (pods, deployments, claims, slo, health, postgres, redis) = tokio::join!(
        bounded(target.kubernetes.is_some(), "kubernetes"),
        bounded(target.kubernetes.is_some(), "kubernetes"),
        bounded(!target.claims.is_empty(), "claims"),
        bounded(!target.slo.is_empty(), "prometheus"),
        bounded(!target.health.is_empty(), "health"),
        bounded(!target.postgres.is_empty(), "postgres"),
        bounded(!target.redis.is_empty(), "redis"),
    );
    Snapshot {
        target: target.name().to_string(),
        read_only,
        collected_at,
        pods,
        deployments,
        claims,
        slo,
        health,
        postgres,
        redis,
    }
}

/// Until a backend exists, a configured source is an honest error.
fn not_built(configured: bool, kind: &str) -> Section {
    if configured {
        Section::error(format!(
            "not collected: this build of watchfloor has no {kind} backend yet"
        ))
    } else {
        Section::unconfigured()
    }
}
