//! The one reconnect-with-backoff rule of every source: the delay before the next try doubles
//! with each consecutive failure, from `first` up to `cap`, and a success starts it over.
//! Deterministic (no jitter): a console reconnects to a handful of servers, not a fleet.

use std::time::Duration;

use super::kubernetes::Reporter;

/// Consecutive failures and the delay they earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::STANDARD
    }
}

impl Backoff {
    /// What most sources use: 1 s doubling to 30 s.
    pub const STANDARD: Self = Self::new(Duration::from_secs(1), Duration::from_secs(30));

    /// `first` after one failure, doubling with each further one, never more than `cap`.
    pub const fn new(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            failures: 0,
        }
    }

    /// One more failure: the delay before the next try.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.delay()
    }

    /// A success: the next failure waits `first` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay the failures so far earn (`first` for none or one).
    pub fn delay(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.cap)
    }

    /// One more failure: reports `reason` with the delay before the next try, then waits it
    /// out. `false` when the console is gone.
    pub async fn report_and_wait(&mut self, reporter: &Reporter, reason: String) -> bool {
        let delay = self.failed();
        if !reporter.error(reason, delay).await {
            return false;
        }
        tokio::time::sleep(delay).await;
        true
    }

    /// The delay after `failures` consecutive failures.
    pub fn after(mut self, failures: u32) -> Duration {
        self.failures = failures;
        self.delay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_starts_over_after_a_success() {
        let mut backoff = Backoff::STANDARD;
        let secs: Vec<u64> = (0..8).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff.failures(), 8);
        backoff.succeeded();
        assert_eq!(backoff.delay(), Duration::from_secs(1));
        assert_eq!(backoff.failed(), Duration::from_secs(1));
        let capped = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        assert_eq!(capped.after(1), Duration::from_millis(500));
        assert_eq!(capped.after(3), Duration::from_secs(2));
        assert_eq!(capped.after(u32::MAX), Duration::from_secs(3));
    }
}
