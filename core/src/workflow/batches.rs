//! Running planned batches, one after another: create the invalidation
//! (retrying what is transient, waiting out a busy CloudFront, splitting a
//! batch CloudFront refuses as invalid), then poll it until Completed, each
//! batch within `BATCH_TIMEOUT_SECONDS`.
//!
//! A sub-state machine like the walk: `on_*` take CloudFront's answers,
//! [`Batches::poll`] says what to send or which batch ended,
//! [`Batches::next_timeout`] when it next has something to do. It holds no
//! reference to the workflow; ended batches are handed back to it.

use super::outstanding::Outstanding;
use super::types::{Batch, BatchState, Command};
use crate::cloudfront::{Invalidation, InvalidationStatus};
use crate::entropy::Draws;
use crate::retry::{self, Class, Failure};
use crate::settings::Policy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Planned batches, the first one current once it has started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batches {
    queue: VecDeque<Batch>,
}

/// What an answer did to the current batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Nothing more to say (the answer moved it on, or was stale).
    Taken,
    /// The batch ended: completed or failed.
    Ended(Box<Batch>),
    /// A line for the log (a retry, a split).
    Log(String),
}

/// What [`Batches::poll`] asks of its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// Send this request.
    Send(Command),
    /// Nothing to send until an answer comes or [`Batches::next_timeout`] passes.
    Wait,
    /// The current batch ran out of time.
    Ended(Box<Batch>),
    /// No batch is left.
    Empty,
}

impl Batches {
    /// Batches to run in this order.
    pub fn new(batches: Vec<Batch>) -> Batches {
        Batches { queue: batches.into() }
    }

