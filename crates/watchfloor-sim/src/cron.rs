//! Just enough cron to place a scenario's CronJob history on the simulated clock: the last time
//! a standard five-field expression (or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`)
//! fired before an instant, in UTC.

use time::{Duration, OffsetDateTime, Time};

/// The allowed values of one field, as a bit set (minute 0–59 needs 60 bits).
#[derive(Debug, Clone, Copy)]
struct Field(u64);

impl Field {
    fn has(self, v: u8) -> bool {
        v < 64 && self.0 & (1 << v) != 0
    }
}

fn field(text: &str, lo: u8, hi: u8) -> Option<Field> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u8>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None => {
                    let v: u8 = r.parse().ok()?;
                    (v, if step > 1 { hi } else { v })
                }
            },
        };
        if a < lo || b > hi || a > b {
            return None;
        }
        for v in (a..=b).step_by(usize::from(step)) {
            bits |= 1 << v;
        }
    }
    Some(Field(bits))
}

/// A parsed schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
    /// Both day fields restricted: cron fires when either matches.
    either_day: bool,
}

impl Schedule {
    pub fn parse(expr: &str) -> Option<Schedule> {
        let expr = match expr.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let f: Vec<&str> = expr.split_whitespace().collect();
        let [mi, h, dom, mo, dow] = f.as_slice() else {
            return None;
        };
        // Sunday is 0 or 7.
        let mut dow_f = field(dow, 0, 7)?;
        if dow_f.has(7) {
            dow_f.0 |= 1;
        }
        Some(Schedule {
            minute: field(mi, 0, 59)?,
            hour: field(h, 0, 23)?,
            dom: field(dom, 1, 31)?,
            month: field(mo, 1, 12)?,
            dow: dow_f,
            either_day: *dom != "*" && *dow != "*",
        })
    }

    fn day_matches(&self, d: OffsetDateTime) -> bool {
        if !self.month.has(u8::from(d.month())) {
            return false;
        }
        let dom = self.dom.has(d.day());
        let dow = self.dow.has(d.weekday().number_days_from_sunday());
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The last firing strictly before `t` within the past 400 days.
    pub fn last_before(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = t.to_offset(time::UtcOffset::UTC);
        let midnight = t.replace_time(Time::MIDNIGHT);
        for back in 0..400 {
            let day = midnight - Duration::days(back);
            if !self.day_matches(day) {
                continue;
            }
            for h in (0..24u8).rev().filter(|h| self.hour.has(*h)) {
                for m in (0..60u8).rev().filter(|m| self.minute.has(*m)) {
                    let at = day + Duration::hours(h.into()) + Duration::minutes(m.into());
                    if at < t {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn nightly_fires_at_two() {
        let s = Schedule::parse("0 2 * * *").expect("parses");
        let now = datetime!(2026-12-06 22:20 UTC);
        assert_eq!(s.last_before(now), Some(datetime!(2026-12-06 02:00 UTC)));
        let early = datetime!(2026-12-06 01:00 UTC);
        assert_eq!(s.last_before(early), Some(datetime!(2026-12-05 02:00 UTC)));
    }

    #[test]
    fn steps_lists_and_macros() {
        let now = datetime!(2026-12-06 22:20 UTC);
        let every15 = Schedule::parse("*/15 * * * *").expect("parses");
        assert_eq!(
            every15.last_before(now),
            Some(datetime!(2026-12-06 22:15 UTC))
        );
        let daily = Schedule::parse("@daily").expect("parses");
        assert_eq!(
            daily.last_before(now),
            Some(datetime!(2026-12-06 00:00 UTC))
        );
        // 2026-12-06 is a Sunday.
        let weekdays = Schedule::parse("30 3 * * 1-5").expect("parses");
        assert_eq!(
            weekdays.last_before(now),
            Some(datetime!(2026-12-04 03:30 UTC))
        );
        assert!(Schedule::parse("61 * * * *").is_none());
        assert!(Schedule::parse("* * *").is_none());
    }
}
