//! The workflow's data: what a Durable Object stores and a Step Functions
//! execution carries. Everything here is serde-serializable and small.

use super::label::ChangeLabel;
use super::outstanding::Outstanding;
use super::receipt::Receipt;
use crate::cloudfront::Invalidation;
use crate::contentful::{LinkTarget, LinksPage};
use crate::retry::Failure;
use crate::time::Timestamp;
use crate::webhook::Change;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where the workflow is, as status pages, logs and the README's diagram
/// name it. Derived from the workflow's stage, which owns the data of each.
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
    /// A Completed batch's pages are requested through `SITE_URL`.
    Verifying,
    /// Every batch is Completed.
    Completed,
    /// Every batch ended, at least one of them failed (see `failures`).
    Failed,
}

/// An entry or asset whose change is to be confirmed and walked from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedTarget {
    /// The entry or asset.
    pub target: LinkTarget,
    /// `Some(r)`: the Delivery API serving revision `r` or later confirms the
    /// change; `None`: no longer serving it does (unpublish, archive, delete).
    pub wants_revision: Option<u64>,
    /// `sys.revision` of the change, when it said: of two changes of one
    /// target, the one at the higher revision stands, whatever arrived last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The path memory is still to be told this change's revision: its
    /// recall did not fit in one set of changes, and its old record must
    /// not be trusted. Told (as items not known) once there is room.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untold: bool,
}

impl ChangedTarget {
    /// Where this change stands in its target's history.
    pub fn stamp(&self) -> crate::revision::Stamp {
        crate::revision::Stamp { revision: self.revision, removed: self.wants_revision.is_none() }
    }
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
    /// The first few changes as a person names them (entry, content type, when received).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<ChangeLabel>,
    /// How many changes were folded in, all of them.
    pub count: usize,
    /// Entries and assets to confirm and walk from.
    pub targets: Vec<ChangedTarget>,
    /// The changed entries' own paths, rendered from the webhooks' fields.
    pub paths: BTreeSet<String>,
    /// What is worth an operator's eye.
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
    /// Entries whose previous items were asked for ([`Command::Recall`]) and
    /// not answered yet: the walk plans only once every answer is in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recalls: Vec<AwaitedRecall>,
}

/// A [`Command::Recall`] not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitedRecall {
    /// The entry asked about.
    pub entry_id: String,
    /// What stands in if nothing is remembered: the rules' wildcards for an
    /// entry whose fields are gone (unpublish, archive, delete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// The note that says so when the fallback is used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_notes: Vec<String>,
    /// A publish's items to keep (sent again as they are when an answer is
    /// lost: keeping them is idempotent by revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember: Option<crate::memory::Remember>,
    /// Times it was sent; a lost answer is asked again a few times, then its
    /// fallback stands.
    #[serde(default)]
    pub attempts: u32,
    /// Sent, and not answered yet.
    #[serde(default)]
    pub in_flight: bool,
}

/// Where a batch stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BatchState {
    /// Planned, waiting its turn.
    Queued,
    /// Its invalidation is being created.
    Submitting,
    /// Its invalidation exists; polled until Completed.
    InProgress,
    /// CloudFront reported it Completed.
    Completed,
    /// It ended without being invalidated.
    Failed {
        /// Why, for status pages and the failure's report.
        reason: String,
    },
}

/// One CreateInvalidation: one distribution, at most `BATCH_MAX_PATHS` paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Its number in the workflow (the order of submission).
    pub sequence: u64,
    /// The distribution it invalidates.
    pub distribution_id: String,
    /// The paths sent; a finished batch in history keeps only the first few
    /// (`path_count` has them all).
    pub paths: Vec<String>,
    /// How many paths it holds, all of them: what CloudFront bills for it,
    /// each path, wildcard and tag counting one.
    pub path_count: usize,
    /// How many of them are cache tags (`#tag`).
    #[serde(default)]
    pub tag_count: usize,
    /// The CallerReference its CreateInvalidation sends, every time.
    pub caller_reference: String,
    /// Tracking ids of the changes this batch serves (the first few) and how many there are.
    pub changes: Vec<String>,
    /// How many changes it serves, all of them.
    pub change_count: usize,
    /// The first few of its changes as a person names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<ChangeLabel>,
    /// What is worth an operator's eye.
    pub notes: Vec<String>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: BatchState,
    /// CloudFront's id for its invalidation, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
    /// When CloudFront created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Requests that failed and were retried, for this batch.
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
    /// When it fails if it has not completed (`BATCH_TIMEOUT_SECONDS` after it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    /// The request of the current step (create, then poll), once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Outstanding>,
    /// The wait before the next status check.
    pub poll_interval_ms: u64,
    /// It failed for a reason that may pass (retries of a 5xx or a timeout
    /// exhausted, its deadline passed): its paths are planned again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
    /// The changed entries it shows (the first few): what verification
    /// compares the revision header with and asks the Delivery API about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<ChangedTarget>,
    /// Its changes' steps from the Delivery API on (see `receipt`).
    #[serde(default, skip_serializing_if = "Receipt::is_empty")]
    pub receipt: Receipt,
    /// How many times its pages were invalidated again before it (0: the first batch).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub verify_round: u32,
    /// Pages an earlier verification round could not verify, for the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_verified: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
            tag_count: paths.iter().filter(|p| crate::tags::is_tag(p)).count(),
            paths,
            changes: Vec::new(),
            change_count: 0,
            labels: Vec::new(),
            notes: Vec::new(),
            state: BatchState::Queued,
            invalidation_id: None,
            create_time: None,
            attempts: 0,
            polls: 0,
            queued_at: now,
            submitted_at: None,
            finished_at: None,
            deadline: None,
            request: None,
            poll_interval_ms: 0,
            transient: false,
            revisions: Vec::new(),
            receipt: Receipt::default(),
            verify_round: 0,
            not_verified: Vec::new(),
        }
    }
}

