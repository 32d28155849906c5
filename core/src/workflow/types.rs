//! The workflow's data: what a Durable Object stores and a Step Functions
//! execution carries. Everything here is serde-serializable and small.

use crate::cloudfront::Invalidation;
use crate::contentful::{LinkTarget, LinksPage};
use crate::retry::Failure;
use crate::time::Timestamp;
use crate::webhook::Change;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Where the workflow is. The seed's Step Functions states map onto it:
/// `Linked-Resource-Cache-Invalidation` runs accepted → resolving →
/// submitting, `Wait-For-1-Min`/`Check-Invalidation-Status` poll in progress,
/// `Check-Invalidation-Completion` moves to the next batch or to completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Nothing has happened yet.
    Idle,
    /// Changes are being collected for the next batch (the collection window).
    Accepted,
    /// Waiting for the Delivery API to serve the change, then walking its links.
    Resolving,
    /// Creating the current batch's invalidation (retrying, if it failed).
    Submitting,
    /// The current batch's invalidation exists; polling until Completed.
    InProgress,
    /// Every batch is Completed.
    Completed,
    /// Every batch ended, at least one of them failed (see `failures`).
    Failed,
}

/// An entry or asset whose change is to be confirmed and walked from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedTarget {
    pub target: LinkTarget,
    /// `Some(r)`: the Delivery API serving revision `r` or later confirms the
    /// change; `None`: no longer serving it does (unpublish, archive, delete).
    pub wants_revision: Option<u64>,
}

/// Changes accepted and not yet walked, folded into what the walk and the
/// plan need: the targets to walk from and the paths of the changed entries.
/// Its size is bounded whatever arrives: targets by `WALK_MAX_ENTRIES` (more
/// would cut the walk short anyway), paths by the plan's budget (collapsed as
/// the plan would collapse them), tracking ids and notes by count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Tracking ids of the changes, the first `TRACKING_KEPT`.
    pub tracking: Vec<String>,
    /// How many changes were folded in, all of them.
    pub count: usize,
    pub targets: Vec<ChangedTarget>,
    /// The changed entries' own paths, rendered from the webhooks' fields.
    pub paths: BTreeSet<String>,
    pub notes: Vec<String>,
    /// Why not every target was kept: the walk is then cut short (`/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<String>,
    /// Some change came from a webhook, so the `always` rule applies.
    pub from_webhook: bool,
    /// Drawn from the body's entropy and the time as each change is taken
    /// in: what makes the plan of these changes a submission of its own.
    /// Fixed from then on, so a body that plans them again (a retried Lambda
    /// task, an alarm that crashed after submitting) sends the same
    /// CallerReference and CloudFront answers with the invalidation it made.
    #[serde(default)]
    pub nonce: u64,
}

/// One outstanding Delivery API request of the resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub target: LinkTarget,
    /// For link pages: where the page starts.
    pub skip: u64,
    pub attempts: u32,
    /// Sent and not yet answered.
    pub sent: bool,
    /// Waiting to be (re)sent at this time.
    pub due: Option<Timestamp>,
}

/// Confirming that the Delivery API serves a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreshnessCheck {
    pub request: Request,
    /// `Some(r)`: served at revision `r` or later confirms it; `None`: no longer served confirms it.
    pub wants_revision: Option<u64>,
    pub confirmed: bool,
}

/// Resolving a set of changes: the freshness gate, then the upward walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub changes: Pending,
    pub started_at: Timestamp,
    pub gate: Vec<FreshnessCheck>,
    pub gate_deadline: Timestamp,
    /// True once the gate has passed (or given up) and the walk has begun.
    pub walking: bool,
    pub depth: u32,
    pub requests: Vec<Request>,
    /// Entries found on this level, to be walked on the next.
    pub next_level: BTreeSet<String>,
    pub visited: BTreeSet<String>,
    /// Links read so far, repeats included; past `LINKS_PER_ENTRY` x
    /// `WALK_MAX_ENTRIES` the walk is cut short.
    #[serde(default)]
    pub links_seen: u64,
    pub paths: BTreeSet<String>,
    pub notes: Vec<String>,
    /// Why the walk stopped early, if it did: the plan then falls back to `/*`.
    pub cut_short: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BatchState {
    Queued,
    Submitting,
    InProgress,
    Completed,
    Failed { reason: String },
}

