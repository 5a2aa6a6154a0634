//! The read-only policy: the one place every mutation must ask.
//!
//! Read-only is on when any of the flag, the environment, the global config or the target's config
//! says so. Nothing turns it off once on: there is no flag for that, by design.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyReason {
    Flag,
    Environment,
    GlobalConfig,
    TargetConfig,
    /// A `watchfloor serve` session of a user whose role is observer.
    Observer,
}

impl fmt::Display for ReadOnlyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "--read-only",
            Self::Environment => "WATCHFLOOR_READ_ONLY",
            Self::GlobalConfig => "read_only = true in the config",
            Self::TargetConfig => "the target's read_only = true",
            Self::Observer => "observer session",
        })
    }
}

/// Read-only inputs that do not depend on the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOnlyInputs {
    pub flag: bool,
    pub environment: bool,
    pub global_config: bool,
    /// A served session whose `[[serve.users]]` role is observer.
    pub observer: bool,
}

impl ReadOnlyInputs {
    /// `WATCHFLOOR_READ_ONLY`: any value but empty, `0`, `false`, `no` or `off` turns read-only on,
    /// so a misspelt value fails safe.
    pub fn env_value_means_on(value: Option<&str>) -> bool {
        value.is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            !(v.is_empty() || v == "0" || v == "false" || v == "no" || v == "off")
        })
    }
}

/// The policy for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnlyPolicy {
    reasons: Vec<ReadOnlyReason>,
}

impl ReadOnlyPolicy {
    pub fn new(inputs: ReadOnlyInputs, target_read_only: bool) -> Self {
        let reasons = [
            (inputs.flag, ReadOnlyReason::Flag),
            (inputs.environment, ReadOnlyReason::Environment),
            (inputs.global_config, ReadOnlyReason::GlobalConfig),
            (target_read_only, ReadOnlyReason::TargetConfig),
            (inputs.observer, ReadOnlyReason::Observer),
        ]
        .into_iter()
        .filter_map(|(on, reason)| on.then_some(reason))
        .collect();
        Self { reasons }
    }

    pub fn is_read_only(&self) -> bool {
        !self.reasons.is_empty()
    }

    pub fn reasons(&self) -> &[ReadOnlyReason] {
        &self.reasons
    }

    /// Refuses a mutation in read-only mode, naming why. Every layer that can cause a mutation
    /// (keymap, planner, executor) calls this.
    pub fn check_mutation_allowed(&self, what: &str) -> Result<(), String> {
        if self.is_read_only() {
            let why: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
            Err(format!(
                "read-only mode ({}): {what} refused",
                why.join(", ")
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_input_turns_it_on() {
        let off = ReadOnlyInputs::default();
        assert!(!ReadOnlyPolicy::new(off, false).is_read_only());
        assert!(ReadOnlyPolicy::new(off, true).is_read_only());
        for inputs in [
            ReadOnlyInputs { flag: true, ..off },
            ReadOnlyInputs {
                environment: true,
                ..off
            },
            ReadOnlyInputs {
                global_config: true,
                ..off
            },
            ReadOnlyInputs {
                observer: true,
                ..off
            },
        ] {
            let policy = ReadOnlyPolicy::new(inputs, false);
            assert!(policy.is_read_only());
            assert!(
                policy
                    .check_mutation_allowed("delete pod")
                    .unwrap_err()
                    .contains("delete pod")
            );
        }
    }

    #[test]
    fn env_values_fail_safe() {
        for on in ["1", "true", "yes", "TRUE", "y", "enabled"] {
            assert!(ReadOnlyInputs::env_value_means_on(Some(on)), "{on}");
        }
        for off in ["", "0", "false", "no", "off"] {
            assert!(!ReadOnlyInputs::env_value_means_on(Some(off)), "{off}");
        }
        assert!(!ReadOnlyInputs::env_value_means_on(None));
    }
}