    /// Whether no batch is left.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Every batch, the current one first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Batch> {
        self.queue.iter()
    }

    /// The current (or next) batch.
    pub fn current(&self) -> Option<&Batch> {
        self.queue.front()
    }

    /// Takes the batches not started yet, to plan them again with new paths.
    pub fn take_queued(&mut self) -> Vec<Batch> {
        let started = self.queue.iter().take_while(|b| b.state != BatchState::Queued).count();
        self.queue.drain(started..).collect()
    }

    /// Puts planned batches before the others (a re-invalidation goes first).
    pub fn prepend(&mut self, batches: Vec<Batch>) {
        for b in batches.into_iter().rev() {
            self.queue.push_front(b);
        }
    }

    /// Adds planned batches behind the others.
    pub fn extend(&mut self, batches: Vec<Batch>) {
        self.queue.extend(batches);
    }

    /// CloudFront answered a CreateInvalidation (`created`) or a GetInvalidation.
    #[allow(clippy::too_many_arguments)]
    pub fn on_answer(
        &mut self,
        sequence: u64,
        created: bool,
        result: Result<Invalidation, Failure>,
        now: Timestamp,
        policy: &Policy,
        draws: &mut Draws,
        next_sequence: &mut u64,
    ) -> Answer {
        let expected = if created { BatchState::Submitting } else { BatchState::InProgress };
        let Some(batch) = self.queue.front_mut() else {
            return Answer::Taken;
        };
        let current = batch.sequence == sequence && batch.state == expected;
        if !current || !batch.request.is_some_and(|r| r.is_sent()) {
            return Answer::Taken; // An answer to a request this batch no longer waits for.
        }
        let inv = match result {
            Ok(inv) => inv,
            Err(failure) => return self.on_failure(failure, now, policy, draws, next_sequence),
        };
        batch.invalidation_id = Some(inv.id);
        if inv.create_time.is_some() {
            batch.create_time = inv.create_time;
        }
        if created {
            batch.submitted_at = Some(now);
            batch.poll_interval_ms = policy.poll_first.as_millis() as u64;
        } else {
            batch.polls += 1;
            let fast = batch.submitted_at.is_some_and(|at| at.until(now) < policy.poll_fast);
            if !fast {
                let grown = batch.poll_interval_ms.saturating_mul(3) / 2;
                batch.poll_interval_ms = grown.min(policy.poll_max.as_millis() as u64);
            }
        }
        match inv.status {
            InvalidationStatus::Completed => Answer::Ended(Box::new(self.end(BatchState::Completed, now))),
            InvalidationStatus::InProgress => {
                batch.state = BatchState::InProgress;
                let next_poll = now.plus(Duration::from_millis(batch.poll_interval_ms));
                if let Some(r) = &mut batch.request {
                    r.succeeded(next_poll);
                }
                Answer::Taken
            }
        }
    }

    fn on_failure(
        &mut self,
        failure: Failure,
        now: Timestamp,
        policy: &Policy,
        draws: &mut Draws,
        next_sequence: &mut u64,
    ) -> Answer {
        let Some(batch) = self.queue.front_mut() else {
            return Answer::Taken;
        };
        batch.attempts += 1;
        let doing = if batch.state == BatchState::Submitting {
            "creating the invalidation"
        } else {
            "checking the invalidation"
        };
        let failures = batch.request.map_or(0, |r| r.failures) + 1;
        // Only transient failures count against RETRY_MAX_ATTEMPTS; a busy
        // CloudFront is waited out until the batch's deadline.
        let growth = if failure.class == Class::Backoff { failures } else { batch.attempts };
        match failure.class {
            Class::Refused if batch.paths.len() > 1 => Answer::Log(self.split(&failure.reason, now, next_sequence)),
            Class::Refused => {
                let reason = format!("CloudFront refused the path {}: {}", batch.paths.join(" "), failure.reason);
                Answer::Ended(Box::new(self.end(BatchState::Failed { reason }, now)))
            }
            Class::Permanent => Answer::Ended(Box::new(self.end(BatchState::Failed { reason: failure.reason }, now))),
            Class::Backoff if failures >= policy.retry_max_attempts => {
                let reason = format!("gave up {doing} after {failures} attempts: {}", failure.reason);
                Answer::Ended(Box::new(self.end_transient(reason, now)))
            }
            Class::Backoff | Class::Busy { .. } => {
                let delay = retry::delay(&failure, growth, policy.retry_base, policy.retry_max, draws.next_value());
                let sequence = batch.sequence;
                if let Some(r) = &mut batch.request {
                    match failure.class {
                        Class::Backoff => _ = r.failed(now.plus(delay)),
                        _ => r.wait_until(now.plus(delay)),
                    }
                }
                Answer::Log(format!(
                    "batch {sequence}: {doing} failed ({}), retrying in {} ms",
                    failure.reason,
                    delay.as_millis()
                ))
            }
        }
    }

    /// CloudFront refused the current batch as invalid: it is split in two,
    /// so that the paths it refuses end up alone, failing with the reason,
    /// and every other path is still invalidated. The halves' references
    /// derive from the refused batch's, so a retried split sends the same.
    fn split(&mut self, reason: &str, now: Timestamp, next_sequence: &mut u64) -> String {
        let batch = self.queue.pop_front().expect("the caller holds the current batch");
        let mid = batch.paths.len() / 2;
        let mut halves = Vec::new();
        for (i, half) in [&batch.paths[..mid], &batch.paths[mid..]].into_iter().enumerate() {
            let nonce = format!("{}/{i}", batch.caller_reference);
            let mut b = Batch::queued(*next_sequence, &batch.distribution_id, half.to_vec(), &nonce, now);
            *next_sequence += 1;
            b.changes = batch.changes.clone();
            b.change_count = batch.change_count;
            b.notes = batch.notes.clone();
            b.revisions = batch.revisions.clone();
            b.receipt = batch.receipt.clone();
            b.verify_round = batch.verify_round;
            b.not_verified = batch.not_verified.clone();
            halves.push(b);
        }
        let line = format!(
            "batch {}: CloudFront refused it ({reason}); split into batches {} and {} to find the paths it refuses",
            batch.sequence, halves[0].sequence, halves[1].sequence
        );
        for b in halves.into_iter().rev() {
            self.queue.push_front(b);
        }
        line
    }

    /// Ends the current batch as `state`.
    fn end(&mut self, state: BatchState, now: Timestamp) -> Batch {
        let mut batch = self.queue.pop_front().expect("the caller holds the current batch");
        batch.state = state;
        batch.finished_at = Some(now);
        batch.request = None;
        batch
    }

    /// Ends the current batch failed for a reason that may pass: its paths
    /// are planned again (see `Retries`).
    fn end_transient(&mut self, reason: String, now: Timestamp) -> Batch {
        let mut batch = self.end(BatchState::Failed { reason }, now);
        batch.transient = true;
        batch
    }

    /// Starts the next batch when none is running, sends what is due, and
    /// ends a batch that ran out of time.
    pub fn poll(&mut self, now: Timestamp, policy: &Policy) -> Poll {
        let timeout = policy.batch_timeout;
        let Some(batch) = self.queue.front_mut() else {
            return Poll::Empty;
        };
        if batch.state == BatchState::Queued {
            batch.state = BatchState::Submitting;
            batch.deadline = Some(now.plus(timeout));
            batch.request = Some(Outstanding::due(now));
        }
        let Some(request) = &mut batch.request else {
            return Poll::Wait;
        };
        // The deadline is looked at when the next request is due, as a retry
        // or poll in progress is never cut off.
        if request.is_sent() || request.due_at().is_some_and(|d| d > now) {
            return Poll::Wait;
        }
        if batch.deadline.is_some_and(|d| d <= now) {
            let reason = match &batch.invalidation_id {
                Some(id) => format!(
                    "invalidation {id} not seen Completed within BATCH_TIMEOUT_SECONDS ({} s); CloudFront may still complete it",
                    timeout.as_secs()
                ),
                None => format!("not created within BATCH_TIMEOUT_SECONDS ({} s)", timeout.as_secs()),
            };
            return Poll::Ended(Box::new(self.end_transient(reason, now)));
        }
        request.send_if_due(now);
        // An invalidation made for the batch is polled; otherwise it is
        // (re)created with its stored reference, which CloudFront answers with
        // the invalidation already made, if one was.
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
        Poll::Send(command)
    }

    /// When the current batch next has something to do.
    pub fn next_timeout(&self) -> Option<Timestamp> {
        let batch = self.queue.front()?;
        match batch.request {
            Some(r) => r.due_at(),
            // Not started: it starts at once.
            None => Some(batch.queued_at),
        }
    }

    /// Whether the current batch's request is out and unanswered.
    pub fn in_flight(&self) -> bool {
        self.queue.front().and_then(|b| b.request).is_some_and(|r| r.is_sent())
    }

    /// Sends again whatever was lost (a request sent and never answered goes again).
    pub fn recover(&mut self, now: Timestamp) {
        if let Some(r) = self.queue.front_mut().and_then(|b| b.request.as_mut()) {
            r.recover(now);
        }
    }
}
