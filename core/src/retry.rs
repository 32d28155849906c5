//! Failure classes and backoff: decided once, here, for every request the
//! workflow makes.
//!
//! A failed request is retried now-ish (5xx, timeouts: exponential backoff with
//! jitter, a bounded number of attempts), later (throttling, too many
//! invalidations in progress, Contentful's 429: no attempt limit, only the
//! batch's deadline), or never (permanent: the batch fails with the reason).
//! Jitter's randomness is an input, never read from the OS.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum Class {
    /// Transient: retry after a short backoff, a bounded number of times.
    RetryNow,
    /// The service is busy: retry after `after_ms` (or a longer backoff), without an attempt limit.
    RetryLater { after_ms: Option<u64> },
    /// Retrying cannot help.
    Permanent,
    /// The service refused what the request carried (an invalid path, a batch
    /// too large): retrying it whole cannot help, but a part of it may pass.
    Refused,
}

/// A request that did not succeed, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(flatten)]
    pub class: Class,
    pub reason: String,
}

impl Failure {
    pub fn retry_now(reason: impl Into<String>) -> Self {
        Failure { class: Class::RetryNow, reason: reason.into() }
    }
    pub fn retry_later(after: Option<Duration>, reason: impl Into<String>) -> Self {
        Failure { class: Class::RetryLater { after_ms: after.map(|d| d.as_millis() as u64) }, reason: reason.into() }
    }
    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure { class: Class::Permanent, reason: reason.into() }
    }
    pub fn refused(reason: impl Into<String>) -> Self {
        Failure { class: Class::Refused, reason: reason.into() }
    }
}

impl From<crate::io::TransportError> for Failure {
    fn from(e: crate::io::TransportError) -> Self {
        Failure::retry_now(e.to_string())
    }
}

/// Full-jitter exponential backoff: a delay in `[d/2, d]` where
/// `d = min(cap, base * 2^(attempt-1))`, placed by `entropy`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, entropy: u64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exp).min(cap).as_millis() as u64;
    let half = full / 2;
    Duration::from_millis(half + if half == 0 { 0 } else { entropy % (full - half + 1) })
}

/// The delay before retrying `failure` for the `attempt`-th time (1-based).
pub fn delay(failure: &Failure, attempt: u32, base: Duration, cap: Duration, entropy: u64) -> Duration {
    match failure.class {
        Class::RetryLater { after_ms: Some(ms) } => Duration::from_millis(ms).max(base),
        // Busy services get the slower schedule: start at 10x the base.
        Class::RetryLater { after_ms: None } => backoff(attempt, base.saturating_mul(10), cap.max(base * 10), entropy),
        _ => backoff(attempt, base, cap, entropy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_stays_in_the_jitter_band() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for attempt in 1..12 {
            let full = (1000u64 << (attempt - 1)).min(60_000);
            for entropy in [0, 1, 12345, u64::MAX] {
                let d = backoff(attempt, base, cap, entropy).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} not in [{}, {full}]", full / 2);
            }
        }
        assert_eq!(backoff(1, base, cap, 0), Duration::from_millis(500));
        assert_ne!(backoff(5, base, cap, 1), backoff(5, base, cap, 2));
    }

    #[test]
    fn a_stated_wait_is_honoured() {
        let f = Failure::retry_later(Some(Duration::from_secs(7)), "429");
        assert_eq!(delay(&f, 3, Duration::from_secs(1), Duration::from_secs(60), 9), Duration::from_secs(7));
        let busy = Failure::retry_later(None, "TooManyInvalidationsInProgress");
        assert!(delay(&busy, 1, Duration::from_secs(1), Duration::from_secs(60), 0) >= Duration::from_secs(5));
    }
}
