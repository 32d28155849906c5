//! A change's timeline as a person follows it: each step it has passed,
//! when, and how long it took since the step before. Status pages and the
//! CLI show this list and work out no step themselves.
//!
//! Built today from what the workflow keeps: the change's label (received),
//! its batch's times (planned once the Delivery API served the change and
//! the walk found its paths, submitted, completed or failed). A per-change
//! receipt, when the workflow keeps one, replaces these sources here only.

use super::label::ChangeLabel;
use super::status::{BatchSummary, Standing};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A step a change passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// The webhook (or the sweep) brought it and it was taken in.
    Received,
    /// The Delivery API served it (or the wait for it ended) and its paths
    /// were found and planned into a batch.
    Planned,
    /// CloudFront accepted the invalidation.
    Submitted,
    /// CloudFront reported the invalidation Completed.
    Completed,
    /// It ended without being invalidated.
    Failed,
}

impl Milestone {
    /// What a person reads for it.
    pub fn title(self) -> &'static str {
        match self {
            Milestone::Received => "received",
            Milestone::Planned => "paths planned",
            Milestone::Submitted => "submitted to CloudFront",
            Milestone::Completed => "completed",
            Milestone::Failed => "failed",
        }
    }
}

/// One step of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineStep {
    /// Which step.
    pub step: Milestone,
    /// When it happened.
    pub at: Timestamp,
    /// Milliseconds since the step before (0 for the first).
    pub since_previous_ms: u64,
    /// What is worth saying beside it (a failure's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The steps a change has passed, in order: from its label (when it came)
/// and the batch that serves it, each present only once it happened.
pub fn timeline(label: Option<&ChangeLabel>, batch: Option<&BatchSummary>) -> Vec<TimelineStep> {
    let mut steps: Vec<(Milestone, Timestamp, Option<String>)> = Vec::new();
    if let Some(l) = label {
        steps.push((Milestone::Received, l.received_at, None));
    }
    if let Some(b) = batch {
        steps.push((Milestone::Planned, b.queued_at, None));
        if let Some(at) = b.submitted_at {
            steps.push((Milestone::Submitted, at, None));
        }
        match (b.state, b.finished_at) {
            (Standing::Completed, Some(at)) => steps.push((Milestone::Completed, at, None)),
            (Standing::Failed, Some(at)) => steps.push((Milestone::Failed, at, b.reason.clone())),
            _ => {}
        }
    }
    let mut previous = None;
    steps
        .into_iter()
        .map(|(step, at, detail)| {
            let since_previous_ms = previous.map_or(0, |p: Timestamp| p.until(at).as_millis() as u64);
            previous = Some(at);
            TimelineStep { step, at, since_previous_ms, detail }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{Action, EntityKind};

    fn label(at: u64) -> ChangeLabel {
        ChangeLabel {
            tracking_id: "t1".into(),
            kind: EntityKind::Entry,
            entry_id: "hero".into(),
            content_type: Some("page".into()),
            action: Action::Publish,
            received_at: Timestamp(at),
        }
    }

    fn batch(state: Standing, submitted: Option<u64>, finished: Option<u64>) -> BatchSummary {
        BatchSummary {
            sequence: 1,
            distribution_id: "E1".into(),
            state,
            reason: (state == Standing::Failed).then(|| "AccessDenied".to_string()),
            invalidation_id: None,
            path_count: 1,
            billed_items: 1,
            tag_count: 0,
            paths: vec!["/".into()],
            changes: vec!["t1".into()],
            change_count: 1,
            labels: vec![label(1_000)],
            attempts: 0,
            polls: 0,
            queued_at: Timestamp(1_600),
            submitted_at: submitted.map(Timestamp),
            finished_at: finished.map(Timestamp),
            notes: Vec::new(),
        }
    }

    fn names(steps: &[TimelineStep]) -> Vec<Milestone> {
        steps.iter().map(|s| s.step).collect()
    }

    #[test]
    fn a_completed_change_passes_every_step_in_order_with_each_duration() {
        let b = batch(Standing::Completed, Some(2_000), Some(9_500));
        let steps = timeline(b.labels.first(), Some(&b));
        use Milestone::*;
        assert_eq!(names(&steps), [Received, Planned, Submitted, Completed]);
        let took: Vec<u64> = steps.iter().map(|s| s.since_previous_ms).collect();
        assert_eq!(took, [0, 600, 400, 7_500]);
    }

    #[test]
    fn only_the_steps_that_happened_are_shown() {
        use Milestone::*;
        assert_eq!(names(&timeline(Some(&label(5)), None)), [Received]);
        let in_progress = batch(Standing::InProgress, Some(2_000), None);
        assert_eq!(names(&timeline(None, Some(&in_progress))), [Planned, Submitted]);
        let failed = batch(Standing::Failed, None, Some(3_000));
        let steps = timeline(Some(&label(1_000)), Some(&failed));
        assert_eq!(names(&steps), [Received, Planned, Failed]);
        assert_eq!(steps[2].detail.as_deref(), Some("AccessDenied"), "a failure says why");
    }
}
