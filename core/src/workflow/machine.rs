//! How each event moves the workflow, and what is sent or awaited next.

use super::pending::shorten;
use super::resolve;
use super::types::{Batch, BatchState, ChangedTarget, Command, Event, Phase, Workflow};
use crate::contentful::LinkTarget;
use crate::paths;
use crate::retry::{self, Class, Failure};
use crate::settings::Policy;
use crate::time::Timestamp;
use crate::webhook::{Change, EntityKind};
use std::time::Duration;

/// Tracking ids remembered for de-duplication.
const SEEN_LIMIT: usize = 512;
/// Log lines kept.
const LOG_LIMIT: usize = 100;
/// Paths a finished batch keeps for status pages (its count is kept in full).
const HISTORY_PATHS_KEPT: usize = 20;
/// Bytes of sample paths a finished batch keeps.
const HISTORY_PATH_BYTES: usize = 2 << 10;
/// Notes a finished batch keeps.
const HISTORY_NOTES_KEPT: usize = 5;
/// Bytes the whole history may take (roughly): the oldest go first.
const HISTORY_MAX_BYTES: usize = 96 << 10;

pub(super) struct Machine<'p> {
    pub wf: Workflow,
    pub policy: &'p Policy,
    pub now: Timestamp,
    entropy: u64,
    draws: u64,
    pub commands: Vec<Command>,
    /// Set when a batch ended and the next is queued: nothing more is sent in
    /// this step, so the body can take the `Check-Invalidation-Completion` loop.
    hold: bool,
}

impl<'p> Machine<'p> {
    pub fn new(wf: Workflow, policy: &'p Policy, now: Timestamp, entropy: u64) -> Self {
        Machine { wf, policy, now, entropy, draws: 0, commands: Vec::new(), hold: false }
    }

    pub fn run(mut self, event: Event) -> (Workflow, Vec<Command>) {
        self.apply(event);
        self.advance();
        self.finish();
        (self.wf, self.commands)
    }

