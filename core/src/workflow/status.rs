//! What status pages and the CLI show of a workflow: one summary per batch,
//! newest first. Holds no secret (the workflow never does).

use super::types::{Batch, BatchState, Workflow};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Paths listed in a summary; the count is always complete.
const PATHS_SHOWN: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub sequence: u64,
    pub distribution_id: String,
    pub state: String,
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

pub fn state_name(state: &BatchState) -> &'static str {
    match state {
        BatchState::Queued => "queued",
        BatchState::Submitting => "submitting",
        BatchState::InProgress => "in_progress",
        BatchState::Completed => "completed",
        BatchState::Failed { .. } => "failed",
    }
}

impl From<&Batch> for BatchSummary {
    fn from(b: &Batch) -> Self {
        BatchSummary {
            sequence: b.sequence,
            distribution_id: b.distribution_id.clone(),
            state: state_name(&b.state).to_string(),
            reason: match &b.state {
                BatchState::Failed { reason } => Some(reason.clone()),
                _ => None,
            },
            invalidation_id: b.invalidation_id.clone(),
            path_count: b.paths.len(),
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
        self.batches.iter().rev().chain(self.history.iter().rev()).map(BatchSummary::from).collect()
    }

    /// One batch by its sequence number.
    pub fn summary(&self, sequence: u64) -> Option<BatchSummary> {
        self.all_batches().find(|b| b.sequence == sequence).map(BatchSummary::from)
    }
}
