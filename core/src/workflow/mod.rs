//! The one state machine of the workflow, shared by both bodies.
//!
//! accepted → resolving (freshness gate, upward walk) → submitting → in
//! progress (adaptive polling) → completed; a batch that cannot be invalidated
//! ends failed with the reason and its paths kept. A workflow holds a list of
//! batches (one per distribution, more when a set is larger than a batch),
//! submitted one after another, each followed to completion. Changes that
//! arrive while a batch is in flight wait and join the next batch.
//!
//! # The no-I/O contract
//!
//! A [`Workflow`] does no I/O and reads no clock or randomness: a body feeds
//! it [`Event`]s with [`step`], passing the time `now` and some `entropy`
//! (for backoff jitter and the nonce of a plan), and gets back a [`Step`]:
//! the [`Command`]s to send, and [`Next`], what happens after them.
//!
//! - Send every command; deliver each answer as its event, in any order.
//! - [`Next::WakeAt`]: deliver [`Event::TimerFired`] at that time (a body
//!   that was stopped may deliver it late, or twice; both are harmless).
//! - [`Next::GoOn`]: deliver [`Event::TimerFired`] now. The workflow stops
//!   at a batch's end so that a body can persist between batches.
//! - [`Next::AwaitAnswers`]: nothing to do until an answer comes.
//! - [`Next::Finished`]: nothing to do until a new change arrives.
//!
//! Time only moves forward: `now` is never earlier than in the last step.
//! A body that lost its in-flight requests (a restart) delivers
//! `TimerFired`; what was sent and never answered is sent again, which is
//! safe because every request is idempotent (a batch's CallerReference is
//! stored with it).
//!
//! Path memory (`PATH_MEMORY_ENTRIES` > 0): an entry's change waits with a
//! recall, and the walk sends it as [`Command::Recall`] (a publish with the
//! items to keep for it); the body answers [`Event::Recalled`] from its
//! store, deciding what to keep and answer with
//! [`crate::memory::Memory::update`] (a body without a store answers nothing
//! remembered). The remembered items join the plan: a rename's old paths, an
//! unpublish's exact paths instead of its rules' wildcards. The walk plans
//! only once every recall is answered. A recall is like any request: one
//! whose answer is lost is sent again at `TimerFired` (keeping is idempotent
//! by revision), three times at most; then the wildcards stand in.
//!
//! Retries, backoff, the poll schedule and every limit are decided here, by
//! the walk ([`walk`]), the planner ([`plan()`]) and the batch runner
//! ([`batches`]); the bodies only carry out.

pub mod batches;
pub mod billing;
mod causes;
mod history;
pub mod label;
pub mod notices;
mod outstanding;
mod pending;
pub mod plan;
pub mod receipt;
pub mod report;
mod retries;
mod status;
pub mod timeline;
mod types;
pub mod verify;
pub mod walk;

pub use batches::Batches;
pub use history::History;
pub use label::ChangeLabel;
pub use notices::Notices;
pub use outstanding::{Outstanding, Slot};
pub use plan::plan;
pub use receipt::{ReceiptStep, StepName};
pub use report::{ChangeReport, RECENT_CHANGES_SHOWN};
pub use retries::{GivenUp, Retries, Retrying};
pub use status::{BatchSummary, Standing, Tracked, ENTRY_CHANGES_SHOWN};
pub use timeline::{timeline, Milestone, TimelineStep};
pub use types::{AwaitedRecall, Batch, BatchState, ChangedTarget, Command, Event, Pending, Phase};
pub use verify::Verify;
pub use walk::Walk;

use crate::contentful::LinkTarget;
use crate::entropy::Draws;
use crate::memory::Remember;
use crate::settings::Policy;
use crate::time::Timestamp;
use crate::webhook::{Change, EntityKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Tracking ids remembered for de-duplication.
const SEEN_LIMIT: usize = 512;
/// Log lines kept.
const LOG_LIMIT: usize = 100;

/// When a collection window closes: at its end, or once the changes went quiet.
fn closes(until: Timestamp, quiet: Option<Timestamp>) -> Timestamp {
    quiet.map_or(until, |q| q.min(until))
}

/// What one [`step`] asks of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Requests to send now.
    pub commands: Vec<Command>,
    /// What happens once they are sent.
    pub next: Next,
}

