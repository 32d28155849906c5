//! One request the workflow makes until it is answered: when it goes out
//! next, or that it is out, and how many of its tries failed in a row. The
//! walk's requests and a batch's requests share it.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// When a request goes out, or that it is out and unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// To be sent at this time (or now, when the time has passed).
    Due(Timestamp),
    /// Sent; its answer has not come back yet.
    Sent,
}

/// A request and its failures in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outstanding {
    /// Tries of this request that failed in a row.
    pub failures: u32,
    /// When it goes out, or that it is out.
    pub slot: Slot,
}

impl Outstanding {
    /// A request to send at `at`.
    pub(super) fn due(at: Timestamp) -> Self {
        Outstanding { failures: 0, slot: Slot::Due(at) }
    }

    /// Marks it sent when it is due by `now`; true when it was.
    pub(super) fn send_if_due(&mut self, now: Timestamp) -> bool {
        match self.slot {
            Slot::Due(at) if at <= now => {
                self.slot = Slot::Sent;
                true
            }
            _ => false,
        }
    }

    /// Whether it is out and unanswered.
    pub(super) fn is_sent(&self) -> bool {
        self.slot == Slot::Sent
    }

    /// When it goes out next, unless it is out.
    pub(super) fn due_at(&self) -> Option<Timestamp> {
        match self.slot {
            Slot::Due(at) => Some(at),
            Slot::Sent => None,
        }
    }

    /// It failed: counts the failure and sends again at `at`. Returns the
    /// failures in a row.
    pub(super) fn failed(&mut self, at: Timestamp) -> u32 {
        self.failures += 1;
        self.slot = Slot::Due(at);
        self.failures
    }

    /// The service is busy: sends again at `at`, which is no failure in a row.
    pub(super) fn wait_until(&mut self, at: Timestamp) {
        self.slot = Slot::Due(at);
    }

    /// It succeeded: the next request of this kind goes out at `at`.
    pub(super) fn succeeded(&mut self, at: Timestamp) {
        self.failures = 0;
        self.slot = Slot::Due(at);
    }

    /// A `TimerFired` only comes when nothing is in flight: a request still
    /// marked sent was lost (the body restarted mid-request) and goes again.
    pub(super) fn recover(&mut self, now: Timestamp) {
        if self.is_sent() {
            self.slot = Slot::Due(now);
        }
    }
}
