//! What one distribution's part of the status page is rendered from, built
//! by its Durable Object straight from the stored workflow (no JSON in
//! between, so the bundle carries no parser for it), and the entry searched for.

use invalidator_core::sweep::SweepReport;
use invalidator_core::time::Timestamp;
use invalidator_core::workflow::billing::FREE_ITEMS_PER_MONTH;
use invalidator_core::workflow::{
    BatchSummary, ChangeReport, GivenUp, Phase, Retrying, Standing, Workflow, RECENT_CHANGES_SHOWN,
};

/// One distribution's status.
#[derive(Debug, Clone, Default)]
pub struct DistributionView {
    /// Where its workflow is; `None` before the first change.
    pub phase: Option<Phase>,
    /// Changes stored and not yet planned.
    pub waiting_changes: usize,
    /// Why the last run failed, when it did.
    pub failures: Vec<String>,
    /// Paths of failed batches waiting to be planned again.
    pub retrying: Option<Retrying>,
    /// Paths no retry will invalidate.
    pub given_up: Vec<GivenUp>,
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
#[derive(Debug, Clone, Default)]
pub struct Billed {
    /// `yyyy-mm`, UTC.
    pub month: String,
    /// Items billed so far.
    pub items: u64,
    /// CloudFront's free paths a month.
    pub free_per_month: u64,
}

/// The entry searched for (`?entry=`).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The id as given.
    pub entry_id: String,
    /// Why it cannot be an entry id, when it cannot.
    pub refused: Option<&'static str>,
}

impl DistributionView {
    /// The view of `workflow` (none before the first change), with `inbox`
    /// changes stored and not taken in yet, and the `last_sweep`.
    pub fn of(workflow: Option<&Workflow>, inbox: usize, last_sweep: Option<SweepReport>, now: Timestamp) -> Self {
        let Some(w) = workflow else {
            return DistributionView { waiting_changes: inbox, last_sweep, ..DistributionView::default() };
        };
        let billed = w.billed_this_month(now);
        DistributionView {
            phase: Some(w.phase()),
            waiting_changes: inbox + w.pending().count,
            failures: w.failures().to_vec(),
            retrying: w.retries().retrying(),
            given_up: w.retries().given_up().to_vec(),
            batches: w.summaries(),
            changes: w.recent_changes(RECENT_CHANGES_SHOWN),
            billed_this_month: Some(Billed {
                month: billed.month_text(),
                items: billed.items,
                free_per_month: FREE_ITEMS_PER_MONTH,
            }),
            last_sweep,
        }
    }

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
