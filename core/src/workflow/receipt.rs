//! The receipt of a change: each step from the webhook to the page a visitor
//! gets (received, Delivery API fresh, submitted, Completed, then verified,
//! re-invalidated or not verified), with its time. A batch carries the
//! steps of its changes from the Delivery API on (a re-invalidation's batch
//! carries them on from the batch it repeats); when each change was
//! received is kept beside the tracking ids. The status page, the CLI and
//! the notifications read this one receipt. Bounded: a few marks, short
//! details.

use super::pending::shorten;
use super::types::{Batch, BatchState};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Marks one receipt keeps: the first steps, then a few per verification
/// round, and `VERIFY_RETRIES` is at most `settings::MAX_VERIFY_RETRIES`.
const MARKS_KEPT: usize = 32;
/// When changes were received, kept for the newest this many.
const RECEIVED_KEPT: usize = 128;

/// A step of a change's way to the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// The webhook (or the request) was accepted.
    Received,
    /// The Delivery API served the change (or the gate gave up: see the detail).
    Fresh,
    /// CloudFront made the invalidation.
    Submitted,
    /// CloudFront said Completed.
    Completed,
    /// Every page checked through `SITE_URL` was fresh.
    Verified,
    /// Some page was stale: its paths were invalidated again.
    Reinvalidated,
    /// Some page could not be verified: the detail says what was seen.
    NotVerified,
}

/// One step with its time, as a batch keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Which step.
    pub step: StepName,
    /// When.
    pub at: Timestamp,
    /// What is worth saying about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The steps a batch's changes went through, oldest first, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Receipt(Vec<Mark>);

impl Receipt {
    /// Adds a step; past the bound the step before the last gives way, so
    /// the first steps and the newest stay.
    pub fn mark(&mut self, step: StepName, at: Timestamp, detail: Option<String>) {
        if self.0.len() >= MARKS_KEPT {
            self.0.remove(MARKS_KEPT - 2);
        }
        self.0.push(Mark { step, at, detail: detail.map(shorten) });
    }

    /// The marks, oldest first.
    pub fn marks(&self) -> &[Mark] {
        &self.0
    }

    /// Whether nothing is marked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The newest mark.
    pub fn last(&self) -> Option<&Mark> {
        self.0.last()
    }

    /// Roughly what it takes when stored.
    pub fn bytes(&self) -> usize {
        self.0.iter().map(|m| 40 + m.detail.as_ref().map_or(0, String::len)).sum()
    }
}

/// Marks an ended batch's own steps: submitted and, when it completed, Completed.
pub(super) fn seal(batch: &mut Batch) {
    if let Some(at) = batch.submitted_at {
        batch.receipt.mark(StepName::Submitted, at, None);
    }
    if let (BatchState::Completed, Some(at)) = (&batch.state, batch.finished_at) {
        batch.receipt.mark(StepName::Completed, at, None);
    }
}

/// A batch's marks as its changes' receipt shows them: a batch not ended
/// yet shows its submission from its own fields, as does one stored before
/// receipts were kept.
pub fn marks_of(batch: &Batch) -> Vec<Mark> {
    let mut marks = batch.receipt.0.clone();
    let ended = matches!(batch.state, BatchState::Completed | BatchState::Failed { .. });
    let sealed = ended && marks.iter().any(|m| m.step == StepName::Submitted);
    if !sealed {
        let mut own = Batch { receipt: Receipt::default(), ..batch.clone() };
        if !ended {
            own.state = BatchState::Queued;
        }
        seal(&mut own);
        marks.extend(own.receipt.0);
    }
    marks
}

/// One step as status pages and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptStep {
    /// Which step.
    pub step: StepName,
    /// When.
    pub at: Timestamp,
    /// Milliseconds since the step before (0 for the first).
    pub since_previous_ms: u64,
    /// What is worth saying about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The steps of one change: when it was received, then `marks`.
pub fn steps(received: Option<Timestamp>, marks: &[Mark]) -> Vec<ReceiptStep> {
    let first = received.map(|at| Mark { step: StepName::Received, at, detail: None });
    let mut previous: Option<Timestamp> = None;
    first
        .iter()
        .chain(marks)
        .map(|m| {
            let since = previous.map_or(0, |p| p.until(m.at).as_millis() as u64);
            previous = Some(m.at);
            ReceiptStep { step: m.step, at: m.at, since_previous_ms: since, detail: m.detail.clone() }
        })
        .collect()
}

/// When each recent change was received, by tracking id, newest last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Received(VecDeque<(String, Timestamp)>);

impl Received {
    /// `tracking_id` was received `at`.
    pub fn add(&mut self, tracking_id: &str, at: Timestamp) {
        self.0.push_back((tracking_id.to_string(), at));
        while self.0.len() > RECEIVED_KEPT {
            self.0.pop_front();
        }
    }

    /// When `tracking_id` was received, if it is among the newest kept.
    pub fn of(&self, tracking_id: &str) -> Option<Timestamp> {
        self.0.iter().rev().find(|(t, _)| t == tracking_id).map(|(_, at)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_says_how_long_since_the_one_before() {
        let mut r = Receipt::default();
        r.mark(StepName::Fresh, Timestamp(1_500), None);
        r.mark(StepName::Submitted, Timestamp(1_700), None);
        r.mark(StepName::Verified, Timestamp(5_000), Some("1 page fresh".into()));
        let steps = steps(Some(Timestamp(1_000)), r.marks());
        let got: Vec<_> = steps.iter().map(|s| (s.step, s.since_previous_ms)).collect();
        assert_eq!(
            got,
            [(StepName::Received, 0), (StepName::Fresh, 500), (StepName::Submitted, 200), (StepName::Verified, 3_300)]
        );
        let json = serde_json::to_value(&steps[3]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"step": "verified", "at": 5000, "since_previous_ms": 3300, "detail": "1 page fresh"})
        );
    }

    #[test]
    fn a_receipt_stays_bounded_and_keeps_its_first_and_newest_steps() {
        let mut r = Receipt::default();
        r.mark(StepName::Fresh, Timestamp(0), None);
        for i in 1..100 {
            r.mark(StepName::Reinvalidated, Timestamp(i), Some("x".repeat(10_000)));
        }
        r.mark(StepName::NotVerified, Timestamp(100), None);
        assert_eq!(r.marks().len(), MARKS_KEPT);
        assert_eq!(r.marks()[0].step, StepName::Fresh);
        assert_eq!(r.last().unwrap().step, StepName::NotVerified);
        assert!(r.bytes() < 32 << 10, "{}", r.bytes());
        let mut received = Received::default();
        for i in 0..1000 {
            received.add(&format!("t{i}"), Timestamp(i));
        }
        assert_eq!(received.of("t999"), Some(Timestamp(999)));
        assert_eq!(received.of("t0"), None);
    }
}