/// One CreateInvalidation: one distribution, at most `BATCH_MAX_PATHS` paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub sequence: u64,
    pub distribution_id: String,
    /// The paths sent; a finished batch in history keeps only the first few
    /// (`path_count` has them all).
    pub paths: Vec<String>,
    pub path_count: usize,
    pub caller_reference: String,
    /// Tracking ids of the changes this batch serves (the first few) and how many there are.
    pub changes: Vec<String>,
    pub change_count: usize,
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub state: BatchState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Requests that failed and were retried, for this batch.
    pub attempts: u32,
    /// Consecutive failures of the current request kind.
    pub errors: u32,
    pub polls: u32,
    pub queued_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    /// A request for this batch is out and unanswered.
    pub sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// The wait before the next status check.
    pub poll_interval_ms: u64,
}

impl Batch {
    /// A batch waiting its turn. Its CallerReference is derived from the
    /// paths and `nonce`, which makes this submission this submission: a
    /// retried create resends the stored reference and gets the same
    /// invalidation back, while a later submission of the same paths (another
    /// run, a reset store) has another nonce and makes a new invalidation.
    pub fn queued(sequence: u64, distribution_id: &str, paths: Vec<String>, nonce: &str, now: Timestamp) -> Batch {
        Batch {
            sequence,
            caller_reference: crate::cloudfront::caller_reference(distribution_id, &paths, sequence, nonce),
            distribution_id: distribution_id.to_string(),
            path_count: paths.len(),
            paths,
            changes: Vec::new(),
            change_count: 0,
            notes: Vec::new(),
            state: BatchState::Queued,
            invalidation_id: None,
            create_time: None,
            attempts: 0,
            errors: 0,
            polls: 0,
            queued_at: now,
            submitted_at: None,
            finished_at: None,
            deadline: None,
            sent: false,
            due: None,
            poll_interval_ms: 0,
        }
    }
}

/// The whole state of one workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    pub distributions: Vec<String>,
    pub phase: Phase,
    /// Accepted changes waiting for the collection window or the batch in flight.
    pub pending: Pending,
    /// When the collection window closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Planned batches, the first one current once submission starts.
    pub batches: VecDeque<Batch>,
    /// Finished batches, newest last, at most `HISTORY_LIMIT`; each keeps a
    /// sample of its paths.
    pub history: VecDeque<Batch>,
    /// Why this run failed, when it did.
    pub failures: Vec<String>,
    /// Paths this run could not invalidate (failed batches and paths refused
    /// alone), kept whole for the failure's report; bounded like a plan.
    #[serde(default)]
    pub not_invalidated: BTreeSet<String>,
    /// Recent decisions worth an operator's eye (fallbacks, unconfirmed
    /// freshness, changes that map to no path), newest last, bounded.
    pub log: VecDeque<String>,
    /// Tracking ids already accepted (newest last), so a redelivery does nothing.
    pub seen: VecDeque<String>,
    pub next_sequence: u64,
    /// When the workflow next needs a `TimerFired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<Timestamp>,
}

/// Something that happened, fed to [`super::step`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A verified webhook's change.
    ChangeAccepted {
        change: Change,
    },
    /// Paths asked for directly (the operator CLI), with a tracking id.
    PathsRequested {
        tracking_id: String,
        paths: Vec<String>,
    },
    /// The time asked for with [`Command::WakeAt`] has come (or an alarm fired again).
    TimerFired,
    RevisionFetched {
        target: LinkTarget,
        result: Result<Option<u64>, Failure>,
    },
    LinksFetched {
        target: LinkTarget,
        skip: u64,
        result: Result<LinksPage, Failure>,
    },
    InvalidationCreated {
        sequence: u64,
        result: Result<Invalidation, Failure>,
    },
    InvalidationChecked {
        sequence: u64,
        result: Result<Invalidation, Failure>,
    },
}

/// Something the body must do, returned by [`super::step`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    FetchRevision {
        target: LinkTarget,
    },
    FetchLinks {
        target: LinkTarget,
        skip: u64,
    },
    CreateInvalidation {
        sequence: u64,
        distribution_id: String,
        paths: Vec<String>,
        caller_reference: String,
    },
    GetInvalidation {
        sequence: u64,
        distribution_id: String,
        invalidation_id: String,
    },
    /// Deliver `TimerFired` at this time (replaces any earlier wake-up).
    WakeAt {
        at: Timestamp,
    },
    /// A batch ended and another is ready: the seed's `Check-Invalidation-Completion` loop.
    NextBatch,
    /// Nothing left to do until a new change arrives.
    Finished,
}
