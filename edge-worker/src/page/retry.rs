//! What is waiting to be retried or was given up, per distribution: the
//! one place the page reads it from the status data, so a richer record
//! (paths retried one by one) plugs in here alone.

use super::view::DistributionView;
use invalidator_core::workflow::Standing;

/// A batch whose requests failed and are being retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrying {
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
    /// Batches being retried.
    pub retrying: Vec<Retrying>,
    /// Paths the last run gave up on.
    pub given_up: Vec<String>,
    /// Why.
    pub reasons: Vec<String>,
}

impl RetryLists {
    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.retrying.is_empty() && self.given_up.is_empty() && self.reasons.is_empty()
    }
}

/// What `d` is retrying and what it gave up on.
pub fn retry_lists(d: &DistributionView) -> RetryLists {
    let retrying = d
        .batches
        .iter()
        .filter(|b| b.attempts > 0 && matches!(b.state, Standing::Queued | Standing::Submitting | Standing::InProgress))
        .map(|b| Retrying { batch: b.sequence, attempts: b.attempts, paths: b.paths.clone(), path_count: b.path_count })
        .collect();
    RetryLists { retrying, given_up: d.not_invalidated.clone(), reasons: d.failures.clone() }
}
