//! Time as the core sees it: milliseconds since the Unix epoch, always passed in.
//!
//! The core never reads a clock (`SystemTime::now()` panics on wasm32); bodies
//! implement [`crate::io::Clock`] and hand the value to every call that needs it.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS_PER_DAY: u64 = 86_400_000;

const MS_PER_SECOND: u64 = 1000;
const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 3600;

/// A duration as people read it, the same on the status page and in the CLI:
/// `850 ms`, `4.2 s`, `3 min 05 s`, `2 h 05 min`.
pub fn duration_text(ms: u64) -> String {
    let secs = ms / MS_PER_SECOND;
    if ms < MS_PER_SECOND {
        format!("{ms} ms")
    } else if secs < SECONDS_PER_MINUTE {
        // Tenths by integer division: float formatting would add its code to the Worker's bundle.
        let tenths = ms / (MS_PER_SECOND / 10);
        format!("{}.{} s", tenths / 10, tenths % 10)
    } else if secs < SECONDS_PER_HOUR {
        format!("{} min {:02} s", secs / SECONDS_PER_MINUTE, secs % SECONDS_PER_MINUTE)
    } else {
        format!("{} h {:02} min", secs / SECONDS_PER_HOUR, secs % SECONDS_PER_HOUR / SECONDS_PER_MINUTE)
    }
}

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The time `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }
    /// The time `s` seconds after the Unix epoch.
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s * 1000)
    }
    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// This instant plus `d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d.as_millis().min(u64::MAX as u128) as u64))
    }
    /// How long from `self` until `later` (zero when `later` is not later).
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }
    /// The UTC calendar date of this instant: (year, month 1-12, day 1-31).
    pub fn utc_date(self) -> (i64, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let days = (self.0 / MS_PER_DAY) as i64 + 719_468;
        let era = days.div_euclid(146_097);
        let doe = days - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe + era * 400 + i64::from(month <= 2), month, day)
    }

    /// This instant as people read it: `2026-12-04 18:45:03 UTC`.
    pub fn utc_text(self) -> String {
        let (year, month, day) = self.utc_date();
        let secs = (self.0 % MS_PER_DAY) / 1000;
        format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// The same instant as a `SystemTime`, built without reading any clock.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }
}

#[cfg(test)]
mod utc_tests {
    use super::Timestamp;

    #[test]
    fn instants_read_as_utc_dates_and_times() {
        assert_eq!(Timestamp(0).utc_text(), "1970-01-01 00:00:00 UTC");
        // 2026-12-04T18:45:03.250Z, and the last second of a leap day.
        assert_eq!(Timestamp(1_796_409_903_250).utc_text(), "2026-12-04 18:45:03 UTC");
        assert_eq!(Timestamp::from_secs(951_868_799).utc_text(), "2000-02-29 23:59:59 UTC");
    }
}
