//! What is waiting to be retried or was given up, per distribution: the
//! one place the page reads it from the status data (the core's
//! [`Retries`](invalidator_core::workflow::Retries) and the batches being
//! retried now).

use super::view::DistributionView;
use invalidator_core::workflow::{GivenUp, Retrying, Standing};

/// A batch whose requests failed and are being retried now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryingBatch {
    /// The batch's number.
    pub batch: u64,
    /// Failed requests so far.
    pub attempts: u32,
    /// The first of its paths.
    pub paths: Vec<String>,
    /// How many paths it holds.
    pub path_count: usize,
}

/// The page's "waiting to be retried or given up" section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryLists {
    /// Batches being retried now.
    pub batches: Vec<RetryingBatch>,
    /// Paths of failed batches waiting to be planned again.
    pub waiting: Option<Retrying>,
    /// Paths no retry will invalidate, with the reason.
    pub given_up: Vec<GivenUp>,
    /// Why the last run failed.
    pub reasons: Vec<String>,
}

impl RetryLists {
    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.waiting.is_none() && self.given_up.is_empty() && self.reasons.is_empty()
    }
}

/// What `d` is retrying and what it gave up on.
pub fn retry_lists(d: &DistributionView) -> RetryLists {
    let batches = d
        .batches
        .iter()
        .filter(|b| b.attempts > 0 && matches!(b.state, Standing::Queued | Standing::Submitting | Standing::InProgress))
        .map(|b| RetryingBatch {
            batch: b.sequence,
            attempts: b.attempts,
            paths: b.paths.clone(),
            path_count: b.path_count,
        })
        .collect();
    RetryLists { batches, waiting: d.retrying.clone(), given_up: d.given_up.clone(), reasons: d.failures.clone() }
}
