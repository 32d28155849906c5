//! Time and randomness inside a Worker: `Date.now()` and `Math.random()`.

use invalidator_core::io::Clock;
use invalidator_core::Timestamp;

#[derive(Clone, Copy, Default)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(worker::Date::now().as_millis())
    }
}

/// Randomness for the core (backoff jitter, a change's nonce).
pub fn entropy() -> u64 {
    (worker::js_sys::Math::random() * u64::MAX as f64) as u64 ^ worker::Date::now().as_millis()
}