/// Something that happened, fed to [`super::step`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A verified webhook's change.
    ChangeAccepted {
        /// The change, as the webhook described it.
        change: Change,
    },
    /// Paths asked for directly (the operator CLI), with a tracking id.
    PathsRequested {
        /// Names the request in status pages.
        tracking_id: String,
        /// The paths, as given.
        paths: Vec<String>,
    },
    /// The time asked for with [`super::Next::WakeAt`] has come, or a body
    /// goes on after [`super::Next::GoOn`] (a repeated one is harmless).
    TimerFired,
    /// The answer to [`Command::FetchRevision`].
    RevisionFetched {
        /// What was asked about.
        target: LinkTarget,
        /// The revision served, `None` when it is not served.
        result: Result<Option<u64>, Failure>,
    },
    /// The answer to [`Command::FetchLinks`].
    LinksFetched {
        /// What was asked about.
        target: LinkTarget,
        /// Where the page asked for starts.
        skip: u64,
        /// The page.
        result: Result<LinksPage, Failure>,
    },
    /// The answer to [`Command::Recall`].
    Recalled {
        /// The entry asked about.
        entry_id: String,
        /// Its items as last planned before (empty: nothing remembered).
        result: Result<Vec<String>, Failure>,
    },
    /// The answer to [`Command::CheckPage`].
    PageChecked {
        /// The batch it was for.
        sequence: u64,
        /// The path asked for.
        path: String,
        /// What the page showed.
        result: Result<crate::site::PageSeen, Failure>,
    },
    /// The answer to [`Command::Notify`]: the receiver took it, or why not.
    Notified {
        /// The notice's number.
        id: u64,
        /// `Ok` when the receiver answered 2xx.
        result: Result<(), Failure>,
    },
    /// The answer to [`Command::CreateInvalidation`].
    InvalidationCreated {
        /// The batch it was for.
        sequence: u64,
        /// The invalidation made (or found by its CallerReference).
        result: Result<Invalidation, Failure>,
    },
    /// The answer to [`Command::GetInvalidation`].
    InvalidationChecked {
        /// The batch it was for.
        sequence: u64,
        /// The invalidation as it stands.
        result: Result<Invalidation, Failure>,
    },
}

/// A request the body must send, returned by [`super::step`]; its answer
/// comes back as the matching [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// Which revision of an entry or asset the Delivery API serves.
    FetchRevision {
        /// The entry or asset.
        target: LinkTarget,
    },
    /// One page of the entries that link to `target`.
    FetchLinks {
        /// The entry or asset linked to.
        target: LinkTarget,
        /// Where the page starts.
        skip: u64,
    },
    /// The path memory: the items `entry_id` was last planned as, after
    /// keeping `remember` for it (see [`crate::memory::Memory::update`]).
    Recall {
        /// The entry.
        entry_id: String,
        /// A publish's items to keep; `None` only recalls.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remember: Option<crate::memory::Remember>,
    },
    /// CloudFront's CreateInvalidation for batch `sequence`.
    CreateInvalidation {
        /// The batch.
        sequence: u64,
        /// Where.
        distribution_id: String,
        /// What.
        paths: Vec<String>,
        /// The batch's stored reference: a resend returns the same invalidation.
        caller_reference: String,
    },
    /// A visitor's GET of `path` through `SITE_URL` (see [`crate::site`]),
    /// verifying batch `sequence`.
    CheckPage {
        /// The batch.
        sequence: u64,
        /// An exact path of it.
        path: String,
    },
    /// A notification to `NOTIFY_URL` (see [`crate::notify`]); its answer
    /// is [`Event::Notified`], and nothing else waits for it.
    Notify {
        /// The notice's number in the workflow.
        id: u64,
        /// What to tell.
        notice: crate::notify::Notice,
    },
    /// CloudFront's GetInvalidation for batch `sequence`.
    GetInvalidation {
        /// The batch.
        sequence: u64,
        /// Where.
        distribution_id: String,
        /// CloudFront's id for the batch's invalidation.
        invalidation_id: String,
    },
}
