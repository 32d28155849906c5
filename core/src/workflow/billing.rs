//! What CloudFront bills this workflow for, by calendar month (UTC): every
//! path, wildcard and tag of every invalidation created counts one item;
//! the first 1,000 of an account each month are free.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// CloudFront's free invalidation paths per account and month.
pub const FREE_ITEMS_PER_MONTH: u64 = 1000;

/// The items billed in one month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    /// The month, as `yyyymm` (0: nothing billed yet).
    pub month: u32,
    /// Items billed in it.
    pub items: u64,
}

impl Billing {
    /// Counts `items` billed at `now`; a new month starts from zero.
    pub fn add(&mut self, now: Timestamp, items: u64) {
        let month = month_of(now);
        if month != self.month {
            *self = Billing { month, items: 0 };
        }
        self.items += items;
    }

    /// The running total as of `now` (zero once the month has turned).
    pub fn this_month(&self, now: Timestamp) -> Billing {
        let month = month_of(now);
        if month == self.month {
            *self
        } else {
            Billing { month, items: 0 }
        }
    }

    /// `yyyy-mm`, for status pages.
    pub fn month_text(&self) -> String {
        format!("{:04}-{:02}", self.month / 100, self.month % 100)
    }
}

/// The UTC calendar month of `t` as `yyyymm`.
fn month_of(t: Timestamp) -> u32 {
    let (year, month, _) = t.utc_date();
    (year * 100 + i64::from(month)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_add_up_within_a_month_and_start_again_in_the_next() {
        // 2026-11-27T07:00:00Z and 2026-12-01T00:00:00Z.
        let (nov, dec) = (Timestamp::from_secs(1_795_762_800), Timestamp::from_secs(1_796_083_200));
        let mut b = Billing::default();
        b.add(nov, 8);
        b.add(nov, 7);
        assert_eq!((b.month_text(), b.items), ("2026-11".to_string(), 15));
        assert_eq!(b.this_month(dec).items, 0);
        b.add(dec, 1);
        assert_eq!((b.month_text(), b.items), ("2026-12".to_string(), 1));
        assert_eq!(month_of(Timestamp::from_secs(951_782_400)), 200_002, "2000-02-29");
    }
}
