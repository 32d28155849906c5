//! What status pages and the CLI show of a workflow: one summary per batch,
//! newest first. Holds no secret (the workflow never does).

use super::label::ChangeLabel;
use super::types::{Batch, BatchState};
use super::Workflow;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Paths listed in a summary; the count is always complete.
const PATHS_SHOWN: usize = 50;
/// Changes of one entry a lookup by entry id lists: its latest.
pub const ENTRY_CHANGES_SHOWN: usize = 10;

/// One batch as status pages and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The batch's number in its workflow.
    pub sequence: u64,
    /// The distribution it invalidates.
    pub distribution_id: String,
    /// Where it stands.
    pub state: Standing,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// CloudFront's id for its invalidation, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    /// How many paths it holds.
    pub path_count: usize,
    /// The items CloudFront bills for it: each path, wildcard and tag is one.
    pub billed_items: usize,
    /// How many of its items are cache tags.
    pub tag_count: usize,
    /// The first of them.
    pub paths: Vec<String>,
    /// Tracking ids of the changes it serves (the first few).
    pub changes: Vec<String>,
    /// How many changes it serves.
    pub change_count: usize,
    /// The first few of its changes as a person names them (entry, content type, when received).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<ChangeLabel>,
    /// Failed requests retried for this batch.
    pub attempts: u32,
    /// GetInvalidation requests made.
    pub polls: u32,
    /// When it was planned.
    pub queued_at: Timestamp,
    /// When its invalidation was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// What is worth an operator's eye.
    pub notes: Vec<String>,
}

/// Where a change or a batch stands, as status pages and the CLI say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Waiting for the collection window or the batch in flight.
    Accepted,
    /// Being walked.
    Resolving,
    /// Known by its tracking id, no longer in any batch kept.
    Seen,
    /// Planned, waiting its turn.
    Queued,
    /// Its invalidation is being created.
    Submitting,
    /// Its invalidation exists; polled until Completed.
    InProgress,
    /// CloudFront reported it Completed; its pages are being requested through `SITE_URL`.
    Verifying,
    /// CloudFront reported it Completed.
    Completed,
    /// It ended without being invalidated (see the reason).
    Failed,
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Standing::Accepted => "accepted",
            Standing::Resolving => "resolving",
            Standing::Seen => "seen",
            Standing::Queued => "queued",
            Standing::Submitting => "submitting",
            Standing::InProgress => "in_progress",
            Standing::Verifying => "verifying",
            Standing::Completed => "completed",
            Standing::Failed => "failed",
        })
    }
}

impl Standing {
    /// How a batch in `state` stands.
    pub fn of(state: &BatchState) -> Standing {
        match state {
            BatchState::Queued => Standing::Queued,
            BatchState::Submitting => Standing::Submitting,
            BatchState::InProgress => Standing::InProgress,
            BatchState::Completed => Standing::Completed,
            BatchState::Failed { .. } => Standing::Failed,
        }
    }
}

/// Where a tracked change stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// The change's tracking id.
    pub tracking_id: String,
    /// Where it stands.
    pub state: Standing,
    /// The batch that serves it, once planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// CloudFront's id for that batch's invalidation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Each step from the webhook to the page a visitor gets, in order.
    #[serde(default)]
    pub receipt: Vec<super::receipt::ReceiptStep>,
    /// The entry it changed, its content type and when it came in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ChangeLabel>,
}

impl Tracked {
    /// How the change `tracking_id`, labelled `label`, stands in batch `b`.
    pub(super) fn in_batch(b: &Batch, tracking_id: &str, label: Option<ChangeLabel>) -> Tracked {
        Tracked {
            tracking_id: tracking_id.to_string(),
            state: Standing::of(&b.state),
            batch: Some(b.sequence),
            invalidation_id: b.invalidation_id.clone(),
            reason: failure_reason(&b.state),
            label,
            receipt: Vec::new(),
        }
    }
}

fn failure_reason(state: &BatchState) -> Option<String> {
    match state {
        BatchState::Failed { reason } => Some(reason.clone()),
        _ => None,
    }
}

impl From<&Batch> for BatchSummary {
    fn from(b: &Batch) -> Self {
        BatchSummary {
            sequence: b.sequence,
            distribution_id: b.distribution_id.clone(),
            state: Standing::of(&b.state),
            reason: failure_reason(&b.state),
            invalidation_id: b.invalidation_id.clone(),
            path_count: b.path_count,
            billed_items: b.path_count,
            tag_count: b.tag_count,
            paths: b.paths.iter().take(PATHS_SHOWN).cloned().collect(),
            changes: b.changes.clone(),
            change_count: b.change_count,
            labels: b.labels.clone(),
            attempts: b.attempts,
            polls: b.polls,
            queued_at: b.queued_at,
            submitted_at: b.submitted_at,
            finished_at: b.finished_at,
            notes: b.notes.clone(),
        }
    }
}

impl Workflow {
    /// Every batch, newest first.
    pub fn summaries(&self) -> Vec<BatchSummary> {
        self.batches().rev().chain(self.history().iter().rev()).map(BatchSummary::from).collect()
    }

    /// One batch by its sequence number.
    pub fn summary(&self, sequence: u64) -> Option<BatchSummary> {
        self.all_batches().find(|b| b.sequence == sequence).map(BatchSummary::from)
    }
}

impl Workflow {
    /// Changes taken in and not planned into a batch yet, labelled, oldest
    /// first: those being walked (resolving), then those waiting (accepted).
    pub fn waiting(&self) -> Vec<Tracked> {
        let walked = self.walk().map(|w| w.changes().labels.as_slice()).unwrap_or_default();
        let resolving = walked.iter().map(|l| (Standing::Resolving, l));
        resolving
            .chain(self.pending.labels.iter().map(|l| (Standing::Accepted, l)))
            .map(|(state, l)| Tracked {
                tracking_id: l.tracking_id.clone(),
                state,
                batch: None,
                invalidation_id: None,
                reason: None,
                label: Some(l.clone()),
                receipt: super::receipt::steps(self.received.of(&l.tracking_id), &[]),
            })
            .collect()
    }
}
