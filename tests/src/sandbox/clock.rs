//! The one clock the CloudFront, Delivery API, origin and CDN stand-ins read,
//! so that an invalidation's completion, a publish's lag and a cached page's
//! age are measured on the same time line. Real time by default; a test of
//! the stand-ins themselves freezes it and moves it forward by hand
//! ([`SandboxClock::advance`]), so that it asserts exact ages without waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A cheap handle (clones share the time line).
#[derive(Debug, Clone)]
pub struct SandboxClock {
    /// `None`: the system's time; `Some(ms)`: frozen at this Unix time in milliseconds.
    frozen_at: Option<u64>,
    /// Added to either, by [`SandboxClock::advance`].
    offset_ms: Arc<AtomicU64>,
}

impl Default for SandboxClock {
    fn default() -> Self {
        SandboxClock::real()
    }
}

impl SandboxClock {
    /// The system's time (what the bodies under test also read).
    pub fn real() -> SandboxClock {
        SandboxClock { frozen_at: None, offset_ms: Arc::new(AtomicU64::new(0)) }
    }

    /// Time that stands still at the system's time now until [`SandboxClock::advance`] moves it.
    pub fn frozen() -> SandboxClock {
        SandboxClock { frozen_at: Some(super::now_millis()), offset_ms: Arc::new(AtomicU64::new(0)) }
    }

    /// Unix time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.frozen_at.unwrap_or_else(super::now_millis) + self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves time forward by `by` for every stand-in at once.
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}