/// What happens after a step's commands are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "next", content = "at")]
pub enum Next {
    /// Deliver [`Event::TimerFired`] at this time.
    WakeAt(Timestamp),
    /// Deliver [`Event::TimerFired`] now: a batch ended and the next is ready.
    GoOn,
    /// Requests are out: wait for their answers.
    AwaitAnswers,
    /// Nothing to do until a new change arrives.
    Finished,
}

/// The whole state of one workflow: what a Durable Object stores and a
/// Step Functions execution carries. Bounded whatever the load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    distributions: Vec<String>,
    stage: Stage,
    /// Changes waiting for the collection window, or for the walk or batch in flight.
    pending: Pending,
    history: History,
    /// Why this run failed, when it did.
    failures: Vec<String>,
    /// Paths this run could not invalidate, kept whole for the report.
    not_invalidated: BTreeSet<String>,
    /// Recent decisions worth an operator's eye, newest last.
    log: VecDeque<String>,
    /// Tracking ids already accepted, newest last: a redelivery does nothing.
    seen: VecDeque<String>,
    next_sequence: u64,
    /// Items CloudFront billed this month for the invalidations made here.
    #[serde(default)]
    billing: billing::Billing,
    /// When each recent change was received: the first step of its receipt.
    #[serde(default)]
    received: receipt::Received,
    /// What the walk put back last ([`Workflow::restart_walk`]) had failed
    /// and since when: the next walk goes on from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume: Option<walk::Resume>,
    /// Paths of failed batches: waiting to be planned again, or given up.
    /// Kept past this run (a new change does not clear them).
    #[serde(default)]
    retries: Retries,
    /// Notifications owed (see [`notices`]).
    #[serde(default)]
    notices: Notices,
}

/// What the workflow is doing, each stage with its own data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stage")]
enum Stage {
    /// Nothing has happened yet.
    Idle,
    /// Changes are collected until the window closes: at `until`, or
    /// earlier at `quiet`, when no change came for `COLLECT_QUIET_SECONDS`.
    Collecting {
        until: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quiet: Option<Timestamp>,
    },
    /// Walking from the changes; batches planned earlier wait behind the walk.
    Walking { walk: Box<Walk>, waiting: Batches },
    /// Running the planned batches.
    Running { batches: Batches },
    /// Requesting a completed batch's pages through `SITE_URL`; the other
    /// batches wait behind it.
    Verifying { verify: Box<Verify>, waiting: Batches },
    /// Every batch completed.
    Completed,
    /// Every batch ended, and at least one failed (see `failures`).
    Failed,
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
    (Phase::Submitting, Phase::Verifying),
    (Phase::InProgress, Phase::Verifying),
    (Phase::Verifying, Phase::Submitting),
    (Phase::Verifying, Phase::Resolving),
    (Phase::Verifying, Phase::Completed),
    (Phase::Verifying, Phase::Failed),
];

/// Advances `workflow` by `event` at `now`. Pure: the same inputs give the
/// same outputs. `entropy` is randomness from the body.
pub fn step(workflow: &mut Workflow, policy: &Policy, event: Event, now: Timestamp, entropy: u64) -> Step {
    let mut cx = Context { policy, now, draws: Draws::new(entropy), commands: Vec::new(), go_on: false };
    workflow.handle(event, &mut cx);
    workflow.advance(&mut cx);
    workflow.notify_given_up(&cx);
    workflow.notices.poll(now, &mut cx.commands);
    let next = workflow.next(&cx);
    Step { commands: cx.commands, next }
}

/// What one step works with.
struct Context<'p> {
    policy: &'p Policy,
    now: Timestamp,
    draws: Draws,
    commands: Vec<Command>,
    /// A batch ended and the next is ready: the step ends there.
    go_on: bool,
}

impl Workflow {
    /// A workflow that invalidates every path on each of `distributions`.
    pub fn new(distributions: Vec<String>) -> Self {
        Workflow {
            distributions,
            stage: Stage::Idle,
            pending: Pending::default(),
            history: History::default(),
            failures: Vec::new(),
            not_invalidated: BTreeSet::new(),
            log: VecDeque::new(),
            seen: VecDeque::new(),
            next_sequence: 1,
            billing: billing::Billing::default(),
            received: receipt::Received::default(),
            resume: None,
            retries: Retries::default(),
            notices: Notices::default(),
        }
    }

    /// Items billed this month (as of `now`) for the invalidations made here.
    pub fn billed_this_month(&self, now: Timestamp) -> billing::Billing {
        self.billing.this_month(now)
    }

