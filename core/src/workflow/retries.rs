//! The paths of failed batches, kept past the run that failed them (a new
//! change starts a new run and clears its `failures`; these stay):
//!
//! - a batch that failed for a reason that may pass (retries exhausted on a
//!   5xx or a timeout, a busy CloudFront past the batch's deadline) leaves
//!   its paths **waiting**: they join the next walk's plan, or are planned on
//!   their own after a long backoff when no change comes, until
//!   `RETRY_FAILED_FOR_SECONDS` after they first failed; then they are
//!   given up;
//! - a batch that failed for good (AccessDenied, NoSuchDistribution, a path
//!   CloudFront refuses) leaves its paths **given up**, with the reason.
//!
//! Given-up paths stay listed (status page, `invalidator status`) until an
//! operator sees them; nothing here is cleared by a new change. Both lists
//! are bounded like every stored value: collapsed to wildcards past their
//! byte share, and the oldest given-up entries merged, never dropped.

use super::pending::shorten;
use crate::paths::{self, Budget};
use crate::retry;
use crate::settings::Policy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The first long backoff is this many `RETRY_MAX_SECONDS` (5 minutes by
/// default): the batch's own retries already spent the short ones.
const LONG_BACKOFF_FACTOR: u32 = 5;
/// The long backoff grows to at most an hour: about 28 retries in a day.
const LONG_BACKOFF_MAX: Duration = Duration::from_secs(3600);
/// Given-up entries kept; past it the two oldest are merged into one.
const GIVEN_UP_KEPT: usize = 10;
/// The share of `PLAN_MAX_BYTES` the waiting paths, and each given-up
/// entry, may take: the workflow value (a Durable Object value is at most
/// 128 KiB, a Step Functions state 256 KiB) holds a plan beside them.
const SHARE_DIVISOR: usize = 4;
const GIVEN_UP_SHARE_DIVISOR: usize = 4 * GIVEN_UP_KEPT;

/// Paths waiting to be invalidated again, and paths given up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retries {
    /// Paths of batches that failed for a transient reason, waiting for a plan.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    waiting: BTreeSet<String>,
    /// When the paths waiting (or planned again and not yet seen completed)
    /// first failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<Timestamp>,
    /// `RETRY_FAILED_FOR_SECONDS` after `since`: when they are given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    give_up_at: Option<Timestamp>,
    /// When the waiting paths are planned on their own, if no walk takes them first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due: Option<Timestamp>,
    /// Times they were planned again.
    #[serde(default)]
    retries: u32,
    /// Why they last failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    reason: String,
    /// Paths no retry will invalidate, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    given_up: Vec<GivenUp>,
    /// What was given up after its retries in this step, for its notice
    /// (taken before the step ends, so never stored).
    #[serde(skip)]
    just_given_up: Option<GivenUp>,
}

/// Paths given up, with the reason: what an operator must invalidate by hand
/// (or fix the cause of) once they have seen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenUp {
    /// Why they were given up.
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// The paths, collapsed to wildcards past their byte share.
    pub paths: Vec<String>,
    /// How many paths were given up, all of them (before any collapse).
    pub path_count: usize,
}

/// What status pages and the CLI show of the paths waiting to be retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retrying {
    /// The paths waiting (collapsed past their byte share).
    pub paths: Vec<String>,
    /// Why they last failed.
    pub reason: String,
    /// When they first failed.
    pub since: Option<Timestamp>,
    /// When they are planned again if no change comes first.
    pub due: Option<Timestamp>,
    /// When they are given up, if they keep failing.
    pub give_up_at: Option<Timestamp>,
    /// Times they were planned again.
    pub retries: u32,
}

impl Retries {
    /// A failed batch's paths: waiting when `transient` (and the bound is not
    /// past), otherwise given up with `reason`.
    pub(super) fn on_failed(
        &mut self,
        paths: &[String],
        transient: bool,
        reason: &str,
        now: Timestamp,
        policy: &Policy,
        entropy: u64,
    ) {
        if !transient {
            self.give_up(paths.iter().cloned().collect(), reason.to_string(), now, policy);
            return;
        }
        self.since.get_or_insert(now);
        let give_up_at = *self.give_up_at.get_or_insert(now.plus(policy.retry_failed_for));
        self.reason = shorten(reason.to_string());
        self.waiting.extend(paths.iter().cloned());
        let share = share(policy, SHARE_DIVISOR);
        if !share.fits(&self.waiting) {
            self.waiting = paths::collapse(std::mem::take(&mut self.waiting), share);
        }
        if now >= give_up_at {
            self.give_up_waiting(now, policy);
            return;
        }
        let base = policy.retry_max.saturating_mul(LONG_BACKOFF_FACTOR);
        let wait = retry::backoff(self.retries + 1, base, LONG_BACKOFF_MAX.max(base), entropy);
        self.due = Some(now.plus(wait).min(give_up_at));
    }

