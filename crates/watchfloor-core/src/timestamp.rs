//! RFC 3339 timestamps, one copy for the product and the simulator: the apiserver's `metav1.Time`
//! (seconds, `Z`), Go's `time.RFC3339` in local time (kubectl's `restartedAt`), the kubelet's
//! nanosecond log prefix, and parsing.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Second precision in the time's own offset: `Z` for UTC, else `+hh:mm` (Go's `time.RFC3339`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let offset = t.offset().whole_seconds();
    if offset == 0 {
        return format!("{base}Z");
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    format!("{base}{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
}

/// Second precision in UTC, as the apiserver writes `metav1.Time`.
pub fn rfc3339_utc(t: OffsetDateTime) -> String {
    rfc3339(t.to_offset(UtcOffset::UTC))
}

/// Nanosecond precision in UTC, as the kubelet prefixes log lines (`--timestamps`).
pub fn rfc3339_nano(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// A `SystemTime` in UTC at second precision; `@SECONDS` when outside the calendar's range.
pub fn rfc3339_system(at: SystemTime) -> String {
    let secs = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    OffsetDateTime::from_unix_timestamp(secs)
        .map(rfc3339_utc)
        .unwrap_or_else(|_| format!("@{secs}"))
}

/// Now, in the machine's local offset (UTC when it cannot be determined), as kubectl writes
/// `kubectl.kubernetes.io/restartedAt`.
pub fn now_local_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_local().unwrap_or_else(|_| OffsetDateTime::now_utc()))
}

/// Parses RFC 3339 (any offset, optional fraction).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_go_and_the_apiserver() {
        let t = datetime!(2024-05-01 09:00:07.123456789 +02:00);
        assert_eq!(rfc3339(t), "2024-05-01T09:00:07+02:00");
        assert_eq!(rfc3339_utc(t), "2024-05-01T07:00:07Z");
        assert_eq!(rfc3339_nano(t), "2024-05-01T07:00:07.123456789Z");
        assert_eq!(
            rfc3339(datetime!(2024-05-01 09:00:07 -05:30)),
            "2024-05-01T09:00:07-05:30"
        );
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = datetime!(2024-05-01 07:00:07 UTC);
        assert_eq!(parse_rfc3339(&rfc3339_utc(t)), Some(t));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(rfc3339_system(SystemTime::from(t)), "2024-05-01T07:00:07Z");
    }
}
