//! How times, durations and counts read on the status page.

use invalidator_core::time::Timestamp;

pub use invalidator_core::time::duration_text as duration;

/// The time of day (`18:45:03`), for a page that says its date once.
pub fn clock(t: Timestamp) -> String {
    let text = t.utc_text();
    text.get(11..19).unwrap_or(&text).to_string()
}

/// How long ago `t` was, as of `now`: `12 s ago`.
pub fn ago(t: Timestamp, now: Timestamp) -> String {
    format!("{} ago", duration(t.until(now).as_millis() as u64))
}

/// `1 item`, `4 items`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_suits_them() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4_240), "4.2 s");
        assert_eq!(duration(59_999), "59.9 s");
        assert_eq!(duration(185_000), "3 min 05 s");
        assert_eq!(duration(7_500_000), "2 h 05 min");
    }

    #[test]
    fn times_and_counts_read_as_people_write_them() {
        assert_eq!(clock(Timestamp(1_796_409_903_250)), "18:45:03");
        assert_eq!(ago(Timestamp(1_000), Timestamp(13_000)), "12.0 s ago");
        assert_eq!((count(7), count(1000), count(1234567)), ("7".into(), "1,000".into(), "1,234,567".into()));
        assert_eq!((counted(1, "tag", "tags"), counted(4, "item", "items")), ("1 tag".into(), "4 items".into()));
    }
}