    /// A fresh random value for each delay drawn in this step (splitmix64).
    pub fn draw(&mut self) -> u64 {
        self.draws += 1;
        let mut z = self.entropy.wrapping_add(self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn retry_delay(&mut self, failure: &Failure, attempt: u32) -> Duration {
        let e = self.draw();
        retry::delay(failure, attempt, self.policy.retry_base, self.policy.retry_max, e)
    }

    /// Moves to `phase`; every move is one of [`super::TRANSITIONS`].
    pub fn enter(&mut self, phase: Phase) {
        debug_assert!(
            self.wf.phase == phase || super::TRANSITIONS.contains(&(self.wf.phase, phase)),
            "{:?} -> {phase:?} is not in TRANSITIONS",
            self.wf.phase
        );
        self.wf.phase = phase;
    }

    pub fn log(&mut self, line: String) {
        self.wf.log.push_back(shorten(line));
        while self.wf.log.len() > LOG_LIMIT {
            self.wf.log.pop_front();
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::ChangeAccepted { change } => self.accept_change(change),
            Event::PathsRequested { tracking_id, paths } => self.accept(tracking_id, None, paths, Vec::new()),
            Event::TimerFired => self.recover_lost_requests(),
            Event::RevisionFetched { target, result } => resolve::on_revision(self, target, result),
            Event::LinksFetched { target, skip, result } => resolve::on_links(self, target, skip, result),
            Event::InvalidationCreated { sequence, result } => {
                self.on_batch_answer(sequence, BatchState::Submitting, result)
            }
            Event::InvalidationChecked { sequence, result } => {
                self.on_batch_answer(sequence, BatchState::InProgress, result)
            }
        }
    }

    fn accept_change(&mut self, mut change: Change) {
        let mut own_paths = Vec::new();
        let mut notes = Vec::new();
        let fields = change.fields.take().unwrap_or_default();
        if change.kind == EntityKind::Entry {
            match &change.content_type {
                Some(ct) => {
                    let rendered = self.policy.rules.render(ct, &change.id, &fields);
                    own_paths = rendered.paths;
                    notes = rendered.fallbacks;
                }
                // Unpublish and delete payloads may not say the content type:
                // every rule's wildcard then stands in for the entry's own paths.
                None => {
                    own_paths = self.policy.rules.fallback_wildcards();
                    if !own_paths.is_empty() {
                        notes.push(format!(
                            "entry {} came without a content type: used every rule's wildcard {}",
                            change.id,
                            own_paths.join(", ")
                        ));
                    }
                }
            }
        }
        let target = ChangedTarget {
            target: LinkTarget { kind: change.kind, id: change.id },
            wants_revision: change.action.is_publish().then_some(change.revision.unwrap_or(0)),
        };
        self.accept(change.tracking_id, Some(target), own_paths, notes);
    }

    fn accept(
        &mut self,
        tracking_id: String,
        target: Option<ChangedTarget>,
        own_paths: Vec<String>,
        notes: Vec<String>,
    ) {
        if self.wf.seen.iter().any(|t| *t == tracking_id) {
            return; // A redelivery: the first delivery is already in hand.
        }
        self.wf.seen.push_back(tracking_id.clone());
        while self.wf.seen.len() > SEEN_LIMIT {
            self.wf.seen.pop_front();
        }
        let distributions = self.wf.distributions.len();
        let entropy = self.draw() ^ self.now.as_millis();
        self.wf.pending.add(tracking_id, target, own_paths, notes, self.policy, distributions, entropy);
        if self.wf.is_finished() {
            self.enter(Phase::Accepted);
            self.wf.failures.clear();
            self.wf.not_invalidated.clear();
            self.wf.collect_until = Some(self.now.plus(self.policy.collect_window));
        }
    }

    /// `TimerFired` only comes when nothing is in flight: a request still
    /// marked sent was lost (the body restarted mid-request) and goes again.
    fn recover_lost_requests(&mut self) {
        let now = self.now;
        if let Some(r) = &mut self.wf.resolution {
            for req in r.requests.iter_mut().chain(r.gate.iter_mut().map(|g| &mut g.request)) {
                if req.sent {
                    req.sent = false;
                    req.due = Some(now);
                }
            }
        }
        if let Some(b) = self.wf.batches.front_mut() {
            if b.sent {
                b.sent = false;
                b.due = Some(now);
            }
        }
    }

    fn on_batch_answer(
        &mut self,
        sequence: u64,
        expected: BatchState,
        result: Result<crate::cloudfront::Invalidation, Failure>,
    ) {
        let Some(batch) = self.wf.batches.front_mut() else {
            return;
        };
        if batch.sequence != sequence || batch.state != expected || !batch.sent {
            return; // An answer to a request this state no longer waits for.
        }
        batch.sent = false;
        match result {
            Ok(inv) => {
                batch.errors = 0;
                batch.invalidation_id = Some(inv.id);
                if inv.create_time.is_some() {
                    batch.create_time = inv.create_time;
                }
                if expected == BatchState::Submitting {
                    batch.submitted_at = Some(self.now);
                    batch.poll_interval_ms = self.policy.poll_first.as_millis() as u64;
                } else {
                    batch.polls += 1;
                }
                match inv.status {
                    crate::cloudfront::InvalidationStatus::Completed => self.end_batch(BatchState::Completed),
                    crate::cloudfront::InvalidationStatus::InProgress => {
                        let batch = self.wf.batches.front_mut().expect("checked above");
                        if expected == BatchState::InProgress {
                            let grown = batch.poll_interval_ms.saturating_mul(3) / 2;
                            batch.poll_interval_ms = grown.min(self.policy.poll_max.as_millis() as u64);
                        }
                        batch.state = BatchState::InProgress;
                        batch.due = Some(self.now.plus(Duration::from_millis(batch.poll_interval_ms)));
                        self.enter(Phase::InProgress);
                    }
                }
            }
            Err(failure) => self.on_batch_failure(failure),
        }
    }

    fn on_batch_failure(&mut self, failure: Failure) {
        let max = self.policy.retry_max_attempts;
        let batch = self.wf.batches.front_mut().expect("caller checked");
        batch.attempts += 1;
        // Only transient failures count against RETRY_MAX_ATTEMPTS; a busy
        // CloudFront is waited out until the batch's deadline.
        let growth = match failure.class {
            Class::RetryNow => {
                batch.errors += 1;
                batch.errors
            }
            _ => batch.attempts,
        };
        let errors = batch.errors;
        let sequence = batch.sequence;
        let doing = if batch.state == BatchState::Submitting {
            "creating the invalidation"
        } else {
            "checking the invalidation"
        };
        match failure.class {
            Class::Refused if self.wf.batches.front().is_some_and(|b| b.paths.len() > 1) => {
                self.split_batch(&failure.reason)
            }
            Class::Refused => {
                let path = self.wf.batches.front().map(|b| b.paths.join(" ")).unwrap_or_default();
                self.end_batch(BatchState::Failed {
                    reason: format!("CloudFront refused the path {path}: {}", failure.reason),
                })
            }
            Class::Permanent => self.end_batch(BatchState::Failed { reason: failure.reason }),
            Class::RetryNow if errors >= max => self.end_batch(BatchState::Failed {
                reason: format!("gave up {doing} after {errors} attempts: {}", failure.reason),
            }),
            Class::RetryNow | Class::RetryLater { .. } => {
                let delay = self.retry_delay(&failure, growth);
                let line = format!(
                    "batch {sequence}: {doing} failed ({}), retrying in {} ms",
                    failure.reason,
                    delay.as_millis()
                );
                let batch = self.wf.batches.front_mut().expect("caller checked");
                batch.due = Some(self.now.plus(delay));
                self.log(line);
            }
        }
    }

    /// CloudFront refused the current batch as invalid: it is split in two,
    /// so that the paths it refuses end up alone, failing with the reason,
    /// and every other path is still invalidated. The halves' references
    /// derive from the refused batch's, so a retried split sends the same.
    fn split_batch(&mut self, reason: &str) {
        let Some(batch) = self.wf.batches.pop_front() else {
            return;
        };
        let mid = batch.paths.len() / 2;
        let (first, second) = batch.paths.split_at(mid);
        let mut halves = Vec::new();
        for (i, half) in [first, second].into_iter().enumerate() {
            let sequence = self.wf.next_sequence;
            self.wf.next_sequence += 1;
            let nonce = format!("{}/{i}", batch.caller_reference);
            let mut b = Batch::queued(sequence, &batch.distribution_id, half.to_vec(), &nonce, self.now);
            b.changes = batch.changes.clone();
            b.change_count = batch.change_count;
            b.notes = batch.notes.clone();
            halves.push(b);
        }
        self.log(format!(
            "batch {}: CloudFront refused it ({reason}); split into batches {} and {} to find the paths it refuses",
            batch.sequence, halves[0].sequence, halves[1].sequence
        ));
        for b in halves.into_iter().rev() {
            self.wf.batches.push_front(b);
        }
    }

    /// Ends the current batch and moves on: new changes first, then the next batch.
    pub fn end_batch(&mut self, state: BatchState) {
        let Some(mut batch) = self.wf.batches.pop_front() else {
            return;
        };
        if let BatchState::Failed { reason } = &state {
            self.wf.failures.push(shorten(format!("batch {} for {}: {reason}", batch.sequence, batch.distribution_id)));
            self.wf.not_invalidated.extend(batch.paths.iter().cloned());
            let budget = self.policy.budget(1);
            if !budget.fits(&self.wf.not_invalidated) {
                self.wf.not_invalidated = paths::collapse(std::mem::take(&mut self.wf.not_invalidated), budget);
            }
        }
        batch.state = state;
        batch.finished_at = Some(self.now);
        batch.due = None;
        batch.sent = false;
        self.wf.history.push_back(compact(batch));
        let mut bytes: usize = self.wf.history.iter().map(history_bytes).sum();
        while self.wf.history.len() > self.policy.history_limit
            || (bytes > HISTORY_MAX_BYTES && self.wf.history.len() > 1)
        {
            if let Some(old) = self.wf.history.pop_front() {
                bytes -= history_bytes(&old);
            }
        }
        self.next_work(true);
    }

    /// Chooses what comes after a batch (`after_batch`) or a resolution ends.
    /// After a batch, the next one waits for a `TimerFired`: that is the
    /// seed's `Check-Invalidation-Completion` loop back to submitting.
    pub fn next_work(&mut self, after_batch: bool) {
        if !self.wf.pending.is_empty() {
            resolve::start(self);
        } else if let Some(next) = self.wf.batches.front_mut() {
            next.due = Some(self.now);
            self.enter(Phase::Submitting);
            if after_batch {
                self.commands.push(Command::NextBatch);
                self.hold = true;
            }
        } else {
            self.enter(if self.wf.failures.is_empty() { Phase::Completed } else { Phase::Failed });
        }
    }

    /// Sends whatever is due now.
    fn advance(&mut self) {
        if self.hold {
            return;
        }
        if self.wf.phase == Phase::Accepted && self.wf.collect_until.is_none_or(|t| t <= self.now) {
            self.wf.collect_until = None;
            resolve::start(self);
        }
        if self.wf.phase == Phase::Resolving {
            resolve::advance(self);
        }
        if self.hold {
            return;
        }
        if matches!(self.wf.phase, Phase::Submitting | Phase::InProgress) {
            self.advance_batch();
        }
    }

    fn advance_batch(&mut self) {
        loop {
            let now = self.now;
            let timeout = self.policy.batch_timeout;
            let Some(batch) = self.wf.batches.front_mut() else {
                return;
            };
            if batch.state == BatchState::Queued {
                batch.state = BatchState::Submitting;
                batch.deadline = Some(now.plus(timeout));
                batch.due = Some(now);
            }
            if batch.sent || batch.due.is_some_and(|d| d > now) {
                return;
            }
            if batch.deadline.is_some_and(|d| d <= now) {
                let reason = match &batch.invalidation_id {
                    Some(id) => format!(
                        "invalidation {id} not seen Completed within BATCH_TIMEOUT_SECONDS ({} s); CloudFront may still complete it",
                        timeout.as_secs()
                    ),
                    None => format!("not created within BATCH_TIMEOUT_SECONDS ({} s)", timeout.as_secs()),
                };
                self.end_batch(BatchState::Failed { reason });
                if self.hold || !matches!(self.wf.phase, Phase::Submitting | Phase::InProgress) {
                    return;
                }
                continue;
            }
            batch.sent = true;
            batch.due = None;
            let command = match (&batch.state, &batch.invalidation_id) {
                (BatchState::InProgress, Some(id)) => Command::GetInvalidation {
                    sequence: batch.sequence,
                    distribution_id: batch.distribution_id.clone(),
                    invalidation_id: id.clone(),
                },
                _ => Command::CreateInvalidation {
                    sequence: batch.sequence,
                    distribution_id: batch.distribution_id.clone(),
                    paths: batch.paths.clone(),
                    caller_reference: batch.caller_reference.clone(),
                },
            };
            self.commands.push(command);
            return;
        }
    }

    /// Adds the wake-up (or `Finished`) once nothing is in flight.
    fn finish(&mut self) {
        let wf = &self.wf;
        if wf.is_finished() {
            self.wf.wake_at = None;
            self.commands.push(Command::Finished);
            return;
        }
        let in_flight = wf.batches.front().is_some_and(|b| b.sent)
            || wf
                .resolution
                .as_ref()
                .is_some_and(|r| r.requests.iter().any(|q| q.sent) || r.gate.iter().any(|g| g.request.sent));
        if in_flight {
            self.wf.wake_at = None;
            return;
        }
        let next = match wf.phase {
            Phase::Accepted => wf.collect_until,
            Phase::Resolving => wf.resolution.as_ref().and_then(resolve::next_due),
            Phase::Submitting | Phase::InProgress => wf.batches.front().and_then(|b| b.due),
            _ => None,
        };
        let at = next.unwrap_or(self.now).max(if self.hold { self.now } else { Timestamp(0) });
        self.wf.wake_at = Some(at);
        self.commands.push(Command::WakeAt { at });
    }

    /// Starts batches planned from a finished resolution.
    pub fn queue(&mut self, batches: Vec<Batch>) {
        self.wf.batches.extend(batches);
    }
}

/// A finished batch as history keeps it: a sample of its paths (the count is
/// whole), its first notes.
fn compact(mut batch: Batch) -> Batch {
    let mut kept = 0;
    let mut bytes = 0;
    for p in &batch.paths {
        if kept == HISTORY_PATHS_KEPT || bytes + p.len() > HISTORY_PATH_BYTES {
            break;
        }
        kept += 1;
        bytes += p.len();
    }
    batch.paths.truncate(kept.max(1).min(batch.paths.len()));
    if batch.paths.first().is_some_and(|p| p.len() > HISTORY_PATH_BYTES) {
        batch.paths[0] = shorten(batch.paths[0].clone());
    }
    batch.notes.truncate(HISTORY_NOTES_KEPT);
    batch
}

/// Roughly what a history entry takes when stored.
fn history_bytes(b: &Batch) -> usize {
    const FIXED: usize = 400;
    FIXED + paths::bytes(&b.paths) + paths::bytes(&b.notes) + paths::bytes(&b.changes)
}
