//! A clock whose sleeps return at once and move time forward: tests of the
//! driver see every wait the workflow asks for without spending it.

use invalidator_core::driver::Sleep;
use invalidator_core::io::Clock;
use invalidator_core::Timestamp;
use std::cell::Cell;
use std::time::Duration;

pub struct VirtualClock {
    now: Cell<u64>,
    slept: Cell<u64>,
}

impl VirtualClock {
    pub fn at(start: Timestamp) -> Self {
        VirtualClock { now: Cell::new(start.as_millis()), slept: Cell::new(0) }
    }
    /// Total time slept so far.
    pub fn slept(&self) -> Duration {
        Duration::from_millis(self.slept.get())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.now.get())
    }
}

impl Sleep for VirtualClock {
    async fn sleep(&self, duration: Duration) {
        let ms = duration.as_millis() as u64;
        self.now.set(self.now.get() + ms);
        self.slept.set(self.slept.get() + ms);
    }
}
