//! What the status page is rendered from: each distribution's status as its
//! Durable Object answers `GET /invalidations` (read leniently: a field it
//! does not send is empty), and the entry searched for.

use invalidator_core::sweep::SweepReport;
use invalidator_core::time::Timestamp;
use invalidator_core::workflow::{BatchSummary, ChangeReport, Phase, Standing};
use serde::Deserialize;

/// The whole page.
#[derive(Debug, Clone)]
pub struct Page {
    /// When it was rendered.
    pub now: Timestamp,
    /// Each distribution's status, in the order of `CLOUDFRONT_DISTRIBUTION_ID`.
    pub distributions: Vec<(String, DistributionView)>,
    /// The entry searched for (`?entry=`) and its changes on every distribution.
    pub search: Option<Search>,
}

/// A search by entry id.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The id as given.
    pub entry_id: String,
    /// Why it cannot be an entry id, when it cannot.
    pub refused: Option<&'static str>,
    /// Its latest changes, newest first.
    pub found: Vec<ChangeReport>,
}

/// One distribution's status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DistributionView {
    /// Where its workflow is; `None` before the first change.
    pub phase: Option<Phase>,
    /// Changes stored and not yet planned.
    pub waiting_changes: usize,
    /// Why the last run failed, when it did.
    pub failures: Option<Vec<String>>,
    /// Paths the last run could not invalidate.
    pub not_invalidated: Option<Vec<String>>,
    /// Every batch kept, newest first.
    pub batches: Vec<BatchSummary>,
    /// The latest changes, newest first.
    pub changes: Vec<ChangeReport>,
    /// The month's billed items.
    pub billed_this_month: Option<Billed>,
    /// The last catch-up sweep.
    pub last_sweep: Option<SweepReport>,
}

/// The month's billed items against CloudFront's free allowance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Billed {
    /// `yyyy-mm`, UTC.
    pub month: String,
    /// Items billed so far.
    pub items: u64,
    /// CloudFront's free paths a month.
    pub free_per_month: u64,
    /// Items past the free ones.
    pub beyond_free: u64,
}

impl DistributionView {
    /// Whether something is being done now, so that the page refreshes.
    pub fn busy(&self) -> bool {
        let idle = matches!(self.phase, None | Some(Phase::Idle | Phase::Completed | Phase::Failed));
        !idle || self.waiting_changes > 0
    }

    /// Changes not finished yet, oldest first.
    pub fn in_flight(&self) -> Vec<&ChangeReport> {
        self.changes.iter().rev().filter(|c| !finished(c.change.state)).collect()
    }

    /// The newest change that finished.
    pub fn latest_finished(&self) -> Option<&ChangeReport> {
        self.changes.iter().find(|c| finished(c.change.state))
    }
}

/// Whether a change in `state` has ended (or is no longer followed).
pub fn finished(state: Standing) -> bool {
    matches!(state, Standing::Completed | Standing::Failed | Standing::Seen)
}