    /// The waiting paths, taken to be planned again (with a walk's changes
    /// or on their own); empty when none wait. Past the bound they are given
    /// up instead.
    pub(super) fn take_waiting(&mut self, now: Timestamp, policy: &Policy) -> BTreeSet<String> {
        if self.waiting.is_empty() {
            return BTreeSet::new();
        }
        if self.give_up_at.is_some_and(|at| now >= at) {
            self.give_up_waiting(now, policy);
            return BTreeSet::new();
        }
        self.retries += 1;
        self.due = None;
        std::mem::take(&mut self.waiting)
    }

    /// A run ended with every batch completed: what was planned again is
    /// invalidated, and a later failure counts its bound afresh.
    pub(super) fn settled(&mut self) {
        if self.waiting.is_empty() {
            self.clear_waiting();
        }
    }

    fn clear_waiting(&mut self) {
        self.since = None;
        self.give_up_at = None;
        self.due = None;
        self.retries = 0;
        self.reason.clear();
    }

    /// When the paths waiting (or planned again) first failed; `None` when none are failing.
    pub fn failing_since(&self) -> Option<Timestamp> {
        self.since
    }

    /// When the waiting paths are to be planned on their own.
    pub fn due(&self) -> Option<Timestamp> {
        self.due.filter(|_| !self.waiting.is_empty())
    }

    /// The paths waiting to be retried, for status pages; `None` when none wait.
    pub fn retrying(&self) -> Option<Retrying> {
        (!self.waiting.is_empty()).then(|| Retrying {
            paths: self.waiting.iter().cloned().collect(),
            reason: self.reason.clone(),
            since: self.since,
            due: self.due,
            give_up_at: self.give_up_at,
            retries: self.retries,
        })
    }

    /// The paths given up, oldest first.
    pub fn given_up(&self) -> &[GivenUp] {
        &self.given_up
    }

    fn give_up_waiting(&mut self, now: Timestamp, policy: &Policy) {
        let reason = format!(
            "still failing {} s after the first failure (RETRY_FAILED_FOR_SECONDS), {} retries: {}",
            policy.retry_failed_for.as_secs(),
            self.retries,
            self.reason
        );
        let waiting = std::mem::take(&mut self.waiting);
        let path_count = waiting.len();
        let paths = waiting.iter().cloned().collect();
        self.just_given_up = Some(GivenUp { reason: shorten(reason.clone()), at: now, paths, path_count });
        self.give_up(waiting, reason, now, policy);
        self.clear_waiting();
    }

    /// What was given up after its retries since the last call.
    pub(super) fn take_just_given_up(&mut self) -> Option<GivenUp> {
        self.just_given_up.take()
    }

    fn give_up(&mut self, paths: BTreeSet<String>, reason: String, now: Timestamp, policy: &Policy) {
        if paths.is_empty() {
            return;
        }
        let path_count = paths.len();
        let paths = fit(paths, policy).into_iter().collect();
        self.given_up.push(GivenUp { reason: shorten(reason), at: now, paths, path_count });
        if self.given_up.len() > GIVEN_UP_KEPT {
            let older = self.given_up.remove(0);
            let newer = &mut self.given_up[0];
            let all: BTreeSet<String> = older.paths.into_iter().chain(std::mem::take(&mut newer.paths)).collect();
            newer.paths = fit(all, policy).into_iter().collect();
            newer.path_count += older.path_count;
            newer.reason = shorten(format!("{}; and earlier: {}", newer.reason, older.reason));
            newer.at = older.at;
        }
    }
}

/// A share of the plan's budget: its paths and wildcards, a part of its bytes.
fn share(policy: &Policy, divisor: usize) -> Budget {
    let whole = policy.budget(1);
    Budget { max_bytes: whole.max_bytes / divisor, ..whole }
}

fn fit(paths: BTreeSet<String>, policy: &Policy) -> BTreeSet<String> {
    let share = share(policy, GIVEN_UP_SHARE_DIVISOR);
    if share.fits(&paths) {
        paths
    } else {
        paths::collapse(paths, share)
    }
}
