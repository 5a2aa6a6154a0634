//! The simulator's clock: the wall clock plus the time tests skipped ahead.
//!
//! Everything the world schedules or stamps (pod steps, grace periods, timestamps, the traffic
//! model, leaked sessions) reads this clock, so a test that calls [`crate::World::advance`] sees
//! a minute of the world happen at once instead of waiting a minute. Clients' times on the wire
//! (a Prometheus query's `time`) are wall-clock; [`SimClock::world_unix`] maps them in.
//! The wire's own timing (watch timeouts, bookmarks, injected latency) stays on the real clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use watchfloor_core::timestamp::rfc3339_utc;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimClock {
    skipped: Duration,
}

impl SimClock {
    /// The monotonic now that schedules are kept in.
    pub fn instant(self) -> Instant {
        Instant::now() + self.skipped
    }

    /// The calendar now that objects are stamped with.
    pub fn wall(self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.skipped
    }

    /// The calendar now in unix seconds.
    pub fn unix(self) -> f64 {
        self.world_unix(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        )
    }

    /// A client's wall-clock time (unix seconds) as the world's time.
    pub fn world_unix(self, wall: f64) -> f64 {
        wall + self.skipped.as_secs_f64()
    }

    /// Now as the apiserver writes `metav1.Time`.
    pub fn rfc3339(self) -> String {
        rfc3339_utc(self.wall())
    }

    /// `ago` before now as the apiserver writes `metav1.Time`.
    pub fn ago_rfc3339(self, ago: Duration) -> String {
        rfc3339_utc(self.wall() - ago)
    }

    /// Moves the clock `by` ahead.
    pub(crate) fn skip(&mut self, by: Duration) {
        self.skipped += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_moves_every_reading_ahead() {
        let mut clock = SimClock::default();
        let before = (clock.instant(), clock.unix());
        clock.skip(Duration::from_secs(600));
        assert!(clock.instant() >= before.0 + Duration::from_secs(600));
        assert!(clock.unix() >= before.1 + 600.0);
        assert!(clock.world_unix(1000.0) == 1600.0);
    }
}