    /// Where the workflow is.
    pub fn phase(&self) -> Phase {
        match &self.stage {
            Stage::Idle => Phase::Idle,
            Stage::Collecting { .. } => Phase::Accepted,
            Stage::Walking { .. } => Phase::Resolving,
            Stage::Running { batches } => match batches.current().map(|b| &b.state) {
                Some(BatchState::InProgress) => Phase::InProgress,
                _ => Phase::Submitting,
            },
            Stage::Verifying { .. } => Phase::Verifying,
            Stage::Completed => Phase::Completed,
            Stage::Failed => Phase::Failed,
        }
    }

    /// True when nothing is left to do until a new change arrives.
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Idle | Stage::Completed | Stage::Failed)
    }

    /// The distributions every path is invalidated on.
    pub fn distributions(&self) -> &[String] {
        &self.distributions
    }

    /// Changes waiting for the next walk.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// Finished batches, oldest first.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Why this run failed, when it did.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Paths this run could not invalidate.
    pub fn not_invalidated(&self) -> &BTreeSet<String> {
        &self.not_invalidated
    }

    /// Paths of failed batches waiting to be planned again, and those given
    /// up, kept past the run that failed them.
    pub fn retries(&self) -> &Retries {
        &self.retries
    }

    /// Recent decisions worth an operator's eye, newest last.
    pub fn log(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.log.iter()
    }

    /// Planned batches not finished yet, the current one first.
    pub fn batches(&self) -> impl DoubleEndedIterator<Item = &Batch> {
        let (verifying, batches) = match &self.stage {
            Stage::Walking { waiting, .. } => (None, Some(waiting)),
            Stage::Running { batches } => (None, Some(batches)),
            Stage::Verifying { verify, waiting } => (Some(verify.batch()), Some(waiting)),
            _ => (None, None),
        };
        verifying.into_iter().chain(batches.into_iter().flat_map(Batches::iter))
    }

    /// Every batch known, oldest first: history, then current and queued.
    pub fn all_batches(&self) -> impl Iterator<Item = &Batch> {
        self.history.iter().chain(self.batches())
    }

    /// The walk in progress, if there is one.
    pub fn walk(&self) -> Option<&Walk> {
        match &self.stage {
            Stage::Walking { walk, .. } => Some(walk),
            _ => None,
        }
    }

    /// Paths not (yet) invalidated: queued and current batches, what this
    /// run could not invalidate, and the waiting changes' own paths. What a
    /// failed run hands back.
    pub fn outstanding_paths(&self) -> Vec<String> {
        let mut out: BTreeSet<&String> = BTreeSet::new();
        out.extend(self.batches().flat_map(|b| &b.paths));
        out.extend(&self.not_invalidated);
        out.extend(&self.pending.paths);
        out.into_iter().cloned().collect()
    }

    /// Drops a walk in progress, what it visited and found, and takes its
    /// changes back as waiting, due at once: the next `TimerFired` walks
    /// again. For a body that must carry the workflow somewhere small (a Step
    /// Functions state) while the walk waits; the walk is a pure read, so
    /// doing it again changes nothing but the requests it costs. Its start
    /// time and its failed requests are kept ([`walk::Resume`]): the next
    /// walk goes on counting, so a Delivery API that keeps failing ends it as
    /// it ends a walk never put back.
    pub fn restart_walk(&mut self) {
        let (from, stage) = self.take_stage();
        let Stage::Walking { walk, waiting } = stage else {
            self.stage = stage;
            return;
        };
        self.resume = Some(walk.resume());
        let waited = std::mem::replace(&mut self.pending, walk.into_changes());
        self.pending.absorb(waited);
        let next = if waiting.is_empty() {
            Stage::Collecting { until: Timestamp(0), quiet: None }
        } else {
            Stage::Running { batches: waiting }
        };
        self.enter_from(from, next);
    }

    /// Takes the stage out to move its data, with the phase it stood for.
    fn take_stage(&mut self) -> (Phase, Stage) {
        let from = self.phase();
        (from, std::mem::replace(&mut self.stage, Stage::Idle))
    }

    /// Moves to `stage`; every change of phase is one of [`TRANSITIONS`].
    fn enter(&mut self, stage: Stage) {
        let from = self.phase();
        self.enter_from(from, stage);
    }

    fn enter_from(&mut self, from: Phase, stage: Stage) {
        self.stage = stage;
        let to = self.phase();
        debug_assert!(from == to || TRANSITIONS.contains(&(from, to)), "{from:?} -> {to:?} is not in TRANSITIONS");
    }

    /// Queues `notice` (once per cause; see [`notices`]).
    fn notify(&mut self, notice: crate::notify::Notice, cx: &Context) {
        if let Some(line) = self.notices.push(notice, cx.policy, cx.now) {
            self.note(line);
        }
    }

    /// Notifies the paths the retries gave up in this step, if any.
    fn notify_given_up(&mut self, cx: &Context) {
        if let Some(g) = self.retries.take_just_given_up() {
            self.notify(causes::given_up(&g), cx);
        }
    }

    /// Queues a notice whose cause is outside the workflow (the catch-up
    /// sweep): sent with the next step, once per key, retried as every notice.
    pub fn take_notice(&mut self, notice: crate::notify::Notice, policy: &Policy, now: Timestamp) {
        if let Some(line) = self.notices.push(notice, policy, now) {
            self.note(line);
        }
    }

    /// Notifications waiting to be sent, and how many were dropped.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    fn note(&mut self, line: String) {
        self.log.push_back(pending::shorten(line));
        while self.log.len() > LOG_LIMIT {
            self.log.pop_front();
        }
    }

    fn handle(&mut self, event: Event, cx: &mut Context) {
        let (policy, now) = (cx.policy, cx.now);
        match event {
            Event::ChangeAccepted { change } => self.accept_change(change, cx),
            Event::PathsRequested { tracking_id, paths } => {
                self.accept(tracking_id, None, None, paths, Vec::new(), cx);
            }
            Event::Notified { id, result } => {
                let entropy = cx.draws.next_value();
                if let Some(line) = self.notices.on_answer(id, result, now, policy, entropy) {
                    self.note(line);
                }
            }
            Event::TimerFired if self.is_finished() => {
                self.notices.recover(now);
                if self.retries.due().is_some_and(|at| at <= now) && self.plan_again(cx) {
                    // Failed paths waited long enough with no change to join: a run of their own.
                    self.failures.clear();
                    self.not_invalidated.clear();
                    self.enter(Stage::Collecting { until: now, quiet: None });
                }
            }
            Event::TimerFired => {
                // A body runs every command to its answer before a timer, so a
                // recall still in flight lost its answer (a restart): ask again.
                self.notices.recover(now);
                let distributions = self.distributions.len();
                self.pending.recover_recalls(policy, distributions);
                match &mut self.stage {
                    Stage::Walking { walk, .. } => {
                        walk.changes_mut().recover_recalls(policy, distributions);
                        walk.recover(now)
                    }
                    Stage::Running { batches } => batches.recover(now),
                    Stage::Verifying { verify, .. } => verify.recover(now),
                    _ => {}
                }
            }
            Event::Recalled { entry_id, result } => self.on_recalled(&entry_id, result, cx),
            Event::RevisionFetched { target, result } => match &mut self.stage {
                Stage::Walking { walk, .. } => walk.on_revision(&target, result, now, policy, &mut cx.draws),
                Stage::Verifying { verify, .. } => verify.on_revision(&target, result, now, policy),
                _ => {}
            },
            Event::PageChecked { sequence, path, result } => {
                if let Stage::Verifying { verify, .. } = &mut self.stage {
                    verify.on_page(sequence, &path, result, now, policy);
                }
            }
            Event::LinksFetched { target, skip, result } => {
                if let Stage::Walking { walk, .. } = &mut self.stage {
                    if let Some(line) = walk.on_links(&target, skip, result, now, policy, &mut cx.draws) {
                        self.note(line);
                    }
                }
            }
            Event::InvalidationCreated { sequence, result } => self.on_answer(sequence, true, result, cx),
            Event::InvalidationChecked { sequence, result } => self.on_answer(sequence, false, result, cx),
        }
    }

    fn on_answer(
        &mut self,
        sequence: u64,
        created: bool,
        result: Result<crate::cloudfront::Invalidation, crate::retry::Failure>,
        cx: &mut Context,
    ) {
        let Stage::Running { batches } = &mut self.stage else {
            return;
        };
        // An invalidation made for the batch waiting for it is billed, once.
        let billed = batches.current().filter(|b| {
            let waiting = b.request.is_some_and(|r| r.is_sent()) && b.state == BatchState::Submitting;
            created && waiting && result.is_ok() && b.sequence == sequence && b.invalidation_id.is_none()
        });
        let mut crossed = None;
        if let Some(b) = billed {
            let before = self.billing.this_month(cx.now).items;
            self.billing.add(cx.now, b.path_count as u64);
            let threshold = cx.policy.notify.billing_alert_items;
            crossed = causes::billing_crossed(before, self.billing, threshold, cx.now);
        }
        let answer =
            batches.on_answer(sequence, created, result, cx.now, cx.policy, &mut cx.draws, &mut self.next_sequence);
        match answer {
            batches::Answer::Taken => {}
            batches::Answer::Log(line) => self.note(line),
            batches::Answer::Ended(batch) => self.end_batch(*batch, cx),
        }
        if let Some(notice) = crossed {
            self.notify(notice, cx);
        }
    }

    fn accept_change(&mut self, mut change: Change, cx: &mut Context) {
        if !change.action.changes_delivery() {
            return self.accept_removal_of_unserved(change, cx);
        }
        let fields = change.fields.take().unwrap_or_default();
        let label = Some(ChangeLabel::of(&change, cx.now));
        // Items a body rendered already, where the fields were too large to carry.
        let rendered = change.items.take().map(|items| *items);
        let entry = (change.kind == EntityKind::Entry).then(|| {
            rendered.unwrap_or_else(|| {
                crate::items::for_entry(cx.policy, change.content_type.as_deref(), &change.id, &fields)
            })
        });
        let target = ChangedTarget {
            target: LinkTarget { kind: change.kind, id: change.id.clone() },
            wants_revision: change.action.is_publish().then_some(change.revision.unwrap_or(0)),
            revision: change.revision,
            untold: false,
        };
        let Some(entry) = entry else {
            self.accept(change.tracking_id, Some(target), label, Vec::new(), Vec::new(), cx);
            return;
        };
        if cx.policy.path_memory_entries == 0 {
            let notes = entry.wildcard_notes.iter().chain(&entry.notes).cloned().collect();
            self.accept(change.tracking_id, Some(target), label, entry.all(), notes, cx);
            return;
        }
        // Path memory: a publish keeps its items and recalls those of the
        // revision before (a renamed slug's old path); an unpublish, archive
        // or delete recalls them instead of its rules' wildcards. The walk
        // sends the recall.
        // A publish whose template missed fields keeps no items, and says so:
        // the record of an older revision is no longer trusted. An unpublish
        // is kept too: a later archive or delete then finds nothing served.
        let items = if entry.wildcards.is_empty() { entry.exact.clone() } else { Vec::new() };
        let revision = change.revision.unwrap_or(0);
        let remember = Some(match change.action.is_publish() {
            true => Remember::published(revision, items),
            false => Remember::removed(revision),
        });
        if !self.accept(change.tracking_id, Some(target), label, entry.exact, entry.notes, cx) {
            return;
        }
        let recall = AwaitedRecall {
            entry_id: change.id,
            fallback: entry.wildcards,
            fallback_notes: entry.wildcard_notes,
            remember,
            attempts: 0,
            in_flight: false,
        };
        self.pending.await_recall(recall, cx.policy, self.distributions.len());
    }

    /// An archive or a delete: what it took away was not served (see
    /// [`crate::webhook::Action::changes_delivery`]), so nothing is walked
    /// and no rule's wildcard stands in. Only an entry the path memory still
    /// holds as served (its unpublish never came) has its remembered items
    /// invalidated.
    fn accept_removal_of_unserved(&mut self, change: Change, cx: &mut Context) {
        let remembered = change.kind == EntityKind::Entry && cx.policy.path_memory_entries > 0;
        let name = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
        let note = format!(
            "{} {} {}: Contentful archives and deletes only what is not published, so nothing served changed{}",
            name(&change.kind),
            change.id,
            name(&change.action),
            if remembered { " (paths the memory still holds for it are invalidated)" } else { "" }
        );
        let label = Some(ChangeLabel::of(&change, cx.now));
        if !self.accept(change.tracking_id, None, label, Vec::new(), vec![note], cx) || !remembered {
            return;
        }
        let recall = AwaitedRecall {
            entry_id: change.id,
            fallback: Vec::new(),
            fallback_notes: Vec::new(),
            remember: None,
            attempts: 0,
            in_flight: false,
        };
        self.pending.await_recall(recall, cx.policy, self.distributions.len());
    }

    /// Takes an answer to [`Command::Recall`] in, wherever its changes wait.
    fn on_recalled(&mut self, entry_id: &str, result: Result<Vec<String>, crate::retry::Failure>, cx: &Context) {
        let distributions = self.distributions.len();
        // Recalls are sent by the walk; a walk put back (`restart_walk`) left
        // its answers to arrive at the waiting changes.
        if let Stage::Walking { walk, .. } = &mut self.stage {
            if walk.changes_mut().on_recalled(entry_id, result.clone(), cx.policy, distributions) {
                return;
            }
        }
        self.pending.on_recalled(entry_id, result, cx.policy, distributions);
    }

    /// Takes a change in; `false` for a redelivery, which changes nothing.
    fn accept(
        &mut self,
        tracking_id: String,
        target: Option<ChangedTarget>,
        label: Option<ChangeLabel>,
        own_paths: Vec<String>,
        notes: Vec<String>,
        cx: &mut Context,
    ) -> bool {
        if self.seen.iter().any(|t| *t == tracking_id) {
            return false; // A redelivery: the first delivery is already in hand.
        }
        self.seen.push_back(tracking_id.clone());
        self.received.add(&tracking_id, cx.now);
        while self.seen.len() > SEEN_LIMIT {
            self.seen.pop_front();
        }
        let distributions = self.distributions.len();
        let entropy = cx.draws.next_value() ^ cx.now.as_millis();
        self.pending.add(tracking_id, target, own_paths, notes, cx.policy, distributions, entropy);
        label::merge(&mut self.pending.labels, label);
        if self.is_finished() {
            self.failures.clear();
            self.not_invalidated.clear();
            let until = cx.now.plus(cx.policy.collect_window);
            self.enter(Stage::Collecting { until, quiet: Some(cx.now.plus(cx.policy.collect_quiet)) });
        } else if let Stage::Collecting { quiet, .. } = &mut self.stage {
            *quiet = Some(cx.now.plus(cx.policy.collect_quiet));
        }
        true
    }

    /// Records an ended batch and moves on: new changes first, then the next batch.
    fn end_batch(&mut self, mut batch: Batch, cx: &mut Context) {
        receipt::seal(&mut batch);
        if let BatchState::Failed { reason } = &batch.state {
            // Paths failing again on a retry were notified when they first
            // failed; what comes of them is the given-up notice.
            if !batch.transient || self.retries.failing_since().is_none() {
                self.notify(causes::batch_failed(&batch, reason, cx.now), cx);
            }
            let entropy = cx.draws.next_value();
            self.retries.on_failed(&batch.paths, batch.transient, reason, cx.now, cx.policy, entropy);
            let line = format!("batch {} for {}: {reason}", batch.sequence, batch.distribution_id);
            self.failures.push(pending::shorten(line));
            self.not_invalidated.extend(batch.paths.iter().cloned());
            let budget = cx.policy.budget(1);
            if !budget.fits(&self.not_invalidated) {
                self.not_invalidated = crate::paths::collapse(std::mem::take(&mut self.not_invalidated), budget);
            }
        }
        let verified = batch.state == BatchState::Completed && cx.policy.verify.enabled();
        if batch.state == BatchState::Completed && !verified && cx.policy.notify.on_completed {
            self.notify(causes::live(&batch, false, cx.now), cx);
        }
        let (from, stage) = self.take_stage();
        let Stage::Running { batches } = stage else {
            self.history.push(batch, cx.policy.history_limit);
            self.stage = stage;
            return;
        };
        if verified {
            match Verify::start(batch, cx.now, cx.policy) {
                Ok(verify) => return self.enter_from(from, Stage::Verifying { verify, waiting: batches }),
                Err(batch) => self.history.push(*batch, cx.policy.history_limit),
            }
        } else {
            self.history.push(batch, cx.policy.history_limit);
        }
        cx.go_on = !batches.is_empty() && self.pending.is_empty();
        self.after(from, batches, cx);
    }

    /// Records a verified batch and moves on; stale pages go again first,
    /// in a batch planned for them that carries the receipt on.
    fn finish_verify(&mut self, cx: &mut Context) {
        let (from, stage) = self.take_stage();
        let Stage::Verifying { verify, mut waiting } = stage else {
            self.stage = stage;
            return;
        };
        let verify::Finished { batch, again } = verify.finish(cx.now);
        if !again.is_empty() {
            let changes = Pending {
                tracking: batch.changes.clone(),
                count: batch.change_count,
                paths: again.into_iter().collect(),
                ..Pending::default()
            };
            let found = walk::Found { changes, paths: BTreeSet::new(), notes: Vec::new(), cut_short: None };
            let nonce = format!("{}/again{}", batch.caller_reference, batch.verify_round + 1);
            let numbering = plan::Numbering { first_sequence: self.next_sequence, nonce: &nonce, now: cx.now };
            let planned = plan(found, Vec::new(), std::slice::from_ref(&batch.distribution_id), cx.policy, numbering);
            self.next_sequence += planned.batches.len() as u64;
            let mut again: Vec<Batch> = planned.batches;
            for b in &mut again {
                b.receipt = batch.receipt.clone();
                b.revisions = batch.revisions.clone();
                b.verify_round = batch.verify_round + 1;
                b.not_verified = batch.not_verified.clone();
            }
            self.note(format!(
                "batch {}: stale pages invalidated again in batch {}",
                batch.sequence,
                again.first().map_or(0, |b| b.sequence)
            ));
            waiting.prepend(again);
        } else if !batch.not_verified.is_empty() {
            self.notify(causes::not_verified(&batch, cx.now), cx);
        } else if cx.policy.notify.on_completed {
            self.notify(causes::live(&batch, true, cx.now), cx);
        }
        self.history.push(batch, cx.policy.history_limit);
        cx.go_on = !waiting.is_empty() && self.pending.is_empty();
        self.after(from, waiting, cx);
    }

    /// What comes after a plan or a batch: a walk of the changes that came
    /// meanwhile, else the next batch, else the end of the run.
    fn after(&mut self, from: Phase, batches: Batches, cx: &Context) {
        let next = if !self.pending.is_empty() {
            Stage::Walking { walk: Box::new(self.start_walk(cx)), waiting: batches }
        } else if !batches.is_empty() {
            Stage::Running { batches }
        } else if self.failures.is_empty() {
            self.retries.settled();
            Stage::Completed
        } else {
            Stage::Failed
        };
        self.enter_from(from, next);
    }

    /// A walk of the waiting changes (and of the failed paths waiting to be
    /// planned again), going on from the walk put back last.
    fn start_walk(&mut self, cx: &Context) -> Walk {
        self.plan_again(cx);
        let changes = std::mem::take(&mut self.pending);
        Walk::start(changes, cx.policy, self.distributions.len(), cx.now, self.resume.take())
    }

    /// Takes the failed paths waiting to be planned again in as a change of
    /// their own; `false` when none wait (or they were just given up).
    fn plan_again(&mut self, cx: &Context) -> bool {
        let again = self.retries.take_waiting(cx.now, cx.policy);
        if again.is_empty() {
            return false;
        }
        let tracking_id = format!("retry-{}-{}", cx.now.as_millis(), again.len());
        let note = format!("{} path(s) of failed batches planned again", again.len());
        let (distributions, entropy) = (self.distributions.len(), cx.now.as_millis());
        let again = again.into_iter().collect();
        self.pending.add(tracking_id, None, again, vec![note], cx.policy, distributions, entropy);
        true
    }

    /// Sends whatever is due, through as many stages as it takes.
    fn advance(&mut self, cx: &mut Context) {
        loop {
            if cx.go_on {
                return;
            }
            match &mut self.stage {
                Stage::Collecting { until, quiet } if closes(*until, *quiet) <= cx.now => {
                    let walk = self.start_walk(cx);
                    self.enter(Stage::Walking { walk: Box::new(walk), waiting: Batches::default() });
                }
                Stage::Walking { walk, .. } => match walk.poll(cx.now, cx.policy) {
                    walk::Poll::Send(commands) => return cx.commands.extend(commands),
                    walk::Poll::Wait => return,
                    walk::Poll::Done => self.finish_walk(cx),
                },
                Stage::Running { batches } => match batches.poll(cx.now, cx.policy) {
                    batches::Poll::Send(command) => return cx.commands.push(command),
                    batches::Poll::Wait => return,
                    batches::Poll::Ended(batch) => self.end_batch(*batch, cx),
                    batches::Poll::Empty => {
                        let (from, _) = self.take_stage();
                        self.after(from, Batches::default(), cx);
                    }
                },
                Stage::Verifying { verify, .. } => match verify.poll(cx.now, cx.policy) {
                    verify::Poll::Send(commands) => return cx.commands.extend(commands),
                    verify::Poll::Wait => return,
                    verify::Poll::Done => self.finish_verify(cx),
                },
                _ => return,
            }
        }
    }

    /// Plans what the walk found, with the batches that waited behind it.
    fn finish_walk(&mut self, cx: &mut Context) {
        let (from, stage) = self.take_stage();
        let Stage::Walking { walk, mut waiting } = stage else {
            self.stage = stage;
            return;
        };
        let gate = walk.gate_passed();
        let found = walk.into_found();
        let targets = found.changes.targets.clone();
        let queued = waiting.take_queued();
        // What makes this submission differ from any earlier one of the same
        // paths, fixed when its changes were taken in (see `Pending::nonce`).
        let nonce = format!("{:016x}-{}", found.changes.nonce, found.changes.tracking.join(","));
        let numbering = plan::Numbering { first_sequence: self.next_sequence, nonce: &nonce, now: cx.now };
        let mut planned = plan(found, queued, &self.distributions, cx.policy, numbering);
        self.next_sequence += planned.batches.len() as u64;
        for b in &mut planned.batches {
            b.revisions = targets.iter().take(verify::TARGETS_KEPT).cloned().collect();
            if let Some((at, gave_up)) = gate {
                let detail = gave_up.then(|| {
                    format!(
                        "not confirmed within FRESHNESS_MAX_WAIT_SECONDS ({} s): submitted anyway",
                        cx.policy.freshness_max_wait.as_secs_f64()
                    )
                });
                b.receipt.mark(StepName::Fresh, at, detail);
            }
        }
        for line in planned.log {
            self.note(line);
        }
        waiting.extend(planned.batches);
        self.after(from, waiting, cx);
    }

    /// What happens after this step.
    fn next(&self, cx: &Context) -> Next {
        let notice_due = self.notices.due();
        if self.is_finished() {
            let due = [self.retries.due(), notice_due].into_iter().flatten().min();
            return due.map_or(Next::Finished, |at| Next::WakeAt(at.max(cx.now)));
        }
        let in_flight = match &self.stage {
            Stage::Walking { walk, .. } => walk.in_flight(),
            Stage::Running { batches } => batches.in_flight(),
            Stage::Verifying { verify, .. } => verify.in_flight(),
            _ => false,
        };
        if in_flight {
            return Next::AwaitAnswers;
        }
        if cx.go_on {
            return Next::GoOn;
        }
        let at = match &self.stage {
            Stage::Collecting { until, quiet } => Some(closes(*until, *quiet)),
            Stage::Walking { walk, .. } => walk.next_timeout(),
            Stage::Running { batches } => batches.next_timeout(),
            Stage::Verifying { verify, .. } => verify.next_timeout(),
            _ => None,
        };
        let at = [at, notice_due].into_iter().flatten().min();
        Next::WakeAt(at.unwrap_or(cx.now).max(cx.now))
    }

    /// Where the change with `tracking_id` stands, if this workflow knows it.
    pub fn track(&self, tracking_id: &str) -> Option<Tracked> {
        let labelled = |labels: &[ChangeLabel]| labels.iter().find(|l| l.tracking_id == tracking_id).cloned();
        let received = self.received.of(tracking_id);
        let simple = |standing, labels: &[ChangeLabel]| Tracked {
            tracking_id: tracking_id.to_string(),
            state: standing,
            batch: None,
            invalidation_id: None,
            reason: None,
            label: labelled(labels),
            receipt: receipt::steps(received, &[]),
        };
        if self.pending.holds(tracking_id) {
            return Some(simple(Standing::Accepted, &self.pending.labels));
        }
        if let Some(w) = self.walk().filter(|w| w.holds(tracking_id)) {
            return Some(simple(Standing::Resolving, &w.changes().labels));
        }
        let batch =
            self.batches().rev().chain(self.history.iter().rev()).find(|b| b.changes.iter().any(|t| t == tracking_id));
        if let Some(b) = batch {
            return Some(self.tracked_in(b, tracking_id, labelled(&b.labels)));
        }
        self.seen.iter().any(|t| t == tracking_id).then(|| simple(Standing::Seen, &[]))
    }

    /// How the change `tracking_id`, labelled `label`, stands in batch `b`,
    /// with its receipt.
    pub(crate) fn tracked_in(&self, b: &Batch, tracking_id: &str, label: Option<ChangeLabel>) -> Tracked {
        let verifying = matches!(&self.stage, Stage::Verifying { verify, .. } if verify.batch().sequence == b.sequence);
        Tracked::in_batch(b, tracking_id, label, self.received.of(tracking_id), verifying)
    }
}

#[cfg(test)]
mod cheapest_properties;
#[cfg(test)]
mod memory_tests;
#[cfg(test)]
mod no_loss_tests;
#[cfg(test)]
mod notify_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod restart_tests;
#[cfg(test)]
mod retries_tests;
#[cfg(test)]
mod tags_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod verify_tests;
