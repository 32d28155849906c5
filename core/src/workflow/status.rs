//! What status pages and the CLI show of a workflow: one summary per batch,
//! newest first. Holds no secret (the workflow never does).

use super::types::{Batch, BatchState};
use super::Workflow;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Paths listed in a summary; the count is always complete.
const PATHS_SHOWN: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub sequence: u64,
    pub distribution_id: String,
    pub state: Standing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    pub path_count: usize,
    pub paths: Vec<String>,
    pub changes: Vec<String>,
    pub change_count: usize,
    /// Failed requests retried for this batch.
    pub attempts: u32,
    pub polls: u32,
    pub queued_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
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
    Queued,
    Submitting,
    InProgress,
    Completed,
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
    pub tracking_id: String,
    pub state: Standing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&Batch> for BatchSummary {
    fn from(b: &Batch) -> Self {
        BatchSummary {
            sequence: b.sequence,
            distribution_id: b.distribution_id.clone(),
            state: Standing::of(&b.state),
            reason: match &b.state {
                BatchState::Failed { reason } => Some(reason.clone()),
                _ => None,
            },
            invalidation_id: b.invalidation_id.clone(),
            path_count: b.path_count,
            paths: b.paths.iter().take(PATHS_SHOWN).cloned().collect(),
            changes: b.changes.clone(),
            change_count: b.change_count,
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
