//! The one state machine of the workflow, shared by both bodies:
//! `step(state, event, now) -> (state, commands)`.
//!
//! accepted → resolving (freshness gate, upward walk) → submitting → in
//! progress (adaptive polling) → completed; a batch that cannot be invalidated
//! ends failed with the reason and its paths kept. A workflow holds a list of
//! batches (one per distribution, more when a set is larger than a batch),
//! submitted one after another, each followed to completion. Changes that
//! arrive while a batch is in flight wait and join the next batch.
//!
//! Retries, backoff, the poll schedule and every limit are decided here; the
//! bodies only run the [`Command`]s and feed back [`Event`]s.

mod machine;
mod pending;
mod plan;
mod resolve;
mod status;
mod types;

pub use status::{state_name, BatchSummary};
pub use types::{
    Batch, BatchState, ChangedTarget, Command, Event, FreshnessCheck, Pending, Phase, Request, Resolution, Workflow,
};

use crate::settings::Policy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Advances `workflow` by one event. Pure: the same inputs give the same
/// outputs. `entropy` is the randomness for backoff jitter.
pub fn step(
    workflow: &Workflow,
    policy: &Policy,
    event: Event,
    now: Timestamp,
    entropy: u64,
) -> (Workflow, Vec<Command>) {
    let mut next = workflow.clone();
    let commands = step_in_place(&mut next, policy, event, now, entropy);
    (next, commands)
}

/// [`step`] without the copy: the same transition, applied to `workflow`
/// where it stands. The driver uses it so a large walk costs no clones.
pub fn step_in_place(
    workflow: &mut Workflow,
    policy: &Policy,
    event: Event,
    now: Timestamp,
    entropy: u64,
) -> Vec<Command> {
    let taken = std::mem::replace(workflow, Workflow::new(Vec::new()));
    let (next, commands) = machine::Machine::new(taken, policy, now, entropy).run(event);
    *workflow = next;
    commands
}

/// Every change of [`Phase`] the workflow can make, in the order it can make
/// them (a single [`step`] may pass through several). Debug builds assert each
/// move against it; README.md's state diagram is tested against it.
pub const TRANSITIONS: &[(Phase, Phase)] = &[
    (Phase::Idle, Phase::Accepted),
    (Phase::Completed, Phase::Accepted),
    (Phase::Failed, Phase::Accepted),
    (Phase::Accepted, Phase::Resolving),
    (Phase::Resolving, Phase::Accepted),
    (Phase::Resolving, Phase::Submitting),
    (Phase::Resolving, Phase::Completed),
    (Phase::Resolving, Phase::Failed),
    (Phase::Submitting, Phase::InProgress),
    (Phase::Submitting, Phase::Completed),
    (Phase::Submitting, Phase::Failed),
    (Phase::Submitting, Phase::Resolving),
    (Phase::InProgress, Phase::Submitting),
    (Phase::InProgress, Phase::Completed),
    (Phase::InProgress, Phase::Failed),
    (Phase::InProgress, Phase::Resolving),
];

/// What the seed's Choice states need to know after a task: wait, go on with
/// the next batch, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Wait,
    NextBatch,
    Done,
    Failed,
}

impl Route {
    /// The name the ASL's Choice states compare against.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Wait => "wait",
            Route::NextBatch => "next_batch",
            Route::Done => "done",
            Route::Failed => "failed",
        }
    }
}

/// Where a tracked change stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub tracking_id: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Workflow {
    /// A workflow that invalidates every path on each of `distributions`.
    pub fn new(distributions: Vec<String>) -> Self {
        Workflow {
            distributions,
            phase: Phase::Idle,
            pending: Pending::default(),
            collect_until: None,
            resolution: None,
            batches: VecDeque::new(),
            history: VecDeque::new(),
            failures: Vec::new(),
            not_invalidated: BTreeSet::new(),
            log: VecDeque::new(),
            seen: VecDeque::new(),
            next_sequence: 1,
            wake_at: None,
        }
    }

    /// The route the Step Functions Choice states take once the driver has stopped.
    pub fn route(&self) -> Route {
        match self.phase {
            Phase::Idle | Phase::Completed => Route::Done,
            Phase::Failed => Route::Failed,
            Phase::Submitting if self.batches.front().is_some_and(|b| b.state == BatchState::Queued) => {
                Route::NextBatch
            }
            _ => Route::Wait,
        }
    }

    /// True when nothing is left to do until a new change arrives.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Idle | Phase::Completed | Phase::Failed)
    }

    /// Paths not (yet) invalidated: queued and current batches, what this
    /// run could not invalidate, and the waiting changes' own paths. What a
    /// failed run hands back.
    pub fn outstanding_paths(&self) -> Vec<String> {
        let mut out: BTreeSet<&String> = BTreeSet::new();
        out.extend(self.batches.iter().flat_map(|b| &b.paths));
        out.extend(&self.not_invalidated);
        out.extend(&self.pending.paths);
        out.into_iter().cloned().collect()
    }

    /// Drops a walk in progress, what it visited and found, and takes its
    /// changes back as waiting, due at once: the next `TimerFired` walks
    /// again. For a body that must carry the workflow somewhere small (a Step
    /// Functions state) while the walk waits; the walk is a pure read, so
    /// doing it again changes nothing but the requests it costs.
    pub fn restart_walk(&mut self) {
        let Some(r) = self.resolution.take() else {
            return;
        };
        let waiting = std::mem::replace(&mut self.pending, r.changes);
        self.pending.absorb(waiting);
        debug_assert!(TRANSITIONS.contains(&(self.phase, Phase::Accepted)), "{:?} -> Accepted", self.phase);
        self.phase = Phase::Accepted;
        self.collect_until = None;
    }

    /// Every batch known, oldest first: history, then current and queued.
    pub fn all_batches(&self) -> impl Iterator<Item = &Batch> {
        self.history.iter().chain(self.batches.iter())
    }

    /// Where the change with `tracking_id` stands, if this workflow knows it.
    pub fn track(&self, tracking_id: &str) -> Option<Tracked> {
        let simple = |state: &str| Tracked {
            tracking_id: tracking_id.to_string(),
            state: state.to_string(),
            batch: None,
            invalidation_id: None,
            reason: None,
        };
        if self.pending.holds(tracking_id) {
            return Some(simple("accepted"));
        }
        if self.resolution.as_ref().is_some_and(|r| r.changes.holds(tracking_id)) {
            return Some(simple("resolving"));
        }
        let batch = self
            .batches
            .iter()
            .rev()
            .chain(self.history.iter().rev())
            .find(|b| b.changes.iter().any(|t| t == tracking_id));
        if let Some(b) = batch {
            let reason = match &b.state {
                BatchState::Failed { reason } => Some(reason.clone()),
                _ => None,
            };
            let state = state_name(&b.state);
            return Some(Tracked {
                tracking_id: tracking_id.to_string(),
                state: state.to_string(),
                batch: Some(b.sequence),
                invalidation_id: b.invalidation_id.clone(),
                reason,
            });
        }
        self.seen.iter().any(|t| t == tracking_id).then(|| simple("seen"))
    }
}

#[cfg(test)]
mod no_loss_tests;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
